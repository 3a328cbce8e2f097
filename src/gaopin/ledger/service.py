"""The ledger as staff use it: the month's view, one entry's timeline, and their own fields."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from gaopin.config import Settings
from gaopin.errors import StoreError, UsageError
from gaopin.io.write import Sheet, write_xlsx
from gaopin.ledger.model import (
    CALLER,
    CLOSED,
    KEY_SEP,
    KIND_LABELS,
    KINDS,
    MERGED,
    POINT,
    RESOLVED,
    STATUS_COLORS,
    Entry,
    add_event,
    assign_text,
    events,
    load_entries,
    save_entry,
)
from gaopin.ledger.refresh import RefreshSummary, refresh
from gaopin.ledger.stats import EntryStats
from gaopin.periods import Period, check_month, check_started, period
from gaopin.privacy import mask_name, mask_phone, mask_phones_in_text
from gaopin.store.db import transaction
from gaopin.store.store import Store


@dataclass
class Masking:
    phones: bool = True
    names: bool = False

    @classmethod
    def of(cls, settings: Settings, show_phones: bool) -> "Masking":
        return cls(phones=settings.privacy.mask_phones and not show_phones, names=settings.privacy.mask_names)

    def phone(self, value: str) -> str:
        return mask_phone(value) if self.phones else value

    def name(self, value: str) -> str:
        value = self.text(value)  # callers type their numbers into the name field too
        return mask_name(value) if self.names and value else value

    def text(self, value: str) -> str:
        return mask_phones_in_text(value) if self.phones and value else value


def _empty_store() -> StoreError:
    return StoreError("工单库中还没有工单", "请先用 gaopin import 导入导出文件")


def year_of_month(store: Store, settings: Settings, month: int, today: date) -> int:
    """The year of `month` without --year, as the report takes it (periods.default_year over the
    tickets received by `today`)."""
    year = store.default_year(month, settings.period.start_day, today)
    if year is None:
        if store.latest_received() is not None:
            raise UsageError(f"工单库中没有 {today.isoformat()} 及以前受理的工单，无法确定年份", "请检查 --today，或用 --year 指定年份")
        raise _empty_store()
    return year


def month_period(store: Store, settings: Settings, month: int, year: int | None, today: date) -> Period:
    check_month(month, year)
    if not store.conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone():
        # With --year too: an empty store's "本月没有" would read as a month without high frequency.
        raise _empty_store()
    p = period(year or year_of_month(store, settings, month, today), month, settings.period.start_day)
    # Refused as the report refuses it: shown, it read as a month past (a "2024-12" ledger on 15 September).
    check_started(p, today)
    return p


def _key(e: Entry, stats: EntryStats, mask: Masking) -> dict:
    if e.kind == CALLER:
        return {"name": mask.name(stats.name(e.id)), "phones": [mask.phone(p) for p in sorted(e.phones)]}
    if e.kind == POINT:
        return {"point": mask.text(e.key)}  # a point is an address: it may hold a typed-in number
    point, _, category = e.key.partition(KEY_SEP)
    return {"point": mask.text(point), "category": mask.text(category)}


def key_text(kind: str, key: dict, max_phones: int = 0) -> str:
    """The entry's object in words; `max_phones` > 0 lists at most that many of a caller's numbers."""
    if kind == CALLER:
        phones = key["phones"]
        listed = "、".join(phones[:max_phones] if max_phones > 0 else phones)
        more = f" 等 {len(phones)} 个号码" if 0 < max_phones < len(phones) else ""
        return f"{key['name'] or '（无名）'}（{listed}{more}）"
    if kind == POINT:
        return key["point"]
    return f"{key['point']}｜{key['category'] or '（无分类）'}"


def _describe(e: Entry, stats: EntryStats, today: date, settings: Settings, mask: Masking, in_month: dict[str, int] | None, ticket_ids: bool = True) -> dict:
    out = {
        "id": e.id,
        "kind": e.kind,
        "key": _key(e, stats, mask),
        "community": mask.text(stats.community(e.id)),  # as typed in the export: a number may be in it
        "status": e.status(today, settings.ledger.due_soon_days, stats.total(e.id)),
        "recurrence": e.recurrence,
        # What staff typed (and the timeline and reasons in `show`) may hold a phone number too:
        # masked here, under the same switch as the callers', so every output of the view is.
        # The owner is a leader's name, shown as typed but for a number in it.
        "owner": mask.text(e.owner or ""),
        "unit": mask.text(e.unit or ""),
        "deadline": e.deadline.isoformat() if e.deadline else None,
        "measures": mask.text(e.measures or ""),
        "opened_on": e.opened_on.isoformat(),
        "closed_on": e.last.closed_on.isoformat() if e.last.closed_on else (e.last.ended_on.isoformat() if e.last.ended_on else None),
        "merged_into": e.merged_into,
        "tickets_total": stats.total(e.id),
        "tickets_in_month": (in_month or {}).get(e.id, 0),
        "tickets_by_month": stats.by_month(e.id, settings.period.start_day),
        "persons": stats.persons(e.id),
        "first_seen": stats.day(e.id, last=False),
        "last_seen": stats.day(e.id, last=True),
    }
    if ticket_ids:
        out["ticket_ids"] = stats.ids(e.id)
    if in_month is None:
        del out["tickets_in_month"]
    return out


def ledger_month(
    store: Store,
    settings: Settings,
    month: int,
    year: int | None,
    today: date,
    show_phones: bool = False,
    result=None,
    read_after=None,
    limit: int = 0,
    ticket_ids: bool = True,
) -> tuple[dict, RefreshSummary]:
    """Refresh, then the month's ledger: every entry with tickets in the month or open at its end.

    `result`: the store's tickets if the caller has already read them (the report has), with
    `read_after`, the refresh's data inputs taken before that read. `limit` > 0 describes at
    most that many entries of each kind and counts the rest in `omitted` (a screen's worth:
    describing a district's thousands of entries costs more than the rest of the view).
    `ticket_ids=False` leaves out each entry's ticket ids (the report's snapshot: at district
    scale they are 1.7M ids, which no part of the report shows)."""
    p = month_period(store, settings, month, year, today)
    summary = refresh(store, settings, today, result=result, read_after=read_after)
    entries = summary.entries if summary.entries is not None else load_entries(store.conn)
    stats = summary.stats
    in_month = stats.in_period(p)
    mask = Masking.of(settings, show_phones)
    order = {k: i for i, k in enumerate(KINDS)}
    out = []
    shown: Counter = Counter()
    omitted: Counter = Counter()
    for e in sorted(entries.values(), key=lambda e: (order[e.kind], e.opened_on, e.id)):
        # Not yet opened by the month's end, or by `today` (a look back at an earlier day).
        if e.state == MERGED or e.opened_on > min(p.end, today):
            continue
        # Entries resolved or closed during the month are listed too: leaders see what was done.
        ended_in_month = any(c.ended_on and p.contains(c.ended_on) or c.closed_on and p.contains(c.closed_on) for c in e.cycles)
        if not (in_month.get(e.id) or e.open_at(p.end) or ended_in_month):
            continue
        if limit > 0 and shown[e.kind] >= limit:
            omitted[e.kind] += 1
            continue
        shown[e.kind] += 1
        out.append(_describe(e, stats, today, settings, mask, in_month, ticket_ids))
    view = {"month": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(), "entries": out}
    if limit > 0:
        view["omitted"] = {k: omitted[k] for k in KINDS}
    return view, summary


def _get(store: Store, entry_id: str, entries: dict[str, Entry] | None = None) -> Entry:
    entries = entries if entries is not None else load_entries(store.conn)
    entry = entries.get(entry_id.strip().upper())
    if entry is None:
        raise StoreError(f"台账中没有编号为 {mask_phones_in_text(entry_id)} 的条目", "编号形如 GP-2024-0001，可用 gaopin ledger --month N 查看")
    return entry


def _root(entries: dict[str, Entry], entry_id: str) -> str:
    """The entry that holds `entry_id`'s tickets: itself, or the one it was merged into, in turn."""
    seen = set()
    while entry_id in entries and entries[entry_id].state == MERGED and entries[entry_id].merged_into and entry_id not in seen:
        seen.add(entry_id)
        entry_id = entries[entry_id].merged_into
    return entry_id


