"""A safety check of a workbook before any spreadsheet parser sees it.

python-calamine aborts the whole process when a sheet's cells span an absurd range (it
allocates the whole rectangle), or when a file declares absurd counts it reserves memory for
(the shared strings' uniqueCount, an .xls DIMENSIONS record); openpyxl runs out of memory on
zip bombs. All are refused here, from the zip directory and a streaming scan of every XML
part (xlsx) or a walk of the BIFF records (xls): in milliseconds for absurd files, and in
about half of calamine's own reading time for big honest ones.

The scan works out the rectangle the way calamine does: a cell's `r="XFD1048576"` says
where it is; a cell or row without `r` follows the one before it; a cell written without a
value (`<c r="T1048576" s="1"/>`, a stray formatted cell) is kept by neither, nor is a row
holding only such cells, and the declared `<dimension>` only counts beyond a sheet's own
limits. Files written by Excel,
WPS, LibreOffice, openpyxl or xlsxwriter spell every row and cell as `<row r="N"` and
`<c r="AB12"`, and those are read with a few regular-expression passes in C. Anything
else (implicit positions, quotes, prefixes, spaces) switches that part to an exact
tag-by-tag walk, which is slower but only hostile or unusual writers need it.
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from gaopin.config import LimitSettings
from gaopin.errors import InputError
from gaopin.privacy import mask_phones_in_text

MB = 1024 * 1024
CHUNK = 1 << 20
FAST_TAIL = 64  # a tag starting this near a chunk's end is looked at again with the next chunk
CARRY = FAST_TAIL + 16  # bytes carried: FAST_TAIL, plus room for a tag prefix stripped before it
MAX_TAG = 1 << 20  # a single tag longer than this is not a spreadsheet

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s+ref\s*=\s*["']([A-Za-z]{1,3})?(\d+)?(?::([A-Za-z]{1,3})(\d+))?["']""")
# The spelling of every honest writer; anything else goes to the exact walk.
_ODD_CELL = re.compile(rb'<c(?! r="[A-Z]{1,3}[1-9][0-9]{0,6}")[\s>/]')
_ODD_ROW = re.compile(rb'<row(?! r="[1-9][0-9]{0,6}")[\s>/]')
_PREFIXED = re.compile(rb":(?:c|row)[\s>/]")  # <x:c …>: calamine matches local names
_ROOT_PREFIX = re.compile(rb"<([\w.-]{1,10}:)worksheet[\s>]")  # .NET's OpenXML SDK writes <x:worksheet>, <x:c>
# Every row tag in one pass: its number if spelt honestly, b"" if not (then _ODD_ROW places it).
_ROWS = re.compile(rb'<row(?: r="([1-9][0-9]{0,6})"|[\s>/])')
_HONEST_CELL = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"')
# A row holding no cell calamine keeps: none, or self-closing ones (a stray formatted cell
# that Excel/WPS leave at the bottom), to its end or, cut off, to the end of the chunk.
_SELF_CLOSING_CELLS = rb'(?:\s*<c r="[A-Z]{1,3}[1-9][0-9]{0,6}"[^>]*/>)*\s*'
_EMPTY_ROW = re.compile(
    rb'<row r="[1-9][0-9]{0,6}"(?:[^>]*/>|[^>]*\Z|[^>]*>' + _SELF_CLOSING_CELLS + rb"(?:</row>|<[^>]*\Z|\Z))"
)
_CELL_OPEN = b'<c r="'
# Tags with a prefix (<x:c>, <x:row>, <x:f>): one search, as they are rare outside .NET's files.
_COLON_TAGS = re.compile(rb":(?:c|row|f)[\s>/]")
# calamine reserves room for every string the shared-string table says it holds, before reading one.
_SST_COUNT = re.compile(rb"""sst\s[^>]*?uniqueCount\s*=\s*["']\s*([0-9]{1,30})""")
_FORMULA_TAGS = (re.compile(rb"<f[\s>/]"), re.compile(rb":f[\s>/]"))  # two literal searches: fast
# A formula with no cached value: no <v> at all, or an empty one (<v/>, <v></v>) as openpyxl writes.
_EMPTY_V = rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?"
_FORMULA_NO_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f[^>]*/>)\s*" + _EMPTY_V + rb"\s*</(?:\w+:)?c>"
)
# The exact walk: every row and cell tag, with its attributes.
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s>/])([^>]*)>")
_R_ATTR = re.compile(rb"""(?:^|\s)(?:[\w.-]+:)?r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"\s*([A-Za-z]+)([0-9]+)\s*")
_ROW_REF = re.compile(rb"\s*([0-9]+)\s*")
_REFUSE = "这不像正常导出的工单表；如确是正常文件，可在 gaopin.toml 的 [limits] 中调高上限"
_DAMAGED = "请重新导出或重新下载该文件"


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


# What the zip module raises on a damaged archive besides BadZipFile: a seek before the start
# (OSError), an unknown version or method (NotImplementedError), an encrypted member
# (RuntimeError), short reads (EOFError), bad deflate data (zlib.error), odd headers.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError, IndexError, struct.error)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _mb(n: int) -> str:
    """A size in MB, rounded up: a file just over a limit never shows as equal to it."""
    return f"{math.ceil(n / MB)} MB"


@dataclass
class PrecheckResult:
    # Formula cells without a cached value, per worksheet part: they read as empty.
    formulas_without_value: dict[str, int] = field(default_factory=dict)
    # (rows, columns) of the rectangle a reader would allocate, per part holding cells.
    areas: dict[str, tuple[int, int]] = field(default_factory=dict)


def check_file_size(path: Path, limits: LimitSettings) -> None:
    """Any input file (xlsx, xls, csv, html) over [limits] max_file_mb is refused unread."""
    size = path.stat().st_size
    if size > limits.max_file_mb * MB:
        raise InputError(f"{path} 有 {_mb(size)}，超过上限 {limits.max_file_mb} MB", _REFUSE)


def check_xlsx(path: Path, limits: LimitSettings) -> PrecheckResult:
    check_file_size(path, limits)
    try:
        zf = zipfile.ZipFile(path)
    except ZIP_ERRORS:
        raise InputError(f"{path} 已损坏（压缩包结构不完整）", _DAMAGED) from None
    result = PrecheckResult()
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_mb * MB:
            raise InputError(
                f"{path} 解压后有 {_mb(total)}（压缩包声明），超过上限 {limits.max_uncompressed_mb} MB",
                _REFUSE,
            )
        for info in infos:
            if info.file_size > MB and info.file_size / max(info.compress_size, 1) > limits.max_ratio:
                raise InputError(
                    f"{path} 中的 {info.filename} 压缩比为 {info.file_size // max(info.compress_size, 1)}:1，"
                    f"超过上限 {limits.max_ratio}:1（疑似压缩炸弹）",
                    _REFUSE,
                )
        sheets = _sheet_names(zf)
        # Every part, whatever its name: workbook.xml.rels may point a sheet anywhere.
        for info in infos:
            if info.filename.endswith("/"):  # a folder (ZipInfo.is_dir fails on an empty name)
                continue
            scan = _Scan(zf, info, path, limits, sheets.get(info.filename))
            if not scan.run():
                continue
            if info.filename.startswith("xl/worksheets/") or scan.formulas:
                result.formulas_without_value[info.filename] = scan.formulas
            if scan.max_row and scan.max_col:
                result.areas[info.filename] = (scan.max_row, scan.max_col)
    return result


_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\s[^>]*>")
_REL_TAG = re.compile(rb"<(?:[\w.-]+:)?Relationship\s[^>]*>")
_ATTR = re.compile(rb"""(?:^|\s)((?:[\w.-]+:)?[\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SMALL_PART = 4 * MB  # workbook.xml and its rels: a sheet list, never large


def _attrs(tag: bytes) -> dict[str, str]:
    out = {}
    for m in _ATTR.finditer(tag):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        out[m.group(1).decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return out


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part name → sheet name, from xl/workbook.xml and its relationships; {} if they cannot
    be read (the scan then names the part, and calamine says what is wrong)."""
    import html
    import posixpath

    try:
        parts = {}
        for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            info = zf.getinfo(name)
            if info.file_size > _SMALL_PART:
                return {}
            parts[name] = zf.read(info)
    except (KeyError, *ZIP_ERRORS):
        return {}
    targets = {}
    for tag in _REL_TAG.findall(parts["xl/_rels/workbook.xml.rels"]):
        a = _attrs(tag)
        if "Id" in a and "Target" in a:
            target = a["Target"]
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[a["Id"]] = part
    out = {}
    for tag in _SHEET_TAG.findall(parts["xl/workbook.xml"]):
        a = _attrs(tag)
        rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
        if "name" in a and rid in targets:
            out[targets[rid]] = html.unescape(a["name"])
    return out


class _Scan:
    """One zip member streamed in chunks: DTDs refused, the cells' rectangle bounded."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: LimitSettings, sheet: str | None = None):
        self.zf, self.info, self.path, self.limits = zf, info, path, limits
        # Staff know a sheet by its name, not by its part in the zip.
        self.label = f"的工作表“{mask_phones_in_text(sheet)}”" if sheet is not None else f"的 {info.filename} "
        self.max_row = 0  # 1-based; 0 before any row
        self.max_col = 0
        self.cells = 0
        self.row = 0  # the exact walk's current row and column
        self.col = 0
        self.exact = False
        self.formulas = 0
        self.prefix = b""  # the root's prefix ("x:"), stripped from tags for the fast path

    def refuse(self, what: str) -> None:
        raise InputError(f"{self.path} {self.label}{what}", _REFUSE)

    def _chunks(self) -> Iterator[bytes]:
        """The part's bytes, a megabyte at a time; any failure of the zip module is damage."""
        try:
            with self.zf.open(self.info) as fh:
                while True:
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        return
                    yield chunk
        except ZIP_ERRORS as exc:
            raise InputError(f"{self.path} 已损坏（{self.info.filename} 无法解压：{_reason(exc)}）", _DAMAGED) from None

    def run(self) -> bool:
        """Scan the part; False if it is not XML (an image) and was not scanned."""
        tail = b""
        first = True
        for chunk in self._chunks():
            if first:
                first = False
                if not chunk.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                    return False
                m = _DIMENSION.search(chunk[:65536])
                if m:
                    self._check_dimension(m)
                root = _ROOT_PREFIX.search(chunk[:65536])
                if root:
                    self.prefix = b"<" + root.group(1)
            data = tail + chunk
            tail = self._chunk(data, len(tail))
        last = self._unprefixed(tail)
        if not self.exact and self._odd(last, len(last)):
            self.exact = True
            self.row = self.max_row
            self._walk(tail, 0)
            self._check_limits()
        return True

    def _chunk(self, data: bytes, start: int) -> bytes:
        """Scan `data`, whose first `start` bytes were seen before; return the new tail."""
        if _DTD.search(data):
            self.refuse("含有 DTD/实体声明（Excel 不会这样写）")
        sst = _SST_COUNT.search(data)
        if sst and int(sst.group(1)) > self.limits.max_cells:
            self.refuse(f"声明了 {int(sst.group(1))} 个不同的字符串，超过上限 {self.limits.max_cells}")
        # Without any ":c", ":row" or ":f" tag there is neither a prefixed tag nor a prefixed formula.
        colon = bool(self.prefix) or _COLON_TAGS.search(data) is not None
        if _FORMULA_TAGS[0].search(data) or (colon and _FORMULA_TAGS[1].search(data)):
            # Count only matches that end past the overlap: those inside it were counted before.
            self.formulas += sum(1 for m in _FORMULA_NO_VALUE.finditer(data) if m.end() > start)
        view, view_start, cutoff = data, start, len(data) - FAST_TAIL
        if self.prefix and not self.exact:
            view = self._unprefixed(data)
            view_start = len(self._unprefixed(data[:start]))
            cutoff = len(self._unprefixed(data[:cutoff]))
        fast = None
        if not self.exact:
            fast = self._fast_scan(view, view_start, cutoff, colon)
            if fast is None:
                self.exact = True
                self.row = self.max_row
        if fast is None:
            tail = self._walk(data, start)
        else:
            self._fast(*fast)
            # From a tag's start, so that the next chunk never begins in the middle of one.
            tail = data[-CARRY:]
            cut = tail.find(b"<")
            tail = tail[cut:] if cut >= 0 else b""
        self._check_limits()
        return tail

    def _unprefixed(self, data: bytes) -> bytes:
        if not self.prefix:
            return data
        return data.replace(self.prefix, b"<").replace(b"</" + self.prefix[1:], b"</")

    @staticmethod
    def _odd(data: bytes, cutoff: int) -> bool:
        """A row or cell tag not spelt the honest way, starting before `cutoff`. A tag cut off at
        the end of a chunk looks odd: one after the cutoff is looked at again with the next chunk."""
        for pattern in (_ODD_CELL, _ODD_ROW, _PREFIXED):
            m = pattern.search(data)
            if m is not None and m.start() < cutoff:
                return True
        return False

    def _fast_scan(
        self, data: bytes, start: int, cutoff: int, colon: bool
    ) -> tuple[int, int, list[tuple[int, int]]] | None:
        """The highest row number, the number of new cells and the cells that grow the rectangle
        (normally none), or None if a row or cell tag before `cutoff` is not spelt the honest way.

        Nothing is changed here: a chunk found odd is walked exactly from the state before it."""
        rows = _ROWS.findall(data)
        if b"" in rows:  # a row tag spelt otherwise: where is the first?
            odd = _ODD_ROW.search(data)
            if odd is not None and odd.start() < cutoff:
                return None
        if colon:
            odd = _PREFIXED.search(data)
            if odd is not None and odd.start() < cutoff:
                return None
        top = _highest_row_kept(data, rows)
        cells = data.count(_CELL_OPEN, max(0, start - len(_CELL_OPEN) + 1))
        # One search finds both the odd cell tags and the honest ones outside the rectangle seen
        # so far (normally none). Each of those grows the rectangle; the search goes on with the
        # same pattern (a compilation per cell is slow when every cell grows it) until cells it
        # finds within the grown rectangle are many.
        cols, height = self.max_col, max(self.max_row, top)
        searched, within = (cols, height), 0
        grown = []
        pos = 0
        while (m := _outside(*searched).search(data, pos)) is not None:
            pos = m.end()
            cell = _HONEST_CELL.match(data, m.start())
            if cell is None:
                if m.start() < cutoff:
                    return None
                continue  # a tag cut off at the end of the chunk: looked at again with the next one
            col, row = column_number(cell.group(1).decode()), int(cell.group(2))
            if not (col <= cols and row <= height):
                end = data.find(b">", m.start(), m.start() + MAX_TAG)
                if end == -1 and m.start() >= cutoff:
                    continue  # cut off at the end of the chunk: looked at again with the next one
                if end != -1 and data[end - 1] == 0x2F:  # "/>": no value, calamine keeps no cell
                    continue
            if col <= cols and row <= height:
                within += 1
                if within > 32:
                    searched, within = (cols, height), 0
                continue
            grown.append((col, row))
            cols, height = max(cols, col), max(height, row)
            if self._over(cols, height, self.cells + cells):
                # Refused at this cell unless the chunk is odd: no need to grow further.
                odd = _ODD_CELL.search(data, pos)
                if odd is not None and odd.start() < cutoff:
                    return None
                break
        return top, cells, grown

    def _fast(self, top: int, cells: int, grown: list[tuple[int, int]]) -> None:
        """What _fast_scan found in a chunk spelt as honest writers do, applied and checked."""
        self.max_row = max(self.max_row, top)
        self.cells += cells
        for col, row in grown:  # in order, each grows the rectangle and is checked at once
            self.max_col = max(self.max_col, col)
            self.max_row = max(self.max_row, row)
            self._check_limits()

    def _walk(self, data: bytes, start: int) -> bytes:
        """Every row and cell tag in order, placed as calamine places them."""
        for m in _TAG.finditer(data):
            if m.end() <= start:
                continue  # seen in the previous chunk
            kind, attrs = m.group(1), m.group(2)
            r = _R_ATTR.search(attrs)
            ref = None if r is None else (r.group(1) if r.group(1) is not None else r.group(2))
            if kind == b"row":
                if ref is None:
                    self.row += 1
                else:
                    found = _ROW_REF.fullmatch(ref)
                    if found is None:
                        self.refuse(f"中有写法异常的行号“{ref[:20].decode('latin-1')}”")
                    self.row = int(found.group(1))
                self.col = 0
                # The row's cells, not its tag, grow the rectangle: calamine keeps cells only.
            else:
                self.cells += 1
                if ref is None:
                    self.col += 1
                    row = max(self.row, 1)
                else:
                    found = _REF.fullmatch(ref)
                    if found is None:
                        self.refuse(f"中有写法异常的单元格位置“{ref[:20].decode('latin-1')}”")
                    letters = found.group(1).decode()
                    if len(letters) > 4:
                        self.refuse(f"中有单元格位于第 {letters} 列，超过上限 {self.limits.max_columns} 列")
                    self.col = column_number(letters)
                    row = int(found.group(2))
                if not attrs.rstrip().endswith(b"/"):  # "<c …/>" holds no value: calamine places nothing
                    self.max_col = max(self.max_col, self.col)
                    self.max_row = max(self.max_row, row)
            if self.cells % 65536 == 0:
                self._check_limits()
        # Carry the last tag that may be incomplete.
        cut = data.rfind(b"<")
        tail = data[cut:] if cut >= 0 else b""
        if len(tail) > MAX_TAG:
            self.refuse("中有一个超过 1 MB 的标签")
        return tail

    def _check_limits(self) -> None:
        problem = self._over(self.max_col, self.max_row, self.cells)
        if problem:
            self.refuse(problem)

    def _over(self, max_col: int, max_row: int, cells: int) -> str | None:
        """What a rectangle and a number of cells exceed, if anything."""
        lim = self.limits
        cols = max(max_col, 1)
        if max_col > lim.max_columns:
            return f"有单元格位于第 {max_col} 列，超过上限 {lim.max_columns} 列"
        if max_row > lim.max_rows:
            return f"有单元格位于第 {max_row} 行，超过上限 {lim.max_rows} 行"
        if max_row * cols > lim.max_cells:
            return f"的数据区域达 {max_row} 行 × {cols} 列，超过上限 {lim.max_cells} 个单元格"
        if cells > lim.max_cells:
            return f"有超过 {lim.max_cells} 个单元格，超过上限"
        return None

    def _check_dimension(self, m: re.Match) -> None:
        c1, r1, c2, r2 = m.groups()
        if c2 is None:
            c2, r2 = c1, r1
        if not c2 or not r2:
            return
        lim = self.limits
        cols = column_number(c2.decode()) - column_number((c1 or b"A").decode()) + 1
        rows = int(r2) - int(r1 or b"1") + 1
        if cols > lim.max_columns:
            self.refuse(f"声明了 {cols} 列，超过上限 {lim.max_columns} 列")
        if rows > lim.max_rows:
            self.refuse(f"声明了 {rows} 行，超过上限 {lim.max_rows} 行")
        # Its area is not refused: <dimension> is the used range, which one stray formatted cell
        # at the bottom inflates to a million rows, and calamine reserves nothing for it (it
        # allocates the rectangle of the cells it keeps, bounded by the scan of every cell).


def _highest_row_kept(data: bytes, rows: list[bytes]) -> int:
    """The highest row number of the chunk's row tags, leaving out rows without a cell calamine
    keeps (a stray formatted cell at row 1048576 made a 50-row export look like 20 million
    cells). Leaving a row out is safe: the cells of rows above this height are each looked at."""
    numbers: list[int] | None = None
    top = max(map(int, filter(None, rows)), default=0)
    while top:
        at = data.rfind(b'<row r="%d"' % top)
        if at == -1 or _EMPTY_ROW.match(data, at) is None:
            return top
        if numbers is None:  # rarely: the bottom row of a sheet, or one cut off at the chunk's end
            numbers = sorted({int(r) for r in rows if r}, reverse=True)
        numbers = [n for n in numbers if n < top]
        top = numbers[0] if numbers else 0
    return 0


_OUTSIDE_CACHE: dict[tuple[int, int], re.Pattern] = {}


def _outside(max_col: int, max_row: int) -> re.Pattern:
    """`<c` followed by anything but ` r="…"` naming a cell within `max_col` × `max_row`."""
    key = (max_col, max_row)
    pattern = _OUTSIDE_CACHE.get(key)
    if pattern is None:
        if len(_OUTSIDE_CACHE) > 256:
            _OUTSIDE_CACHE.clear()
        pattern = re.compile(rb'<c(?! r="(?:' + _letters_at_most(max_col) + rb")(?:" + _number_at_most(max_row) + rb')")[\s>/]')
        _OUTSIDE_CACHE[key] = pattern
    return pattern


def _number_at_most(n: int) -> bytes:
    """A regex for decimal numbers (no leading zero, at most 7 digits) from 1 to n."""
    if n <= 0:
        return rb"(?!)"
    if n >= 9_999_999:
        return rb"[1-9][0-9]{0,6}+"
    s = str(n)
    # Fewer digits (possessive: the closing quote decides, nothing to backtrack), then as many.
    parts = [rb"[1-9][0-9]{0,%d}+" % (len(s) - 2)] if len(s) > 1 else []
    for i, ch in enumerate(s):
        low = 1 if i == 0 else 0
        if int(ch) > low:
            rest = len(s) - i - 1
            parts.append(s[:i].encode() + b"[%d-%d]" % (low, int(ch) - 1) + (rb"[0-9]{%d}" % rest if rest else b""))
    parts.append(s.encode())
    return b"|".join(parts)


def _letters_at_most(n: int) -> bytes:
    """A regex for column letters (one to three) naming a column from 1 to n."""
    if n <= 0:
        return rb"(?!)"
    if n >= 18278:  # ZZZ
        return rb"[A-Z]{1,3}+"
    s = _letters(n)
    parts = [rb"[A-Z]{1,%d}+" % (len(s) - 1)] if len(s) > 1 else []
    for i, ch in enumerate(s):
        if ch != "A":
            rest = len(s) - i - 1
            parts.append(s[:i].encode() + b"[A-%s]" % chr(ord(ch) - 1).encode() + (rb"[A-Z]{%d}" % rest if rest else b""))
    parts.append(s.encode())
    return b"|".join(parts)


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


# --- Excel 97–2003 (.xls, BIFF inside an OLE2 compound file) -------------------------------

_OLE_END = 0xFFFFFFFE
_OLE_FREE = 0xFFFFFFFF
# BIFF records that place a cell by (row, column) in their first four bytes.
_CELL_RECORDS = {0x0006, 0x0201, 0x0203, 0x0204, 0x0205, 0x00D6, 0x00FD, 0x027E, 0x0406}
_MULTI_RECORDS = {0x00BD, 0x00BE}  # MULRK, MULBLANK: row, first column, …, last column (last 2 bytes)
_DIMENSIONS = 0x0200  # first row, last row + 1, first column, last column + 1 (rows 32-bit in BIFF8)


def check_xls(path: Path, limits: LimitSettings) -> None:
    """Bound the cells of every sheet of a BIFF workbook before calamine allocates them.

    BIFF cell records carry 16-bit rows and columns, so one forged record at (65535, 65535)
    in a 6 KB file makes calamine allocate four billion cells and abort the process. The
    workbook stream is found in the OLE2 container and its records walked; nothing else
    is interpreted. A container gaopin cannot follow is left to calamine, which refuses it.
    """
    check_file_size(path, limits)
    stream = _ole_stream(path.read_bytes(), ("Workbook", "Book"))
    if stream is None:
        return
    max_row = max_col = cells = 0
    pos, n = 0, len(stream)
    while pos + 4 <= n:
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = pos + 4
        if body + size > n:
            break  # a record cut off: the stream is damaged, and calamine says so
        if kind == _DIMENSIONS and size in (10, 14):
            # calamine reserves room for the declared range before it reads a cell.
            first_row, rows, first_col, cols = struct.unpack_from("<IIHH" if size == 14 else "<HHHH", stream, body)
            where = f"{path} 的工作表声明了 {rows} 行 × {cols} 列"
            if first_row > rows or first_col > cols:  # calamine subtracts them (and wraps around)
                raise InputError(f"{path} 的工作表声明的区域无效（第 {first_row} 至 {rows} 行，第 {first_col} 至 {cols} 列）", _REFUSE)
            if cols > limits.max_columns or rows > limits.max_rows or rows * cols > limits.max_cells:
                raise InputError(f"{where}，超过上限（{limits.max_rows} 行、{limits.max_columns} 列、{limits.max_cells} 个单元格）", _REFUSE)
            pos = body + size
            continue
        if kind in _CELL_RECORDS and size >= 4:
            row, col = struct.unpack_from("<HH", stream, body)
            last = col
        elif kind in _MULTI_RECORDS and size >= 6:
            row, col = struct.unpack_from("<HH", stream, body)
            last = struct.unpack_from("<H", stream, body + size - 2)[0]
        else:
            pos = body + size
            continue
        cells += 1
        max_row, max_col = max(max_row, row + 1), max(max_col, col + 1, last + 1)
        pos = body + size
    where = f"{path} 的工作表"
    if max_col > limits.max_columns:
        raise InputError(f"{where}有单元格位于第 {max_col} 列，超过上限 {limits.max_columns} 列", _REFUSE)
    if max_row * max_col > limits.max_cells:
        raise InputError(f"{where}的数据区域达 {max_row} 行 × {max_col} 列，超过上限 {limits.max_cells} 个单元格", _REFUSE)


def _ole_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first stream of the compound file named one of `names`, or None if it cannot be followed."""
    if len(data) < 512 or not data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return None
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if not 7 <= shift <= 16 or not 2 <= mini_shift < shift:
        return None
    size, mini_size = 1 << shift, 1 << mini_shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    cutoff, first_minifat, _, first_difat, n_difat = struct.unpack_from("<IIIII", data, 0x38)
    limit = len(data) // size + 1  # no chain can be longer than the file

    def sector(n: int) -> bytes:
        start = (n + 1) * size
        return data[start : start + size]

    # The FAT's own sectors: 109 in the header, the rest in the DIFAT chain.
    fat_sectors = list(struct.unpack_from("<109I", data, 0x4C))
    next_difat, hops = first_difat, 0
    while next_difat not in (_OLE_END, _OLE_FREE) and hops < min(n_difat, limit):
        block = sector(next_difat)
        if len(block) < size:
            return None
        values = struct.unpack(f"<{size // 4}I", block)
        fat_sectors.extend(values[:-1])
        next_difat, hops = values[-1], hops + 1
    fat_bytes = b"".join(sector(s) for s in fat_sectors[:n_fat] if s not in (_OLE_END, _OLE_FREE) and s < limit)
    fat = struct.unpack(f"<{len(fat_bytes) // 4}I", fat_bytes[: len(fat_bytes) // 4 * 4])

    def chain(start: int, table, read) -> bytes | None:
        out, seen, n = [], 0, start
        while n not in (_OLE_END, _OLE_FREE):
            if n >= len(table) or seen > len(table):
                return None  # out of range or a loop
            out.append(read(n))
            n, seen = table[n], seen + 1
        return b"".join(out)

    directory = chain(first_dir, fat, sector)
    if directory is None:
        return None
    entries = []
    for at in range(0, len(directory) - 127, 128):
        entry = directory[at : at + 128]
        name_len = struct.unpack_from("<H", entry, 64)[0]
        name = entry[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        kind = entry[66]
        start, length = struct.unpack_from("<II", entry, 116)
        entries.append((name, kind, start, length))
    if not entries:
        return None
    root_start = entries[0][2]
    for name, kind, start, length in entries:
        if kind != 2 or name not in names:
            continue
        if length >= cutoff:
            stream = chain(start, fat, sector)
        else:
            mini_stream = chain(root_start, fat, sector)
            minifat_bytes = chain(first_minifat, fat, sector)
            if mini_stream is None or minifat_bytes is None:
                return None
            minifat = struct.unpack(f"<{len(minifat_bytes) // 4}I", minifat_bytes[: len(minifat_bytes) // 4 * 4])
            stream = chain(start, minifat, lambda k: mini_stream[k * mini_size : (k + 1) * mini_size])
        return None if stream is None else stream[:length]
    return None
