"""`gaopin sends`: what was sent, when, and with which outcome (the exactly-once record)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import ConfigOpt, DbOpt, DebugOpt, Format, FormatOpt, handles_errors, print_json, settings_from
from gaopin.cli.render import console, table

STATUS_LABELS = {"sent": "已发送", "failed": "失败（下次重试）", "unknown": "结果不确定", "pending": "发送中"}
KIND_LABELS = {"report": "月度报告", "warning": "预警", "escalation": "提级办理"}
CHANNEL_LABELS = {"email": "邮件", "notify": "群机器人"}


def register(app: typer.Typer) -> None:
    app.command("sends")(sends)


@handles_errors
def sends(
    limit: Annotated[int, typer.Option("--limit", "-n", help="显示最近多少条（0 为全部）")] = 30,
    confirm: Annotated[
        Optional[list[int]],
        typer.Option("--confirm", help="结果不确定的这条（按编号，可以给多次）已确认收到：不再提醒，也不重发；当时的内容没有保存的失败，确认不再需要重发", show_default=False),
    ] = None,
    resend: Annotated[
        Optional[list[int]],
        typer.Option("--resend", help="结果不确定的这条（按编号，可以给多次）已确认没有收到：下次 --email/--notify 运行时重发（当时的内容没有保存的，说明用哪条命令重新发送）", show_default=False),
    ] = None,
    format: FormatOpt = Format.text,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """列出最近的发送记录（邮件、群机器人）：内容、时间、结果、Message-ID。--email/--notify 据此保证每项只发一次。

    结果不确定的发送，每次发送运行都以退出码 9 提醒，直到用 --confirm（收到了）或 --resend（没收到）确认；一个编号代表同一次发出的整封邮件或整条群消息。
    """
    from gaopin.deliver.run import send_records
    from gaopin.store.store import db_path, open_store

    settings = settings_from(config)
    if confirm or resend:
        settled(db_path(db, settings), confirm or [], resend or [], format)
        return
    # A store that does not exist (a mistyped --db) is the store's error (exit 6), as in every
    # other command, not "还没有发送记录"; opening it, never creating it, says so.
    with open_store(db, settings, create=False):
        pass
    records = send_records(db_path(db, settings), limit if limit > 0 else -1)
    if format is Format.json:
        print_json(records)
        return
    if not records:
        typer.echo("还没有发送记录。")
        return
    from gaopin.deliver.sends import shown_key

    rows = [
        (
            r["id"],
            CHANNEL_LABELS.get(r["channel"], r["channel"]),
            KIND_LABELS.get(r["kind"], r["kind"]),
            shown_key(r["kind"], r["key"]),
            status_label(r),
            r["finished_at"] or r["started_at"],
            r["message_id"] or "",
            r["detail"] or "",
        )
        for r in records
    ]
    console().print(table(f"发送记录（最近 {len(records)} 条）", ["编号", "方式", "内容", "键", "结果", "时间", "Message-ID", "说明"], rows))


def status_label(record: dict) -> str:
    from gaopin.deliver.sends import DISMISSED

    if record.get("resend"):  # failed before its message was kept: no run resends it as it was
        return f"失败（当时的内容没有保存，无法按原样重发）：请运行 {record['resend']}"
    if record["status"] == "sent" and record.get("detail") == DISMISSED:
        return "已确认不再重发"  # never sent: a person settled it
    return STATUS_LABELS.get(record["status"], record["status"])


def settled(store: Path, confirm: list[int], resend: list[int], format: Format) -> None:
    from gaopin.deliver.run import settle_sends
    from gaopin.deliver.sends import DISMISSED, shown_key
    from gaopin.errors import UsageError

    both = sorted(set(confirm) & set(resend))
    if both:
        raise UsageError(f"编号 {'、'.join(map(str, both))} 不能既 --confirm 又 --resend", "收到了用 --confirm，没收到用 --resend")
    added = settle_sends(store, confirm, resend)
    if format is Format.json:
        print_json(added)
        return
    for r in added:
        shown = shown_key(r["kind"], r["key"])  # a report's names itself as one (2024-08 月度报告 …)
        what = f"{CHANNEL_LABELS.get(r['channel'], r['channel'])} {shown if shown != r['key'] else KIND_LABELS.get(r['kind'], r['kind']) + ' ' + shown}"
        if r["status"] == "sent":
            typer.echo(f"{what}：已确认不再需要重发" if r["detail"] == DISMISSED else f"{what}：已确认收到")
        elif r.get("resend"):
            typer.echo(f"{what}：已确认没有收到；当时的内容没有保存，无法按原样重发：请运行 {r['resend']}")
        else:
            typer.echo(f"{what}：已确认没有收到，下次运行时重发")
