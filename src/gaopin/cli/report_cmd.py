"""`gaopin report`: the monthly performance report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import ConfigOpt, DbOpt, DebugOpt, FilesArg, Format, FormatOpt, TodayOpt, handles_errors, parse_date_option, print_json, settings_from
from gaopin.cli.render import console, pct, progress, table


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@handles_errors
def report(
    files: FilesArg = None,
    month: Annotated[int, typer.Option("--month", "-m", help="月份（1–12）", show_default=False)] = 0,
    year: Annotated[Optional[int], typer.Option("--year", help="年份（默认：数据中最新的年份）", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="输出目录（默认 reports/YYYY-MM/）", show_default=False)] = None,
    format: FormatOpt = Format.text,
    today: TodayOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """生成月度考核报告：三率、综合成绩、失分去向、趋势图，输出 report.html、report.xlsx 和图表。"""
    from gaopin.config import today_local
    from gaopin.errors import UsageError
    from gaopin.reports.run import run_report

    if not month:
        raise UsageError("请用 --month 指定月份", "例如 gaopin report --month 8")
    settings = settings_from(config)
    now = parse_date_option(today, "--today") or today_local()
    with progress() as step:
        data = run_report(settings, month, year, files or None, db, now, out_dir=out, progress=step)
    if format is Format.json:
        print_json(data)
        return
    render_report(data)


def render_report(data: dict) -> None:
    from gaopin.reports.monthly import fmt_num, headline

    out = console()
    for line in headline(data):
        out.print(line)
    o = data["overall"]
    prev = o.get("previous") or {}
    rows = [
        ("受理量", o["tickets"], prev.get("tickets", "—")),
        ("有效回访", o["valid_callbacks"], prev.get("valid_callbacks", "—")),
        ("响应率", pct(o["response_rate"]), pct(prev.get("response_rate"))),
        ("解决率", pct(o["resolution_rate"]), pct(prev.get("resolution_rate"))),
        ("满意率", pct(o["satisfaction_rate"]), pct(prev.get("satisfaction_rate"))),
        ("综合成绩", fmt_num(o["score"]), fmt_num(prev.get("score"))),
        ("单否 / 双否", f"{o['single_no']} / {o['double_no']}", f"{prev.get('single_no', '—')} / {prev.get('double_no', '—')}"),
    ]
    out.print(table(f"{data['street']} {data['period']['label']}", ["指标", "本月", "上月"], rows))
    files = data.get("files", {})
    if files:
        out.print(f"报告：{files['html']}")
        out.print(f"工作簿：{files['xlsx']}")
    for note in data["notes"]:
        out.print(f"说明：{note}")
