"""Bringing the ledger up to date with the store's tickets.

For each kind (caller, point, issue) and key:
- no entry yet: when the tickets cross the threshold, a new entry opens holding every
  ticket of the key from the first one on;
- an open entry: new tickets attach to it (never a second entry of that kind);
- a resolved or closed entry: later tickets are counted afresh; when they alone cross the
  threshold, the same entry reopens as a recurrence (复发), its earlier cycle kept.
Caller entries follow persons: when two persons with entries become one (new data or a
manual link), the older entry absorbs the other; an unlink splits them back.
The ticket membership is recomputed from the cycles on every refresh, so a refresh is
idempotent; state changes (open, reopen, merge) are recorded once as events.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from gaopin.config import Settings
from gaopin.ledger.detect import first_crossing_with_persons, first_crossings
from gaopin.ledger.model import (
    ACTIVE,
    CALLER,
    ISSUE,
    KEY_SEP,
    KINDS,
    MERGED,
    POINT,
    Cycle,
    Entry,
    add_event,
    load_entries,
    next_id,
    save_entry,
)
from gaopin.rules.prepare import DAY, PERSON, POINT as POINT_COL, PROBLEM, prepare
from gaopin.store.db import transaction
from gaopin.store.store import Store

EPOCH = date(1970, 1, 1)
NEEDED = ("ticket_id", "received_at", "ticket_type", "caller_name", "caller_phone", "street", "community", "address", "category", "title")


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


@dataclass
class Thresholds:
    min_tickets: int
    days: int
    min_persons: int = 0


def thresholds(settings: Settings, kind: str) -> Thresholds:
    cfg = getattr(settings.ledger, kind)
    return Thresholds(cfg.min_tickets, cfg.days, getattr(cfg, "min_persons", 0))


@dataclass
class RefreshSummary:
    created: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)  # (absorbed, into)
    revived: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "created": self.created,
            "reopened": self.reopened,
            "merged": [{"absorbed": a, "into": b} for a, b in self.merged],
            "revived": self.revived,
        }


@dataclass
class KeyTickets:
    """The tickets of one kind, grouped by key, sorted by time (columns as numpy arrays once)."""

    frame: pd.DataFrame  # ticket_id, day (int), person, key
    positions: dict[str, np.ndarray]  # key → row positions in frame
    day_values: np.ndarray = field(default_factory=lambda: np.array([], dtype="int64"))
    person_values: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    id_values: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    def days(self, key: str) -> np.ndarray:
        return self.day_values[self.positions[key]]

    def persons(self, key: str) -> list:
        return self.person_values[self.positions[key]].tolist()

    def ids(self, key: str) -> np.ndarray:
        return self.id_values[self.positions[key]]


def _key_tickets(frame: pd.DataFrame, keys: pd.Series) -> KeyTickets:
    usable = keys.notna() & frame[DAY].notna()
    part = pd.DataFrame(
        {
            "ticket_id": frame["ticket_id"][usable].to_numpy(),
            "day": frame[DAY][usable].to_numpy().astype("datetime64[D]").astype("int64"),
            "received_at": frame["received_at"][usable].to_numpy(),
            "person": frame[PERSON][usable].to_numpy(),
            "key": keys[usable].to_numpy(),
        }
    ).sort_values(["key", "received_at", "ticket_id"], kind="stable").reset_index(drop=True)
    positions = part.groupby("key", sort=False).indices if len(part) else {}
    persons = part["person"].astype(object).where(part["person"].notna(), None).to_numpy(dtype=object)
    return KeyTickets(part, positions, part["day"].to_numpy(), persons, part["ticket_id"].to_numpy(dtype=object))


def _crossing(days: np.ndarray, persons: list, th: Thresholds) -> int | None:
    if len(days) < th.min_tickets:
        return None
    if th.min_persons > 1:
        return first_crossing_with_persons(days, persons, th.min_tickets, th.min_persons, th.days)
    found = first_crossings(np.zeros(len(days), dtype="int64"), days, th.min_tickets, th.days)
    return int(found.iloc[0]) if len(found) else None


def _candidate_keys(kt: KeyTickets, th: Thresholds) -> list[str]:
    """Keys whose ticket counts alone cross the threshold somewhere (a cheap vectorised filter)."""
    if kt.frame.empty:
        return []
    codes, uniques = pd.factorize(kt.frame["key"])
    found = first_crossings(codes, kt.frame["day"].to_numpy(), th.min_tickets, th.days)
    return [uniques[c] for c in found.index]


def _advance(entry: Entry | None, days: np.ndarray, persons: list, th: Thresholds, kind: str, key: str) -> tuple[Entry | None, str | None]:
    """(entry, what happened): a new entry, a reopened one, or nothing."""
    if entry is None:
        crossed = _crossing(days, persons, th)
        if crossed is None:
            return None, None
        opened = from_day(crossed)
        return Entry(id="", kind=kind, key=key, opened_on=opened, cycles=[Cycle(1, opened)], dirty=True), "created"
    last = entry.last
    if entry.state != ACTIVE or last.ended_on is None:
        return entry, None
    later = days > day_number(last.ended_on)
    crossed = _crossing(days[later], [p for p, keep in zip(persons, later) if keep], th)
    if crossed is None:
        return entry, None
    entry.cycles.append(Cycle(last.cycle + 1, from_day(crossed), starts_after=last.ended_on))
    entry.recurrence += 1
    entry.dirty = True
    return entry, "reopened"


def _cycle_of(entry: Entry, days: np.ndarray) -> np.ndarray:
    """The cycle each ticket belongs to, 0 for none (after an end, before a recurrence)."""
    out = np.zeros(len(days), dtype="int64")
    for c in entry.cycles:
        lo = -(1 << 40) if c.starts_after is None else day_number(c.starts_after) + 1
        hi = (1 << 40) if c.ended_on is None else day_number(c.ended_on)
        out[(days >= lo) & (days <= hi) & (out == 0)] = c.cycle
    return out


def _person_phones(frame: pd.DataFrame) -> tuple[dict[str, str], dict[str, list[str]]]:
    """phone → person, and person → its phones (sorted)."""
    pairs = frame.loc[frame[PERSON].notna(), [PERSON, "caller_phone"]].drop_duplicates()
    comp_of = dict(zip(pairs["caller_phone"], pairs[PERSON]))
    comp_phones: dict[str, list[str]] = {}
    for phone, root in sorted(comp_of.items()):
        comp_phones.setdefault(root, []).append(phone)
    return comp_of, comp_phones


def _callers(
    comp_of: dict[str, str], comp_phones: dict[str, list[str]], entries: dict[str, Entry], summary: RefreshSummary, today: date, conn
) -> dict[str, Entry]:
    """Match caller entries to today's persons: split what an unlink separated, merge what became one."""
    callers = [e for e in entries.values() if e.kind == CALLER]
    active = [e for e in callers if e.state == ACTIVE]

    def home(e: Entry) -> str | None:
        own = [comp_of[p] for p, o in e.phones.items() if o and p in comp_of]
        if not own:
            own = [comp_of[p] for p in e.phones if p in comp_of]
        if not own:
            return None
        counts = Counter(own)
        return min(counts, key=lambda r: (-counts[r], r))

    # Splits: an entry spanning several persons keeps the one holding most of its own numbers.
    for e in active:
        keep = home(e)
        touched = {comp_of[p] for p in e.phones if p in comp_of}
        if keep is None or len(touched) <= 1:
            continue
        e.phones = {p: o for p, o in e.phones.items() if comp_of.get(p, keep) == keep}
        e.dirty = True
        add_event(conn, e.id, today, "split", "号码解除关联，台账拆分")
        for m in callers:
            if m.state == MERGED and m.merged_into == e.id and home(m) not in (None, keep):
                m.state, m.merged_into = m.state_before_merge or ACTIVE, None
                m.phones = {p: o for p, o in m.phones.items() if o}
                m.dirty = True
                summary.revived.append(m.id)
                add_event(conn, m.id, today, "revived", f"号码解除关联，从 {e.id} 恢复为独立台账")
                active.append(m)
    # Merges: one person, one caller entry — the oldest absorbs the others.
    by_comp: dict[str, list[Entry]] = {}
    for e in active:
        if e.state != ACTIVE:
            continue
        root = home(e)
        if root is not None:
            by_comp.setdefault(root, []).append(e)
    out: dict[str, Entry] = {}
    for root, group in by_comp.items():
        group.sort(key=lambda e: (e.opened_on, e.id))
        keeper = group[0]
        for other in group[1:]:
            other.state_before_merge = other.state
            other.state, other.merged_into = MERGED, keeper.id
            for name in ("owner", "unit", "deadline", "measures"):
                if getattr(keeper, name) in (None, "") and getattr(other, name) not in (None, ""):
                    setattr(keeper, name, getattr(other, name))
            for p in other.phones:
                keeper.phones.setdefault(p, False)
            other.dirty = keeper.dirty = True
            summary.merged.append((other.id, keeper.id))
            add_event(conn, keeper.id, today, "merged", f"同一诉求人，合并了 {other.id}")
            add_event(conn, other.id, today, "merged", f"同一诉求人，已合并到 {keeper.id}")
            for note in conn.execute("SELECT on_date, text FROM entry_events WHERE entry_id = ? AND kind = 'note' ORDER BY seq", (other.id,)).fetchall():
                conn.execute(
                    "INSERT INTO entry_events (entry_id, on_date, kind, text) VALUES (?, ?, 'note', ?)",
                    (keeper.id, note[0], f"（来自 {other.id}）{note[1]}"),
                )
        for p in comp_phones.get(root, []):
            if p not in keeper.phones:
                keeper.phones[p] = False
                keeper.dirty = True
        out[root] = keeper
    return out


