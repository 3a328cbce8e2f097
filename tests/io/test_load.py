"""The loader end to end: real files in, one canonical table and every problem out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from gaopin.config import Settings
from gaopin.errors import ConfigError, InputError
from gaopin.io.load import FILE_COL, ROW_COL, load
from gaopin.schema import CANONICAL_COLUMNS
from tests.builders import STANDARD_HEADER, csv_text, settings as make_settings, write_bytes, write_csv, write_xlsx

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    out = []
    for values in zip(*(frame[c] for c in columns)):
        out.append(tuple(None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in values))
    return out


def _problems(result, kind: str) -> list[tuple]:
    return [(Path(p.file).name, p.row, p.value) for p in result.problems + result.rejected if p.kind == kind]


# --- one export -------------------------------------------------------------------------


def test_standard_export(tmp_path):
    path = write_xlsx(
        tmp_path / "aug.xlsx",
        [
            STANDARD_HEADER,
            ["A1", dt.datetime(2024, 8, 3, 14, 5), " 张三 ", 13812345678, "恰海小区1号楼", "城乡建设-->市容环境-->垃圾", "已解决", "满意", "市级派单"],
            ["A2", "2024/8/4 9:30", "李四", "010-65123456", "桥一小区\n2号楼", "城乡建设>物业", "N", "不满意", "区派"],
        ],
    )
    result = load([path], Settings())
    frame = result.frame
    assert list(frame.columns) == list(CANONICAL_COLUMNS) + [FILE_COL, ROW_COL]
    assert str(frame["received_at"].dtype) == "datetime64[s]"
    assert all(str(frame[c].dtype) == "str" for c in CANONICAL_COLUMNS if c not in ("received_at", "closed_at"))
    assert _rows(frame, "ticket_id", "received_at", "caller_name", "caller_phone", "address", "category") == [
        ("A1", dt.datetime(2024, 8, 3, 14, 5), "张三", "13812345678", "恰海小区1号楼", "城乡建设->市容环境->垃圾"),
        ("A2", dt.datetime(2024, 8, 4, 9, 30), "李四", "01065123456", "桥一小区\n2号楼", "城乡建设->物业"),
    ]
    assert _rows(frame, "resolved", "satisfied", "dispatch", "dispatch_class") == [
        ("是", "满意", "市级派单", "市派"),
        ("否", "不满意", "区派", "区派"),
    ]
    assert _rows(frame, FILE_COL, ROW_COL) == [(0, 2), (0, 3)]
    assert result.fields >= {"ticket_id", "received_at", "caller_phone", "category", "dispatch_class"}
    assert not result.has("closed_at") and not result.has("title")
    assert frame["closed_at"].isna().all() and frame["title"].isna().all()
    assert result.problems == [] and result.rejected == []
    info = result.sources[0]
    assert (info.kind, info.sheet, info.header_row, info.rows, info.tickets) == ("xlsx", "Sheet1", 1, 2, 2)


def test_title_rows_and_merged_title_cell(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [
            ["新村街道 2024 年 8 月 12345 工单明细"],
            ["说明：数据来源 12345 系统，导出时间 2024-09-01"],
            STANDARD_HEADER,
            ["A1", "2024-08-03 14:05"],
        ],
        merge=["A1:I1", "A2:I2"],
    )
    result = load([path], Settings())
    assert result.sources[0].header_row == 3
    assert _rows(result.frame, "ticket_id", ROW_COL) == [("A1", 4)]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_configured_header_row_below_the_rows_searched_is_read(tmp_path, kind):
    """The header is looked for in the first 30 rows; one configured deeper was refused
    ("只有 30 行"), and such a file could not be read at all."""
    notes = [[f"说明第 {i} 行"] for i in range(1, 36)]
    rows = notes + [STANDARD_HEADER, ["A1", "2024-08-03 14:05"], ["A2", "2024-08-04 09:00"]]
    path = write_csv(tmp_path / "t.csv", rows) if kind == "csv" else write_xlsx(tmp_path / "t.xlsx", rows)
    result = load([path], Settings().with_values({"load.header_row": 36}))
    assert result.sources[0].header_row == 36
    assert _rows(result.frame, "ticket_id", ROW_COL) == [("A1", 37), ("A2", 38)]
    with pytest.raises(InputError, match="只有 38 行，没有第 40 行表头"):
        load([path], Settings().with_values({"load.header_row": 40}))


def test_table_not_starting_at_a1(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"], ws["D3"] = "工单编号", "受理时间"
    ws["C4"], ws["D4"] = "A1", "2024-08-03"
    ws["C6"], ws["D6"] = "A2", "不详"
    wb.save(tmp_path / "t.xlsx")
    result = load([tmp_path / "t.xlsx"], Settings())
    assert result.sources[0].header_row == 3
    assert [c.position for c in result.sources[0].columns if c.field] == [2, 3]
    assert _rows(result.frame, "ticket_id", ROW_COL) == [("A1", 4), ("A2", 6)]
    assert _problems(result, "date") == [("t.xlsx", 6, "不详")]


def test_dialect_with_three_category_levels_and_numeric_phones(tmp_path):
    header = ["工单号", "来电时间", "来电人", "来电人电话/账号", "小区点位", "一级分类", "二级分类", "三级分类", "是否响应"]
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [
            header,
            [240803001, dt.datetime(2024, 8, 3, 14, 5), "王䶮", 13812345678, "恰海小区1号楼", "城乡建设", "市容环境", "垃圾", 1],
            [240803002, dt.datetime(2024, 8, 3, 15, 0), "李四", 1065123456, "桥一小区", "城乡建设", "物业", None, 0],
            [240803003, dt.datetime(2024, 8, 3, 16, 0), "赵五", "A000102948", "桥一小区", "交通", None, None, "是"],
        ],
    )
    result = load([path], Settings())
    assert _rows(result.frame, "ticket_id", "caller_name", "caller_phone", "category", "contacted") == [
        ("240803001", "王䶮", "13812345678", "城乡建设->市容环境->垃圾", "是"),
        ("240803002", "李四", "1065123456", "城乡建设->物业", "否"),
        ("240803003", "赵五", "A000102948", "交通", "是"),
    ]
    assert result.has("category")
    assert [c.field for c in result.sources[0].columns][5:8] == ["category_l1", "category_l2", "category_l3"]


def test_mixed_date_cells(tmp_path):
    when = dt.datetime(2024, 8, 3, 14, 5)
    values = [
        when,  # a datetime cell
        45507.586805555555,  # a serial number cell (no date format)
        dt.datetime(2024, 8, 3),  # a date-only cell
        "2024/8/3 14:05",
        "2024-08-03 14:05:00",
        "2024年8月3日 14:05",
        "2024年8月3日14时05分",
        "２０２４－０８－０３　１４：０５",
        "不详",
        None,
    ]
    rows = [["工单编号", "受理时间"]] + [[f"T{i}", v] for i, v in enumerate(values)]
    result = load([write_xlsx(tmp_path / "dates.xlsx", rows)], Settings())
    got = dict(_rows(result.frame, "ticket_id", "received_at"))
    assert [got[f"T{i}"] for i in range(10)] == [when, when, dt.datetime(2024, 8, 3), when, when, when, when, when, None, None]
    # Never dropped; the one unreadable value is shown with file, row and value.
    assert len(result.frame) == 10
    assert _problems(result, "date") == [("dates.xlsx", 10, "不详")]
    assert result.counts["date"] == 1


US_ORDER = [["工单编号", "来电时间", "诉求地址"], ["A1", "8/1/2024 09:00", "甲小区"], ["A2", "8/13/2024 10:00", "乙小区"], ["A3", None, "丙小区"]]


def test_a_file_none_of_whose_times_can_be_read_is_an_input_error(tmp_path):
    """Otherwise warn says there is nothing to warn of, and report counts 0 tickets."""
    with pytest.raises(InputError) as err:
        load([write_csv(tmp_path / "us.csv", US_ORDER)], Settings())
    assert "“来电时间”列（受理时间）没有一个能读出来（2 个）" in err.value.message
    assert "8/1/2024 09:00" in err.value.message
    assert "date_format" in err.value.hint


def test_inspect_lists_a_file_none_of_whose_times_can_be_read(tmp_path):
    result = load([write_csv(tmp_path / "us.csv", US_ORDER)], Settings(), strict=False)
    assert len(result.frame) == 3
    whole = [p for p in result.problems if p.kind == "date" and p.row is None]
    assert [(p.value, "没有一个能读出来" in p.message, "date_format" in p.message) for p in whole] == [("8/1/2024 09:00", True, True)]
    assert _problems(result, "date")[1:] == [("us.csv", 2, "8/1/2024 09:00"), ("us.csv", 3, "8/13/2024 10:00")]
    assert result.counts["date"] == 2  # the cells, not the file-level line


def test_some_unreadable_times_are_only_noted(tmp_path):
    rows = US_ORDER + [["A4", "2024-08-01 09:00", "丁小区"]]
    result = load([write_csv(tmp_path / "us.csv", rows)], Settings())
    assert result.counts["date"] == 2
    assert all(p.row is not None for p in result.problems)


def test_a_file_whose_times_are_all_blank_is_not_an_error(tmp_path):
    rows = [["工单编号", "受理时间", "诉求地址"], ["A1", None, "甲小区"]]
    result = load([write_csv(tmp_path / "blank.csv", rows)], Settings())
    assert len(result.frame) == 1 and not result.problems


def test_sixteen_digit_numeric_ids_are_rejected_never_used_as_keys(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [
            ["工单编号", "受理时间", "诉求人"],
            [1234567890123456789, "2024-08-03", "甲"],
            [1234567890123456790, "2024-08-04", "乙"],  # rounds to the same float as the row above
            [123456789012345, "2024-08-05", "丙"],  # 15 digits: exact, kept
            ["1234567890123456789", "2024-08-06", "丁"],  # text: exact, kept
        ],
    )
    result = load([path], Settings())
    assert _rows(result.frame, "ticket_id", "caller_name") == [("123456789012345", "丙"), ("1234567890123456789", "丁")]
    assert [(p.row, "超过 15 位" in p.message) for p in result.rejected] == [(2, True), (3, True)]
    assert result.counts["rejected"] == 2 and "duplicate" not in result.counts
    assert (result.sources[0].rows, result.sources[0].tickets) == (4, 2)


def test_scientific_text_ids_are_rejected(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["1.23457E+18", "2024-08-03"], ["A1", "2024-08-03"]])
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert result.rejected[0].value == "1.23457E+18"


def test_scientific_ids_say_the_csv_was_resaved_by_excel(tmp_path):
    """2.02401E+12 was rejected as "超过 15 位后已失真", with nothing on what happened or what to do."""
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["2.02401E+12", "2024-08-03"], ["2.02401E+12", "2024-08-04"], ["A1", "2024-08-03"]])
    result = load([path], Settings())
    assert [p.message for p in result.rejected] == ["工单编号“2.02401E+12”是科学计数法，位数已丢失，不能作为编号：CSV 文件用 Excel 打开后又保存过就会这样，请改用系统导出的原始文件"] * 2
    assert result.notes() == ["2 行被拒收（工单编号是科学计数法：CSV 被 Excel 另存过，请用原始导出），没有计入；用 gaopin inspect 查看是哪些行。"]


def test_rows_without_id_are_rejected_and_blank_rows_ignored(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        [["工单编号", "受理时间", "诉求人"], ["A1", "2024-08-03", "x"], ["", "2024-08-03", "y"], ["", "", " "], ["A2", "", ""]],
    )
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]
    assert [(p.row, p.message) for p in result.rejected] == [(3, "缺少工单编号")]
    assert result.sources[0].rows == 3


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_total_and_signature_lines_under_the_table_are_rejected_not_tickets(tmp_path, suffix):
    """合计 and 制表人 lines below the tickets were read as tickets (15 new for 13): they are
    rejected as such, once (their cells are not reported as unreadable times), and the
    number a signature line holds is shown masked by inspect."""
    from gaopin.io.inspect import describe

    rows = [
        ["工单编号", "受理时间", "诉求人"],
        ["A1", "2024-08-03 09:00", "张三"],
        ["A2", "2024-08-03 10:00", "李四"],
        ["合计", "2", ""],
        ["制表人：王五 13812345678", "", ""],
        ["说明：数据截至8月31日", "", ""],
    ]
    path = write_csv(tmp_path / "t.csv", rows) if suffix == ".csv" else write_xlsx(tmp_path / "t.xlsx", rows)
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]
    assert [(p.row, p.field) for p in result.rejected] == [(4, None), (5, None), (6, None)]
    assert {p.message for p in result.rejected} == {"不是工单：表格下方的合计、制表人或说明行"}
    assert [p for p in result.problems if p.kind == "date"] == []
    assert result.notes()[0] == "3 行被拒收（表格下方的合计或落款行），没有计入；用 gaopin inspect 查看是哪些行。"
    shown = [p["value"] for p in describe(result)["problems"] if p["kind"] == "rejected"]
    assert shown == ["合计", "制表人:王五 138****5678", "说明:数据截至8月31日"]


FOOTERS = ["合  计", "合 计", "合\u3000计", "总 计", "累计", "（合计）", "【合计】", "本页合计", "小计", "经办人：张三 负责人：李四", "负责人：", "单位（盖章）", "以上共10条", "日期：2024年1月31日",
           "共 53 条", "共53条记录", "制单人：", "以下空白", "（以下空白）", "第 1 页 / 共 3 页", "页码：1", "审批人：", "合計",
           "导出人:李四 13912345678", "联系电话:13812345678"]  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_footer_lines_however_spaced_or_bracketed_are_rejected(tmp_path, suffix):
    """合  计 (spaces of any width), （合计）, 本页合计 and the signature lines of a printed
    table were stored as tickets."""
    rows = [["工单编号", "受理时间"], ["A1", "2024-08-03 09:00"], *[[f, "200件"] for f in FOOTERS]]
    path = write_csv(tmp_path / "t.csv", rows) if suffix == ".csv" else write_xlsx(tmp_path / "t.xlsx", rows)
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert {p.message for p in result.rejected} == {"不是工单：表格下方的合计、制表人或说明行"}
    assert len(result.rejected) == len(FOOTERS)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("streamed", [False, True])
def test_a_total_row_labelled_in_the_first_column_with_a_blank_id_is_a_footer(tmp_path, suffix, streamed):
    """合计 under 序号 with the 工单编号 cell blank was rejected as "缺少工单编号", as if a ticket
    had lost its id. A ticket without an id is still that, and a row with nothing but its 序号
    (or label) is still skipped as blank."""
    from gaopin.io.inspect import describe

    rows = [
        ["序号", "工单编号", "受理时间", "诉求人"],
        [1, "A1", "2024-08-03 09:00", "张三"],
        [2, "", "2024-08-03 10:00", "李四"],
        [3, "", "", ""],
        ["合计", "", "2", ""],
        ["总 计", "", "", "2件"],
        ["制表人：王五 13812345678", "", "2024-09-01", ""],
        ["说明：以上为8月工单", "", "", ""],
    ]
    path = write_csv(tmp_path / "t.csv", rows) if suffix == ".csv" else write_xlsx(tmp_path / "t.xlsx", rows)
    parts: list[pd.DataFrame] = []
    result = load([path], Settings(), sink=parts.append if streamed else None)
    assert result.frame["ticket_id"].tolist() == ["A1"]
    footer = "不是工单：表格下方的合计、制表人或说明行"
    assert [(p.row, p.message, p.field) for p in result.rejected] == [(3, "缺少工单编号", "ticket_id"), (5, footer, None), (6, footer, None), (7, footer, None)]
    assert result.sources[0].rows == 5
    assert result.notes()[0] == "4 行被拒收（缺少工单编号、表格下方的合计或落款行），没有计入；用 gaopin inspect 查看是哪些行。"
    shown = [p["value"] for p in describe(result)["problems"] if p["kind"] == "rejected"]
    assert shown == [None, "合计", "总 计", "制表人:王五 138****5678"]


def test_a_rejected_rows_cells_are_not_reported_as_kept_answers_or_phones(tmp_path):
    """The 合计 row's 200件 under 是否有效回访 was reported as an answer "kept as typed", and warn
    and report noted an unreadable answer; its cells are no ticket's. A value also in a kept
    row is reported for that row only."""
    path = write_csv(
        tmp_path / "t.csv",
        [
            ["工单编号", "受理时间", "来电号码", "是否有效回访", "是否解决"],
            ["A1", "2024-08-03 09:00", "13812345678", "是", "待核实"],
            ["A2", "2024-08-03 10:00", "13812345679", "否", "是"],
            ["合计", "2件", "123", "200件", "待核实"],
            ["", "", "123", "200件", "待核实"],
        ],
    )
    result = load([path], Settings())
    assert [(p.field, p.value, p.row) for p in result.problems if p.kind in ("value", "phone")] == [("resolved", "待核实", 2)]
    assert result.counts["value"] == 1 and result.counts["phone"] == 0
    assert "共 1 行" in next(p.message for p in result.problems if p.kind == "value")
    assert [n for n in result.notes() if "取值无法识别" in n][0].startswith("有 1 个")


def test_an_id_that_only_contains_a_footer_word_is_kept(tmp_path):
    ids = ["GD合计001", "2024合计", "共同体1", "第三方2"]
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], *[[i, "2024-08-03"] for i in ids]])
    assert load([path], Settings()).frame["ticket_id"].tolist() == ids


def _hide(path: Path, *names: str) -> Path:
    """The sheets hidden, as staff hide an old copy; the first visible one made active."""
    book = openpyxl.load_workbook(path)
    for name in names:
        book[name].sheet_state = "hidden"
    book.active = next(i for i, ws in enumerate(book.worksheets) if ws.sheet_state == "visible")
    book.save(path)
    return path


def test_a_note_sheet_before_the_tickets_is_skipped_and_said_so(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["本表为 12345 工单导出"], ["导出时间：2024-08-31"]],
        sheet="说明",
        extra_sheets={"汇总": [["社区", "问题分类", "件数"], ["新华里", "噪音", 3]], "工单明细": [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]]},
    )
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert [(s.sheet, s.name) for s in result.sources] == [("工单明细", str(path))]  # the only sheet read: the file
    assert result.sheet_notes == ["t.xlsx 有 3 张工作表：读取了 “工单明细”；没有读取 “说明”、“汇总”（没有工单表头）。"]
    assert result.notes()[0] == result.sheet_notes[0]  # warn and report print it


def test_tickets_split_over_sheets_are_all_read(tmp_path):
    """A long export split over 第一批 and 第二批: each sheet is read as a file of the same load,
    problems name the sheet, a ticket on both is merged."""
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"], ["A2", "2024-08-03 10:00"], ["", "2024-08-03 11:00"]],
        sheet="第一批",
        extra_sheets={"第二批": [STANDARD_HEADER[:2], ["A3", "2024-08-04 09:00"], ["A2", "2024-08-05 10:00"]]},
    )
    result = load([path], Settings())
    assert _rows(result.frame, "ticket_id", "received_at") == [
        ("A1", dt.datetime(2024, 8, 3, 9)),
        ("A3", dt.datetime(2024, 8, 4, 9)),
        ("A2", dt.datetime(2024, 8, 5, 10)),  # the later sheet wins
    ]
    assert [(s.sheet, s.rows, s.tickets) for s in result.sources] == [("第一批", 3, 2), ("第二批", 2, 2)]
    assert [(Path(p.file).name, p.row) for p in result.rejected] == [("t.xlsx［第一批］", 4)]
    [duplicate] = [p for p in result.problems if p.kind == "duplicate"]
    assert "t.xlsx［第一批］ 第 3 行、t.xlsx［第二批］ 第 3 行" in duplicate.message
    assert result.sheet_notes == ["t.xlsx 有 2 张工作表：读取了 “第一批”、“第二批”。"]


def test_a_small_ticket_sheet_before_the_details_does_not_hide_them(tmp_path):
    header = ["工单编号", "受理时间", "备注"]
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [header, ["A1", "2024-08-03", "重点"]],
        sheet="重点",
        extra_sheets={"明细": [STANDARD_HEADER[:2], *[[f"A{i}", "2024-08-03 09:00"] for i in range(1, 6)]]},
    )
    assert len(load([path], Settings()).frame) == 5


def test_a_hidden_sheet_is_not_read(tmp_path):
    path = _hide(
        write_xlsx(
            tmp_path / "t.xlsx",
            [STANDARD_HEADER[:2], ["OLD1", "2024-07-03 09:00"]],
            sheet="上周",
            extra_sheets={"本周": [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"], ["A2", "2024-08-04 09:00"]]},
        ),
        "上周",
    )
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]
    assert result.sheet_notes == ["t.xlsx 有 2 张工作表：读取了 “本周”；没有读取 “上周”（隐藏）。"]
    # Asked for by name, it is read.
    assert load([path], make_settings(load={"sheet": "上周"})).frame["ticket_id"].tolist() == ["OLD1"]


def test_a_workbook_of_one_sheet_has_no_sheet_note(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]])
    result = load([path], Settings())
    assert result.sheet_notes == [] and result.notes() == []
    configured = write_xlsx(tmp_path / "c.xlsx", [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]], extra_sheets={"汇总": [["合计", 1]]})
    assert load([configured], make_settings(load={"sheet": "Sheet1"})).sheet_notes == []


def test_a_workbook_without_a_ticket_sheet_proposes_a_hidden_one(tmp_path):
    path = _hide(
        write_xlsx(
            tmp_path / "t.xlsx",
            [["本表为 12345 工单导出"]],
            sheet="说明",
            extra_sheets={"工单": [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]], "汇总": [["合计", 3]]},
        ),
        "工单",
    )
    with pytest.raises(InputError) as err:
        load([path], Settings())
    assert err.value.message == f"{path} 中没有一张工作表有工单表头（含“工单编号”列的表头）：“说明”、“汇总”：没有工单表头；“工单”：隐藏"
    assert err.value.hint.startswith("工作表 “工单” 有工单表头：如工单在其中，请在 gaopin.toml 的 [load] 中写 sheet = \"工单\"")


def test_a_configured_sheet_without_a_header_proposes_the_sheets_that_have_one(tmp_path):
    """The hint names a sheet of tickets, not merely the next sheet (a 汇总 has no ticket header)."""
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["本表为 12345 工单导出"], ["导出时间：2024-08-31"]],
        sheet="说明",
        extra_sheets={"汇总": [["社区", "件数"], ["新华里", 3]], "明细": [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]]},
    )
    with pytest.raises(InputError) as err:
        load([path], make_settings(load={"sheet": "说明"}))
    assert err.value.message.startswith(f"{path} 的工作表“说明” 中找不到可识别的表头")
    assert err.value.hint.startswith("工作表 “明细” 有工单表头：如工单在其中，请在 gaopin.toml 的 [load] 中写 sheet = \"明细\"")
    assert "汇总" not in err.value.hint


def test_a_list_of_ticket_ids_without_times_beside_the_tickets_is_skipped_and_said(tmp_path):
    """A 汇总 of 单否 tickets (序号, 工单编号, 社区) beside 明细 had the whole workbook refused."""
    path = write_xlsx(
        tmp_path / "t.xlsx", [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]], extra_sheets={"汇总": [["序号", "工单编号", "社区"], [1, "A1", "新华里"]]}
    )
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert "没有读取 “汇总”（缺少受理时间等必需的列）" in result.sheet_notes[0]
    # With no other sheet of tickets, the workbook is refused, saying why.
    alone = write_xlsx(tmp_path / "u.xlsx", [["说明"]], extra_sheets={"补充": [["工单编号", "诉求人"], ["A2", "张三"]]})
    with pytest.raises(InputError, match="“补充”：缺少受理时间等必需的列"):
        load([alone], Settings())


def test_a_sheet_whose_times_are_all_unreadable_hints_at_naming_the_sheet_of_tickets(tmp_path):
    """A 汇总 by month (工单编号 10, 受理时间 2024-08) beside 明细 refused the workbook with a hint
    about date formats only; the sheet may not be tickets at all."""
    summary = [["社区", "工单编号", "受理时间"], ["新华里", "10", "2024-08"]]
    path = write_xlsx(tmp_path / "t.xlsx", [STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]], sheet="明细", extra_sheets={"汇总": summary})
    with pytest.raises(InputError) as err:
        load([path], Settings())
    assert "［汇总］" in err.value.message and err.value.hint.startswith("如这张表不是工单，请在 gaopin.toml 的 [load] 中用 sheet 写明工单所在的表")
    # A file of its own gets the date hint alone.
    alone = write_csv(tmp_path / "t.csv", summary)
    with pytest.raises(InputError) as single:
        load([alone], Settings())
    assert single.value.hint.startswith("请把时间存成")


def test_a_configured_header_row_does_not_hide_a_sheet_whose_header_is_elsewhere(tmp_path):
    """header_row = 3 (the first sheet's title rows) skipped 第二批, its header on row 1, as
    having no ticket header."""
    first = [["12345 工单导出"], ["导出时间：2024-08-31"], STANDARD_HEADER[:2], ["A1", "2024-08-03 09:00"]]
    path = write_xlsx(tmp_path / "t.xlsx", first, sheet="第一批", extra_sheets={"第二批": [STANDARD_HEADER[:2], ["A2", "2024-08-04 09:00"]]})
    result = load([path], make_settings(load={"header_row": 3}))
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]


def test_a_header_grouped_over_two_rows(tmp_path):
    """诉求人信息 over 来电人 and 来电人电话, 回访情况 over the answers; the other headers merged
    down over both rows (read as the value and a blank below)."""
    top = ["工单编号", "来电时间", "诉求人信息", None, "回访情况", None]
    sub = [None, None, "来电人", "来电人电话/账号", "是否解决", "是否满意"]
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单明细"], top, sub, ["A1", "2024-08-03 09:00", "张三", 13812345678, "是", "满意"]],
        merge=["A1:F1", "A2:A3", "B2:B3", "C2:D2", "E2:F2"],
    )
    result = load([path], Settings())
    assert _rows(result.frame, "ticket_id", "caller_name", "caller_phone", "resolved", "satisfied") == [("A1", "张三", "13812345678", "是", "满意")]
    assert result.rejected == [] and result.frame[ROW_COL].tolist() == [4]
    info = result.sources[0]
    assert (info.header_row, info.header_rows) == (2, 2)
    assert [c.header for c in info.columns] == ["工单编号", "来电时间", "来电人", "来电人电话/账号", "是否解决", "是否满意"]


def test_sub_headers_found_first_take_the_fields_merged_down_above_them(tmp_path):
    """Groups over most columns: the sub-header row matches more aliases and is found first."""
    rows = [["工单编号", "诉求人信息", "", "", "回访情况", ""], ["", "来电时间", "来电人", "来电号码", "是否解决", "是否满意"], ["A1", "2024-08-03 09:00", "张三", "13812345678", "是", "满意"]]
    result = load([write_csv(tmp_path / "t.csv", rows)], Settings())
    assert _rows(result.frame, "ticket_id", "caller_name", "satisfied") == [("A1", "张三", "满意")]
    assert (result.sources[0].header_row, result.sources[0].header_rows) == (1, 2)


def test_an_export_with_only_a_header_is_read_and_said_to_be_empty(tmp_path):
    """A quiet day exports no rows: not an error, but warn's "no warnings" must not read as a
    checked all-clear; the notes every command shows say which file was empty."""
    empty = write_csv(tmp_path / "空.csv", [STANDARD_HEADER])
    full = write_csv(tmp_path / "有.csv", [STANDARD_HEADER, ["A1", "2024-08-03 09:00"]])
    result = load([empty, full], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert result.notes() == ["空.csv 中没有工单（表头下面是空的）；如不应为空，请检查导出时选的日期范围。"]
    assert load([full], Settings()).notes() == []


def test_values_are_trimmed(tmp_path):
    path = write_csv(
        tmp_path / "t.csv", [["工单编号", "受理时间", "诉求人", "诉求内容"], ["\tA1\n", " 2024-08-03 ", "\u3000张三\u200b", "第一行\n第二行 "]]
    )
    assert _rows(load([path], Settings()).frame, "ticket_id", "caller_name", "content") == [("A1", "张三", "第一行\n第二行")]


def test_unrecognised_values_and_suspicious_phones_are_reported(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        [
            ["工单编号", "受理时间", "来电号码", "是否解决", "是否满意"],
            ["A1", "2024-08-03", "1.38123E+10", "待  核实", "非常好"],
            ["A2", "2024-08-03", "1.38123E+10", "待  核实", "满意"],
            ["A3", "2024-08-03", "123", "部分解决", "未评价"],
        ],
    )
    result = load([path], Settings())
    assert _rows(result.frame, "caller_phone", "resolved", "satisfied") == [
        ("1.38123E+10", "待 核实", "非常好"),
        ("1.38123E+10", "待 核实", "满意"),
        ("123", "部分解决", "未评价"),
    ]
    assert sorted(_problems(result, "value")) == [("t.csv", 2, "待  核实"), ("t.csv", 2, "非常好")]
    assert sorted(_problems(result, "phone")) == [("t.csv", 2, "1.38123E+10"), ("t.csv", 4, "123")]
    assert result.counts["value"] == 3 and result.counts["phone"] == 3
    # warn and report show the notes only: an answer they cannot read is said there too.
    assert result.notes() == ["有 3 个是否解决、是否满意等栏的取值无法识别，按原样保留，不算作“否”或“不满意”（是否有效回访无法识别的不算有效回访）；用 gaopin inspect 查看。"]


def test_a_ten_digit_mobile_is_reported_however_it_is_stored(tmp_path):
    """Plain digits reach phone_problem only through phone_column's shortlist of odd lengths:
    a 10-digit number must be on it, as a number cell and as text alike."""
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单编号", "受理时间", "来电号码"], ["A1", "2024-08-03", 1381234567], ["A2", "2024-08-03", "1391234567"], ["A3", "2024-08-03", "0106512345"]],
    )
    result = load([path], Settings())
    assert sorted(_problems(result, "phone")) == [("t.xlsx", 2, "1381234567"), ("t.xlsx", 3, "1391234567")]
    assert result.frame["caller_phone"].tolist() == ["1381234567", "1391234567", "0106512345"]  # kept, only reported


def test_formula_cells_without_values_are_warned(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["工单编号", "受理时间"], ['="A"&1', "2024-08-03"], ["A2", "2024-08-03"]])
    result = load([path], Settings())
    assert result.counts["formula"] == 1
    assert any(p.kind == "formula" and "公式" in p.message for p in result.problems)


# --- CSV specifics ----------------------------------------------------------------------


def test_gb18030_csv_with_rare_name(tmp_path):
    path = write_csv(tmp_path / "t.csv", [STANDARD_HEADER[:4], ["A1", "2024-08-03 14:05", "王䶮", "13812345678"]], encoding="gb18030")
    result = load([path], Settings())
    assert result.frame["caller_name"].tolist() == ["王䶮"]
    assert result.sources[0].encoding == "gb18030"


def test_bom_and_mixed_line_endings(tmp_path):
    data = "\ufeff工单编号,受理时间,诉求人\r\nA1,2024-08-03,甲\nA2,2024-08-04,乙\rA3,2024-08-05,丙\r\n".encode()
    result = load([write_bytes(tmp_path / "t.csv", data)], Settings())
    assert result.sources[0].columns[0].field == "ticket_id"
    assert _rows(result.frame, "ticket_id", "caller_name", ROW_COL) == [("A1", "甲", 2), ("A2", "乙", 3), ("A3", "丙", 4)]


def test_encoding_reported_is_the_one_used(tmp_path):
    rows = [["A%06d" % i, "2024-08-03 14:05", "x" * 30] for i in range(8000)]  # > 256 KB of ASCII first
    data = csv_text([["Case ID", "Created", "Name"]] + rows + [["B1", "2024-08-04", "王䶮"]]).encode("gb18030")
    config = {"columns": {"ticket_id": "Case ID", "received_at": "Created", "caller_name": "Name"}}
    result = load([write_bytes(tmp_path / "t.csv", data)], make_settings(**config))
    assert result.sources[0].encoding == "gb18030"
    assert result.frame["caller_name"].iloc[-1] == "王䶮"


def test_header_only_file(tmp_path):
    result = load([write_csv(tmp_path / "t.csv", [STANDARD_HEADER])], Settings())
    assert len(result.frame) == 0
    assert list(result.frame.columns) == list(CANONICAL_COLUMNS) + [FILE_COL, ROW_COL]
    assert (result.sources[0].rows, result.sources[0].tickets) == (0, 0)


def test_header_only_xlsx(tmp_path):
    result = load([write_xlsx(tmp_path / "t.xlsx", [["标题"], STANDARD_HEADER])], Settings())
    assert len(result.frame) == 0 and result.sources[0].header_row == 2


def test_ragged_csv_rows(tmp_path):
    data = "工单编号,受理时间,诉求人\nA1,2024-08-03\nA2,2024-08-04,乙,多余\nA3,2024-08-05,丙\n".encode()
    result = load([write_bytes(tmp_path / "t.csv", data)], Settings())
    assert _rows(result.frame, "ticket_id", "caller_name") == [("A1", None), ("A2", "乙"), ("A3", "丙")]
    assert _problems(result, "extra_cells") == [("t.csv", 3, None)]


def test_html_saved_as_xls(tmp_path):
    html = "<html><body><table><tr><td>工单编号</td><td>受理时间</td><td>来电号码</td></tr>" "<tr><td>000123</td><td>2024年8月3日 14:05</td><td>13812345678</td></tr></table></body></html>"
    result = load([write_bytes(tmp_path / "export.xls", html.encode("gb18030"))], Settings())
    assert _rows(result.frame, "ticket_id", "received_at", "caller_phone") == [("000123", dt.datetime(2024, 8, 3, 14, 5), "13812345678")]
    assert result.sources[0].kind == "html"


def test_excel_text_formulas_and_marks_in_a_csv_are_the_values_they_keep(tmp_path):
    """A CSV writing ids and phones as ="GD…" (or '2024…) holds the same tickets as the xlsx
    of the same export: loaded together they are merged, not counted twice, and the phones are numbers."""
    xlsx = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单编号", "受理时间", "来电号码", "诉求人"], ["GD2024010100121", "2024-01-01 02:43", "15118419633", "王"], ["2024010100122", "2024-01-01 06:12", "17629216488", "谢"]],
    )
    csv = write_bytes(
        tmp_path / "t.csv",
        '工单编号,受理时间,来电号码,诉求人\n"=""GD2024010100121""",2024-01-01 02:43,"=""15118419633""","=""王"""\n'
        "'2024010100122,2024-01-01 06:12,'17629216488,谢\n".encode("gb18030"),
    )
    alone = load([csv], Settings())
    assert _rows(alone.frame, "ticket_id", "caller_phone", "caller_name") == [("GD2024010100121", "15118419633", "王"), ("2024010100122", "17629216488", "谢")]
    assert _problems(alone, "phone") == []
    assert load([xlsx, csv], Settings()).frame["ticket_id"].tolist() == ["GD2024010100121", "2024010100122"]


def test_a_csv_without_any_quote_is_not_searched_for_excel_text_formulas(tmp_path, monkeypatch):
    """An ="…" cell holds quotes: in a CSV without a single quote byte no cell is looked at."""
    from gaopin.io import canonical

    searched = []
    monkeypatch.setattr(canonical, "unwrap_excel_text", lambda s: searched.append(s.name) or s)
    plain = write_bytes(tmp_path / "plain.csv", "工单编号,受理时间\nGD1,2024-08-03 14:05\n".encode("utf-16"))
    assert load([plain], Settings()).frame["ticket_id"].tolist() == ["GD1"] and searched == []
    quoted = write_bytes(tmp_path / "quoted.csv", '工单编号,受理时间\nGD1,"2024-08-03 14:05"\n'.encode("utf-16"))
    assert load([quoted], Settings()).frame["ticket_id"].tolist() == ["GD1"] and len(searched) == 2


def test_excel_text_formulas_in_a_utf16_csv_are_unwrapped(tmp_path):
    data = '工单编号,受理时间,来电号码\n"=""GD2024010100121""",2024-01-01 02:43,"=""15118419633"""\n'.encode("utf-16")
    result = load([write_bytes(tmp_path / "t.csv", data)], Settings())
    assert _rows(result.frame, "ticket_id", "caller_phone") == [("GD2024010100121", "15118419633")]


def test_excel_text_formulas_in_a_web_page_xls_are_unwrapped(tmp_path):
    html = '<table><tr><td>工单编号</td><td>受理时间</td></tr><tr><td>="000123"</td><td>2024-08-03 14:05</td></tr></table>'
    result = load([write_bytes(tmp_path / "export.xls", html.encode())], Settings())
    assert result.frame["ticket_id"].tolist() == ["000123"]


def test_real_xls():
    result = load([DATA / "legacy_export.xls"], Settings())
    assert _rows(result.frame, "ticket_id", "received_at", "caller_phone", "category") == [
        ("240803001", dt.datetime(2024, 8, 3, 14, 5), "13812345678", "城乡建设->市容环境->垃圾"),
        ("240803002", dt.datetime(2024, 8, 3, 14, 5), "01065123456", "城乡建设->物业"),
    ]
    assert result.sources[0].header_row == 2


# --- several files and duplicates ---------------------------------------------------------


def test_duplicate_ids_across_files_later_file_wins_field_by_field(tmp_path):
    header = ["工单编号", "受理时间", "诉求人", "来电号码", "是否解决", "是否满意", "派单方式"]
    first = write_xlsx(
        tmp_path / "aug-1.xlsx",
        [header, ["A1", "2024-08-03 14:05", "张三", 13812345678, "未解决", "不满意", "市派"], ["A2", "2024-08-04", "李四", None, "是", "满意", "区派"]],
    )
    second = write_csv(
        tmp_path / "aug-2.csv",
        [header, ["A3", "2024-08-05", "王五", "", "", "", ""], ["A1", "", "", "", "已解决", "满意", "街道自办"]],
    )
    result = load([first, second], Settings())
    assert _rows(result.frame, "ticket_id", "received_at", "caller_name", "caller_phone", "resolved", "satisfied") == [
        ("A2", dt.datetime(2024, 8, 4), "李四", None, "是", "满意"),
        ("A3", dt.datetime(2024, 8, 5), "王五", None, None, None),
        ("A1", dt.datetime(2024, 8, 3, 14, 5), "张三", "13812345678", "是", "满意"),  # blanks did not erase
    ]
    assert _rows(result.frame[result.frame["ticket_id"] == "A1"], FILE_COL, ROW_COL) == [(1, 3)]
    dup = [p for p in result.problems if p.kind == "duplicate"]
    assert [(Path(p.file).name, p.row, p.value) for p in dup] == [("aug-2.csv", 3, "A1")]
    assert "aug-1.xlsx 第 2 行" in dup[0].message and "aug-2.csv 第 3 行" in dup[0].message
    assert [(s.rows, s.tickets) for s in result.sources] == [(2, 2), (2, 2)]


def test_rows_merged_as_repeats_are_counted_and_noted(tmp_path):
    """warn, report and clean said nothing of the rows that a repeated id merged away."""
    a = write_csv(tmp_path / "a.csv", [["工单编号", "受理时间"], ["A1", "2024-08-03"], ["A2", "2024-08-03"], ["A1", "2024-08-04"], ["合计", "3"]])
    b = write_csv(tmp_path / "b.csv", [["工单编号", "受理时间"], ["A2", "2024-08-05"], ["A3", "2024-08-05"]])
    one = load([a], Settings())
    assert (one.rows_read, len(one.frame), one.merged, len(one.rejected)) == (4, 2, 1, 1)
    assert "合并重复编号 1 行：这些行的工单编号与别的行相同，与之合并为一张工单（靠后的逐项覆盖，空值不覆盖）；用 gaopin inspect 查看是哪些编号。" in one.notes()
    both = load([a, b], Settings())
    assert (len(both.frame), both.merged) == (3, 2)
    assert load([b], Settings()).merged == 0 and not any("合并" in n for n in load([b], Settings()).notes())


def test_dispatch_class_follows_the_merged_dispatch(tmp_path):
    header = ["工单编号", "受理时间", "派单方式"]
    first = write_csv(tmp_path / "a.csv", [header, ["A1", "2024-08-03", "市派"], ["A2", "2024-08-03", "区派"]])
    second = write_csv(tmp_path / "b.csv", [header, ["A1", "2024-08-03", "街道自办"], ["A2", "2024-08-03", ""]])
    result = load([first, second], Settings())
    assert sorted(_rows(result.frame, "ticket_id", "dispatch", "dispatch_class")) == [
        ("A1", "街道自办", None),
        ("A2", "区派", "区派"),
    ]


def test_command_line_order_decides_not_file_names(tmp_path):
    header = ["工单编号", "受理时间", "是否解决"]
    new = write_csv(tmp_path / "a-new.csv", [header, ["A1", "2024-08-03", "是"]])
    old = write_csv(tmp_path / "b-old.csv", [header, ["A1", "2024-08-03", "否"]])
    assert load([old, new], Settings()).frame["resolved"].tolist() == ["是"]
    assert load([new, old], Settings()).frame["resolved"].tolist() == ["否"]


def test_duplicates_within_one_file_lower_row_wins(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        [
            ["工单编号", "受理时间", "诉求人", "是否解决", "是否满意"],
            ["A1", "2024-08-03 10:00", "张三", "否", "不满意"],
            ["B1", "2024-08-03 11:00", "李四", "是", "满意"],
            ["A1", "", "", "是", ""],
            ["A1", "", "张三丰", "", "满意"],
        ],
    )
    result = load([path], Settings())
    assert _rows(result.frame, "ticket_id", "received_at", "caller_name", "resolved", "satisfied") == [
        ("B1", dt.datetime(2024, 8, 3, 11), "李四", "是", "满意"),
        ("A1", dt.datetime(2024, 8, 3, 10), "张三丰", "是", "满意"),
    ]
    assert result.counts["duplicate"] == 1
    assert "3 次" in next(p.message for p in result.problems if p.kind == "duplicate")


def test_files_with_different_columns(tmp_path):
    a = write_csv(tmp_path / "a.csv", [["工单编号", "受理时间", "来电号码"], ["A1", "2024-08-03", "13812345678"]])
    b = write_xlsx(tmp_path / "b.xlsx", [["工单号", "来电时间", "标题"], ["B1", dt.datetime(2024, 8, 4), "噪音"]])
    result = load([a, b], Settings())
    assert _rows(result.frame, "ticket_id", "caller_phone", "title") == [("A1", "13812345678", None), ("B1", None, "噪音")]
    assert all(str(result.frame[c].dtype) == "str" for c in ("caller_phone", "title"))
    assert result.has("caller_phone") and result.has("title")


# --- [columns] and [load] ------------------------------------------------------------------

US311 = [
    ["311 Service Requests (export)"],
    ["Unique Key", "Created Date", "Closed Date", "Agency", "Complaint Type", "Descriptor", "Incident Address", "Status"],
    ["58934123", "08/03/2024 02:05:09 PM", "08/04/2024 09:00:00 AM", "DSNY", "Noise", "Loud Music/Party", "12 MAIN ST", "Closed"],
    ["58934124", "08/03/2024 11:59:59 PM", "", "NYPD", "Illegal Parking", "", "7 ELM ST", "Open"],
    ["58934125", "2024-08-05 10:00:00", "", "DOT", "Street Condition", "Pothole", "", "Open"],
    ["58934126", "13/45/2024", "", "DOT", "Street Condition", "Pothole", "", "Open"],
]
US311_CONFIG = {
    "columns": {
        "ticket_id": "Unique Key",
        "received_at": "Created Date",
        "closed_at": "Closed Date",
        "unit": "Agency",
        "category": ["Complaint Type", "Descriptor"],
        "address": "Incident Address",
    },
    "load": {"date_format": "%m/%d/%Y %I:%M:%S %p"},
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_english_export_with_columns_and_date_format(tmp_path, kind):
    path = write_csv(tmp_path / "311.csv", US311, encoding="utf-8") if kind == "csv" else write_xlsx(tmp_path / "311.xlsx", US311)
    result = load([path], make_settings(**US311_CONFIG))
    assert result.sources[0].header_row == 2
    assert _rows(result.frame, "ticket_id", "received_at", "closed_at", "unit", "category", "address") == [
        ("58934123", dt.datetime(2024, 8, 3, 14, 5, 9), dt.datetime(2024, 8, 4, 9), "DSNY", "Noise->Loud Music/Party", "12 MAIN ST"),
        ("58934124", dt.datetime(2024, 8, 3, 23, 59, 59), None, "NYPD", "Illegal Parking", "7 ELM ST"),
        ("58934125", dt.datetime(2024, 8, 5, 10), None, "DOT", "Street Condition->Pothole", None),
        ("58934126", None, None, "DOT", "Street Condition->Pothole", None),
    ]
    assert _problems(result, "date") == [(path.name, 6, "13/45/2024")]
    status = next(c for c in result.sources[0].columns if c.header == "Status")
    assert status.field is None


def test_configured_header_that_is_missing_is_reported(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["A1", "2024-08-03"]])
    result = load([path], make_settings(columns={"caller_phone": "Phone"}))
    assert [(p.kind, p.field) for p in result.problems] == [("config", "caller_phone")]


def test_configured_required_header_that_is_missing_is_an_error(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["A1", "2024-08-03"]])
    with pytest.raises(InputError, match='received_at = "Created Date"'):
        load([path], make_settings(columns={"received_at": "Created Date"}))


