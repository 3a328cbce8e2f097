"""Date and time cells in every form the exports use, never silently blanked.

Real datetime cells (already ISO text from the reader), ISO-like text, 年月日 text with
or without 时分, 上午/下午, full-width digits and Excel serial numbers. What cannot be
read is returned as a failure so that the loader can count and show it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from gaopin.periods import FIRST_YEAR, LAST_YEAR

EXCEL_EPOCH = datetime(1899, 12, 30)
DTYPE = "datetime64[s]"

_LOOSE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(上午|下午|AM|PM)?\s*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*分?(?:\s*[:]?\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?"
    r"\s*(上午|下午|AM|PM)?)?"
    r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$",  # an offset is dropped: the exports' times are wall-clock times
    re.IGNORECASE,
)
# What the fast ISO pass may see: a full date, zero-padded, no offset. pandas' ISO8601 parser
# also accepts "2024" and "2024/8" (a guess of the 1st) and fails the whole column on mixed offsets.
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?|\d{8}"
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


def _loose(text: str) -> datetime | None:
    text = unicodedata.normalize("NFKC", text).strip()
    m = _LOOSE.match(text)
    if m:
        y, mo, d, ampm1, h, mi, s, ampm2 = m.groups()
        hour = int(h or 0)
        ampm = (ampm1 or ampm2 or "").upper()
        if ampm in ("下午", "PM") and hour < 12:
            hour += 12
        elif ampm in ("上午", "AM") and hour == 12:
            hour = 0
        try:
            # A fraction of a second is dropped as written (59.99999999999999999 is 59), as the
            # column-wise pass drops it: as a float it would round up to the next second.
            return datetime(int(y), int(mo), int(d), hour, int(mi or 0), int((s or "0").partition(".")[0]))
        except ValueError:
            return None
    if _SERIAL.match(text):
        return EXCEL_EPOCH + timedelta(seconds=round(float(text) * 86400))
    return None


def _in_range(values: pd.Series) -> pd.Series:
    years = values.dt.year
    return values.notna() & (years >= FIRST_YEAR) & (years <= LAST_YEAR)


# The common non-ISO forms (2024/8/3 14:05, 2024年8月3日14时05分 …) in ASCII digits (full-width
# ones made ASCII first: _full_width_as_ascii), for Arrow's vectorised regex; what it does not
# match (上午/下午, serials) goes to _loose.
_VECTOR = (
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*T?\s*(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})\s*分?(?:\s*:?\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?)?$"
)


def _vector_loose(text: pd.Series) -> pd.Series:
    """Parse the common non-ISO forms column-wise; NaT where the form does not match."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from gaopin.io.canonical import arrow

    parts = pc.extract_regex(arrow(text), _VECTOR)
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    fields = []
    for name in ("y", "m", "d", "H", "M", "S"):
        raw = pc.struct_field(parts, name)
        raw = pc.if_else(pc.equal(raw, ""), pa.scalar("0", pa.string()), raw)  # no time: 0 hours …
        # At most four digits each: int32 throughout.
        fields.append(pc.fill_null(pc.cast(raw, pa.int32()), 0).to_numpy(zero_copy_only=False))
    # Out of range is unreadable, as 30 February is: 23:60 is not midnight of the next day.
    seconds, valid = _civil_seconds(*fields)
    out = np.full(len(text), np.datetime64("NaT"), dtype=DTYPE)
    read = matched & valid
    out[read] = seconds[read].astype(DTYPE)
    return pd.Series(out, index=text.index)


# Cells of ASCII, full-width forms (２０２４－０８) and the ideographic space, with the date words:
# NFKC makes them ASCII by the full-width block's own mappings, as `_loose` makes them.
_FULL_WIDTH_FORMS = r"^[\x20-\x7e\x{3000}\x{ff01}-\x{ff5e}年月日时分秒点]*$"


def _full_width_as_ascii(text: pd.Series) -> pd.Series:
    """The full-width cells (２０２４年８月３日　１４：０５) in ASCII, for `_vector_loose`; the
    others as they are."""
    import pyarrow.compute as pc

    from gaopin.io.canonical import arrow, matches, series

    wide = matches(text, _FULL_WIDTH_FORMS).to_numpy() & ~pc.fill_null(pc.string_is_ascii(arrow(text)), True).to_numpy(zero_copy_only=False)
    if not wide.any():
        return text
    out = text.copy()
    out[wide] = series(pc.utf8_normalize(arrow(text[wide]), "NFKC"), text.index[wide])
    return out


