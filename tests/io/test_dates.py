"""Dates in every form the exports use; what cannot be read is reported, never guessed."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaopin.io.dates import _ISO, DTYPE, _loose, _parse_general, parse_datetimes


def _parse(values, date_format: str = "", format_first: bool = False):
    parsed, failed = parse_datetimes(pd.Series(values, dtype="str"), date_format, format_first)
    return [None if pd.isna(v) else v.to_pydatetime() for v in parsed], failed.tolist()


T = dt.datetime(2024, 8, 3, 14, 5)
T_SEC = dt.datetime(2024, 8, 3, 14, 5, 9)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-08-03 14:05:09", T_SEC),  # a real datetime cell, as the reader writes it
        ("2024-08-03T14:05:09", T_SEC),
        ("2024-08-03 14:05", T),
        ("2024-08-03", dt.datetime(2024, 8, 3)),
        ("2024/8/3 14:05", T),
        ("2024/08/03 14:05:09", T_SEC),
        ("2024-8-3 14:05", T),
        ("2024.8.3 14:05", T),
        ("2024年8月3日 14:05", T),
        ("2024年8月3日14:05", T),
        ("2024年8月3日14时05分", T),
        ("2024年8月3日 14时05分09秒", T_SEC),
        ("2024年8月3日", dt.datetime(2024, 8, 3)),
        ("2024年08月03日 下午2:05", T),
        ("2024/8/3 2:05 PM", T),
        ("2024/8/3 12:30 上午", dt.datetime(2024, 8, 3, 0, 30)),
        ("２０２４－０８－０３　１４：０５", T),
        ("２０２４年８月３日　１４：０５", T),
        ("２０２４/８/３ １４:０５:０９", T_SEC),
        ("2024/8/3 14:05:09.99999999999999999", T_SEC),  # a fraction of a second is dropped, not rounded up
        ("２０２４/８/３ １４:０５:０９.９９９９９９９９９９９９９９９９９", T_SEC),
        ("2024年8月3日 下午2:05:09.99999999999999999", T_SEC),
        ("2024/2/29 14:05", dt.datetime(2024, 2, 29, 14, 5)),  # leap years
        ("2000年2月29日", dt.datetime(2000, 2, 29)),
        ("２０２４年２月２９日", dt.datetime(2024, 2, 29)),
        ("45507", dt.datetime(2024, 8, 3)),  # an Excel serial number cell
        ("45507.586805555555", T),
        ("45507.5868055556", T),
        ("45507.58690972222", dt.datetime(2024, 8, 3, 14, 5, 9)),
    ],
)
def test_supported_forms(text, expected):
    assert _parse([text]) == ([expected], [False])


@pytest.mark.parametrize(
    "text",
    ["bad date", "2024-13-45 10:00", "2024年2月30日", "1899-12-31", "12345", "99999", "14:05:00", "2024/8", "待定"],
)
def test_unreadable_values_fail_and_are_not_guessed(text):
    assert _parse([text]) == ([None], [True])


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-31 99:00",  # was read as 2024-09-04 03:00, a ticket moved into another month
        "2024-08-31 23:60",  # was 2024-09-01 00:00
        "2024-08-31 23:59:60",
        "2024-08-01 12:61",  # was 13:01
        "2024-08-31 24:30",  # was the next day
        "2024-08-31 24:00",  # pandas refuses it too: no end-of-day 24:00
        "2024-08-31 24:00:00",
        "2024/8/31 24:00",
        "2024年8月31日 23时60分",
        "２０２４－０８－３１　２５：００",
        "2024/8/31 12:61 PM",
        "2024/8/3 14:05:60",
        "２０２４/８/３ １４:０５:６０.５",
        "２０２４/８/３ １４:０５:６０",
        "2023/2/29 10:00",  # not a leap year
        "2100年2月29日",  # nor is a century not divisible by 400
        "２０２３年２月２９日",
        "2024年4月31日 10:00",
    ],
)
def test_out_of_range_times_fail_like_impossible_dates(text):
    assert _parse([text]) == ([None], [True])


def test_blanks_are_not_failures():
    parsed, failed = parse_datetimes(pd.Series([None, "2024-08-03"], dtype="str"))
    assert parsed.isna().tolist() == [True, False]
    assert failed.tolist() == [False, False]


def test_mixed_column_loses_nothing():
    """The hazard: to_datetime(errors="coerce") silently blanked 10 of 12 such values."""
    values = [
        "2024-08-03 14:05:00",
        "45507.586805555555",
        "2024/8/3 14:05",
        "2024-08-03 14:05:00",
        "2024年8月3日 14:05",
        "2024年8月3日14时05分",
        "２０２４－０８－０３　１４：０５",
        "2024-8-3 14:05",
        "2024/08/03 14:05",
        "2024年08月03日 14:05",
        None,
        "乱码",
    ]
    parsed, failed = _parse(values)
    assert parsed[:10] == [T] * 10
    assert parsed[10:] == [None, None]
    assert failed == [False] * 10 + [False, True]


def test_dtype_is_seconds():
    parsed, _ = parse_datetimes(pd.Series(["2024-08-03 14:05:09.750", "x"], dtype="str"))
    assert str(parsed.dtype) == DTYPE
    assert parsed[0] == pd.Timestamp("2024-08-03 14:05:09")


def test_offset_is_dropped_keeping_wall_time():
    assert _parse(["2024-08-03T14:05:09+08:00"]) == ([T_SEC], [False])


US = "%m/%d/%Y %I:%M:%S %p"


def test_configured_format():
    parsed, failed = _parse(["08/03/2024 02:05:09 PM", "12/31/2024 12:00:00 AM", "2024-08-03 14:05:09", "13/45/2024 01:00:00 PM"], US)
    assert parsed == [T_SEC, dt.datetime(2024, 12, 31), T_SEC, None]
    assert failed == [False, False, False, True]


def test_configured_format_still_reads_serials_and_chinese_forms():
    parsed, failed = _parse(["08/03/2024 02:05:09 PM", "45507.586805555555", "2024年8月3日 14:05"], US)
    assert parsed == [T_SEC, T, T]
    assert not any(failed)


YDM = "%Y-%d-%m %H:%M:%S"
YDM_CELLS = ["2024-03-08 10:00:00", "2024-13-08 10:00:00", "2024-31-08 23:59:59", "2024年8月3日 14:05", None]


def test_configured_format_comes_first_where_asked():
    """A year-day-month CSV: 2024-03-08 is 3 August by its format, not 8 March by ISO; a cell the
    format does not read still gets the usual forms."""
    parsed, failed = _parse(YDM_CELLS, YDM, format_first=True)
    assert parsed == [dt.datetime(2024, 8, 3, 10), dt.datetime(2024, 8, 13, 10), dt.datetime(2024, 8, 31, 23, 59, 59), T, None]
    assert failed == [False] * 5


def test_configured_format_comes_after_the_iso_forms_otherwise():
    """A workbook's real date cells reach the parser as ISO text: 8 March stays 8 March."""
    parsed, failed = _parse(YDM_CELLS, YDM)
    assert parsed == [dt.datetime(2024, 3, 8, 10), dt.datetime(2024, 8, 13, 10), dt.datetime(2024, 8, 31, 23, 59, 59), T, None]
    assert failed == [False] * 5