def _writable(entry: Entry) -> None:
    if entry.state == MERGED:
        raise StoreError(f"{entry.id} 已合并到 {entry.merged_into}", f"请对 {entry.merged_into} 操作")


def _check_date(value: date, entry: Entry, today: date, what: str) -> None:
    if value > today:
        raise UsageError(f"{what}日期 {value.isoformat()} 晚于今天（{today.isoformat()}）", "请给出今天或以前的日期（--date）")
    if value < entry.last.opened_on:
        raise UsageError(
            f"{what}日期 {value.isoformat()} 早于该条目本轮列入台账的日期 {entry.last.opened_on.isoformat()}",
            "请检查 --date",
        )


def assign(store: Store, entry_id: str, today: date, owner: str | None = None, unit: str | None = None, deadline: date | None = None, measures: str | None = None) -> Entry:
    entry = _get(store, entry_id)
    _writable(entry)
    if owner is not None and not owner.strip():
        raise UsageError("包案领导不能为空", "请写上姓名，例如 --owner 张三")
    changes = {}
    for name, value in (("owner", owner), ("unit", unit), ("deadline", deadline), ("measures", measures)):
        if value is not None:
            setattr(entry, name, value.strip() if isinstance(value, str) else value)
            changes[name] = value.isoformat() if isinstance(value, date) else value
    if not changes:
        raise UsageError("没有要修改的内容", "请给出 --owner、--unit、--deadline 或 --measures")
    with transaction(store.conn):
        save_entry(store.conn, entry)
        add_event(store.conn, entry.id, today, "assign", assign_text(changes))
    return entry


