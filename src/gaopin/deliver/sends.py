"""The exactly-once record of deliveries, over the store's `sends` table.

Every attempt to send something on a channel is one row per item (kind, key):

    (none) ──begin──▶ pending ──finish──▶ sent      message id recorded
                         │      ├────────▶ failed    clean failure: resent by the next run (message kept)
                         │      └────────▶ unknown   may have arrived: not resent without --force
                         └── run killed ──▶ (still pending) ──next run──▶ unknown

The state of an item on a channel is the status of its latest row. `pending` rows are
written and committed before the message leaves, so a run killed while sending leaves
evidence; the next run (holding the delivery lock, so no other run is sending) turns
them into `unknown`. Nothing here sends anything.

The whole message (`send_messages`) is kept with its rows while they are pending, failed
or unknown, and dropped once they are sent: a failed message is resent as it was by a
later run, whatever that run is about (`stale_failed`). A person settles an unknown
outcome with `mark` (`gaopin sends --confirm/--resend`).

A failed row without a kept message (recorded before messages were kept, or an unknown
outcome of then marked not received) cannot be resent as it was: only a run that sends the
same item again settles it (`not_retried`; `resend_commands` says which run).

A report's identity is its period: label and dates (`report_key`, "2024-08|2024-08-01|2024-08-31"),
so that the cycle "2024-08" of `[period] start_day = 19` (07-19 to 08-18) and the calendar month
"2024-08" are two reports. A record of an older version holds the label alone ("2024-08"): it
stands for the calendar month of that label (what start_day 1, the default, makes), and a send
of that report is recorded under the old key, so that the two keys never disagree.

A warning's identity is its rule, point, problem and first day (`Warning.id`); later
tickets can move its first day earlier. A warning whose days hold the first day of one
already handled on the channel is that warning grown: it is planned, and recorded, under
the key it was first handled with.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from gaopin.config import TIMEZONE
from gaopin.errors import UsageError
from gaopin.rules.warnings import id_parts
from gaopin.store.db import transaction

# kinds
REPORT, WARNING, ESCALATION = "report", "warning", "escalation"
# channels
EMAIL, NOTIFY = "email", "notify"
# statuses
PENDING, SENT, FAILED, UNKNOWN = "pending", "sent", "failed", "unknown"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INTERRUPTED = "上次运行在发送过程中中断，无法确定是否已送达"
CONFIRMED = "人工确认已收到"
NOT_RECEIVED = "人工确认没有收到，下次运行时重发"
DISMISSED = "人工确认不再需要重发"  # an earlier failure whose message was not kept
NOT_RECEIVED_NOT_KEPT = "人工确认没有收到"  # no message kept: `gaopin sends` says which run sends it again
# Which record stands for a grown warning when several could: one already sent wins.
_PRECEDENCE = {SENT: 0, UNKNOWN: 1, PENDING: 1, FAILED: 2}


@dataclass(frozen=True)
class Item:
    """One thing that is sent at most once per channel: a month's report, a warning, an escalation."""

    kind: str
    key: str
    # A warning's first and last day (ISO): not part of its identity, used to recognise it
    # when later tickets moved its first day.
    span: tuple[str, str] | None = field(default=None, compare=False)


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
    message: int | None = None  # the kept message (send_messages.id) while not sent

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
    keys: dict[Item, str] = field(default_factory=dict)  # a grown warning: the key it was first handled with

    def recorded(self) -> list[Item]:
        """The items to send, as they are recorded."""
        return [Item(i.kind, self.keys.get(i, i.key), i.span) for i in self.send]


@dataclass(frozen=True)
class Stored:
    """A kept message whose latest attempt failed, and the items it carries."""

    id: int
    channel: str
    what: str
    body: bytes
    items: list[Item]


def report_key(label: str, start: str, end: str) -> str:
    """A report's key: its period's label and first and last days (ISO)."""
    return f"{label}|{start}|{end}"


