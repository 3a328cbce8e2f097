"""The exactly-once record of deliveries, over the store's `sends` table.

Every attempt to send something on a channel is one row per item (kind, key):

    (none) ──begin──▶ pending ──finish──▶ sent      message id recorded
                         │      ├────────▶ failed    clean failure: retried on the next run
                         │      └────────▶ unknown   may have arrived: not resent without --force
                         └── run killed ──▶ (still pending) ──next run──▶ unknown

The state of an item on a channel is the status of its latest row. `pending` rows are
written and committed before the message leaves, so a run killed while sending leaves
evidence; the next run (holding the delivery lock, so no other run is sending) turns
them into `unknown`. Nothing here sends anything.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from gaopin.config import TIMEZONE
from gaopin.store.db import transaction

# kinds
REPORT, WARNING, ESCALATION = "report", "warning", "escalation"
# channels
EMAIL, NOTIFY = "email", "notify"
# statuses
PENDING, SENT, FAILED, UNKNOWN = "pending", "sent", "failed", "unknown"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INTERRUPTED = "上次运行在发送过程中中断，无法确定是否已送达"


@dataclass(frozen=True)
class Item:
    """One thing that is sent at most once per channel: a month's report, a warning, an escalation."""

    kind: str
    key: str


@dataclass(frozen=True)
class SendRecord:
    id: int
    kind: str
    channel: str
    key: str
    status: str
    started_at: str
    finished_at: str | None
    message_id: str | None
    detail: str | None

    @property
    def item(self) -> Item:
        return Item(self.kind, self.key)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "key": self.key,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "message_id": self.message_id,
            "detail": self.detail,
        }


@dataclass
class Plan:
    """What a run does on one channel: send these, skip those already sent or of unknown outcome."""

    send: list[Item] = field(default_factory=list)
    already_sent: list[SendRecord] = field(default_factory=list)
    unknown: list[SendRecord] = field(default_factory=list)
    retried: list[SendRecord] = field(default_factory=list)  # failed before, sent again now


def stamp(now: datetime) -> str:
    """Beijing wall-clock text, whatever the machine's TZ (naive datetimes are taken as Beijing)."""
    if now.tzinfo is not None:
        now = now.astimezone(TIMEZONE)
    return now.strftime(TIME_FORMAT)


_COLUMNS = "id, kind, channel, key, status, started_at, finished_at, message_id, detail"


class SendLog:
    """The `sends` table of one open store connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def latest(self, channel: str) -> dict[Item, SendRecord]:
        """The latest record of every item ever handled on `channel`."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE id IN (SELECT max(id) FROM sends WHERE channel = ? GROUP BY kind, key)",
            (channel,),
        ).fetchall()
        records = [SendRecord(*r) for r in rows]
        return {r.item: r for r in records}

    def plan(self, channel: str, items: list[Item], force: bool = False) -> Plan:
        """Items never sent, or whose last attempt failed cleanly, are sent; `force` sends all."""
        latest = self.latest(channel)
        plan = Plan()
        for item in dict.fromkeys(items):  # each item once, in order
            record = latest.get(item)
            if record is None or force:
                plan.send.append(item)
            elif record.status == FAILED:
                plan.send.append(item)
                plan.retried.append(record)
            elif record.status == SENT:
                plan.already_sent.append(record)
            else:  # unknown, or pending left by a killed run
                plan.unknown.append(record)
        return plan

    def settle_interrupted(self, now: datetime) -> list[SendRecord]:
        """`pending` rows of runs that were killed become `unknown`; call only under the delivery lock."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM sends WHERE status = ? ORDER BY id", (PENDING,)).fetchall()
        if rows:
            with transaction(self.conn):
                self.conn.execute(
                    "UPDATE sends SET status = ?, finished_at = ?, detail = ? WHERE status = ?",
                    (UNKNOWN, stamp(now), INTERRUPTED, PENDING),
                )
        return [SendRecord(*r) for r in rows]

    def begin(self, channel: str, items: list[Item], now: datetime) -> list[int]:
        """Record (and commit) that these items are about to be sent; the ids of the new rows."""
        ids = []
        with transaction(self.conn):
            for item in items:
                cur = self.conn.execute(
                    "INSERT INTO sends (kind, channel, key, status, started_at) VALUES (?, ?, ?, ?, ?)",
                    (item.kind, channel, item.key, PENDING, stamp(now)),
                )
                ids.append(cur.lastrowid)
        return ids

    def finish(self, ids: list[int], status: str, now: datetime, message_id: str | None = None, detail: str | None = None) -> None:
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE sends SET status = ?, finished_at = ?, message_id = ?, detail = ? WHERE id = ?",
                [(status, stamp(now), message_id, detail, i) for i in ids],
            )

    def records(self, limit: int = 100) -> list[SendRecord]:
        """The most recent rows, newest first."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM sends ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [SendRecord(*r) for r in rows]