def note(store: Store, entry_id: str, text: str, today: date) -> Entry:
    entry = _get(store, entry_id)
    _writable(entry)
    if not text.strip():
        raise UsageError("进展内容不能为空", "例如 gaopin ledger note GP-2024-0001 \"已约谈物业\"")
    with transaction(store.conn):
        add_event(store.conn, entry.id, today, "note", text.strip())
    return entry


def resolve(store: Store, entry_id: str, reason: str, on: date, today: date) -> Entry:
    """已化解: the cycle ends; later tickets are counted afresh."""
    entry = _get(store, entry_id)
    _writable(entry)
    if entry.last.ended_on is not None:
        raise StoreError(f"{entry.id} 已于 {entry.last.ended_on.isoformat()} 化解或销号", "如问题复发，台账会在再次达到标准时自动重新打开")
    if not reason.strip():
        raise UsageError("请写明化解情况", "例如 --reason \"已协调养老院拆除围挡\"")
    _check_date(on, entry, today, "化解")
    entry.last.ended_on, entry.last.end_kind, entry.last.end_reason = on, RESOLVED, reason.strip()
    with transaction(store.conn):
        save_entry(store.conn, entry)
        add_event(store.conn, entry.id, on, "resolved", f"已化解：{reason.strip()}")
    return entry


def close(store: Store, entry_id: str, reason: str | None, on: date, today: date) -> Entry:
    """销号: closed for good (a recurrence reopens it)."""
    entry = _get(store, entry_id)
    _writable(entry)
    last = entry.last
    if last.closed_on is not None or last.end_kind == CLOSED:
        raise StoreError(f"{entry.id} 已于 {(last.closed_on or last.ended_on).isoformat()} 销号", "无需重复销号")
    if last.ended_on is not None and on < last.ended_on:
        raise UsageError(f"销号日期 {on.isoformat()} 早于化解日期 {last.ended_on.isoformat()}", "请检查 --date")
    _check_date(on, entry, today, "销号")
    text = (reason or "").strip() or "问题已解决"
    if last.ended_on is None:
        last.ended_on, last.end_kind, last.end_reason = on, CLOSED, text
    last.closed_on, last.close_reason = on, text
    with transaction(store.conn):
        save_entry(store.conn, entry)
        add_event(store.conn, entry.id, on, "closed", f"销号：{text}")
    return entry


