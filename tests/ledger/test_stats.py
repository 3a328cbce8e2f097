"""The per-entry figures against a plain per-entry computation, and their round trip."""

from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest
import pyarrow as pa
from hypothesis import given, settings as hsettings, strategies as st

from gaopin.ledger.stats import Coded, EntryStats
from gaopin.periods import Period

BASE = pd.Timestamp("2024-07-30")

member = st.tuples(
    st.integers(0, 4),  # entry
    st.integers(0, 9),  # ticket
    st.integers(0, 60 * 24 * 3600).map(lambda s: s - s % 1800),  # seconds after BASE; half hours make ties
    st.sampled_from(["13800000001", "13800000002", None]),
    st.sampled_from(["京铁社区", "桥一社区", "", None]),
    st.sampled_from(["赵建国", "王女士", None]),
)


def stats_of(t: pd.DataFrame) -> EntryStats:
    """The figures of a frame of entry_id, ticket_id, received_at, person, community, caller_name."""
    codes, index = pd.factorize(t["entry_id"])
    text = {c: pa.array(t[c].astype("str"), pa.string()) for c in ("ticket_id", "person", "community", "caller_name")}
    coded = {c: Coded.of(text[c]) for c in ("person", "community", "caller_name")}
    return EntryStats.build([str(e) for e in index], codes, text["ticket_id"], t["received_at"].to_numpy(), coded["person"], coded["community"], coded["caller_name"])


def frame_of(rows) -> pd.DataFrame:
    # One membership per (entry, ticket): the first drawn wins.
    seen, kept = set(), []
    for r in rows:
        if (r[0], r[1]) not in seen:
            seen.add((r[0], r[1]))
            kept.append(r)
    return pd.DataFrame(
        {
            "entry_id": [f"GP-2024-{e:04d}" for e, *_ in kept],
            "ticket_id": [f"T{t:03d}" for _, t, *_ in kept],
            "received_at": [BASE + pd.Timedelta(seconds=s) for _, _, s, *_ in kept],
            "person": pd.array([r[3] for r in kept], dtype="str"),
            "community": pd.array([r[4] for r in kept], dtype="str"),
            "caller_name": pd.array([r[5] for r in kept], dtype="str"),
        }
    )


def mode(values) -> str:
    counts = Counter(v for v in values if not pd.isna(v))
    return min(counts, key=lambda v: (-counts[v], v)) if counts else ""


def reference(t: pd.DataFrame, entry_id: str, p: Period) -> dict:
    part = t[t["entry_id"] == entry_id].sort_values(["received_at", "ticket_id"])
    days = part["received_at"].dt.date
    return {
        "total": len(part),
        "ids": part["ticket_id"].tolist(),
        "persons": part["person"].dropna().nunique(),
        "first": days.min().isoformat(),
        "last": days.max().isoformat(),
        "community": mode(part["community"]),
        "name": mode(part["caller_name"]),
        "by_month": dict(Counter(part["received_at"].dt.strftime("%Y-%m"))),
        "in_month": int(((days >= p.start) & (days <= p.end)).sum()),
    }


def observed(stats: EntryStats, entry_id: str, p: Period) -> dict:
    return {
        "total": stats.total(entry_id),
        "ids": stats.ids(entry_id),
        "persons": stats.persons(entry_id),
        "first": stats.day(entry_id, last=False),
        "last": stats.day(entry_id, last=True),
        "community": stats.community(entry_id),
        "name": stats.name(entry_id),
        "by_month": stats.by_month(entry_id),
        "in_month": stats.in_period(p).get(entry_id, 0),
    }


PERIOD = Period(2024, 8, date(2024, 8, 1), date(2024, 8, 31))


@hsettings(max_examples=150, deadline=None)
@given(st.lists(member, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_figures_match_a_plain_computation_and_survive_the_round_trip(rows, rnd):
    t = frame_of(rows)
    shuffled = t.iloc[rnd.sample(range(len(t)), len(t))].reset_index(drop=True)
    stats = stats_of(shuffled)
    kept = EntryStats.from_bytes(stats.to_bytes())
    for entry_id in sorted(set(t["entry_id"])):
        expected = reference(t, entry_id, PERIOD)
        assert observed(stats, entry_id, PERIOD) == expected
        assert observed(kept, entry_id, PERIOD) == expected


def test_an_unknown_entry_has_no_figures():
    stats = EntryStats.from_bytes(stats_of(frame_of([(0, 1, 0, None, None, None)])).to_bytes())
    assert stats.total("GP-2024-9999") == 0 and stats.ids("GP-2024-9999") == [] and stats.day("GP-2024-9999", True) is None
    assert stats.persons("GP-2024-0000") == 0 and stats.community("GP-2024-0000") == "" and stats.name("GP-2024-0000") == ""


def test_no_entries_round_trip():
    empty = frame_of([]).astype({"received_at": "datetime64[ns]"})
    stats = EntryStats.from_bytes(stats_of(empty).to_bytes())
    assert stats.entry_ids == [] and stats.in_period(PERIOD) == {}
    assert np.asarray(stats.offsets).tolist() == [0]


@hsettings(max_examples=100, deadline=None)
@given(st.lists(member, min_size=1, max_size=60), st.integers(0, 5))
def test_figures_of_groups_of_entries_concatenate_to_the_figures_of_all(rows, cut):
    """The refresh computes each kind's figures apart and joins them: the same as all at once."""
    t = frame_of(rows)
    first = t[t["entry_id"] < f"GP-2024-{cut:04d}"]
    second = t[t["entry_id"] >= f"GP-2024-{cut:04d}"]
    parts = [stats_of(first.reset_index(drop=True)), stats_of(second.reset_index(drop=True))]
    joined = EntryStats.concat(parts, parts[0].entry_ids + parts[1].entry_ids)
    whole = stats_of(t)
    assert sorted(joined.entry_ids) == sorted(whole.entry_ids)
    for entry_id in whole.entry_ids:
        assert observed(joined, entry_id, PERIOD) == observed(whole, entry_id, PERIOD)
    kept = EntryStats.from_bytes(joined.to_bytes())
    for entry_id in whole.entry_ids:
        assert observed(kept, entry_id, PERIOD) == observed(whole, entry_id, PERIOD)


def test_concat_names_every_entry():
    part = stats_of(frame_of([(0, 1, 0, None, None, None)]))
    with pytest.raises(ValueError):
        EntryStats.concat([part], [])
    assert EntryStats.concat([], []).entry_ids == []


def test_an_entry_without_tickets_has_no_days_and_the_others_theirs():
    t = frame_of([(0, 1, 3600, None, None, None), (2, 2, 2 * 86_400, None, None, None)])
    none = Coded(np.zeros(0, dtype="int64"), pa.array([], pa.string()))
    empty = EntryStats.build(["A", "B"], np.zeros(0, dtype="int64"), pa.array([], pa.string()), np.zeros(0, dtype="datetime64[s]"), none, none, none)
    assert [empty.day(e, last) for e in ("A", "B") for last in (False, True)] == [None] * 4
    # Entry codes 0 and 2: the entry between them (code 1) has none.
    codes = np.array([0, 2])
    text = pa.array(t["ticket_id"], pa.string())
    blank = Coded(np.full(2, -1, dtype="int64"), pa.array([], pa.string()))
    stats = EntryStats.from_bytes(EntryStats.build(["A", "B", "C"], codes, text, t["received_at"].to_numpy(), blank, blank, blank).to_bytes())
    assert [stats.day(e, last) for e in ("A", "B", "C") for last in (False, True)] == ["2024-07-30", "2024-07-30", None, None, "2024-08-01", "2024-08-01"]
