"""The workbook writer: what a reader gets back is what was written, escaped as Excel escapes it."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from gaopin.io import xlsx
from gaopin.io.write import Sheet, write_xlsx

# Text a reader gives back as written: any character but lone surrogates (no UTF-8 form) and
# the two non-characters Excel itself keeps as _xFFFE_ / _xFFFF_.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"), min_size=1, max_size=30)
NUMBER = st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False, width=64))


def _calamine_rows(path: Path, sheet: int = 0) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(sheet).to_python(skip_empty_area=False)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=12),
    numbers=st.lists(st.one_of(st.none(), NUMBER), min_size=12, max_size=12),
)
def test_text_and_numbers_come_back_as_written(tmp_path_factory, texts, numbers):
    n = len(texts)
    ids = [f"A{i}" for i in range(n)]  # every row has a cell: a row of blanks is no row at all
    frame = pd.DataFrame({"id": ids, "text": pd.Series(texts, dtype="str"), "number": pd.Series(numbers[:n], dtype="float64")})
    path = write_xlsx(tmp_path_factory.mktemp("x") / "x.xlsx", [Sheet("工单", frame)])
    rows = _calamine_rows(path)[1:]
    assert [row[0] for row in rows] == ids
    for (_, text, number), (want_text, want_number) in zip(rows, zip(texts, numbers[:n])):
        assert text == (want_text or "")  # an empty text is a blank cell
        if want_number is None:
            assert number == ""
        else:
            assert number == want_number  # exactly: the shortest text that reads back as the same double


def test_escapes_are_those_of_excel_and_xlsxwriter(tmp_path):
    """openpyxl leaves Excel's escapes as stored: they must be those xlsxwriter (the reference)
    stores, or a workbook opened in Excel would show other text."""
    import xlsxwriter

    tricky = ["a\rb", "_x0041_", "x\x01y\x1f", " lead", "tail\u3000", "<&>\"'", "\ufffe", "\t=1", "line\nbreak", "_x005F_"]
    ours = write_xlsx(tmp_path / "ours.xlsx", [Sheet("s", pd.DataFrame({"t": pd.Series(tricky, dtype="str")}))])
    reference = tmp_path / "ref.xlsx"
    # As gaopin wrote workbooks before (constant_memory: inline strings, as here).
    wb = xlsxwriter.Workbook(str(reference), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False, "constant_memory": True})
    ws = wb.add_worksheet("s")
    for r, text in enumerate(tricky, start=1):
        ws.write_string(r, 0, text)
    wb.close()
    got = [c.value for c in openpyxl.load_workbook(ours)["s"]["A"][1:]]
    want = [c.value for c in openpyxl.load_workbook(reference)["s"]["A"][1:]]
    assert got == want
    assert all(c.data_type == "s" for c in openpyxl.load_workbook(ours)["s"]["A"][1:])


def test_text_shaped_like_rich_text_stays_text_and_makes_no_cell(tmp_path):
    """xlsxwriter (constant_memory, as gaopin used it) wrote a text that starts with <r> and
    ends with </r> into the sheet unescaped, as rich text: a ticket's text could close its cell
    and add others, a formula among them."""
    injected = '<r><t>a</t></r></is></c><c r="B2"><f>HYPERLINK("http://x","点我")</f></c><c r="C2" t="inlineStr"><is><r><t>b</t></r>'
    frame = pd.DataFrame({"t": pd.Series([injected, "<r>x</r>"], dtype="str")})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame)])
    ws = openpyxl.load_workbook(path)["s"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [[injected], ["<r>x</r>"]]
    assert ws.max_column == 1 and ws["A2"].data_type == "s"


def test_text_is_cut_at_excels_limit_in_utf16_units(tmp_path):
    frame = pd.DataFrame({"t": pd.Series(["长" * 40_000, "😀" * 20_000, "a" * xlsx.MAX_TEXT_UNITS], dtype="str")})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame)])
    long_cjk, emoji, exact = (row[0] for row in _calamine_rows(path)[1:])
    assert long_cjk == "长" * xlsx.MAX_TEXT_UNITS
    assert emoji == "😀" * (xlsx.MAX_TEXT_UNITS // 2)  # two units each, none split
    assert exact == "a" * xlsx.MAX_TEXT_UNITS


def test_lone_surrogates_do_not_stop_the_write(tmp_path):
    """A name typed through a terminal in another encoding reaches Python as lone surrogates."""
    frame = pd.DataFrame({"t": pd.Series(["张\udce9三"], dtype=object)})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame)])
    assert _calamine_rows(path)[1] == ["张\ufffd三"]


def test_styles_rows_colours_formats_and_layout(tmp_path):
    frame = pd.DataFrame({"name": ["甲", "乙", "丙"], "rate": [0.5, None, 0.25], "flag": [True, None, 3]})
    path = write_xlsx(
        tmp_path / "x.xlsx",
        [
            Sheet("台账", frame, headers=["名称", "比率", "标记"], title="标题", row_colors=["#FFC7CE", None, "#C6EFCE"], number_formats={"rate": "0.0%"}),
            Sheet("台账", frame.iloc[:0]),  # the same name again: made unique
        ],
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["台账", "台账 (2)"]
    ws = wb["台账"]
    assert ws["A1"].value == "标题" and ws["A1"].font.b and ws["A1"].font.sz == 13
    header = ws["A2"]
    assert header.font.b and header.fill.fgColor.rgb == "FFDDEBF7" and header.border.left.style == "thin" and header.alignment.wrap_text
    assert [c.value for c in ws[3]] == ["甲", 0.5, "是"]
    assert [c.value for c in ws[5]] == ["丙", 0.25, 3]
    assert ws["B3"].number_format == "0.0%" and ws["B3"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws["B4"].number_format == "0.0%" and ws["B4"].fill.fill_type is None
    assert ws["B4"].value is None and ws["C4"].value is None
    assert ws["C5"].fill.fgColor.rgb == "FFC6EFCE"
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:C5"
    assert ws.column_dimensions["A"].width > 0
    empty = wb["台账 (2)"]
    assert [c.value for c in empty[1]] == ["name", "rate", "flag"] and empty.max_row == 1 and not empty.auto_filter.ref


def test_every_part_is_well_formed_and_the_zip_whole(tmp_path):
    frame = pd.DataFrame({"a": pd.Series(["<x>", "&", None], dtype="str"), "b": [1, 2, 3]})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("一'二", frame, title="t&t"), Sheet("b", frame)])
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        for name in zf.namelist():
            ElementTree.fromstring(zf.read(name))
        workbook = zf.read("xl/workbook.xml").decode("utf-8")
    # The filter's defined name, quoted as Excel quotes a sheet name holding an apostrophe.
    assert "'一''二'!$A$2:$B$5" in workbook


def test_a_sheet_longer_than_a_chunk_keeps_its_rows_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 7)
    frame = pd.DataFrame({"id": [f"A{i:03d}" for i in range(50)], "n": range(50)})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame, row_colors=[None if i % 3 else "#D9D9D9" for i in range(50)])])
    rows = _calamine_rows(path)[1:]
    assert rows == [[f"A{i:03d}", float(i)] for i in range(50)]
    ws = openpyxl.load_workbook(path)["s"]
    assert [ws.cell(row=r + 2, column=1).fill.fill_type == "solid" for r in range(50)] == [i % 3 == 0 for i in range(50)]


def test_numpy_scalars_in_a_mixed_column_are_numbers_and_yes_no(tmp_path):
    """np.float64 was written as the text "np.float64(2.25)" inside <v>: a workbook openpyxl refused."""
    import numpy as np

    frame = pd.DataFrame({"v": pd.Series([np.float64(2.25), np.int64(7), np.bool_(True), np.float64("nan"), "—"], dtype=object), "f": pd.Series([0.5, None, 1, 2, 3], dtype="Float64")})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame)])
    ws = openpyxl.load_workbook(path)["s"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [[2.25, 0.5], [7, None], ["是", 1], [None, 2], ["—", 3]]


def test_parts_are_deflated_at_the_writers_level_and_small_sheets_carry_no_zip64(tmp_path):
    """The level was set on the ZipFile, which entries made from a ZipInfo do not take (zlib's 6
    was used); and every sheet carried zip64 fields, which Excel is reported to refuse."""
    frame = pd.DataFrame({"t": [f"第{i}号楼 漏水" for i in range(3000)]})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", frame)])
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        raw = zf.read(info.filename)
    import zlib

    fast = zlib.compressobj(xlsx.COMPRESS_LEVEL, zlib.DEFLATED, -15)
    assert info.compress_size == len(fast.compress(raw) + fast.flush())
    local = path.read_bytes()[info.header_offset : info.header_offset + 30]
    assert int.from_bytes(local[4:6], "little") < 45  # version needed: 4.5 means zip64
    assert not xlsx._may_pass_zip_limit(xlsx.SheetData("s", ["t"], [xlsx.Column(frame["t"].tolist(), xlsx.TEXT)], [10]))
    assert xlsx._may_pass_zip_limit(xlsx.SheetData("s", ["t"], [xlsx.Column(["长" * 30_000] * 20_000, xlsx.TEXT)], [10]))


def test_fonts_name_their_colour_without_a_theme(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("s", pd.DataFrame({"a": ["x"]}), title="t")])
    with zipfile.ZipFile(path) as zf:
        styles = zf.read("xl/styles.xml").decode("utf-8")
        assert "theme" not in styles and not any(name.startswith("xl/theme") for name in zf.namelist())


def test_row_colours_that_do_not_match_the_rows_are_refused_not_rows_dropped(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="2 row colours for 4 rows"):
        write_xlsx(tmp_path / "x.xlsx", [Sheet("s", pd.DataFrame({"a": list("abcd")}), row_colors=["#FFC7CE", None])])
    assert not (tmp_path / "x.xlsx").exists()


def test_sheet_names_do_not_begin_or_end_with_an_apostrophe(tmp_path):
    """LibreOffice refused a whole workbook with a sheet named b' (Excel forbids such names)."""
    from gaopin.io.write import _sheet_name

    assert [_sheet_name(n) for n in ("b'", "'b", "'", "a'b")] == ["b_", "_b", "_", "a'b"]
