"""`gaopin report` on the terminal: which month and year it reports on, and how it shows the figures."""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from tests.builders import halves_rows, write_csv
from tests.io.test_sniff import needs_mkfifo, within_seconds

runner = CliRunner()
HEADER = "工单编号,来电时间,村/社区,问题分类,主办单位,派单方式,是否有效回访,是否联系,是否解决,是否满意,被反映街乡镇"


def export(path, days):
    """A CSV export with one ticket received on each of `days` (YYYY-MM-DD)."""
    lines = [HEADER] + [f"T{i:03d},{day} 10:00:00,A社区,a->b,U1,市级派单,是,是,是,满意,新村街道" for i, day in enumerate(days)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_previous_period_without_tickets_is_shown_as_missing(tmp_path):
    data = export(tmp_path / "jan.csv", ["2024-01-02", "2024-01-03", "2024-01-04"])
    result = runner.invoke(app, ["report", str(data), "--month", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]] for line in result.stdout.splitlines() if line.count("│") == 4}
    assert rows["受理量"] == ["3", "—"] and rows["有效回访"] == ["3", "—"]
    assert rows["单否 / 双否"] == ["0 / 0", "— / —"]
    assert rows["综合成绩"][1] == "—"
    assert "说明：数据中没有上一统计期（2023-12-01 至 2023-12-31）的工单，不与上一统计期比较。" in result.stdout