def parse_datetimes(text: pd.Series, date_format: str = "", format_first: bool = False) -> tuple[pd.Series, pd.Series]:
    """(parsed datetimes, failed mask): failed means a non-blank value that could not be read.

    `date_format` ([load] date_format) is tried after the ISO forms, or with `format_first`
    before every form (the cells it does not read get the rest): a CSV written year-day-month
    has 2024-03-08 for 3 August, which the ISO passes would read as 8 March. A workbook's real
    date cells reach here as ISO text, which only the ISO passes may read."""
    if date_format and format_first:
        got = _with_format(text, date_format)
        read = got.notna().to_numpy()
        if read.any():
            parsed = got.to_numpy().copy()
            failed = np.zeros(len(text), dtype=bool)
            if not read.all():
                again, not_read = parse_datetimes(text[~read])
                parsed[~read] = again.to_numpy()
                failed[~read] = not_read.to_numpy()
            return pd.Series(parsed, index=text.index), pd.Series(failed, index=text.index)
    parsed, done = _plain_iso(text)
    if done.all():
        return pd.Series(parsed, index=text.index), pd.Series(False, index=text.index)
    rest = ~done
    again, failed = _parse_general(text[rest], date_format)
    parsed[rest] = again.to_numpy()
    out_failed = np.zeros(len(text), dtype=bool)
    out_failed[rest] = failed.to_numpy()
    return pd.Series(parsed, index=text.index), pd.Series(out_failed, index=text.index)


# "YYYY-MM-DD HH:MM:SS" (or with T), the form of nearly every cell: where its two-digit
# numbers (century, year, month, day, hour, minute, second) and separators are.
_PLAIN_LEN = 19
_PLAIN_PAIRS = (0, 2, 5, 8, 11, 14, 17)
_PLAIN_SEPARATORS = {4: b"-", 7: b"-", 10: b" T", 13: b":", 16: b":"}
# Two bytes read as one little-endian number → their value if both are ASCII digits, else 255.
_TWO_DIGITS = np.full(1 << 16, 255, dtype=np.uint8)
for _tens in range(10):
    for _ones in range(10):
        _TWO_DIGITS[(ord("0") + _tens) | (ord("0") + _ones) << 8] = _tens * 10 + _ones
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm, years ≥ 0)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _civil_seconds(year: np.ndarray, month: np.ndarray, day: np.ndarray, hour: np.ndarray, minute: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds since 1970, valid) of times given by their fields (int32, years ≥ 0): valid where
    the date exists and the time is on the clock (no 30 February, no 23:60); the seconds of the
    others are meaningless. The one test of a real time for the vectorised passes."""
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month = np.where(valid, month, 1)
    valid &= day <= _MONTH_DAYS[month] + ((month == 2) & leap)
    return _days_from_civil(year, month, day).astype(np.int64) * 86400 + (hour * 3600 + minute * 60 + second), valid


_OFFSET = r"\s*(?:Z|[+-]\d{2}:?\d{2})$"
_ZONE = r"\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z_/+-]*)$"  # %Z: a name (UTC, CST, Asia/Shanghai) too


def _with_format(text: pd.Series, date_format: str) -> pd.Series:
    """The cells `date_format` reads (NaT for the others, and for years out of range). An offset
    (%z) is dropped, as from every other form: the exports' times are wall-clock times, and
    pandas gives times with offsets a time zone (or fails on mixed ones)."""
    if "%z" in date_format or "%Z" in date_format:
        text = text.str.replace(_ZONE if "%Z" in date_format else _OFFSET, "", regex=True)
        date_format = date_format.replace("%z", "").replace("%Z", "").rstrip()
    got = pd.to_datetime(text, format=date_format, errors="coerce")
    return got.astype(DTYPE).where(_in_range(got))


# Rows of plain ISO cells read at a time: the temporaries of a block stay in the CPU's cache
# (a million cells: 0.16 s at once, 0.10 s in blocks).
_PLAIN_BLOCK = 1 << 14


def _plain_iso(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(datetimes, done) for cells exactly in the plain ISO form with a valid date and time
    in range, read from the character buffer by numpy; the others are left to the general
    parser, which reads such a cell to the same value."""
    from gaopin.io.canonical import arrow, text_buffers

    n = len(text)
    parsed = np.full(n, np.datetime64("NaT"), dtype=DTYPE)
    done = np.zeros(n, dtype=bool)
    values = arrow(text).combine_chunks()  # one pass over the column, not one per block
    buffers = text_buffers(values)
    if buffers is None:
        return parsed, done
    offsets, raw = buffers
    candidate = np.diff(offsets) == _PLAIN_LEN
    if values.null_count:
        candidate &= values.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(candidate)
    if not len(rows):
        return parsed, done
    windows = np.lib.stride_tricks.sliding_window_view(raw, _PLAIN_LEN)
    starts = offsets[:-1][rows]
    seconds = np.empty(len(rows), dtype=np.int64)
    ok = np.empty(len(rows), dtype=bool)
    for lo in range(0, len(rows), _PLAIN_BLOCK):
        cells = windows[starts[lo : lo + _PLAIN_BLOCK]].reshape(-1)  # the block's cells, end to end
        m = len(cells) // _PLAIN_LEN
        # Small integer types and one table look-up per two digits: wide temporaries cost more than the sums.
        century, yy, month, day, hour, minute, second = (
            _TWO_DIGITS[np.ndarray(m, dtype="<u2", buffer=cells, offset=at, strides=(_PLAIN_LEN,))].astype(np.int32)
            for at in _PLAIN_PAIRS
        )
        good = (century != 255) & (yy != 255) & (month != 255) & (day != 255) & (hour != 255) & (minute != 255) & (second != 255)
        for position, allowed in _PLAIN_SEPARATORS.items():
            column = cells[position::_PLAIN_LEN]
            good &= np.logical_or.reduce([column == c for c in allowed])
        year = century * 100 + yy
        good &= (year >= FIRST_YEAR) & (year <= LAST_YEAR)
        seconds[lo : lo + m], valid = _civil_seconds(year, month, day, hour, minute, second)
        ok[lo : lo + m] = good & valid
    hit = rows[ok]
    parsed[hit] = seconds[ok].astype(DTYPE)
    done[hit] = True
    return parsed, done


