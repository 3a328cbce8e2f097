"""Writing tables for people: CSV that Excel opens, xlsx with text kept as text (and the
default gaopin.toml).

Every file is written in a hidden staging folder beside the target (the same disk: /tmp may
be small) and renamed into place, so a failed run never leaves a half-written file. The folder,
with every temporary file of the write, goes on success, on error and on Ctrl-C/SIGTERM; one
left by a killed process is removed by a later write into the same folder (`sweep_staging`).

Text from tickets is never written as a formula: in xlsx it is a string cell; in CSV a leading
= + - @ (or tab, CR, or their full-width forms) is escaped with an apostrophe, as OWASP recommends.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from gaopin.config import render_default_toml
from gaopin.errors import ConfigError, InputError, os_reason, UsageError
from gaopin.processes import host_name, process_alive

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
XLSX_MAX_ROWS = 1_048_575  # one row is the header


def cells_over_xlsx_limit(frame: pd.DataFrame) -> int:
    """How many texts of `frame` a workbook would cut (io/xlsx.MAX_TEXT_UNITS, counted in UTF-16
    units as Excel counts them: a character outside the basic plane, rare CJK or emoji, is two)."""
    from gaopin.io.xlsx import MAX_TEXT_UNITS

    cut = 0
    for c in frame.columns:
        if not pd.api.types.is_string_dtype(frame[c]):
            continue
        long = frame[c][frame[c].str.len().gt(MAX_TEXT_UNITS // 2).fillna(False).to_numpy(dtype=bool)]
        cut += sum(len(v.encode("utf-16-le", "surrogatepass")) // 2 > MAX_TEXT_UNITS for v in long.tolist())
    return cut


# The creation time written into every workbook's properties: fixed, so that the same content
# gives the same bytes (the clock's time would make them differ; the file system keeps the real one).
XLSX_CREATED = datetime(2000, 1, 1)
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


def refuse_input_as_output(output: Path, inputs: Iterable[str | os.PathLike[str]]) -> None:
    """An output file that is one of the input files is refused before anything is read:
    writing it would replace the export (with `clean`, its phones masked for good)."""
    for source in inputs:
        try:
            same = os.path.samefile(output, source)
        except OSError:  # either does not exist (yet): not the same file
            continue
        if same:
            raise UsageError(f"输出文件 {output} 就是输入的导出文件，写出会覆盖它", "请给 --output 换一个文件名")


def _make_parent(path: Path) -> None:
    """Create the folder `path` is to be written in."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"无法创建输出目录 {path.parent}：路径中有同名的文件", "请换一个位置") from None
    except OSError as exc:
        raise InputError(f"无法创建输出目录 {path.parent}：{os_reason(exc)}", "请换一个可写的位置") from None


# A staging folder is named after the computer and the process that made it
# (.gaopin-tmp.<host>.<pid>.<random>): a later run can tell one left by a killed process
# from one still being written, here or by another computer sharing the folder.
STAGING_PREFIX = ".gaopin-tmp"
_STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + r"\.([A-Za-z0-9-]+)\.([0-9]+)\.[a-z0-9_]+")


def sweep_staging(folder: Path) -> None:
    """Remove the staging folders in `folder` whose process (on this computer) has died: what a
    run killed outright (kill -9, a power cut) left. Those of running processes stay."""
    host = host_name()
    try:
        with os.scandir(folder) as entries:
            found = [entry.name for entry in entries if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False)]
    except OSError:  # an unreadable folder: the write itself will say what is wrong
        return
    for name in found:
        owner = _STAGING_NAME.fullmatch(name)
        if owner and owner[1] == host and not process_alive(int(owner[2])):
            shutil.rmtree(folder / name, ignore_errors=True)


def staging_dir(path: Path) -> Path:
    """A new hidden folder beside `path` (its folder created), to be renamed onto it when full
    or to hold the temporary files of writing it; those killed runs left there are removed first."""
    _make_parent(path)
    sweep_staging(path.parent)
    try:
        return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}.{host_name()}.{os.getpid()}.", dir=path.parent))
    except OSError as exc:
        raise _cannot_write_in(path.parent, exc) from None


def _cannot_write_in(folder: Path, exc: OSError) -> InputError:
    return InputError(f"无法在 {folder} 中写文件：{os_reason(exc)}", "请换一个可写的位置")


