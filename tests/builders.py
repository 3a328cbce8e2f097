"""Fixture builders: real xlsx/csv files written into a test's tmp_path.

Nothing here is clever on purpose: each builder writes exactly the cells it is given,
so that a test reads like the export it stands for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Sequence

import openpyxl

from gaopin.config import Settings, _build

Row = Sequence[Any]

# A small export in the common dialect (受理时间/来电号码/诉求地址/问题分类).
STANDARD_HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "问题分类", "是否解决", "是否满意", "派单方式"]


def settings(**sections: Any) -> Settings:
    """Settings built exactly as from a gaopin.toml holding `sections` (validated the same way)."""
    return _build(Settings, sections, "", origin="测试配置")


def write_xlsx(
    path: Path,
    rows: Iterable[Row],
    *,
    sheet: str = "Sheet1",
    merge: Sequence[str] = (),
    extra_sheets: dict[str, Iterable[Row]] | None = None,
    text_columns: Sequence[int] = (),
    first_sheet_empty: bool = False,
) -> Path:
    """An xlsx written by openpyxl; `text_columns` (0-based) are stored as text cells ("@")."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if first_sheet_empty:
        ws.title = "空白"
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if c - 1 in text_columns:
                cell.data_type = "s"
                cell.number_format = "@"
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    for rng in merge:
        ws.merge_cells(rng)
    for name, more in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        for row in more:
            other.append(list(row))
    wb.save(path)
    return path


def csv_text(rows: Iterable[Row], sep: str = ",", newline: str = "\r\n") -> str:
    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        if any(ch in text for ch in (sep, '"', "\n", "\r")):
            text = '"' + text.replace('"', '""') + '"'
        return text

    return "".join(sep.join(cell(v) for v in row) + newline for row in rows)


def write_csv(path: Path, rows: Iterable[Row], encoding: str = "utf-8-sig", **kw: Any) -> Path:
    path.write_bytes(csv_text(rows, **kw).encode(encoding))
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path

