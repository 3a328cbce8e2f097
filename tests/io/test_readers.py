"""Readers: every cell comes back as text, in the right place, with the right row number."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gaopin.config import LimitSettings, LoadSettings
from gaopin.errors import InputError
from gaopin.io import csvfile, readers
from gaopin.io.readers import Grid, cell_text, read
from tests.builders import csv_text, write_bytes, write_csv, write_xlsx

DATA = Path(__file__).resolve().parent.parent / "data"


def _read_all(path: Path, **load) -> list[Grid]:
    return read(path, dataclasses.replace(LoadSettings(), **load), LimitSettings())


def _read(path: Path, **load) -> Grid:
    grids = _read_all(path, **load)
    assert len(grids) == 1
    return grids[0]


def _body(grid: Grid, header_index: int = 0, columns=None) -> tuple[list[list], list[int]]:
    body = grid.body(header_index, columns)
    rows = body.frame.astype(object).where(body.frame.notna(), None).values.tolist()
    return rows, body.row_numbers.tolist()


# --- cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (None, ""),
        ("00123", "00123"),
        (True, "TRUE"),
        (False, "FALSE"),
        (13812345678.0, "13812345678"),
        (1065123456, "1065123456"),
        (2.5, "2.5"),
        (45507.586805555555, "45507.586805555555"),
        (float("nan"), ""),
        (math.inf, ""),
        (dt.datetime(2024, 8, 3, 14, 5, 9), "2024-08-03 14:05:09"),
        (dt.datetime(2024, 8, 3, 14, 5, 9, 500), "2024-08-03 14:05:09"),
        (dt.date(2024, 8, 3), "2024-08-03"),
        (dt.time(14, 5), "14:05:00"),
        (dt.timedelta(hours=12), "0.5"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text



def test_a_column_converted_at_once_reads_as_cell_by_cell():
    values = [None, "00123", True, 13812345678.0, -3.0, -0.0, 1e300, 1065123456, 2.5, float("nan"), -math.inf,
              dt.datetime(2024, 8, 3, 14, 5, 9, 500), dt.datetime(1, 1, 1), dt.date(2024, 8, 3), dt.time(14, 5),
              dt.timedelta(hours=12)]  # fmt: skip
    assert readers._texts(values) == [cell_text(v) for v in values]

# --- workbooks --------------------------------------------------------------------------


def test_xlsx_numbers_become_digit_strings(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [
            ["工单编号", "来电号码", "受理时间", "编号文本"],
            [240803001, 13812345678, dt.datetime(2024, 8, 3, 14, 5), "000123"],
            [240803002, 1065123456.0, 45507.5, "0086"],
        ],
        text_columns=[3],
    )
    grid = _read(path)
    assert grid.kind == "xlsx" and grid.sheet == "Sheet1"
    assert grid.head[0] == ["工单编号", "来电号码", "受理时间", "编号文本"]
    rows, numbers = _body(grid)
    assert rows == [
        ["240803001", "13812345678", "2024-08-03 14:05:00", "000123"],
        ["240803002", "1065123456", "45507.5", "0086"],
    ]
    assert numbers == [2, 3]
    assert all(isinstance(v, str) for row in rows for v in row)
    assert not any(v.endswith(".0") or "E+" in v for row in rows for v in row)


def test_ids_of_sixteen_digits_or_more_stored_as_numbers_are_flagged(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["工单编号", "受理时间"], [1234567890123456789, "2024-08-03"], [123456789012345, "2024-08-03"], [1234567890123456, "x"]],
    )
    body = _read(path).body(0, None)
    assert body.imprecise == {0: [0, 2]}  # body rows 0 and 2 of column 0; 15 digits is exact


def test_merged_title_row_and_blank_rows_keep_file_row_numbers(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["新村街道 12345 工单明细"], [], ["工单编号", "受理时间"], ["A1", "2024-08-03"], [], ["A2", "2024-08-04"]],
        merge=["A1:B1"],
    )
    grid = _read(path)
    assert grid.head[0] == ["新村街道 12345 工单明细", ""]
    rows, numbers = _body(grid, 2)
    assert rows[0] == ["A1", "2024-08-03"] and rows[2] == ["A2", "2024-08-04"]
    assert numbers == [4, 5, 6]


def test_sheet_choice(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx", [["工单编号", "受理时间"]], sheet="明细", extra_sheets={"汇总": [["合计", 3]]}, first_sheet_empty=True
    )
    # Every sheet of a workbook, in order: the loader picks those with a ticket header.
    assert [(g.sheet, g.empty, g.hidden) for g in _read_all(path)] == [("空白", True, False), ("明细", False, False), ("汇总", False, False)]
    assert _read(path, sheet="汇总").sheet == "汇总"
    assert _read(path, sheet="3").sheet == "汇总"  # by number, from 1
    with pytest.raises(InputError) as err:
        _read(path, sheet="工单")
    assert "没有名为“工单”的工作表" in err.value.message
    assert "明细" in err.value.hint and "汇总" in err.value.hint and "[load] sheet" in err.value.hint
    # The file's own sheet names are listed as every text for people is: masked.
    named = write_xlsx(tmp_path / "n.xlsx", [["工单编号", "受理时间"]], sheet="张三13812345678")
    with pytest.raises(InputError) as err:
        _read(named, sheet="工单")
    assert "张三138****5678" in err.value.hint and "13812345678" not in err.value.hint


def test_a_hidden_sheet_is_marked_and_not_read(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["工单编号", "受理时间"], ["A1", "2024-08-03"]], sheet="上周", extra_sheets={"本周": [["工单编号", "受理时间"]]})
    book = openpyxl.load_workbook(path)
    book["上周"].sheet_state = "hidden"
    book.active = 1
    book.save(path)
    grids = _read_all(path)
    assert [(g.sheet, g.hidden) for g in grids] == [("上周", True), ("本周", False)]
    assert grids[0].head == [] and grids[0].body_reader is None
    assert _read(path, sheet="上周").head[1] == ["A1", "2024-08-03"]  # asked for by name, it is read


@pytest.mark.parametrize("content, name", [("legacy_export.xls", "t.xlsx"), ("legacy_export.xls", "t.xlsm"), ("legacy_export.xls", "t.XLS"), ("xlsx", "t.xls"), ("xlsx", "t.xlsb")])
def test_a_workbook_is_read_as_what_it_is_whatever_its_name(tmp_path, content, name):
    """calamine picks its parser by the file name's extension: the content decides here."""
    if content == "xlsx":
        source = write_xlsx(tmp_path / "real.xlsx", [["工单编号", "受理时间"], ["A1", "2024-08-03"]])
    else:
        source = DATA / content
    path = write_bytes(tmp_path / name, source.read_bytes())
    grids = _read_all(path)
    assert grids[0].kind == ("xlsx" if content == "xlsx" else "xls")
    assert any("工单编号" in row for row in grids[0].head)


