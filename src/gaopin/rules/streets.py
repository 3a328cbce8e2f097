"""One street's data or several streets' (a district center's), and communities named with their street.

A street's own export holds a few tickets naming a neighbouring street (dispatched to it from
there); a district's export holds twenty streets. `[area] scope` says which, or `auto` decides:
several streets when no street holds more than half of the tickets that name one. With several
streets two communities of one name (each street may have an 东和社区) are told apart by
naming each with its street: 新村街道·东和社区. The report, the warnings and the ledger all
take the decision and the names from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gaopin.config import AUTO_SCOPE as AUTO, DISTRICT_SCOPE as DISTRICT
from gaopin.io.canonical import arrow
from gaopin.rules.points import CITY, DISTRICTS
from gaopin.schema import compact

SEP = "·"


def street_key(street: str) -> str:
    """A street's name as streets are compared and shown: `北京市丰台区新村街道`,
    `丰台区新村街道` and `新 村 街 道` are all `新村街道` (the city, then one district, taken
    off the front; width and spaces ignored)."""
    key = compact(street)
    if key.startswith(CITY) and len(key) > len(CITY):
        key = key[len(CITY) :]
    for district in DISTRICTS:
        if key.startswith(district) and len(key) > len(district):
            return key[len(district) :]
    return key


def street_counts(street: pd.Series) -> dict[str, int]:
    """Tickets per street (`street_key`), most first, then by name; blanks left out. Counted
    on the distinct values (Arrow), keyed in Python only once each."""
    counts: dict[str, int] = {}
    if len(street):
        found = pc.value_counts(arrow(street))
        for value, n in zip(found.field("values").to_pylist(), found.field("counts").to_pylist()):
            key = street_key(value) if value is not None else ""
            if key:
                counts[key] = counts.get(key, 0) + n
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def several_streets(counts: dict[str, int], scope: str) -> bool:
    """Whether tickets with these `street_counts` are several streets' under `[area] scope`."""
    if scope != AUTO:
        return scope == DISTRICT
    return len(counts) > 1 and max(counts.values()) * 2 <= sum(counts.values())


def community_label(street: str, community: str) -> str:
    """新村街道·东和社区; a community without a street keeps its name, a blank stays blank."""
    return f"{street}{SEP}{community}" if street and community else community


def street_codes(street: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's street as a code into the distinct `street_key`s (-1: blank)."""
    raw, uniques = pd.factorize(street, use_na_sentinel=True)
    number: dict[str, int] = {}
    mapped = [number.setdefault(k, len(number)) if (k := street_key(str(u))) else -1 for u in uniques.tolist()]
    return np.array(mapped + [-1], dtype=np.int64)[raw], list(number)


def communities_of_streets(
    streets: tuple[np.ndarray, list[str]], communities: tuple[np.ndarray, list[str]]
) -> tuple[np.ndarray, list[str]]:
    """Each row's `community_label` as a code into the distinct labels (-1: blank community),
    from the rows' street and community codes (-1: blank); labels are made once per pair."""
    street, street_names = streets
    community, community_names = communities
    out = np.full(len(community), -1, dtype=np.int64)
    known = community >= 0
    width = max(len(community_names), 1)
    pairs, distinct = pd.factorize((street[known] + 1) * width + community[known])
    number: dict[str, int] = {}
    for_pair = []
    for p in distinct.tolist():
        s, c = divmod(int(p), width)
        label = community_label(street_names[s - 1] if s > 0 else "", community_names[c])
        for_pair.append(number.setdefault(label, len(number)))
    out[known] = np.array(for_pair, dtype=np.int64)[pairs] if len(for_pair) else pairs
    return out, list(number)
