"""A stray formatted cell at the bottom of a sheet (the used range Excel and WPS leave after a
whole selection is formatted) is not a size bomb: calamine keeps no cell for it."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest
from openpyxl.styles import Border, Side

from gaopin.config import LimitSettings, LoadSettings
from gaopin.errors import InputError
from gaopin.io.precheck import check_xlsx
from gaopin.io.readers import read

HEADERS = ["工单编号", "受理时间", "来电人电话/账号", "所属社区", "诉求地址", "问题分类", "是否有效回访", "是否联系", "是否解决", "是否满意"]


def _export(tmp_path, columns=20, far=None, sheet="明细"):
    """50 tickets, `columns` wide; `far`: what the cell at the bottom of the last column holds."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(HEADERS + [f"备用{i}" for i in range(columns - len(HEADERS))])
    for i in range(1, 51):
        ws.append([f"GD{i:03d}", f"2024-08-{1 + i % 28:02d} 10:00", f"1380000{i:04d}", "恰海社区", "小区", "a->b", "是", "是", "是", "满意"])
    cell = ws.cell(row=1048576, column=columns)
    cell.border = Border(bottom=Side(style="thin"))  # formatted, empty
    if far is not None:
        cell.value = far
    path = tmp_path / "export.xlsx"
    wb.save(path)
    return path


def test_a_stray_formatted_cell_does_not_refuse_a_normal_export(tmp_path):
    """1048576 rows × 20 columns "declared" (20971520 cells, over the limit): refused, although
    the same file 10 columns wide read in 0.7 s."""
    path = _export(tmp_path)
    check_xlsx(path, LimitSettings())
    grids = read(path, LoadSettings(), LimitSettings())
    body = grids[0].body(0, None)
    assert len(body.frame) == 50


def test_a_value_far_away_is_still_refused_and_names_the_sheet(tmp_path):
    with pytest.raises(InputError) as err:
        check_xlsx(_export(tmp_path, far="x"), LimitSettings())
    assert "的工作表“明细”的数据区域达 1048576 行 × 20 列" in err.value.message
    assert "xl/worksheets" not in err.value.message


def _prefixed(path, out):
    """The sheet written with an `x:` prefix on every tag, as .NET's OpenXML SDK writes it."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<(/?)([A-Za-z]+)([\s>/])", rb"<\1x:\2\3", data)
                data = data.replace(b'<x:worksheet xmlns="', b'<x:worksheet xmlns:x="')
            dst.writestr(info, data)
    return out


def test_a_stray_cell_is_left_out_in_the_exact_walk_too(tmp_path):
    """Prefixed tags are walked one by one, not with the fast regular expressions."""
    check_xlsx(_prefixed(_export(tmp_path), tmp_path / "prefixed.xlsx"), LimitSettings())
    with pytest.raises(InputError, match="的工作表“明细”的数据区域达 1048576 行 × 20 列"):
        check_xlsx(_prefixed(_export(tmp_path, far="x"), tmp_path / "prefixed_far.xlsx"), LimitSettings())


def test_the_highest_row_kept():
    from gaopin.io.precheck import _highest_row_kept

    rows = [b"5", b"1048576"]
    kept = b'<row r="5"><c r="A5"><v>1</v></c></row>'
    assert _highest_row_kept(kept + b'<row r="1048576"><c r="T1048576" s="1"/></row>', rows) == 5
    assert _highest_row_kept(kept + b'<row r="1048576" spans="20:20"/>', rows) == 5
    # Cut off at the end of a chunk: the rest is looked at with the next one, cell by cell.
    assert _highest_row_kept(kept + b'<row r="1048576"><c r="T1048576" s="1"/><c r="U10', rows) == 5
    assert _highest_row_kept(kept + b'<row r="1048576" spa', rows) == 5
    assert _highest_row_kept(kept + b'<row r="1048576"><c r="T1048576"><v>1</v></c></row>', rows) == 1048576
    assert _highest_row_kept(kept + b'<row r="1048576"><c r="T1048576" s="1"/><c r="U1048576"><v', rows) == 1048576
