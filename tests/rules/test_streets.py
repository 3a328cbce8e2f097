import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.metrics import BLANK_GROUP, group_codes, group_codes_of
from gaopin.rules.streets import area_name, communities_of_streets, community_label, keyed_counts, several_streets, street_codes, street_counts, street_key


@pytest.mark.parametrize(
    "raw, key",
    [("新村街道", "新村街道"), ("丰台区新村街道", "新村街道"), ("北京市丰台区新村街道", "新村街道"), ("新 村 街 道", "新村街道"), ("丰台区", "丰台区"), ("北京市", "北京市"), ("", "")],
)
def test_a_street_is_the_same_street_with_the_city_and_district_in_front(raw, key):
    assert street_key(raw) == key


def test_street_counts_join_the_ways_a_street_is_written_and_leave_blanks_out():
    s = pd.Series(["新村街道", "丰台区新村街道", None, "", "卢沟桥街道", "卢沟桥街道", "新 村街道"], dtype="str")
    assert street_counts(s) == {"新村街道": 3, "卢沟桥街道": 2}
    assert list(street_counts(s)) == ["新村街道", "卢沟桥街道"]


@pytest.mark.parametrize(
    "counts, scope, several",
    [
        ({"新村街道": 95, "卢沟桥街道": 5}, "auto", False),  # a street's own export, a few of its neighbour's
        ({"新村街道": 51, "卢沟桥街道": 49}, "auto", False),
        ({"新村街道": 50, "卢沟桥街道": 50}, "auto", True),  # no street holds more than half
        ({f"S{i}": 10 for i in range(20)}, "auto", True),  # a district
        ({"新村街道": 1}, "auto", False),
        ({}, "auto", False),
        ({f"S{i}": 10 for i in range(20)}, "street", False),
        ({"新村街道": 1}, "district", True),
    ],
)
def test_several_streets_when_none_holds_more_than_half_unless_the_setting_says(counts, scope, several):
    assert several_streets(counts, scope) is several


def test_a_community_is_named_with_its_street_and_a_blank_stays_blank():
    assert community_label("新村街道", "东和社区") == "新村街道·东和社区"
    assert community_label("", "东和社区") == "东和社区"
    assert community_label("新村街道", "") == ""


texts = st.sampled_from(["", "新村街道", "丰台区新村街道", "卢沟桥街道", "东和社区", "恰海社区", None])


@given(st.lists(st.tuples(texts, texts), max_size=40))
def test_community_codes_name_every_row_as_community_label_does_one_by_one(rows):
    """The coded, vectorised path against the plain definition, row by row."""
    street = pd.Series([s for s, _ in rows], dtype="str")
    community = pd.Series([c for _, c in rows], dtype="str")
    codes, names = pd.factorize(community, use_na_sentinel=True)
    out, labels = communities_of_streets(street_codes(street), (codes.astype(np.int64), [str(n) for n in names]))
    expected = [None if c is None else community_label(street_key(s or ""), c) for s, c in rows]
    assert [labels[c] if c >= 0 else None for c in out] == expected
    assert len(set(labels)) == len(labels)  # one code per label
    # The report's groups from the codes equal those from the labels' text.
    shown = pd.Series([labels[c] if c >= 0 else None for c in out], dtype=object)
    got_codes, got_names = group_codes_of(out, labels)
    want_codes, want_names = group_codes(shown)
    assert list(got_names) == list(want_names) and got_codes.tolist() == want_codes.tolist()
    assert (BLANK_GROUP in list(got_names)) == any(not c for _, c in rows)


def test_the_name_of_the_data_is_the_setting_or_n_streets_or_the_street_of_most_tickets():
    counts = {"新村街道": 3, "卢沟桥街道": 3, "宛平街道": 1}
    assert area_name("丰台区", True, counts) == "丰台区"
    assert area_name("", True, counts) == "3 个街道"
    assert area_name("", False, keyed_counts(counts)) == "卢沟桥街道"  # 3 each: the first name in code point order
    assert area_name("", False, keyed_counts({"丰台区宛平街道": 2, "宛平街道": 2, "新村街道": 3})) == "宛平街道"  # one street written two ways
    assert area_name("", False, keyed_counts({"西街道": 2, "东街道": 2})) == "东街道"  # a tie: the first name
    assert area_name("", False, {}) == "" and area_name("", False, {"A": 1}, {"B": 5}) == "B"


def test_several_streets_need_streets_named():
    assert several_streets({}, "district") is False and several_streets({"A": 1}, "district") is True


def test_a_street_is_shown_as_written_on_most_tickets_without_city_and_district():
    from gaopin.rules.streets import shown_names, street_shown

    assert street_shown("北京市 丰台区  新村街道 ") == "新村街道" and street_shown("新村街道 13812345678  13912345678") == "新村街道 13812345678 13912345678"
    assert street_shown("丰台区") == "丰台区"  # never down to nothing
    assert shown_names({"新 村 街 道": 5, "新村街道": 2, "丰台区新村街道": 2}) == {"新村街道": "新 村 街 道"}
    assert shown_names({"新 村 街 道": 2, "新村街道": 2, None: 9}) == {"新村街道": "新 村 街 道"}  # a tie: the first in code point order
    codes, names = street_codes(pd.Series(["丰台区新村街道", "新村街道", None, "卢沟桥街道"], dtype="str"))
    assert codes.tolist() == [0, 0, -1, 1] and names == ["新村街道", "卢沟桥街道"]
    assert street_codes(pd.Series(["新村街道"], dtype="str"), {"新村街道": "新 村 街 道"})[1] == ["新 村 街 道"]
