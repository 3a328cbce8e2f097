"""`gaopin report`: the monthly performance report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import (
    ConfigOpt,
    DbOpt,
    DebugOpt,
    EncodingOpt,
    DryRunOpt,
    EmailOpt,
    FilesArg,
    ForceSendOpt,
    Format,
    FormatOpt,
    HeaderRowOpt,
    NotifyOpt,
    SheetOpt,
    TodayOpt,
    VerboseOpt,
    delivered,
    delivery_channels,
    delivery_notices,
    handles_errors,
    load_overrides,
    print_json,
    settings_from,
    today_option,
)
from gaopin.cli.render import console, plain, progress, table


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@handles_errors
def report(
    files: FilesArg = None,
    month: Annotated[Optional[int], typer.Option("--month", "-m", help="月份（1–12）", show_default=False)] = None,
    year: Annotated[Optional[int], typer.Option("--year", help="年份（默认：数据中到今天为止该月有工单的最近一年，哪年都没有时为其中最新的年份）", show_default=False)] = None,
    last: Annotated[bool, typer.Option("--last", help="上一个已结束的考核周期（按北京时间的今天和 [period] start_day 推算），供每月定时运行")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="输出目录（默认 [report] out_dir 下的 YYYY-MM/，没有设置时为当前文件夹下的 reports/YYYY-MM/）；整个替换，所以只能是新的、空的或以前的报告文件夹", show_default=False)] = None,
    format: FormatOpt = Format.text,
    email: EmailOpt = False,
    notify: NotifyOpt = False,
    dry_run: DryRunOpt = False,
    dry_run_dir: Annotated[Optional[Path], typer.Option("--dry-run-dir", help="--dry-run 写文件的文件夹（默认：报告的输出目录）", show_default=False)] = None,
    force: ForceSendOpt = False,
    verbose: VerboseOpt = False,
    today: TodayOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """生成月度考核报告：三率、综合成绩、失分去向、趋势图，输出 report.html、report.xlsx 和图表。

    加 --email 时把报告发到 [mail] 的收件人（标题、要点、图表和工作簿附件），--notify 时把要点推送到群；
    同一个月只发一次，报告完整生成后才发送。标准输出保持为空（除非 --verbose），出错时写标准错误并以退出码 2（用法）或 4/5/6/7/8/9 结束（见 docs/data-format.md 的退出码表）。
    """
    from gaopin.errors import UsageError
    from gaopin.periods import check_month, last_closed

    settings = settings_from(config, load_overrides(encoding, sheet, header_row))
    now = today_option(today)
    if last:
        if month is not None or year is not None:
            raise UsageError("--last 不能与 --month/--year 同时使用", "定时运行用 --last，补发某个月用 --month 和 --year")
        closed = last_closed(now, settings.period.start_day)
        month, year = closed.month, closed.year
    if month is None:
        raise UsageError("请用 --month 指定月份", "例如 gaopin report --month 8；定时运行可用 --last")
    check_month(month, year)  # a wrong month (--month 0) before any other work
    channels = delivery_channels(email, notify, dry_run, force, dry_run_dir)
    from gaopin.reports.charting import early_charts

    # Started before pandas and the rest of gaopin are loaded, on the core that loading leaves idle.
    with early_charts(settings):
        if channels:
            from gaopin.deliver.run import report_and_deliver

            with progress() as step:
                sent, failure = delivered(lambda: report_and_deliver(
                    settings, month, year, files or None, db, now, channels, out_dir=out,
                    force=force, dry_run=dry_run, dry_run_dir=dry_run_dir, progress=step,
                ))  # fmt: skip
            if not verbose:
                delivery_notices(sent.delivery.lines())
            elif format is Format.json:
                print_json(sent.to_dict())
            else:
                render_report(sent.report)
                for line in sent.delivery.lines():
                    typer.echo(line)
            if failure is not None:  # after what was made and sent is shown
                raise failure
            return
        from gaopin.reports.run import run_report

        with progress() as step:
            data = run_report(settings, month, year, files or None, db, now, out_dir=out, progress=step)
        if format is Format.json:
            print_json(data)
            return
        render_report(data)


def render_report(data: dict) -> None:
    from gaopin.numbers import number, percent
    from gaopin.reports.monthly import headline, street_or_default

    out = console()
    for line in headline(data):
        out.print(line)
    o = data["overall"]
    prev = o.get("previous") or {}

    def count(value) -> object:  # no previous period to compare with: None
        return "—" if value is None else value

    rows = [
        ("受理量", o["tickets"], count(prev.get("tickets"))),
        ("有效回访", o["valid_callbacks"], count(prev.get("valid_callbacks"))),
        ("响应率", percent(o["response_rate"]), percent(prev.get("response_rate"))),
        ("解决率", percent(o["resolution_rate"]), percent(prev.get("resolution_rate"))),
        ("满意率", percent(o["satisfaction_rate"]), percent(prev.get("satisfaction_rate"))),
        ("综合成绩", number(o["score"]), number(prev.get("score"))),
        ("单否 / 双否", f"{o['single_no']} / {o['double_no']}", f"{count(prev.get('single_no'))} / {count(prev.get('double_no'))}"),
    ]
    out.print(table(f"{street_or_default(data['street'])} {data['period']['label']}", ["指标", "本月", "上月"], rows))
    files = data.get("files", {})
    if files:
        out.print(f"报告：{plain(files['html'])}")
        out.print(f"工作簿：{plain(files['xlsx'])}")
    for note in data["notes"]:
        out.print(f"说明：{plain(note)}")
