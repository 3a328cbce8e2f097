import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from gaopin.rules.persons import Links, callers, link_persons, name_key, person_column, phone_codes, usable_phones
from gaopin.schema import is_usable_phone


def persons(rows, links=Links()):
    frame = pd.DataFrame(rows, columns=["phone", "name", "point"], dtype="str")
    return person_column(frame["phone"], frame["name"], frame["point"], links).tolist()


def test_numbers_used_under_one_name_at_one_point_are_one_person():
    out = persons([("13800000001", "赵建国", "A1号楼"), ("13800000002", "赵建国", "A1号楼")])
    assert out == ["13800000001", "13800000001"]


def test_linking_is_transitive_across_points():
    out = persons(
        [
            ("13800000003", "赵建国", "A1号楼"),
            ("13800000002", "赵建国", "A1号楼"),
            ("13800000002", "赵建国", "驿站"),
            ("13800000009", "赵建国", "驿站"),
        ]
    )
    assert set(out) == {"13800000002"}


def test_same_name_at_different_points_is_not_linked():
    out = persons([("13800000001", "王女士", "A1号楼"), ("13900000002", "王女士", "B2号楼")])
    assert out == ["13800000001", "13900000002"]


def test_different_names_at_one_point_are_not_linked():
    out = persons([("13800000001", "王女士", "A1号楼"), ("13900000002", "李先生", "A1号楼")])
    assert out == ["13800000001", "13900000002"]


def test_names_that_say_nothing_never_link():
    for name in ["匿名", "市民", "保密", "先生", "女士", "未知", "不详", "无", "匿名用户", None, " "]:
        out = persons([("13800000001", name, "A1号楼"), ("13900000002", name, "A1号楼")])
        assert out == ["13800000001", "13900000002"], name


def test_unusable_numbers_are_not_persons():
    out = persons([("123456", "赵建国", "A"), ("11111111", "赵建国", "A"), ("A000102948", "赵建国", "A"), (None, "赵建国", "A")])
    assert all(pd.isna(v) for v in out)


def test_manual_links_and_unlinks_override_the_rule():
    rows = [("13800000001", "赵建国", "A"), ("13800000002", "赵建国", "A"), ("13900000003", "钱", "B")]
    assert persons(rows, Links(pairs=(("13800000002", "13900000003"),)))[2] == "13800000001"
    out = persons(rows, Links(unlinked=frozenset({"13800000002"})))
    assert out == ["13800000001", "13800000002", "13900000003"]


def test_name_key_ignores_spacing_and_width():
    assert name_key(" 赵 建国") == name_key("赵建国")
    assert name_key("先生") == ""
    assert name_key("王先生") != ""


def test_person_codes_are_equal_exactly_where_the_persons_are():
    rows = [
        ("13800000001", "赵建国", "A"), ("13800000002", "赵建国", "A"), ("13900000003", "钱", "B"),
        ("13900000004", "钱", "C"), ("123", "赵建国", "A"), (None, "钱", "B"), ("13900000003", "匿名", None),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["phone", "name", "point"], dtype="str")
    point_codes, _ = pd.factorize(frame["point"], use_na_sentinel=True)
    for links in (Links(), Links(pairs=(("13900000003", "13800000001"),)), Links(unlinked=frozenset({"13800000002"}))):
        values, codes = link_persons(callers(frame["phone"], frame["name"]), point_codes, links)
        assert values.tolist() == person_column(frame["phone"], frame["name"], frame["point"], links).tolist()
        got = [None if pd.isna(v) else v for v in values]
        assert [c == -1 for c in codes] == [v is None for v in got]
        for i in range(len(got)):
            for j in range(len(got)):
                if got[i] is not None and got[j] is not None:
                    assert (codes[i] == codes[j]) == (got[i] == got[j]), links


# --- phone codes: against a plain reference -------------------------------------------------

def reference_phone_codes(values):
    """Codes by first appearance of the values that the one definition, `is_usable_phone`, accepts."""
    number: dict[str, int] = {}
    codes = []
    for v in values:
        usable = v is not None and is_usable_phone(v)
        codes.append(number.setdefault(v, len(number)) if usable else -1)
    return codes, list(number)


PHONE_VALUES = st.one_of(
    st.text(alphabet="0123456789", max_size=20),  # up to 20 digits: past the integer path's 17
    st.sampled_from(["0000000", "1111111", "01012345678", "1012345678", "99999999999999999", "０１２３４５６７", "٠١٢٣٤٥٦٧", "²²³⁴⁵⁶⁷", "A000102948", "138 0000 0000", ""]),
    st.text(max_size=9),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PHONE_VALUES, max_size=40), st.lists(st.sampled_from(["13800000001", "13800000002", "010888888", "0000000000"]), max_size=6))
def test_phone_codes_match_the_plain_reference(values, repeats):
    values = values + repeats  # repeated numbers, so that codes are shared
    codes, phones = phone_codes(pd.Series(values, dtype="str"))
    want_codes, want_phones = reference_phone_codes(values)
    assert codes.tolist() == want_codes
    assert phones.to_pylist() == want_phones
    usable = usable_phones(pd.Series(values, dtype="str", name="caller_phone"))
    assert usable.name == "caller_phone"
    assert [None if pd.isna(v) else v for v in usable] == [want_phones[c] if c >= 0 else None for c in want_codes]


def test_long_numbers_take_the_text_path_with_the_same_codes():
    values = ["123456789012345678", "13800000001", "123456789012345678", "888888888888888888", None, "13800000001"]
    codes, phones = phone_codes(pd.Series(values, dtype="str"))
    assert codes.tolist() == [0, 1, 0, -1, -1, 1]
    assert phones.to_pylist() == ["123456789012345678", "13800000001"]
    assert codes.dtype == np.int64
