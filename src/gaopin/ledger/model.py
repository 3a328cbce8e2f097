"""Ledger entries as stored: their cycles, phones, events and staff fields."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

CALLER, POINT, ISSUE = "caller", "point", "issue"
KINDS = (CALLER, POINT, ISSUE)
KIND_LABELS = {CALLER: "高频诉求人", POINT: "高频点位", ISSUE: "高频问题"}
ACTIVE, MERGED = "active", "merged"
RESOLVED, CLOSED = "resolved", "closed"
# Status labels as staff read them.
OPEN_LABEL, DUE_SOON_LABEL, OVERDUE_LABEL = "在办", "临期", "超期"
RESOLVED_LABEL, CLOSED_LABEL, MERGED_LABEL = "已化解", "销号", "已合并"
# An open entry none of whose tickets are left (a corrected export moved them to another point,
# `purge` deleted them): not a case in progress, and never overdue; kept, as ids and staff
# notes are, and open again as soon as tickets come back.
EMPTY_LABEL = "无工单"
STATUS_COLORS = {
    OPEN_LABEL: None,
    RESOLVED_LABEL: "#C6EFCE",  # green: done
    DUE_SOON_LABEL: "#FFEB9C",  # yellow: deadline near
    OVERDUE_LABEL: "#FFC7CE",  # red: overdue
    CLOSED_LABEL: "#D9D9D9",  # grey: closed
    MERGED_LABEL: "#D9D9D9",
    EMPTY_LABEL: "#D9D9D9",
}
KEY_SEP = "\x1f"
# The staff fields as `ledger assign` names them, in the order its timeline event lists them.
STAFF_LABELS = {"owner": "包案领导", "unit": "责任单位", "deadline": "办理时限", "measures": "化解措施"}


@dataclass
class Cycle:
    cycle: int
    opened_on: date
    starts_after: date | None = None  # tickets after this day belong to the cycle (None: from the first)
    ended_on: date | None = None  # resolved or closed: later tickets are counted afresh
    end_kind: str | None = None
    end_reason: str | None = None
    closed_on: date | None = None  # 销号
    close_reason: str | None = None


@dataclass
class Entry:
    id: str
    kind: str
    key: str  # point, point + KEY_SEP + problem, or "" for a caller (matched by phones)
    opened_on: date
    state: str = ACTIVE
    merged_into: str | None = None
    state_before_merge: str | None = None
    recurrence: int = 0
    owner: str | None = None
    unit: str | None = None
    deadline: date | None = None
    measures: str | None = None
    # An absorbed entry: what its merge copied into the keeper ({"fields": {name: value},
    # "cycles": the keeper's number of cycles then}), so that an unlink undoes exactly that.
    merge_copied: dict | None = None
    cycles: list[Cycle] = field(default_factory=list)
    phones: dict[str, bool] = field(default_factory=dict)  # phone → one of the entry's own numbers
    dirty: bool = False

    @property
    def last(self) -> Cycle:
        return self.cycles[-1]

    @property
    def is_open(self) -> bool:
        return self.state == ACTIVE and self.last.ended_on is None

    def status(self, today: date, due_soon_days: int, tickets: int | None = None) -> str:
        """The status label; `tickets`: how many tickets the entry holds (0: EMPTY_LABEL if open)."""
        if self.state == MERGED:
            return MERGED_LABEL
        last = self.last
        if last.closed_on is not None or last.end_kind == CLOSED:
            return CLOSED_LABEL
        if last.ended_on is not None:
            return RESOLVED_LABEL
        if tickets == 0:
            return EMPTY_LABEL
        if self.deadline is not None:
            if today > self.deadline:
                return OVERDUE_LABEL
            if (self.deadline - today).days <= due_soon_days:
                return DUE_SOON_LABEL
        return OPEN_LABEL

    def open_at(self, day: date) -> bool:
        """Was the entry open (opened and not yet ended) at the end of `day`?"""
        if self.state == MERGED:
            return False
        return any(c.opened_on <= day and (c.ended_on is None or c.ended_on > day) for c in self.cycles)


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _s(value: date | None) -> str | None:
    return value.isoformat() if value else None


def rows(conn, sql: str, params: tuple = ()):
    """Rows of a query (tuples); through the store's bulk writer as Arrow columns (its
    row-by-row fetch costs far more than the sqlite3 module's)."""
    if hasattr(conn, "arrow"):
        table = conn.arrow(sql, params)
        return zip(*(table.column(i).to_pylist() for i in range(table.num_columns)))
    return conn.execute(sql, params)