def _parse_general(text: pd.Series, date_format: str = "") -> tuple[pd.Series, pd.Series]:
    from gaopin.io.canonical import matches

    present = text.notna()
    iso = present & matches(text, f"^(?:{_ISO})$")
    parsed = pd.Series(pd.NaT, index=text.index, dtype=DTYPE)
    if iso.all():
        fast = pd.to_datetime(text, format="ISO8601", errors="coerce")
        parsed = fast.astype(DTYPE).where(_in_range(fast))
    elif iso.any():
        fast = pd.to_datetime(text[iso], format="ISO8601", errors="coerce")
        parsed = parsed.where(~iso, fast.astype(DTYPE).where(_in_range(fast)).reindex(parsed.index))
    todo = present & parsed.isna()
    # The configured format, then the unambiguous forms (year first, serials) for the rest.
    if todo.any() and date_format:
        parsed = parsed.where(~todo, _with_format(text[todo], date_format).reindex(parsed.index))
        todo = present & parsed.isna()
    if todo.any():
        again = _vector_loose(_full_width_as_ascii(text[todo]))
        again = again.where(_in_range(again))
        parsed = parsed.where(~todo, again.reindex(parsed.index))
        todo = present & parsed.isna()
    if todo.any():
        # The leftovers are few: parse each distinct value once.
        uniques = pd.unique(text[todo].to_numpy())
        mapping = {}
        for value in uniques:
            got = _loose(value)
            if got is not None and FIRST_YEAR <= got.year <= LAST_YEAR:
                mapping[value] = np.datetime64(got.replace(microsecond=0), "s")
        if mapping:
            again = text[todo].map(mapping).astype(DTYPE)
            parsed = parsed.where(~todo, again.reindex(parsed.index))
        todo = present & parsed.isna()
    return parsed.astype(DTYPE), todo