@pytest.mark.parametrize("format_first", [False, True])
def test_a_configured_zone_name_is_dropped_too(format_first):
    """%Z was taken out of the format but "UTC" left in the cell: nothing could be read."""
    parsed, failed = _parse(["2024/08/03 14:05:09 UTC", "2024/08/03 14:05:09 CST", "2024/08/03 14:05:09 Asia/Shanghai"], "%Y/%m/%d %H:%M:%S %Z", format_first)
    assert parsed == [T_SEC] * 3 and failed == [False] * 3


@pytest.mark.parametrize("format_first", [False, True])
def test_a_configured_offset_is_dropped_as_everywhere(format_first):
    """%z gave pandas times with a time zone (an internal error), or failed on mixed offsets."""
    parsed, failed = _parse(["2024/08/03 14:05:09+08:00", "2024/08/03 14:05:09 -0500", "2024/08/03 14:05:09Z"], "%Y/%m/%d %H:%M:%S%z", format_first)
    assert parsed == [T_SEC] * 3 and failed == [False] * 3


def test_day_first_text_is_not_guessed():
    """03/08/2024 is ambiguous: without a configured format it is a failure, not a guess."""
    assert _parse(["03/08/2024 14:05"]) == ([None], [True])


_when = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_FORMS = [
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S"),
    lambda d: f"{d.year}/{d.month}/{d.day} {d.hour}:{d.minute:02d}:{d.second:02d}",
    lambda d: f"{d.year}年{d.month}月{d.day}日 {d.hour}:{d.minute:02d}:{d.second:02d}",
    lambda d: f"{d.year}年{d.month}月{d.day}日{d.hour}时{d.minute}分{d.second}秒",
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S").translate(str.maketrans("0123456789-: ", "０１２３４５６７８９－：\u3000")),
]


@given(_when, st.sampled_from(range(len(_FORMS))))
def test_every_text_form_round_trips(when, form):
    assert _parse([_FORMS[form](when)]) == ([when], [False])


@given(_when)
def test_excel_serials_round_trip_to_the_second(when):
    serial = (when - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    assert _parse([repr(serial)]) == ([when], [False])


_plain_like = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}".format,
    st.sampled_from([1899, 1989, 1990, 2000, 2023, 2024, 2100, 2101]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(" T"),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
) | st.builds(
    "2024{}08-03{}14{}05:09".format, st.sampled_from("-/"), st.sampled_from(" T_"), st.sampled_from(":.")
)


