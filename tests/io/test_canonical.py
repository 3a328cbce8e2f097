"""Column-wise conversion to canonical values, each distinct value normalised once."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaopin.io import canonical as conv


def S(*values) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def _list(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s]


def test_text_column_trims_padding_and_blanks():
    s = conv.text_column(S(" 张三\n", "\t恰海小区\u3000", "\u200b", "", None, "楼道 电梯", "a\nb"))
    assert _list(s) == ["张三", "恰海小区", None, None, None, "楼道 电梯", "a\nb"]
    assert str(s.dtype) == "str"


def test_text_column_of_an_empty_column():
    assert len(conv.text_column(S())) == 0


def test_map_unique_calls_once_per_distinct_value():
    calls: list[str] = []

    def fn(v: str) -> str:
        calls.append(v)
        return v.upper()

    s = S("a", "b", "a", None, "a", "b")
    assert _list(conv.map_unique(s, fn)) == ["A", "B", "A", None, "A", "B"]
    assert sorted(calls) == ["a", "b"]


def test_map_unique_blank_result_is_missing():
    assert _list(conv.map_unique(S("x", "y"), lambda v: "" if v == "x" else v)) == [None, "y"]
    assert _list(conv.map_unique(S(None, None), str.upper)) == [None, None]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "A", "b", "x", "", " ", None]), max_size=30))
def test_map_unique_coded_gives_map_uniques_values_and_codes_equal_where_they_are(values):
    def fn(v: str) -> str:
        return "" if v == "x" else v.strip().upper()  # several inputs to one result, and to blank

    s = S(*values)
    out, codes = conv.map_unique_coded(s, fn)
    assert _list(out) == _list(conv.map_unique(s, fn))
    assert str(out.dtype) == "str" and codes.dtype == "int64" and len(codes) == len(s)
    got = _list(out)
    assert [c == -1 for c in codes] == [v is None for v in got]
    for i in range(len(got)):
        for j in range(len(got)):
            if got[i] is not None and got[j] is not None:
                assert (codes[i] == codes[j]) == (got[i] == got[j])


def test_phone_column():
    phones, problems = conv.phone_column(
        S("13812345678.0", " +86 138-1234-5678 ", "1.38123E+10", "A000102948", "123", None, "13812345678、13900001111")
    )
    assert _list(phones) == ["13812345678", "13812345678", "1.38123E+10", "A000102948", "123", None, "13812345678"]
    assert set(problems) == {"1.38123E+10", "123"}
    assert "科学计数法" in problems["1.38123E+10"]


def test_phone_column_drops_a_country_code_before_plain_digits():
    """8613812345668 (a number cell, plain digits) is the caller of 13812345668, and
    +86-10-63251982 a Beijing landline with its trunk 0."""
    phones, problems = conv.phone_column(S("8613812345668", "+86-10-63251982", "86 13812345669", "13812345668", "1381234567890123"))
    assert _list(phones) == ["13812345668", "01063251982", "13812345669", "13812345668", "1381234567890123"]
    assert problems == {"1381234567890123": "号码位数过多"}


def test_phone_column_problems_are_listed_alike_whole_and_in_parts():
    column = S("1381234567890123", "123", "1.38E+10", "8613812345668")
    whole = conv.phone_column(column)[1]
    parts = [conv.phone_column(column.iloc[i : i + 1])[1] for i in range(len(column))]
    assert list(conv.joined_phone_problems(parts)) == list(whole) == ["1381234567890123", "1.38E+10", "123"]


_phone_like = st.one_of(
    st.builds(lambda d, n: d * n, st.sampled_from("0123456789"), st.integers(1, 14)),  # one digit repeated
    st.text("0123456789", min_size=1, max_size=14),  # plain digits, around the 12-digit edge
    st.from_regex(r"\A(?:0\d{2,3}-\d{7,8}|A\d{9}|\+86 ?1\d{10}|1\d{10}\.0|\d\.\d{2,5}E\+\d{2})\Z"),
    st.text("0123456789０１-+ ()A保密：、", min_size=1, max_size=16).filter(lambda v: v.strip() == v),
    st.none(),
)


@settings(max_examples=200)
@given(st.lists(_phone_like, max_size=12))
def test_phone_column_matches_the_value_by_value_rules(values):
    """Each cell normalised and judged as `normalize_phone` and `phone_problem` (the definitions)
    say, the values not in plain digits listed first, then the plain ones, each once in order."""
    from gaopin.schema import normalize_phone, phone_problem

    phones, problems = conv.phone_column(pd.Series(values, dtype="str"))
    assert _list(phones) == [None if v is None else normalize_phone(v) or None for v in values]
    present = list(dict.fromkeys(v for v in values if v is not None))
    ordered = [v for v in present if not conv._PLAIN_DIGITS_RE.fullmatch(v)] + [v for v in present if conv._PLAIN_DIGITS_RE.fullmatch(v)]
    expected = {v: why for v in ordered if (why := phone_problem(v, normalize_phone(v)))}
    assert list(problems.items()) == list(expected.items())


def test_choice_column_reports_raw_unknown_values():
    values, unknown = conv.choice_column(S("是", "Y", "未解决", "部分解决", "待  核实", None, " 0 "), "resolved")
    assert _list(values) == ["是", "是", "否", "部分解决", "待 核实", None, "否"]
    assert unknown == ["待  核实"]


def test_choice_column_satisfied_keeps_text():
    values, unknown = conv.choice_column(S("满意", "基本满意", "不满意", "未评价", "很好"), "satisfied")
    assert _list(values) == ["满意", "基本满意", "不满意", "未评价", "很好"]
    assert unknown == ["很好"]


def test_category_from_a_path_column():
    s = conv.category_column(S("城乡建设-->市容环境-->垃圾", "城乡建设 > 物业", "水/电/气→停水", None), [None, None, None])
    assert _list(s) == ["城乡建设->市容环境->垃圾", "城乡建设->物业", "水/电/气->停水", None]


def test_category_from_level_columns():
    s = conv.category_column(
        None,
        [S("城乡建设", "城乡建设", None, "交通"), S("市容环境", None, None, " 停车 "), S("垃圾", None, None, None)],
    )
    assert _list(s) == ["城乡建设->市容环境->垃圾", "城乡建设", None, "交通->停车"]


def test_category_from_two_levels_and_none():
    assert _list(conv.category_column(None, [S("a"), None, S("c")])) == ["a->c"]
    assert conv.category_column(None, [None, None, None]) is None


@pytest.mark.parametrize(
    "raw, cls",
    [("市派", "市派"), ("市级派单", "市派"), ("市直派单", "市派"), ("区派", "区派"), ("区级", "区派"), ("自办", None), (None, None)],
)
def test_dispatch_class_column(raw, cls):
    assert _list(conv.dispatch_class_column(S(raw))) == [cls]


def test_id_column():
    ids, corrupted = conv.id_column(S(" 000123 ", "ＡＢ１２３", "1.23457E+18", "2408031234567890123", "\u200bA1\n", None))
    assert _list(ids) == ["000123", "AB123", "1.23457E+18", "2408031234567890123", "A1", None]
    assert corrupted.tolist() == [False, False, True, False, False, False]


def test_id_column_drops_excel_text_mark():
    """'2024010100122 is ticket 2024010100122 (the xlsx of the same tickets has no mark)."""
    ids, corrupted = conv.id_column(S("'2024010100122", "GD1", "＇GD2", "'", "A'1"))
    assert _list(ids) == ["2024010100122", "GD1", "GD2", None, "A'1"]
    assert not corrupted.any()


