"""Write the corpus of bad and awkward input files into this folder.

    /work/main/.venv/bin/python tests/data/bad/make_corpus.py          # (re)write the files
    /work/main/.venv/bin/python tests/data/bad/make_corpus.py --check  # compare with what is committed

Every file is built here from its bytes, so the corpus is reproducible and reviewable:
workbooks are assembled part by part (no openpyxl timestamps), members that are not bombs
are stored uncompressed (their bytes do not depend on the zlib build), and zip timestamps are
fixed. The bombs are tiny on disk: one inflates ~1000:1, the other only *declares* 2 GB.

Two binaries cannot sensibly be made without tools gaopin does not depend on (xlwt,
msoffcrypto-tool); they are copied from ../ (see ../README.md).

What each file is, and what gaopin must do with it, is in CORPUS below; the tests in
tests/io/test_bad_corpus.py run the real command line on every one.
"""

from __future__ import annotations

import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
STAMP = (2024, 8, 31, 12, 0, 0)

HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "问题分类", "是否解决", "是否满意"]
CAT = "城市管理->动物->流浪猫"
ROWS = [
    ["GD2408030001", "2024-08-03 09:01:00", "张三", "13812345678", "恰海小区3号楼2单元301", CAT, "解决", "满意"],
    ["GD2408030002", "2024-08-03 09:03:00", "李四", "13912345678", "恰海小区三号楼", CAT, "未解决", "不满意"],
    ["GD2408030003", "2024-08-03 09:05:00", "王䶮", "13712345678", "恰海小区3栋402室", CAT, "解决", "基本满意"],
]