@given(st.lists(st.one_of(_plain_like, st.none(), st.just("2024年8月3日")), max_size=6))
def test_plain_iso_fast_path_agrees_with_the_general_parser(values):
    """Cells of the plain form (valid or not: month 13, 30 February, second 60, year 1899) read
    by the buffer fast path exactly as the general parser reads them."""
    text = pd.Series(values, dtype="str")
    fast, fast_failed = parse_datetimes(text)
    general, general_failed = _parse_general(text)
    assert fast.tolist() == general.tolist()
    assert fast_failed.tolist() == general_failed.tolist()
    assert str(fast.dtype) == DTYPE


_fields = st.tuples(
    st.sampled_from([1989, 2024, 2101]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)
# Each form writes (year, month, day, hour, minute, second) and says which of them it holds.
_WRITTEN = [
    (lambda y, mo, d, h, mi, s: f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}", 6),
    (lambda y, mo, d, h, mi, s: f"{y}/{mo}/{d} {h}:{mi:02d}", 5),
    (lambda y, mo, d, h, mi, s: f"{y}年{mo}月{d}日{h}时{mi}分{s}秒", 6),
    (lambda y, mo, d, h, mi, s: f"{y}-{mo}-{d} {h}:{mi}:{s}".translate(str.maketrans("0123456789-:", "０１２３４５６７８９－：")), 6),
]


@given(_fields, st.sampled_from(range(len(_WRITTEN))))
def test_a_time_is_read_as_written_or_not_at_all(fields, form):
    """Never a neighbouring time: 23:60 is not midnight, 30 February is not 1 March."""
    write, held = _WRITTEN[form]
    (parsed,), (failed,) = _parse([write(*fields)])
    if failed:
        assert parsed is None
    else:
        expected = fields[:held] + (0,) * (6 - held)
        assert (parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second) == expected


_FULL_WIDTH = str.maketrans("0123456789-/.: T", "０１２３４５６７８９－／．：\u3000Ｔ")


@st.composite
def _loose_cell(draw) -> str:
    """A time as staff and systems write it outside ISO: any separators the forms allow, padded or
    not, 上午/下午 before or after, seconds or not, in ASCII, full-width or a mix of both."""
    y = draw(st.sampled_from([1989, 1990, 2000, 2023, 2024, 2100, 2101]))  # leap years and not, in range and not
    # The edges drawn often: February, the months' last days, the clock's last and first impossible values.
    mo, d = draw(st.integers(0, 13) | st.just(2)), draw(st.integers(0, 32) | st.sampled_from([28, 29, 30, 31]))
    h, mi, s = draw(st.integers(0, 25) | st.sampled_from([23, 24])), draw(st.integers(0, 61) | st.sampled_from([59, 60])), draw(st.integers(0, 61) | st.sampled_from([59, 60]))
    two = lambda v: draw(st.sampled_from([f"{v}", f"{v:02d}"]))  # noqa: E731
    date = f"{y}{draw(st.sampled_from(['-', '/', '.', '年', ' / ']))}{two(mo)}{draw(st.sampled_from(['-', '/', '.', '月']))}{two(d)}{draw(st.sampled_from(['', '日']))}"
    cell = date
    if draw(st.booleans()):
        ampm = draw(st.sampled_from(["", "上午", "下午", "AM", "PM"]))
        clock = f"{two(h)}{draw(st.sampled_from([':', '时', '点']))}{two(mi)}{draw(st.sampled_from(['', '分']))}"
        if draw(st.booleans()):
            # A fraction is dropped, not rounded: as a float, .99999999999999999 would be a whole second.
            clock += f"{draw(st.sampled_from([':', '']))}{two(s)}{draw(st.sampled_from(['', '秒', '.5', '.99999999999999999']))}"
        before = draw(st.booleans())
        clock = f"{ampm}{clock}" if before else f"{clock}{ampm}"
        cell += draw(st.sampled_from(["", " ", "T", "\u3000"])) + clock
    widths = draw(st.lists(st.booleans(), min_size=len(cell), max_size=len(cell)))
    return "".join(c.translate(_FULL_WIDTH) if wide else c for c, wide in zip(cell, widths))


@settings(max_examples=300)
@given(st.lists(_loose_cell(), min_size=1, max_size=8))
def test_the_column_wise_passes_read_what_the_cell_by_cell_parser_reads(cells):
    """Cells outside ISO, ASCII or full-width, read as a column exactly as `_loose` (the definition
    of these forms) reads each one alone: the same time, or unreadable."""
    cells = [c for c in cells if not re.fullmatch(_ISO, c)]
    expected = []
    for cell in cells:
        got = _loose(cell)
        expected.append(got if got is not None and 1990 <= got.year <= 2100 else None)
    assert _parse(cells) == (expected, [e is None for e in expected])