def load_entries(conn: sqlite3.Connection) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for row in rows(
        conn, "SELECT id, kind, key, opened_on, state, merged_into, state_before_merge, recurrence, owner, unit, deadline, measures, merge_copied FROM entries ORDER BY id"
    ):
        eid, kind, key, opened, state, merged_into, before, recurrence, owner, unit, deadline, measures, copied = row
        entries[eid] = Entry(eid, kind, key, _d(opened), state, merged_into, before, recurrence, owner, unit, _d(deadline), measures, json.loads(copied) if copied else None)
    for row in rows(
        conn, "SELECT entry_id, cycle, starts_after, opened_on, ended_on, end_kind, end_reason, closed_on, close_reason FROM entry_cycles ORDER BY entry_id, cycle"
    ):
        eid, cycle, after, opened, ended, kind, reason, closed, close_reason = row
        entries[eid].cycles.append(Cycle(cycle, _d(opened), _d(after), _d(ended), kind, reason, _d(closed), close_reason))
    for eid, phone, own in rows(conn, "SELECT entry_id, phone, own FROM entry_phones ORDER BY entry_id, phone"):
        entries[eid].phones[phone] = bool(own)
    return entries


_UPSERT = (
    "INSERT INTO entries (id, kind, key, opened_on, state, merged_into, state_before_merge, recurrence, owner, unit, deadline, measures, merge_copied) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, key = excluded.key, "
    "opened_on = excluded.opened_on, state = excluded.state, merged_into = excluded.merged_into, "
    "state_before_merge = excluded.state_before_merge, recurrence = excluded.recurrence, owner = excluded.owner, "
    "unit = excluded.unit, deadline = excluded.deadline, measures = excluded.measures, merge_copied = excluded.merge_copied"
)


def _entry_row(e: Entry) -> tuple:
    copied = json.dumps(e.merge_copied, ensure_ascii=False, sort_keys=True) if e.merge_copied else None
    return (e.id, e.kind, e.key, _s(e.opened_on), e.state, e.merged_into, e.state_before_merge, e.recurrence, e.owner, e.unit, _s(e.deadline), e.measures, copied)


def save_entries(conn, entries: list[Entry], new: frozenset[str] | set[str] = frozenset()) -> None:
    """Write entries with their cycles and phones, in a few batched statements
    (inside the caller's transaction; `conn` is a sqlite3 connection or the store's bulk writer).

    Entries whose ids are in `new` are not in the store yet: through the bulk writer they go in
    as whole Arrow tables (a first refresh opens thousands)."""
    if not entries:
        return
    fresh = [e for e in entries if e.id in new] if hasattr(conn, "ingest") else []
    if fresh:
        _ingest_entries(conn, fresh)
        entries = [e for e in entries if e.id not in new]
        if not entries:
            return
    conn.executemany(_UPSERT, [_entry_row(e) for e in entries])
    ids = [(e.id,) for e in entries]
    conn.executemany("DELETE FROM entry_cycles WHERE entry_id = ?", ids)
    conn.executemany(
        "INSERT INTO entry_cycles (entry_id, cycle, starts_after, opened_on, ended_on, end_kind, end_reason, closed_on, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_cycle_row(e, c) for e in entries for c in e.cycles],
    )
    conn.executemany("DELETE FROM entry_phones WHERE entry_id = ?", ids)
    conn.executemany(
        "INSERT INTO entry_phones (entry_id, phone, own) VALUES (?, ?, ?)",
        [(e.id, p, int(o)) for e in entries for p, o in sorted(e.phones.items())],
    )


ENTRY_COLUMNS = ("id", "kind", "key", "opened_on", "state", "merged_into", "state_before_merge", "recurrence", "owner", "unit", "deadline", "measures", "merge_copied")
CYCLE_COLUMNS = ("entry_id", "cycle", "starts_after", "opened_on", "ended_on", "end_kind", "end_reason", "closed_on", "close_reason")


def _cycle_row(e: Entry, c: Cycle) -> tuple:
    return (e.id, c.cycle, _s(c.starts_after), _s(c.opened_on), _s(c.ended_on), c.end_kind, c.end_reason, _s(c.closed_on), c.close_reason)


