"""`gaopin warn`: warnings and escalations from loaded tickets, with owners and notes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.config import OwnerSettings, Settings
from gaopin.io.bulk import collector_paused
from gaopin.io.load import LoadResult
from gaopin.io.canonical import arrow
from gaopin.privacy import text_masker
from gaopin.rules.outcomes import LEVELS, escalation_codes
from gaopin.rules.persons import Links
from gaopin.rules.prepare import Prepared, prepare
from gaopin.rules.sorting import stable_argsort, tied_positions
from gaopin.rules.streets import SEP, area_name, communities_with_streets, street_key
from gaopin.rules.warnings import UNASSIGNED, Warning, find_warnings
from gaopin.schema import compact


@dataclass
class Escalation:
    ticket_id: str
    level: str
    community: str
    unit: str
    received_at: str  # ISO date and time
    owner: str = UNASSIGNED

    def to_dict(self) -> dict:
        return {
            "ticket_id": self.ticket_id,
            "level": self.level,
            "community": self.community,
            "unit": self.unit,
            "received_at": self.received_at,
            "owner": self.owner,
        }


@dataclass
class WarnReport:
    warnings: list[Warning]
    escalations: list[Escalation]
    notes: list[str] = field(default_factory=list)
    center_head: str = ""
    # With `warn(on=D, earlier_days=N)`: the warnings that ended in the N days before D, in the
    # order of `warnings` (what a delivery run catches up on); not among `warnings` and not shown.
    earlier: list[Warning] = field(default_factory=list)
    area: str = ""  # what a message's title calls the data (`gaopin.rules.streets.area_name`); not in the JSON

    def to_dict(self) -> dict:
        with collector_paused():
            return {
                "warnings": [w.to_dict() for w in self.warnings],
                "escalations": [e.to_dict() for e in self.escalations],
                "notes": list(self.notes),
            }

    def json_ready(self) -> dict:
        """`to_dict` for orjson, with the warnings and escalations left as they are: orjson writes
        a dataclass field by field, in the order and with the values `to_dict` gives (dates as ISO
        dates), so the JSON is the same without 100,000 dicts made first (a district year: 0.3 s
        -> 0.08 s, with the writing). For orjson: `json.dumps` alone writes no dataclass."""
        return {"warnings": self.warnings, "escalations": self.escalations, "notes": list(self.notes)}


def owner_lookup(owners: OwnerSettings, several_streets: bool = False):
    """community → its leader (包片领导), matched ignoring blanks and width; "unassigned" otherwise.

    With `several_streets`, a community is named with its street (新村街道·东和社区) and is
    looked up under that name, else under its own (东和社区). One street's community is only
    ever its own name, even with a "·" in it (金地·格林社区)."""
    table = {_owner_key(k): v for k, v in owners.communities.items()}
    cache: dict[str, str] = {}

    def lookup(community: str) -> str:
        if not community:
            return UNASSIGNED
        if community not in cache:
            found = table.get(_owner_key(community))
            if found is None and several_streets and SEP in community:
                found = table.get(_owner_key(community.split(SEP, 1)[1]))
            cache[community] = UNASSIGNED if found is None else found
        return cache[community]

    return lookup


def _owner_key(name: str) -> str:
    """A community as the leaders' table is compared: ignoring blanks and width, and a street in
    front (新村街道·东和社区) as streets are compared (丰台区新村街道·东和社区 is the same)."""
    key = compact(name)
    if SEP in key:
        street, _, community = key.partition(SEP)
        return f"{street_key(street)}{SEP}{community}"
    return key


def escalations(prepared: Prepared, owners: OwnerSettings) -> tuple[list[Escalation], list[str]]:
    frame = prepared.tickets
    notes = []
    if not (prepared.has("resolved") or prepared.has("satisfied")):
        return [], ["导出中没有是否解决、是否满意列，无法判断单否/双否。"]
    if not prepared.has("resolved"):
        notes.append("导出中没有是否解决列，单否/双否只按是否满意判断。")
    if not prepared.has("satisfied"):
        notes.append("导出中没有是否满意列，单否/双否只按是否解决判断。")
    if not prepared.has("valid_callback"):
        notes.append("导出中没有是否有效回访列，所有有回访结果的工单都计入。")
    codes = escalation_codes(frame, prepared.has("valid_callback"))
    hit = np.flatnonzero(codes)
    ids = _texts(frame["ticket_id"], hit)
    received = frame["received_at"].to_numpy()[hit].astype("datetime64[s]")
    order = _by_time_then_id(received, ids)
    hit, received = hit[order], received[order]
    stamps = np.datetime_as_string(received, unit="s").tolist()
    missing = np.isnat(received).tolist()
    levels = codes[hit].tolist()
    if prepared.several_streets:  # named with their streets, as the warnings are
        named, labels = communities_with_streets(frame["community"].iloc[hit], frame["street"].iloc[hit], prepared.street_names)
        communities = [labels[c] if c >= 0 else "" for c in named.tolist()]
    else:
        communities = _texts(frame["community"], hit)
    lookup = owner_lookup(owners, prepared.several_streets)
    owner_by_community = {c: lookup(c) for c in set(communities)}
    with collector_paused():
        return [
            Escalation(ticket_id=ids[i], level=LEVELS[lv], community=c, unit=u, received_at="" if na else r, owner=owner_by_community[c])
            for i, lv, c, u, r, na in zip(order.tolist(), levels, communities, _texts(frame["unit"], hit), stamps, missing)
        ], notes


def _texts(column: pd.Series, rows: np.ndarray) -> list[str]:
    """The values at these row positions as text ("" for blank)."""
    return ["" if v is None else v for v in pc.take(arrow(column), pa.array(rows)).to_pylist()]


def _by_time_then_id(received: np.ndarray, ids: list[str]) -> np.ndarray:
    """The order of a stable sort by (time, id) with missing times last."""
    key = received.astype("int64")
    key[np.isnat(received)] = np.iinfo(np.int64).max
    order = stable_argsort(key)
    ordered = key[order]
    at = tied_positions(ordered)
    if len(at):
        # Equal times (rare, or every missing time): those runs are put in id order.
        times, rows = ordered[at].tolist(), order[at].tolist()
        ranked = sorted(range(len(at)), key=lambda j: (times[j], ids[rows[j]]))
        order[at] = order[at][ranked]
    return order


def warn(
    result: LoadResult,
    settings: Settings,
    on: date | None = None,
    since: date | None = None,
    links: Links = Links(),
    show_phones: bool = False,
    progress: Callable[[str], None] | None = None,
    earlier_days: int = 0,
) -> WarnReport:
    """Warnings (optionally only those ending on `on`, or since `since`) and escalations.

    With `on`, `earlier_days` also keeps aside (in `earlier`) those that ended in that many days before it."""
    with collector_paused():
        return _warn(result, settings, on, since, links, show_phones, progress, earlier_days)


def _warn(
    result: LoadResult,
    settings: Settings,
    on: date | None,
    since: date | None,
    links: Links,
    show_phones: bool,
    progress: Callable[[str], None] | None,
    earlier_days: int = 0,
) -> WarnReport:
    if progress:
        progress("归一点位、识别诉求人")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # One worker, in turn: prepare's hashing of the problems and the callers, the linking
        # of the persons (while this thread sorts the rules' rows), then the escalations and the
        # two-day windows (while this one assembles the warnings, in Python; those are mostly
        # Arrow's and numpy's work, outside the GIL).
        prepared = prepare(result, settings, links, pool=pool)
        if progress:
            progress("应用预警规则")
        mask = settings.privacy.mask_phones and not show_phones
        streets = prepared.street_names if prepared.several_streets else None
        escalating = pool.submit(escalations, prepared, settings.owners)
        found = find_warnings(
            prepared.tickets, settings.rules, mask_phones=mask, codes=prepared.codes, streets=streets, values=prepared.values,
            pool=pool,
        )  # fmt: skip
        esc, esc_notes = escalating.result()
    notes = result.notes() + list(prepared.notes)
    earlier: list[Warning] = []
    if on is not None:
        if earlier_days > 0:
            first = on - timedelta(days=earlier_days)
            earlier = [w for w in found if first <= w.end < on and (since is None or w.end >= since)]
        found = [w for w in found if w.end == on]
        notes.append(f"只列出截至 {on.isoformat()} 当天的预警。")
    if since is not None:
        found = [w for w in found if w.end >= since]
        notes.append(f"只列出 {since.isoformat()} 及以后结束的预警。")
    lookup = owner_lookup(settings.owners, prepared.several_streets)
    for w in found + earlier:
        w.owner = lookup(w.community)
    notes.extend(esc_notes)
    center_head = settings.owners.center_head
    if mask:
        _mask_names(found + earlier, esc)
        masked = text_masker()
        center_head = masked(center_head)
        # A file or sheet named after a caller (张三13812345678.xlsx) is named in the notes.
        notes = [masked(n) for n in notes]
    area = area_name(settings.report.street, prepared.several_streets, prepared.street_counts)
    if mask:
        area = text_masker()(area)
    return WarnReport(found, esc, notes, center_head, earlier, area)


def _mask_names(warnings: list[Warning], escalations: list[Escalation]) -> None:
    """Numbers typed into communities and units, or written beside a leader's name in gaopin.toml,
    masked as the points and titles are (each distinct text once)."""
    masked = text_masker()
    for w in warnings:
        w.community, w.owner = masked(w.community), masked(w.owner)
    for e in escalations:
        e.community, e.unit, e.owner = masked(e.community), masked(e.unit), masked(e.owner)
