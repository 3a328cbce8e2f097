"""`gaopin inspect`, `clean` and `init` as a person runs them, errors included."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.config import Settings, load_settings, render_default_toml
from gaopin.errors import ExitCode
from gaopin.io.inspect import inspect_files
from gaopin.schema import CANONICAL_COLUMNS
from tests.builders import STANDARD_HEADER, write_bytes, write_csv, write_xlsx

DATA = Path(__file__).resolve().parent.parent / "data"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _export(folder: Path, name: str = "aug.xlsx") -> Path:
    return write_xlsx(
        folder / name,
        [
            ["新村街道 12345 工单明细"],
            STANDARD_HEADER + ["备注"],
            ["A1", dt.datetime(2024, 8, 3, 14, 5), "张三", 13812345678, "恰海小区1号楼", "城乡建设->市容环境", "已解决", "满意", "市派", "x"],
            ["A2", "2024年8月5日 9时30分", "李四", "1.38123E+10", "桥一小区", "城乡建设-->物业", "未解决", "不满意", "区级", ""],
            ["A3", "不详", "王五", "010-65123456", "桥一小区", "交通", "部分解决", "基本满意", "", ""],
            ["A1", "", "", "", "", "", "未解决", "", "", ""],
        ],
        merge=["A1:J1"],
    )


# --- inspect ------------------------------------------------------------------------------


def test_inspect_text(tmp_path):
    result = run("inspect", _export(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "工作表“Sheet1”" in out and "表头在第 2 行" in out
    for header, field in [("工单编号", "ticket_id"), ("受理时间", "received_at"), ("来电号码", "caller_phone"), ("问题分类", "category")]:
        assert header in out and field in out
    assert "备注" in out and "未使用" in out
    assert "共读取 4 行，3 张工单（去重后）" in out
    assert "2024-08-03 至 2024-08-05" in out
    assert "字段填充率" in out and "100.0%" in out
    assert "不详" in out and "受理时间无法识别" in out  # the unparsed date with its row
    # Each kind of problem by the name data-format.md gives it, not its JSON key.
    assert "重复的工单编号" in out and "工单编号重复出现 2 次" in out and "读不出的日期" in out and "可疑号码" in out
    assert "发现的问题（读不出的日期 1，重复的工单编号 1，可疑号码 1）" in out
    assert not any(key in out for key in ("duplicate", "date 1", "phone 1", "│ date", "│ phone"))
    assert "科学计数法" in out
    assert "1.3****E+10" in out and "1.38123E+10" not in out  # suspicious phones are masked too
    assert result.stderr == ""


def test_inspect_rounds_a_fill_rate_half_away_from_zero(tmp_path):
    # 77 of 80 addresses: 96.25%, shown 96.3% as the workbook's 0.0% would (an f-string gave 96.2%).
    rows = [["工单编号", "受理时间", "诉求地址"]] + [[f"A{i}", "2024-08-01 09:00", "甲小区" if i < 77 else ""] for i in range(80)]
    result = run("inspect", write_csv(tmp_path / "fill.csv", rows))
    assert result.exit_code == 0, result.output
    assert "96.3%" in result.stdout and "96.2%" not in result.stdout


def test_inspect_lists_an_export_none_of_whose_times_can_be_read(tmp_path):
    """inspect is where a person looks for what is wrong: it shows the file, the others refuse it."""
    path = write_csv(tmp_path / "us.csv", [["工单编号", "受理时间", "诉求地址"], ["A1", "8/1/2024 09:00", "甲小区"], ["A2", "8/2/2024 09:00", "乙小区"]])
    result = run("inspect", path, "--format", "json")
    assert result.exit_code == 0, result.output
    whole = [p for p in json.loads(result.stdout)["problems"] if p["row"] is None]
    assert [p["kind"] for p in whole] == ["date"]
    assert "没有一个能读出来（2 个）" in whole[0]["message"] and "date_format" in whole[0]["message"]
    _assert_error(run("clean", path, "-o", tmp_path / "c.csv"), ExitCode.INPUT, "没有一个能读出来", "8/1/2024 09:00")
    assert not (tmp_path / "c.csv").exists()


def test_a_header_row_that_is_a_data_row_is_said_to_be_one(tmp_path):
    """--header-row 3 on a data row read as columns missing, with advice about [columns]."""
    path = _export(tmp_path)
    result = run("inspect", path, "--header-row", "3")
    assert result.exit_code == 5
    message, hint = result.stderr.strip().splitlines()
    assert message == f"错误：{path} 的第 3 行不是表头（没有认出一个字段名，像是一行工单）；表头在第 2 行"
    assert hint == "提示：请改正 --header-row 或 gaopin.toml 的 [load] header_row：写 2，或写 0 让 gaopin 自动识别"
    assert run("inspect", path, "--header-row", "2").exit_code == 0


def test_inspect_json_equals_the_library(tmp_path):
    path = _export(tmp_path)
    result = run("inspect", path, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads(json.dumps(inspect_files([path], load_settings()), ensure_ascii=False))
    assert report["files"][0]["header_row"] == 2 and report["files"][0]["sheet"] == "Sheet1"
    assert report["rows_read"] == 4 and report["tickets"] == 3
    assert report["date_range"] == {"start": "2024-08-03", "end": "2024-08-05"}
    assert report["fields"]["ticket_id"]["fill_rate"] == 1.0
    assert report["fields"]["received_at"]["fill_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert "closed_at" in report["missing_fields"]
    dates = [p for p in report["problems"] if p["kind"] == "date"]
    assert [(Path(p["file"]).name, p["row"], p["value"]) for p in dates] == [("aug.xlsx", 5, "不详")]
    columns = {c["header"]: c["field"] for c in report["files"][0]["columns"]}
    assert columns["备注"] is None and columns["工单编号"] == "ticket_id"
    assert report["problem_counts"] == {"date": 1, "duplicate": 1, "phone": 1}


def test_inspect_show_phones(tmp_path):
    result = run("inspect", _export(tmp_path), "--format", "json", "--show-phones")
    phones = [p["value"] for p in json.loads(result.stdout)["problems"] if p["kind"] == "phone"]
    assert phones == ["1.38123E+10"]


def test_inspect_masks_a_number_quoted_in_a_problem_message(tmp_path):
    """A number typed into a yes/no column: masked in the message that quotes it, as in the value column."""
    path = write_csv(
        tmp_path / "t.csv",
        [["工单编号", "受理时间", "是否解决", "是否满意"], ["A1", "2024-08-03", "13812345678", "满意"], ["A2", "2024-08-04", "否", "请回电138—1234—5678"]],
    )
    text = run("inspect", path)
    assert text.exit_code == 0, text.output
    assert "是否解决的取值“138****5678”无法识别，已原样保留（共 1 行）" in text.stdout
    assert "是否满意的取值“请回电138****5678”无法识别" in text.stdout
    assert "13812345678" not in text.stdout and "1234—5678" not in text.stdout
    report = json.loads(run("inspect", path, "-f", "json").stdout)
    values = [(p["value"], p["message"]) for p in report["problems"] if p["kind"] == "value"]
    assert values == [
        ("138****5678", "是否解决的取值“138****5678”无法识别，已原样保留（共 1 行）"),
        ("请回电138****5678", "是否满意的取值“请回电138****5678”无法识别，已原样保留（共 1 行）"),
    ]
    shown = json.loads(run("inspect", path, "-f", "json", "--show-phones").stdout)
    assert [p["message"] for p in shown["problems"] if p["kind"] == "value"][0] == "是否解决的取值“13812345678”无法识别，已原样保留（共 1 行）"


def test_inspect_alias_priority_shows_the_other_column_unused(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "派单时间", "受理时间"], ["A1", "2024-08-05", "2024-08-03"]])
    report = json.loads(run("inspect", path, "-f", "json").stdout)
    columns = {c["header"]: (c["field"], c["note"]) for c in report["files"][0]["columns"]}
    assert columns["受理时间"] == ("received_at", "")
    assert columns["派单时间"][0] is None and "受理时间" in columns["派单时间"][1]
    assert report["date_range"]["start"] == "2024-08-03"
    text = run("inspect", path).stdout
    assert "派单时间" in text and "未使用" in text


def test_inspect_several_files_and_flags(tmp_path):
    first = write_csv(tmp_path / "a.csv", [["工单编号", "受理时间", "诉求人"], ["A1", "2024-08-03", "王䶮"]], encoding="gb18030")
    second = write_xlsx(
        tmp_path / "b.xlsx",
        [["x"]],
        extra_sheets={"八月": [["说明"], ["工单编号", "受理时间"], ["A1", "2024-08-04"], ["A2", "2024-08-05"]]},
    )
    gb = run("inspect", first, "--encoding", "gb18030", "-f", "json")
    assert json.loads(gb.stdout)["files"][0]["encoding"] == "gb18030"
    both = run("inspect", second, "--sheet", "八月", "--header-row", "2", "-f", "json")
    assert both.exit_code == 0, both.output
    report = json.loads(both.stdout)
    assert report["files"][0]["sheet"] == "八月" and report["files"][0]["header_row"] == 2
    merged = json.loads(run("inspect", first, second, "--sheet", "八月", "-f", "json").stdout)
    assert merged["rows_read"] == 3 and merged["tickets"] == 2


def test_inspect_reads_every_sheet_of_tickets_and_says_which(tmp_path):
    path = write_xlsx(
        tmp_path / "split.xlsx",
        [["本表为 12345 工单导出"]],
        sheet="说明",
        extra_sheets={
            "上周": [["工单编号", "受理时间"], ["OLD", "2024-07-03"]],
            "第一批": [["工单编号", "受理时间"], ["A1", "2024-08-03"], ["A2", "2024-08-04"]],
            "第二批": [["工单编号", "受理时间"], ["A3", "2024-08-05"], ["", "2024-08-06"]],
        },
    )
    book = openpyxl.load_workbook(path)
    book["上周"].sheet_state = "hidden"
    book.save(path)
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "工作表“第一批”" in out and "工作表“第二批”" in out and "工作表“上周”" not in out
    assert "split.xlsx 有 4 张工作表：读取了 “第一批”、“第二批”；没有读取 “说明”（没有工单表头），“上周”（隐藏）。" in out
    assert "共读取 4 行，3 张工单（去重后），拒收 1 行" in out
    assert "split.xlsx［第二批］" in out  # the rejected row's sheet
    report = json.loads(run("inspect", path, "-f", "json").stdout)
    assert [f["sheet"] for f in report["files"]] == ["第一批", "第二批"]
    assert report["sheet_notes"] == ["split.xlsx 有 4 张工作表：读取了 “第一批”、“第二批”；没有读取 “说明”（没有工单表头），“上周”（隐藏）。"]


def test_inspect_a_header_grouped_over_two_rows(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单明细"], ["工单编号", "来电时间", "诉求人信息", None], [None, None, "来电人", "来电人电话/账号"], ["A1", "2024-08-03 09:00", "张三", 13812345678]],
        merge=["A1:D1", "A2:A3", "B2:B3", "C2:D2"],
    )
    result = run("inspect", path, "-f", "json")
    report = json.loads(result.stdout)
    assert (report["files"][0]["header_row"], report["files"][0]["header_rows"], report["tickets"], report["rejected"]) == (2, 2, 1, 0)
    assert {c["header"]: c["field"] for c in report["files"][0]["columns"]}["来电人电话/账号"] == "caller_phone"
    assert "表头在第 2–3 行" in run("inspect", path).stdout


def test_inspect_an_old_xls_saved_under_an_xlsx_name(tmp_path):
    path = write_bytes(tmp_path / "工单.xlsx", (DATA / "legacy_export.xls").read_bytes())
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    assert "（xls，工作表“工单”" in result.stdout


def test_inspect_html_saved_as_xls_is_read(tmp_path):
    html = "<html><table><tr><td>工单编号</td><td>受理时间</td></tr><tr><td>001</td><td>2024/8/3 14:05</td></tr></table></html>"
    path = write_bytes(tmp_path / "export.xls", html.encode())
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    assert "html" in result.stdout and "None" not in result.stdout
    assert "1 张工单" in result.stdout


def test_inspect_english_export_with_config(tmp_path):
    (tmp_path / "gaopin.toml").write_text(
        """
