"""Small ticket tables built in code for rule, ledger and report tests."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from gaopin.io.dates import DTYPE
from gaopin.io.load import FILE_COL, ROW_COL, LoadResult
from gaopin.schema import CANONICAL_COLUMNS, DISPATCH_CLASS, dispatch_class

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


def store_with(path, *batches, now=None):
    """A real SQLite store at `path` holding the given batches of rows, imported in order."""
    from datetime import datetime

    from gaopin.store import Store

    store = Store(path)
    for i, rows in enumerate(batches):
        store.import_result(tickets(rows), f"batch{i}.xlsx", f"sha{i}-{len(rows)}", now or datetime(2024, 1, 1))
    return store