def refresh(store: Store, settings: Settings, today: date) -> RefreshSummary:
    """Bring every kind of entry up to date with the tickets received up to `today`."""
    result = store.tickets(until=today)
    prepared = prepare(result, settings, store.links())
    frame = prepared.frame
    summary = RefreshSummary(notes=list(prepared.notes))
    conn = store.conn
    with transaction(conn):
        entries = load_entries(conn)
        memberships: list[tuple[Entry, str, int, str | None]] = []
        created: list[Entry] = []
        key_series = {
            CALLER: frame[PERSON],
            POINT: frame[POINT_COL],
            ISSUE: (frame[POINT_COL] + KEY_SEP + frame[PROBLEM]).where(frame[POINT_COL].notna()),
        }
        for kind in KINDS:
            if kind == CALLER and not prepared.has("caller_phone"):
                continue
            th = thresholds(settings, kind)
            kt = _key_tickets(frame, key_series[kind])
            if kind == CALLER:
                comp_of, comp_phones = _person_phones(frame)
                by_key = _callers(comp_of, comp_phones, entries, summary, today, conn)
            else:
                by_key = {e.key: e for e in entries.values() if e.kind == kind and e.state == ACTIVE}
            keys = set(_candidate_keys(kt, th)) | {k for k in by_key if k in kt.positions}
            for key in sorted(keys):
                days = kt.days(key)
                entry, what = _advance(by_key.get(key), days, kt.persons(key), th, kind, key)
                if entry is None:
                    continue
                if what == "created":
                    if kind == CALLER:
                        entry.phones = {p: True for p in comp_phones.get(key, [])}
                    created.append(entry)
                elif what == "reopened":
                    summary.reopened.append(entry.id)
                    add_event(conn, entry.id, entry.last.opened_on, "reopened", f"销号后再次达到标准，复发（第 {entry.recurrence} 次）")
                cycles = _cycle_of(entry, days)
                ids = kt.ids(key)
                memberships.extend((entry, tid, int(c), p) for tid, c, p in zip(ids, cycles, kt.persons(key)) if c)
        # Ids in a stable order: by opening day, kind, key.
        order = {k: i for i, k in enumerate(KINDS)}
        taken: set[str] = set()
        for e in sorted(created, key=lambda e: (e.opened_on, order[e.kind], e.key, sorted(e.phones))):
            e.id = next_id(conn, e.opened_on.year, taken)
            taken.add(e.id)
            entries[e.id] = e
            summary.created.append(e.id)
        for e in entries.values():
            if e.dirty:
                save_entry(conn, e)
        for e in created:
            add_event(conn, e.id, e.opened_on, "opened", "达到高频标准，列入台账")
        conn.execute("DELETE FROM entry_tickets")
        conn.executemany(
            "INSERT OR IGNORE INTO entry_tickets (entry_id, ticket_id, cycle, person) VALUES (?, ?, ?, ?)",
            [(e.id, tid, c, p) for e, tid, c, p in memberships],
        )
    return summary
