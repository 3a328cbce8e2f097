import csv
import io
import json
import os

import openpyxl
import orjson
import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.config import Settings
from gaopin.io.load import load
from gaopin.rules.warn import warn
from tests.io.test_sniff import needs_mkfifo, within_seconds

HEADER = ["工单编号", "来电时间", "来电人", "来电人电话/账号", "被反映街乡镇", "村/社区", "小区点位", "问题分类", "标题", "是否有效回访", "是否解决", "是否满意", "主办单位"]
ROWS = [
    ["A1", "2024-08-03 09:01", "张三", 13812345678, "新村街道", "恰海社区", "北京市丰台区新村街道恰海小区３号楼2单元301", "城市管理->动物->流浪猫", "猫被困 13812345678", "是", "解决", "满意", "恰海社区"],
    ["A2", "2024-08-03 09:03", "李四", 13912345678, "新村街道", "恰海社区", "恰海小区三号楼", "城市管理->动物->流浪猫", "猫", "是", "未解决", "不满意", "恰海社区"],
    ["A3", "2024-08-03 09:05", "王五", "13712345678", "新村街道", "恰海社区", "恰海小区3栋402室", "城市管理->动物->流浪猫", "猫", "是", "未解决", "满意", "恰海社区"],
    ["A4", "2024-08-05 10:00", "赵六", "13612345678", "新村街道", "桥一社区", "桥一小区6号楼", "城市管理->噪声扰民->生活噪声", "敲墙", "是", "解决", "满意", "桥一社区"],
]


