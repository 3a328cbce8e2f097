"""`gaopin warn`: early warnings (提早预警) and escalations (提级办理)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import (
    ConfigOpt,
    DbOpt,
    DebugOpt,
    DryRunOpt,
    EmailOpt,
    EncodingOpt,
    FilesArg,
    ForceSendOpt,
    Format,
    FormatOpt,
    HeaderRowOpt,
    NotifyOpt,
    SheetOpt,
    ShowPhonesOpt,
    VerboseOpt,
    delivered,
    delivery_channels,
    delivery_notices,
    handles_errors,
    keep_to_exit,
    load_overrides,
    parse_date_option,
    print_json,
    settings_from,
    tell_error,
)
from gaopin.cli.render import console, plain, progress, table
from gaopin.errors import ExitCode, GaopinError


def register(app: typer.Typer) -> None:
    app.command("warn")(warn)


@handles_errors
def warn(
    files: FilesArg = None,
    date: Annotated[Optional[str], typer.Option("--date", help="只看在这一天结束的预警（YYYY-MM-DD 或 today），供每日定时运行；加 --email/--notify 时还补发此前 [delivery] catch_up_days 天（默认 7）内结束、还没发送的", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="只看在这一天及以后结束的预警（YYYY-MM-DD）", show_default=False)] = None,
    format: FormatOpt = Format.text,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="同时写入文件：.xlsx、.csv 或 .json", show_default=False)] = None,
    fail_on_alert: Annotated[bool, typer.Option("--fail-on-alert", help="有预警时以退出码 3 结束（供脚本判断）")] = False,
    limit: Annotated[int, typer.Option("--limit", help="终端里预警和单否/双否各最多显示多少条（最近的；0 为全部；--output 和 json 总是全部）")] = 100,
    email: EmailOpt = False,
    notify: NotifyOpt = False,
    dry_run: DryRunOpt = False,
    dry_run_dir: Annotated[Optional[Path], typer.Option("--dry-run-dir", help="--dry-run 写文件的文件夹（默认：当前文件夹）", show_default=False)] = None,
    force: ForceSendOpt = False,
    verbose: VerboseOpt = False,
    show_phones: ShowPhonesOpt = False,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """找出提早预警（同一点位同一问题单日≥3件；两日内多人≥5件）和需提级办理的单否/双否工单。

    加 --email/--notify 时只发送还没发送过的预警和单否/双否（没有新的就不发），标准输出保持为空（除非 --verbose），
    出错时写标准错误并以退出码 4/5/6/7/8/9 结束（见 docs/data-format.md 的退出码表）。发送的内容总是隐藏电话号码。
    """
    from gaopin.io.ahead import read_ahead
    from gaopin.schema import WARN_FIELDS

    settings = settings_from(config, load_overrides(encoding, sheet, header_row))
    read_ahead(files, settings, WARN_FIELDS)  # while pandas and the rest are loaded below
    from gaopin.io.write import refuse_input_as_output
    from gaopin.reports.warnings import write_warn_report

    if output is not None:
        refuse_input_as_output(output, files or [])
    on = parse_date_option(date, "--date")
    start = parse_date_option(since, "--since")
    channels = delivery_channels(email, notify, dry_run, force, dry_run_dir)
    if channels:
        from gaopin.deliver.run import warn_and_deliver

        with progress() as step:
            sent, failure = delivered(lambda: warn_and_deliver(
                settings, files, db, channels, on=on, since=start, show_phones=show_phones,
                force=force, dry_run=dry_run, dry_run_dir=dry_run_dir, progress=step,
            ))  # fmt: skip
        report = sent.report
        if output is not None:
            try:
                write_warn_report(report, output)
            except GaopinError as exc:
                if failure is None:
                    raise
                tell_error(exc)  # said, then the sends' failure (exit 7 or 9) ends the run
        if verbose:
            if format is Format.json:
                print_json(sent.to_dict())
            else:
                render_warn(report, limit)
                for line in sent.delivery.lines():
                    typer.echo(line)
        else:
            delivery_notices(sent.delivery.lines())
        if failure is not None:  # after what was found and sent is written and shown
            raise failure
    else:
        from gaopin.rules.warn import warn as run_warn
        from gaopin.store import tickets_from

        with progress() as step:
            result, links = tickets_from(files, db, settings, fields=WARN_FIELDS, progress=step)
            report = run_warn(result, settings, on=on, since=start, links=links, show_phones=show_phones, progress=step)
        if output is not None:
            write_warn_report(report, output)
        if format is Format.json:
            print_json(report.json_ready(), dataclasses=True)
        else:
            render_warn(report, limit)
            if output is not None:
                typer.echo(f"已写入 {output}")
    keep_to_exit(report)
    if fail_on_alert and report.warnings:
        raise typer.Exit(int(ExitCode.ALERT))


def render_warn(report, limit: int = 0) -> None:
    """The warnings and escalations as tables; with `limit`, the most recent `limit` of each."""
    from gaopin.reports.warnings import owner_label
    from gaopin.rules.warnings import RULE_LABELS

    out = console()

    def cut(items: list) -> tuple[list, int]:
        if limit > 0 and len(items) > limit:
            return items[-limit:], len(items) - limit  # lists are in time order: keep the latest
        return items, 0

    if report.center_head:
        out.print(f"中心负责人：{plain(report.center_head)}")
    if report.warnings:
        shown, hidden = cut(report.warnings)
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
            for w in shown
        ]
        if hidden:
            rows.insert(0, ("…", f"较早的 {hidden} 条未显示", "", "", "", "", "", "", "用 --limit 0 显示全部，或 --output 写出文件"))
        out.print(table(f"提早预警（{len(report.warnings)} 条）", ["规则", "点位", "社区", "问题分类", "日期", "件数", "人数", "责任领导", "工单编号"], rows))
    else:
        out.print("没有需要预警的点位。")
    if report.escalations:
        shown, hidden = cut(report.escalations)
        rows = [
            (e.level, e.ticket_id, e.community, e.unit, e.received_at.replace("T", " ")[:16], owner_label(e.owner))
            for e in shown
        ]
        if hidden:
            rows.insert(0, ("…", f"较早的 {hidden} 件未显示", "", "", "", "用 --limit 0 显示全部"))
        single = sum(1 for e in report.escalations if e.level == "单否")
        out.print(table(f"提级办理（单否 {single} 件，双否 {len(report.escalations) - single} 件）", ["类别", "工单编号", "社区", "承办单位", "受理时间", "责任领导"], rows))
    else:
        out.print("没有单否/双否工单。")
    for note in report.notes:
        out.print(f"说明：{plain(note)}")