def report_label(key: str) -> str:
    """The period label of a report's key (also of a label-only key of an older version)."""
    return key.split("|", 1)[0]


def shown_key(kind: str, key: str) -> str:
    """A key for people: a report's as "2024-08 月度报告 2024-08-01 至 2024-08-31"."""
    if kind == REPORT and key.count("|") == 2:
        label, start, end = key.split("|")
        return f"{label} 月度报告 {start} 至 {end}"
    return key


def _legacy_report_key(key: str) -> str | None:
    """The label-only key an older version recorded this report under: only for a calendar
    month (older records do not say which dates they were of; start_day 1 is the default)."""
    if key.count("|") != 2:
        return None
    label, start, end = key.split("|")
    try:
        year, month = (int(x) for x in label.split("-"))
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    except ValueError:
        return None
    return label if (start, end) == (first.isoformat(), last.isoformat()) else None


def sent_together(channel: str, message: int | None, started_at: str) -> tuple:
    """What the rows of one message share: its kept message, or for rows without one (sent
    before messages were kept) the channel and the moment they were begun."""
    return (channel, "message", message) if message is not None else (channel, "started", started_at)


def resend_commands(items: Iterable[tuple[str, str, str]]) -> list[str]:
    """The commands that send these (kind, channel, key) again, from the store's data as it is
    now: a month's report by its own run; warnings and escalations by one `warn` run (every
    warn run holds all escalations; `--since` the earliest warning's first day holds the
    warnings). Each with the channels they failed on."""
    reports: dict[str, set[str]] = {}
    warned: set[str] = set()
    since: list[str] = []
    for kind, channel, key in items:
        if kind == REPORT:
            reports.setdefault(report_label(key), set()).add(channel)
            continue
        warned.add(channel)
        if kind == WARNING:
            since.append(id_parts(key)[1])
    out = []
    for label, channels in sorted(reports.items()):
        year, month = label.split("-")
        out.append(f"gaopin report --month {int(month)} --year {year} {_flags(channels)}")
    if warned:
        out.append(f"gaopin warn {f'--since {min(since)}' if since else '--date today'} {_flags(warned)}")
    return out


def _flags(channels: set[str]) -> str:
    return " ".join(f"--{c}" for c in (EMAIL, NOTIFY) if c in channels)


def stamp(now: datetime) -> str:
    """Beijing wall-clock text, whatever the machine's TZ (naive datetimes are taken as Beijing)."""
    if now.tzinfo is not None:
        now = now.astimezone(TIMEZONE)
    return now.strftime(TIME_FORMAT)


