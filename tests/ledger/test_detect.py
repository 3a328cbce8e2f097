"""The ledger's threshold crossings and the person rule against plain reference implementations."""

from collections import defaultdict

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gaopin.ledger.detect import first_crossings
from gaopin.rules.persons import Links, name_key, person_column, usable_phones


def reference_first_day(days, min_tickets, window, persons=None, min_persons=0):
    """The first day d whose window d-window+1 … d holds enough tickets (and persons): by brute force."""
    for d in sorted(set(days)):
        inside = [i for i, x in enumerate(days) if d - window < x <= d]
        people = {persons[i] for i in inside if persons is not None and persons[i] is not None}
        if len(inside) >= min_tickets and (persons is None or len(people) >= min_persons):
            return d
    return None


tickets = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(tickets, st.integers(1, 6), st.integers(1, 20), st.sampled_from([0, -20_000, 19_000, 4_000_000]), st.booleans())
def test_first_crossings_equal_the_reference(items, min_tickets, window, shift, presorted):
    """Any day numbers (before 1970 too, or beyond the key span's size) and any order."""
    items = sorted(items) if presorted else items
    items = [(k, d + shift) for k, d in items]
    keys = np.array([k for k, _ in items], dtype="int64")
    days = np.array([d for _, d in items], dtype="int64")
    fast = first_crossings(keys, days, min_tickets, window).to_dict()
    by_key = defaultdict(list)
    for k, d in items:
        by_key[k].append(d)
    plain = {k: reference_first_day(ds, min_tickets, window) for k, ds in by_key.items()}
    assert fast == {k: v for k, v in plain.items() if v is not None}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60), st.sampled_from([0, 1, 2, 7, -1])), max_size=60),
    st.integers(1, 8),
    st.integers(1, 3),
    st.integers(1, 30),
    st.sampled_from([0, -20_000, 4_000_000]),
    st.booleans(),
)
def test_first_crossings_with_persons_equal_the_reference(items, min_tickets, min_persons, window, shift, presorted):
    """Tickets and distinct persons (-1: none) in each window, for every key at once, in any order."""
    items = sorted(items) if presorted else items
    keys = np.array([k for k, _, _ in items], dtype="int64")
    days = np.array([d + shift for _, d, _ in items], dtype="int64")
    persons = np.array([p for _, _, p in items], dtype="int64")
    fast = first_crossings(keys, days, min_tickets, window, persons, min_persons).to_dict()
    by_key = defaultdict(list)
    for k, d, p in items:
        by_key[k].append((d + shift, None if p < 0 else p))
    plain = {k: reference_first_day([d for d, _ in t], min_tickets, window, [p for _, p in t], min_persons) for k, t in by_key.items()}
    assert fast == {k: v for k, v in plain.items() if v is not None}


def reference_persons(rows, links=Links()):
    """Connected components of phones joined by (name, point) and manual links, by graph search."""
    usable = [p if isinstance(p, str) and p.isdigit() and len(p) >= 7 and len(set(p)) > 1 else None for p, _, _ in rows]
    edges = defaultdict(set)
    groups = defaultdict(set)
    for phone, (_, name, point) in zip(usable, rows):
        key = name_key(name) if isinstance(name, str) else ""
        if phone and key and point and phone not in links.unlinked:
            groups[(key, point)].add(phone)
    for members in groups.values():
        for a in members:
            edges[a] |= members - {a}
    for a, b in links.pairs:
        if a not in links.unlinked and b not in links.unlinked:
            edges[a].add(b)
            edges[b].add(a)
    root = {}
    for phone in sorted({p for p in usable if p}):
        if phone in root:
            continue
        seen, stack = {phone}, [phone]
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        smallest = min(seen)
        for p in seen:
            root[p] = smallest
    return [root.get(p) if p else None for p in usable]


PHONES = ["13800000001", "13800000002", "13900000003", "13900000004", "1234", "11111111", None]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PHONES), st.sampled_from(["赵建国", "王女士", "匿名", None]), st.sampled_from(["A1号楼", "B2号楼", None])), max_size=25),
    st.lists(st.tuples(st.sampled_from(PHONES[:4]), st.sampled_from(PHONES[:4])), max_size=2),
    st.sets(st.sampled_from(PHONES[:4]), max_size=1),
)
def test_person_linking_equals_a_graph_search(rows, pairs, unlinked):
    links = Links(pairs=tuple(pairs), unlinked=frozenset(unlinked))
    frame = pd.DataFrame(rows, columns=["phone", "name", "point"], dtype="str")
    fast = person_column(frame["phone"], frame["name"], frame["point"], links).tolist()
    fast = [None if not isinstance(v, str) else v for v in fast]
    assert fast == reference_persons(rows, links)
    assert usable_phones(frame["phone"]).notna().sum() == sum(1 for p in reference_persons(rows) if p)
