"""Fixture builders: real xlsx/csv files written into a test's tmp_path.

Nothing here is clever on purpose: each builder writes exactly the cells it is given,
so that a test reads like the export it stands for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from collections import Counter
from typing import Any, Iterable, Sequence

import openpyxl
import pandas as pd

from gaopin.config import Settings, _build
from gaopin.io.dates import DTYPE
from gaopin.io.load import FILE_COL, ROW_COL, LoadResult
from gaopin.schema import CANONICAL_COLUMNS, DISPATCH_CLASS, dispatch_class

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


# --- canonical tables built in code (rules, ledger and report tests) ---

DATETIMES = ("received_at", "closed_at")


def tickets(rows: list[dict], fields: set[str] | None = None) -> LoadResult:
    """A LoadResult as the loader would give for these rows.

    `fields` are the columns the "export" had; by default every key used in any row.
    Missing values are blank; ids default to T0001, T0002, ….
    """
    rows = [dict(r) for r in rows]
    for i, r in enumerate(rows, start=1):
        r.setdefault("ticket_id", f"T{i:04d}")
    present = set(fields) if fields is not None else {k for r in rows for k in r}
    present |= {"ticket_id", "received_at"}
    if "dispatch" in present:
        present.add(DISPATCH_CLASS)
    data = {}
    for name in CANONICAL_COLUMNS:
        values = [r.get(name) for r in rows]
        if name == DISPATCH_CLASS:
            values = [dispatch_class(r["dispatch"]) or None if r.get("dispatch") else None for r in rows]
        if name in DATETIMES:
            data[name] = pd.Series(pd.to_datetime(values), dtype=DTYPE) if rows else pd.Series([], dtype=DTYPE)
        else:
            data[name] = pd.Series(values, dtype="str")
    frame = pd.DataFrame(data)
    frame[FILE_COL] = 0
    frame[ROW_COL] = range(2, len(rows) + 2)
    return LoadResult(frame=frame, sources=[], counts=Counter(), fields=frozenset(present))


def at(day: str, minute: int = 0) -> str:
    """`2024-08-03` plus minutes after 09:00, as the loader's text form."""
    h, m = divmod(9 * 60 + minute, 60)
    return f"{day} {h:02d}:{m:02d}:00"


def caller_tickets(prefix, phone, name, days, point="京铁和园12号楼", start=dt.date(2024, 8, 1), category="商业服务->快递物流->投递服务"):
    """One caller's tickets at a point, one a day on the given day offsets from `start`."""
    return [
        {
            "ticket_id": f"{prefix}{i:03d}",
            "received_at": at((start + dt.timedelta(days=d)).isoformat()),
            "caller_phone": phone,
            "caller_name": name,
            "address": point,
            "category": category,
            "community": "京铁社区",
        }
        for i, d in enumerate(days)
    ]


def store_with(path, *batches, now=None):
    """A real SQLite store at `path` holding the given batches of rows, imported in order."""
    from datetime import datetime

    from gaopin.store import Store

    store = Store(path)
    for i, rows in enumerate(batches):
        store.import_result(tickets(rows), f"batch{i}.xlsx", f"sha{i}-{len(rows)}", now or datetime(2024, 1, 1))
    # As `gaopin import` leaves it: the reads of the tests built on it are served by the copy.
    store.keep_copy_current()
    return store


def store_at_version(path, version: int) -> Path:
    """An empty store file with the schema of an older version (for migration tests)."""
    import sqlite3

    from gaopin.store.db import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:version]:
        migration(conn)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    return Path(path)


def halves_rows() -> list[dict]:
    """July and August 2024 whose figures end in an exact half at the shown digit, where Python's
    `f"{v:.1f}"` (half to even, on the binary value) and the workbook (half away from zero) part:
    August 响应率 0.9875, 解决率 0.975, 满意率 (76 + 0.9 × 2) / 80 = 0.9725, 综合成绩 97.525, one
    community that lost 2.475; July 满意率 0.975, so 满意率 changed by −0.25 个百分点."""

    def row(day: int, month: int, contacted: bool = True, resolved: bool = True, satisfied: str = "满意") -> dict:
        return {
            "received_at": at(f"2024-{month:02d}-{1 + day % 28:02d}"), "community": "恰海社区", "unit": "物业办",
            "category": "住房->物业->维修", "street": "新村街道", "dispatch": "市级派单", "valid_callback": "是",
            "contacted": "是" if contacted else "否", "resolved": "是" if resolved else "否", "satisfied": satisfied,
        }

    august = [row(i, 8, i < 79, i < 78, "满意" if i < 76 else "基本满意" if i < 78 else "不满意") for i in range(80)]
    july = [row(i, 7, True, i < 39, "满意" if i < 39 else "不满意") for i in range(40)]
    return july + august


# Another process, always: SQLite's locks are per process, and the store's bulk writes use a
# second copy of SQLite (the ADBC driver's), which a lock taken in the test's process would not stop.
_HOLD = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.readline()"
_TRY = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
    "try:\n    c.execute('BEGIN IMMEDIATE'); print('free')\nexcept sqlite3.OperationalError:\n    print('locked')"
)


def write_lock_free(path) -> bool:
    """Whether another process could take the store's write lock right now (without waiting)."""
    import subprocess
    import sys

    answer = subprocess.run([sys.executable, "-c", _TRY, str(path)], capture_output=True, text=True, check=True, timeout=60)
    return answer.stdout.strip() == "free"


class write_lock_held:
    """Another process holds the store's write lock (BEGIN IMMEDIATE) until the block ends."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        import subprocess
        import sys

        self.holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(self.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.holder.stdout.readline().strip() == "held"
        return self

    def __exit__(self, *exc):
        self.holder.communicate("\n", timeout=60)


def damaged_store(folder) -> Path:
    """A store of 3000 tickets (`bad.db` in `folder`) with a page of the tickets table overwritten."""
    import sqlite3

    from gaopin.store.copy import copy_path
    from gaopin.store.db import PAGE_SIZE

    path = Path(folder) / "bad.db"
    rows = [{"ticket_id": f"T{i:05d}", "received_at": at("2024-08-03"), "caller_phone": f"138{i:08d}", "title": f"事项{i}" + ("MARKER" if i == 1500 else "")} for i in range(3000)]
    store_with(path, rows).close()
    # SQLite's own reads meet the damage: a current columnar copy would serve them (gaopin.store.copy).
    copy_path(path).unlink()
    data = bytearray(path.read_bytes())
    page = data.index("事项1500MARKER".encode()) // PAGE_SIZE  # a leaf page of the tickets table
    data[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] = bytes(range(256)) * (PAGE_SIZE // 256)
    path.write_bytes(bytes(data))
    try:
        sqlite3.connect(path).execute("SELECT count(title) FROM tickets").fetchone()
    except sqlite3.DatabaseError:
        return path  # damaged indeed
    raise AssertionError("the page overwritten was not the tickets'")


@contextlib.contextmanager
def held_by_another_process(path, lock: str):
    """The store locked (`BEGIN IMMEDIATE` or `EXCLUSIVE`) by another process while the block runs."""
    import subprocess
    import sys

    script = f"import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN {lock}'); print('held', flush=True); sys.stdin.readline()"
    holder = subprocess.Popen([sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("\n", timeout=30)
