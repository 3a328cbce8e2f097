"""The xlsx safety check that runs before any parser sees the file."""

from __future__ import annotations

import dataclasses
import random
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


def test_declared_dimension_beyond_a_sheet_is_refused(tmp_path):
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFE1"', d)})
    with pytest.raises(InputError, match="声明了 16385 列") as err:
        check_xlsx(path, LimitSettings())
    assert "[limits]" in err.value.hint


def test_a_declared_area_alone_is_not_refused(tmp_path):
    """<dimension> is the used range: calamine reserves nothing for it, the cells decide."""
    path = _rewrite(_export(tmp_path), {SHEET: lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', d)})
    check_xlsx(path, LimitSettings())


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
    # Random bytes do not compress: the file is over 1 MB (the smallest limit there is).
    path = _rewrite(_export(tmp_path), {}, add={"xl/media/image1.bin": random.Random(1).randbytes(1_200_000)})
    with pytest.raises(InputError, match="超过上限 1 MB"):
        check_xlsx(path, _limits(max_file_mb=1))


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


# --- the rectangle a reader allocates, however the XML is spelt ------------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

from gaopin.io import precheck  # noqa: E402
from gaopin.io.precheck import check_xls  # noqa: E402

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DATA = Path(__file__).resolve().parent.parent / "data"


def _sheet(body: str, root: str = "worksheet", prolog: str = "", dimension: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<{root} xmlns{":x" if root.startswith("x:") else ""}="{NS_MAIN}">'
            f"{dimension}<{'x:' if root.startswith('x:') else ''}sheetData>{body}</{'x:' if root.startswith('x:') else ''}sheetData></{root}>").encode()


def _with_sheet(tmp_path: Path, sheet: bytes, name: str = SHEET, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    def swap(d: bytes) -> bytes:
        return sheet

    if name == SHEET:
        return _rewrite(_export(tmp_path), {SHEET: swap})
    out = _rewrite(_export(tmp_path), {}, add={name: sheet})
    return out


def test_cells_with_implicit_positions_are_placed_as_readers_place_them(tmp_path):
    """A row numbered 1048576 holding 16,384 cells without r=: the old scan saw nothing."""
    body = '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576">' + "<c><v>1</v></c>" * 16384 + "</row>"
    with pytest.raises(InputError, match="1048576 行 × 16384 列"):
        check_xlsx(_with_sheet(tmp_path, _sheet(body)), LimitSettings())


def test_rows_without_numbers_count(tmp_path):
    body = "<row><c><v>1</v></c></row>" * 50
    assert check_xlsx(_with_sheet(tmp_path, _sheet(body)), LimitSettings()).areas[SHEET] == (50, 1)
    with pytest.raises(InputError, match="第 50 行，超过上限 40 行"):
        check_xlsx(_with_sheet(tmp_path, _sheet(body)), _limits(max_rows=40))


@pytest.mark.parametrize(
    "cell, area",
    [
        ("<c r='C7'><v>1</v></c>", (7, 3)),  # single quotes
        ('<c r = "D8"><v>1</v></c>', (8, 4)),  # spaces around =
        ('<c r="e9"><v>1</v></c>', (9, 5)),  # lower case
        ('<c r="F0010"><v>1</v></c>', (10, 6)),  # leading zeros
        ('<c\tr="G11"><v>1</v></c>', (11, 7)),  # a tab
        ('<c s="1" r="H12"><v>1</v></c>', (12, 8)),  # r= not first
        ('<y:c xmlns:y="urn:other" r="I13"><y:v>1</y:v></y:c>', (13, 9)),  # any prefix: readers match local names
    ],
)
def test_every_spelling_of_a_position_is_understood(tmp_path, cell, area):
    path = _with_sheet(tmp_path, _sheet('<row r="1">' + cell + "</row>"))
    assert check_xlsx(path, LimitSettings()).areas[SHEET] == area


def test_a_prefixed_sheet_is_checked_on_the_fast_path(tmp_path, monkeypatch):
    """.NET's OpenXML SDK writes <x:row>, <x:c>: as quick as plain tags, and as strict."""
    rows = "".join(f'<x:row r="{r}"><x:c r="A{r}" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c><x:c r="AB{r}"><x:v>{r}</x:v></x:c></x:row>' for r in range(1, 3001))
    monkeypatch.setattr(precheck._Scan, "_walk", lambda *a: pytest.fail("took the slow path"))
    assert check_xlsx(_with_sheet(tmp_path, _sheet(rows, root="x:worksheet")), LimitSettings()).areas[SHEET] == (3000, 28)
    far = rows + '<x:row r="3001"><x:c r="XFD3001"><x:v>1</x:v></x:c></x:row>'
    with pytest.raises(InputError, match="3001 行 × 16384 列"):
        check_xlsx(_with_sheet(tmp_path, _sheet(far, root="x:worksheet")), _limits(max_cells=1_000_000))


def test_an_honest_sheet_of_several_megabytes_stays_on_the_fast_path(tmp_path, monkeypatch):
    """Tags cut by the 1 MB chunk boundaries must not look odd."""
    rows = "".join(f'<row r="{r}" spans="1:30">' + "".join(f'<c r="{precheck._letters(c)}{r}" t="s"><v>{c}</v></c>' for c in range(1, 31)) + "</row>" for r in range(1, 6001))
    assert len(rows) > 5 * precheck.CHUNK
    monkeypatch.setattr(precheck._Scan, "_walk", lambda *a: pytest.fail("took the slow path"))
    assert check_xlsx(_with_sheet(tmp_path, _sheet(rows)), LimitSettings()).areas[SHEET] == (6000, 30)


def test_a_cell_beyond_its_row_is_found(tmp_path):
    """Row tags say 1–3, one cell says row 999999: the rectangle is the cell's."""
    body = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="ZZ999999"><v>1</v></c></row><row r="3"><c r="B3"><v>1</v></c></row>'
    assert check_xlsx(_with_sheet(tmp_path, _sheet(body)), _limits(max_cells=10**9)).areas[SHEET] == (999999, 702)



def test_cells_that_each_grow_the_rectangle_are_not_searched_one_by_one(tmp_path, monkeypatch):
    """No row tags, every cell a row further down: one pattern per cell made this take seconds."""
    body = "".join(f'<c r="A{r}"><v>1</v></c>' for r in range(1, 20001))
    patterns = []
    outside = precheck._outside
    monkeypatch.setattr(precheck, "_outside", lambda *rect: patterns.append(rect) or outside(*rect))
    assert check_xlsx(_with_sheet(tmp_path, _sheet(body)), LimitSettings()).areas[SHEET] == (20000, 1)
    assert len(set(patterns)) < 100  # rectangles a pattern was made for

def test_a_sheet_under_any_part_name_is_checked(tmp_path):
    """workbook.xml.rels may point a worksheet at xl/media/image1.png: every XML part is scanned."""
    far = _sheet('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    with pytest.raises(InputError, match="xl/media/image1.png"):
        check_xlsx(_with_sheet(tmp_path, far, name="xl/media/image1.png"), LimitSettings())
    image = b"\x89PNG\r\n\x1a\n" + b'<c r="XFD1048576">' * 10  # binary parts are not XML: not scanned
    assert check_xlsx(_with_sheet(tmp_path, image, name="xl/media/image2.png"), LimitSettings()).areas == {SHEET: (2, 2)}


def test_a_dtd_after_padding_is_found(tmp_path):
    """Comments may come before a DOCTYPE: looking at the first 4 KB only was not enough."""
    sheet = _sheet('<row r="1"><c r="A1"><v>1</v></c></row>', prolog="<!--" + "x" * 9000 + '-->\n<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n')
    with pytest.raises(InputError, match="DTD"):
        check_xlsx(_with_sheet(tmp_path, sheet), LimitSettings())


def test_a_quoted_dimension_is_read(tmp_path):
    sheet = _sheet("", dimension="<dimension ref='A1:A1048577'/>")
    with pytest.raises(InputError, match="声明了 1048577 行"):
        check_xlsx(_with_sheet(tmp_path, sheet), LimitSettings())


@pytest.mark.parametrize("ref", ["$B$2", "", "R1C1", "A1:B2"])
def test_a_malformed_position_is_refused(tmp_path, ref):
    with pytest.raises(InputError, match="写法异常的单元格位置"):
        check_xlsx(_with_sheet(tmp_path, _sheet(f'<row r="1"><c r="{ref}"><v>1</v></c></row>')), LimitSettings())


def test_the_number_of_cells_is_bounded_too(tmp_path):
    """The same position written again and again: each one is held by the reader."""
    body = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 3000 + "</row>"
    with pytest.raises(InputError, match="超过 2000 个单元格"):
        check_xlsx(_with_sheet(tmp_path, _sheet(body)), _limits(max_cells=2000))


def test_a_tag_of_more_than_a_megabyte_is_refused(tmp_path):
    import random

    noise = "".join(random.Random(0).choices("abcdefghijklmnopqrstuvwxyz", k=2 * precheck.MAX_TAG))  # not a zip bomb
    body = '<row r="1"><c ' + noise + '="1"><v>1</v></c></row>'
    with pytest.raises(InputError, match="超过 1 MB 的标签"):
        check_xlsx(_with_sheet(tmp_path, _sheet(body)), LimitSettings())


def test_sizes_over_a_limit_never_show_as_equal_to_it(tmp_path):
    path = _rewrite(_export(tmp_path), {}, add={"xl/media/image1.bin": bytes(range(256)) * 4097})
    with pytest.raises(InputError, match="解压后有 2 MB（压缩包声明），超过上限 1 MB"):
        check_xlsx(path, _limits(max_uncompressed_mb=1))



@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 99, 100, 101, 1000, 1999, 2000, 2001, 12345, 100001, 987654, 1048576, 9999998, 9999999])
def test_numbers_at_most(n):
    pattern = re.compile(rb"(?:" + precheck._number_at_most(n) + rb')"')
    for k in {1, 2, 9, 10, 11, 99, 100, 101, n - 1, n, n + 1, 10 * n, 10 * n + 9, 9999999} - {0, -1}:
        assert (pattern.match(b'%d"' % k) is not None) == (k <= n), k


@pytest.mark.parametrize("n", [0, 1, 2, 25, 26, 27, 52, 676, 702, 703, 728, 16384, 18277, 18278])
def test_letters_at_most(n):
    pattern = re.compile(rb"(?:" + precheck._letters_at_most(n) + rb")1")
    for k in range(1, 18279):
        assert (pattern.match(precheck._letters(k).encode() + b"1") is not None) == (k <= n), k

_position = st.one_of(
    st.none(),  # implicit
    st.tuples(st.integers(1, 60), st.integers(1, 40), st.sampled_from(['r="{}"', "r='{}'", 'r = "{}"', 's="0" r="{}"']), st.booleans()),
)


@hsettings(max_examples=60)
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 40)), st.lists(_position, min_size=1, max_size=6)),
        min_size=1,
        max_size=8,
    ),
    prefix=st.sampled_from(["", "x:"]),
)
def test_the_checked_rectangle_covers_what_calamine_reads(tmp_path_factory, rows, prefix):
    """Random spellings of positions: the pre-check's rectangle is never smaller than calamine's."""
    import python_calamine

    def cell(pos):
        if pos is None:
            return f"<{prefix}c><{prefix}v>1</{prefix}v></{prefix}c>"
        col, row, spelling, lower = pos
        ref = precheck._letters(col) + str(row)
        return f"<{prefix}c {spelling.format(ref.lower() if lower else ref)}><{prefix}v>1</{prefix}v></{prefix}c>"

    body = "".join(
        f"<{prefix}row{'' if r is None else f' r={chr(34)}{r}{chr(34)}'}>" + "".join(cell(p) for p in cells) + f"</{prefix}row>"
        for r, cells in rows
    )
    root = "x:worksheet" if prefix else "worksheet"
    path = _with_sheet(tmp_path_factory.mktemp("p"), _sheet(body, root=root))
    area = check_xlsx(path, LimitSettings()).areas[SHEET]
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.end is not None
    assert area[0] >= sheet.end[0] + 1 and area[1] >= sheet.end[1] + 1, (area, sheet.end)