def _table(columns: tuple[str, ...], rows: list[tuple], integers: tuple[str, ...]) -> pa.Table:
    values = list(zip(*rows)) if rows else [()] * len(columns)
    return pa.table({name: pa.array(list(v), pa.int64() if name in integers else pa.string()) for name, v in zip(columns, values)})


def _ingest_entries(conn, entries: list[Entry]) -> None:
    rows = [_entry_row(e) for e in entries]
    conn.ingest("entries", _table(ENTRY_COLUMNS, rows, ("recurrence",)))
    conn.ingest("entry_cycles", _table(CYCLE_COLUMNS, [_cycle_row(e, c) for e in entries for c in e.cycles], ("cycle",)))
    phones = [(e.id, p, int(o)) for e in entries for p, o in sorted(e.phones.items())]
    conn.ingest("entry_phones", _table(("entry_id", "phone", "own"), phones, ("own",)))


def save_entry(conn, e: Entry) -> None:
    save_entries(conn, [e])


def add_event(conn, entry_id: str, on: date, kind: str, text: str) -> None:
    add_events(conn, [(entry_id, on, kind, text)])


def add_events(conn, items: list[tuple[str, date, str, str]]) -> None:
    """Timeline events, in the order given (that order breaks ties between events of a day)."""
    if items:
        conn.executemany(
            "INSERT INTO entry_events (entry_id, on_date, kind, text) VALUES (?, ?, ?, ?)",
            [(eid, on.isoformat(), kind, text) for eid, on, kind, text in items],
        )


def assign_text(changes: dict[str, str]) -> str:
    """The timeline text of an assign: 包案领导：张三；办理时限：2024-09-10 (fields in STAFF_LABELS order)."""
    return "；".join(f"{label}：{changes[name]}" for name, label in STAFF_LABELS.items() if name in changes)


def assign_fields(text: str) -> list[dict[str, str]]:
    """What an assign's timeline text (`assign_text`) set, {field: value as typed}: read as
    `assign` writes it, a field at each "；" followed by a later field's label and "：". A value
    typed with such a label in it reads as two fields; when that leaves two readings (责任单位：a；
    化解措施：b；化解措施：c), both are returned, and none when the text is no assign's."""
    readings = _assign_readings(text)
    most = max(map(len, readings), default=0)
    return [r for r in readings if len(r) == most]


def _assign_readings(text: str, first: int = 0) -> list[dict[str, str]]:
    """Every way `text` reads as an assign's fields, leaving out what `assign` cannot have
    written (an owner left empty, a deadline not a date)."""
    out = []
    for at, (name, label) in enumerate(STAFF_LABELS.items()):
        if at < first or not text.startswith(f"{label}："):
            continue
        value = text[len(label) + 1 :]
        cuts = [i for i, ch in enumerate(value) if ch == "；"]
        out += [{name: value}] + [{name: value[:cut], **rest} for cut in cuts for rest in _assign_readings(value[cut + 1 :], at + 1)]
    return [r for r in out if r.get("owner", "x").strip() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.get("deadline", "2000-01-01"))]


def events(conn: sqlite3.Connection, entry_id: str) -> list[dict]:
    rows = conn.execute("SELECT on_date, kind, text FROM entry_events WHERE entry_id = ? ORDER BY on_date, seq", (entry_id,)).fetchall()
    return [{"date": d, "kind": k, "text": t} for d, k, t in rows]


class IdAllocator:
    """Entry ids GP-YYYY-NNNN: per year, one more than the largest in the store or handed out."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.last: dict[int, int] = {}

    def next(self, year: int) -> str:
        prefix = f"GP-{year}-"
        if year not in self.last:
            rows = self.conn.execute("SELECT id FROM entries WHERE id LIKE ?", (prefix + "%",)).fetchall()
            self.last[year] = max((int(r[0][len(prefix) :]) for r in rows), default=0)
        self.last[year] += 1
        return f"{prefix}{self.last[year]:04d}"


def as_of(conn) -> date | None:
    """The day the ledger was last brought up to (None: never)."""
    row = conn.execute("SELECT as_of FROM ledger_state WHERE id = 1").fetchone()
    return _d(row[0]) if row else None


def set_as_of(conn, day: date) -> None:
    conn.execute("INSERT OR REPLACE INTO ledger_state (id, as_of) VALUES (1, ?)", (day.isoformat(),))
