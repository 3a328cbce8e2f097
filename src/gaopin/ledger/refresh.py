"""Bringing the ledger up to date with the store's tickets.

For each kind (caller, point, issue) and key:
- no entry yet: when the tickets cross the threshold, a new entry opens holding every
  ticket of the key from the first one on;
- an open entry: new tickets attach to it (never a second entry of that kind);
- a resolved or closed entry: later tickets are counted afresh; when they alone cross the
  threshold, the same entry reopens as a recurrence (复发), its earlier cycle kept.
Caller entries follow persons: when two persons with entries become one (new data or a
manual link), the oldest open entry absorbs the others (the oldest, when all have ended), and
keeps every ticket they held; an unlink splits them back and takes back what the merge copied.
A refresh at a day before the one the ledger was last brought up to is a look back: computed
for the view, never saved.
The ticket membership is recomputed from the cycles on every refresh and kept with the
entries' figures (derived data: `ledger_cache`), so a refresh is idempotent; state changes
(open, reopen, merge) are recorded once as events.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin import __version__
from gaopin.config import Settings
from gaopin.ledger.detect import first_crossings
from gaopin.io.bulk import collector_paused
from gaopin.io.canonical import arrow
from gaopin.ledger.model import (
    ACTIVE,
    CALLER,
    CLOSED,
    ISSUE,
    KEY_SEP,
    KINDS,
    MERGED,
    POINT,
    STAFF_LABELS,
    Cycle,
    Entry,
    IdAllocator,
    add_events,
    as_of,
    assign_fields,
    load_entries,
    rows,
    save_entries,
    set_as_of,
)
from gaopin.ledger.stats import Coded, EntryStats
from gaopin.rules.persons import Links
from gaopin.rules.prepare import DAY, PERSON, PHONE, POINT as POINT_COL, PROBLEM, prepare
from gaopin.rules.sorting import first_of, stable_argsort, stable_order
from gaopin.rules.streets import communities_of_streets, street_codes
from gaopin.store.store import Store

EPOCH = date(1970, 1, 1)
# What a refresh reads of the stored tickets (the store adds the fields [filters] name).
NEEDED = ("ticket_id", "received_at", "caller_name", "caller_phone", "street", "community", "address", "category")


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
    followed: list[str] = field(default_factory=list)  # entries that took their tickets' new key (`_follow_tickets`)
    # Staff fields an unlink left in place as it cannot tell whether a merge copied them: what to check.
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Every entry's figures over its tickets, for the views.
    stats: EntryStats | None = field(default=None, repr=False)
    cached: bool = False  # nothing had changed: the kept figures were used
    # A look back (`today` before the day the ledger was brought up to): computed, not saved.
    replay: bool = False
    # A look back while the store holds changes the ledger was not yet brought up to: the day it
    # was, and what changed since (`changes_since`).
    stale_since: date | None = None
    stale_because: list[str] = field(default_factory=list)
    # The entries as this refresh saved them (None when the kept result was used): a view
    # right after a refresh need not read them back.
    entries: dict[str, Entry] | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "created": self.created,
            "reopened": self.reopened,
            "merged": [{"absorbed": a, "into": b} for a, b in self.merged],
            "revived": self.revived,
            "followed": self.followed,
            "replay": self.replay,
            "stale_since": self.stale_since.isoformat() if self.stale_since else None,
            "stale_because": self.stale_because,
        }


@dataclass
class KeyTickets:
    """The usable tickets of one kind, sorted by (key, time): each key's tickets are one slice."""

    keys: pd.Index  # the distinct keys; a key's code is its position here
    starts: np.ndarray  # per code: first row of its slice
    ends: np.ndarray  # per code: one past its last row
    day: np.ndarray  # day numbers, sorted by (key, time)
    person: np.ndarray  # person codes (-1: no usable phone), same order
    persons: pd.Index  # person code → person id
    rows: np.ndarray  # row position in the prepared frame, same order

    def codes(self, keys: list[str]) -> np.ndarray:
        """The codes of `keys` (-1: a key without usable tickets), looked up all at once."""
        return self.keys.get_indexer(keys) if keys else np.zeros(0, dtype="int64")

    def slice(self, code: int) -> slice:
        return slice(int(self.starts[code]), int(self.ends[code]))

    def days(self, code: int) -> np.ndarray:
        return self.day[self.slice(code)]

    def person_codes(self, code: int) -> np.ndarray:
        return self.person[self.slice(code)]


