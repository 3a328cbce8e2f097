"""One street's data or several streets' (a district center's), and communities named with their street.

A street's own export holds a few tickets naming a neighbouring street (dispatched to it from
there); a district's export holds twenty streets. `[area] scope` says which, or `auto` decides:
several streets when no street holds more than half of the tickets that name one. With several
streets two communities of one name (each street may have an 东和社区) are told apart by
naming each with its street: 新村街道·东和社区. The report, the warnings and the ledger all
take the decision and the names from here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.config import AUTO_SCOPE as AUTO, DISTRICT_SCOPE as DISTRICT
from gaopin.io.canonical import arrow
from gaopin.rules.points import CITY, DISTRICTS
from gaopin.schema import compact

SEP = "·"
NO_STREETS_NOTE = "[area] scope 设为 district，但工单没有街道名称：按一个街道处理，社区前不写街道。"


def street_key(street: str) -> str:
    """A street's name as streets are compared (`street_shown` is how they are shown): `北京市丰台区新村街道`,
    `丰台区新村街道` and `新 村 街 道` are all `新村街道` (the city, then one district, taken
    off the front; width and spaces ignored)."""
    key = compact(street)
    if key.startswith(CITY) and len(key) > len(CITY):
        key = key[len(CITY) :]
    for district in DISTRICTS:
        if key.startswith(district) and len(key) > len(district):
            return key[len(district) :]
    return key


_SPACES = re.compile(r"\s+")


def street_shown(street: str) -> str:
    """A street as titles and tables show it: as written, with its spaces collapsed and 北京市
    and a district in front taken off. Not compacted as `street_key` is: two numbers typed in
    it (`新村街道 13812345678 13912345678`) would run into one the masker does not know."""
    name = _SPACES.sub(" ", street).strip()
    for prefix in (CITY, *DISTRICTS):
        if name.startswith(prefix) and compact(name[len(prefix) :]):
            name = name[len(prefix) :].lstrip()
    return name


def shown_names(written: dict[str | None, int]) -> dict[str, str]:
    """Each `street_key`'s name as shown: `street_shown` of the way it is written on most
    tickets (a tie: the first of them in code point order)."""
    best: dict[str, tuple[int, str]] = {}
    for value, n in sorted(((v, n) for v, n in written.items() if v is not None), key=lambda kv: kv[0]):
        key = street_key(value)
        if key and (key not in best or n > best[key][0]):
            best[key] = (n, value)
    return {key: street_shown(value) for key, (_, value) in best.items()}


def keyed_counts(written: dict[str | None, int]) -> dict[str, int]:
    """Tickets per street from counts per street as written, most first, then by name; blanks
    left out. Ways of writing one street (`street_key`) are one street, named as `shown_names`."""
    shown = shown_names(written)
    counts: dict[str, int] = {}
    for value, n in written.items():
        key = street_key(value) if value is not None else ""
        if key:
            counts[shown[key]] = counts.get(shown[key], 0) + n
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def written_counts(street: pd.Series) -> dict[str | None, int]:
    """Tickets per street as written (Arrow counts the distinct values)."""
    if not len(street):
        return {}
    found = pc.value_counts(arrow(street))
    return dict(zip(found.field("values").to_pylist(), found.field("counts").to_pylist()))


def street_counts(street: pd.Series) -> dict[str, int]:
    """`keyed_counts` of a column."""
    return keyed_counts(written_counts(street))


def several_streets(counts: dict[str, int], scope: str) -> bool:
    """Whether tickets with these `street_counts` are several streets' under `[area] scope`:
    under auto, when no street holds more than half of the tickets that name a street. Tickets
    that name none are not several streets, whatever the setting."""
    if not counts:
        return False
    if scope != AUTO:
        return scope == DISTRICT
    return len(counts) > 1 and max(counts.values()) * 2 <= sum(counts.values())


def area_name(configured: str, several: bool, counts: dict[str, int], all_counts: dict[str, int] | None = None) -> str:
    """What titles and email subjects call the data: `[report] street` when set; for several
    streets "N 个街道" (N: the streets of `counts`); else the street of most tickets in
    `all_counts` (default `counts`; a tie goes to the first name), "" when none names one."""
    if configured:
        return configured
    if several:
        return f"{len(counts)} 个街道"
    return next(iter(counts if all_counts is None else all_counts), "")


def community_label(street: str, community: str) -> str:
    """新村街道·东和社区; a community without a street keeps its name, a blank stays blank."""
    return f"{street}{SEP}{community}" if street and community else community


def street_codes(street: pd.Series, names: dict[str, str] | None = None, by_key: bool = False) -> tuple[np.ndarray, list[str]]:
    """Each row's street as a code into the distinct streets (-1: blank): one code for the
    ways of writing one street (`street_key`), named by `names` (`shown_names` of all the
    tickets these rows are taken from; by default of these rows), or with `by_key` by the
    `street_key` itself (a name that does not change with the data)."""
    raw, uniques = pd.factorize(street, use_na_sentinel=True)
    values = [str(u) for u in uniques.tolist()]
    if names is None and not by_key:
        names = shown_names(dict(zip(values, np.bincount(raw[raw >= 0], minlength=len(values)).tolist())))
    number: dict[str, int] = {}
    shown: list[str] = []
    mapped = []
    for v in values:
        key = street_key(v)
        if key and key not in number:
            number[key] = len(number)
            shown.append(key if by_key else (names.get(key) or street_shown(v)))
        mapped.append(number[key] if key else -1)
    return np.array(mapped + [-1], dtype=np.int64)[raw], shown


def communities_with_streets(community: pd.Series, street: pd.Series, names: dict[str, str] | None = None) -> tuple[np.ndarray, list[str]]:
    """`communities_of_streets` of two columns, row for row (`names`: as `street_codes`)."""
    codes, found = pd.factorize(community, use_na_sentinel=True)
    return communities_of_streets(street_codes(street, names), (codes.astype(np.int64), [str(n) for n in found.tolist()]))


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


def points_of_streets(street: pd.Series, codes: np.ndarray, points: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Several streets' points, each named with its street: 新村街道·电力小区1号楼. Two streets
    may each have a building of one name; as one point their complaints would add up to
    warnings and ledger entries that neither street has. The street is its `street_key`, not
    its shown name, which follows the most frequent way of writing it: a point is a ledger
    entry's key and must not change when the data grow. A ticket without a street keeps the
    bare point. `codes` are the rows' codes (-1: blank) into the bare `points`; the result is
    the rows' dense codes into the labelled points, and those points."""
    labelled, labels = communities_of_streets(street_codes(street, by_key=True), (codes, points.to_pylist()))
    return labelled, pa.array(labels, type=pa.string())