@pytest.fixture
def export(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in ROWS:
        ws.append(r)
    path = tmp_path / "tickets.xlsx"
    wb.save(path)
    return path


runner = CliRunner()


def test_json_output_is_what_the_library_returns(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["warn", str(export), "--format", "json"])
    assert result.exit_code == 0, result.output
    expected = warn(load([export], Settings()), Settings()).to_dict()
    assert json.loads(result.stdout) == expected
    # Byte for byte as to_dict's JSON (the command writes the dataclasses themselves: json_ready).
    assert result.stdout_bytes == orjson.dumps(expected, option=orjson.OPT_APPEND_NEWLINE)
    assert [w["rule"] for w in expected["warnings"]] == ["point_day"]
    assert [e["level"] for e in expected["escalations"]] == ["双否", "单否"]


def test_text_output_names_the_rule_point_and_tickets(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["warn", str(export)])
    assert result.exit_code == 0
    for text in ["单日同点位", "恰海小区3号楼", "A1、A2、A3", "未分配", "双否"]:
        assert text in result.stdout
    assert "13812345678" not in result.stdout


def test_warn_reads_every_sheet_of_tickets_and_says_which(tmp_path, monkeypatch):
    """The tickets of one point split over two sheets make a warning only when both are read."""
    monkeypatch.chdir(tmp_path)
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "第一批"
    second = wb.create_sheet("第二批")
    wb.create_sheet("说明").append(["导出说明"])
    for ws, rows in ((first, ROWS[:2]), (second, ROWS[2:])):
        ws.append(HEADER)
        for r in rows:
            ws.append(r)
    path = tmp_path / "split.xlsx"
    wb.save(path)
    result = runner.invoke(app, ["warn", str(path)])
    assert result.exit_code == 0, result.output
    assert "A1、A2、A3" in result.stdout
    assert "split.xlsx 有 3 张工作表：读取了 “第一批”、“第二批”；没有读取 “说明”（没有工单表头）。" in result.stdout


def test_a_file_or_sheet_named_after_a_caller_is_masked_in_the_notes_of_warn_and_report(tmp_path, monkeypatch):
    """The notes name the files and sheets read; they go into the attachment and the report too."""
    monkeypatch.chdir(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.title = "八月"
    wb.active.append(HEADER)
    for r in ROWS:
        wb.active.append(r)
    wb.create_sheet("回访13912345678").append(HEADER)  # a header and no tickets: named in a note
    path = tmp_path / "张三13812345678.xlsx"
    wb.save(path)
    shown = {"张三13812345678.xlsx", "回访13912345678"}
    masked = {"张三138****5678.xlsx", "回访139****5678"}
    notes = "\n".join(json.loads(runner.invoke(app, ["warn", str(path), "-f", "json"]).stdout)["notes"])
    assert all(m in notes for m in masked) and not any(s in notes for s in shown)
    notes = "\n".join(json.loads(runner.invoke(app, ["warn", str(path), "-f", "json", "--show-phones"]).stdout)["notes"])
    assert all(s in notes for s in shown)
    out = tmp_path / "report"
    done = runner.invoke(app, ["report", str(path), "--month", "8", "--year", "2024", "--out", str(out)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(out / "report.xlsx")
    cells = "\n".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None)
    written = done.stdout + (out / "report.html").read_text(encoding="utf-8") + cells
    assert all(m in written for m in masked) and "13812345678" not in written and "13912345678" not in written


def test_warn_import_and_report_take_the_reading_flags_inspect_and_clean_have(tmp_path, monkeypatch):
    """--sheet, --header-row and --encoding, as data-format.md gives them to every command that
    reads files (warn said 没有 --sheet 这个选项)."""
    monkeypatch.chdir(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.title = "上周"
    wb.active.append(["上周工单导出"])  # a title row above the header
    wb.active.append(HEADER)
    for r in ROWS[:3]:
        wb.active.append(r)
    other = wb.create_sheet("本周")
    other.append(HEADER)
    other.append(ROWS[3])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    both = json.loads(runner.invoke(app, ["warn", str(path), "-f", "json"]).stdout)
    last_week = json.loads(runner.invoke(app, ["warn", str(path), "--sheet", "上周", "--header-row", "2", "-f", "json"]).stdout)
    assert [w["ticket_ids"] for w in last_week["warnings"]] == [["A1", "A2", "A3"]] == [w["ticket_ids"] for w in both["warnings"]]
    assert "two.xlsx 有 2 张工作表：读取了 “上周”、“本周”。" in both["notes"]
    assert not any("本周" in n for n in last_week["notes"])
    this_week = runner.invoke(app, ["warn", str(path), "--sheet", "本周", "-f", "json"])
    assert this_week.exit_code == 0 and json.loads(this_week.stdout)["warnings"] == []
    done = runner.invoke(app, ["import", str(path), "--sheet", "本周", "--db", str(tmp_path / "g.db"), "-f", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["new"] == 1
    csv_path = tmp_path / "gbk.csv"
    with csv_path.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *ROWS])
    report = runner.invoke(app, ["report", str(csv_path), "--encoding", "gb18030", "--month", "8", "--year", "2024", "--out", str(tmp_path / "r")])
    assert report.exit_code == 0, report.output
    wrong = runner.invoke(app, ["report", str(csv_path), "--encoding", "utf-8", "--month", "8", "--year", "2024", "--out", str(tmp_path / "r2")])
    assert wrong.exit_code == 5


def test_fail_on_alert_exits_3_only_with_warnings(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["warn", str(export), "--fail-on-alert"]).exit_code == 3
    assert runner.invoke(app, ["warn", str(export), "--fail-on-alert", "--date", "2024-08-05"]).exit_code == 0


def test_date_option_filters_and_bad_dates_are_usage_errors(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["warn", str(export), "--date", "2024-08-05", "-f", "json"])
    assert json.loads(result.stdout)["warnings"] == []
    bad = runner.invoke(app, ["warn", str(export), "--date", "8月5日"])
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.output


def test_an_export_none_of_whose_times_can_be_read_is_refused_not_all_clear(tmp_path, monkeypatch):
    """US month-first times: every ticket would be left out and warn would say all is well."""
    monkeypatch.chdir(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in ROWS:
        wb.active.append([r[0], f"8/{r[1][8:10].lstrip('0')}/2024 {r[1][11:]}", *r[2:]])
    wb.save(tmp_path / "us.xlsx")
    result = runner.invoke(app, ["warn", str(tmp_path / "us.xlsx")])
    assert result.exit_code == 5
    assert result.stdout == ""
    assert "“来电时间”列（受理时间）没有一个能读出来（4 个），例如“8/3/2024 09:01”" in result.stderr
    assert "[load] 中用 date_format" in result.stderr and "Traceback" not in result.output
    # What the hint says works.
    fixed = runner.invoke(app, ["warn", str(tmp_path / "us.xlsx")], env={"GAOPIN_LOAD__DATE_FORMAT": "%m/%d/%Y %H:%M"})
    assert fixed.exit_code == 0 and "A1、A2、A3" in fixed.stdout


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_output_files(export, tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"warnings{suffix}"
    result = runner.invoke(app, ["warn", str(export), "--output", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".xlsx":
        wb = openpyxl.load_workbook(out)
        assert wb.sheetnames == ["预警", "提级办理", "说明"]
        ws = wb["预警"]
        assert [c.value for c in ws[1]][:3] == ["规则", "点位", "社区"]
        assert ws["B2"].value == "恰海小区3号楼"
        assert ws.freeze_panes == "A2"
        assert wb["提级办理"].max_row == 3
    elif suffix == ".csv":
        text = out.read_bytes()
        assert text.startswith(b"\xef\xbb\xbf")
        assert "恰海小区3号楼" in text.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
        assert [(r["类型"], r["件数"], r["人数"]) for r in rows] == [("预警", "3", "3"), ("提级办理", "", ""), ("提级办理", "", "")]
    else:
        assert json.loads(out.read_text("utf-8"))["warnings"][0]["ticket_ids"] == ["A1", "A2", "A3"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json"):
            assert "13812345678" not in path.read_text("utf-8-sig")


def test_unknown_output_format_is_refused_before_anything_is_written(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["warn", str(export), "--output", str(tmp_path / "w.pdf")])
    assert result.exit_code == 2
    assert not (tmp_path / "w.pdf").exists()


def test_owners_from_the_config_file(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gaopin.toml").write_text('[owners]\ncenter_head = "李主任"\n[owners.communities]\n恰海社区 = "张书记"\n', encoding="utf-8")
    result = runner.invoke(app, ["warn", str(export)])
    assert result.exit_code == 4
    assert '中文的键名要加英文双引号，例如 "恰海社区"' in result.stderr
    (tmp_path / "gaopin.toml").write_text('[owners]\ncenter_head = "李主任"\n[owners.communities]\n"恰海社区" = "张书记"\n', encoding="utf-8")
    result = runner.invoke(app, ["warn", str(export)])
    assert "中心负责人：李主任" in result.stdout and "张书记" in result.stdout


def test_limit_keeps_the_latest_rows_on_the_terminal(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(app, ["warn", str(export), "--limit", "1"])
    assert "较早的 1 件未显示" in shown.stdout
    assert "A3" in shown.stdout and "│ 双否 │ A2" not in shown.stdout  # the later escalation stays
    full = runner.invoke(app, ["warn", str(export), "--limit", "0"])
    assert "未显示" not in full.stdout and "A2" in full.stdout


def test_an_output_that_is_the_input_export_is_refused_before_anything_is_written(export, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = export.read_bytes()
    for name in (str(export), "tickets.xlsx", "./tickets.xlsx"):
        result = runner.invoke(app, ["warn", str(export), "--output", name])
        assert result.exit_code == 2, result.output
        assert "就是输入的导出文件" in result.stderr
    assert export.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "_home") == ["tickets.xlsx"]


def test_warn_reads_a_csv_ahead_and_reports_what_it_reported_without(tmp_path, monkeypatch):
    import threading

    from gaopin.io import ahead, csvfile

    path = tmp_path / "tickets.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *ROWS])
    plain = runner.invoke(app, ["warn", str(path), "--format", "json"])
    assert plain.exit_code == 0, plain.output
    seen = []
    read_table = csvfile._read_table

    def recorded(path, read):
        seen.append(threading.current_thread().name)
        return read_table(path, read)

    monkeypatch.setattr(csvfile, "_read_table", recorded)
    result = runner.invoke(app, ["warn", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert seen == [ahead.THREAD_NAME]
    assert result.stdout == plain.stdout
    assert json.loads(result.stdout)["warnings"]


def test_text_output_prints_brackets_from_notes_and_tickets_as_they_are(tmp_path, monkeypatch):
    """rich took "[filters]" in a note, and "[east]" in a community, for styles and dropped them."""
    monkeypatch.chdir(tmp_path)
    rows = [[f"B{i}", f"2024-08-03 09:0{i}", "张三", "", "新村街道", "[east]社区", "恰海小区3号楼", "城市管理->动物->流浪猫", "猫被困", "是", "解决", "满意", "恰海社区"] for i in range(3)]
    rows.append(["B9", "2024-08-03 10:00", "李四", "", "新村街道", "恰海社区", "恰海小区5号楼", "城市管理->动物->流浪猫", "猫", "是", "解决", "满意", "恰海社区"])
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER + ["工单类型"])
    for r in rows:
        wb.active.append(r + (["咨询"] if r[0] == "B9" else ["投诉"]))
    wb.save(path)
    (tmp_path / "gaopin.toml").write_text('[filters]\nexclude = { "工单类型" = ["咨询"] }\n', encoding="utf-8")
    result = runner.invoke(app, ["warn", str(path), "--config", str(tmp_path / "gaopin.toml")])
    assert result.exit_code == 0, result.output
    assert "按 [filters] 剔除了 1 张工单类型为 咨询 的工单。" in result.stdout
    assert "[east]社区" in result.stdout


def _dispatched_export(tmp_path):
    """Six complaints about one point in a day, three of them 区级派单 (a field warn itself does not use)."""
    path = tmp_path / "dispatch.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER + ["派单方式", "主要内容"])
    for i in range(6):
        way = "区级派单" if i % 2 else "市级派单（直派）"
        wb.active.append([f"D{i}", f"2024-08-03 09:0{i}", f"人{i}", f"1381234560{i}", "新村街道", "恰海社区", "恰海小区3号楼", "城市管理->动物->流浪猫", "猫", "是", "解决", "满意", "恰海社区", way, f"内容{i}"])
    wb.save(path)
    return path


@pytest.mark.parametrize("key", ["派单方式", "dispatch", "派单类别"])
def test_a_filter_on_a_field_warn_does_not_use_still_drops_tickets_from_files_and_from_the_store(tmp_path, monkeypatch, key):
    """warn read only the fields its rules use: a [filters] rule on 派单方式 matched the blank
    column it got and dropped nothing, without a note."""
    monkeypatch.chdir(tmp_path)
    path = _dispatched_export(tmp_path)
    value = "区派" if key == "派单类别" else "区级派单"
    (tmp_path / "gaopin.toml").write_text(f'[filters]\nexclude = {{ "{key}" = ["{value}"] }}\n', encoding="utf-8")
    config = ["--config", str(tmp_path / "gaopin.toml")]
    from_file = runner.invoke(app, ["warn", str(path), "--format", "json", *config])
    assert from_file.exit_code == 0, from_file.output
    assert runner.invoke(app, ["import", str(path), "--db", str(tmp_path / "s.db"), *config]).exit_code == 0
    from_store = runner.invoke(app, ["warn", "--db", str(tmp_path / "s.db"), "--format", "json", *config])
    assert from_store.exit_code == 0, from_store.output
    for result in (from_file, from_store):
        report = json.loads(result.stdout)
        named = "派单类别" if key == "派单类别" else "派单方式"  # dispatch: said by its label
        assert f"按 [filters] 剔除了 3 张{named}为 {value} 的工单。" in report["notes"]
        assert [w["ticket_ids"] for w in report["warnings"]] == [["D0", "D2", "D4"]]


def test_a_filter_on_a_field_the_export_lacks_is_reported_not_matched_blank(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in ROWS:
        wb.active.append(r)
    wb.save(path)
    (tmp_path / "gaopin.toml").write_text('[filters]\nexclude = { "主要内容" = [""] }\n', encoding="utf-8")
    result = runner.invoke(app, ["warn", str(path), "--format", "json", "--config", str(tmp_path / "gaopin.toml")])
    assert result.exit_code == 0, result.output
    assert "[filters] 中的字段“主要内容”在数据中不存在，这条筛选没有生效。" in json.loads(result.stdout)["notes"]


@needs_mkfifo
def test_a_named_pipe_as_the_export_is_one_line_of_error_not_a_wait(tmp_path, monkeypatch):
    """`mkfifo p; gaopin warn p` waited for ever for something to write into the pipe."""
    monkeypatch.chdir(tmp_path)
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    result = within_seconds(lambda: runner.invoke(app, ["warn", "p"]), fifo)
    assert result.exit_code == 5, result.output
    assert result.stderr.splitlines() == ["错误：p 不是普通文件（是命名管道），gaopin 只读取导出的文件", "提示：请先把导出保存成文件再读取"]
    assert result.stdout == ""


@pytest.mark.parametrize("given, hint", [
    ("flag", "请检查 --db 的路径"),
    ("GAOPIN_DB", "请检查环境变量 GAOPIN_DB 或配置 [store] path 中的路径"),
    ("config", "请检查环境变量 GAOPIN_DB 或配置 [store] path 中的路径"),
])  # fmt: skip
def test_a_given_store_that_does_not_exist_is_refused_not_read_as_no_links(export, tmp_path, given, hint):
    """`warn FILE --db typo.db` ran without the person links (ledger link) of the store meant."""
    typo = tmp_path / "typo.db"
    args, env = ["warn", str(export)], {}
    if given == "flag":
        args += ["--db", str(typo)]
    elif given == "GAOPIN_DB":
        env["GAOPIN_DB"] = str(typo)
    else:
        (tmp_path / "gaopin.toml").write_text(f'[store]\npath = "{typo.name}"\n', encoding="utf-8")
    result = runner.invoke(app, args, env=env)
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.splitlines()[0] == f"错误：工单库 {typo} 不存在"
    assert result.stderr.splitlines()[1].startswith(f"提示：{hint}") and "gaopin import" in result.stderr
    assert not list(tmp_path.glob("typo*"))


def test_the_default_store_never_created_is_no_error_with_files(export, tmp_path):
    """An office that never imported reads its exports; no store is made for it."""
    from gaopin.store.store import default_db_path

    result = runner.invoke(app, ["warn", str(export)])
    assert result.exit_code == 0, result.output
    assert not default_db_path().exists()