def test_id_column_reads_a_number_written_as_a_float_as_the_workbook_does():
    """2024010100121.0 (a CSV written from number cells) stayed a ticket apart from 2024010100121."""
    ids, corrupted = conv.id_column(S("2024010100121.0", "2024010100121", "GD1.0", "1.05", "12.00", "7.0", None, "2024080100012345600.0"))
    assert _list(ids)[:7] == ["2024010100121", "2024010100121", "GD1.0", "1.05", "12.00", "7", None]
    # Past 15 digits a float has changed the number: rejected, as the same cell of a workbook is.
    assert corrupted.tolist() == [False] * 7 + [True]


def test_unwrap_excel_text():
    s = S('="GD2024010100121"', '="15118419633"', 'GD1', '=""', '="a""b"', '="a" & "b"', '=1+2', None, '="')
    assert _list(conv.unwrap_excel_text(s)) == ["GD2024010100121", "15118419633", "GD1", "", 'a"b', '="a" & "b"', "=1+2", None, '="']


def test_unwrap_excel_text_leaves_a_column_without_any_untouched():
    s = S("GD1", None, "=1", "")
    assert conv.unwrap_excel_text(s) is s


@pytest.mark.parametrize("values", [["ab", "", None, "a", "xab", "ab"], [None, None], ["", ""], []])
def test_starts_with(values):
    s = S(*values) if values else pd.Series([], dtype="str")
    expected = [v is not None and v.startswith("ab") for v in values]
    assert conv.starts_with(s, b"ab").tolist() == expected
    assert conv.starts_with(s.iloc[1:], b"ab").tolist() == expected[1:]