[load]
date_format = "%m/%d/%Y %I:%M:%S %p"

[columns]
ticket_id = "Unique Key"
received_at = "Created Date"
category = ["Complaint Type", "Descriptor"]
""",
        encoding="utf-8",
    )
    path = write_csv(
        tmp_path / "311.csv",
        [["Unique Key", "Created Date", "Complaint Type", "Descriptor"], ["58934123", "08/03/2024 02:05:09 PM", "Noise", "Loud Music"]],
    )
    report = json.loads(run("inspect", path, "-f", "json").stdout)
    assert report["tickets"] == 1 and report["date_range"]["start"] == "2024-08-03"
    notes = {c["header"]: c["note"] for c in report["files"][0]["columns"]}
    assert notes["Unique Key"] == "[columns] 配置"


def test_inspect_text_is_not_read_as_markup(tmp_path):
    (tmp_path / "gaopin.toml").write_text('[columns]\nticket_id = "编号[新]"\ncaller_phone = "Phone"\n', encoding="utf-8")
    path = write_csv(
        tmp_path / "工单[8月].csv", [["编号[新]", "受理时间", "是否解决"], ["[bold]A1", "2024-08-03", "[red]待定[/red]"]]
    )
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "工单[8月].csv" in out and "编号[新]" in out
    assert "[columns] 配置" in out
    assert "[red]待定[/red]" in out
    assert "[columns] 中 caller_phone = 'Phone'" in out


# --- clean --------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_clean_to_csv(tmp_path):
    out = tmp_path / "out" / "clean.csv"
    result = run("clean", _export(tmp_path), "-o", out)
    assert result.exit_code == 0, result.output
    # The export's 4th data row repeats A1: said, as the rows that are not tickets of their own.
    assert "已写出 3 张工单到" in result.stdout and "（合并重复编号 1 行，见 gaopin inspect）" in result.stdout
    rows = _read_csv(out)
    assert list(rows[0]) == list(CANONICAL_COLUMNS)
    by_id = {r["ticket_id"]: r for r in rows}
    assert by_id["A1"]["received_at"] == "2024-08-03 14:05:00"
    assert by_id["A2"]["received_at"] == "2024-08-05 09:30:00"
    assert by_id["A3"]["received_at"] == ""  # kept, with an empty time
    assert by_id["A1"]["caller_phone"] == "138****5678"
    assert by_id["A3"]["caller_phone"] == "010****3456"
    assert by_id["A1"]["resolved"] == "否"  # the later row won
    assert by_id["A1"]["satisfied"] == "满意"  # its blank did not erase
    assert by_id["A1"]["category"] == "城乡建设->市容环境"
    assert (by_id["A1"]["dispatch_class"], by_id["A2"]["dispatch_class"], by_id["A3"]["dispatch_class"]) == ("市派", "区派", "")
    assert by_id["A1"]["closed_at"] == "" and by_id["A1"]["title"] == ""


def test_clean_show_phones(tmp_path):
    out = tmp_path / "clean.csv"
    assert run("clean", _export(tmp_path), "-o", out, "--show-phones").exit_code == 0
    assert {r["ticket_id"]: r["caller_phone"] for r in _read_csv(out)}["A1"] == "13812345678"


def _hostile(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "hostile.csv",
        [
            ["工单编号", "受理时间", "标题", "诉求内容", "诉求人"],
            ["A1", "2024-08-03", '=HYPERLINK("http://evil","点我")', "+1+2 请回电 13812345678", "@SUM(1)"],
            ["A2", "2024-08-03", "-2+3", "＝1+1", "\t=1"],
        ],
    )


def test_clean_csv_never_holds_a_formula(tmp_path):
    out = tmp_path / "clean.csv"
    assert run("clean", _hostile(tmp_path), "-o", out).exit_code == 0
    rows = {r["ticket_id"]: r for r in _read_csv(out)}
    assert rows["A1"]["title"] == '\'=HYPERLINK("http://evil","点我")'
    assert rows["A1"]["content"] == "'+1+2 请回电 138****5678"
    assert rows["A1"]["caller_name"] == "'@SUM(1)"
    assert rows["A2"]["title"] == "'-2+3" and rows["A2"]["content"] == "'＝1+1"
    for row in rows.values():
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r", "＝")) for v in row.values())


def test_clean_xlsx_holds_text_cells_only(tmp_path):
    out = tmp_path / "clean.xlsx"
    result = run("clean", _hostile(tmp_path), "-o", out, "--show-phones")
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header == list(CANONICAL_COLUMNS)
    row = {h: c for h, c in zip(header, ws[2])}
    assert row["title"].value == '=HYPERLINK("http://evil","点我")' and row["title"].data_type == "s"
    assert row["content"].value == "+1+2 请回电 13812345678"
    assert row["received_at"].value == "2024-08-03 00:00:00"
    assert all(c.data_type in ("s", "n") and (c.value is None or isinstance(c.value, str)) for r in ws.iter_rows(min_row=2) for c in r)


def test_clean_to_xlsx_says_which_cells_excel_cuts(tmp_path):
    """A 60,010-character 诉求内容 was cut at 32,767 characters without a word (review of round 13)."""
    source = tmp_path / "long.csv"
    source.write_text("工单编号,受理时间,诉求内容\nL1,2024-08-01 10:00," + "长" * 60_010 + "\nL2,2024-08-01 11:00,短\n", encoding="utf-8")
    result = run("clean", source, "-o", tmp_path / "clean.xlsx")
    assert result.exit_code == 0, result.output
    assert "有 1 个单元格超过 Excel 每格 32767 个字的上限" in result.stdout and ".csv" in result.stdout
    assert "上限" not in run("clean", source, "-o", tmp_path / "clean.csv").stdout


def test_clean_masks_names_when_configured(tmp_path):
    (tmp_path / "gaopin.toml").write_text("[privacy]\nmask_names = true\n", encoding="utf-8")
    out = tmp_path / "clean.csv"
    assert run("clean", _export(tmp_path), "-o", out).exit_code == 0
    assert {r["ticket_id"]: r["caller_name"] for r in _read_csv(out)}["A1"] == "张*"


def test_clean_header_only_export(tmp_path):
    out = tmp_path / "clean.csv"
    result = run("clean", write_csv(tmp_path / "t.csv", [STANDARD_HEADER]), "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8-sig").splitlines() == [",".join(CANONICAL_COLUMNS)]


def test_clean_refuses_other_output_formats(tmp_path):
    result = run("clean", _export(tmp_path), "-o", tmp_path / "clean.txt")
    assert result.exit_code == ExitCode.USAGE
    assert "错误：不支持的输出格式“.txt”" in result.stderr
    assert "提示：" in result.stderr and ".csv 或 .xlsx" in result.stderr


def test_clean_masks_a_number_typed_into_any_text_column(tmp_path):
    """An answer that cannot be read is kept as typed: a number in 是否解决 or 派单方式 is
    masked like one in a title; the ticket id is left as it is."""
    export = write_csv(tmp_path / "t.csv", [STANDARD_HEADER, ["A1", "2024-08-03 09:00", "张三", "13812345678", "恰海小区", "城乡建设", "13912345678", "满意", "回电 010-65123456"]])
    result = run("clean", export, "-o", tmp_path / "c.csv")
    assert result.exit_code == 0, result.output
    (row,) = _read_csv(tmp_path / "c.csv")
    assert row["resolved"] == "139****5678"
    assert row["dispatch"] == "回电 010****3456"
    assert row["ticket_id"] == "A1"
    assert not any(digits in value for value in row.values() for digits in ("13912345678", "65123456"))


def test_clean_refuses_to_overwrite_its_input(tmp_path):
    """`clean 导出.csv -o 导出.csv` would replace the export with its masked copy: the full
    numbers would be gone for good. Refused, through another spelling of the path too."""
    export = write_csv(tmp_path / "导出.csv", [STANDARD_HEADER, ["A1", "2024-08-03 09:00", "张三", "13812345678"]])
    before = export.read_bytes()
    (tmp_path / "sub").mkdir()
    for output in (export, tmp_path / "sub" / ".." / "导出.csv"):
        result = run("clean", export, "-o", output)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "就是输入的导出文件" in result.stderr
    assert export.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "_home") == ["sub", "导出.csv"]


def test_clean_env_config_override(tmp_path):
    (tmp_path / "gaopin.toml").write_text("[privacy]\nmask_phones = true\n", encoding="utf-8")
    out = tmp_path / "clean.csv"
    assert run("clean", _export(tmp_path), "-o", out, env={"GAOPIN_PRIVACY__MASK_PHONES": "false"}).exit_code == 0
    assert {r["ticket_id"]: r["caller_phone"] for r in _read_csv(out)}["A1"] == "13812345678"


# --- init ---------------------------------------------------------------------------------


def test_init_writes_the_defaults(tmp_path):
    target = tmp_path / "conf" / "gaopin.toml"
    result = run("init", target)
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == render_default_toml()
    assert load_settings(target, environ={}) == dataclasses.replace(Settings(), source=str(target))
    again = run("init", target)
    assert again.exit_code == ExitCode.CONFIG
    assert "已存在" in again.stderr and "--force" in again.stderr
    assert run("init", target, "--force").exit_code == 0


def test_init_onto_a_folder_is_a_clean_error(tmp_path):
    (tmp_path / "conf").mkdir()
    result = run("init", tmp_path / "conf", "--force")
    assert result.exit_code == ExitCode.INPUT, result.output
    assert f"错误：无法写入 {tmp_path / 'conf'}：已有同名的文件夹" in result.stderr and "内部错误" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "_home") == ["conf"]
    assert list((tmp_path / "conf").iterdir()) == []


def test_init_default_path(tmp_path):
    result = run("init")
    assert result.exit_code == 0
    assert (tmp_path / "gaopin.toml").is_file()
    # Found there only when gaopin runs in this folder: cron runs elsewhere (review of round 13).
    assert "在这个目录运行 gaopin 时生效" in result.stdout and f"GAOPIN_CONFIG={(tmp_path / 'gaopin.toml').resolve()}" in result.stdout


def test_init_elsewhere_says_how_the_file_is_used(tmp_path):
    """init /srv/…/gaopin.toml or init 街道配置.toml said "放在运行 gaopin 的目录即可生效",
    which is false for any other folder or name (review of round 13)."""
    for target in (tmp_path / "srv" / "gaopin.toml", tmp_path / "街道配置.toml"):
        result = run("init", target)
        assert result.exit_code == 0, result.output
        assert f"--config {target.resolve()}" in result.stdout and "放在运行 gaopin 的目录" not in result.stdout


# --- errors a person can act on -------------------------------------------------------------


def _assert_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("错误：")
    if len(lines) == 2:
        assert lines[1].startswith("提示：")
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_file(tmp_path):
    _assert_error(run("inspect", tmp_path / "八月.xlsx"), ExitCode.INPUT, "找不到文件", "八月.xlsx", "提示：")


def test_not_a_spreadsheet(tmp_path):
    path = write_bytes(tmp_path / "photo.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    _assert_error(run("clean", path, "-o", tmp_path / "c.csv"), ExitCode.INPUT, "不是表格文件")
    assert not (tmp_path / "c.csv").exists()


def test_password_protected_workbook():
    _assert_error(run("inspect", DATA / "password_1234.xlsx"), ExitCode.INPUT, "密码", "提示：")


def test_html_page_without_a_table(tmp_path):
    path = write_bytes(tmp_path / "export.xls", "<!DOCTYPE html><html><body>请先登录</body></html>".encode())
    _assert_error(run("inspect", path), ExitCode.INPUT, "网页", "登录页")


def test_empty_file(tmp_path):
    _assert_error(run("inspect", write_bytes(tmp_path / "e.csv", b"")), ExitCode.INPUT, "空文件")


def test_empty_sheet(tmp_path):
    _assert_error(run("inspect", write_xlsx(tmp_path / "e.xlsx", [])), ExitCode.INPUT, "是空的")


def test_no_recognisable_header(tmp_path):
    path = write_csv(tmp_path / "311.csv", [["Unique Key", "Created Date", "Agency"], ["1", "08/03/2024", "DOT"]])
    _assert_error(run("inspect", path), ExitCode.INPUT, "找不到可识别的表头", "Unique Key、Created Date、Agency", "[columns]")


def test_missing_required_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "诉求人", "来电号码"], ["A1", "张三", "13812345678"]])
    _assert_error(run("inspect", path), ExitCode.INPUT, "缺少必需的列", "received_at", "[columns]")


def test_configured_header_not_found(tmp_path):
    (tmp_path / "gaopin.toml").write_text('[columns]\nreceived_at = "Created Date"\n', encoding="utf-8")
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间", "诉求人"], ["A1", "2024-08-03", "张三"]])
    _assert_error(run("inspect", path), ExitCode.INPUT, 'received_at = "Created Date"', "[columns]")


def test_configured_header_row_not_found(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["A1", "2024-08-03"]])
    _assert_error(run("inspect", path, "--header-row", "9"), ExitCode.INPUT, "第 9 行")


def test_a_quote_left_open_is_refused_not_read_as_fewer_tickets(tmp_path):
    text = "工单编号,受理时间,诉求地址,诉求内容\nE1,2024-08-01 09:00,甲,\"引号开头\nE2,2024-08-01 10:00,乙,x\nE3,2024-08-01 11:00,丙,y\n"
    path = write_bytes(tmp_path / "q.csv", text.encode())
    _assert_error(run("inspect", path), ExitCode.INPUT, "q.csv 第 2 行", "没有结束引号", "其后 2 行记录", "提示：")


def test_unknown_sheet(tmp_path):
    _assert_error(run("inspect", _export(tmp_path), "--sheet", "九月"), ExitCode.INPUT, "九月", "Sheet1")


def test_undecodable_csv(tmp_path):
    path = write_bytes(tmp_path / "t.csv", "工单编号,受理时间\n".encode() + b"A1,\xff\xfe\n")
    _assert_error(run("inspect", path), ExitCode.INPUT, "编码无法识别", "字节", "--encoding")
    # warn and import have no --encoding: the hint names the setting every command reads.
    _assert_error(run("warn", path), ExitCode.INPUT, "编码无法识别", '[load] 中写明编码，例如 encoding = "gb18030"')


@pytest.mark.parametrize(
    "toml, words",
    [
        ("[rules.point_dya]\nmin_tickets = 4\n", ["未知的配置项 rules.point_dya", "rules.point_day"]),
        ('[rules.point_day]\nmin_tickets = "四"\n', ["rules.point_day.min_tickets", "整数"]),
        ("[load]\nsheet = 八月\n", ["格式错误", "引号"]),
        ('[columns]\nphone = "电话"\n', ["columns.phone", "ticket_id"]),
        ('[columns]\nticket_id = ["a", "b"]\n', ["columns.ticket_id"]),
    ],
)
def test_bad_config(tmp_path, toml, words):
    (tmp_path / "gaopin.toml").write_text(toml, encoding="utf-8")
    _assert_error(run("inspect", _export(tmp_path)), ExitCode.CONFIG, *words)


def test_bad_environment_variable(tmp_path):
    result = run("inspect", _export(tmp_path), env={"GAOPIN_RULES__POINT_DAY__MIN_TICKETS": "many"})
    _assert_error(result, ExitCode.CONFIG, "rules.point_day.min_tickets")


def test_bad_date_format_in_config(tmp_path):
    (tmp_path / "gaopin.toml").write_text('[load]\ndate_format = "%m/%d/%Q"\n', encoding="utf-8")
    _assert_error(run("inspect", _export(tmp_path)), ExitCode.CONFIG, "load.date_format", "%Q", "strftime")


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--header-row", "-1"], ["命令行参数无效", "load.header_row", "--header-row -1"]),
        (["--encoding", "gb-what"], ["命令行参数无效", "gb-what", "--encoding gb-what"]),
    ],
)
def test_bad_flag_values_are_usage_errors(tmp_path, flags, words):
    _assert_error(run("inspect", _export(tmp_path), *flags), ExitCode.USAGE, *words)


def test_missing_config_file(tmp_path):
    _assert_error(run("inspect", _export(tmp_path), "--config", tmp_path / "nope.toml"), ExitCode.CONFIG, "找不到配置文件")


def test_debug_shows_the_traceback(tmp_path):
    result = run("inspect", tmp_path / "nope.xlsx", "--debug")
    assert result.exit_code == ExitCode.INPUT
    assert "Traceback" in result.stderr and "错误：找不到文件" in result.stderr


def test_internal_error_is_one_line_without_traceback(tmp_path, monkeypatch):
    import gaopin.io.inspect as inspect_module

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(inspect_module, "inspect_files", broken)
    result = run("inspect", _export(tmp_path))
    assert result.exit_code == ExitCode.INTERNAL
    assert result.stderr.startswith("内部错误：KeyError") and "--debug" in result.stderr
    assert "Traceback" not in result.output
    debug = run("inspect", _export(tmp_path), "--debug")
    assert isinstance(debug.exception, KeyError)


def test_usage_errors_are_typers(tmp_path):
    assert run("inspect").exit_code == ExitCode.USAGE
    assert run("clean", _export(tmp_path)).exit_code == ExitCode.USAGE  # no -o
    assert run("inspect", _export(tmp_path), "--format", "yaml").exit_code == ExitCode.USAGE


def test_help_and_version():
    assert run("--version").stdout.startswith("gaopin ")
    for command in ("inspect", "clean", "init"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "--help" in result.stdout


def test_a_panic_in_an_extension_is_an_internal_error_with_the_cell_masked(tmp_path, monkeypatch):
    import gaopin.io.inspect as inspect_module

    class PanicException(BaseException):  # what pyo3 raises for a Rust panic: not an Exception
        pass

    def broken(*args, **kwargs):
        raise PanicException("called `Result::unwrap()` on cell '13812345678'")

    monkeypatch.setattr(inspect_module, "inspect_files", broken)
    result = run("inspect", _export(tmp_path))
    assert result.exit_code == ExitCode.INTERNAL
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("内部错误：PanicException")
    assert "13812345678" not in result.stderr and "138****5678" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_clean_output_reads_back_as_the_same_tickets(tmp_path, suffix):
    from pandas.testing import assert_frame_equal

    from gaopin.io.load import load

    source = _export(tmp_path)
    out = tmp_path / f"clean{suffix}"
    assert run("clean", source, "-o", out, "--show-phones").exit_code == 0
    original, again = load([source], Settings()), load([out], Settings())
    columns = list(CANONICAL_COLUMNS)
    assert_frame_equal(again.frame[columns].reset_index(drop=True), original.frame[columns].reset_index(drop=True))
