"""A safety check of an xlsx file before any spreadsheet parser sees it.

python-calamine aborts the whole process when a sheet declares an absurd range (it tries
to allocate it), and openpyxl runs out of memory on zip bombs. Both are refused here
from the zip directory and a streaming scan of the sheet XML, in well under a second.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from gaopin.config import LimitSettings
from gaopin.errors import InputError

MB = 1024 * 1024
CHUNK = 1 << 20
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_WIDE_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]{2,3})\d')
_ROW_TAG = re.compile(rb'<(?:\w+:)?row\s[^>]*?r="(\d+)"')
_FAR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="[A-Z]{1,3}(\d{6,})"')
# A formula with no cached value: no <v> at all, or an empty one (<v/>, <v></v>) as openpyxl writes.
_EMPTY_V = rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?"
_FORMULA_NO_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f[^>]*/>)\s*" + _EMPTY_V + rb"\s*</(?:\w+:)?c>"
)
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_REFUSE = "这不像正常导出的工单表；如确是正常文件，可在 gaopin.toml 的 [limits] 中调高上限"


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


@dataclass
class PrecheckResult:
    # Formula cells without a cached value, per worksheet part: they read as empty.
    formulas_without_value: dict[str, int] = field(default_factory=dict)


def check_xlsx(path: Path, limits: LimitSettings) -> PrecheckResult:
    size = path.stat().st_size
    if size > limits.max_file_mb * MB:
        raise InputError(f"{path} 有 {size // MB} MB，超过上限 {limits.max_file_mb} MB", _REFUSE)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{path} 已损坏（压缩包结构不完整）", "请重新导出或重新下载该文件") from None
    result = PrecheckResult()
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_mb * MB:
            raise InputError(
                f"{path} 解压后有 {total // MB} MB（压缩包声明），超过上限 {limits.max_uncompressed_mb} MB",
                _REFUSE,
            )
        for info in infos:
            if info.file_size > MB and info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise InputError(
                    f"{path} 中的 {info.filename} 压缩比为 {info.file_size // max(info.compress_size, 1)}:1，"
                    f"超过上限 {limits.max_ratio}:1（疑似压缩炸弹）",
                    _REFUSE,
                )
        for info in infos:
            name = info.filename
            if not name.endswith(".xml") and not name.endswith(".rels"):
                continue
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                result.formulas_without_value[name] = _scan_sheet(zf, info, path, limits)
            else:
                with zf.open(info) as fh:
                    head = _read_head(fh, path, name)
                if _DTD.search(head):
                    raise InputError(f"{path} 的 {name} 含有 DTD/实体声明（Excel 不会这样写）", _REFUSE)
    return result


def _read_head(fh, path: Path, name: str) -> bytes:
    try:
        return fh.read(4096)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise InputError(f"{path} 已损坏（{name} 无法解压：{exc}）", "请重新导出或重新下载该文件") from None


def _scan_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: LimitSettings) -> int:
    def refuse(what: str) -> None:
        raise InputError(f"{path} 的工作表 {info.filename} {what}", _REFUSE)

    formulas = 0
    max_col = 26  # single-letter columns are not scanned for: they cannot exceed any limit
    max_row = 1
    seen = 0
    tail = b""
    first = True
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                seen += len(chunk)
                if seen > info.file_size + CHUNK:
                    refuse("解压后比声明的大小还大（压缩包被篡改）")
                data = tail + chunk
                if first:
                    first = False
                    if _DTD.search(data[:4096]):
                        refuse("含有 DTD/实体声明（Excel 不会这样写）")
                    m = _DIMENSION.search(data[:4096])
                    if m:
                        _check_dimension(m, refuse, limits)
                for m in _WIDE_CELL.finditer(data):
                    max_col = max(max_col, column_number(m.group(1).decode()))
                for rx in (_ROW_TAG, _FAR_CELL):
                    for m in rx.finditer(data):
                        max_row = max(max_row, int(m.group(1)))
                if max_col > limits.max_columns:
                    refuse(f"有单元格位于第 {max_col} 列，超过上限 {limits.max_columns} 列")
                if max_row > limits.max_rows:
                    refuse(f"有单元格位于第 {max_row} 行，超过上限 {limits.max_rows} 行")
                if max_row * max_col > limits.max_cells:
                    refuse(f"的数据区域达 {max_row} 行 × {max_col} 列，超过上限 {limits.max_cells} 个单元格")
                # Count only matches that end past the overlap: those inside it were counted before.
                formulas += sum(1 for m in _FORMULA_NO_VALUE.finditer(data) if m.end() > len(tail))
                # Keep a short overlap so that a tag split across chunks is still seen whole.
                tail = data[-64:]
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(f"{path} 已损坏（{info.filename} 无法解压：{exc}）", "请重新导出或重新下载该文件") from None
    return formulas


def _check_dimension(m: re.Match, refuse, limits: LimitSettings) -> None:
    c1, r1, c2, r2 = m.groups()
    if c2 is None:
        c2, r2 = c1, r1
    if not c2 or not r2:
        return
    cols = column_number(c2.decode()) - column_number((c1 or b"A").decode()) + 1
    rows = int(r2) - int(r1 or b"1") + 1
    if cols > limits.max_columns:
        refuse(f"声明了 {cols} 列，超过上限 {limits.max_columns} 列")
    if rows > limits.max_rows:
        refuse(f"声明了 {rows} 行，超过上限 {limits.max_rows} 行")
    if rows * cols > limits.max_cells:
        refuse(f"声明了 {rows * cols} 个单元格，超过上限 {limits.max_cells}")
