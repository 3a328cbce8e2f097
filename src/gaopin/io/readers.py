"""Readers that turn a spreadsheet file into text cells, never numbers.

Every reader returns a `Grid`: the first rows (to find the header) and, once the header
row is known, the body as a frame of text columns. Phone numbers and ids stay digit
strings; numeric cells that cannot hold their digits (over 15 of them) are flagged.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from html.parser import HTMLParser
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.config import LoadSettings, LimitSettings
from gaopin.errors import InputError
from gaopin.io import csvfile, sniff
from gaopin.io.canonical import text_buffers
from gaopin.io.header import MIN_HEADER_MATCHES, _candidates  # the header finder's own aliases
from gaopin.schema import header_key
from gaopin.io.precheck import check_file_size, check_xls, check_xlsx
from gaopin.privacy import mask_phones_in_text


# Above 15 significant digits a float no longer holds the exact integer Excel showed.
EXACT_FLOAT_LIMIT = 10**15


@dataclass
class Body:
    frame: pd.DataFrame  # columns named by position ("0", "1", …), text or NA
    row_numbers: pd.Series  # 1-based row number in the file of each body row
    imprecise: dict[int, list[int]] = field(default_factory=dict)  # column → body rows read from a rounded number
    problems: list[tuple[int | None, str]] = field(default_factory=list)  # (row, message)
    # Merged (or spanned) areas below the header filled with their value: (first row, first
    # column, last row, last column) in the file, 1-based.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    # A workbook's columns (positions) holding text cells only, no date or number cell: where a
    # date is typed as text, which [load] date_format may say is year-day-month.
    text_only: frozenset[int] = frozenset()
    # No cell holds a quote: a CSV without the byte 0x22 (`csvfile.scan_bytes`) in an encoding that
    # always writes the quote as that byte. No cell can then be an ="…" formula (unwrap_excel_text).
    quote_free: bool = False


@dataclass
class Grid:
    kind: str
    head: list[list[str]]
    sheet: str | None = None
    hidden: bool = False  # a hidden sheet of a workbook read whole: neither parsed nor read
    empty: bool = False  # a sheet without a single cell of text
    encoding: str | None = None
    formulas_without_value: int = 0  # the workbook's, on the first of its grids
    body_reader: Callable[[int, list[int] | None], Body] | None = None

    def body(self, header_index: int, columns: list[int] | None) -> Body:
        assert self.body_reader is not None
        return self.body_reader(header_index, columns)


def cell_text(value: object) -> str:
    """One spreadsheet cell as text: numbers as digit strings, dates in ISO form."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        # A time-only cell that calamine reads as a duration: keep it as Excel's serial.
        return repr(value.total_seconds() / 86400)
    return str(value)


def _float_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else cell_text(value)  # NaN and inf are not integers


def _datetime_text(value: dt.datetime) -> str:
    return value.isoformat(sep=" ", timespec="seconds")


# cell_text for the types a column mostly holds, without its chain of checks.
_TEXT_OF_TYPE: dict[type, Callable[[object], str]] = {str: str, float: _float_text, dt.datetime: _datetime_text}


def _texts(values: list[object]) -> list[str]:
    """cell_text of every value."""
    text_of = _TEXT_OF_TYPE.get
    return [text_of(type(v), cell_text)(v) for v in values]


def read(path: Path, load: LoadSettings, limits: LimitSettings, columns: dict[str, Any] | None = None) -> list[Grid]:
    """The tables of a file, in order: one for a CSV, an HTML table or a configured sheet; for a
    workbook with several sheets, one for each sheet (the loader picks those with a ticket header).
    `columns` ([columns] of gaopin.toml) counts as known headers when choosing an HTML table."""
    kind = sniff.sniff(path)
    check_file_size(path, limits)  # CSV and HTML are read whole: the size limit holds for every kind
    if kind in (sniff.XLSX, sniff.XLS):
        return _read_workbook(path, kind, load, limits)
    if kind == sniff.HTML:
        table, encoding = _read_html_table(path, load, columns or {})
        grid = _rows_grid(kind, table.rows, None, csvfile.head_rows(load), [s[:4] for s in table.spans])
        grid.encoding = encoding
        return [grid]
    return [_read_csv(path, load)]