@dataclass
class Columns:
    """The frame's keys as integer codes (-1: none), factorised once for all three kinds."""

    point: np.ndarray
    points: pd.Index
    person: np.ndarray
    persons: pd.Index
    issue: np.ndarray
    issues: pd.Index
    day: np.ndarray  # day numbers
    received: np.ndarray  # seconds
    dated: np.ndarray  # bool

    @classmethod
    def of(cls, frame: pd.DataFrame, codes: dict[str, np.ndarray] | None = None, values: dict[str, pa.Array] | None = None) -> "Columns":
        """`codes`: prepare's integer codes of the frame's keys, when it has them (no second
        hashing); `values`: the text of the codes of keys the frame has no column of
        (`Prepared.values` with `Prepared.tickets`)."""
        point, points = _factorized(frame, POINT_COL, codes, values)
        problem, problems = _factorized(frame, PROBLEM, codes, values)
        person, persons = _factorized(frame, PERSON, codes, values)
        # An issue is a (point, problem) pair: combined as integers, named only once per pair.
        pairs = np.where((point >= 0) & (problem >= 0), point.astype("int64") * max(len(problems), 1) + problem, -1)
        issue, issue_pairs = pd.factorize(pairs, use_na_sentinel=False)
        none = np.flatnonzero(issue_pairs < 0)  # the pair code of tickets without an issue, if any
        if len(none):
            issue = np.where(issue == none[0], -1, issue - (issue > none[0]))
        named = issue_pairs[issue_pairs >= 0]
        width = max(len(problems), 1)
        # Named by Arrow, not by a Python loop over the 100,000s of pairs.
        names = pc.binary_join_element_wise(points.take(pa.array(named // width)), problems.take(pa.array(named % width)), KEY_SEP)
        dated = frame[DAY].notna().to_numpy()
        return cls(
            point=point.astype("int64"),
            points=pd.Index(points.to_pylist(), dtype=object),
            person=person.astype("int64"),
            persons=pd.Index(persons.to_pylist(), dtype=object),
            issue=issue.astype("int64"),
            issues=pd.Index(names.to_pylist(), dtype=object),
            day=frame[DAY].to_numpy().astype("datetime64[D]").astype("int64"),
            received=frame["received_at"].to_numpy().astype("datetime64[s]").astype("int64"),
            dated=dated,
        )

    def kind(self, kind: str) -> tuple[np.ndarray, pd.Index]:
        return {CALLER: (self.person, self.persons), POINT: (self.point, self.points), ISSUE: (self.issue, self.issues)}[kind]


def _factorized(frame: pd.DataFrame, name: str, codes: dict[str, np.ndarray] | None, values: dict[str, pa.Array] | None = None) -> tuple[np.ndarray, pa.Array]:
    """(codes, values) of a key column: prepare's dense codes with each code's value taken
    from its first row (or from `values`), else pandas' factorisation."""
    given = (codes or {}).get(name)
    if given is None or len(given) != len(frame):
        found, uniques = pd.factorize(frame[name])
        return found, pa.array(list(uniques), pa.string())
    used = np.flatnonzero(given >= 0)
    present = np.zeros(int(given.max(initial=-1)) + 1, dtype=bool)
    present[given[used]] = True
    dense = given
    if not present.all():  # e.g. persons are coded by their smallest phone's code: renumber densely
        dense = np.where(given >= 0, (np.cumsum(present) - 1)[np.maximum(given, 0)], -1)
    if values is not None and name in values:
        return dense, values[name].slice(0, len(present)).filter(pa.array(present)).cast(pa.string())
    first = first_of(dense[used], used)  # each (dense) code's first row
    return dense, pc.take(arrow(frame[name]), pa.array(first)).combine_chunks().cast(pa.string())


def _key_tickets(cols: Columns, kind: str) -> KeyTickets:
    key_codes, uniques = cols.kind(kind)
    pos = np.flatnonzero((key_codes >= 0) & cols.dated)
    # Codes of the usable tickets only, renumbered densely in the order of the old codes (keys
    # with no dated ticket drop out): counted, not sorted, as the codes are dense already.
    counts = np.bincount(key_codes[pos], minlength=len(uniques))
    used = np.flatnonzero(counts)
    codes = (np.cumsum(counts > 0) - 1)[key_codes[pos]]
    order = stable_order(codes, cols.received[pos])
    n = len(used)
    # Each key's slice of the rows sorted by (key, time).
    ends = np.cumsum(counts[used])
    starts = ends - counts[used]
    return KeyTickets(pd.Index(uniques[used] if n else [], dtype=object), starts, ends, cols.day[pos][order], cols.person[pos][order], cols.persons, pos[order])


def _crossing(days: np.ndarray, persons: np.ndarray, th: Thresholds) -> int | None:
    """The first day one key's tickets (`days` sorted, `persons` their codes) cross `th`."""
    if len(days) < th.min_tickets:
        return None
    # Even one person is a condition: tickets without a usable phone count as no one.
    found = first_crossings(np.zeros(len(days), dtype="int64"), days, th.min_tickets, th.days, persons, th.min_persons)
    return int(found.iloc[0]) if len(found) else None


def _key_tickets_and_candidates(cols: Columns, kind: str, th: Thresholds) -> tuple[KeyTickets, dict[int, int]]:
    kt = _key_tickets(cols, kind)
    return kt, _candidates(kt, th)


def _candidates(kt: KeyTickets, th: Thresholds) -> dict[int, int]:
    """Codes of the keys that cross the threshold, with the first day they do (one vectorised
    pass over all keys, persons included)."""
    if not len(kt.day):
        return {}
    sizes = kt.ends - kt.starts
    # A key with fewer tickets in all than the threshold never crosses it: most callers and
    # points have a ticket or two, and are left out before the windows are counted.
    big = sizes >= th.min_tickets
    codes = np.repeat(np.arange(len(kt.keys))[big], sizes[big])
    rows = np.repeat(big, sizes)
    found = first_crossings(codes, kt.day[rows], th.min_tickets, th.days, kt.person[rows], th.min_persons)
    return dict(zip(found.index.tolist(), found.to_numpy().tolist()))


def _advance(
    entry: Entry | None,
    days: np.ndarray,
    persons: Callable[[], np.ndarray],
    th: Thresholds,
    kind: str,
    key: str,
    first: int | None,
    absorbed: np.ndarray | None = None,
) -> tuple[Entry | None, str | None]:
    """(entry, what happened): a new entry, a reopened one, or nothing.

    `first`: the day the key first crosses (`_candidates`; None: never); `persons` gives the
    tickets' person codes, asked for only when a recurrence is looked for; `absorbed`: the
    tickets held by the ended cycles of entries merged into this one (counted already, so not
    counted afresh after its end)."""
    if entry is None:
        if first is None:
            return None, None
        opened = from_day(first)
        return Entry(id="", kind=kind, key=key, opened_on=opened, cycles=[Cycle(1, opened)], dirty=True), "created"
    last = entry.last
    if entry.state != ACTIVE or last.ended_on is None:
        return entry, None
    later = days > day_number(last.ended_on)
    if absorbed is not None:
        later &= ~absorbed
    crossed = _crossing(days[later], persons()[later], th)
    if crossed is None:
        return entry, None
    entry.cycles.append(Cycle(last.cycle + 1, from_day(crossed), starts_after=last.ended_on))
    entry.recurrence += 1
    entry.dirty = True
    return entry, "reopened"


KIND_NOUNS = {POINT: "点位", ISSUE: "问题"}


def _shown_key(key: str) -> str:
    return key.replace(KEY_SEP, "，")


class _KeptTickets:
    """Each entry's tickets as the last refresh kept them (its figures), read when first asked."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._of: Callable[[str], list[str]] | None = None

    def __call__(self, entry_id: str) -> list[str]:
        if self._of is None:
            row = self._conn.execute("SELECT stats FROM ledger_cache WHERE id = 1").fetchone()
            try:
                self._of = EntryStats.from_bytes(bytes(row[0])).ids if row is not None and row[0] is not None else (lambda _: [])
            except Exception:  # noqa: BLE001 - unreadable kept figures: no entry follows its tickets
                self._of = lambda _: []
        return self._of(entry_id)


def _follow_tickets(by_key: dict[str, Entry], kt: KeyTickets, frame: pd.DataFrame, kept_tickets: Callable[[str], list[str]], today: date, events: list) -> list[str]:
    """Point and issue entries whose key no longer holds a ticket, while most of the tickets they
    held at the last refresh now sit under one key without an entry, take that key: the entry,
    its leader, measures, history and 销号 follow its tickets. Keys change when what makes them
    does: one street's store receiving several streets' tickets (points named with their street),
    `[rules] category_level`, `[point] prefixes`, an upgrade that reads addresses better. Without
    this, the entry showed 无工单 and a new entry without a leader opened over the same tickets
    (a 销号 problem came back as a new one). Where two entries' tickets went to one key, the one
    that held more of them takes it (equal: the smaller id); the other keeps its key."""
    held = kt.codes(list(by_key))
    lost = [e for e, code in zip(by_key.values(), held.tolist()) if code < 0]
    if not lost or not len(kt.keys):
        return []
    taken = set(held[held >= 0].tolist())
    key_of_row = np.full(len(frame), -1, dtype=np.int64)
    key_of_row[kt.rows] = np.repeat(np.arange(len(kt.keys)), kt.ends - kt.starts)
    row_of = pd.Index(frame["ticket_id"].astype(object))
    claims: dict[int, list[tuple[int, str, Entry]]] = {}
    for e in lost:
        ids = kept_tickets(e.id)
        if not ids:
            continue
        rows = row_of.get_indexer(ids)
        codes = key_of_row[rows[rows >= 0]]
        codes = codes[codes >= 0]
        if not len(codes):
            continue
        values, counts = np.unique(codes, return_counts=True)
        best = int(np.argmax(counts))
        if 2 * int(counts[best]) > len(ids) and int(values[best]) not in taken:
            claims.setdefault(int(values[best]), []).append((-int(counts[best]), e.id, e))
    followed = []
    for code, claimants in sorted(claims.items()):
        _, _, e = min(claimants, key=lambda c: c[:2])
        followed.append(e.id)
        old, new = e.key, str(kt.keys[code])
        del by_key[old]
        by_key[new] = e
        e.key, e.dirty = new, True
        events.append((e.id, today, "rekeyed", f"{KIND_NOUNS[e.kind]}的写法变了：原为“{_shown_key(old)}”，现为“{_shown_key(new)}”，条目随工单转到新的写法"))
    return followed


def _absorbed_tickets(absorbed: list[Entry], days: np.ndarray) -> np.ndarray:
    """The tickets within an ended cycle of any of the `absorbed` entries.

    A merge must lose no ticket: when every entry of a person had ended (化解/销号) before they
    were found to be one, the keeper's cycles end at its own end, and the tickets the others'
    cycles held after that stay with the keeper through them. (An absorbed entry's cycle that
    was open at the merge needs no such help: its keeper was open then too.)"""
    out = np.zeros(len(days), dtype=bool)
    for m in absorbed:
        for c in m.cycles:
            if c.ended_on is not None:
                lo = -(1 << 40) if c.starts_after is None else day_number(c.starts_after) + 1
                out |= (days >= lo) & (days <= day_number(c.ended_on))
    return out


def _one_open_cycle(entry: Entry) -> bool:
    """The usual case: one open cycle, which holds every ticket of the key (`_cycle_of` is
    needed only for the others)."""
    return len(entry.cycles) == 1 and entry.cycles[0].starts_after is None and entry.cycles[0].ended_on is None


def _cycle_of(entry: Entry, days: np.ndarray) -> np.ndarray:
    """The cycle each ticket belongs to, 0 for none (after an end, before a recurrence)."""
    out = np.zeros(len(days), dtype="int64")
    for c in entry.cycles:
        lo = -(1 << 40) if c.starts_after is None else day_number(c.starts_after) + 1
        hi = (1 << 40) if c.ended_on is None else day_number(c.ended_on)
        out[(days >= lo) & (days <= hi) & (out == 0)] = c.cycle
    return out


class PersonPhones:
    """Which person each usable phone belongs to, and each person's phones.

    Built on the integer codes of `Columns` (persons are factorised once per refresh). The
    phone → person table is a plain dict over the phones asked about (the caller entries'
    numbers), made in one vectorised lookup: a dict of every phone of a district year, or
    a pandas lookup per phone, costs far more."""

    def __init__(self, cols: "Columns", codes: np.ndarray, phones: pa.Array):
        """`codes`, `phones`: prepare's codes of the usable phones and the phones in code order
        (`Prepared.codes[PHONE]`, `Prepared.phones`), row for row with the frame of `cols`: a
        ticket has a person exactly when it has a usable phone, so no million numbers are
        hashed again here."""
        known = cols.person >= 0
        person_codes = cols.person[known]
        self._persons = cols.persons
        phone_codes = codes[known]
        self._phones = pd.Index(phones.to_pylist(), dtype=object)
        # Every usable phone has exactly one person: the first one seen will do.
        self._person_of_phone = first_of(phone_codes, person_codes, size=len(self._phones))
        # Each person's phones, ordered by person, then phone code: one sort of the phones, not of every ticket.
        self._pair_phone = stable_argsort(self._person_of_phone)
        self._pair_person = self._person_of_phone[self._pair_phone]
        self._by_phone: dict[str, str | None] = {}
        self._person_code: dict[str, int] | None = None

    def look_up(self, phones: Iterable[str]) -> None:
        """Make `phones` (those not looked up yet) answerable by the dict-like calls below."""
        wanted = [p for p in dict.fromkeys(phones) if p not in self._by_phone]
        if not wanted:
            return
        at = self._phones.get_indexer(wanted)
        found = at >= 0
        persons = self._persons[self._person_of_phone[at[found]]]
        self._by_phone.update(zip(np.asarray(wanted, dtype=object)[found].tolist(), persons.tolist()))
        self._by_phone.update((p, None) for p, f in zip(wanted, found.tolist()) if not f)

    def phones_of(self, person: str) -> list[str]:
        if self._person_code is None:
            self._person_code = dict(zip(self._persons.tolist(), range(len(self._persons))))
        return self.phones_of_codes(np.array([self._person_code.get(person, -1)], dtype="int64"))[0]

    def phones_of_codes(self, codes: np.ndarray) -> list[list[str]]:
        """The numbers, sorted, of each person given by code (`Columns.person`; -1: none, []):
        one lookup for the thousands of new caller entries of a first refresh."""
        lo = np.searchsorted(self._pair_person, codes, side="left")
        hi = np.where(codes >= 0, np.searchsorted(self._pair_person, codes, side="right"), lo)
        sizes = hi - lo
        ends = np.cumsum(sizes)
        at = np.repeat(lo - (ends - sizes), sizes) + np.arange(int(ends[-1]) if len(ends) else 0)
        phones = self._phones[self._pair_phone[at]].tolist()
        bounds = [0, *ends.tolist()]
        return [sorted(phones[a:b]) for a, b in zip(bounds, bounds[1:])]

    def _person(self, phone: str) -> str | None:
        if phone not in self._by_phone:
            self.look_up([phone])
        return self._by_phone[phone]

    def __contains__(self, phone: str) -> bool:
        return self._person(phone) is not None

    def __getitem__(self, phone: str) -> str:
        person = self._person(phone)
        if person is None:
            raise KeyError(phone)
        return person

    def get(self, phone: str, default: str | None = None) -> str | None:
        person = self._person(phone)
        return default if person is None else person


STAFF_FIELDS = tuple(STAFF_LABELS)


def _carried(entry_id: str) -> str:
    """The mark of a note a merge carried over from `entry_id` (an unlink takes these back)."""
    return f"（来自 {entry_id}）"


def _absorbed(absorbed_into: dict[str, list[Entry]], entry_id: str) -> list[Entry]:
    """The entries merged into `entry_id`, directly or through others."""
    out, todo = [], [entry_id]
    while todo:
        for m in absorbed_into.get(todo.pop(), []):
            out.append(m)
            todo.append(m.id)
    return out


def _known_persons(links: Links, entries: dict[str, Entry]) -> Links:
    """`links` plus the numbers the ledger now holds as one person's: a look back counts each
    person's earlier tickets as the ledger knows the person now, instead of splitting an entry
    that later tickets joined."""
    pairs = [(min(a, b), max(a, b)) for e in entries.values() if e.kind == CALLER and e.state == ACTIVE for phones in [sorted(e.phones)] for a, b in zip(phones, phones[1:])]
    return dataclasses.replace(links, pairs=tuple(sorted(set(links.pairs) | set(pairs))))


def _field_value(value) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _merged_text(absorbed_id: str) -> str:
    """The keeper's timeline text of a merge (the same in every version)."""
    return f"同一诉求人，合并了 {absorbed_id}"


def _legacy_merge(conn, keeper: Entry, m: Entry, entries: dict[str, Entry]) -> tuple[dict, list[str]]:
    """What merging `m` into `keeper` copied, read back from the store for a merge made before
    merges kept their record (`merge_copied`, schema 7): (the record as far as the store proves
    it, the fields it cannot tell about that hold `m`'s value in the keeper).

    Before then a keeper's staff fields changed only by `assign` (its event names the fields it
    set) and by merges, each copying what the keeper had empty from the entry it absorbed, whose
    own fields cannot change while it is absorbed; no unlink took a copied field back, and each
    recurrence added a cycle and a `reopened` event. Replaying the keeper's timeline up to the
    merge thus tells which fields were empty then (so copied from `m`) and how many cycles it had,
    unless an assign reads two ways (`assign_fields`) or an earlier absorbed entry is no
    longer absorbed."""
    rows = conn.execute(
        "SELECT kind, text FROM entry_events WHERE entry_id = ? AND kind IN ('assign', 'merged', 'reopened') ORDER BY seq", (keeper.id,)
    ).fetchall()
    held = [n for n in STAFF_FIELDS if getattr(m, n) not in (None, "")]
    marks = [i for i, (kind, text) in enumerate(rows) if kind == "merged" and text == _merged_text(m.id)]
    # Per field before the merge: False empty, True filled, None unknown.
    filled: dict[str, bool | None] = dict.fromkeys(STAFF_FIELDS, None if not marks else False)
    before = rows[: marks[-1]] if marks else []
    for i, (kind, text) in enumerate(before):
        if kind == "assign":
            readings = assign_fields(text)
            for n in STAFF_FIELDS:
                after = {filled[n] if n not in r else bool(r[n].strip()) for r in readings}
                filled[n] = after.pop() if len(after) == 1 else None
        elif kind == "merged" and text.startswith(_merged_text("")):
            other = entries.get(text[len(_merged_text("")) :])
            # Its fields are as they were at this merge only while it is still absorbed by it.
            still = other is not None and other.state == MERGED and other.merged_into == keeper.id and (kind, text) not in rows[i + 1 :]
            for n in STAFF_FIELDS:
                if filled[n] is False:
                    filled[n] = (getattr(other, n) not in (None, "")) if still else None
    record = {
        "fields": {n: _field_value(getattr(m, n)) for n in held if filled[n] is False},
        "cycles": 1 + sum(kind == "reopened" for kind, _ in before) if marks else None,
    }
    unsure = [n for n in held if filled[n] is None and _field_value(getattr(keeper, n)) == _field_value(getattr(m, n))]
    return record, unsure


def _undo_merge(keeper: Entry, m: Entry, today: date, events: list, withdrawn: list) -> None:
    """Take back what merging `m` into `keeper` changed in the keeper: the staff fields it
    copied (unless staff have changed them since), its notes carried over, and a recurrence
    counted while they were one (counted again from the keeper's own tickets right after)."""
    record = m.merge_copied or {}
    for name, value in record.get("fields", {}).items():
        if _field_value(getattr(keeper, name)) == value:
            setattr(keeper, name, None)
    cycles = record.get("cycles")
    if cycles is not None and len(keeper.cycles) > cycles and keeper.last.ended_on is None:
        keeper.cycles.pop()
        events.append((keeper.id, today, "split", f"号码解除关联：撤销合并期间计入的复发（第 {keeper.recurrence} 次），按拆分后的工单重新计数"))
        keeper.recurrence -= 1
    m.merge_copied = None
    withdrawn.append((keeper.id, m.id))


def _callers(
    index: PersonPhones, entries: dict[str, Entry], summary: RefreshSummary, today: date, conn, events: list, withdrawn: list
) -> dict[str, Entry]:
    """Match caller entries to today's persons: split what an unlink separated, merge what became one.

    `withdrawn` collects (keeper, absorbed) pairs whose carried-over notes an unlink takes back."""
    comp_of = index  # phone → person, used like a dict
    callers = [e for e in entries.values() if e.kind == CALLER]
    index.look_up(p for e in callers for p in e.phones)
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
        events.append((e.id, today, "split", "号码解除关联，台账拆分"))
        for m in callers:
            if m.state == MERGED and m.merged_into == e.id and home(m) not in (None, keep):
                m.state, m.merged_into = m.state_before_merge or ACTIVE, None
                m.phones = {p: o for p, o in m.phones.items() if o}
                if m.merge_copied is None:  # merged by a version before schema 7
                    m.merge_copied, unsure = _legacy_merge(conn, e, m, entries)
                    if unsure:
                        fields = "、".join(STAFF_LABELS[n] for n in unsure)
                        text = f"{e.id} 的{fields}可能是旧版本合并 {m.id} 时复制来的，无法确定，拆分后保留未动：请核对，需要时用 gaopin ledger assign {e.id} 修改"
                        summary.checks.append(text)
                        events.append((e.id, today, "split", f"号码解除关联：{text}"))
                _undo_merge(e, m, today, events, withdrawn)
                m.dirty = True
                summary.revived.append(m.id)
                events.append((m.id, today, "revived", f"号码解除关联，从 {e.id} 恢复为独立台账"))
                active.append(m)
    # Merges: one person, one caller entry. An open case is never absorbed into an ended one
    # (its leader and deadline would vanish under a 销号): the oldest open entry absorbs the
    # others; when all have ended, the oldest does.
    by_comp: dict[str, list[Entry]] = {}
    for e in active:
        if e.state != ACTIVE:
            continue
        root = home(e)
        if root is not None:
            by_comp.setdefault(root, []).append(e)
    out: dict[str, Entry] = {}
    for root, group in by_comp.items():
        group.sort(key=lambda e: (not e.is_open, e.opened_on, e.id))
        keeper = group[0]
        for other in group[1:]:
            other.state_before_merge = other.state
            other.state, other.merged_into = MERGED, keeper.id
            copied = {}
            for name in STAFF_FIELDS:
                if getattr(keeper, name) in (None, "") and getattr(other, name) not in (None, ""):
                    setattr(keeper, name, getattr(other, name))
                    copied[name] = _field_value(getattr(other, name))
            other.merge_copied = {"fields": copied, "cycles": len(keeper.cycles)}
            for p in other.phones:
                keeper.phones.setdefault(p, False)
            other.dirty = keeper.dirty = True
            summary.merged.append((other.id, keeper.id))
            events.append((keeper.id, today, "merged", _merged_text(other.id)))
            events.append((other.id, today, "merged", f"同一诉求人，已合并到 {keeper.id}"))
            for on, text in conn.execute("SELECT on_date, text FROM entry_events WHERE entry_id = ? AND kind = 'note' ORDER BY seq", (other.id,)).fetchall():
                events.append((keeper.id, date.fromisoformat(on), "note", f"{_carried(other.id)}{text}"))
        for p in index.phones_of(root):
            if p not in keeper.phones:
                keeper.phones[p] = False
                keeper.dirty = True
        out[root] = keeper
    return out


# Bump when the refresh or the kept figures change meaning or layout (3: a point drops the
# zeros in front of its building number, and a community standing in for it is compacted;
# 4: an ended caller entry also holds the tickets of the ended entries merged into it;
# 5: a caller is named by a name that says who, before placeholders such as 匿名;
# 6: a street written 北京市丰台区新村街道 is taken off the front of addresses too;
# 7: building numbers written out up to 9999, 一百零一号楼, are read as 101号楼; an issue's
# min_persons = 1 needs a caller with a usable number; 8: several streets' points are named
# with their street, 新村街道·电力小区1号楼, and a person is linked within one street's point;
# the punctuation after a street in an address goes with it, 新村街道，电力小区1号楼).
CACHE_VERSION = 8


def data_inputs(conn, settings: Settings, today: date) -> dict:
    """What a refresh reads besides the ledger itself: imports (every import adds a row), the
    tickets received up to `today`, links, and the settings of points, problems, filters and
    thresholds. Taken before the tickets are read: a change after that is seen next time."""
    cutoff = (today + timedelta(days=1)).isoformat()
    return {
        "version": [__version__, CACHE_VERSION],
        "settings": [repr(settings.ledger), repr(settings.point), repr(settings.rules), repr(settings.filters), repr(settings.area)],
        "imports": _rows(conn, "SELECT count(*), coalesce(max(id), 0) FROM imports"),
        "tickets": _rows(conn, "SELECT count(*) FROM tickets"),
        # The tickets received by today, as all of them less those after today and those without a
        # time: each count is a short walk of an index (4–7 ms on 1M tickets, against 16–24 ms).
        "until": _rows(
            conn,
            "SELECT (SELECT count(*) FROM tickets) - (SELECT count(*) FROM tickets WHERE received_at >= ?1) - (SELECT count(*) FROM tickets WHERE received_at IS NULL)",
            (cutoff,),
        ),
        "links": _rows(conn, "SELECT phone_a, phone_b FROM links ORDER BY phone_a, phone_b"),
        "unlinks": _rows(conn, "SELECT phone FROM unlinks ORDER BY phone"),
    }


# Staff actions that change neither cycles nor tickets: every view reads the staff fields and
# the timeline afresh, so the kept result stays valid after them (a leader's `assign` followed
# by `ledger show` must not cost a refresh). A merge copies notes and empty staff fields, but
# merges only happen when tickets or links change, which invalidates the kept result anyway.
NEUTRAL_EVENTS = ("assign", "note")


def _ledger_inputs(conn) -> dict:
    """The ledger's own state: staff actions that end or close a cycle each add an event."""
    neutral = ", ".join(f"'{kind}'" for kind in NEUTRAL_EVENTS)
    return {
        "events": _rows(conn, f"SELECT count(*), coalesce(max(seq), 0) FROM entry_events WHERE kind NOT IN ({neutral})"),
        "entries": _rows(conn, "SELECT count(*) FROM entries"),
    }


def _rows(conn, sql: str, params: tuple = ()) -> list:
    return [list(r) for r in rows(conn, sql, params)]


def _inputs(data: dict, ledger: dict) -> str:
    return json.dumps({**data, **ledger}, ensure_ascii=False, sort_keys=True)


def refresh_inputs(conn, settings: Settings, today: date) -> str:
    """Everything a refresh depends on, cheaply: when this is unchanged, so is its result."""
    return _inputs(data_inputs(conn, settings, today), _ledger_inputs(conn))


# What changed, by the inputs it shows in: gaopin upgraded (the ledger's computation may differ),
# tickets imported, numbers linked or unlinked, settings, entries resolved or closed.
UPGRADE, IMPORTS, LINKS, SETTINGS, ENDINGS, UNKNOWN = "upgrade", "imports", "links", "settings", "endings", "unknown"
CHANGES = {"version": UPGRADE, "imports": IMPORTS, "tickets": IMPORTS, "until": IMPORTS, "links": LINKS, "unlinks": LINKS, "settings": SETTINGS, "events": ENDINGS, "entries": ENDINGS}


def changes_since(store: Store, settings: Settings, today: date) -> list[str]:
    """What changed since the last refresh (to `today`) by the inputs it kept ([]: nothing;
    UNKNOWN when none were kept, as after a purge). An upgrade may also change how the settings
    are written (a new setting), so with an upgrade they are not told apart."""
    row = store.conn.execute("SELECT inputs FROM ledger_cache WHERE id = 1").fetchone()
    now = refresh_inputs(store.conn, settings, today)
    if row is not None and row[0] == now:
        return []
    try:
        kept = json.loads(row[0]) if row is not None else None
    except ValueError:
        kept = None
    if not isinstance(kept, dict):
        return [UNKNOWN]
    current = json.loads(now)
    found = list(dict.fromkeys(what for name, what in CHANGES.items() if kept.get(name) != current[name]))
    if UPGRADE in found and SETTINGS in found:
        found.remove(SETTINGS)
    return found or [UNKNOWN]


def is_current(store: Store, settings: Settings, today: date) -> bool:
    """Would a refresh now find nothing to do (and need no tickets read)?"""
    return not changes_since(store, settings, today)


def kept(store: Store, settings: Settings, today: date) -> RefreshSummary | None:
    """The kept result of the last refresh, when nothing it depends on has changed since."""
    row = store.conn.execute("SELECT inputs, notes, stats FROM ledger_cache WHERE id = 1").fetchone()
    if row is None or row[0] != refresh_inputs(store.conn, settings, today):
        return None
    try:
        stats = EntryStats.from_bytes(bytes(row[2]))
        notes = list(json.loads(row[1]))
    except Exception:  # unreadable figures are only a cache: recompute them
        return None
    return RefreshSummary(notes=notes, stats=stats, cached=True)


def refresh(store: Store, settings: Settings, today: date, result=None, read_after: dict | None = None) -> RefreshSummary:
    """Bring every kind of entry up to date with the tickets received up to `today`.

    When nothing has changed since the last refresh, its kept result is returned at once.
    `result` may pass tickets already loaded from the store (the report does), to save a read;
    `read_after` is then `data_inputs` as taken before that read (without it, nothing is kept).
    """
    # Entries, cycles and figures: many small objects without cycles (about 4% of a first refresh).
    with collector_paused():
        return _refresh(store, settings, today, result, read_after)


def _refresh(store: Store, settings: Settings, today: date, result, read_after: dict | None) -> RefreshSummary:
    brought_up_to = as_of(store.conn)
    replay = brought_up_to is not None and today < brought_up_to
    summary = kept(store, settings, today)
    if summary is not None:
        summary.replay = replay
        return summary
    data = data_inputs(store.conn, settings, today) if result is None else read_after
    if result is None:
        result = store.tickets(columns=NEEDED, until=today, extra_headers=settings.filters.exclude)
    else:
        result = result.received_by(today)
    links = store.links()
    if replay:
        links = _known_persons(links, load_entries(store.conn))
    prepared = prepare(result, settings, links)
    frame = prepared.tickets
    summary = RefreshSummary(notes=list(prepared.notes), replay=replay)
    # A look back counts from the entries as last saved: what changed since (an import, a link
    # or unlink, a setting) is not in them yet, and may show as an entry without tickets.
    if replay:
        summary.stale_because = changes_since(store, settings, brought_up_to)
        summary.stale_since = brought_up_to if summary.stale_because else None
    cols = Columns.of(frame, prepared.codes, prepared.values)
    kinds = [kind for kind in KINDS if kind != CALLER or prepared.has("caller_phone")]
    # The write lock is taken first (waiting for another run's import or refresh, as writes do):
    # a transaction that reads the entries first could not wait to write them. A look back
    # writes nothing and takes no lock.
    with store.bulk_transaction(immediate=not replay) as conn, ThreadPoolExecutor(max_workers=2) as pool:
        # Each kind's tickets by key and first crossings are sorts and searches in numpy, which
        # leave the GIL: they run side by side, and beside reading the entries.
        # The callers' numbers first: the caller kind, handled first, waits for them.
        phones = pool.submit(PersonPhones, cols, prepared.codes[PHONE], prepared.phones) if CALLER in kinds else None
        found = {kind: pool.submit(_key_tickets_and_candidates, cols, kind, thresholds(settings, kind)) for kind in kinds}
        streets = prepared.street_names if prepared.several_streets else None
        texts = pool.submit(_texts_coded, frame, streets)  # before any figures below, which wait for it
        entries = load_entries(conn)
        kept_tickets = _KeptTickets(conn)  # read only if an entry lost its key
        events: list[tuple[str, date, str, str]] = []
        withdrawn: list[tuple[str, str]] = []
        members: list[tuple[Entry, np.ndarray]] = []  # entry, its tickets' rows in `frame`
        created: list[Entry] = []
        new_callers: list[tuple[Entry, int]] = []  # with the person's code
        figures: list[Future] = []  # each kind's, computed while the next kind is handled
        absorbed_into: dict[str, list[Entry]] = {}  # caller entries by the entry they were merged into
        for kind in kinds:
            start = len(members)
            th = thresholds(settings, kind)
            kt, first = found[kind].result()
            if kind == CALLER:
                index = phones.result()
                by_key = _callers(index, entries, summary, today, conn, events, withdrawn)
                for e in entries.values():
                    if e.kind == CALLER and e.state == MERGED and e.merged_into:
                        absorbed_into.setdefault(e.merged_into, []).append(e)
            else:
                by_key = {e.key: e for e in entries.values() if e.kind == kind and e.state == ACTIVE}
                summary.followed += _follow_tickets(by_key, kt, frame, kept_tickets, today, events)
            held = kt.codes(list(by_key))
            codes = sorted(set(first) | set(held[held >= 0].tolist()))
            for code, key in sorted(zip(codes, kt.keys[codes].tolist()), key=lambda ck: ck[1]):
                days = kt.days(code)
                entry = by_key.get(key)
                # Only an ended caller entry that absorbed others needs their cycles (an open one holds every ticket).
                gone = _absorbed(absorbed_into, entry.id) if kind == CALLER and entry is not None and entry.last.ended_on is not None else []
                absorbed = _absorbed_tickets(gone, days) if gone else None
                entry, what = _advance(entry, days, lambda: kt.person_codes(code), th, kind, key, first.get(code), absorbed)
                if entry is None:
                    continue
                if what == "created":
                    created.append(entry)
                    if kind == CALLER:  # a caller's key is a person: its tickets' person code
                        new_callers.append((entry, int(kt.person[kt.starts[code]])))
                elif what == "reopened":
                    summary.reopened.append(entry.id)
                    ended = entry.cycles[-2]
                    how = "销号" if ended.closed_on is not None or ended.end_kind == CLOSED else "化解"
                    events.append((entry.id, entry.last.opened_on, "reopened", f"{how}后再次达到标准，复发（第 {entry.recurrence} 次）"))
                held_rows = kt.rows[kt.slice(code)]
                if absorbed is None and _one_open_cycle(entry):
                    members.append((entry, held_rows))
                    continue
                # Tickets after an end and before a recurrence belong to no cycle.
                in_cycle = _cycle_of(entry, days) > 0
                if absorbed is not None:
                    in_cycle |= absorbed
                members.append((entry, held_rows[in_cycle]))
            figures.append(pool.submit(_stats, frame, [rows for _, rows in members[start:]], cols.person, texts, kind == CALLER))
        if new_callers:
            for (e, _), numbers in zip(new_callers, index.phones_of_codes(np.array([c for _, c in new_callers], dtype="int64"))):
                e.phones = {p: True for p in numbers}
        # Ids in a stable order: by opening day, kind, key.
        order = {k: i for i, k in enumerate(KINDS)}
        ids = IdAllocator(conn)
        for e in sorted(created, key=lambda e: (e.opened_on, order[e.kind], e.key, sorted(e.phones))):
            e.id = ids.next(e.opened_on.year)
            entries[e.id] = e
            summary.created.append(e.id)
        summary.stats = EntryStats.concat([f.result() for f in figures], [e.id for e, _ in members])
        summary.entries = entries
        if replay:
            return summary  # a look back shows the past, and leaves the ledger as it is
        # The figures kept with the ledger (mostly Arrow's compression, outside the GIL) are made
        # while the entries are written.
        kept_stats = pool.submit(summary.stats.to_bytes) if data is not None else None
        save_entries(conn, [e for e in entries.values() if e.dirty], new={e.id for e in created})
        opened = [(e.id, e.opened_on, "opened", "达到高频标准，列入台账") for e in created]
        conn.executemany(
            "DELETE FROM entry_events WHERE entry_id = ? AND kind = 'note' AND substr(text, 1, ?) = ?",
            [(keeper, len(_carried(m)), _carried(m)) for keeper, m in withdrawn],
        )
        add_events(conn, opened + events)
        set_as_of(conn, today)
        # Kept with the data as read and the ledger as it stands after this refresh's own writes.
        conn.execute("DELETE FROM ledger_cache")
        if data is not None:
            conn.execute(
                "INSERT INTO ledger_cache (id, inputs, notes, stats) VALUES (1, ?, ?, ?)",
                (_inputs(data, _ledger_inputs(conn)), json.dumps(summary.notes, ensure_ascii=False), kept_stats.result()),
            )
    return summary


def _stats(frame: pd.DataFrame, members: list[np.ndarray], person: np.ndarray, texts: Future, names: bool) -> EntryStats:
    """The figures of one kind's entries, given as their tickets' rows (a ticket belongs to an
    entry at most once: each entry is reached under one key per refresh); the entries are
    named later (`EntryStats.concat`). `person`: the persons' codes (`Columns`); `texts`: the
    communities and names as codes (`_texts_coded`); `names`: whether these entries show a
    name (only callers do: the others' names are not counted)."""
    community, name = texts.result()
    sizes = [len(rows) for rows in members]
    rows = np.concatenate(members) if members else np.zeros(0, dtype="int64")
    name = name.take(rows) if names else Coded(np.full(len(rows), -1, dtype="int64"), name.labels)
    return EntryStats.build(
        [""] * len(members),
        np.repeat(np.arange(len(members)), sizes),
        pc.take(arrow(frame["ticket_id"]), pa.array(rows, pa.int64())),
        frame["received_at"].to_numpy()[rows],
        Coded(person[rows]),
        community.take(rows),
        name,
    )


def _texts_coded(frame: pd.DataFrame, streets: dict[str, str] | None = None) -> tuple[Coded, Coded]:
    """Communities and names as integer codes: memberships then take integers, not strings (a
    ticket is in up to three entries, and the figures compare values only). With several
    `streets` (their names as shown), each community is named with its street (`gaopin.rules.streets`)."""
    community = Coded.of(arrow(frame["community"]))
    if streets is not None:
        codes, labels = communities_of_streets(street_codes(frame["street"], streets), (community.codes, [str(v) for v in community.labels.to_pylist()]))
        community = Coded(codes, pa.array(labels, pa.string()))
    return community, Coded.of(arrow(frame["caller_name"]))
