"""Workbooks written straight as SpreadsheetML: text as inline strings (never a formula, a
number or a link), numbers, a few shared styles, column widths, a frozen header and a filter.

xlsxwriter took some 6 µs a cell (its write call, its checks, a temporary file per sheet, then
packing): 1.3 s for a district ledger of 13,642 rows × 17 columns, the longest part of a
district report. Here a chunk of rows is rendered column by column into text and deflated into
the zip as it goes (flat memory), at a fraction of that. Text is escaped as Excel and
xlsxwriter escape it: XML's &, < and >, control characters as _xHHHH_ (and a literal _xHHHH_ as
_x005F_xHHHH_), and cut at Excel's 32,767 UTF-16 units. Every part has fixed dates, so the same
content gives the same bytes.
"""

from __future__ import annotations

import math
import numbers
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any, Sequence

import numpy as np

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_TEXT_UNITS = 32_767  # UTF-16 units a cell holds in Excel
CHUNK_ROWS = 20_000  # rows rendered at a time: bounds the memory of a sheet of a million rows
# Deflate level: a district report's workbook in 0.68-0.79 s and 1.84 MB at 1, in 0.95 s and
# 1.43 MB at zlib's default 6 (xlsxwriter's).
COMPRESS_LEVEL = 1

HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_PREFIX = "application/vnd.openxmlformats-officedocument"

TEXT, NUMBER, ANY = "text", "number", "any"

# What text needs before it goes into XML; nearly all ticket text needs none of it.
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]|_x[0-9a-fA-F]{4}_")
_EXCEL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def column_letter(n: int) -> str:
    """The letters of the zero-based column `n` (0 → A, 26 → AA)."""
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def zip_info(name: str, level: int | None = None) -> zipfile.ZipInfo:
    """A zip entry of fixed date, deflated at `level` (None: zlib's default). A ZipInfo made here
    does not take the ZipFile's level: it is set on the entry (public from Python 3.13)."""
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    if level is not None:
        # `compress_level` from Python 3.13; `_compresslevel` before it.
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", level)
    return info