_COLUMNS = "id, kind, channel, key, status, started_at, finished_at, message_id, detail, message"
_LATEST = "SELECT max(id) FROM sends GROUP BY kind, channel, key"


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

    def _matches(self, item: Item, latest: dict[Item, SendRecord], series: dict[str, list[SendRecord]]) -> list[SendRecord]:
        """The records that stand for `item`: its own; for a calendar month's report the
        label-only record of an older version; for a warning those of the same rule, point and
        problem whose first day lies within its days."""
        found = [latest[item]] if item in latest else []
        legacy = _legacy_report_key(item.key) if item.kind == REPORT else None
        if legacy is not None and Item(REPORT, legacy) in latest:
            found.append(latest[Item(REPORT, legacy)])
        if item.kind == WARNING and item.span is not None:
            first, last = item.span
            found += [r for r in series.get(id_parts(item.key)[0], []) if r.key != item.key and first <= id_parts(r.key)[1] <= last]
        return found

    def _series(self, latest: dict[Item, SendRecord]) -> dict[str, list[SendRecord]]:
        series: dict[str, list[SendRecord]] = {}
        for r in latest.values():
            if r.kind == WARNING:
                series.setdefault(id_parts(r.key)[0], []).append(r)
        return series

    def sent_on_other_days(self, channel: str, items: list[Item], day: date) -> frozenset[Item]:
        """The items whose latest record on `channel` is a send that went out, begun on a day
        (Beijing time) other than `day`: what `--force` for `day` leaves alone (it resends that
        day's content, and what is of unknown outcome)."""
        latest = self.latest(channel)
        on = day.isoformat()
        return frozenset(i for i in items if i in latest and latest[i].status == SENT and latest[i].started_at[:10] != on)

    def covered(self, channel: str, items: list[Item]) -> set[Item]:
        """The recorded items that these items stand for (themselves, or warnings they grew from)."""
        latest = self.latest(channel)
        series = self._series(latest)
        return {r.item for item in items for r in self._matches(item, latest, series)}

    def plan(
        self, channel: str, items: list[Item], force: bool = False, exclude: set[Item] | frozenset[Item] = frozenset(), unforced: frozenset[Item] = frozenset()
    ) -> Plan:
        """Items never sent, or whose last attempt failed cleanly, are sent; `force` sends all
        but those in `unforced` (the catch-up days' warnings, the escalations of other days:
        --force resends the day's content).

        Items whose record is in `exclude` (already attempted in this run) are left out."""
        latest = self.latest(channel)
        series = self._series(latest)
        plan = Plan()
        for item in dict.fromkeys(items):  # each item once, in order
            matches = self._matches(item, latest, series)
            record = min(matches, key=lambda r: _PRECEDENCE.get(r.status, 1)) if matches else None
            if record is not None and record.item in exclude:
                continue
            if record is not None and record.key != item.key:
                plan.keys[item] = record.key
            if record is None or (force and item not in unforced):
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

    def begin(
        self, channel: str, items: list[Item], now: datetime, message: tuple[str, bytes] | int | None = None
    ) -> list[int]:
        """Record (and commit) that these items are about to be sent; the ids of the new rows.

        `message` is the whole message, (what, body), kept until it is sent; or the id of a kept
        message being resent."""
        ids = []
        with transaction(self.conn):
            if isinstance(message, tuple):
                message = self.conn.execute(
                    "INSERT INTO send_messages (channel, what, body) VALUES (?, ?, ?)", (channel, message[0], message[1])
                ).lastrowid
            for item in items:
                cur = self.conn.execute(
                    "INSERT INTO sends (kind, channel, key, status, started_at, message) VALUES (?, ?, ?, ?, ?, ?)",
                    (item.kind, channel, item.key, PENDING, stamp(now), message),
                )
                ids.append(cur.lastrowid)
        return ids

    def finish(self, ids: list[int], status: str, now: datetime, message_id: str | None = None, detail: str | None = None) -> None:
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE sends SET status = ?, finished_at = ?, message_id = ?, detail = ? WHERE id = ?",
                [(status, stamp(now), message_id, detail, i) for i in ids],
            )
            if status == SENT:
                self._drop_sent_messages()

    def _drop_sent_messages(self) -> None:
        """Kept messages that no pending, failed or unknown item needs any more are deleted."""
        self.conn.execute(
            f"DELETE FROM send_messages WHERE id NOT IN "
            f"(SELECT message FROM sends WHERE message IS NOT NULL AND status != ? AND id IN ({_LATEST}))",
            (SENT,),
        )
        self.conn.execute("UPDATE sends SET message = NULL WHERE message IS NOT NULL AND message NOT IN (SELECT id FROM send_messages)")

    def stale_failed(self, channel: str, items: list[Item]) -> list[Stored]:
        """Kept messages on `channel` that failed and carry something `items` do not stand for:
        a run resends them as they were (what `items` stand for, it sends itself)."""
        covered = self.covered(channel, items)
        failed = [r for r in self.latest(channel).values() if r.status == FAILED and r.message is not None]
        wanted = {r.message for r in failed if r.item not in covered}
        out = []
        for message in sorted(wanted):
            what, body = self.conn.execute("SELECT what, body FROM send_messages WHERE id = ?", (message,)).fetchone()
            carried = [r.item for r in sorted(failed, key=lambda r: r.id) if r.message == message]
            out.append(Stored(message, channel, what, bytes(body), carried))
        return out

    def not_retried(self) -> list[SendRecord]:
        """Items on any channel whose latest attempt failed without a kept message (see the module
        docstring): no run resends them as they were. Oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE id IN ({_LATEST}) AND status = ? AND message IS NULL ORDER BY id", (FAILED,)
        ).fetchall()
        return [SendRecord(*r) for r in rows]

    def unsettled(self) -> list[SendRecord]:
        """Items on any channel whose latest outcome is unknown (or pending), oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE id IN ({_LATEST}) AND status IN (?, ?) ORDER BY id", (UNKNOWN, PENDING)
        ).fetchall()
        return [SendRecord(*r) for r in rows]

    def mark(self, received: list[int], not_received: list[int], now: datetime) -> list[SendRecord]:
        """A person's word on unknown outcomes: received (→ sent) or not (→ failed, resent by the
        next run; one without a kept message becomes one of `not_retried`). Each id stands for
        its whole message (the rows sent together with it). All ids are checked before anything
        is written. Call under the delivery lock, after `settle_interrupted`. The rows added."""
        unsettled = {r.id: r for r in self.unsettled()}
        # A failure whose message was not kept, confirmed as no longer to be sent (its item may
        # never come again: a warning whose point a newer gaopin reads differently).
        not_kept = {r.id: r for r in self.not_retried()}
        chosen: dict[int, tuple[SendRecord, bool]] = {}
        for i, was_received in [(i, True) for i in received] + [(i, False) for i in not_received]:
            if was_received and i in not_kept:
                # One number stands for the whole message it failed in, as for unknown outcomes.
                record = not_kept[i]
                group = sent_together(record.channel, record.message, record.started_at)
                chosen.update((r.id, (r, True)) for r in not_kept.values() if sent_together(r.channel, r.message, r.started_at) == group)
                continue
            record = unsettled.get(i)
            if record is None:
                row = self.conn.execute("SELECT status FROM sends WHERE id = ?", (i,)).fetchone()
                why = "没有这条发送记录" if row is None else "它不是结果不确定的记录（或者同一内容后来又发送过）"
                # A number mistyped, or settled already: the command line's mistake, not the store's.
                raise UsageError(f"编号 {i}：{why}", "gaopin sends 列出发送记录：只有“结果不确定”的编号可以 --confirm 或 --resend；“当时的内容没有保存”的失败可以 --confirm（不再需要重发）")
            group = sent_together(record.channel, record.message, record.started_at)
            together = [r for r in unsettled.values() if sent_together(r.channel, r.message, r.started_at) == group]
            chosen.update((r.id, (r, was_received)) for r in together)
        added: list[int] = []
        with transaction(self.conn):
            for r, was_received in sorted(chosen.values(), key=lambda c: c[0].id):
                if was_received:
                    status, detail = SENT, DISMISSED if r.id in not_kept else CONFIRMED
                else:
                    status, detail = FAILED, NOT_RECEIVED if r.message is not None else NOT_RECEIVED_NOT_KEPT
                cur = self.conn.execute(
                    "INSERT INTO sends (kind, channel, key, status, started_at, finished_at, message_id, detail, message) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.kind, r.channel, r.key, status, stamp(now), stamp(now), r.message_id, detail, None if was_received else r.message),
                )
                added.append(cur.lastrowid)
            self._drop_sent_messages()
        if not added:
            return []
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM sends WHERE id IN ({','.join('?' * len(added))}) ORDER BY id", added).fetchall()
        return [SendRecord(*r) for r in rows]

    def records(self, limit: int = 100) -> list[SendRecord]:
        """The most recent rows, newest first (a negative limit: all of them)."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM sends ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [SendRecord(*r) for r in rows]