# --- Excel 97–2003 -----------------------------------------------------------------------------


def test_a_real_xls_passes():
    check_xls(DATA / "legacy_export.xls", LimitSettings())


def test_an_xls_cell_far_away_is_refused(tmp_path):
    import struct

    data = bytearray((DATA / "legacy_export.xls").read_bytes())
    at = data.find(struct.pack("<d", 13812345678.0)) - 10
    data[at + 4 : at + 8] = struct.pack("<HH", 60000, 200)
    path = tmp_path / "far.xls"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="60001 行 × 201 列"):
        check_xls(path, _limits(max_cells=1_000_000))
    check_xls(path, LimitSettings())  # 12 million cells: within the default limit


def test_an_ole_file_that_cannot_be_followed_is_left_to_the_reader(tmp_path):
    path = tmp_path / "t.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 4096)
    check_xls(path, LimitSettings())  # no error here: calamine refuses it, with a message


def test_the_file_size_limit_holds_for_every_kind(tmp_path):
    from tests.builders import settings as make_settings, write_csv

    path = write_csv(tmp_path / "t.csv", [["工单编号", "受理时间"]] + [[f"A{i:07d}", "2024-08-03"] for i in range(60_000)])
    assert path.stat().st_size > 1 << 20
    with pytest.raises(InputError, match="有 2 MB，超过上限 1 MB"):
        load([path], make_settings(limits={"max_file_mb": 1}))