def _cut(text: str) -> str:
    """`text` cut at Excel's limit, counted in UTF-16 units, without splitting a character."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_TEXT_UNITS:
            return text[:i]
    return text


def escape_text(text: str) -> str:
    """Text as it goes between <t> and </t>."""
    if len(text) > MAX_TEXT_UNITS // 2:
        text = _cut(text)
    if not _NEEDS_ESCAPE.search(text):
        return text
    text = _EXCEL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = _SURROGATE.sub("\ufffd", text)  # a lone surrogate (from undecodable bytes) has no UTF-8 form
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return escape_text(text).replace('"', "&quot;")


def _text_cell(ref: str, style: str, text: str) -> str:
    if text[:1].isspace() or text[-1:].isspace():
        return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c r="{ref}"{style} t="inlineStr"><is><t>{text}</t></is></c>'


def _number_cell(ref: str, style: str, value: float) -> str:
    return f'<c r="{ref}"{style}><v>{value!r}</v></c>'


def _blank(ref: str, style: str) -> str:
    """A cell without a value: written only to carry a style (a row's colour)."""
    return f'<c r="{ref}"{style}/>' if style else ""


def _any_cell(ref: str, style: str, value: Any) -> str:
    """A cell of a column of mixed values: numpy's scalars are numbers and yes/no as Python's are."""
    if value is None:
        return _blank(ref, style)
    if isinstance(value, (bool, np.bool_)):
        return _text_cell(ref, style, "是" if value else "否")
    if isinstance(value, numbers.Integral):
        return _number_cell(ref, style, int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return _number_cell(ref, style, value) if math.isfinite(value) else _blank(ref, style)
    return _text_cell(ref, style, escape_text(str(value)))


def _cells(kind: str, values: Sequence[Any], refs: Sequence[str], styles: Sequence[str]) -> list[str]:
    """One column of a chunk of rows as cells. `values` as io.write's column conversion gives
    them: text columns hold str or None, number columns int, float or None."""
    if kind == TEXT:
        present = [v for v in values if v is not None]
        if _NEEDS_ESCAPE.search("\n".join(present)) or any(len(v) > MAX_TEXT_UNITS // 2 for v in present):
            values = [None if v is None else escape_text(v) for v in values]
        return [_blank(r, s) if v is None else _text_cell(r, s, v) for v, r, s in zip(values, refs, styles)]
    if kind == NUMBER:
        return [_blank(r, s) if v is None or not math.isfinite(v) else _number_cell(r, s, v) for v, r, s in zip(values, refs, styles)]
    return [_any_cell(r, s, v) for v, r, s in zip(values, refs, styles)]


@dataclass
class Column:
    values: Sequence[Any]
    kind: str  # TEXT, NUMBER or ANY
    number_format: str | None = None


@dataclass
class SheetData:
    name: str
    headers: list[str]
    columns: list[Column]
    widths: list[float]  # in characters
    title: str | None = None
    row_colors: Sequence[str | None] | None = None  # "#RRGGBB" or None per data row

    @property
    def n_rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


class _Styles:
    """The workbook's cell formats, each registered once; `attr` gives a cell's ` s="N"`."""

    def __init__(self) -> None:
        self.fills: list[str] = []  # "FFRRGGBB" of the solid fills, after the two Excel reserves
        self.num_formats: list[str] = []
        self.xfs: list[tuple] = [(0, 0, 0, 0, False)]  # (numFmtId, fontId, fillId, borderId, wrap-top)
        self._index: dict[tuple, int] = {self.xfs[0]: 0}

    def _fill(self, color: str | None) -> int:
        if not color:
            return 0
        argb = "FF" + color.lstrip("#").upper()
        if argb not in self.fills:
            self.fills.append(argb)
        return 2 + self.fills.index(argb)

    def _num_format(self, code: str | None) -> int:
        if not code:
            return 0
        if code not in self.num_formats:
            self.num_formats.append(code)
        return 164 + self.num_formats.index(code)

    def attr(self, color: str | None = None, number_format: str | None = None, font: int = 0, border: int = 0, wrap_top: bool = False) -> str:
        xf = (self._num_format(number_format), font, self._fill(color), border, wrap_top)
        index = self._index.get(xf)
        if index is None:
            index = self._index[xf] = len(self.xfs)
            self.xfs.append(xf)
        return f' s="{index}"' if index else ""

    def xml(self) -> str:
        num_fmts = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{_attr(code)}"/>' for i, code in enumerate(self.num_formats))
        fonts = (
            # Named outright: the workbook has no theme part for a font to refer to.
            '<font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="13"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>'
        )
        fills = '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>' + "".join(
            f'<fill><patternFill patternType="solid"><fgColor rgb="{argb}"/><bgColor indexed="64"/></patternFill></fill>' for argb in self.fills
        )
        thin = "".join(f'<{side} style="thin"><color auto="1"/></{side}>' for side in ("left", "right", "top", "bottom"))
        borders = f"<border><left/><right/><top/><bottom/><diagonal/></border><border>{thin}<diagonal/></border>"
        xfs = []
        for num, font, fill, border, wrap in self.xfs:
            flags = ((' applyNumberFormat="1"', num), (' applyFont="1"', font), (' applyFill="1"', fill), (' applyBorder="1"', border), (' applyAlignment="1"', wrap))
            tag = f'<xf numFmtId="{num}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"' + "".join(flag for flag, on in flags if on)
            xfs.append(f'{tag}><alignment vertical="top" wrapText="1"/></xf>' if wrap else f"{tag}/>")
        return (
            HEAD + f'<styleSheet xmlns="{MAIN_NS}">'
            + (f'<numFmts count="{len(self.num_formats)}">{num_fmts}</numFmts>' if self.num_formats else "")
            + f'<fonts count="3">{fonts}</fonts><fills count="{2 + len(self.fills)}">{fills}</fills><borders count="2">{borders}</borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>'
            "</styleSheet>"
        )


# At most what a cell's XML adds to its text (tags, reference, style), and what escaping makes
# of one character (a control character becomes _xHHHH_, seven bytes).
_CELL_BYTES, _CHAR_BYTES = 120, 7
ZIP_LIMIT = (1 << 31) - 1


def _may_pass_zip_limit(sheet: SheetData) -> bool:
    """Whether the sheet's XML may pass what a zip entry holds without zip64 (an upper bound:
    every character escaped at its longest)."""
    cells = sheet.n_rows * max(1, len(sheet.columns))
    if cells * _CELL_BYTES > ZIP_LIMIT:
        return True
    chars = sum(sum(len(v) for v in col.values if isinstance(v, str)) for col in sheet.columns if col.kind != NUMBER)
    return cells * _CELL_BYTES + chars * _CHAR_BYTES + 1_000_000 > ZIP_LIMIT


def _stored_width(width: float) -> float:
    """A width in characters as Excel stores it (Calibri 11: 7 pixels a digit, 5 of padding)."""
    if width <= 0:
        return 0.0
    if width < 1:
        return int(int(width * 12 + 0.5) / 7 * 256) / 256
    return int((int(width * 7 + 0.5) + 5) / 7 * 256) / 256


_SELECTED = ' tabSelected="1"'


def _row(r: int | str, cells: Sequence[str]) -> str:
    return f'<row r="{r}">{"".join(cells)}</row>'


def _write_sheet(out: IO[bytes], sheet: SheetData, styles: _Styles, selected: bool) -> str | None:
    """The sheet's XML into `out`; the range of its filter (None: no rows, no filter)."""
    n_cols = max(1, len(sheet.headers))
    last_col = column_letter(n_cols - 1)
    top = 1 if sheet.title else 0
    header_row = top + 1
    n = sheet.n_rows
    last_row = header_row + n
    first = header_row + 1  # the first row below the frozen ones
    widths = "".join(f'<col min="{c + 1}" max="{c + 1}" width="{_stored_width(w):.16g}" customWidth="1"/>' for c, w in enumerate(sheet.widths))
    out.write(
        (
            HEAD + f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            f'<dimension ref="A1:{last_col}{last_row}"/>'
            f'<sheetViews><sheetView{_SELECTED if selected else ""} workbookViewId="0">'
            f'<pane ySplit="{header_row}" topLeftCell="A{first}" activePane="bottomLeft" state="frozen"/>'
            f'<selection pane="bottomLeft" activeCell="A{first}" sqref="A{first}"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{widths}</cols>" if widths else "") + "<sheetData>"
        ).encode("utf-8")
    )
    head = []
    if sheet.title:
        head.append(_row(1, [_text_cell("A1", styles.attr(font=2), escape_text(sheet.title))]))
    header_style = styles.attr(color="#DDEBF7", font=1, border=1, wrap_top=True)
    head.append(_row(header_row, [_text_cell(f"{column_letter(c)}{header_row}", header_style, escape_text(h)) for c, h in enumerate(sheet.headers)]))
    out.write("".join(head).encode("utf-8"))
    letters = [column_letter(c) for c in range(len(sheet.columns))]
    plain = [styles.attr(number_format=col.number_format) for col in sheet.columns]
    by_color: dict[str | None, list[str]] = {}
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        numbers = [str(r) for r in range(first + start, first + stop)]
        colors = sheet.row_colors[start:stop] if sheet.row_colors else None
        row_styles = None  # each row's style per column, where some row of the chunk has a colour
        if colors is not None and any(colors):
            for color in dict.fromkeys(c for c in colors if c not in by_color):  # in order: the same bytes every run
                by_color[color] = [styles.attr(color=color, number_format=k.number_format) for k in sheet.columns]
            row_styles = [by_color[color] for color in colors]
        cells = []
        for c, col in enumerate(sheet.columns):
            col_styles = [plain[c]] * (stop - start) if row_styles is None else [per_col[c] for per_col in row_styles]
            refs = [letters[c] + r for r in numbers]
            cells.append(_cells(col.kind, col.values[start:stop], refs, col_styles))
        out.write("".join(_row(r, row) for r, row in zip(numbers, zip(*cells))).encode("utf-8", "replace"))
    out.write(b"</sheetData>")
    filtered = f"A{header_row}:{last_col}{last_row}" if n else None
    tail = f'<autoFilter ref="{filtered}"/>' if filtered else ""
    out.write((tail + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>').encode("utf-8"))
    return filtered


def _absolute(ref: str) -> str:
    return re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", ref)


class _Sink:
    """The workbook's file as the zip writer uses it. Once the write has failed it takes
    nothing more: the zip writer, when it is closed or freed, still writes its closing record,
    which on a full disk would fail again and print a traceback ("Exception ignored in
    ZipFile.__del__")."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._pos = 0  # where the abandoned file pretends to be

    def abandon(self) -> None:
        if self._fh is not None:
            self._pos = self._fh.tell()
        self._fh = None

    def write(self, data: bytes) -> int:
        if self._fh is None:
            self._pos += len(data)
            return len(data)
        return self._fh.write(data)

    def tell(self) -> int:
        return self._pos if self._fh is None else self._fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        if self._fh is None:
            self._pos = offset  # the zip writer seeks only from the start
            return offset
        return self._fh.seek(offset, whence)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()


def write_workbook(fh: IO[bytes], sheets: Sequence[SheetData], created: str) -> None:
    """The workbook of `sheets` into the binary file `fh` (positioned at its start)."""
    sink = _Sink(fh)
    zf = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
    out = None
    try:
        styles = _Styles()
        filters = []
        for i, sheet in enumerate(sheets):
            # Zip64 only for a sheet that may pass 2 GiB uncompressed (a million long rows): Excel
            # has been reported to refuse small entries that carry it.
            out = zf.open(zip_info(f"xl/worksheets/sheet{i + 1}.xml", COMPRESS_LEVEL), "w", force_zip64=_may_pass_zip_limit(sheet))
            filters.append(_write_sheet(out, sheet, styles, selected=i == 0))
            out.close()
            out = None
        for name, text in _parts(sheets, filters, styles, created).items():
            zf.writestr(zip_info(name, COMPRESS_LEVEL), text.encode("utf-8"))
        zf.close()
    except BaseException:
        # Nothing more goes into the failed file: closing the zip writer (or the collector
        # freeing it) would write its closing record, which on a full disk fails again.
        sink.abandon()
        if out is not None:
            out.close()
        zf.close()
        raise


def _parts(sheets: Sequence[SheetData], filters: list[str | None], styles: _Styles, created: str) -> dict[str, str]:
    """The workbook's parts other than its sheets."""
    names = [_attr(sheet.name) for sheet in sheets]
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">\'{name.replace(chr(39), chr(39) * 2)}\'!{_absolute(ref)}</definedName>'
        for i, (name, ref) in enumerate(zip(names, filters))
        if ref
    )
    n = len(sheets)
    return {
        "xl/workbook.xml": HEAD
        + f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><workbookPr/><bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, name in enumerate(names))
        + "</sheets>"
        + (f"<definedNames>{defined}</definedNames>" if defined else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>',
        "xl/_rels/workbook.xml.rels": HEAD
        + f'<Relationships xmlns="{PKG_REL_NS}">'
        + "".join(f'<Relationship Id="rId{i + 1}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
        + f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": styles.xml(),
        **package_parts(n, created),
    }


def package_parts(n_sheets: int, created: str) -> dict[str, str]:
    """The parts every workbook of `n_sheets` sheets has around its workbook, sheets and styles:
    content types, the package's relationships and its properties (`created`: a fixed time)."""
    n = n_sheets
    return {
        "[Content_Types].xml": HEAD
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT_PREFIX}.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="{CT_PREFIX}.spreadsheetml.worksheet+xml"/>' for i in range(n))
        + f'<Override PartName="/xl/styles.xml" ContentType="{CT_PREFIX}.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/docProps/app.xml" ContentType="{CT_PREFIX}.extended-properties+xml"/>'
        "</Types>",
        "_rels/.rels": HEAD
        + f'<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{PKG_REL_NS}/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>",
        "docProps/core.xml": HEAD
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
        "</cp:coreProperties>",
        "docProps/app.xml": HEAD
        + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>gaopin</Application></Properties>',
    }