def test_empty_sheet_is_an_error(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [])
    with pytest.raises(InputError, match="是空的") as err:
        _read(path)
    assert "sheet" in err.value.hint


def test_real_xls(tmp_path):
    grid = _read(DATA / "legacy_export.xls")
    assert grid.kind == "xls" and grid.sheet == "工单"
    assert grid.head[1][:3] == ["工单编号", "来电时间", "来电人电话/账号"]
    rows, numbers = _body(grid, 1)
    assert rows[0][:3] == ["240803001", "2024-08-03 14:05:00", "13812345678"]
    assert numbers == [3, 4]


def test_damaged_ole_file(tmp_path):
    path = write_bytes(tmp_path / "t.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    with pytest.raises(InputError, match="无法作为 Excel 文件读取") as err:
        _read(path)
    assert "另存为" in err.value.hint


# --- HTML saved as .xls ------------------------------------------------------------------


def test_html_table_is_read_as_text(tmp_path):
    html = """<html><head><meta charset="gb2312"><title>导出</title></head><body>
    <table><tr><td>页眉</td></tr></table>
    <table border="1">
      <tr><th colspan="3">新村街道工单</th></tr>
      <tr><th>工单编号</th><th>受理时间</th><th>诉求内容</th></tr>
      <tr><td>000123</td><td>2024-08-03 14:05</td><td>楼道&amp;电梯<br>噪音</td></tr>
      <tr><td>000124</td><td>2024/8/4</td><td><table><tr><td>内嵌</td></tr></table>王䶮</td></tr>
    </table></body></html>"""
    grid = _read(write_bytes(tmp_path / "export.xls", html.encode("gb18030")))
    assert grid.kind == "html"
    assert grid.head[0] == ["新村街道工单", "", ""]
    assert grid.head[1] == ["工单编号", "受理时间", "诉求内容"]
    rows, numbers = _body(grid, 1)
    assert rows[0] == ["000123", "2024-08-03 14:05", "楼道&电梯\n噪音"]
    assert rows[1][0] == "000124" and rows[1][2].endswith("王䶮")
    assert numbers == [3, 4]


def test_html_unclosed_cells_and_rows(tmp_path):
    html = "<table><tr><td>工单编号<td>受理时间<tr><td>1<td>2024-08-03</table>"
    grid = _read(write_bytes(tmp_path / "export.xls", html.encode()))
    assert grid.head == [["工单编号", "受理时间"], ["1", "2024-08-03"]]


def test_html_without_a_table_is_an_error(tmp_path):
    path = write_bytes(tmp_path / "export.xls", "<html><body>会话已过期，请重新登录</body></html>".encode())
    with pytest.raises(InputError, match="没有表格数据") as err:
        _read(path)
    assert "登录页" in err.value.hint


# --- CSV ------------------------------------------------------------------------------

ROWS = [["工单编号", "受理时间", "诉求人"], ["001", "2024-08-03 14:05", "王䶮"], ["002", "2024/8/4", "李四"]]


@pytest.mark.parametrize(
    "encoding, reported",
    [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("utf-16", "utf-16"), ("utf-16-le", None)],
)
def test_csv_encodings(tmp_path, encoding, reported):
    data = csv_text(ROWS).encode(encoding)
    if encoding == "utf-16-le":
        data, reported = b"\xff\xfe" + data, "utf-16"
    grid = _read(write_bytes(tmp_path / "t.csv", data))
    assert grid.encoding == reported
    assert grid.head[0] == ROWS[0]  # no BOM glued to the first header
    rows, numbers = _body(grid)
    assert rows == ROWS[1:]
    assert numbers == [2, 3]


def test_gb18030_name_that_gbk_cannot_decode(tmp_path):
    data = csv_text(ROWS).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")
    rows, _ = _body(_read(write_bytes(tmp_path / "t.csv", data)))
    assert rows[0][2] == "王䶮"


def test_csv_encoding_override(tmp_path):
    path = write_bytes(tmp_path / "t.csv", csv_text([["工單編號", "受理時間"], ["1", "張三"]]).encode("big5"))
    grid = _read(path, encoding="big5")
    assert grid.encoding == "big5" and grid.head[0] == ["工單編號", "受理時間"]
    assert _body(grid)[0] == [["1", "張三"]]


def test_unknown_encoding_name(tmp_path):
    path = write_csv(tmp_path / "t.csv", ROWS)
    with pytest.raises(InputError, match="不认识的编码名称"):
        _read(path, encoding="gb-what")


def test_undecodable_csv_names_the_byte_offset(tmp_path):
    path = write_bytes(tmp_path / "t.csv", "工单编号,受理时间\n".encode("gb18030") + b"1,\xff\xfe\xff\n")
    with pytest.raises(InputError) as err:
        _read(path)
    assert "utf-8-sig（第 0 字节处无法解码）、gb18030（第 20 字节处无法解码）" in err.value.message
    assert "--encoding" in err.value.hint


def test_undecodable_byte_after_a_long_utf8_head_names_where_utf8_failed(tmp_path):
    rows = [[f"A{i:06d}", "2024-08-03 14:05", "张三" * 10] for i in range(6000)]
    data = csv_text([["工单编号", "受理时间", "诉求人"]] + rows).encode()
    path = write_bytes(tmp_path / "t.csv", data + b"B1,2024-08-04,\xff\xfe\n")
    assert len(data) > 256 * 1024
    with pytest.raises(InputError) as err:
        _read(path).body(0, None)
    assert f"utf-8-sig（第 {len(data) + 14} 字节处无法解码）" in err.value.message


def test_non_utf8_after_a_long_ascii_head_switches_to_gb18030(tmp_path):
    head = [["id", "time", "name"]]
    ascii_rows = [[f"A{i:06d}", "2024-08-03 14:05", "x" * 20] for i in range(9000)]  # > 256 KB of ASCII
    data = (csv_text(head) + csv_text(ascii_rows)).encode("gb18030") + csv_text([["B1", "2024-08-04", "王䶮"]]).encode("gb18030")
    assert len(csv_text(ascii_rows)) > 256 * 1024
    grid = _read(write_bytes(tmp_path / "t.csv", data))
    assert grid.encoding == "utf-8-sig"  # all the head saw was ASCII
    rows, numbers = _body(grid)
    assert grid.encoding == "gb18030"
    assert rows[-1] == ["B1", "2024-08-04", "王䶮"]
    assert numbers[-1] == 9002


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_delimiters(tmp_path, sep):
    rows = [["工单编号", "受理时间", "诉求内容"], ["1", "2024-08-03", "楼道,电梯,噪音,扰民,半夜"]]
    grid = _read(write_bytes(tmp_path / "t.csv", csv_text(rows, sep=sep).encode()))
    assert grid.head[0] == rows[0]
    assert _body(grid)[0] == rows[1:]


def test_mixed_line_endings(tmp_path):
    data = "工单编号,受理时间\r\n1,2024-08-03\n2,2024-08-04\r3,2024-08-05\r\n4,2024-08-06".encode()
    rows, numbers = _body(_read(write_bytes(tmp_path / "t.csv", data)))
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert numbers == [2, 3, 4, 5]


def test_quoted_newlines_and_title_rows_above_the_header(tmp_path):
    """A title cell spanning two lines and a blank line before the header: records, not lines."""
    data = '"新村街道\n工单明细",,\n\n工单编号,受理时间,诉求内容\n1,2024-08-03,"第一行\r\n第二行"\n2,2024-08-04,x\n'.encode()
    grid = _read(write_bytes(tmp_path / "t.csv", data))
    assert grid.head[2] == ["工单编号", "受理时间", "诉求内容"]
    rows, numbers = _body(grid, 2)
    assert rows == [["1", "2024-08-03", "第一行\r\n第二行"], ["2", "2024-08-04", "x"]]
    assert numbers == [4, 5]


def test_blank_lines_in_the_body_keep_row_numbers(tmp_path):
    data = b"ticket,time\n1,2024-08-03\n\n\n2,2024-08-04\n"
    rows, numbers = _body(_read(write_bytes(tmp_path / "t.csv", data)))
    kept = [(r, n) for r, n in zip(rows, numbers) if any(rows_value for rows_value in r)]
    assert kept == [(["1", "2024-08-03"], 2), (["2", "2024-08-04"], 5)]


def test_ragged_rows(tmp_path):
    data = "工单编号,受理时间,诉求人\n1,2024-08-03\n2,2024-08-04,b,多出来的\n3,2024-08-05,c,\n".encode()
    body = _read(write_bytes(tmp_path / "t.csv", data)).body(0, None)
    assert body.frame.astype(object).where(body.frame.notna(), None).values.tolist() == [
        ["1", "2024-08-03", None],
        ["2", "2024-08-04", "b"],
        ["3", "2024-08-05", "c"],
    ]
    assert body.problems == [(3, "该行比表头多出 1 个单元格，多出的内容未读取")]


def test_ragged_rows_beyond_the_head(tmp_path):
    rows = [["工单编号", "受理时间"]] + [[str(i), "2024-08-03"] for i in range(40)] + [["41", "2024-08-03", "多"], ["42"]]
    body = _read(write_bytes(tmp_path / "t.csv", csv_text(rows).encode())).body(0, None)
    assert len(body.frame) == 42
    assert body.frame["0"].tolist()[-2:] == ["41", "42"]
    assert body.problems == [(42, "该行比表头多出 1 个单元格，多出的内容未读取")]
    assert body.row_numbers.tolist()[-1] == 43


def test_long_note_row_above_the_header_does_not_widen_the_table(tmp_path):
    data = ("说明：" + ",".join("abcdefghij") + "\n工单编号,受理时间\n1,2024-08-03\n").encode()
    grid = _read(write_bytes(tmp_path / "t.csv", data))
    body = grid.body(1, [0, 1])
    assert body.frame.values.tolist() == [["1", "2024-08-03"]]
    assert body.problems == []


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf\xe5\xb7\xa5\xe5\x8d\x95\xe7\xbc\x96\xe5\x8f\xb7,x\r\n", "工单编号,x".encode()])
def test_header_only_csv(tmp_path, data):
    body = _read(write_bytes(tmp_path / "t.csv", data)).body(0, [0, 1])
    assert len(body.frame) == 0 and list(body.frame.columns) == ["0", "1"]


def test_whitespace_only_csv_is_an_error(tmp_path):
    with pytest.raises(InputError, match="没有任何内容"):
        _read(write_bytes(tmp_path / "t.csv", b" \r\n\t\r\n"))


def test_only_wanted_columns_are_read(tmp_path):
    grid = _read(write_csv(tmp_path / "t.csv", ROWS))
    body = grid.body(0, [0, 2])
    assert list(body.frame.columns) == ["0", "2"]
    assert body.frame["2"].tolist() == ["王䶮", "李四"]


def test_csv_is_text_only(tmp_path):
    rows = [["工单编号", "来电号码", "受理时间"], ["000123", "01065123456", "45507.5"], ["1.23457E+18", "13812345678", "2024-08-03"]]
    body = _read(write_csv(tmp_path / "t.csv", rows)).body(0, None)
    assert all(str(dtype) == "str" for dtype in body.frame.dtypes)
    assert body.frame.values.tolist() == rows[1:]


def test_head_is_at_most_thirty_rows(tmp_path):
    rows = [["x"]] * 40 + [["工单编号", "受理时间"]]
    grid = _read(write_csv(tmp_path / "t.csv", rows))
    assert len(grid.head) == csvfile.HEAD_ROWS
    assert isinstance(pd.DataFrame(grid.head), pd.DataFrame)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
@pytest.mark.parametrize("inside", [1, 2])
def test_a_character_cut_at_the_end_of_the_head_sample_is_not_an_error(tmp_path, encoding, inside):
    # The 256 KB head sample ends `inside` bytes into a multibyte character.
    head = "工单编号,受理时间,诉求地址\r\n".encode(encoding)
    bom = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    row = "A1,2024-08-03 10:00,".encode(encoding)
    filler = 256 * 1024 - len(bom) - len(head) - len(row) - inside
    data = bom + head + row + b"x" * filler + "恰海小区\r\n".encode(encoding.replace("-sig", ""))
    path = write_bytes(tmp_path / "t.csv", data + b"A2,2024-08-04 10:00,y\r\n")
    grid = _read(path)
    assert grid.encoding == encoding
    assert len(grid.body(0, None).frame) == 2


def test_a_quote_anywhere_in_a_csv_means_values_may_span_lines(tmp_path):
    plain = "工单编号,标题\n" + "".join(f"GD{i:08d},标题{i}\n" for i in range(200_000))  # several MB
    path = tmp_path / "a.csv"
    path.write_text(plain, encoding="utf-8")
    assert not csvfile.may_quote_newlines(path, "utf-8-sig")
    path.write_text(plain + 'GD99999999,"两行\n标题"\n', encoding="utf-8")
    assert csvfile.may_quote_newlines(path, "utf-8-sig")
    assert csvfile.may_quote_newlines(path, "utf-16")  # other encodings are not searched
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert not csvfile.may_quote_newlines(empty, "utf-8")


# --- a quote left open ---------------------------------------------------------------------

OPEN_QUOTE_HEADER = "工单编号,受理时间,来电号码,诉求地址,问题分类,诉求内容\n"
_RECORD = "E{0},2024-08-01 1{0}:00,1381234567{0},甲小区,a->b,{1}\n"


@pytest.mark.parametrize(
    "lines, columns, row, swallowed",
    [
        # The reviewer's file: a 诉求内容 opened with a quote that a later cell happens to close.
        ([_RECORD.format(1, "ok"), _RECORD.format(2, '"引号开头'), _RECORD.format(3, "x"), _RECORD.format(4, '"x"y')], None, 3, 2),
        # Never closed: everything to the end of the file is read as one cell.
        ([_RECORD.format(1, "ok"), _RECORD.format(2, '"引号开头'), _RECORD.format(3, "x"), _RECORD.format(4, "y")], None, 3, 2),
        # In a column the command does not read (warn does not read 诉求内容): still found.
        ([_RECORD.format(1, '"引号开头'), _RECORD.format(2, "x"), _RECORD.format(3, "y")], [0, 1, 3], 2, 2),
        # In a middle column: the rows come out ragged and the csv module reads them.
        (["E1,2024-08-01 10:00,13812345671,\"甲小区,a->b,x\n", _RECORD.format(2, "x"), _RECORD.format(3, "y"), 'E4,2024-08-01 13:00,1,乙",a,b,c,d\n'], None, 2, 3),
    ],
)
def test_a_quote_left_open_is_an_error_not_lost_records(tmp_path, lines, columns, row, swallowed):
    """Records after a quote that is never closed were read as that cell's text: a file of
    five tickets loaded as three, and inspect saw nothing wrong."""
    path = write_bytes(tmp_path / "q.csv", (OPEN_QUOTE_HEADER + "".join(lines)).encode())
    with pytest.raises(InputError) as err:
        _read(path).body(0, columns)
    assert f"q.csv 第 {row} 行" in err.value.message
    assert f"其后 {swallowed} 行记录" in err.value.message
    assert "引号" in err.value.hint and ".xlsx" in err.value.hint


@pytest.mark.parametrize("sep, encoding", [("\t", "utf-8-sig"), (",", "gb18030")])
def test_a_quote_left_open_in_other_dialects(tmp_path, sep, encoding):
    rows = [OPEN_QUOTE_HEADER.strip().split(",")] + [[f"E{i}", "2024-08-01 10:00", "1", "甲", "a", "x"] for i in range(40)]
    text = csv_text(rows, sep=sep).replace("x\r\nE30", '"引号开头\r\nE30')
    with pytest.raises(InputError, match="第 31 行"):
        _read(write_bytes(tmp_path / "q.csv", text.encode(encoding))).body(0, None)


def test_cells_typed_over_several_lines_are_not_mistaken_for_an_open_quote(tmp_path):
    """Excel quotes a cell typed with Alt+Enter: its lines hold text, not whole records."""
    content = "地址：甲小区3号楼\n联系人：张三,13812345678\r\n诉求：1,2 两户"  # fewer than half a record's commas per line
    rows = [OPEN_QUOTE_HEADER.strip().split(","), ["E1", "2024-08-01 10:00", "1", "甲", "a", content], ["E2", "2024-08-01 11:00", "1", "乙", "a", "x"]]
    rows_read, numbers = _body(_read(write_csv(tmp_path / "t.csv", rows)))
    assert [r[5] for r in rows_read] == [content, "x"]
    assert numbers == [2, 3]


def test_swallowed_records_are_found_in_any_chunk_and_slice():
    import pyarrow as pa

    texts = ["a", None, "b\nc", "x\nE9,1,2", "y"]
    column = pa.chunked_array([pa.array(texts[:2], pa.large_string()), pa.array(["z"] + texts[2:], pa.large_string()).slice(1)])
    assert readers._swallowed_records([column], ",", 3) == (3, 1)
    assert readers._swallowed_records([column], ",", 7) is None  # three of six commas needed
    assert readers._rows_with_line_breaks(pa.array(["\n", "a", "b\r", "c"], pa.string()).slice(1)).tolist() == [1]