def _folder_in_the_way(path: Path) -> InputError:
    return InputError(f"无法写入 {path}：已有同名的文件夹", "请换一个输出文件名")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path (an empty file, 0600) in a staging folder beside `path`, renamed onto it
    only if the block succeeds. The block may put other temporary files beside it: the folder
    is removed however the block ends."""
    path = Path(path)
    if path.is_dir():  # refused before anything is written
        raise _folder_in_the_way(path)
    staging = staging_dir(path)
    tmp_path = staging / path.name
    try:
        try:
            # 0600 whatever the umask: only the owner reads what is written (docs/security.md).
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise _cannot_write_in(path.parent, exc) from None
        yield tmp_path
        os.replace(tmp_path, path)
    except PermissionError:
        raise InputError(f"无法写入 {path}（文件可能正在被 Excel/WPS 打开）", "请关闭该文件后重试，或换一个文件名") from None
    except IsADirectoryError:
        raise _folder_in_the_way(path) from None
    except OSError as exc:  # disk full, read-only disk, name too long …
        raise InputError(f"无法写入 {path}：{os_reason(exc)}", "请换一个可写的位置或文件名") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_default_config(path: Path, force: bool = False) -> Path:
    """The commented default gaopin.toml (`gaopin init`); an existing file only with force."""
    path = Path(path)
    with atomic_path(path) as tmp:  # a folder at `path` is refused first
        if path.exists() and not force:
            raise ConfigError(f"{path} 已存在，没有覆盖", "如确需覆盖，请加 --force")
        tmp.write_text(render_default_toml(), encoding="utf-8")
    return path


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
    """The sheets as one workbook (io/xlsx.py): text as text, never a formula, a number or a link."""
    from gaopin.io import xlsx

    for sheet in sheets:
        if len(sheet.frame) > XLSX_MAX_ROWS:
            raise InputError(
                f"“{sheet.name}”有 {len(sheet.frame)} 行，超过 Excel 的行数上限",
                "请改写为 .csv 文件",
            )
        if sheet.row_colors is not None and len(sheet.row_colors) != len(sheet.frame):
            # A caller's mistake; rows would otherwise be lost without a word.
            raise ValueError(f"sheet {sheet.name!r}: {len(sheet.row_colors)} row colours for {len(sheet.frame)} rows")
    data = []
    names: set[str] = set()
    for sheet in sheets:
        headers = sheet.headers or [str(c) for c in sheet.frame.columns]
        columns = []
        widths = [display_width(h) for h in headers]
        for c, name in enumerate(sheet.frame.columns):
            values, kind = _column_cells(sheet.frame.iloc[:, c])
            columns.append(xlsx.Column(values, kind, sheet.number_formats.get(name)))
            for v in values[:WIDTH_SAMPLE_ROWS]:
                if v is not None and c < len(widths):
                    widths[c] = max(widths[c], _cell_width(v))
        data.append(
            xlsx.SheetData(
                _unique(_sheet_name(sheet.name), names), headers, columns, [min(MAX_COLUMN_WIDTH, w + 2) for w in widths], sheet.title, sheet.row_colors
            )
        )
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        xlsx.write_workbook(fh, data, XLSX_CREATED.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return path


def _unique(name: str, taken: set[str]) -> str:
    """A sheet name not yet in `taken` (Excel compares them without case); added to it."""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = name[: 31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _column_cells(column: pd.Series) -> tuple[list[Any], str]:
    """A column's cells as `cell_value` gives them, converted column-wise where the dtype allows,
    and how they are written: "text", "number" or "any" (decided per cell)."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return [v if isinstance(v, str) and v else None for v in column.tolist()], "text"
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return column.tolist(), "number"
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return [v if math.isfinite(v) else None for v in column.tolist()], "number"
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return column.dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(column.notna(), None).tolist(), "text"
    return [cell_value(v) for v in column], "any"


def _cell_width(value: Any) -> int:
    if isinstance(value, (bool, int, float)):
        return len(str(value))
    return display_width(str(value).split("\n")[0][:MAX_COLUMN_WIDTH])


def _sheet_name(name: str) -> str:
    """A name Excel accepts: none of []:*?/\\, at most 31 characters, no apostrophe at either end."""
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    name = name[:31]
    if name[:1] == "'":
        name = "_" + name[1:]
    if name[-1:] == "'":
        name = name[:-1] + "_"
    return name or "Sheet1"