@pytest.mark.parametrize("args, said", [
    (["--month", "0"], ["错误：月份 0 不对", "提示：--month 应在 1 到 12 之间"]),
    (["--month", "13"], ["错误：月份 13 不对", "提示：--month 应在 1 到 12 之间"]),
    (["--month", "0", "--email"], ["错误：月份 0 不对", "提示：--month 应在 1 到 12 之间"]),  # before the mail settings are looked at
    ([], ["错误：请用 --month 指定月份", "提示：例如 gaopin report --month 8；定时运行可用 --last"]),
    (["--last", "--month", "0"], ["错误：--last 不能与 --month/--year 同时使用", "提示：定时运行用 --last，补发某个月用 --month 和 --year"]),
])  # fmt: skip
def test_a_wrong_or_missing_month_is_named(tmp_path, args, said):
    data = export(tmp_path / "aug.csv", ["2024-08-02"])
    result = runner.invoke(app, ["report", str(data), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == said
    assert not (tmp_path / "out").exists()


def test_a_file_without_tickets_is_said_to_be_empty_not_without_times(tmp_path):
    """A header-only export gave 数据中没有可识别的受理时间."""
    data = export(tmp_path / "空.csv", [])
    result = runner.invoke(app, ["report", str(data), "--month", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "错误：空.csv 中没有工单，无法确定年份",
        "提示：如不应为空，请检查导出时选的日期范围（被拒收的行用 gaopin inspect 查看）；要生成没有工单的报告，请用 --year 指定年份",
    ]


COLUMNS = {
    "ticket_id": "工单编号", "received_at": "来电时间", "community": "村/社区", "category": "问题分类", "unit": "主办单位",
    "dispatch": "派单方式", "valid_callback": "是否有效回访", "contacted": "是否联系", "resolved": "是否解决",
    "satisfied": "是否满意", "street": "被反映街乡镇",
}


def test_the_terminal_rounds_rates_and_scores_as_the_workbook_shows_them(tmp_path):
    rows = [{**r, "ticket_id": f"R{i:03d}"} for i, r in enumerate(halves_rows())]
    export = write_csv(tmp_path / "tickets.csv", [list(COLUMNS.values())] + [[r[k] for k in COLUMNS] for r in rows])
    done = runner.invoke(app, ["report", "--month", "8", "--year", "2024", str(export), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    table = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]] for line in done.stdout.splitlines() if line.count("│") == 4}
    # 满意率 0.9725: report.xlsx shows 97.3% (Python's f-string gave 97.2%).
    assert table["满意率"] == ["97.3%", "97.5%"]
    assert table["响应率"] == ["98.8%", "100.0%"]
    assert table["综合成绩"] == ["97.53", "97.75"]
    assert "满意率 97.3%" in done.stdout.replace("\n", "")


def test_help_lists_the_usage_exit_code_and_points_to_the_table():
    """It listed 4/5/6/7/8/9, while a wrong option exits 2 (review D10)."""
    help_text = " ".join(runner.invoke(app, ["report", "--help"], terminal_width=400).stdout.split())
    assert "退出码 2（用法）或 4/5/6/7/8/9 结束（见 docs/data-format.md 的退出码表）" in help_text
    assert runner.invoke(app, ["report", "--month", "8", "--last"]).exit_code == 2


@needs_mkfifo
def test_a_named_pipe_as_the_export_is_refused_before_a_report_is_made(tmp_path):
    """`gaopin report p --month 8` with a named pipe p waited for ever; nothing is written."""
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    result = within_seconds(lambda: runner.invoke(app, ["report", str(fifo), "--month", "8", "--out", str(out)]), fifo)
    assert result.exit_code == 5, result.output
    assert result.stderr.splitlines() == [f"错误：{fifo} 不是普通文件（是命名管道），gaopin 只读取导出的文件", "提示：请先把导出保存成文件再读取"]
    assert not out.exists()


def test_the_current_month_without_tickets_yet_gives_no_change_against_the_last(tmp_path):
    """`report --month 9` on August's export: the page's cards read 受理量 -3 against August."""
    data = export(tmp_path / "aug.csv", ["2024-08-02", "2024-08-03", "2024-08-31"])
    out = tmp_path / "out"
    done = runner.invoke(app, ["report", str(data), "--month", "9", "--out", str(out), "--format", "json"])
    assert done.exit_code == 0, done.output
    overall = json.loads(done.stdout)["overall"]
    assert overall["previous"]["tickets"] == 3 and set(overall["change"].values()) == {None}
    page = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert re.findall(r'<div class="d">([^<]*)</div>', page) == [""] * 6


def test_a_report_from_files_with_a_given_store_that_does_not_exist_is_refused(tmp_path):
    """`report FILE --db typo.db` ran without the person links of the store meant."""
    data = export(tmp_path / "aug.csv", ["2024-08-02"])
    typo = tmp_path / "typo.db"
    result = runner.invoke(app, ["report", str(data), "--month", "8", "--out", str(tmp_path / "out"), "--db", str(typo)])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.splitlines()[0] == f"错误：工单库 {typo} 不存在"
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("typo*"))


def test_a_report_from_files_leaves_the_store_unopened(tmp_path):
    """The report from files takes nothing from the store (the page says so), but it opened it
    for person links it never used: a store that cannot be read stopped the report."""
    data = export(tmp_path / "aug.csv", ["2024-08-02", "2024-08-03"])
    unreadable = tmp_path / "old.db"
    unreadable.write_bytes(b"not a database, " * 64)
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", str(data), "--month", "8", "--out", str(out), "--db", str(unreadable), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["tickets"] == 2
    assert unreadable.read_bytes() == b"not a database, " * 64 and sorted(p.name for p in tmp_path.glob("old.db*")) == ["old.db"]


def test_a_report_file_that_cannot_be_written_is_named_where_the_report_goes(tmp_path, monkeypatch):
    """On a full disk the message named report.xlsx in the hidden staging folder
    (…/.gaopin-tmp.host.123.x/report.xlsx), which the user cannot find and which is gone."""
    import gaopin.reports.run as report_run
    from gaopin.errors import InputError

    def full_disk(report, path):
        raise InputError(f"无法写入 {path}：磁盘已满", "请换一个可写的位置或文件名")

    monkeypatch.setattr(report_run, "write_workbook", full_disk)
    data = export(tmp_path / "aug.csv", ["2024-08-02"])
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", str(data), "--month", "8", "--out", str(out)])
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == f"错误：无法写入 {out.resolve() / 'report.xlsx'}：磁盘已满"
    assert not out.exists() and not [name for name in os.listdir(tmp_path) if name.startswith(".")]
