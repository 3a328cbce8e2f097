"""Merged and spanned cells, and which HTML table is the export: every value in its column."""

from __future__ import annotations

import dataclasses

import openpyxl

from gaopin.config import LimitSettings, LoadSettings
from gaopin.io.header import find_header
from gaopin.io.readers import read
from tests.builders import write_bytes

HEADERS = ["工单编号", "受理时间", "来电人", "来电人电话/账号", "所属社区", "诉求地址", "问题分类", "是否有效回访", "是否联系", "是否解决", "是否满意"]
ROWS = [
    [f"GD{i:03d}", f"2024-08-0{i} 10:00", f"人{i}", f"1380000{i:04d}", "恰海社区" if i <= 3 else "桥一社区", "小区1号楼", "城乡建设->物业", "是", "是", "否", "不满意"]
    for i in range(1, 7)
]


def _grid(path, **load):
    grids = read(path, dataclasses.replace(LoadSettings(), **load), LimitSettings())
    assert len(grids) == 1
    return grids[0]


def _rows(grid, header_index):
    body = grid.body(header_index, None)
    return body.frame.astype(object).where(body.frame.notna(), "").values.tolist(), body


def _html(body: str) -> bytes:
    return f'<html><head><meta charset="utf-8"></head><body><table border="1">{body}</table></body></html>'.encode()


def _tr(cells: list[str]) -> str:
    return "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"


# --- HTML rowspan and colspan --------------------------------------------------------------


def test_html_community_spanned_down_over_data_rows_fills_each_row(tmp_path):
    """所属社区 written once with rowspan="3" for three tickets: the cells after it in the two
    rows below moved one column left (是否联系 read 否, 是否满意 blank), and the report was wrong."""
    body = "<tr>" + "".join(f"<th>{h}</th>" for h in HEADERS) + "</tr>"
    for i, row in enumerate(ROWS):
        cells = list(row)
        if i % 3 == 0:
            cells[4] = f'<td rowspan="3">{row[4]}</td>'
        else:
            del cells[4]
        body += _tr(cells)
    rows, read_body = _rows(_grid(write_bytes(tmp_path / "export.xls", _html(body))), 0)
    assert rows == ROWS
    assert read_body.merged == [(2, 5, 4, 5), (5, 5, 7, 5)]  # file rows and columns, 1-based


def test_html_two_row_header_with_rowspan_and_colspan_is_found(tmp_path):
    """The grouped header of an HTML export: 诉求人信息 and 回访情况 span their columns, the other
    headers span both rows. It was read without the spans, and 工单编号 and 受理时间 went missing."""
    header = (
        '<tr><th rowspan="2">工单编号</th><th rowspan="2">受理时间</th><th colspan="2">诉求人信息</th><th rowspan="2">所属社区</th>'
        '<th rowspan="2">诉求地址</th><th rowspan="2">问题分类</th><th colspan="4">回访情况</th></tr>'
        "<tr><th>来电人</th><th>来电人电话/账号</th><th>是否有效回访</th><th>是否联系</th><th>是否解决</th><th>是否满意</th></tr>"
    )
    grid = _grid(write_bytes(tmp_path / "export.xls", _html(header + "".join(_tr(r) for r in ROWS))))
    # As a workbook's merged header reads: the value in the first cell, blanks in the others.
    assert grid.head[0][:5] == ["工单编号", "受理时间", "诉求人信息", "", "所属社区"]
    assert grid.head[1][:5] == ["", "", "来电人", "来电人电话/账号", ""]
    found = find_header(grid.head, {}, 0, "export.xls")
    assert (found.index, found.rows) == (0, 2)
    assert found.cells == HEADERS
    rows, read_body = _rows(grid, found.last)
    assert rows == ROWS
    assert read_body.merged == []  # the header's spans are not data


def test_html_spans_in_a_row_and_past_the_table_end(tmp_path):
    body = (
        "<tr><th>工单编号</th><th>受理时间</th><th>是否联系</th><th>是否解决</th></tr>"
        '<tr><td>GD1</td><td rowspan="9">2024-08-01</td><td colspan="2">是</td></tr>'
        "<tr><td>GD2</td><td>否</td><td>否</td></tr>"
    )
    rows, _ = _rows(_grid(write_bytes(tmp_path / "export.xls", _html(body))), 0)
    assert rows == [["GD1", "2024-08-01", "是", "是"], ["GD2", "2024-08-01", "否", "否"]]


# --- xlsx merged cells in the body ----------------------------------------------------------


