"""Writing tables for people: CSV that Excel opens, xlsx with text kept as text.

Every file is written to a temporary name beside the target and renamed into place, so
a failed run never leaves a half-written file. Text from tickets is never written as a
formula: in xlsx it is a string cell; in CSV a leading = + - @ (or tab, CR, or their
full-width forms) is escaped with an apostrophe, as OWASP recommends.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from gaopin.errors import InputError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
XLSX_MAX_ROWS = 1_048_575  # one row is the header
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE_ROWS = 500  # column widths are judged from the first rows: measuring all is slow


def csv_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def cell_value(value: Any) -> Any:
    """A value as it should appear in a file: times as text, blanks as None."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value):
        return None  # an empty string is a blank cell, not a text cell holding ""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    return value


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"无法创建输出目录 {path.parent}：{exc.strerror}", "请换一个可写的位置") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"无法在 {path.parent} 中写文件：{exc.strerror or exc}", "请换一个可写的位置") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except PermissionError:
        raise InputError(f"无法写入 {path}（文件可能正在被 Excel/WPS 打开）", "请关闭该文件后重试，或换一个文件名") from None
    except IsADirectoryError:
        raise InputError(f"无法写入 {path}：已有同名的文件夹", "请换一个输出文件名") from None
    except OSError as exc:  # disk full, read-only disk, name too long …
        raise InputError(f"无法写入 {path}：{exc.strerror or exc}", "请换一个可写的位置或文件名") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_csv(frame: pd.DataFrame, path: Path, headers: list[str] | None = None) -> Path:
    """UTF-8 with BOM so that Excel opens it; free text escaped against formulas."""
    headers = headers or [str(c) for c in frame.columns]
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([csv_safe(h) for h in headers])
            for row in frame.itertuples(index=False, name=None):
                out = []
                for v in row:
                    v = cell_value(v)
                    out.append("" if v is None else csv_safe(v) if isinstance(v, str) else v)
                writer.writerow(out)
    return path


@dataclass
class Sheet:
    name: str
    frame: pd.DataFrame
    headers: list[str] | None = None
    row_colors: list[str | None] | None = None  # a background colour per data row
    number_formats: dict[str, str] = field(default_factory=dict)  # column → Excel number format
    title: str | None = None  # a line above the header


def write_xlsx(path: Path, sheets: list[Sheet]) -> Path:
    import xlsxwriter

    for sheet in sheets:
        if len(sheet.frame) > XLSX_MAX_ROWS:
            raise InputError(
                f"“{sheet.name}”有 {len(sheet.frame)} 行，超过 Excel 的行数上限",
                "请改写为 .csv 文件",
            )
    with atomic_path(path) as tmp:
        # Strings stay strings: no formulas, numbers or links made from ticket text.
        # Rows are streamed out as written (constant_memory: a third faster, no table of all
        # strings in memory), through temporary files kept beside the output, not in /tmp.
        wb = xlsxwriter.Workbook(
            str(tmp),
            {
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "constant_memory": True,
                "tmpdir": str(tmp.parent),
            },
        )
        try:
            header_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
            title_fmt = wb.add_format({"bold": True, "font_size": 13})
            color_fmts: dict[str, Any] = {}
            num_fmts: dict[str, Any] = {}
            for sheet in sheets:
                ws = wb.add_worksheet(_sheet_name(sheet.name))
                headers = sheet.headers or [str(c) for c in sheet.frame.columns]
                top = 0
                if sheet.title:
                    ws.write_string(0, 0, sheet.title, title_fmt)
                    top = 1
                widths = [display_width(h) for h in headers]
                for c, h in enumerate(headers):
                    ws.write_string(top, c, h, header_fmt)
                columns = list(sheet.frame.columns)
                for r, row in enumerate(sheet.frame.itertuples(index=False, name=None), start=top + 1):
                    color = sheet.row_colors[r - top - 1] if sheet.row_colors else None
                    row_fmt = None
                    if color:
                        row_fmt = color_fmts.setdefault(color, wb.add_format({"bg_color": color}))
                    for c, v in enumerate(row):
                        v = cell_value(v)
                        fmt = row_fmt
                        nf = sheet.number_formats.get(columns[c])
                        if nf:
                            key = f"{nf}|{color}"
                            if key not in num_fmts:
                                spec = {"num_format": nf}
                                if color:
                                    spec["bg_color"] = color
                                num_fmts[key] = wb.add_format(spec)
                            fmt = num_fmts[key]
                        if v is None:
                            if fmt is not None:
                                ws.write_blank(r, c, None, fmt)
                            continue
                        if isinstance(v, bool):
                            ws.write_string(r, c, "是" if v else "否", fmt)
                        elif isinstance(v, (int, float)):
                            ws.write_number(r, c, v, fmt)
                        else:
                            text = str(v)
                            ws.write_string(r, c, text, fmt)
                            if r <= top + WIDTH_SAMPLE_ROWS:
                                widths[c] = max(widths[c], display_width(text.split("\n")[0][:MAX_COLUMN_WIDTH]))
                            continue
                        if r <= top + WIDTH_SAMPLE_ROWS:
                            widths[c] = max(widths[c], len(str(v)))
                for c, w in enumerate(widths):
                    ws.set_column(c, c, min(MAX_COLUMN_WIDTH, w + 2))
                ws.freeze_panes(top + 1, 0)
                if len(sheet.frame):
                    ws.autofilter(top, 0, top + len(sheet.frame), max(0, len(headers) - 1))
        finally:
            wb.close()
    return path


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:31] or "Sheet1"
