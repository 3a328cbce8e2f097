"""The keys every rule works on, computed once: point, problem (category key), person, day.

`warn`, the ledger and the report all start from `prepare`, so the point, the person
and the category key have one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gaopin.config import DISTRICT_SCOPE, Settings
from gaopin.io.canonical import coded_series, distinct_coded, each, map_unique
from gaopin.io.load import LoadResult
from gaopin.privacy import mask_phones_in_text
from gaopin.rules.persons import Links, callers, linked_persons
from gaopin.rules.points import point_codes
from gaopin.rules.streets import NO_STREETS_NOTE, SEP, keyed_counts, points_of_streets, several_streets, shown_names, written_counts
from gaopin.schema import CANONICAL_COLUMNS, category_key, compact, field_named, label

POINT, PROBLEM, PERSON, DAY = "point", "problem", "person", "day"
KEYS = (POINT, PROBLEM, PERSON, DAY)  # the columns prepare adds, in their order in `Prepared.frame`
PHONE = "caller_phone"


class Awaited(Mapping):
    """A dict of which some values are still being made in a thread (`prepare` with a pool):
    reading one of those waits for it; asking whether a key is there does not. Read from one
    thread only (the first read of a value stores it)."""

    def __init__(self, ready: dict[str, Any], later: dict[str, Callable[[], Any]] | None = None):
        self._ready = dict(ready)
        self._later = dict(later or {})

    def __getitem__(self, key: str) -> Any:
        if key not in self._ready and key in self._later:
            self._ready[key] = self._later.pop(key)()
        return self._ready[key]

    def __contains__(self, key: object) -> bool:
        return key in self._ready or key in self._later

    def __iter__(self) -> Iterator[str]:
        return iter([*self._ready, *(k for k in self._later if k not in self._ready)])

    def __len__(self) -> int:
        return len(self._ready) + sum(k not in self._ready for k in self._later)


@dataclass
class Prepared:
    tickets: pd.DataFrame  # canonical columns + problem, day; the point and person are in `codes`
    fields: frozenset[str]
    notes: list[str] = field(default_factory=list)
    excluded: int = 0  # tickets removed by [filters]
    # Integer codes of POINT, PROBLEM and PERSON, and of the usable phones (PHONE), row for row
    # with `tickets` as prepared (-1 for blank; equal codes exactly where the values are equal):
    # the rules use them instead of hashing the text again. A frame filtered afterwards no
    # longer matches them.
    # With a pool given to `prepare`, PERSON's are still being made when it returns (`Awaited`).
    codes: Mapping[str, np.ndarray] = field(default_factory=dict)
    # The text of each code of POINT and PERSON (the point's name, the person's id), for
    # `values[name].take(codes[name])`.
    values: Mapping[str, pa.Array] = field(default_factory=dict)
    phones: pa.Array | None = None  # the usable phones in order of their codes (PHONE)
    # Several streets' tickets (`gaopin.rules.streets`): communities are named with their street.
    several_streets: bool = False
    street_counts: dict[str, int] = field(default_factory=dict)  # of all tickets read, before [filters]
    street_names: dict[str, str] = field(default_factory=dict)  # each street_key's name as shown (`shown_names`)

    def has(self, name: str) -> bool:
        return name in self.fields

    @cached_property
    def frame(self) -> pd.DataFrame:
        """`tickets` with the point and the person as text columns, made on first use. The rules
        and the ledger take the few texts they show from `values` instead (a district year's two
        columns cost 0.08 s)."""
        frame = self.tickets.copy(deep=False)
        for name in (POINT, PERSON):
            frame[name] = coded_series(self.codes[name], self.values[name], frame.index)
        # In the order the columns always had; with copy-on-write, no column is copied.
        return frame[[c for c in frame.columns if c not in KEYS] + list(KEYS)]


def _apply_filters(frame: pd.DataFrame, exclude: dict[str, list[str]], present: frozenset[str]) -> tuple[pd.DataFrame, int, list[str]]:
    """Drop tickets whose field (canonical name, label or alias, or a source header) holds a
    listed value. A canonical field the export does not have is reported, not matched blank."""
    notes: list[str] = []
    if not exclude or frame.empty:
        return frame, 0, notes
    drop = pd.Series(False, index=frame.index)
    matching = 0  # filters that dropped a ticket, each with its note
    for key, values in exclude.items():
        column = key if key in frame.columns and key not in CANONICAL_COLUMNS else field_named(key)
        if column is None or column not in frame.columns or (column in CANONICAL_COLUMNS and column not in present):
            notes.append(f"[filters] 中的字段“{mask_phones_in_text(key)}”在数据中不存在，这条筛选没有生效。")
            continue
        wanted = {compact(v) for v in values}
        keys = map_unique(frame[column].astype("str"), compact)
        hit = keys.isin(wanted).fillna(False).astype(bool)
        if hit.any():
            matching += 1
            # A canonical name (ticket_type) is said as staff read it (工单类型).
            named = label(column) if column in CANONICAL_COLUMNS else key
            notes.append(mask_phones_in_text(f"按 [filters] 剔除了 {int(hit.sum())} 张{named}为 {'/'.join(values)} 的工单。"))
        drop |= hit
    if matching > 1:
        # Each note counts its own matches: a ticket two filters match is in both.
        notes.append(f"按 [filters] 共剔除 {int(drop.sum())} 张工单（一张工单可能同时符合几条筛选）。")
    return frame[~drop], int(drop.sum()), notes


def problem_column(frame: pd.DataFrame, has_category: bool, level: int) -> pd.Series:
    """The "same problem" key: the category path at `level` (0: the full path); "" without categories."""
    return _problems(frame["category"] if has_category else None, frame.index, level)


def _problems(category: pd.Series | None, index: pd.Index, level: int) -> pd.Series:
    if category is None:
        return pd.Series("", index=index, dtype="str")
    if level <= 0:
        return category.fillna("")  # the full path: category_key would return it as it is
    return map_unique(category, lambda c: category_key(c, level)).fillna("")


def prepare(result: LoadResult, settings: Settings, links: Links = Links(), apply_filters: bool = True, pool: Executor | None = None) -> Prepared:
    """The tickets with their keys. With a `pool` (the caller's executor, of one worker: its
    jobs run in the order given), the callers are hashed there, and the persons are linked
    there after this returns: `codes[PERSON]` and `values[PERSON]` are `Awaited`, so that the
    caller's next work (the rules' sort) runs beside the linking (a district year: 0.13 s)."""
    if apply_filters:
        frame, excluded, notes = _apply_filters(result.frame, settings.filters.exclude, result.fields)
    else:
        frame, excluded, notes = result.frame, 0, []
    # A new frame object for the added columns; with copy-on-write no column is copied.
    frame = frame.copy(deep=False)
    fields = result.fields
    codes: dict[str, np.ndarray] = {}
    values: dict[str, pa.Array] = {}
    # Decided on every ticket read, as the report decides on its own: [filters] are a warning
    # setting, and would make the two name one community differently.
    written = written_counts(result.frame["street"]) if result.has("street") else {}
    counts, names = keyed_counts(written), shown_names(written)
    several = several_streets(counts, settings.area.scope)
    # The callers' phones and names and the problems are hashed by Arrow outside the GIL, in a
    # thread, while this one normalises the addresses in Python; the columns are taken out
    # first, so that the thread never reads the frame while this one adds columns to it.
    phone_name = (frame["caller_phone"], frame["caller_name"]) if result.has("caller_phone") else None
    with nullcontext(pool) if pool is not None else ThreadPoolExecutor(max_workers=1) as jobs:
        # The problems first (a fiftieth of a second): the persons are linked as soon as the
        # callers are hashed.
        category = frame["category"] if result.has("category") else None
        problem_job = jobs.submit(_problems_coded, category, frame.index, settings.rules.category_level)
        callers_job = jobs.submit(callers, *phone_name) if phone_name is not None else None
        if result.has("address"):
            point, point_names = point_codes(frame["address"], frame["street"], settings.point.prefixes)
            blank = int((point < 0).sum())
            if blank:
                notes.append(f"{blank} 张工单没有地址，未参与点位规则。")
        else:
            # Compared as the owners' table compares communities: ignoring blanks and width.
            point, point_names = distinct_coded(frame["community"], each(compact))
            notes.append("导出中没有地址列，以社区代替点位。")
            if not result.has("community"):
                notes.append("导出中也没有社区列，点位规则无法使用。")
            elif blank := int((point < 0).sum()):
                notes.append(f"{blank} 张工单没有社区，未参与点位规则。")
        if several:
            codes[POINT], values[POINT] = points_of_streets(frame["street"], point, point_names)
        else:
            codes[POINT], values[POINT] = point, point_names
        frame[PROBLEM], codes[PROBLEM] = problem_job.result()
        found = callers_job.result() if callers_job is not None else None
    if not result.has("category"):
        notes.append("导出中没有问题分类列，同一点位的所有工单视为同一问题。")
    phones = None
    linking: Future | None = None
    if found is not None:
        if pool is None:
            codes[PERSON], values[PERSON] = linked_persons(found, codes[POINT], links)
        else:
            linking = pool.submit(linked_persons, found, codes[POINT], links)
        codes[PHONE], phones = found.phone_codes, found.phones
        # A ticket has a person exactly when it has a usable phone (linking only joins them).
        no_person = int((found.phone_codes < 0).sum())
        if no_person:
            notes.append(f"{no_person} 张工单没有可用的电话号码，只计件数，不计人数。")
    else:
        codes[PERSON], values[PERSON] = np.full(len(frame), -1, dtype=np.int64), pa.array([], pa.large_string())
        notes.append(f"导出中没有{label('caller_phone')}列，无法区分诉求人：人数规则和高频诉求人无法使用。")
    if several:
        notes.append(f"工单来自 {len(counts)} 个街道：社区和点位前写明所属街道（街道{SEP}社区、街道{SEP}点位）；只有一个街道时在 gaopin.toml 中设 [area] scope = \"street\"。")
    elif settings.area.scope == DISTRICT_SCOPE and not counts:
        notes.append(NO_STREETS_NOTE)
    frame[DAY] = frame["received_at"].to_numpy().astype("datetime64[D]")
    undated = int(frame["received_at"].isna().sum())
    if undated:
        notes.append(f"{undated} 张工单的受理时间为空或无法识别，未参与按日期的规则。")
    if linking is not None:
        codes = Awaited(codes, {PERSON: lambda: linking.result()[0]})
        values = Awaited(values, {PERSON: lambda: linking.result()[1]})
    return Prepared(
        tickets=frame, fields=fields, notes=notes, excluded=excluded, codes=codes, values=values, phones=phones,
        several_streets=several, street_counts=counts, street_names=names,
    )  # fmt: skip


def _problems_coded(category: pd.Series | None, index: pd.Index, level: int) -> tuple[pd.Series, np.ndarray]:
    problem = _problems(category, index, level)
    return problem, dense_codes(problem)


def dense_codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dense integer codes of a column (-1 for blank); the code order carries no meaning."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False)