def test_xlsx_community_merged_down_over_data_rows_fills_each_row(tmp_path):
    """A sheet grouped by hand: 所属社区 merged down over each community's tickets. Only the
    first of them had the community; the report put 4 of 6 tickets under （未填）."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["新村街道工单"])  # a merged title above the header stays as it was
    ws.merge_cells("A1:K1")
    ws.append(HEADERS)
    for row in ROWS:
        ws.append(row)
    ws.merge_cells("E3:E5")
    ws.merge_cells("E6:E8")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    grid = _grid(path)
    assert grid.head[0] == ["新村街道工单"] + [""] * 10
    rows, body = _rows(grid, 1)
    assert rows == ROWS
    assert body.merged == [(3, 5, 5, 5), (6, 5, 8, 5)]


# --- which HTML table ------------------------------------------------------------------------


def test_html_the_table_with_the_ticket_header_not_the_longest(tmp_path):
    """A 查询条件 table of five rows above a daily export of two tickets: the longer table was
    read, and the file was refused as having no header."""
    cond = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in [("导出时间", "2024-08-02"), ("受理时间", "2024-08-01"), ("街乡镇", "新村街道"), ("工单类型", "全部"), ("导出人", "张三")])
    data = "<tr>" + "".join(f"<th>{h}</th>" for h in HEADERS[:5]) + "</tr>" + "".join(_tr(r[:5]) for r in ROWS[:2])
    path = write_bytes(tmp_path / "export.xls", f"<html><body><table>{cond}</table><br><table>{data}</table></body></html>".encode())
    grid = _grid(path)
    assert grid.head[0] == HEADERS[:5]
    assert _rows(grid, 0)[0] == [r[:5] for r in ROWS[:2]]


def test_html_a_data_table_nested_in_a_layout_table(tmp_path):
    inner = "<table><tr>" + "".join(f"<th>{h}</th>" for h in HEADERS[:5]) + "</tr>" + "".join(_tr(r[:5]) for r in ROWS) + "</table>"
    html = f"<html><body><table><tr><td>新村街道工单导出</td></tr><tr><td>{inner}</td></tr></table></body></html>"
    grid = _grid(write_bytes(tmp_path / "export.xls", html.encode()))
    assert grid.head[0] == HEADERS[:5]
    assert _rows(grid, 0)[0] == [r[:5] for r in ROWS]


def test_html_without_a_known_header_reads_the_longest_table(tmp_path):
    """Headers named only in [columns]: the longest table, as before."""
    html = "<table><tr><td>a</td></tr></table><table><tr><td>Key</td><td>Date</td></tr><tr><td>1</td><td>2</td></tr></table>"
    assert _grid(write_bytes(tmp_path / "export.xls", html.encode())).head[0] == ["Key", "Date"]


def test_html_table_chosen_by_the_headers_of_columns_config(tmp_path):
    """Headers known only from [columns]: given to read(), they choose the table too."""
    conf = "<tr><td>导出时间</td><td>2024-08-02</td></tr>" * 5
    data = "<tr><th>Key</th><th>Created</th></tr><tr><td>1</td><td>2024-08-01</td></tr>"
    path = write_bytes(tmp_path / "export.xls", f"<table>{conf}</table><table>{data}</table>".encode())
    grids = read(path, LoadSettings(), LimitSettings(), {"ticket_id": "Key", "received_at": "Created"})
    assert grids[0].head[0] == ["Key", "Created"]


def test_merged_areas_stay_within_the_cells_read_and_are_bounded():
    from gaopin.io.readers import _fill_spans

    rows = [["h1", "h2"], ["a", ""], ["", ""]]
    filled, areas = _fill_spans(rows, [(1, 0, 99, 99)], 0)  # past the last row and column
    assert filled == [["h1", "h2"], ["a", "a"], ["a", "a"]]
    assert areas == [(1, 0, 2, 1)]
    assert rows[2] == ["", ""]  # the rows given are left as they were
    # The same area listed again and again (a forged file): filled once, then no more.
    filled, areas = _fill_spans(rows, [(1, 0, 2, 1)] * 1000, 0)
    assert len(areas) == 1


def test_load_chooses_the_html_table_by_the_headers_of_its_columns_config(tmp_path):
    """load() gave read() no [columns]: a table whose headers only [columns] names was passed
    over for a longer one (the follow-up of review finding 3)."""
    import dataclasses

    from gaopin.config import Settings
    from gaopin.io.load import load

    conf = "<tr><td>导出时间</td><td>2024-08-02</td></tr>" * 5
    data = "<tr><th>Key</th><th>Created</th></tr><tr><td>GD1</td><td>2024-08-01 10:00</td></tr>"
    path = write_bytes(tmp_path / "export.xls", f"<table>{conf}</table><table>{data}</table>".encode())
    settings = dataclasses.replace(Settings(), columns={"ticket_id": "Key", "received_at": "Created"})
    assert load([path], settings).frame["ticket_id"].tolist() == ["GD1"]
