"""`gaopin warn`: early warnings (提早预警) and escalations (提级办理)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import (
    ConfigOpt,
    DbOpt,
    DebugOpt,
    FilesArg,
    Format,
    FormatOpt,
    ShowPhonesOpt,
    handles_errors,
    parse_date_option,
    print_json,
    settings_from,
)
from gaopin.cli.render import console, progress, table
from gaopin.errors import ExitCode


def register(app: typer.Typer) -> None:
    app.command("warn")(warn)


@handles_errors
def warn(
    files: FilesArg = None,
    date: Annotated[Optional[str], typer.Option("--date", help="只看在这一天结束的预警（YYYY-MM-DD 或 today），供每日定时运行", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="只看在这一天及以后结束的预警（YYYY-MM-DD）", show_default=False)] = None,
    format: FormatOpt = Format.text,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="同时写入文件：.xlsx、.csv 或 .json", show_default=False)] = None,
    fail_on_alert: Annotated[bool, typer.Option("--fail-on-alert", help="有预警时以退出码 3 结束（供脚本判断）")] = False,
    show_phones: ShowPhonesOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """找出提早预警（同一点位同一问题单日≥3件；两日内多人≥5件）和需提级办理的单否/双否工单。"""
    from gaopin.reports.warnings import write_warn_report
    from gaopin.rules.warn import WARN_FIELDS
    from gaopin.rules.warn import warn as run_warn
    from gaopin.store import tickets_from

    settings = settings_from(config)
    on = parse_date_option(date, "--date")
    start = parse_date_option(since, "--since")
    with progress() as step:
        result, links = tickets_from(files, db, settings, fields=WARN_FIELDS, progress=step)
        report = run_warn(result, settings, on=on, since=start, links=links, show_phones=show_phones, progress=step)
    if output is not None:
        write_warn_report(report, output)
    if format is Format.json:
        print_json(report.to_dict())
    else:
        render_warn(report)
        if output is not None:
            typer.echo(f"已写入 {output}")
    if fail_on_alert and report.warnings:
        raise typer.Exit(int(ExitCode.ALERT))


def render_warn(report) -> None:
    from gaopin.reports.warnings import owner_label
    from gaopin.rules.warnings import RULE_LABELS

    out = console()
    if report.center_head:
        out.print(f"中心负责人：{report.center_head}")
    if report.warnings:
        rows = [
            (
                RULE_LABELS[w.rule],
                w.point,
                w.community,
                w.category or "—",
                w.start.isoformat() if w.start == w.end else f"{w.start.isoformat()} 至 {w.end.isoformat()}",
                w.tickets,
                w.persons,
                owner_label(w.owner),
                "、".join(w.ticket_ids),
            )
            for w in report.warnings
        ]
        out.print(table(f"提早预警（{len(report.warnings)} 条）", ["规则", "点位", "社区", "问题分类", "日期", "件数", "人数", "责任领导", "工单编号"], rows))
    else:
        out.print("没有需要预警的点位。")
    if report.escalations:
        rows = [
            (e.level, e.ticket_id, e.community, e.unit, e.received_at.replace("T", " ")[:16], owner_label(e.owner))
            for e in report.escalations
        ]
        single = sum(1 for e in report.escalations if e.level == "单否")
        out.print(table(f"提级办理（单否 {single} 件，双否 {len(report.escalations) - single} 件）", ["类别", "工单编号", "社区", "承办单位", "受理时间", "责任领导"], rows))
    else:
        out.print("没有单否/双否工单。")
    for note in report.notes:
        out.print(f"说明：{note}")
