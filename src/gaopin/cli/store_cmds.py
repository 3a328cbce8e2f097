"""Commands on the store: import, ledger, exclude, purge."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import (
    ConfigOpt,
    DbOpt,
    DebugOpt,
    EncodingOpt,
    Format,
    FormatOpt,
    HeaderRowOpt,
    SheetOpt,
    ShowPhonesOpt,
    TodayOpt,
    handles_errors,
    load_overrides,
    parse_date_option,
    print_json,
    settings_from,
    today_option,
)
from gaopin.cli.render import console, plain, progress, table

ledger_app = typer.Typer(
    help="高频诉求台账：高频诉求人、高频点位、高频问题，包案到底、销号管理。",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.add_typer(ledger_app, name="ledger")
    app.command("exclude")(exclude)
    app.command("purge")(purge)


def _open(db, settings):
    """The store, which must exist (of these commands only `import` creates one): a mistyped
    --db is an error (exit 6), never a new empty store that keeps what was meant for the real one."""
    from gaopin.store import open_store

    return open_store(db, settings, create=False)


@handles_errors
def import_(
    files: Annotated[list[Path], typer.Argument(help="要导入的 12345 导出文件，可以给多个（按顺序导入，后导入的覆盖先导入的）", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="即使同样内容的文件导入过，也重新导入")] = False,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """把导出文件导入工单库：新工单加入，已有工单逐项更新（空值不覆盖），旧值留作历史。"""
    from gaopin.config import now_local
    from gaopin.io.load import empty_files_note
    from gaopin.privacy import mask_phones_in_text
    from gaopin.store import import_into

    settings = settings_from(config, load_overrides(encoding, sheet, header_row))
    out = console()
    # A file named after a caller (张三13812345678.xlsx) is named on every line.
    shown = mask_phones_in_text if settings.privacy.mask_phones else str

    def report(r) -> None:
        # Printed as each file commits, so that what was reported is in the store.
        if format is Format.json:
            return
        if r.skipped:
            out.print(f"{plain(shown(r.file))}：同样内容的文件已导入过，跳过（如需重新导入请加 --force）")
            return
        merged = f"，合并重复编号 {r.merged} 行" if r.merged else ""
        out.print(f"{plain(shown(r.file))}：新增 {r.new}，更新 {r.updated}，未变 {r.unchanged}{merged}，拒收 {len(r.rejected)}")
        for note in [*r.sheet_notes, *r.notes]:
            out.print(f"  {plain(note)}")
        if r.rows == 0:
            out.print(f"  {plain(shown(empty_files_note([Path(r.file).name])))}")
        for p in r.rejected[:20]:
            # A workbook read sheet by sheet: the row is the sheet's.
            where = shown(f"{Path(p.file).name} ") if p.file != r.file else ""
            out.print(f"  拒收 {plain(where)}第 {p.row} 行：{plain(p.message)}")
        if len(r.rejected) > 20:
            out.print(f"  ……另有 {len(r.rejected) - 20} 行被拒收（gaopin inspect 可查看全部）")

    with progress() as step:
        results = import_into(files, db, settings, now=now_local(), force=force, progress=step, on_done=report)
    if format is Format.json:
        print_json([r.to_dict() for r in results])


MonthOpt = Annotated[Optional[int], typer.Option("--month", "-m", help="月份（1–12）", show_default=False)]
YearOpt = Annotated[Optional[int], typer.Option("--year", help="年份（默认：工单库中到今天为止该月有工单的最近一年，哪年都没有时为其中最新的年份；与 report 相同）", show_default=False)]


@ledger_app.callback()
@handles_errors
def ledger(
    ctx: typer.Context,
    month: MonthOpt = None,
    year: YearOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="写出台账工作簿（.xlsx，每类一张表）", show_default=False)] = None,
    format: FormatOpt = Format.text,
    limit: Annotated[int, typer.Option("--limit", help="终端里每类最多显示多少条（0 为全部；--output 和 json 总是全部）")] = 50,
    today: TodayOpt = None,
    show_phones: ShowPhonesOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """更新并查看某月的高频诉求台账：gaopin ledger --month 8。"""
    if ctx.invoked_subcommand is not None:
        return
    if month is None:
        from gaopin.errors import UsageError

        raise UsageError("请用 --month 指定月份", "例如 gaopin ledger --month 8；其他操作见 gaopin ledger --help")
    from gaopin.ledger.service import ledger_month, write_ledger

    settings = settings_from(config)
    with _open(db, settings) as store:
        # The terminal shows `limit` entries of each kind; the workbook and JSON hold all.
        shown = limit if format is Format.text and output is None else 0
        view, summary = ledger_month(store, settings, month, year, today_option(today), show_phones=show_phones, limit=shown)
    if output is not None:
        write_ledger(view, output)
    if format is Format.json:
        print_json(view)
        return
    render_ledger(view, summary, limit)
    if output is not None:
        typer.echo(f"已写入 {output}")


# A caller's numbers in the terminal table (`ledger show` and the workbook list them all).
MAX_PHONES_SHOWN = 3


# What changed since the ledger was last brought up to date (gaopin.ledger.refresh.changes_since).
STALE_BECAUSE = {
    "upgrade": "升级了 gaopin（新版本的台账算法有变，台账要按它重新计算）",
    "imports": "有新的导入",
    "links": "有号码关联或拆分",
    "settings": "改了设置",
    "endings": "有条目化解或销号",
    "unknown": "工单库或设置有变化",
}


def render_ledger(view: dict, summary, limit: int = 0) -> None:
    from gaopin.ledger.model import KIND_LABELS, KINDS
    from gaopin.ledger.service import key_text

    out = console()
    out.print(f"[bold]高频诉求台账 {view['month']}[/]（{view['start']} 至 {view['end']}）")
    if summary.replay:
        out.print("回看以前的日期：件数只算到该日，台账本身不作改动（条目、编号、状态以库中现在记录的为准）")
        if summary.stale_since:
            changed = "，".join(STALE_BECAUSE[why] for why in summary.stale_because)
            month = int(view["month"][5:])  # a label YYYY-MM: the command names a month, any would do
            out.print(
                f"注意：台账上次更新到 {summary.stale_since.isoformat()}，此后{changed}，台账还没有随之更新，"
                f"回看的结果可能与更新后不同：请先运行一次不带 --today 的 gaopin ledger --month {month}（它会把台账更新到今天），再回看"
            )
    elif summary.created or summary.reopened or summary.merged or summary.followed:
        bits = []
        if summary.created:
            # The update is of the whole ledger; the view is of one month, which lists only the
            # entries opened by its end.
            end = date.fromisoformat(view["end"])
            later = sum(1 for i in summary.created if summary.entries and i in summary.entries and summary.entries[i].opened_on > end)
            bits.append(f"新列入 {len(summary.created)} 条" + (f"（其中 {later} 条在 {view['end']} 以后才列入，不在这个月的台账里）" if later else ""))
        if summary.reopened:
            bits.append(f"复发 {len(summary.reopened)} 条（{'、'.join(summary.reopened)}）")
        if summary.merged:
            bits.append("合并 " + "、".join(f"{a}→{b}" for a, b in summary.merged))
        if summary.followed:
            bits.append(f"{len(summary.followed)} 条的点位或问题写法变了，条目随工单转到新的写法（{'、'.join(summary.followed)}，见 gaopin ledger show）")
        out.print("本次更新：" + "，".join(bits))
    if not summary.replay:
        for check in summary.checks:
            out.print(f"注意：{plain(check)}")
    for kind in KINDS:
        entries = [e for e in view["entries"] if e["kind"] == kind]
        listed = entries[:limit] if limit > 0 else entries
        total = len(entries) + view.get("omitted", {}).get(kind, 0)
        rows = [
            (
                e["id"],
                key_text(kind, e["key"], max_phones=MAX_PHONES_SHOWN),
                e["community"],
                e["tickets_in_month"],
                e["tickets_total"],
                e["persons"],
                e["owner"] or "—",
                e["deadline"] or "—",
                e["status"] + (f"（复发{e['recurrence']}次）" if e["recurrence"] else ""),
            )
            for e in listed
        ]
        if rows:
            if len(rows) < total:
                rows.append(("…", f"另有 {total - len(rows)} 条，用 --limit 0 显示全部，或 --output 写出工作簿", "", "", "", "", "", "", ""))
            out.print(table(f"{KIND_LABELS[kind]}（{total} 条）", ["编号", "对象", "社区", "本月", "累计", "人数", "包案领导", "办理时限", "状态"], rows))
        else:
            out.print(f"{KIND_LABELS[kind]}：本月没有。")


IdArg = Annotated[str, typer.Argument(help="台账编号，例如 GP-2024-0001", show_default=False)]


@ledger_app.command("assign")
@handles_errors
def ledger_assign(
    entry_id: IdArg,
    owner: Annotated[Optional[str], typer.Option("--owner", help="包案领导", show_default=False)] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="责任单位", show_default=False)] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="办理时限（YYYY-MM-DD）", show_default=False)] = None,
    measures: Annotated[Optional[str], typer.Option("--measures", help="化解措施", show_default=False)] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """指定包案领导、责任单位、办理时限、化解措施。"""
    from gaopin.ledger.service import assign

    settings = settings_from(config)
    due = parse_date_option(deadline, "--deadline")
    with _open(db, settings) as store:
        entry = assign(store, entry_id, today_option(today), owner=owner, unit=unit, deadline=due, measures=measures)
    typer.echo(f"已更新 {entry.id}")


@ledger_app.command("note")
@handles_errors
def ledger_note(
    entry_id: IdArg,
    text: Annotated[str, typer.Argument(help="进展情况", show_default=False)],
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """记录一条办理进展（按日期记入时间线）。"""
    from gaopin.ledger.service import note

    settings = settings_from(config)
    with _open(db, settings) as store:
        entry = note(store, entry_id, text, today_option(today))
    typer.echo(f"已记入 {entry.id} 的进展")


DateOpt = Annotated[Optional[str], typer.Option("--date", help="日期（YYYY-MM-DD，默认今天）", show_default=False)]


@ledger_app.command("resolve")
@handles_errors
def ledger_resolve(
    entry_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="化解情况", show_default=False)],
    date_: DateOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """标记为已化解：此后的工单重新计数，再次达标时自动作为复发重新打开。"""
    from gaopin.ledger.service import resolve

    settings = settings_from(config)
    now = today_option(today)
    with _open(db, settings) as store:
        entry = resolve(store, entry_id, reason, parse_date_option(date_, "--date") or now, now)
    typer.echo(f"{entry.id} 已化解")


@ledger_app.command("close")
@handles_errors
def ledger_close(
    entry_id: IdArg,
    reason: Annotated[Optional[str], typer.Option("--reason", help="销号原因", show_default=False)] = None,
    date_: DateOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """销号。"""
    from gaopin.ledger.service import close

    settings = settings_from(config)
    now = today_option(today)
    with _open(db, settings) as store:
        entry = close(store, entry_id, reason, parse_date_option(date_, "--date") or now, now)
    typer.echo(f"{entry.id} 已销号")


@ledger_app.command("show")
@handles_errors
def ledger_show(
    entry_id: IdArg,
    format: FormatOpt = Format.text,
    today: TodayOpt = None,
    show_phones: ShowPhonesOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """查看一个台账条目的时间线和全部工单（先按工单库更新台账）。"""
    from gaopin.ledger.model import KIND_LABELS
    from gaopin.ledger.service import key_text, show

    settings = settings_from(config)
    with _open(db, settings) as store:
        data = show(store, settings, entry_id, today_option(today), show_phones=show_phones)
    if format is Format.json:
        print_json(data)
        return
    out = console()
    out.print(f"[bold]{data['id']}[/] {KIND_LABELS[data['kind']]}：{plain(key_text(data['kind'], data['key']))}")
    out.print(
        f"状态：{data['status']}　包案领导：{plain(data['owner'] or '—')}　责任单位：{plain(data['unit'] or '—')}　办理时限：{data['deadline'] or '—'}"
        # A merged entry's tickets are counted in the entry that absorbed it: no count or dates of its own.
        + (
            f"　工单都计在 {data['merged_into']} 中（gaopin ledger show {data['merged_into']}）"
            if data.get("merged_into")
            else f"　累计 {data['tickets_total']} 件，{data['persons']} 人" + (f"，{data['first_seen']} 至 {data['last_seen']}" if data["first_seen"] else "")
        )
    )
    if data["measures"]:
        out.print(f"化解措施：{plain(data['measures'])}")
    out.print(table("时间线", ["日期", "事项"], [(e["date"], e["text"]) for e in data["events"]]))
    out.print(
        table(
            "工单",
            ["工单编号", "受理时间", "诉求人", "电话", "地址", "分类", "标题"],
            [(t["ticket_id"], (t["received_at"] or "").replace("T", " "), t["caller_name"], t["caller_phone"], t["address"], t["category"], t["title"]) for t in data["tickets"]],
        )
    )


PhoneArg = Annotated[str, typer.Argument(help="电话号码", show_default=False)]


@ledger_app.command("link")
@handles_errors
def ledger_link(
    phone_a: PhoneArg,
    phone_b: PhoneArg,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """把两个号码认定为同一个诉求人（对预警和台账都有效）。"""
    from gaopin.privacy import mask_phone

    settings = settings_from(config)
    with _open(db, settings) as store:
        linked = store.link(phone_a, phone_b, today_option(today))
    typer.echo(f"已关联 {mask_phone(linked.a)} 与 {mask_phone(linked.b)}；下次 gaopin ledger 时生效")
    for phone in linked.unseen:
        typer.echo(f"注意：工单库中还没有号码 {mask_phone(phone)} 的工单；如果输错了，请用 gaopin ledger unlink 加上刚才输入的这个号码撤销", err=True)


@ledger_app.command("unlink")
@handles_errors
def ledger_unlink(
    phone: PhoneArg,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """把一个号码从它所属的诉求人中拆出来（不再自动关联）。"""
    from gaopin.privacy import mask_phone

    settings = settings_from(config)
    with _open(db, settings) as store:
        p = store.unlink(phone, today_option(today))
    typer.echo(f"已拆分 {mask_phone(p)}；下次 gaopin ledger 时生效")


@handles_errors
def exclude(
    ticket_id: Annotated[Optional[str], typer.Argument(help="工单编号", show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="不纳入考核的原因（如：申诉已通过）", show_default=False)] = None,
    remove: Annotated[bool, typer.Option("--remove", help="取消标记")] = False,
    list_: Annotated[bool, typer.Option("--list", help="列出已标记的工单（同时给出工单编号时，先标记或取消标记，再列出）")] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """把工单标记为不纳入考核（申诉通过等）；月度报告会分别给出含与不含这些工单的数字。"""
    from gaopin.errors import UsageError

    settings = settings_from(config)
    done, rows = None, None
    with _open(db, settings) as store:
        # With --list, a marking asked for is made first and then listed: it used to be dropped
        # without a word, the list showing the ticket unmarked.
        if ticket_id or reason is not None or remove or not list_:
            if not ticket_id:
                raise UsageError("请给出工单编号", "例如 gaopin exclude GD2024080300123 --reason \"申诉已通过\"")
            if remove:
                store.unexclude(ticket_id)
                done = f"已取消 {ticket_id} 的不纳入考核标记"
            elif reason is None:
                raise UsageError("请用 --reason 写明原因", "例如 --reason \"申诉已通过\"")
            else:
                store.exclude(ticket_id, reason, today_option(today))
                done = f"已标记 {ticket_id} 不纳入考核"
        if list_:
            from gaopin.privacy import mask_phones_in_text

            # A reason staff typed may carry a contact's number, masked as in every output.
            shown = mask_phones_in_text if settings.privacy.mask_phones else str
            rows = [(tid, shown(why)) for tid, why in store.exclusions().items()]
    if done:
        typer.echo(done)
    if rows is None:
        return
    if not rows:
        typer.echo("没有标记为不纳入考核的工单。")
        return
    console().print(table(f"不纳入考核的工单（{len(rows)} 件）", ["工单编号", "原因"], rows))


@handles_errors
def purge(
    before: Annotated[Optional[str], typer.Option("--before", help="删除这一天以前受理的工单（YYYY-MM-DD）", show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="确认删除（不加则只显示会删除多少）")] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """按保存期限从工单库中删除旧工单（连同历史记录，以及只属于这些工单的来电号码）。

    不加 --before 时按 gaopin.toml 的 [privacy] retention_months 计算：删除那么多个月以前（按整月）受理的工单。
    不加 --yes 只显示会删除多少张。删除后工单库文件会重建，删掉的内容不会残留在文件里。"""
    from gaopin.errors import UsageError

    settings = settings_from(config)
    from gaopin.store.store import retention_cutoff

    cutoff = parse_date_option(before, "--before")
    if cutoff is None:
        months = settings.privacy.retention_months
        if not months:
            raise UsageError("请用 --before 给出日期", "或在 gaopin.toml 的 [privacy] retention_months 中设定保存月数")
        cutoff = retention_cutoff(today_option(today), months)
    with _open(db, settings) as store:
        count = store.count_received_before(cutoff)
        if not yes:
            typer.echo(f"将删除 {count} 张 {cutoff.isoformat()} 以前受理的工单；确认请加 --yes")
            return
        deleted = store.purge(cutoff)
        backups = store.backups()
    typer.echo(f"已删除 {deleted} 张 {cutoff.isoformat()} 以前受理的工单")
    if backups:
        names = "、".join(str(b) for b in backups)
        typer.echo(f"注意：升级工单库结构前自动做的备份 {names} 仍含有被删除的工单；不再需要时请一并删除。")