def _repetitive(*values) -> pd.Series:
    """Enough repeats for the distinct-value path, in a shuffled but fixed order."""
    out = [values[(i * 7) % len(values)] for i in range(len(values) * 40)]
    return S(*out)


def test_repetitive_column_is_cleaned_on_its_distinct_values_like_any_other():
    s = _repetitive(" 张三\n", "张三", "\u200b", "", None, "李\u200b四 ", "\t恰海小区\u3000", "a\nb")
    assert conv._distinct(conv.arrow(s)) is not None
    for zero_width in (True, False):
        direct = conv.series(conv._clean(conv.arrow(s), zero_width), s.index)
        assert _list(conv.text_column(s, zero_width=zero_width)) == _list(direct)


def test_clean_map_calls_once_per_cleaned_value_in_order_of_appearance():
    s = _repetitive("是 ", None, " 否", "是", "\u3000", "待核实")
    assert conv._distinct(conv.arrow(s)) is not None
    seen: list[str] = []

    def fn(v: str) -> str:
        seen.append(v)
        return "" if v == "待核实" else v + "!"

    expected_calls: list[str] = []
    expected = conv.map_unique(conv.text_column(s), lambda v: expected_calls.append(v) or ("" if v == "待核实" else v + "!"))
    assert _list(conv.clean_map(s, fn)) == _list(expected)
    assert seen == expected_calls
    assert sorted(seen) == sorted(["是", "否", "待核实"])


def test_zero_width_outside_a_slice_does_not_change_the_slice():
    s = S("a\u200b", " b ", "c")
    part = s.iloc[1:]
    assert _list(conv.text_column(part)) == ["b", "c"]
    assert _list(conv.text_column(s)) == ["a", "b", "c"]


# Zero-width characters among near misses: characters sharing their first UTF-8 byte (quotes,
# dashes, full-width punctuation, the middle dot) and CJK text around them.
_NEAR_ZERO_WIDTH = st.text(st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "“", "”", "—", "\u2061", "，", "\ufefe", "·", "\u00ac", "张", "a", " "]), max_size=6)


@settings(max_examples=300)
@given(st.lists(st.one_of(st.none(), _NEAR_ZERO_WIDTH), max_size=8))
def test_zero_width_search_over_bytes_finds_exactly_the_values_holding_one(values):
    import pyarrow as pa

    from gaopin.schema import ZERO_WIDTH

    expected = any(v is not None and any(ord(ch) in ZERO_WIDTH for ch in v) for v in values)
    assert conv._may_hold_zero_width(pa.chunked_array([pa.array(values, type=pa.string())])) == expected
    halves = [values[: len(values) // 2], values[len(values) // 2 :]]
    assert conv._may_hold_zero_width(pa.chunked_array([pa.array(h, type=pa.string()) for h in halves])) == expected


@pytest.mark.parametrize("kind", ["string", "large_string"])
def test_one_chunk_joins_a_columns_chunks_without_changing_its_values(kind):
    import pyarrow as pa

    parts = [["GD1", None, "东和社区"], [], ["  ", "GD２"], [None]]
    index = pd.RangeIndex(6)
    column = conv.series(pa.chunked_array([pa.array(p, type=getattr(pa, kind)()) for p in parts]), index)
    assert conv.arrow(column).num_chunks > 1
    joined = conv.one_chunk(column)
    assert conv.arrow(joined).num_chunks == 1
    pd.testing.assert_series_equal(joined, column)
    assert conv.one_chunk(joined) is joined
    times = pd.Series(pd.to_datetime(["2024-08-03"]))
    assert conv.one_chunk(times) is times  # not text: left as it is
    python_text = pd.Series(["GD1", None], dtype=pd.StringDtype("python"))
    assert conv.one_chunk(python_text) is python_text  # no Arrow chunks to join


def test_a_column_without_any_value_maps_to_blanks_without_calling_the_function():
    called = []
    out, codes = conv.map_unique_coded(conv.blank_text(pd.RangeIndex(4)), lambda v: called.append(v) or v)
    assert _list(out) == [None] * 4 and codes.tolist() == [-1] * 4 and called == []
    assert out.dtype == "str" and conv.arrow(out).null_count == 4


@pytest.mark.parametrize(
    "value, expected",
    [("", False), (None, False), (" ", False), ("\u3000\t\n", False), ("\xa0", False), ("a", True), (" a ", True), ("\u200b", True), ("\u3000x", True)],
)
def test_has_text_is_false_for_blank_and_whitespace_only_cells(value, expected):
    assert conv.has_text(S(value, "x")).tolist() == [expected, True]