def test_unknown_columns_field_is_a_config_error(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"], ["A1", "2024-08-03"]])
    with pytest.raises(ConfigError, match="columns.phone"):
        load([path], make_settings(columns={"phone": "电话"}))


def test_configured_sheet_and_header_row(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单编号", "受理时间"], ["X1", "2024-08-01"]],
        extra_sheets={"八月": [["工单编号", "受理时间"], ["工单编号", "受理时间"], ["A1", "2024-08-03"]]},
    )
    result = load([path], make_settings(load={"sheet": "八月", "header_row": 2}))
    assert (result.sources[0].sheet, result.sources[0].header_row) == ("八月", 2)
    assert result.frame["ticket_id"].tolist() == ["A1"]


def test_no_files_is_an_error():
    with pytest.raises(InputError, match="没有给出要读取的文件"):
        load([], Settings())


# --- what is read -------------------------------------------------------------------------


def test_fields_limit_what_is_read(tmp_path):
    path = write_csv(tmp_path / "t.csv", [STANDARD_HEADER, ["A1", "2024-08-03", "张三", "13812345678", "x", "a->b", "是", "满意", "市派"]])
    result = load([path], Settings(), fields=["dispatch_class"])
    assert result.frame["ticket_id"].tolist() == ["A1"]
    assert result.frame["dispatch_class"].tolist() == ["市派"]
    assert result.frame["caller_name"].isna().all()


def test_keep_extra_keeps_unmapped_columns(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间", "备注", "备注", "工单类型"], ["A1", "2024-08-03", "x", "y", "咨询"]])
    result = load([path], Settings(), keep_extra=True)
    assert result.extra_columns == ("备注#3", "备注#4")
    assert _rows(result.frame, "备注#3", "备注#4", "ticket_type") == [("x", "y", "咨询")]


def test_filter_headers_are_kept(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间", "办理状态"], ["A1", "2024-08-03", "已办结"]])
    result = load([path], make_settings(filters={"exclude": {"办理状态": ["已办结"]}}))
    assert result.frame["办理状态"].tolist() == ["已办结"]


# --- a CSV and its xlsx twin ---------------------------------------------------------------

_TEXT = st.text(alphabet=st.sampled_from(list("张王李赵恰海小区号楼市容环境 -/()0123456789ABCabc䶮，。")), max_size=12)
_ROW = st.tuples(
    st.text(alphabet="0123456789ABC", min_size=1, max_size=10),  # ticket id
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.integers(min_value=10**9, max_value=10**11),  # a phone stored as a number
    _TEXT,
    st.sampled_from(["是", "否", "解决", "未解决", "部分解决", "Y", "N", "1", "0", ""]),
    st.sampled_from(["满意", "基本满意", "不满意", "未评价", ""]),
    st.sampled_from(["城乡建设->市容", "交通-->停车", "水/电/气→停水", ""]),
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(_ROW, min_size=1, max_size=8))
def test_csv_and_xlsx_twins_load_equal(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("twin")
    header = ["工单编号", "受理时间", "来电号码", "诉求人", "是否解决", "是否满意", "问题分类"]
    xlsx_rows = [header] + [[i, when, phone, name, r, s, c] for i, when, phone, name, r, s, c in rows]
    csv_rows = [header] + [[i, when.strftime("%Y-%m-%d %H:%M:%S"), str(phone), name, r, s, c] for i, when, phone, name, r, s, c in rows]
    from_xlsx = load([write_xlsx(folder / "t.xlsx", xlsx_rows)], Settings())
    from_csv = load([write_csv(folder / "t.csv", csv_rows)], Settings())
    assert_frame_equal(from_xlsx.frame, from_csv.frame)
    # Messages name the file (e.g. duplicate ids: "t.xlsx 第 2 行"), which differs between twins by construction.
    def same(problems, name):
        return [p.to_dict() | {"file": "", "message": p.message.replace(name, "t.*")} for p in problems]

    assert same(from_xlsx.problems, "t.xlsx") == same(from_csv.problems, "t.csv")


def test_sorted_ids_with_a_repeat_are_still_merged(tmp_path):
    path = write_csv(
        tmp_path / "t.csv",
        [["工单编号", "受理时间", "诉求人"], ["A1", "2024-08-03 10:00", "张三"], ["A2", "", "李四"], ["A2", "2024-08-03 11:00", ""], ["A3", "2024-08-03 12:00", "王五"]],
    )
    result = load([path], Settings())
    assert sorted(_rows(result.frame, "ticket_id", "caller_name")) == [("A1", "张三"), ("A2", "李四"), ("A3", "王五")]
    assert result.counts["duplicate"] == 1


def test_strictly_increasing_ids():
    from gaopin.io.load import _strictly_increasing

    assert _strictly_increasing(pd.Series(["A1", "A2", "B1"], dtype="str"))
    assert not _strictly_increasing(pd.Series(["A1", "A2", "A2"], dtype="str"))
    assert not _strictly_increasing(pd.Series(["A2", "A1"], dtype="str"))


def test_full_width_ids_are_the_same_ticket_as_half_width_ones(tmp_path):
    # Documented: ids are read after NFKC. A re-typed export with full-width ids must not
    # make second copies of its tickets.
    path = write_csv(
        tmp_path / "t.csv",
        [["工单编号", "受理时间", "诉求人"], ["ＧＤ２０２４０８０３００１", "2024-08-03 10:00", "张三"], ["GD20240803001", "", "李四"], ["ＧＤ２０２４０８０３００２\u200b", "2024-08-03 11:00", "王五"]],
    )
    result = load([path], Settings())
    assert sorted(_rows(result.frame, "ticket_id", "caller_name")) == [("GD20240803001", "李四"), ("GD20240803002", "王五")]
    assert result.counts["duplicate"] == 1


def test_a_day_month_swapping_date_format_reads_csv_text_and_keeps_a_workbooks_real_dates(tmp_path):
    """[load] date_format = "%Y-%d-%m …" (an export written year-day-month): a CSV's text
    2024-03-08 is 3 August; a workbook's real date cell of 8 March stays 8 March (it reaches the
    parser as ISO text, and was read with day and month swapped when the format came first)."""
    ydm = Settings().with_values({"load.date_format": "%Y-%d-%m %H:%M:%S"})
    csv = tmp_path / "ydm.csv"
    csv.write_text("工单编号,来电时间\nC1,2024-03-08 10:00:00\nC2,2024-31-08 10:00:00\n", encoding="utf-8")
    xlsx = tmp_path / "real.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["工单编号", "来电时间"])
    wb.active.append(["X1", dt.datetime(2024, 3, 8, 10, 0)])
    wb.active.append(["X2", dt.datetime(2024, 3, 20, 11, 0)])
    wb.save(xlsx)
    frame = load([csv, xlsx], ydm).frame.set_index("ticket_id")["received_at"]
    assert frame.to_dict() == {
        "C1": pd.Timestamp("2024-08-03 10:00"),
        "C2": pd.Timestamp("2024-08-31 10:00"),
        "X1": pd.Timestamp("2024-03-08 10:00"),
        "X2": pd.Timestamp("2024-03-20 11:00"),
    }


def test_a_day_month_swapping_date_format_reads_a_workbooks_text_dates_as_a_csvs(tmp_path):
    """A workbook whose time column is text typed year-day-month (2024-03-08 for 3 August) is
    read by [load] date_format first, as a CSV is: the ISO passes read it as 8 March. A column
    that also holds a real date cell keeps the ISO passes first (its dates are ISO text by then)."""
    ydm = Settings().with_values({"load.date_format": "%Y-%d-%m %H:%M:%S"})
    texts = tmp_path / "texts.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["工单编号", "来电时间", "办结时间"])
    wb.active.append(["T1", "2024-03-08 10:00:00", dt.datetime(2024, 8, 4, 9, 0)])
    wb.active.append(["T2", "2024-31-08 10:00:00", "2024-01-09 09:00:00"])
    wb.save(texts)
    frame = load([texts], ydm).frame.set_index("ticket_id")
    assert frame["received_at"].to_dict() == {"T1": pd.Timestamp("2024-08-03 10:00"), "T2": pd.Timestamp("2024-08-31 10:00")}
    # 办结时间 holds a real date cell: 2024-01-09 stays 9 January, as before.
    assert frame["closed_at"].to_dict() == {"T1": pd.Timestamp("2024-08-04 09:00"), "T2": pd.Timestamp("2024-01-09 09:00")}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_ids_without_a_digit_and_more_lines_around_the_table_are_not_tickets(tmp_path, suffix):
    """Placeholders typed by hand (two different complaints under / were merged into one), a
    header repeated where two pages were pasted together, and common lines under the table
    (记录数：7, 导出日期：…) were read as tickets (review of round 13)."""
    rows = [
        ["工单编号", "受理时间", "诉求人"],
        ["A1", "2024-08-03 09:00", "张三"],
        ["/", "2024-08-03 09:30", "李四"],
        ["/", "2024-08-03 09:40", "王五"],
        ["无", "2024-08-03 09:50", "赵六"],
        ["—", "2024-08-03 09:55", "钱七"],
        ["新村街道工单明细(第2页)", "", ""],
        ["工单编号", "受理时间", "诉求人"],
        ["A2", "2024-08-03 10:00", "孙八"],
        ["Total", "2", ""],
        ["记录数：2", "", ""],
        ["导出日期：2024-09-01", "", ""],
        ["数据截止时间：2024-08-31 24:00", "", ""],
    ]
    path = write_csv(tmp_path / "t.csv", rows) if suffix == ".csv" else write_xlsx(tmp_path / "t.xlsx", rows)
    result = load([path], Settings())
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]
    reasons = {p.value: p.message for p in result.rejected}
    assert len(result.rejected) == 10
    for placeholder in ("/", "无", "—", "工单编号", "Total"):
        assert reasons[placeholder] == f"工单编号“{placeholder}”不是编号（没有数字）：手工补的占位符（/、无）、分页处重复的表头或说明行不是工单"
    for label in ("新村街道工单明细(第2页)", "记录数:2", "导出日期:2024-09-01", "数据截止时间:2024-08-31 24:00"):
        assert reasons[label] == "不是工单：表格下方的合计、制表人或说明行", label
    assert [p for p in result.problems if p.kind == "date"] == []


def test_a_required_column_blank_in_every_row_is_an_error_naming_the_column_that_has_the_data(tmp_path):
    """受理时间 empty in every row with the times in 派单时间 gave a report of 受理 0 件 (exit 0);
    工单编号 empty with the ids in 工单号 rejected every row and import exited 0 (review of round 13)."""
    times = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间", "派单时间"], ["A1", "", "2024-08-01 10:00"], ["A2", "", "2024-08-02 10:00"]])
    with pytest.raises(InputError) as err:
        load([times], Settings())
    assert "“受理时间”列每一行都是空的，读不出受理时间" in err.value.message
    assert 'received_at = "派单时间"' in err.value.hint
    ids = write_csv(tmp_path / "i.csv", [["工单编号", "受理时间", "工单号"], ["", "2024-08-01 10:00", "GD1"], ["", "2024-08-02 10:00", "GD2"]])
    with pytest.raises(InputError) as err:
        load([ids], Settings())
    assert "“工单编号”列每一行都是空的" in err.value.message and 'ticket_id = "工单号"' in err.value.hint
    # A 合计 under 序号 (a footer, not a row without an id) does not hide it.
    totalled = write_csv(tmp_path / "s.csv", [["序号", "工单编号", "受理时间", "工单号"], [1, "", "2024-08-01 10:00", "GD1"], ["合计", "", "1", ""]])
    with pytest.raises(InputError, match="每一行都是空的"):
        load([totalled], Settings())
    # inspect (not strict) lists it instead
    listed = load([ids], Settings(), strict=False)
    assert any("每一行都是空的" in p.message for p in listed.problems)


def test_a_csv_read_in_many_blocks_gives_one_chunk_per_column_and_the_same_tickets(tmp_path, monkeypatch):
    """Arrow reads a CSV in blocks, a chunk of every column per block; the rules take rows from
    the converted columns again and again, which is cheaper from one chunk."""
    from gaopin.io import csvfile, readers
    from gaopin.io.canonical import arrow

    rows = [[f"GD{i:04d}", f"2024-08-{1 + i % 28:02d} 09:{i % 60:02d}:00", f"诉求人{i % 7}", f"1381234{i % 50:04d}", f"恰海小区{i % 9}号楼",
             "城乡建设->市容环境->垃圾", "是" if i % 3 else "否", "满意", "市派"] for i in range(400)]  # fmt: skip
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *rows])
    whole = load([path], Settings()).frame
    monkeypatch.setattr(csvfile, "CSV_BLOCK_BYTES", 1 << 10)
    blocks = readers.read(path, Settings().load, Settings().limits, Settings().columns)[0]
    assert arrow(blocks.body(0, [0]).frame["0"]).num_chunks > 10
    result = load([path], Settings())
    assert_frame_equal(result.frame, whole)
    text = [c for c in CANONICAL_COLUMNS if str(result.frame[c].dtype) == "str"]
    assert "ticket_id" in text and "address" in text
    assert {c: arrow(result.frame[c]).num_chunks for c in text} == {c: 1 for c in text}
