"""The fast stable sorts against numpy's own."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gaopin.rules.sorting import first_of, sorted_by_key, sorted_unique, stable_argsort, stable_order


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-2, 2)), max_size=30))
def test_stable_order_equals_lexsort(pairs):
    key = np.array([k for k, _ in pairs], dtype=np.int64)
    received = np.array([r for _, r in pairs], dtype=np.int64)
    assert stable_order(key, received).tolist() == np.lexsort((received, key)).tolist()


@given(st.lists(st.integers(-3, 3) | st.sampled_from([np.iinfo(np.int64).max, np.iinfo(np.int64).min]), max_size=40))
def test_stable_argsort_equals_numpys_stable_sort(values):
    key = np.array(values, dtype=np.int64)
    assert stable_argsort(key).tolist() == np.argsort(key, kind="stable").tolist()


@given(st.lists(st.integers(-5, 5), max_size=40))
def test_sorted_unique_equals_numpys_unique(values):
    arr = np.array(values, dtype=np.int64)
    assert sorted_unique(arr).tolist() == np.unique(arr).tolist()


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-100, 100)), max_size=40))
def test_first_of_is_each_codes_value_at_its_first_occurrence(pairs):
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    want: dict[int, int] = {}
    for c, v in pairs:
        want.setdefault(c, v)
    got = first_of(codes, values)
    assert len(got) == (max(want) + 1 if want else 0)
    assert {c: got[c] for c in want} == want
    assert len(first_of(codes, values, size=10)) == 10


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(-50, 50) | st.floats(-5, 5, allow_nan=False) | st.just(2.0**70)), max_size=40))
def test_sorted_by_key_equals_lexsort(pairs):
    """Whole values, negative ones, fractions and values past int64 (the lexsort path)."""
    key = np.array([k for k, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    got = sorted_by_key(key, values)
    assert got.dtype == values.dtype and got.tolist() == values[np.lexsort((values, key))].tolist()
