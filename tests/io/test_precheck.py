"""The xlsx safety check that runs before any parser sees the file."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import pytest

from gaopin.config import LimitSettings, Settings
from gaopin.errors import InputError
from gaopin.io.load import load
from gaopin.io.precheck import check_xlsx, column_number
from tests.builders import write_xlsx

SHEET = "xl/worksheets/sheet1.xml"


def _export(tmp_path: Path, name: str = "t.xlsx") -> Path:
    return write_xlsx(tmp_path / name, [["工单编号", "受理时间"], ["A1", "2024-08-03 14:05"]])


def _rewrite(path: Path, changes: dict[str, object], add: dict[str, bytes] | None = None) -> Path:
    """Copy the zip with some members changed: bytes replace a member, a function edits it."""
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            change = changes.get(info.filename)
            if callable(change):
                data = change(data)
            elif change is not None:
                data = change
            dst.writestr(info.filename, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out


def _limits(**kw) -> LimitSettings:
    return dataclasses.replace(LimitSettings(), **kw)


def test_column_number():
    assert [column_number(c) for c in ("A", "Z", "AA", "AZ", "XFD")] == [1, 26, 27, 52, 16384]


def test_normal_export_passes(tmp_path):
    result = check_xlsx(_export(tmp_path), LimitSettings())
    assert result.formulas_without_value == {SHEET: 0}


def test_declared_dimension_too_large_is_refused(tmp_path):
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', d)})
    with pytest.raises(InputError, match="声明了") as err:
        check_xlsx(path, LimitSettings())
    assert "[limits]" in err.value.hint


def test_far_away_cell_is_refused(tmp_path):
    far = b'<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: d.replace(b"</sheetData>", far)})
    with pytest.raises(InputError, match="行"):
        check_xlsx(path, LimitSettings())


def test_wide_cell_is_refused(tmp_path):
    wide = b'<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: d.replace(b"</sheetData>", wide)})
    with pytest.raises(InputError, match="列"):
        check_xlsx(path, _limits(max_columns=1000))


def test_dense_range_is_refused_before_calamine_sees_it(tmp_path):
    """One cell at XFD1048576 in a tiny file: calamine would abort the process allocating it."""
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: d.replace(b"</sheetData>", far)})
    assert path.stat().st_size < 10_000
    with pytest.raises(InputError, match="上限"):
        load([path], Settings())


def test_compression_bomb_is_refused(tmp_path):
    path = _rewrite(_export(tmp_path), {}, add={"xl/media/image1.bin": b"\0" * (3 * 1024 * 1024)})
    with pytest.raises(InputError, match="压缩比"):
        check_xlsx(path, LimitSettings())


def test_total_size_limit(tmp_path):
    path = _rewrite(_export(tmp_path), {}, add={"xl/media/image1.bin": bytes(range(256)) * 8192})
    with pytest.raises(InputError, match="解压后"):
        check_xlsx(path, _limits(max_uncompressed_mb=1))


def test_file_size_limit(tmp_path):
    with pytest.raises(InputError, match="超过上限 0 MB"):
        check_xlsx(_export(tmp_path), _limits(max_file_mb=0))


def test_dtd_is_refused(tmp_path):
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n'
    path = _rewrite(_export(tmp_path), {"xl/workbook.xml": lambda d: doctype + d.split(b"?>", 1)[-1]})
    with pytest.raises(InputError, match="DTD"):
        check_xlsx(path, LimitSettings())


def test_tampered_sizes_are_refused(tmp_path):
    """A member that inflates to more than its declared size."""
    path = _export(tmp_path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET)
    # Shrink the declared uncompressed size in the central directory entry of the sheet.
    name = SHEET.encode()
    at = raw.rfind(b"PK\x01\x02" + b"", 0, raw.rfind(name))
    raw[at + 24 : at + 28] = (10).to_bytes(4, "little")
    bad = path.with_name("tampered.xlsx")
    bad.write_bytes(bytes(raw))
    assert info.file_size > 10
    with pytest.raises(InputError):
        check_xlsx(bad, LimitSettings())


def test_formula_cells_without_a_cached_value_are_counted(tmp_path):
    """openpyxl (and other programs) write formulas with an empty <v/>: they read as empty."""
    path = write_xlsx(tmp_path / "f.xlsx", [["工单编号", "受理时间"], ['="A"&1', "2024-08-03"], ["=CONCAT(\"B\",2)", "2024-08-04"]])
    assert check_xlsx(path, LimitSettings()).formulas_without_value == {SHEET: 2}


@pytest.mark.parametrize(
    "cell",
    [b'<c r="A3"><f>1+1</f></c>', b'<c r="A3"><f>1+1</f><v></v></c>', b'<c r="A3"><f t="shared" si="0"/></c>', b'<x:c r="A3"><x:f>1+1</x:f><x:v/></x:c>'],
)
def test_formula_without_value_forms(tmp_path, cell):
    row = b'<row r="3">' + cell + b"</row></sheetData>"
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: d.replace(b"</sheetData>", row)})
    assert check_xlsx(path, LimitSettings()).formulas_without_value == {SHEET: 1}


def test_formula_with_cached_value_is_not_counted(tmp_path):
    row = b'<row r="3"><c r="A3"><f>1+1</f><v>2</v></c></row></sheetData>'
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: d.replace(b"</sheetData>", row)})
    assert check_xlsx(path, LimitSettings()).formulas_without_value == {SHEET: 0}