def show(store: Store, settings: Settings, entry_id: str, today: date, show_phones: bool = False) -> dict:
    """One entry with its timeline and tickets, after bringing the ledger up to date (its
    tickets are part of the refresh's kept figures)."""
    _get(store, entry_id)  # an unknown id is reported before any refresh
    summary = refresh(store, settings, today)
    entries = summary.entries if summary.entries is not None else load_entries(store.conn)
    entry = _get(store, entry_id, entries)
    stats = summary.stats
    mask = Masking.of(settings, show_phones)
    out = _describe(entry, stats, today, settings, mask, None)
    out["cycles"] = [
        {
            "cycle": c.cycle,
            "opened_on": c.opened_on.isoformat(),
            "ended_on": c.ended_on.isoformat() if c.ended_on else None,
            "end": {RESOLVED: "已化解", CLOSED: "销号"}.get(c.end_kind or "", None),
            "reason": mask.text(c.end_reason),
            "closed_on": c.closed_on.isoformat() if c.closed_on else None,
        }
        for c in entry.cycles
    ]
    out["events"] = [{**ev, "text": mask.text(ev["text"])} for ev in events(store.conn, entry.id)]
    if entry.state == MERGED:
        out["status"] = f"已合并到 {entry.merged_into}"
        # Its tickets are the keeper's now: a caller is named as the keeper is, the same person.
        if entry.kind == CALLER and not out["key"]["name"] and entry.merged_into:
            out["key"]["name"] = mask.name(stats.name(_root(entries, entry.merged_into)))
    rows = []
    if out["ticket_ids"]:
        ids = out["ticket_ids"]
        found = store.select_by_ids(
            "SELECT ticket_id, received_at, caller_name, caller_phone, address, category, title FROM tickets WHERE ticket_id IN ({})", ids
        )
        by_id = {r[0]: r for r in found}
        for tid in ids:
            r = by_id.get(tid)
            if r is None:
                continue
            rows.append(
                {
                    "ticket_id": r[0],
                    "received_at": r[1].replace(" ", "T", 1) if r[1] else r[1],  # ISO, as warn and report give it
                    "caller_name": mask.name(r[2] or ""),
                    "caller_phone": mask.phone(r[3] or ""),
                    "address": mask.text(r[4] or ""),
                    "category": mask.text(r[5] or ""),
                    "title": mask.text(r[6] or ""),
                }
            )
    out["tickets"] = rows
    return out


# --- workbook ----------------------------------------------------------------------

LEDGER_COLUMNS = {
    "id": "编号",
    "key": "对象",
    "community": "社区",
    "status": "状态",
    "recurrence": "复发次数",
    "owner": "包案领导",
    "unit": "责任单位",
    "deadline": "办理时限",
    "measures": "化解措施",
    "tickets_in_month": "本月件数",
    "tickets_total": "累计件数",
    "persons": "诉求人数",
    "first_seen": "首次受理",
    "last_seen": "最近受理",
    "opened_on": "列入台账",
    "closed_on": "化解/销号日期",
    "ticket_ids": "工单编号",
}


def ledger_sheets(view: dict, with_ticket_ids: bool = True) -> list[Sheet]:
    """One sheet per kind. The report's snapshot leaves out the ticket ids (the ledger
    workbook of `gaopin ledger --output` has them): at district scale they are megabytes."""
    columns = {k: v for k, v in LEDGER_COLUMNS.items() if with_ticket_ids or k != "ticket_ids"}
    sheets = []
    for kind in KINDS:
        entries = [e for e in view["entries"] if e["kind"] == kind]
        rows = []
        for e in entries:
            row = {k: e.get(k) for k in columns}
            row["key"] = key_text(kind, e["key"])
            if with_ticket_ids:
                row["ticket_ids"] = "、".join(e["ticket_ids"])
            rows.append(row)
        frame = pd.DataFrame(rows, columns=list(columns))
        colors = [STATUS_COLORS.get(e["status"]) for e in entries]
        sheets.append(
            Sheet(KIND_LABELS[kind], frame, headers=list(columns.values()), row_colors=colors, title=f"{KIND_LABELS[kind]}台账（{view['month']}，{view['start']} 至 {view['end']}）")
        )
    return sheets


def write_ledger(view: dict, path: Path) -> Path:
    if Path(path).suffix.lower() != ".xlsx":
        raise UsageError(f"不支持的输出格式“{Path(path).suffix or path}”", "台账请输出为 .xlsx 文件")
    return write_xlsx(Path(path), ledger_sheets(view))
