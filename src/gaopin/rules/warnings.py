"""The early-warning rules (提早预警): `point_day` and `two_day`.

Both work on one vectorised pass over (point, problem, day) counts, not a Python loop
per group: a district year has hundreds of thousands of groups.

- point_day: a point and problem with ≥ min_tickets tickets on one calendar day; one
  warning per point, problem and day.
- two_day: the window of day d holds the tickets of days d-1 and d; it fires with
  ≥ min_tickets tickets from ≥ min_persons distinct persons. Firing windows of one point
  and problem that share a ticket chain into one warning holding their union.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.config import RulesSettings
from gaopin.io.bulk import collector_paused
from gaopin.io.canonical import arrow
from gaopin.privacy import mask_phones_in_text, text_masker
from gaopin.rules.prepare import DAY, PERSON, POINT, PROBLEM, dense_codes
from gaopin.rules.streets import communities_with_streets
from gaopin.rules.sorting import sorted_unique, stable_argsort, stable_order

POINT_DAY, TWO_DAY = "point_day", "two_day"
RULE_LABELS = {POINT_DAY: "单日同点位", TWO_DAY: "两日多人"}
UNASSIGNED = "unassigned"
MAX_TITLES = 3


@dataclass
class Warning:
    rule: str
    point: str
    category: str
    community: str
    start: date
    end: date
    tickets: int
    persons: int
    ticket_ids: list[str]
    owner: str = UNASSIGNED
    titles: list[str] = field(default_factory=list)  # the key content, for the leaders' message

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "point": self.point,
            "category": self.category,
            "community": self.community,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tickets": self.tickets,
            "persons": self.persons,
            "ticket_ids": list(self.ticket_ids),
            "owner": self.owner,
            "titles": list(self.titles),
        }

    @property
    def id(self) -> str:
        """A stable identity for exactly-once delivery: rule, point, problem and first day.

        A number in the point or problem is masked here whether or not this run showed it: what
        was sent is recorded by this id, so a --show-phones run matches the others (it recorded
        the numbers and sent everything again next time)."""
        return f"{self.rule}|{mask_phones_in_text(self.point)}|{mask_phones_in_text(self.category)}|{self.start.isoformat()}"


def id_parts(warning_id: str) -> tuple[str, str]:
    """(rule|point|problem, first day) of a `Warning.id`: the day never holds a `|`, a point may."""
    series, _, start = warning_id.rpartition("|")
    return series, start


@dataclass
class _Rows:
    """Usable tickets as integers only, sorted by (key, day, time): key per (point, problem),
    day number, person code (-1: none), time and the row position in the prepared frame."""

    key: np.ndarray
    d: np.ndarray
    person: np.ndarray
    received: np.ndarray
    pos: np.ndarray


def _rule_rows(frame: pd.DataFrame, codes: Mapping[str, np.ndarray] | None = None) -> _Rows:
    def coded(name: str) -> np.ndarray:
        return codes[name] if codes and name in codes else dense_codes(frame[name])

    # Codes over the whole column, then the usable rows: no copy of the text.
    points = coded(POINT)
    positions = np.flatnonzero((points >= 0) & frame[DAY].notna().to_numpy())
    point = points[positions]
    problem = coded(PROBLEM)[positions]
    # A key only groups (the warnings are sorted by their contents at the end): the pair's raw
    # number serves, unhashed, unless it is too large to sort with the time in one int64.
    key = point * (int(problem.max(initial=0)) + 1) + problem
    if len(key) and int(key.max()) >= 1 << 30:
        key = dense_codes(key)
    d = frame[DAY].to_numpy()[positions].astype("datetime64[D]").astype("int64")
    received = frame["received_at"].to_numpy()[positions].astype("int64")
    # Time order within a group too, so that a warning's tickets are already in order.
    order = stable_order(key, received)
    positions = positions[order]
    # The persons last: they may still be being linked in a thread (`prepare` with a pool).
    return _Rows(key[order], d[order], coded(PERSON)[positions], received[order], positions)


@dataclass
class _Days:
    """One entry per (key, day) with tickets, in row order: where its rows start, how many."""

    start: np.ndarray
    n: np.ndarray
    key: np.ndarray
    d: np.ndarray


def _days(rows: _Rows) -> _Days:
    new = np.ones(len(rows.key), dtype=bool)
    new[1:] = (rows.key[1:] != rows.key[:-1]) | (rows.d[1:] != rows.d[:-1])
    start = np.flatnonzero(new)
    n = np.diff(np.append(start, len(rows.key)))
    return _Days(start, n, rows.key[start], rows.d[start])


def point_day_groups(days: _Days, min_tickets: int) -> tuple[np.ndarray, np.ndarray]:
    """(first row, end row) of each firing point-day."""
    hit = days.n >= min_tickets
    return days.start[hit], days.start[hit] + days.n[hit]


def two_day_groups(rows: _Rows, days: _Days, min_tickets: int, min_persons: int) -> tuple[np.ndarray, np.ndarray]:
    """(first row, end row) of each chain of firing two-day windows: the tickets of days lo-1..hi."""
    m = len(days.n)
    if m == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    # Windows ending on a day without tickets are subsets of the day before: skip them.
    has_prev = np.zeros(m, dtype=bool)
    has_prev[1:] = (days.key[1:] == days.key[:-1]) & (days.d[1:] - days.d[:-1] == 1)
    n_prev = np.where(has_prev, np.concatenate([[0], days.n[:-1]]), 0)
    # Distinct persons per day, and those also seen the day before.
    day_of = np.repeat(np.arange(m), days.n)
    known = rows.person >= 0
    span = int(rows.person.max(initial=0)) + 1
    pairs = sorted_unique(day_of[known] * span + rows.person[known])
    pair_day = pairs // span
    p = np.bincount(pair_day, minlength=m)
    before = pairs - span  # the same person, the day before
    at = np.minimum(np.searchsorted(pairs, before), max(len(pairs) - 1, 0))
    again = (pairs[at] == before) & has_prev[pair_day] if len(pairs) else np.zeros(0, dtype=bool)
    both = np.bincount(pair_day[again], minlength=m)
    p_prev = np.where(has_prev, np.concatenate([[0], p[:-1]]), 0)
    fire = np.flatnonzero((days.n + n_prev >= min_tickets) & (p + p_prev - both >= min_persons))
    if not len(fire):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    # Windows d and d+1 share the tickets of day d (which has some); d and d+2 share none.
    new_chain = np.ones(len(fire), dtype=bool)
    new_chain[1:] = (days.key[fire[1:]] != days.key[fire[:-1]]) | (days.d[fire[1:]] - days.d[fire[:-1]] != 1)
    first, last = fire[new_chain], fire[np.append(new_chain[1:], True)]
    begin = np.where(has_prev[first], days.start[first - 1], days.start[first])
    return begin, days.start[last] + days.n[last]


def _pylist(column: pd.Series, take: np.ndarray) -> list:
    """The values at these row positions as Python objects (None for blank)."""
    return pc.take(arrow(column), pa.array(take)).to_pylist()


def _collect(
    frame: pd.DataFrame, rows: _Rows, starts: np.ndarray, ends: np.ndarray, rule: str, mask: bool,
    points_at: Callable[[np.ndarray], list], streets: dict[str, str] | None = None,
) -> list[Warning]:  # fmt: skip
    """The tickets of each group (a contiguous run of rows), as warnings; with several
    `streets` (their names as shown), the community is the most frequent street·community of
    the tickets. `points_at`: the points of rows of `frame`.

    Counts, communities and title candidates are computed for all groups at once; Python
    only assembles each warning from slices.
    """
    g = len(starts)
    if g == 0:
        return []
    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    group_of = np.repeat(np.arange(g), lengths)
    idx = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    received = rows.received[idx]
    # rows are in time order within a group; equal times (rare) are put in id order.
    tied = (received[1:] == received[:-1]) & (group_of[1:] == group_of[:-1])
    if tied.any():
        spans = [(offsets[i], offsets[i + 1]) for i in np.unique(group_of[1:][tied]).tolist()]
        # The ids of all those groups in one take: each take from the chunked column costs a
        # pass over all of it (8 ms at a million rows), however few values it takes.
        tied_ids = _pylist(frame["ticket_id"], rows.pos[np.concatenate([idx[lo:hi] for lo, hi in spans])])
        at = 0
        for lo, hi in spans:
            ids = tied_ids[at : at + hi - lo]
            at += hi - lo
            idx[lo:hi] = idx[lo:hi][sorted(range(hi - lo), key=lambda j: (received[lo + j], ids[j]))]
    take = rows.pos[idx]
    first_rows = take[offsets[:-1]]
    persons = _distinct_counts(group_of, rows.person[idx], g)
    if streets is not None:
        codes, labels = communities_with_streets(frame["community"].iloc[take], frame["street"].iloc[take], streets)
        named = pd.Series(np.array(labels + [None], dtype=object)[codes])
        communities = _most_common(named, np.arange(len(take)), group_of, g)
    else:
        communities = _most_common(frame["community"], take, group_of, g)
    titles = _titles(frame["title"], take, group_of, g, mask)
    ids = _pylist(frame["ticket_id"], take)
    points = points_at(first_rows)
    problems = _pylist(frame[PROBLEM], first_rows)
    day = rows.d[idx]
    start_days, end_days = day[offsets[:-1]].tolist(), day[offsets[1:] - 1].tolist()
    bounds = offsets.tolist()
    masked = text_masker()
    dates = {d: _to_date(d) for d in set(start_days) | set(end_days)}
    out = []
    with collector_paused():
        for i in range(g):
            lo, hi = bounds[i], bounds[i + 1]
            point = str(points[i])
            out.append(
                Warning(
                    rule=rule,
                    point=masked(point) if mask else point,
                    category=masked(str(problems[i])) if mask else str(problems[i]),
                    community=communities[i],
                    start=dates[start_days[i]],
                    end=dates[end_days[i]],
                    tickets=hi - lo,
                    persons=persons[i],
                    ticket_ids=ids[lo:hi],
                    titles=titles[i],
                )
            )
    return out


def _distinct_counts(group_of: np.ndarray, codes: np.ndarray, g: int) -> list[int]:
    """Distinct codes (≥ 0) per group."""
    known = codes >= 0
    span = int(codes.max(initial=0)) + 1
    pairs = sorted_unique(group_of[known] * span + codes[known])
    return np.bincount(pairs // span, minlength=g).tolist()


def _most_common(column: pd.Series, take: np.ndarray, group_of: np.ndarray, g: int) -> list[str]:
    """Per group, the most frequent non-blank value; ties go to the smallest; "" if none."""
    codes, uniques = pd.factorize(column.iloc[take], sort=True, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    known = codes >= 0
    span = len(uniques) + 1
    pairs = np.sort(group_of[known] * span + codes[known])
    out = [""] * g
    if not len(pairs):
        return out
    new = np.ones(len(pairs), dtype=bool)
    new[1:] = pairs[1:] != pairs[:-1]
    run = np.flatnonzero(new)
    count = np.diff(np.append(run, len(pairs)))
    value = pairs[run]
    # Runs are in (group, value) order: most frequent first, then the smallest value.
    best = np.lexsort((value % span, -count, value // span))
    group = value[best] // span
    lead = np.ones(len(best), dtype=bool)
    lead[1:] = group[1:] != group[:-1]
    names = list(uniques)
    for grp, code in zip(group[lead].tolist(), (value[best][lead] % span).tolist()):
        out[grp] = names[code]
    return out


def _titles(column: pd.Series, take: np.ndarray, group_of: np.ndarray, g: int, mask: bool) -> list[list[str]]:
    """Per group, the first MAX_TITLES distinct titles in ticket order (distinct once masked)."""
    codes, _ = pd.factorize(column.iloc[take], use_na_sentinel=True)
    codes = codes.astype(np.int64)
    known = np.flatnonzero(codes >= 0)
    span = int(codes.max(initial=0)) + 1
    key = group_of[known] * span + codes[known]
    order = stable_argsort(key)
    new = np.ones(len(order), dtype=bool)
    new[1:] = key[order][1:] != key[order][:-1]
    # Each group's distinct titles by first appearance, in ticket order.
    first = np.sort(known[order[new]])
    bounds = np.searchsorted(group_of[first], np.arange(g + 1)).tolist()
    texts = _pylist(column, take[first])
    masked = text_masker()
    out = []
    for i in range(g):
        lo, hi = bounds[i], bounds[i + 1]
        if not mask:
            out.append(texts[lo : min(hi, lo + MAX_TITLES)])
            continue
        shown: list[str] = []
        for raw in texts[lo:hi]:
            title = masked(raw)
            if title not in shown:
                shown.append(title)
                if len(shown) == MAX_TITLES:
                    break
        out.append(shown)
    return out


def _to_date(day_number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(day_number))


def find_warnings(
    frame: pd.DataFrame,
    rules: RulesSettings,
    mask_phones: bool = True,
    codes: Mapping[str, np.ndarray] | None = None,
    streets: dict[str, str] | None = None,
    values: Mapping[str, pa.Array] | None = None,
    pool: Executor | None = None,
) -> list[Warning]:
    """Every warning of both rules over a prepared frame, in a stable order.

    `codes`: the prepared frame's integer codes (`Prepared.codes`), if it is unfiltered;
    `streets`: `Prepared.street_names` when the tickets are several streets' (None: one street's);
    `values`: `Prepared.values`, with `codes`: then `frame` (`Prepared.tickets`) needs no point
    or person column; `pool`: the caller's executor to find the two-day windows in (after what
    it has queued there), else a thread of its own.
    """
    rows = _rule_rows(frame, codes)
    days = _days(rows)

    def points_at(at: np.ndarray) -> list:
        if codes is not None and values is not None and POINT in values:
            return values[POINT].take(pa.array(codes[POINT][at])).to_pylist()  # rows with a point only
        return _pylist(frame[POINT], at)

    with nullcontext(pool) if pool is not None else ThreadPoolExecutor(max_workers=1) as jobs:
        # The two-day windows are numpy's work, outside the GIL: found while the point-day
        # warnings are assembled in Python (a district year: 0.04 s of 0.65 s).
        two_day = jobs.submit(two_day_groups, rows, days, rules.two_day.min_tickets, rules.two_day.min_persons)
        warnings = _collect(frame, rows, *point_day_groups(days, rules.point_day.min_tickets), POINT_DAY, mask_phones, points_at, streets)
        warnings += _collect(frame, rows, *two_day.result(), TWO_DAY, mask_phones, points_at, streets)
    warnings.sort(key=attrgetter("start", "end", "rule", "point", "category"))  # a tuple, built in C
    return warnings