# --- xlsx assembled from parts ----------------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _content_types(shared: bool, styles: bool) -> str:
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = [
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>',
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>',
    ]
    if shared:
        parts.append(f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>')
    if styles:
        parts.append(f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>')
    return (
        XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + "".join(parts) + "</Types>"
    )


def _workbook_rels(shared: bool, styles: bool) -> str:
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = [f'<Relationship Id="rId1" Type="{base}/worksheet" Target="worksheets/sheet1.xml"/>']
    if shared:
        rels.append(f'<Relationship Id="rId2" Type="{base}/sharedStrings" Target="sharedStrings.xml"/>')
    if styles:
        rels.append(f'<Relationship Id="rId3" Type="{base}/styles" Target="styles.xml"/>')
    return XML_DECL + f'<Relationships xmlns="{PKG_REL}">' + "".join(rels) + "</Relationships>"


STYLES = (
    XML_DECL + f'<styleSheet xmlns="{NS}"><fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="2"><xf/><xf numFmtId="49" applyNumberFormat="1"/></cellXfs></styleSheet>'
)


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(ref: str, value: object) -> str:
    """One cell: text inline, numbers as numbers, ('=', formula) as a formula without a cached value."""
    if isinstance(value, tuple) and value[0] == "=":
        return f'<c r="{ref}"><f>{_esc(value[1])}</f></c>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{_esc(str(value))}</t></is></c>'


def sheet_xml(rows: list[list[object]], dimension: str | None = None, tail: Callable[[int], str] | None = None, prolog: str = "") -> str:
    """A worksheet; `tail(r)` adds raw cells at the end of row r; `prolog` goes before <worksheet>."""
    width = max((len(r) for r in rows), default=1)
    dimension = dimension or f"A1:{column_letters(width)}{max(len(rows), 1)}"
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(cell(f"{column_letters(c)}{r}", v) for c, v in enumerate(row, start=1) if v is not None)
        body.append(f'<row r="{r}">{cells}{tail(r) if tail else ""}</row>')
    return (
        XML_DECL + prolog + f'<worksheet xmlns="{NS}" xmlns:r="{REL_NS}"><dimension ref="{dimension}"/>'
        "<sheetData>" + "".join(body) + "</sheetData></worksheet>"
    )


def _info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    info.create_system = 3  # the same header bytes whatever OS runs the generator
    return info


def xlsx(sheet: str | bytes, shared: str | None = None, styles: bool = False, deflate: tuple[str, ...] = ()) -> bytes:
    """A minimal workbook: one sheet named 工单. Members in `deflate` are compressed, the rest stored."""
    import io

    parts: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", _content_types(shared is not None, styles)),
        ("_rels/.rels", XML_DECL + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        ("xl/workbook.xml", XML_DECL + f'<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><sheets><sheet name="工单" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels", _workbook_rels(shared is not None, styles)),
        ("xl/worksheets/sheet1.xml", sheet),
    ]
    if shared is not None:
        parts.append(("xl/sharedStrings.xml", shared))
    if styles:
        parts.append(("xl/styles.xml", STYLES))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            compress = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            zf.writestr(_info(name, compress), raw, compresslevel=9 if compress == zipfile.ZIP_DEFLATED else None)
    return buf.getvalue()


def normal_workbook() -> bytes:
    return xlsx(sheet_xml([HEADER] + ROWS))


# --- the files ----------------------------------------------------------------------------


def truncated_xlsx() -> bytes:
    """A download cut off part way: the zip's central directory is missing."""
    data = normal_workbook()
    return data[: len(data) * 3 // 5]


def corrupt_member_xlsx() -> bytes:
    """The zip directory is whole but the sheet's bytes were damaged (a bad CRC)."""
    data = bytearray(normal_workbook())
    at = data.find("恰海小区三号楼".encode())
    data[at : at + 3] = b"\xff\xff\xff"
    return bytes(data)


BOMB_CELL = "<c><v>1</v></c>"  # 14 bytes of XML; about 100 bytes once a reader holds it
BOMB_ROWS = 400  # × 16,384 cells: ~92 MB of XML in ~200 KB


def zip_bomb_xlsx() -> bytes:
    """A sheet that inflates ~500:1 into 6.5 million number cells (positions left implicit).

    The XML is streamed through one compressor, row by row, so that generating it does not
    hold 92 MB in memory; the zip is then assembled field by field for the same reason.
    """
    import io

    head = (XML_DECL + f'<worksheet xmlns="{NS}"><sheetData>').encode()
    tail = b"</sheetData></worksheet>"
    row = ("<row>" + BOMB_CELL * 16384 + "</row>").encode()
    size = len(head) + len(row) * BOMB_ROWS + len(tail)
    crc = zlib.crc32(head)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [comp.compress(head)]
    for _ in range(BOMB_ROWS):
        crc = zlib.crc32(row, crc)
        out.append(comp.compress(row))
    crc = zlib.crc32(tail, crc)
    out.append(comp.compress(tail))
    out.append(comp.flush())
    deflated = b"".join(out)
    small = zipfile.ZipFile(io.BytesIO(xlsx(sheet_xml([HEADER]))))
    members = [(i.filename, small.read(i)) for i in small.infolist() if i.filename != "xl/worksheets/sheet1.xml"]
    return _raw_zip(members + [("xl/worksheets/sheet1.xml", (deflated, size, crc))])


def _raw_zip(members: list[tuple[str, bytes | tuple[bytes, int, int]]], declared: dict[str, int] | None = None) -> bytes:
    """A zip written field by field: (name, bytes) is stored; (name, (deflated, size, crc)) is
    deflated data of `size` bytes. `declared` overrides the size written for a member."""
    dos_time = (STAMP[3] << 11) | (STAMP[4] << 5) | (STAMP[5] // 2)
    dos_date = ((STAMP[0] - 1980) << 9) | (STAMP[1] << 5) | STAMP[2]
    local, central = bytearray(), bytearray()
    for name, data in members:
        if isinstance(data, tuple):
            payload, size, crc = data
            method = 8
        else:
            payload, size, crc, method = data, len(data), zlib.crc32(data), 0
        size = (declared or {}).get(name, size)
        raw_name = name.encode("utf-8")
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, dos_time, dos_date, crc, len(payload), size, len(raw_name), 0)
        local += raw_name + payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 0x314, 20, 0x800, method, dos_time, dos_date, crc, len(payload), size, len(raw_name), 0, 0, 0, 0, 0o644 << 16, offset
        )
        central += raw_name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return bytes(local + central + end)


def zip_declared_huge_xlsx() -> bytes:
    """A 2 KB workbook whose directory declares a sheet of 2 GB (a forged size, as bombs use)."""
    import io

    zf = zipfile.ZipFile(io.BytesIO(normal_workbook()))
    members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    return _raw_zip(members, declared={"xl/worksheets/sheet1.xml": 2**31 - 1})


def dense_range_xlsx() -> bytes:
    """Five rows of data, a declared range of A1:XFD1048576 and one cell there."""
    far = cell("XFD1048576", "x")
    rows = [HEADER] + ROWS
    xml = sheet_xml(rows, dimension="A1:XFD1048576")
    return xlsx(xml.replace("</sheetData>", f'<row r="1048576">{far}</row></sheetData>'))


def far_cell_xlsx() -> bytes:
    """An honest-looking dimension (A1:H4) but one cell at XFD1048576."""
    far = cell("XFD1048576", "x")
    xml = sheet_xml([HEADER] + ROWS)
    return xlsx(xml.replace("</sheetData>", f'<row r="1048576">{far}</row></sheetData>'))


def implicit_far_cells_xlsx() -> bytes:
    """A 3 KB file with a header, a row numbered 1048576 and 16,384 cells in it whose positions
    are left implicit (legal: a cell without r= follows the one before). Readers place them out to
    XFD1048576; a check that only reads r= attributes sees nothing wrong."""
    cells = "<c><v>1</v></c>" * 16384
    xml = sheet_xml([HEADER] + ROWS).replace("</sheetData>", f'<row r="1048576">{cells}</row></sheetData>')
    return xlsx(xml, deflate=("xl/worksheets/sheet1.xml",))


def far_cell_xls() -> bytes:
    """The BIFF workbook of ../legacy_export.xls with its phone-number cell record moved to row
    65535, column 65535 (BIFF stores both in 16 bits): the same 6 KB, four billion cells."""
    data = bytearray((DATA / "legacy_export.xls").read_bytes())
    at = data.find(struct.pack("<d", 13812345678.0)) - 10  # the NUMBER record holding it
    assert data[at : at + 4] == b"\x03\x02\x0e\x00", "the NUMBER record of legacy_export.xls moved"
    data[at + 4 : at + 8] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def shared_strings_count_xlsx() -> bytes:
    """A shared-string table that says it holds 4,294,967,295 strings (it holds eight): readers
    reserve room for all of them before reading the first."""
    shared = XML_DECL + f'<sst xmlns="{NS}" count="8" uniqueCount="4294967295">' + "".join(f"<si><t>{_esc(h)}</t></si>" for h in HEADER) + "</sst>"
    cells = "".join(f'<c r="{column_letters(i + 1)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADER)))
    return xlsx(sheet_xml([]).replace("<sheetData>", f'<sheetData><row r="1">{cells}</row>'), shared=shared)


def forged_dimensions_xls() -> bytes:
    """../legacy_export.xls whose DIMENSIONS record says the sheet has 2,147,483,647 rows."""
    data = bytearray((DATA / "legacy_export.xls").read_bytes())
    at = data.find(bytes.fromhex("00020e00000000000400000000000500"))  # DIMENSIONS: rows 0–4, columns 0–5
    assert at > 0, "the DIMENSIONS record of legacy_export.xls moved"
    data[at + 8 : at + 12] = struct.pack("<I", 2**31 - 1)
    return bytes(data)


def billion_laughs_xlsx() -> bytes:
    """sharedStrings.xml with the classic nested entities (10^9 "lol"s if expanded)."""
    ents = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    dtd = "<!DOCTYPE sst [\n" + "\n".join(ents) + "\n]>\n"
    shared = XML_DECL + dtd + f'<sst xmlns="{NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    rows_xml = sheet_xml([HEADER]).replace("</sheetData>", '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData>')
    return xlsx(rows_xml, shared=shared)


def xxe_xlsx() -> bytes:
    """A sheet whose cell text is an external entity: a reader that expands it leaks the file."""
    prolog = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    xml = sheet_xml([HEADER, ["GD1", "2024-08-03 09:00:00", "&xxe;"]], prolog=prolog)
    return xlsx(xml.replace("&amp;xxe;", "&xxe;"))


def html_page_xls() -> bytes:
    """What a browser saves when the export link has expired: a login page, not a table."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>12345 接诉即办系统 - 登录</title></head>\n"
        "<body><form action=\"/login\" method=\"post\"><p>会话已过期，请重新登录</p>"
        "<input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n"
    ).encode("utf-8")


def csv_bytes(rows: list[list[str]], encoding: str, newlines: list[str] | None = None) -> bytes:
    lines = [",".join(r) for r in rows]
    ends = newlines or ["\r\n"] * len(lines)
    return "".join(line + end for line, end in zip(lines, ends)).encode(encoding)


def gbk_rare_csv() -> bytes:
    """A GBK export (as Chinese Excel saves CSV) whose name 王䶮 only GB18030 can encode."""
    data = csv_bytes([HEADER] + ROWS, "gb18030")
    assert "王䶮".encode("gb18030") in data
    try:
        data.decode("gbk")
    except UnicodeDecodeError:
        pass
    else:  # pragma: no cover - the point of the file
        raise AssertionError("the rare name must be outside GBK")
    return data


def bom_csv() -> bytes:
    return b"\xef\xbb\xbf" + csv_bytes([HEADER] + ROWS, "utf-8")


def mixed_endings_csv() -> bytes:
    return csv_bytes([HEADER] + ROWS, "utf-8", newlines=["\r\n", "\n", "\r", "\n"])


def header_only_csv() -> bytes:
    return csv_bytes([HEADER], "utf-8-sig")


def header_only_xlsx() -> bytes:
    return xlsx(sheet_xml([HEADER]))


LONG_IDS = [2408031234567890123, 2408031234567890124, 2408031234567890125]


def long_ids_xlsx() -> bytes:
    """Ids of 19 digits stored as number cells: Excel kept 15 significant digits, all three are
    now the same number. One text id next to them is fine."""
    rows = [HEADER]
    for i, r in enumerate(ROWS):
        rows.append([float(LONG_IDS[i])] + r[1:])
    rows.append(["GD2408030009"] + ROWS[0][1:])
    return xlsx(sheet_xml(rows))


def formulas_no_cache_xlsx() -> bytes:
    """Ids made by formulas saved by a program that did not compute them: no cached values."""
    rows = [HEADER]
    for i, r in enumerate(ROWS, start=1):
        rows.append([("=", f'"GD"&TEXT({2408030000 + i},"0")')] + r[1:])
    rows.append(["GD2408030009"] + ROWS[0][1:])
    return xlsx(sheet_xml(rows))


def wide_empty_xlsx() -> bytes:
    """16,384 columns, all but eight empty: every row formatted out to column XFD, and a program
    that wrote an empty text into the last cell of each row."""
    rows = [HEADER] + ROWS
    tail = lambda r: f'<c r="XFC{r}" s="1"/><c r="XFD{r}" t="inlineStr"><is><t></t></is></c>'  # noqa: E731
    return xlsx(sheet_xml(rows, dimension=f"A1:XFD{len(rows)}", tail=tail), styles=True)


def copy_of(name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return (DATA / name).read_bytes()

    read.__doc__ = f"A copy of tests/data/{name} (see tests/data/README.md)."
    return read


@dataclass(frozen=True)
class Bad:
    name: str
    make: Callable[[], bytes]


CORPUS = [
    Bad("truncated.xlsx", truncated_xlsx),
    Bad("corrupt_member.xlsx", corrupt_member_xlsx),
    Bad("zip_bomb.xlsx", zip_bomb_xlsx),
    Bad("zip_declared_huge.xlsx", zip_declared_huge_xlsx),
    Bad("dense_range.xlsx", dense_range_xlsx),
    Bad("far_cell.xlsx", far_cell_xlsx),
    Bad("implicit_far_cells.xlsx", implicit_far_cells_xlsx),
    Bad("shared_strings_count.xlsx", shared_strings_count_xlsx),
    Bad("billion_laughs.xlsx", billion_laughs_xlsx),
    Bad("xxe.xlsx", xxe_xlsx),
    Bad("password.xlsx", copy_of("password_1234.xlsx")),
    Bad("login_page.xls", html_page_xls),
    Bad("legacy_biff.xls", copy_of("legacy_export.xls")),
    Bad("far_cell.xls", far_cell_xls),
    Bad("forged_dimensions.xls", forged_dimensions_xls),
    Bad("empty.xlsx", lambda: b""),
    Bad("empty.csv", lambda: b""),
    Bad("gbk_rare_char.csv", gbk_rare_csv),
    Bad("bom.csv", bom_csv),
    Bad("mixed_line_endings.csv", mixed_endings_csv),
    Bad("header_only.csv", header_only_csv),
    Bad("header_only.xlsx", header_only_xlsx),
    Bad("long_numeric_ids.xlsx", long_ids_xlsx),
    Bad("formulas_without_values.xlsx", formulas_no_cache_xlsx),
    Bad("wide_empty_columns.xlsx", wide_empty_xlsx),
]


def build() -> dict[str, bytes]:
    return {bad.name: bad.make() for bad in CORPUS}


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [name for name, data in files.items() if not (HERE / name).is_file() or (HERE / name).read_bytes() != data]
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files)} files, {sum(map(len, files.values()))} bytes, into {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