# --- workbooks ------------------------------------------------------------------------


# The extensions by which calamine's from_path picks the parser of each kind.
_CALAMINE_SUFFIXES = {sniff.XLSX: (".xlsx", ".xlsm", ".xlam"), sniff.XLS: (".xls", ".xla")}
_EMPTY_HINT = "请确认导出时选对了工作表，或用 --sheet（或 gaopin.toml 的 [load] sheet）指定"


def _read_workbook(path: Path, kind: str, load: LoadSettings, limits: LimitSettings) -> list[Grid]:
    formulas = 0
    if kind == sniff.XLSX:
        pre = check_xlsx(path, limits)
        formulas = sum(pre.formulas_without_value.values())
    else:
        check_xls(path, limits)
    from python_calamine import SheetVisibleEnum

    wb = _open_workbook(path, kind)
    n_head = csvfile.head_rows(load)
    with wb:
        try:
            names = list(wb.sheet_names)
            if not names:
                raise InputError(f"{path} 中没有工作表", "请重新导出")
            if load.sheet or len(names) == 1:
                name = _wanted_sheet(names, path, load.sheet) if load.sheet else names[0]
                grids = [_sheet_grid(path, kind, name, wb.get_sheet_by_name(name), n_head)]
                if grids[0].empty:
                    raise InputError(f"{path} 的工作表“{name}”是空的", _EMPTY_HINT)
            else:
                # Every sheet: the tickets may be split over several (long exports are), or follow
                # a 说明 sheet. A hidden one (an old copy kept by staff) is not even parsed.
                hidden = {m.name for m in wb.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
                grids = [
                    Grid(kind, [], name, hidden=True) if name in hidden else _sheet_grid(path, kind, name, wb.get_sheet_by_name(name), n_head)
                    for name in names
                ]
        except InputError:
            raise
        except BaseException as exc:  # fetching a sheet parses it: a damaged part fails here
            _reraise_unless_reader_failure(exc)
            raise InputError(f"{path} 无法作为 Excel 文件读取（{_short(exc)}）", sniff._SAVE_AS) from None
    grids[0].formulas_without_value = formulas
    return grids


def _open_workbook(path: Path, kind: str):
    """The workbook, parsed as what its content is: calamine's from_path goes by the extension
    (an .xls saved as .xlsx would be read as a zip), its from_filelike tries each format in turn
    but loses the reason a damaged or protected file fails; the path is used where they agree."""
    import python_calamine as calamine

    try:
        if path.suffix in _CALAMINE_SUFFIXES[kind]:
            return calamine.CalamineWorkbook.from_path(str(path))
        with path.open("rb") as fh:
            return calamine.CalamineWorkbook.from_filelike(fh)
    except calamine.PasswordError:
        raise InputError(f"{path} 设置了密码，无法读取", "请在 Excel 或 WPS 中取消密码后另存再试") from None
    except BaseException as exc:  # calamine raises several unrelated types for damaged files
        _reraise_unless_reader_failure(exc)
        raise InputError(f"{path} 无法作为 Excel 文件读取（{_short(exc)}）", sniff._SAVE_AS) from None


def _sheet_grid(path: Path, kind: str, name: str, sheet, n_head: int) -> Grid:
    """A sheet's first rows, and its body read when asked for (the one pass over its cells)."""
    head = [[cell_text(c) for c in row] for row in sheet.to_python(skip_empty_area=False, nrows=n_head)]
    n_rows = sheet.end[0] + 1 if sheet.end is not None else 0
    empty = n_rows <= len(head) and not any(c.strip() for row in head for c in row)

    parsed = [sheet]

    def body(header_index: int, columns: list[int] | None) -> Body:
        try:
            # Read once: calamine's copy of the cells is let go before they are converted.
            sheet = parsed.pop()
            rows = sheet.to_python(skip_empty_area=False)
            # Sheet coordinates, as the rows above are (from A1, empty area included).
            spans = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
        except BaseException as exc:
            _reraise_unless_reader_failure(exc)
            raise InputError(f"{path} 的工作表“{name}”无法读取（{_short(exc)}）", sniff._SAVE_AS) from None
        return _rows_body(rows, header_index, columns, spans)

    return Grid(kind=kind, head=head, sheet=name, empty=empty, body_reader=body)


def _reraise_unless_reader_failure(exc: BaseException) -> None:
    """A damaged file makes calamine raise any Exception, or panic: a Rust panic arrives as
    pyo3's PanicException, which derives from BaseException. Ctrl+C and exit pass through."""
    if not (isinstance(exc, Exception) or type(exc).__name__ == "PanicException"):
        raise exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _wanted_sheet(names: list[str], path: Path, wanted: str) -> str:
    """The configured sheet's name: a name, or a number from 1."""
    if wanted.isdigit() and wanted not in names and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    if wanted in names:
        return wanted
    raise InputError(
        f"{path} 中没有名为“{wanted}”的工作表",
        # The file's own sheet names may hold a number (a sheet named after a caller).
        f"现有工作表：{mask_phones_in_text('、'.join(names))}；请改为其中之一（--sheet 选项或 gaopin.toml 的 [load] sheet）",
    )


def _rows_grid(
    kind: str, rows: list[list[object]], sheet: str | None, n_head: int = csvfile.HEAD_ROWS, spans: list[tuple[int, int, int, int]] | None = None
) -> Grid:
    head = [[cell_text(c) for c in row] for row in rows[:n_head]]
    return Grid(kind=kind, head=head, sheet=sheet, body_reader=lambda h, columns: _rows_body(rows, h, columns, spans))


def _fill_spans(
    rows: list[list[object]], spans: list[tuple[int, int, int, int]], header_index: int
) -> tuple[list[list[object]], list[tuple[int, int, int, int]]]:
    """The rows with every merged (or spanned) area below the header filled with its first
    cell's value, and those areas. A sheet grouped by hand merges 所属社区 down over its
    community's rows: each of those tickets is in that community, not blank. Areas starting in
    the header rows are left: the header finder reads them as a workbook leaves them (value
    in the first cell, blanks after). Only rows that exist are filled, none are added."""
    areas = []
    copied: set[int] = set()
    rows = list(rows)  # the rows touched are copied: the caller's stay as read
    last = len(rows) - 1
    # Merged areas never overlap (Excel repairs a file where they do), so together they cover
    # at most the body's cells: a forged file listing the same huge area again and again stops
    # being filled there, instead of keeping gaopin busy for hours.
    width = max((len(r) for r in rows), default=0)
    budget = (last - header_index) * width
    for r0, c0, r1, c1 in sorted(spans):
        if r0 <= header_index or r0 > last or c0 >= width:
            continue
        r1, c1 = min(r1, last), min(c1, width - 1)  # within the cells read: no row or column added
        if r0 == r1 and c0 == c1:
            continue
        first = rows[r0]
        value = first[c0] if c0 < len(first) else ""
        if value is None or value == "":
            continue
        budget -= (r1 - r0 + 1) * (c1 - c0 + 1)
        if budget < 0:
            break
        for r in range(r0, r1 + 1):
            if r not in copied:
                rows[r] = list(rows[r])
                copied.add(r)
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            row[c0 : c1 + 1] = [value] * (c1 + 1 - c0)
        areas.append((r0, c0, r1, c1))
    return rows, areas


def _rows_body(
    rows: list[list[object]], header_index: int, columns: list[int] | None, spans: list[tuple[int, int, int, int]] | None = None
) -> Body:
    merged: list[tuple[int, int, int, int]] = []
    if spans:
        rows, merged = _fill_spans(rows, spans, header_index)
    data = rows[header_index + 1 :]
    width = max((len(r) for r in rows), default=0)
    wanted = list(range(width)) if columns is None else columns
    if any(len(r) != width for r in data):
        data = [list(r) + [""] * (width - len(r)) for r in data]
    cols: dict[str, pd.Series] = {}
    imprecise: dict[int, list[int]] = {}
    text_only: set[int] = set()
    for pos in wanted:  # only the columns asked for
        values = list(map(itemgetter(pos), data))
        try:
            # Most columns hold text only: Arrow takes them as they are and refuses anything
            # else (calamine gives numbers, bools, dates and times, never bytes).
            array = pa.array(values, type=pa.string())
            text_only.add(pos)
        except pa.ArrowTypeError:
            # Whole numbers past a float's exact digits: Excel may have shown other digits.
            bad = [
                i for i, v in enumerate(values) if isinstance(v, float) and abs(v) >= EXACT_FLOAT_LIMIT and v.is_integer()
            ]
            if bad:
                imprecise[pos] = bad
            array = pa.array(_texts(values), type=pa.string())
        # Through Arrow: "" becomes a null in the same pass (a blank cell).
        array = pc.if_else(pc.equal(pc.binary_length(array), 0), pa.scalar(None, pa.string()), array)
        cols[str(pos)] = pd.Series(pd.array(array, dtype="str"))
    frame = pd.DataFrame(cols) if cols else pd.DataFrame(index=range(len(data)))
    numbers = pd.Series(range(header_index + 2, header_index + 2 + len(data)))
    # File rows and columns, 1-based, of the merged areas filled.
    filled = [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for r0, c0, r1, c1 in merged]
    return Body(frame, numbers, imprecise, merged=filled, text_only=frozenset(text_only))


# --- HTML tables saved as .xls ------------------------------------------------------------

# A spanned cell: (first row, first column, last row, last column, value), 0-based, inclusive.
Span = tuple[int, int, int, int, object]
# An export never comes near these (browsers allow 1000 and 65534): a cell's span is bounded
# so that a small file cannot make rows of millions of cells.
_MAX_COLSPAN = 100
_MAX_ROWSPAN = 65534


class _Table:
    """One table's cells placed on a grid as a browser places them: a cell spanning rows or
    columns holds its value in its first grid cell and blanks in the others (as a merged cell
    of a workbook reads); its extent is kept in `spans`."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.spans: list[Span] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self._colspan = self._rowspan = 1
        self._below: dict[int, int] = {}  # column → rows below the current one a rowspan still covers

    def _skip_covered(self) -> None:
        """Blanks for the grid cells at the row's end that a cell above spans down into."""
        assert self.row is not None
        while self._below.get(len(self.row), 0) > 0:
            self.row.append("")

    def open_row(self) -> None:
        self.close_row()
        self.row = []

    def open_cell(self, attrs: dict[str, str | None]) -> None:
        if self.row is None:  # a cell outside any row: a browser opens one
            self.open_row()
        self.close_cell()
        self.cell = []
        self._colspan = min(max(_span(attrs.get("colspan")), 1), _MAX_COLSPAN)
        self._rowspan = min(max(_span(attrs.get("rowspan")), 1), _MAX_ROWSPAN)

    def close_cell(self) -> None:
        if self.cell is None or self.row is None:
            self.cell = None
            return
        self._skip_covered()
        value = "".join(self.cell).strip()
        col = len(self.row)
        self.row.append(value)
        self.row.extend([""] * (self._colspan - 1))
        if self._rowspan > 1 or self._colspan > 1:
            r = len(self.rows)
            self.spans.append((r, col, r + self._rowspan - 1, col + self._colspan - 1, value))
        if self._rowspan > 1:
            for c in range(col, col + self._colspan):
                # Counted from the next row; the current row's own count is spent in close_row.
                self._below[c] = max(self._below.get(c, 0), self._rowspan)
        self.cell = None

    def close_row(self) -> None:
        self.close_cell()
        if self.row is None:
            return
        # Columns right of the last cell still covered from above.
        if self._below:
            width = max(c for c, n in self._below.items() if n > 0) + 1 if any(self._below.values()) else 0
            while len(self.row) < width:
                self.row.append("")
        self._below = {c: n - 1 for c, n in self._below.items() if n > 1}
        self.rows.append(self.row)
        self.row = None

    def close(self) -> None:
        self.close_row()
        # A rowspan past the last row ends with the table, as a browser ends it.
        last = len(self.rows) - 1
        self.spans = [(r0, c0, min(r1, last), c1, v) for r0, c0, r1, c1, v in self.spans]


def _span(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() else 1


class _TableParser(HTMLParser):
    """Every table, nested ones too: the rows of a table nested in a cell are that table's own
    (a data table inside a one-column layout table is found as itself); its text also stays in
    the outer cell. A cell or row left unclosed (`<td>a<td>b`) is closed by the next one, as
    browsers do."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            table = _Table()
            self.tables.append(table)
            self._open.append(table)
        elif not self._open:
            return
        elif tag == "tr":
            self._open[-1].open_row()
        elif tag in ("td", "th"):
            self._open[-1].open_cell(dict(attrs))
        elif tag == "br":
            self.handle_data("\n")

    def handle_endtag(self, tag):
        if not self._open:
            return
        if tag == "table":
            self._open.pop().close()
        elif tag in ("td", "th"):
            self._open[-1].close_cell()
        elif tag == "tr":
            self._open[-1].close_row()

    def handle_data(self, data):
        for table in self._open:
            if table.cell is not None:
                table.cell.append(data)

    def close(self):
        super().close()
        while self._open:  # a table left unclosed at the end of the file
            self._open.pop().close()


def _header_score(rows: list[list[str]], n_head: int, columns: dict[str, Any]) -> int:
    """The most distinct known headers (aliases and [columns]) in one of the first rows."""
    keys = {key for key, _, _ in _candidates(columns)}
    return max((len({header_key(c) for c in row if c and header_key(c) in keys}) for row in rows[:n_head]), default=0)


def _read_html_table(path: Path, load: LoadSettings, columns: dict[str, Any]) -> tuple[_Table, str]:
    raw = path.read_bytes()
    text = None
    encoding = ""
    for enc in ([load.encoding] if load.encoding else ["utf-8-sig", "gb18030"]):
        try:
            text = raw.decode(enc)
            encoding = enc
            break
        except (UnicodeDecodeError, LookupError):
            continue
    if text is None:
        raise InputError(f"{path} 是网页格式，但编码无法识别", sniff._SAVE_AS)
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    tables = [t for t in parser.tables if t.rows]
    if not tables:
        raise InputError(f"{path} 是网页（HTML），不是表格，里面也没有表格数据", "请确认下载的是导出文件，而不是登录页或错误页")
    # The table with the ticket header, not the longest: a 查询条件 table above a small daily
    # export is longer than it. Without one, the longest, as before.
    n_head = csvfile.head_rows(load)
    scores = [_header_score(t.rows, n_head, columns) for t in tables]
    if max(scores) >= MIN_HEADER_MATCHES:
        best = max(range(len(tables)), key=lambda i: (scores[i], len(tables[i].rows)))
    else:
        best = max(range(len(tables)), key=lambda i: len(tables[i].rows))
    table = tables[best]
    width = max(len(r) for r in table.rows)
    table.rows = [r + [""] * (width - len(r)) for r in table.rows]
    return table, encoding


# --- CSV ------------------------------------------------------------------------------



def _read_csv(path: Path, load: LoadSettings) -> Grid:
    head = csvfile.read_head(path, load)
    encoding = head.encoding
    grid = Grid(kind=sniff.CSV, head=head.records, encoding=encoding)

    def body(header_index: int, columns: list[int] | None) -> Body:
        # In UTF-16 every ASCII character has a zero byte: no NUL is searched for.
        quoted = csvfile.scan_bytes(path, nul=not encoding.startswith("utf-16"))
        made = read_body(header_index, columns, quoted)
        made.quote_free = not quoted and csvfile.quote_is_byte(encoding)
        return made

    def read_body(header_index: int, columns: list[int] | None, quoted: bool) -> Body:
        nonlocal encoding
        read = csvfile.body_read(path, head, encoding, header_index, columns, quoted)
        try:
            return _arrow_body(path, read, header_index)
        except _NeedsFallback:
            pass
        except UnicodeDecodeError:
            if encoding == "utf-8-sig" and "gb18030" in head.candidates:
                # The head was valid UTF-8 (often pure ASCII) but the rest is not.
                encoding = grid.encoding = "gb18030"
                read = csvfile.body_read(path, head, encoding, header_index, columns, quoted)
                try:
                    return _arrow_body(path, read, header_index)
                except _NeedsFallback:
                    pass
                except UnicodeDecodeError:
                    raise csvfile.decode_error(path, head.candidates, path.read_bytes()) from None
            else:
                raise csvfile.decode_error(path, head.candidates, path.read_bytes()) from None
        return _python_body(path, encoding, head.delimiter, header_index, read.header_width, columns)

    grid.body_reader = body
    return grid




class _NeedsFallback(Exception):
    """The fast reader cannot read this file exactly (ragged rows): use the csv module."""


# The line breaks Arrow and the csv module end a record at.
_LINE_BREAK = r"\r\n|\r|\n"
_NO_ROWS = np.zeros(0, dtype=np.int64)


def _rows_with_line_breaks(chunk: pa.Array) -> np.ndarray:
    """The rows of a text array whose value holds a line break, found in its character buffer."""
    buffers = text_buffers(chunk)
    if buffers is None:
        return _NO_ROWS
    offsets, data = buffers
    text = data[offsets[0] : offsets[-1]]
    # One comparison over the text: \n and \r are nearly the only bytes below 14 a cell holds.
    at = np.flatnonzero(text <= 13)
    at = at[(text[at] == 10) | (text[at] == 13)]
    if not len(at):
        return _NO_ROWS
    return np.unique(np.searchsorted(offsets, at + offsets[0], side="right") - 1)


def _swallowed_records(
    columns: list[pa.ChunkedArray], delimiter: str, header_width: int, closed: Callable[[int, str], bool] | None = None
) -> tuple[int, int] | None:
    """(row, lines) of the first body row holding a cell whose text, after a line break, has
    lines shaped like whole records; None if there is none.

    A cell holds a line break only if it was quoted; when its quote is never closed (a 诉求内容
    typed as `"引号开头`), the records after it are read as its text and are lost as tickets.
    Quoted cells over several lines are legitimate (Excel writes them): a line counts as a record
    when it holds at least half a record's delimiters (at least two, or the one of a two-column
    record), which typed text rarely does in ASCII commas or tabs. Only cells with a line break
    are split, column-wise.

    A cell that `closed(row, text)` says was closed as a writer closes it (a quote right before a
    delimiter or line end, in a record no wider than the header) is typed text unless one of its
    lines holds a whole record's delimiters: an open quote closed by chance by a later cell
    ending in `"` still swallows whole records, a list typed in a cell rarely has that many commas.
    """
    if header_width < 2:
        return None
    needed = max(min(2, header_width - 1), -(-(header_width - 1) // 2))
    whole = header_width - 1
    first: tuple[int, int] | None = None
    for column in columns:
        start = 0
        done = False
        for chunk in column.chunks:
            rows = _rows_with_line_breaks(chunk)
            if len(rows):
                after_first = pc.list_slice(pc.split_pattern_regex(chunk.take(pa.array(rows)), _LINE_BREAK), 1)
                delimiters = pc.count_substring(pc.list_flatten(after_first), delimiter).to_numpy(zero_copy_only=False)
                line_parents = pc.list_parent_indices(after_first).to_numpy()
                parents = line_parents[delimiters >= needed]
                for parent in np.unique(parents):  # in row order: the first is this column's first
                    at = start + int(rows[parent])
                    if first is not None and at >= first[0]:
                        done = True
                        break
                    if closed is not None and delimiters[line_parents == parent].max() < whole:
                        if closed(at, chunk[int(rows[parent])].as_py()):
                            continue
                    first = (at, int(np.count_nonzero(parents == parent)))
                    done = True
                    break
                if done:
                    break
            start += len(chunk)
    return first


def _quote_closed(path: Path, encoding: str, delimiter: str) -> Callable[[str], bool]:
    """Whether a cell's text was written quoted and closed as a writer closes it: the opening
    quote at a cell's start, the closing one right before a delimiter, a line break or the
    end of the file. Asked rarely (a multi-line cell with many commas); the file is mapped,
    not read into memory."""
    import mmap

    bounds = [b for b in (_as_file_bytes(c, encoding, path) for c in (delimiter, "\n", "\r")) if b]

    def closed(text: str) -> bool:
        needle = _as_file_bytes('"' + text.replace('"', '""') + '"', encoding, path)
        if needle is None:
            return False
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            at = data.find(needle)
            while at != -1:
                end = at + len(needle)
                starts = at == 0 or any(data[max(0, at - len(b)) : at] == b for b in bounds)
                if starts and (end == len(data) or any(data[end : end + len(b)] == b for b in bounds)):
                    return True
                at = data.find(needle, at + 1)
        return False

    return closed


def _open_quote_error(path: Path, row: int, lines: int) -> InputError:
    # lines == 0: the quote opened in the last record, whose own later cells it took.
    lost = f"其后 {lines} 行记录被读成了这个单元格的内容" if lines else "这一行其后的内容（到文件末尾）都被读成了这个单元格的内容"
    return InputError(
        f"{path} 第 {row} 行有一个以英文引号（\"）开头的单元格没有结束引号，{lost}",
        "请用记事本等文本编辑器打开文件，在这一行补上或删去这个引号后保存；如果这个单元格本来就有多行内容，请在 Excel/WPS 中另存为 .xlsx 再读取",
    )


def _as_file_bytes(text: str, encoding: str, path: Path) -> bytes | None:
    """`text` as the file spells it (no BOM), or None if the encoding cannot."""
    name = codecs.lookup(encoding).name
    if name == "utf-8-sig":
        name = "utf-8"
    elif name == "utf-16":  # the BOM says which end first
        with path.open("rb") as fh:
            name = "utf-16-be" if fh.read(2) == b"\xfe\xff" else "utf-16-le"
    try:
        return text.encode(name)
    except UnicodeError:
        return None


def _runs_to_end(path: Path, encoding: str, delimiter: str, values: list[object]) -> bool:
    """Whether one of the last record's cells was opened with a quote never closed: its text
    is then the rest of the file. `_swallowed_records` finds such a quote only when whole
    records follow it; in the last record it takes that record's own later cells (是否解决,
    是否满意 …) and the file still reads without an error."""
    size = path.stat().st_size
    # A quote opens a cell only at its start: after a delimiter or a line break.
    before = [b for b in (_as_file_bytes(c, encoding, path) for c in (delimiter, "\n", "\r")) if b]
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        # As written: the opening quote, and any quote inside doubled.
        tail = _as_file_bytes('"' + value.replace('"', '""'), encoding, path)
        if tail is None or len(tail) > size:
            continue
        with path.open("rb") as fh:
            fh.seek(max(0, size - len(tail) - 4))
            data = fh.read()
        if data.endswith(tail):
            head = data[: len(data) - len(tail)]
            if size == len(tail) or any(head.endswith(b) for b in before):
                return True
    return False


def _arrow_body(path: Path, read: csvfile.BodyRead, header_index: int) -> Body:
    encoding, delimiter, header_width, wanted, beyond = read.encoding, read.delimiter, read.header_width, read.wanted, read.beyond
    try:
        table = csvfile.arrow_table(path, read)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message or "UTF-8" in message:
            raise UnicodeDecodeError(encoding, b"", 0, 1, message) from None
        if "Expected" in message and "columns" in message:
            raise _NeedsFallback() from None
        if "Empty CSV file" in message or "Could not skip" in message:
            # Nothing after the header (a header-only file, with or without a final newline).
            empty = pd.DataFrame({n: pd.Series([], dtype="str") for n in wanted})
            return Body(empty, pd.Series([], dtype="int64"))
        raise InputError(f"{path} 无法按 CSV 读取（{message.splitlines()[0][:120]}）", sniff._SAVE_AS) from None
    except UnicodeDecodeError:
        raise
    if read.multiline:
        closed = _quote_closed(path, encoding, delimiter)
        # Every record has the same width here (Arrow refuses others): none is wider than the header.
        swallowed = _swallowed_records([table.column(n) for n in table.column_names], delimiter, header_width, lambda row, text: closed(text))
        if swallowed is not None:
            raise _open_quote_error(path, header_index + 2 + swallowed[0], swallowed[1])
        if table.num_rows and _runs_to_end(path, encoding, delimiter, table.slice(table.num_rows - 1).to_pylist()[0].values()):
            raise _open_quote_error(path, header_index + 1 + table.num_rows, 0)
        table = table.select([n for n in table.column_names if n in wanted or n in beyond])
    # Column by column: the same text columns as to_pandas() makes, without its detour through blocks.
    frame = pd.DataFrame({n: pd.array(table.column(n), dtype="str") for n in table.column_names}, index=pd.RangeIndex(table.num_rows))
    numbers = pd.Series(range(header_index + 2, header_index + 2 + len(frame)))
    problems: list[tuple[int | None, str]] = []
    extra = [n for n in beyond if n in frame.columns]
    if extra:
        filled = frame[extra].notna() & frame[extra].apply(lambda s: s.str.strip() != "")
        counts = filled.sum(axis=1)
        for i in counts.index[counts > 0][:1000]:
            problems.append((int(numbers[i]), f"该行比表头多出 {int(counts[i])} 个单元格，多出的内容未读取"))
        frame = frame[[n for n in frame.columns if n in wanted]]
    return Body(frame, numbers, problems=problems)


def _python_body(
    path: Path, encoding: str, delimiter: str, header_index: int, width: int, columns: list[int] | None
) -> Body:
    """Slow, exact reading for CSVs with ragged rows: short rows padded, extra cells reported.

    `width` is the header's: cells right of it have no column to go to.
    """
    try:
        with path.open(encoding=encoding, newline="") as fh:
            records = list(csv.reader(fh, delimiter=delimiter))
    except UnicodeDecodeError:
        raise csvfile.decode_error(path, [encoding], path.read_bytes()) from None
    except csv.Error as exc:
        raise InputError(f"{path} 无法按 CSV 读取（{exc}）", sniff._SAVE_AS) from None
    data = records[header_index + 1 :]
    if any("\n" in cell or "\r" in cell for record in data for cell in record):
        widest = max(len(r) for r in data)
        cells = [pa.chunked_array([pa.array([r[pos] if pos < len(r) else "" for r in data], pa.large_string())]) for pos in range(widest)]
        closed = _quote_closed(path, encoding, delimiter)

        def closed_in_place(row: int, text: str) -> bool:
            # A quote closed in the middle of a later record leaves this one wider than the header.
            record = data[row]
            return not any(c.strip() for c in record[width:]) and closed(text)

        swallowed = _swallowed_records(cells, delimiter, width, closed_in_place)
        if swallowed is not None:
            raise _open_quote_error(path, header_index + 2 + swallowed[0], swallowed[1])
    if data and _runs_to_end(path, encoding, delimiter, data[-1]):
        raise _open_quote_error(path, header_index + 1 + len(data), 0)
    wanted = list(range(width)) if columns is None else columns
    problems = []
    keep_rows = []
    numbers = []
    for i, record in enumerate(data):
        number = header_index + 2 + i
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > width and any(c.strip() for c in record[width:]):
            problems.append((number, f"该行比表头多出 {len(record) - width} 个单元格，多出的内容未读取"))
        keep_rows.append(record)
        numbers.append(number)
    cols = {str(pos): [r[pos] if pos < len(r) else "" for r in keep_rows] for pos in wanted}
    frame = pd.DataFrame(cols, dtype="str").replace("", pd.NA)
    return Body(frame, pd.Series(numbers, dtype="int64"), problems=problems)
