"""`gaopin sends`: what was sent, when, and with which outcome (the exactly-once record)."""

from __future__ import annotations

from typing import Annotated

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
    limit: Annotated[int, typer.Option("--limit", "-n", help="显示最近多少条")] = 30,
    format: FormatOpt = Format.text,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """列出最近的发送记录（邮件、群机器人）：内容、时间、结果、Message-ID。--email/--notify 据此保证每项只发一次。"""
    from gaopin.deliver.run import send_records
    from gaopin.store.store import db_path

    settings = settings_from(config)
    records = send_records(db_path(db, settings), max(limit, 1))
    if format is Format.json:
        print_json(records)
        return
    if not records:
        typer.echo("还没有发送记录。")
        return
    rows = [
        (
            r["id"],
            CHANNEL_LABELS.get(r["channel"], r["channel"]),
            KIND_LABELS.get(r["kind"], r["kind"]),
            r["key"],
            STATUS_LABELS.get(r["status"], r["status"]),
            r["finished_at"] or r["started_at"],
            r["message_id"] or "",
            r["detail"] or "",
        )
        for r in records
    ]
    console().print(table(f"发送记录（最近 {len(records)} 条）", ["编号", "方式", "内容", "键", "结果", "时间", "Message-ID", "说明"], rows))
