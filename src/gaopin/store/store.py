"""The ticket store: tickets with their history, imports, links and exclusions."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.config import APP_NAME, Settings
from gaopin.errors import GaopinError, StoreError, UsageError, os_reason
from gaopin.io.dates import DTYPE
from gaopin.io.load import CHOICE_FIELDS, FILE_COL, ROW_COL, LoadResult, Problem, load, unmapped_columns
from gaopin.periods import Period, default_year
from gaopin.privacy import mask_phone, mask_phones_in_text
from gaopin.rules.persons import Links
from gaopin.schema import CANONICAL_COLUMNS, CHOICE_VALUES, FIELD_BY_NAME, fields_named, is_usable_phone, normalize_phone
from gaopin.io.canonical import arrow, blank_text
from gaopin.store.copy import TIMES, CopyWriter, copy_path, copy_token, new_token, read_copy, remove_copy, stored_times, time_column
from gaopin.store.db import BUSY_TIMEOUT_MS, DB_FILE_NAME, TEXT_FORMAT, TICKET_COLUMNS, damaged_error, is_damaged, open_connection, refuse_unusable_path, remove_if_empty, settle, store_error, transaction

log = logging.getLogger(__name__)
DATETIME_COLUMNS = TIMES
# Below this many tickets a read is not split in two (a thread and a connection cost more).
PARALLEL_READ_ROWS = 100_000


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_FILE_NAME


def db_path(flag: str | os.PathLike[str] | None, settings: Settings) -> Path:
    """--db, else GAOPIN_DB / [store] path (merged into settings), else the user data dir."""
    if flag:
        return Path(flag).expanduser()
    if settings.store.path:
        return settings.resolve_path(settings.store.path)
    return default_db_path()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FileImport:
    file: str
    skipped: bool = False  # same content imported before
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)
    sheet_notes: list[str] = field(default_factory=list)  # a workbook's sheets read and not read
    notes: list[str] = field(default_factory=list)  # what the cells make doubtful (LoadResult.input_notes)
    merged: int = 0  # rows whose ticket id an earlier row of the file had: one ticket with it
    rows: int = 0  # the file's data rows (blank rows not counted), as imports.rows

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "skipped": self.skipped,
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "rejected": len(self.rejected),
            "rejected_rows": [{"file": p.file, "row": p.row, "reason": p.message} for p in self.rejected],
            "sheet_notes": list(self.sheet_notes),
            "notes": list(self.notes),
        }


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical columns as the store keeps them: text, times as YYYY-MM-DD HH:MM:SS."""
    out = frame[list(TICKET_COLUMNS)].copy()
    for name in DATETIME_COLUMNS:
        times = pa.array(out[name], type=pa.timestamp("s"), from_pandas=True)
        # Arrow's cast writes exactly TEXT_FORMAT, and 25 times faster than its strftime.
        out[name] = pd.Series(pd.array(times.cast(pa.string()), dtype="str"), index=out.index)
    return out


# Bytes that a JSON string must not hold as they are (in UTF-8 they are never part of a longer character).
_JSON_SPECIAL = np.zeros(256, dtype=bool)
_JSON_SPECIAL[:0x20] = True
_JSON_SPECIAL[[ord('"'), ord("\\")]] = True


def _may_need_escape(values: pa.ChunkedArray) -> bool:
    """False when no value holds a quote, backslash or control character (one pass over the bytes)."""
    for chunk in values.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and _JSON_SPECIAL[np.frombuffer(data, dtype=np.uint8)].any():
            return True
    return False


def _json_escape(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Quote, backslash, \\n, \\r and \\t escaped; other control characters become spaces."""
    if not _may_need_escape(values):
        return values
    for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        values = pc.replace_substring(values, old, new)
    return pc.replace_substring_regex(values, r"[\x00-\x1f]", " ")


def _merged_extra(old: pa.ChunkedArray, inc: pa.ChunkedArray) -> pa.ChunkedArray:
    """A later export's unmapped columns added to those a ticket kept from earlier ones: its
    values win, and a column it lacks keeps the earlier value, as a blank never erases a mapped
    field (a callback export without 工单状态 wiped it, and a [filters] rule on it with it).
    Only where both hold different objects is JSON parsed; written as `_extra_json` writes it."""
    old, inc = old.combine_chunks(), inc.combine_chunks()
    both = pc.fill_null(pc.and_(pc.and_(pc.is_valid(old), pc.is_valid(inc)), pc.not_equal(old, inc)), False)
    rows = np.flatnonzero(both.to_numpy(zero_copy_only=False))
    if not len(rows):
        return inc
    merged = []
    for before, after in zip(pc.take(old, rows).to_pylist(), pc.take(inc, rows).to_pylist()):
        try:
            merged.append(json.dumps({**json.loads(before), **json.loads(after)}, ensure_ascii=False, separators=(",", ":")))
        except (ValueError, TypeError):  # an unreadable earlier object: the later one as it is
            merged.append(after)
    return pc.replace_with_mask(inc, both, pa.array(merged, inc.type))


def _join(*parts: pa.ChunkedArray | str, sep: str = "") -> pa.ChunkedArray:
    """Element-wise concatenation, null where any part is null; literals take the columns' string type."""
    kind = next(p.type for p in parts if not isinstance(p, str))
    args = [pa.scalar(p, kind) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar(sep, kind))


def _extra_json(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """Unmapped source columns as one JSON object per row (blank cells left out), built by Arrow."""
    out = None
    for name in columns:
        part = _join(json.dumps(name, ensure_ascii=False) + ':"', _json_escape(arrow(frame[name])), '"')  # null where blank
        # Not null_handling="skip": it drops the rows where every input is null (pyarrow 26).
        out = part if out is None else pc.coalesce(_join(out, part, sep=","), out, part)
    if out is None:
        return blank_text(frame.index)
    return pd.Series(pd.array(_join("{", out, "}"), dtype="str"), index=frame.index)


STORED = tuple(TICKET_COLUMNS) + ("extra",)
STAGE_IDS, STAGE_UPDATES = "_stage_ids", "_stage_updates"


def _arrow_text(frame: pd.DataFrame, columns: Iterable[str]) -> pa.Table:
    """The columns as Arrow text with 32-bit offsets where they fit: the SQLite driver inserts
    those about a tenth faster than pandas' 64-bit ones (the cast copies no characters)."""
    out = {}
    for c in columns:
        values = arrow(frame[c])
        try:
            out[c] = values.cast(pa.string())
        except pa.ArrowInvalid:  # a chunk of over 2 GB of text
            out[c] = values
    return pa.table(out)


def _ticket_table(text: pd.DataFrame, import_id: int) -> pa.Table:
    """New tickets (as `_text_frame` and the extra JSON make them) as the rows of the tickets table."""
    table = _arrow_text(text, STORED)
    numbers = pa.array(np.full(len(text), import_id, dtype="int64"))
    return table.append_column("first_import", numbers).append_column("last_import", numbers)


class _Writeback:
    """Has the OS write the store's file to disk while an import goes on: once SQLite has
    written a part's tickets, this thread flushes the file, so that the commit's own sync
    (which durability needs, and which still runs) no longer writes the whole import at the
    end (a district year: 600 MB, 0.26 s of the import's 5 s). It changes nothing in the file:
    SQLite's writes and their order are its own. Where a read-only handle cannot be flushed
    (Windows), it stops at the first attempt."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._wanted = threading.Event()
        self._done = False
        try:
            threading.Thread(target=self._run, name="gaopin-writeback", daemon=True).start()
        except RuntimeError:  # no thread to be had: no flushing, and no file left open
            os.close(self._fd)
            raise

    def poke(self) -> None:
        """What SQLite wrote so far is to be flushed (flushes asked for meanwhile are one)."""
        self._wanted.set()

    def close(self) -> None:
        """No more flushes: the thread ends after the one it may be doing, and closes the file.
        Not waited for: the commit that follows syncs whatever is left."""
        self._done = True
        self._wanted.set()

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._done:
                    return
                sync(self._fd)
        except OSError:
            return
        finally:
            os.close(self._fd)


class _PartInserter:
    """Inserts the parts of an import's tickets in a thread of its own, in order, while the
    caller makes the next part (SQLite's insert leaves the GIL). The caller must not use the
    cursor until `finish` or `stop` has returned.

    `start` runs on the caller's thread with the first part that has tickets: it opens the
    write transaction and gives the import's id, or None when the store has tickets after all
    (another import got in first); the parts are then left to the caller's one insert."""

    def __init__(self, cur: Any, start: Callable[[], int | None], path: Path | None = None, token: str | None = None):
        self.cur, self.start = cur, start
        self.path = path  # the store's file, flushed as the parts go in (`_Writeback`)
        self.writeback: _Writeback | None = None
        # The parts are all the store's tickets, in their order: the columnar copy is written
        # beside them for `token` (the import's), as they go in.
        self.token = token
        self.copy: CopyWriter | None = None
        self.import_id: int | None = None
        self.declined = False
        self.rows = 0
        self.error: BaseException | None = None
        # One part waiting while one is inserted: a part of 1M rows' file is about 100 MB of text.
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        # Set by the thread as it ends. Not Thread.join/is_alive: a Ctrl-C inside join() marks
        # a running thread as ended in Python 3.11 (the cursor was then rolled back under the
        # insert: a segmentation fault).
        self.ended = threading.Event()

    def add(self, frame: pd.DataFrame) -> None:
        """The loader's sink: one finished part of the file's tickets."""
        if self.error is not None:
            raise self.error
        if self.declined or not len(frame):  # not ours to insert; or every row of it was rejected
            return
        if self.thread is None:
            self.import_id = self.start()
            if self.import_id is None:
                self.declined = True
                return
            if self.path is not None:
                try:
                    self.writeback = _Writeback(self.path)
                except (OSError, RuntimeError):  # only a speed-up: the commit syncs the file either way
                    pass
                if self.token is not None:
                    try:
                        self.copy = CopyWriter(self.path, self.token)
                    except (OSError, RuntimeError):  # only a speed-up too: reads go to SQLite
                        pass
            self.thread = threading.Thread(target=self._run, name="gaopin-insert", daemon=True)
            self.thread.start()
        text = _text_frame(frame)
        text["extra"] = _extra_json(frame, unmapped_columns(frame))
        table = _ticket_table(text, self.import_id)
        if self.copy is not None:
            self.copy.add(table)
        self.queue.put(table)
        self.rows += len(frame)

    def _run(self) -> None:
        try:
            while (table := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self.cur.adbc_ingest("tickets", table, mode="append")
                        if self.writeback is not None:
                            self.writeback.poke()
                    except BaseException as exc:  # handed to the caller's thread
                        self.error = exc
        finally:
            if self.writeback is not None:
                self.writeback.close()
            self.ended.set()

    def finish(self) -> None:
        """Wait for the last part; raise what went wrong in the insert."""
        if self.thread is not None:
            try:
                self.queue.put(None)
                self.ended.wait()
            except BaseException:  # Ctrl-C while waiting
                self.stop()
                raise
            self.thread = None
        if self.error is not None:
            raise self.error

    def publish_copy(self) -> None:
        """The import is committed: its copy goes in place."""
        if self.copy is not None:
            self.copy.publish()
            self.copy = None

    def discard_copy(self) -> None:
        if self.copy is not None:
            self.copy.discard()
            self.copy = None

    def stop(self) -> None:
        """Something failed: let the part being inserted end and drop the rest (the caller then
        rolls the transaction back). Waits through further Ctrl-Cs: the cursor must not be
        rolled back under the thread, which ends within one part's insert."""
        while True:
            try:
                self.error = self.error or _Stopped()
                while self.thread is not None and not self.ended.is_set():
                    while True:
                        try:
                            self.queue.get_nowait()
                        except queue.Empty:
                            break
                    try:
                        self.queue.put_nowait(None)
                    except queue.Full:
                        pass
                    self.ended.wait(0.05)
                self.thread = None
                return
            except KeyboardInterrupt:
                continue


# The SQLite driver takes each column's type from the first batch of a result, 1024 rows by
# default: a column empty in the first 1024 rows was read as int64, and the first text after them
# failed the whole read ("Type mismatch"): every command reading such a store ended with an
# internal error (a first export without 派单方式, a ledger with 1025 entries and one assigned).
# One batch for the whole result, whose types are those of all its rows; it is also faster and
# smaller (1M tickets: 1.4 s and 730 MB, against 1.7 s and 886 MB in batches of 1024).
_ONE_BATCH = {"adbc.sqlite.query.batch_rows": str(2**30)}  # (2**31 - 1 is refused)


def _cursor(conn: Any) -> Any:
    """A cursor of an ADBC connection whose results come in one batch (see _ONE_BATCH)."""
    cur = conn.cursor()
    cur.adbc_statement.set_options(**_ONE_BATCH)
    return cur


def _direct_call(func: Callable[..., Any], args: tuple, kwargs: dict, cancel: Callable[[], Any]) -> Any:
    return func(*args, **kwargs)


@functools.cache
def _ctrl_c_to_python() -> None:
    """While a call into the ADBC driver runs in the main thread, the driver manager puts its own
    SIGINT handler in Python's place, to ask the driver to cancel. The SQLite driver cannot
    cancel, and a Ctrl-C near the end of a call is lost (its handler's thread has not run when
    the call ends and Python's handler is put back): the import then ran to its end with exit 0,
    about 1 in 40 times in a loop of short queries. Calls go straight through instead, as the
    driver manager does on Windows; Python's handler raises KeyboardInterrupt when the call ends."""
    import adbc_driver_manager.dbapi as dbapi

    if callable(getattr(dbapi, "_blocking_call", None)):
        dbapi._blocking_call = _direct_call


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C during a call into the ADBC driver, if the driver manager's own SIGINT handler got it
    (a version of the driver manager `_ctrl_c_to_python` does not know): it asks the driver to
    cancel, which the SQLite driver does not support, and its NotSupportedError comes instead of
    the KeyboardInterrupt, caused by the interrupt (or as the cause of the call's own error)."""
    from adbc_driver_manager import NotSupportedError

    cause = exc.__cause__
    return isinstance(cause, NotSupportedError) or (isinstance(exc, NotSupportedError) and isinstance(cause, KeyboardInterrupt))


class _Seen(Exception):
    """The same content was imported by another run while this one read the file."""


class _Stopped(Exception):
    """The parts still queued when an import failed are not inserted."""


class BulkWriter:
    """One transaction on the store's ADBC connection, with the sqlite3-style calls the ledger
    uses, plus `ingest` of whole Arrow tables."""

    def __init__(self, cursor: Any):
        self.cursor = cursor

    def execute(self, sql: str, params: Iterable = ()) -> "BulkWriter":
        params = tuple(params)
        self.cursor.execute(sql, parameters=params or None)
        return self

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self.cursor.fetchall()]

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())

    def executemany(self, sql: str, rows: Iterable[tuple]) -> None:
        rows = list(rows)
        if rows:
            self.cursor.executemany(sql, rows)

    def ingest(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            self.cursor.adbc_ingest(table, data, mode="append")

    def arrow(self, sql: str, params: tuple = ()) -> pa.Table:
        self.cursor.execute(sql, parameters=params or None)
        return self.cursor.fetch_arrow_table()


class Store:
    def __init__(self, path: Path, create: bool = True, provisional: bool = False):
        """`provisional`: a store this creates may be removed again (see db.NEW_STORE_ID)."""
        self.path = Path(path)
        self.conn, self.created = open_connection(self.path, create=create, provisional=provisional)
        self._adbc = None

    def close(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
        # What SQLite says of a full disk or a damaged file, wherever in the run it was read or
        # written, is told as the store's error (transactions already do so for their writes).
        if exc is not None and not isinstance(exc, GaopinError):
            if _interrupted(exc):
                raise KeyboardInterrupt from None
            error = store_error(exc, self.path)
            if error is not None:
                raise error from None

    # --- bulk access ------------------------------------------------------------------
    # Large reads and writes go through ADBC, which moves Arrow columns in and out of SQLite
    # several times faster than row tuples through the sqlite3 module (docs/performance.md).

    def _adbc_connection(self):
        import adbc_driver_sqlite.dbapi as adbc

        _ctrl_c_to_python()
        conn = adbc.connect(str(self.path))
        cur = conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.fetchall()
        cur.close()
        return conn

    def _bulk(self):
        if self._adbc is None:
            self._adbc = self._adbc_connection()
            cur = self._adbc.cursor()
            # Cells that page splits move must not leave stale copies of callers' data behind
            # (the system SQLite of many builds has this on; the driver's own SQLite does not).
            cur.execute("PRAGMA secure_delete = ON")
            cur.fetchall()
            # synchronous is FULL by default in the driver's SQLite: commits survive a power cut.
            cur.close()
            self._adbc.commit()
        return self._adbc

    def _read_part(self, sql: str, parameters: tuple) -> pa.Table:
        """One query on a connection of its own (closed after): for reads side by side."""
        conn = self._adbc_connection()
        try:
            cur = _cursor(conn)
            cur.execute(sql, parameters=parameters or None)
            return cur.fetch_arrow_table()
        finally:
            conn.close()

    def tickets_token(self) -> str | None:
        """The tickets' state: replaced by every transaction that changes them (`_set_tickets_token`)."""
        row = self.conn.execute("SELECT token FROM tickets_state WHERE id = 1").fetchone()
        return row[0] if row else None

    def keep_copy_current(self) -> None:
        """The columnar copy brought up to the tickets, when it is not (after an import that
        merged into stored tickets, or a purge): read from SQLite once and written whole.

        Only a speed-up, run after the work it follows is committed: where the copy cannot be
        made (a full disk, the store locked by another run for longer than a writer waits, too
        little memory), that work is not reported as failed, and reads go to SQLite."""
        try:
            token = self.tickets_token()
            if token is None or copy_token(self.path) == token:
                return
            table = self.read_tickets_arrow(", ".join(TICKET_COLUMNS))
            # No transaction changed the tickets while they were read: they are the token's.
            if self.tickets_token() != token:
                return
            writer = CopyWriter(self.path, token)
        except Exception:
            log.debug("no columnar copy of the tickets", exc_info=True)
            return
        try:
            writer.add(table)
        except BaseException:
            writer.discard()
            raise
        writer.publish()

    def _ticket_columns(self, wanted: list[str], until: date | None) -> pa.Table:
        """`wanted` columns of the tickets received by `until` (and those without a time), in the
        store's order: from the columnar copy when it is the tickets' (with the times of those
        wanted parsed, as `time_column`s), else from SQLite."""
        after = date.fromordinal(until.toordinal() + 1).isoformat() if until is not None else None
        copy = read_copy(self.path, self.tickets_token(), [*wanted, *(time_column(name) for name in TIMES if name in wanted)])
        if copy is None:
            where, params = ("received_at IS NULL OR received_at < ?", (after,)) if after else ("", ())
            return self.read_tickets_arrow(", ".join(wanted), where, params)
        table = copy
        if after is not None:
            received = copy.column("received_at")
            # As SQLite compares text: byte by byte (the times are YYYY-MM-DD HH:MM:SS).
            keep = pc.or_(pc.is_null(received), pc.fill_null(pc.less(received, pa.scalar(after, pa.string())), False))
            if not pc.all(keep).as_py():
                table = table.filter(keep)
        return table

    def read_tickets_arrow(self, columns: str, where: str = "", parameters: tuple = ()) -> pa.Table:
        """`SELECT columns FROM tickets [WHERE where] ORDER BY rowid` (text columns), as two halves of the
        rowid range on two connections side by side (SQLite's reading is most of the time and
        both cores are free: 0.9 s -> 0.45 s for 1M tickets).

        The halves are two read transactions: if another connection committed while they ran
        (PRAGMA data_version changes), they may not fit together, and the whole is read again
        in one transaction."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        # One subquery each: SQLite finds a lone min() or max() at the end of the table, but
        # scans the whole of it for the two together (58 ms on 1M tickets, against 0.01 ms).
        lo, hi = self.conn.execute("SELECT (SELECT min(rowid) FROM tickets), (SELECT max(rowid) FROM tickets)").fetchone()
        sql = f"SELECT {columns} FROM tickets" + (f" WHERE ({where})" if where else "")
        if lo is None or hi - lo < PARALLEL_READ_ROWS:
            return self.read_arrow(sql + " ORDER BY rowid", parameters)
        split = lo + (hi - lo) // 2
        ranged = sql + (" AND" if where else " WHERE") + " rowid {} ? ORDER BY rowid"
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(self._read_part, ranged.format("<="), (*parameters, split))
            second = pool.submit(self._read_part, ranged.format(">"), (*parameters, split))
            parts = [first.result(), second.result()]
        if self.conn.execute("PRAGMA data_version").fetchone()[0] != version:
            return self.read_arrow(sql + " ORDER BY rowid", parameters)
        # Ticket columns are text; SQLite has no column types, and a half whose column is all
        # NULL comes back as int64.
        schema = pa.schema([(name, pa.string()) for name in parts[0].column_names])
        return pa.concat_tables([part.cast(schema) for part in parts])

    def read_arrow(self, sql: str, parameters: tuple = ()) -> pa.Table:
        cur = _cursor(self._bulk())
        try:
            cur.execute(sql, parameters=parameters or None)
            return cur.fetch_arrow_table()
        finally:
            cur.close()
            self._bulk().commit()  # end the read transaction, release the shared lock

    @contextmanager
    def _bulk_transaction(self, immediate: bool = False) -> Iterator[Any]:
        """`immediate`: the write lock is taken at once (waiting up to BUSY_TIMEOUT_MS for
        another writer), for a transaction that reads before it writes. Otherwise the first
        statement takes the locks it needs; if that is a read, a write after it fails at once
        while another process writes (SQLite does not wait there, to avoid a deadlock)."""
        conn = self._bulk()
        cur = _cursor(conn)
        try:
            try:
                if immediate:
                    # The driver keeps a deferred transaction open between commits: end it.
                    cur.execute("COMMIT")
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
                conn.commit()
            finally:
                cur.close()
        except BaseException as exc:
            self._rollback_bulk()
            if _interrupted(exc):
                raise KeyboardInterrupt from None
            error = store_error(exc, self.path)
            if error is None:
                raise
            raise error from None

    def _rollback_bulk(self) -> None:
        """Roll back the bulk connection's transaction. When SQLite has already rolled it back
        (a full disk) or it never began (BEGIN IMMEDIATE timed out), the driver's ROLLBACK
        fails: the connection is then closed, and the next bulk access opens a fresh one."""
        try:
            self._adbc.rollback()
        except Exception:
            adbc, self._adbc = self._adbc, None
            try:
                adbc.close()
            except Exception:
                pass

    @contextmanager
    def bulk_transaction(self, immediate: bool = False) -> Iterator[BulkWriter]:
        """A write transaction for large changes: all of it is committed, or none of it.
        `immediate`: see `_bulk_transaction`."""
        with self._bulk_transaction(immediate) as cur:
            yield BulkWriter(cur)

    # --- imports ------------------------------------------------------------------

    def has_import(self, sha256: str, sheet: str | None = None) -> bool:
        """Whether this content was imported before, read the same way or more fully (see
        `_seen`); `sheet`: the one sheet this import reads."""
        condition, params = _seen(sha256, sheet)
        return self.conn.execute(f"SELECT 1 FROM imports WHERE {condition} LIMIT 1", params).fetchone() is not None

    def last_import_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM imports").fetchone()[0]

    def imported_since(self, import_id: int, file_name: str) -> bool:
        """Whether an import of `file_name` committed after import `import_id`."""
        return self.conn.execute("SELECT 1 FROM imports WHERE id > ? AND file_name = ? LIMIT 1", (import_id, file_name)).fetchone() is not None

    def has_any_import(self) -> bool:
        return self.conn.execute("SELECT 1 FROM imports LIMIT 1").fetchone() is not None

    def import_result(
        self, result: LoadResult, file_name: str, sha256: str | Callable[[], str], now: datetime, skip_seen: bool = False, one_sheet: bool = False
    ) -> FileImport:
        """Add one loaded export in one transaction: new tickets inserted, changed fields updated
        (a blank never erases a stored value), earlier values kept as history.

        `sha256` may be the function that computes it (over a file of hundreds of MB): it then
        runs in a thread while SQLite inserts, on the core that insert leaves idle.
        `skip_seen`: nothing is stored, and the result says `skipped`, when the store holds an
        import of the same content, as seen with the write lock held (another run's import of
        it may have committed since the caller looked). `one_sheet`: one sheet was asked for
        (`--sheet`), and the sheet read is part of what this import is (`_seen`)."""
        return self._import(lambda sink: result, file_name, sha256, now, may_stream=False, skip_seen=skip_seen, one_sheet=one_sheet)

    def import_file(self, path: Path, settings: Settings, sha256: str | Callable[[], str], now: datetime, skip_seen: bool = False) -> FileImport:
        """Load one export and add it, as `import_result` does with what `load` returns.

        Into a store that holds no tickets yet (the first import, which is also the largest),
        the loader hands them over part by part, and SQLite inserts each part in a thread while
        the next is converted: the insert runs on one core, outside the GIL."""
        one_sheet = bool(settings.load.sheet)
        if self.conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone() is not None:
            # Tickets to merge with: the whole file is loaded before it is compared and stored.
            return self.import_result(load([path], settings, keep_extra=True), path.name, sha256, now, skip_seen, one_sheet)
        return self._import(lambda sink: load([path], settings, keep_extra=True, sink=sink), path.name, sha256, now, may_stream=True, skip_seen=skip_seen, one_sheet=one_sheet)

    def _import(
        self,
        loading: Callable[[Callable[[pd.DataFrame], None] | None], LoadResult],
        file_name: str,
        sha256: str | Callable[[], str],
        now: datetime,
        may_stream: bool,
        skip_seen: bool,
        one_sheet: bool = False,
    ) -> FileImport:
        try:
            return self._import_in(loading, file_name, sha256, now, may_stream, skip_seen, one_sheet)
        except _Seen:  # rolled back: nothing of this import is stored
            return FileImport(file=file_name, skipped=True)

    def _import_in(self, loading, file_name: str, sha256: str | Callable[[], str], now: datetime, may_stream: bool, skip_seen: bool, one_sheet: bool = False) -> FileImport:
        token = new_token()  # the tickets' state this import makes, if it changes them
        parts: _PartInserter | None = None
        try:
            with ThreadPoolExecutor(max_workers=1) as pool, self._bulk_transaction() as cur:
                import_id: int | None = None
                hashing = None

                def begin() -> int:
                    """The import's own row: its first write opens the write transaction."""
                    nonlocal import_id
                    if import_id is None:
                        cur.execute(
                            "INSERT INTO imports (file_name, sha256, imported_at, rows, new, updated, unchanged, rejected) VALUES (?, '', ?, 0, 0, 0, 0, 0)",
                            parameters=(file_name, now.strftime(TEXT_FORMAT)),
                        )
                        cur.execute("SELECT last_insert_rowid()")
                        import_id = int(cur.fetchone()[0])
                    return import_id

                def begin_if_empty() -> int | None:
                    # Looked at with the write lock held: no other process can add tickets before ours.
                    begin()
                    cur.execute("SELECT 1 FROM tickets LIMIT 1")
                    return None if cur.fetchall() else import_id

                def hash_beside() -> None:
                    nonlocal hashing
                    if callable(sha256) and hashing is None:
                        hashing = pool.submit(sha256)

                def digest() -> str:
                    if not callable(sha256):
                        return sha256
                    hash_beside()
                    return hashing.result()

                def seen_before(read: list[str]) -> bool:
                    """An import of the same content other than ours, read the same way or more
                    fully (looked at with the write lock held: none can commit before ours); `read`:
                    the sheets this import of a whole workbook read."""
                    if callable(sha256):  # the store had no import when the caller looked
                        cur.execute("SELECT 1 FROM imports WHERE id <> ? LIMIT 1", parameters=(import_id,))
                        if not cur.fetchall():
                            return False  # still none: the hash is not waited for
                    condition, params = _seen(digest(), sheet)
                    cur.execute(f"SELECT 1 FROM imports WHERE ({condition}) AND id <> ? LIMIT 1", parameters=(*params, import_id))
                    if cur.fetchall():
                        return True
                    if sheet is not None or not read:
                        return False
                    cur.execute("SELECT sha256 FROM imports WHERE sha256 LIKE ? AND id <> ?", parameters=(f"{digest()}|sheet=%", import_id))
                    return _sheets_seen(file_name, read, {key.partition("|sheet=")[2] for (key,) in cur.fetchall()})

                # The transaction opens with the first part, not before the file is read: readers
                # and other writers are kept out only while tickets go in.
                parts = _PartInserter(cur, begin_if_empty, self.path, token) if may_stream else None
                try:
                    result = loading(parts.add if parts is not None else None)
                    if parts is not None:
                        # The conversion is done: the file is hashed on the core it leaves idle
                        # while SQLite inserts the last parts.
                        hash_beside()
                        parts.finish()
                except BaseException:
                    if parts is not None:
                        parts.stop()
                    raise
                # The one sheet read, when a sheet was asked for (a CSV has none): part of what this
                # import is, so that a workbook can be imported sheet by sheet.
                sheet = result.sources[0].sheet if one_sheet and len(result.sources) == 1 else None
                import_id = begin()
                # Parts went in only if the store held no ticket with the lock held: then no import
                # of this content (which has these tickets) can be in it.
                if skip_seen and not (parts is not None and parts.rows) and seen_before([s.sheet for s in result.sources if s.sheet is not None]):
                    raise _Seen()
                summary = FileImport(
                    file=file_name, rejected=list(result.rejected), sheet_notes=list(result.sheet_notes), notes=result.input_notes(), merged=result.merged, rows=result.rows_read
                )
                if summary.rows and (empty := result.empty_note()) is not None:
                    # Some sheets of the workbook were empty (an empty file is said by the command).
                    summary.sheet_notes.append(empty)
                if parts is not None and parts.rows:
                    summary.new = parts.rows
                else:
                    self._insert_loaded(cur, pool, result.frame, result.extra_columns, import_id, summary, hash_beside)
                if result.rejected:
                    rejected = pa.table(
                        {
                            "import_id": pa.array([import_id] * len(result.rejected), pa.int64()),
                            "file_row": pa.array([p.row for p in result.rejected], pa.int64()),
                            "value": pa.array([p.value for p in result.rejected], pa.string()),
                            "reason": pa.array([p.message for p in result.rejected], pa.string()),
                        }
                    )
                    cur.adbc_ingest("rejected_rows", rejected, mode="append")
                for name in sorted(result.fields):
                    cur.execute("INSERT OR IGNORE INTO fields (name) VALUES (?)", parameters=(name,))
                if summary.new or summary.updated:
                    _set_tickets_token(cur, token)
                cur.execute(
                    "UPDATE imports SET sha256 = ?, rows = ?, new = ?, updated = ?, unchanged = ?, rejected = ? WHERE id = ?",
                    # Every data row of the file: the tickets, the rows merged into them, the rejected.
                    parameters=(_import_key(digest(), sheet), summary.rows, summary.new, summary.updated, summary.unchanged, len(result.rejected), import_id),
                )
        except BaseException:
            if parts is not None:
                parts.discard_copy()
            raise
        if parts is not None:
            parts.publish_copy()
        return summary

    def _insert_loaded(self, cur, pool: ThreadPoolExecutor, frame: pd.DataFrame, extra_columns: Iterable[str], import_id: int, summary: FileImport, hash_beside: Callable[[], None]) -> None:
        """New tickets inserted, known ones merged field by field."""
        # Both are Arrow's work, outside the GIL: side by side.
        extra = pool.submit(_extra_json, frame, extra_columns)
        text = _text_frame(frame)
        text["extra"] = extra.result()
        cur.execute("SELECT ticket_id FROM tickets")
        known_ids = cur.fetch_arrow_table().column(0)
        known = pc.is_in(arrow(text["ticket_id"]), value_set=known_ids).to_numpy(zero_copy_only=False) if len(known_ids) else np.zeros(len(text), dtype=bool)
        fresh = text[~known]
        summary.new = len(fresh)
        if len(fresh):
            table = _ticket_table(fresh, import_id)
            hash_beside()
            cur.adbc_ingest("tickets", table, mode="append")
        if known.any():
            summary.updated, summary.unchanged = self._merge_known(cur, text[known], import_id)

    def _merge_known(self, cur, incoming: pd.DataFrame, import_id: int) -> tuple[int, int]:
        """Field by field: the later export wins where it has a value; a blank never erases."""
        cur.adbc_ingest(STAGE_IDS, pa.table({"ticket_id": arrow(incoming["ticket_id"])}), mode="replace")
        cols = ", ".join(f"t.{c}" for c in STORED)
        cur.execute(f"SELECT {cols} FROM {STAGE_IDS} s JOIN tickets t ON t.ticket_id = s.ticket_id ORDER BY s.rowid")
        stored = cur.fetch_arrow_table()
        # SQLite has no column types: a column of NULLs comes back as int64; everything is text.
        stored = pa.table({n: stored.column(n).cast(pa.large_string()) for n in STORED})
        cur.execute(f"DROP TABLE {STAGE_IDS}")
        new_values: dict[str, pa.ChunkedArray] = {}
        changed_cols = []
        for name in STORED[1:]:
            inc = arrow(incoming[name]).cast(pa.large_string())
            old = stored.column(name)
            if name == "extra":
                inc = _merged_extra(old, inc)
            # Kleene logic: with a blank stored value not_equal is null, and plain or_ would make
            # "blank before, a value now" null, dropped as unchanged (a call-back result arriving
            # in a later export was never stored).
            differs = pc.and_kleene(pc.is_valid(inc), pc.or_kleene(pc.is_null(old), pc.not_equal(inc, old)))
            differs = pc.fill_null(differs, False).to_numpy(zero_copy_only=False)
            changed_cols.append(differs)
            new_values[name] = pc.if_else(pc.is_valid(inc), inc, old)
        matrix = np.vstack(changed_cols) if changed_cols else np.zeros((0, len(incoming)), dtype=bool)
        touched = matrix.any(axis=0)
        n_touched = int(touched.sum())
        if n_touched:
            ids = np.asarray(stored.column("ticket_id").to_pylist(), dtype=object)
            names = STORED[1:]
            c_idx, r_idx = np.nonzero(matrix)
            olds = {n: stored.column(n) for n in names}
            history = pa.table(
                {
                    "ticket_id": pa.array(ids[r_idx].tolist(), pa.string()),
                    "import_id": pa.array(np.full(len(r_idx), import_id, dtype="int64")),
                    "field": pa.array([names[c] for c in c_idx.tolist()], pa.string()),
                    "old_value": pa.array([olds[names[c]][r].as_py() for c, r in zip(c_idx.tolist(), r_idx.tolist())], pa.string()),
                    "new_value": pa.array([new_values[names[c]][r].as_py() for c, r in zip(c_idx.tolist(), r_idx.tolist())], pa.string()),
                }
            )
            cur.adbc_ingest("ticket_history", history, mode="append")
            rows = pa.array(np.flatnonzero(touched))
            updates = pa.table({"ticket_id": pc.take(stored.column("ticket_id"), rows), **{n: pc.take(new_values[n], rows) for n in names}})
            cur.adbc_ingest(STAGE_UPDATES, updates, mode="replace")
            sets = ", ".join(f"{n} = u.{n}" for n in names)
            cur.execute(
                f"UPDATE tickets SET {sets}, last_import = ? FROM {STAGE_UPDATES} AS u WHERE tickets.ticket_id = u.ticket_id",
                parameters=(import_id,),
            )
            cur.execute(f"DROP TABLE {STAGE_UPDATES}")
        return n_touched, len(incoming) - n_touched

    # --- reading ------------------------------------------------------------------

    def select_by_ids(self, sql: str, ids: Iterable[str]) -> list[tuple]:
        """Rows of `sql` (with one `IN ({})` placeholder) for the given ids, in chunks."""
        ids = list(ids)
        out: list[tuple] = []
        for i in range(0, len(ids), 900):  # SQLite's host-parameter limit
            chunk = ids[i : i + 900]
            out.extend(self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
        return out

    def fields(self) -> frozenset[str]:
        return frozenset(r[0] for r in self.conn.execute("SELECT name FROM fields"))

    def latest_received(self, by: date | None = None) -> datetime | None:
        """The latest receiving time of any stored ticket, or of those received on or before `by`
        (an index look-up)."""
        # Kept as YYYY-MM-DD HH:MM:SS: the latest text is the latest time.
        if by is None:
            latest = self.conn.execute("SELECT max(received_at) FROM tickets").fetchone()[0]
        else:
            after = date.fromordinal(by.toordinal() + 1).isoformat()
            latest = self.conn.execute("SELECT max(received_at) FROM tickets WHERE received_at < ?", (after,)).fetchone()[0]
        return datetime.fromisoformat(latest) if latest else None

    def received_after(self, day: date) -> tuple[int, datetime | None]:
        """How many stored tickets were received after `day`, and the latest of them."""
        after = date.fromordinal(day.toordinal() + 1).isoformat()
        n, latest = self.conn.execute("SELECT count(*), max(received_at) FROM tickets WHERE received_at >= ?", (after,)).fetchone()
        return n, (datetime.fromisoformat(latest) if latest else None)

    def ticket_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]

    def default_year(self, month: int, start_day: int, until: date) -> int | None:
        """periods.default_year over the tickets received on or before `until` ("today"), as a
        report read from files takes it after leaving later ones out (None: no such ticket has a
        receiving time). A ticket dated after today (a typed year, a replay's later data) must not
        make `--month` a month still to come."""
        after = date.fromordinal(until.toordinal() + 1).isoformat()
        # Kept as YYYY-MM-DD HH:MM:SS (text order is time order): the index finds each end at
        # once, in its own subquery (the two in one scan the whole range: 92 ms on 1M tickets).
        first, last = self.conn.execute(
            "SELECT (SELECT min(received_at) FROM tickets WHERE received_at < ?1), (SELECT max(received_at) FROM tickets WHERE received_at < ?1)", (after,)
        ).fetchone()
        if last is None:
            return None

        def has_tickets(p: Period) -> bool:
            end = date.fromordinal(p.end.toordinal() + 1).isoformat()
            sql = "SELECT EXISTS (SELECT 1 FROM tickets WHERE received_at >= ? AND received_at < ?)"
            return bool(self.conn.execute(sql, (p.start.isoformat(), min(end, after))).fetchone()[0])

        return default_year(month, date.fromisoformat(first[:10]), date.fromisoformat(last[:10]), has_tickets, start_day)

    def tickets(self, columns: Iterable[str] | None = None, until: date | None = None, extra_headers: Iterable[str] = ()) -> LoadResult:
        """Stored tickets as the loader would give them (`until`: received on or before).

        `extra_headers` adds unmapped source columns kept from the exports (for [filters])."""
        # The fields [filters] name are read too (see io.load): unread, they would match nothing.
        wanted = [c for c in TICKET_COLUMNS if columns is None or c in set(columns) | {"ticket_id", "received_at"} | fields_named(extra_headers)]
        table = self._ticket_columns(wanted, until)
        n = table.num_rows
        data = {}
        with ThreadPoolExecutor(max_workers=2) as pool:
            # The time columns' parts (the read's two halves) parsed side by side: Arrow's
            # strptime leaves the GIL but runs on one core (0.14 s a column at 1M tickets).
            parsing = {
                name: [pool.submit(stored_times, chunk) for chunk in table.column(name).cast(pa.string()).chunks]
                for name in DATETIME_COLUMNS
                if name in wanted and n and time_column(name) not in table.column_names
            }
        for name in CANONICAL_COLUMNS:
            if name in DATETIME_COLUMNS and name in wanted:
                if time_column(name) in table.column_names:  # parsed when the copy was written
                    times = table.column(time_column(name))
                else:
                    times = pa.chunked_array([part.result() for part in parsing.get(name, [])], pa.timestamp("s"))
                data[name] = pd.Series(times.to_numpy(zero_copy_only=False), dtype=DTYPE)
            elif name in wanted:
                column = table.column(name) if n else pa.chunked_array([], pa.string())
                data[name] = pd.Series(pd.array(column.cast(pa.string()), dtype="str"))
            elif name in DATETIME_COLUMNS:
                data[name] = pd.Series(pd.NaT, index=range(n), dtype=DTYPE)
            else:
                data[name] = blank_text(range(n))
        out = pd.DataFrame(data)
        for header in extra_headers:
            if header not in CANONICAL_COLUMNS and header not in out.columns:
                values = self.extra_values(header)
                if values.notna().any():
                    out[header] = values.reindex(out["ticket_id"]).to_numpy()
        out[FILE_COL] = -1
        out[ROW_COL] = 0
        counts = Counter(value=sum(_unrecognised(table.column(name), FIELD_BY_NAME[name].kind) for name in CHOICE_FIELDS if name in wanted and n))
        return LoadResult(frame=out, sources=[], counts=+counts, fields=self.fields())

    def extra_values(self, header: str) -> pd.Series:
        """One unmapped source column for every ticket (for [filters] on source headers)."""
        rows = self.conn.execute("SELECT ticket_id, json_extract(extra, ?) FROM tickets", (f'$."{header}"',)).fetchall()
        ids, values = zip(*rows) if rows else ((), ())
        return pd.Series(values, index=pd.Index(ids, dtype="str"), dtype="str")

    def history(self, ticket_id: str) -> list[dict]:
        rows = self.conn.execute(
            "SELECT h.field, h.old_value, h.new_value, i.file_name, i.imported_at FROM ticket_history h JOIN imports i ON i.id = h.import_id WHERE h.ticket_id = ? ORDER BY i.id",
            (ticket_id,),
        ).fetchall()
        return [dict(zip(("field", "old", "new", "file", "imported_at"), r)) for r in rows]

    def imports(self) -> list[dict]:
        rows = self.conn.execute("SELECT id, file_name, sha256, imported_at, rows, new, updated, unchanged, rejected FROM imports ORDER BY id").fetchall()
        keys = ("id", "file", "sha256", "imported_at", "rows", "new", "updated", "unchanged", "rejected")
        return [dict(zip(keys, r)) for r in rows]

    # --- person links ---------------------------------------------------------------

    def links(self) -> Links:
        pairs = tuple(self.conn.execute("SELECT phone_a, phone_b FROM links ORDER BY phone_a, phone_b").fetchall())
        unlinked = frozenset(r[0] for r in self.conn.execute("SELECT phone FROM unlinks"))
        return Links(pairs=tuple(tuple(p) for p in pairs), unlinked=unlinked)

    def link(self, a: str, b: str, today: date) -> "Linked":
        a, b = sorted((_usable(a), _usable(b)))
        if a == b:
            raise UsageError("两个号码相同，无需关联", "请给出两个不同的号码")
        with transaction(self.conn):
            self.conn.execute("DELETE FROM unlinks WHERE phone IN (?, ?)", (a, b))
            self.conn.execute("INSERT OR IGNORE INTO links (phone_a, phone_b, created_on) VALUES (?, ?, ?)", (a, b, today.isoformat()))
        # Linked all the same (the tickets may come with a later import), but a typo must show.
        unseen = tuple(p for p in (a, b) if self.conn.execute("SELECT 1 FROM tickets WHERE caller_phone = ? LIMIT 1", (p,)).fetchone() is None)
        return Linked(a, b, unseen)

    def unlink(self, phone: str, today: date) -> str:
        phone = _usable(phone)
        # A number in no ticket and no link is a typo: "已拆分" would hide it.
        known = self.conn.execute(
            "SELECT 1 FROM links WHERE phone_a = ?1 OR phone_b = ?1 UNION ALL SELECT 1 FROM tickets WHERE caller_phone = ?1 LIMIT 1", (phone,)
        ).fetchone()
        if known is None:
            raise StoreError(f"工单库中没有号码 {mask_phone(phone)} 的工单，也没有它的关联", "请检查号码：只能拆分工单里出现过或人工关联过的号码")
        with transaction(self.conn):
            self.conn.execute("DELETE FROM links WHERE phone_a = ? OR phone_b = ?", (phone, phone))
            self.conn.execute("INSERT OR REPLACE INTO unlinks (phone, created_on) VALUES (?, ?)", (phone, today.isoformat()))
        return phone

    # --- exclusions -------------------------------------------------------------------

    def exclusions(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT ticket_id, reason FROM exclusions ORDER BY ticket_id").fetchall())

    def exclude(self, ticket_id: str, reason: str, today: date) -> None:
        if not reason.strip():
            raise UsageError("请写明不纳入考核的原因", "例如 --reason \"申诉已通过\"")
        if self.conn.execute("SELECT 1 FROM tickets WHERE ticket_id = ?", (ticket_id,)).fetchone() is None:
            raise StoreError(f"工单库中没有工单 {ticket_id}", "请检查编号，或先用 gaopin import 导入")
        with transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO exclusions (ticket_id, reason, created_on) VALUES (?, ?, ?)", (ticket_id, reason.strip(), today.isoformat()))

    def unexclude(self, ticket_id: str) -> None:
        with transaction(self.conn):
            cur = self.conn.execute("DELETE FROM exclusions WHERE ticket_id = ?", (ticket_id,))
        if cur.rowcount == 0:
            raise StoreError(f"工单 {ticket_id} 没有被标记为不纳入考核", "可用 gaopin exclude --list 查看已标记的工单")

    # --- retention ----------------------------------------------------------------------

    def count_received_before(self, cutoff: date) -> int:
        return self.conn.execute("SELECT count(*) FROM tickets WHERE received_at < ?", (cutoff.isoformat(),)).fetchone()[0]

    def purge(self, before: date) -> int:
        """Delete tickets received before a date, with their history and the ledger's kept figures, and the
        callers' numbers that only those tickets held (in ledger entries, and in person links
        made before the date). Ledger entries themselves, with staff notes, are kept."""
        cutoff = before.isoformat()
        phones = "SELECT caller_phone FROM tickets WHERE caller_phone IS NOT NULL"
        # Deleted content is overwritten with zeros as it goes: nothing lingers even if the run
        # is killed before the VACUUM below rebuilds the file.
        self.conn.execute("PRAGMA secure_delete = ON")
        # The copy holds every ticket too, and goes first: it is written again from what is left.
        try:
            remove_copy(self.path)
        except OSError as exc:
            raise StoreError(
                f"无法删除工单库旁边的工单副本 {copy_path(self.path)}（{os_reason(exc)}），什么也没有删除",
                "请检查这个文件和所在文件夹的权限后重试；副本可以手工删掉，不会丢失任何工单",
            ) from None
        with transaction(self.conn):
            # Nothing is deleted from a damaged store (a backup may have to be restored, and the
            # VACUUM below would stop at the damage after the deletion was committed).
            if is_damaged(self.conn):
                raise damaged_error(self.path)
            ids = "SELECT ticket_id FROM tickets WHERE received_at < ?"
            self.conn.execute(f"DELETE FROM ticket_history WHERE ticket_id IN ({ids})", (cutoff,))
            self.conn.execute(f"DELETE FROM exclusions WHERE ticket_id IN ({ids})", (cutoff,))
            self.conn.execute("DELETE FROM ledger_cache")  # it names tickets and callers too
            cur = self.conn.execute("DELETE FROM tickets WHERE received_at < ?", (cutoff,))
            self.conn.execute(_SET_TICKETS_TOKEN, (new_token(),))
            self.conn.execute(f"DELETE FROM entry_phones WHERE phone NOT IN ({phones})")
            # A caller entry is keyed by one of its numbers (shown nowhere; matching goes by entry_phones).
            self.conn.execute(f"UPDATE entries SET key = '' WHERE kind = 'caller' AND key NOT IN ({phones})")
            self.conn.execute(
                f"DELETE FROM links WHERE created_on < ? AND phone_a NOT IN ({phones}) AND phone_b NOT IN ({phones})", (cutoff,)
            )
            self.conn.execute(f"DELETE FROM unlinks WHERE created_on < ? AND phone NOT IN ({phones})", (cutoff,))
            # A message kept for a resend (a failed or unknown send) names tickets too: one begun
            # before the date is no longer resent, and goes.
            self.conn.execute("UPDATE sends SET message = NULL WHERE message IS NOT NULL AND started_at < ?", (cutoff,))
            self.conn.execute("DELETE FROM send_messages WHERE id NOT IN (SELECT message FROM sends WHERE message IS NOT NULL)")
        self.conn.execute("VACUUM")  # deleted callers' data must not linger in free pages
        # Again: an import that committed before the deletion may have put its copy in place since.
        try:
            remove_copy(self.path)
        except OSError:
            pass  # not read (its token is not the store's), and written over below
        self.keep_copy_current()
        return cur.rowcount

    def backups(self) -> list[Path]:
        """Copies made before schema migrations: they still hold every ticket they held then."""
        return sorted(p for p in self.path.parent.glob(f"{self.path.name}.v*.bak") if p.is_file())


def retention_cutoff(today: date, months: int) -> date:
    """The first day of the month `months` months before today's month."""
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(y, m + 1, 1)


class Linked(NamedTuple):
    a: str
    b: str
    unseen: tuple[str, ...]  # of the two, the numbers in no ticket: a typo, or not imported yet


# In a transaction that changes the tickets: the columnar copy of the tickets before it is no
# longer theirs (gaopin.store.copy). With the token as its one parameter.
_SET_TICKETS_TOKEN = "INSERT OR REPLACE INTO tickets_state (id, token) VALUES (1, ?)"


def _set_tickets_token(cur: Any, token: str) -> None:
    """`_SET_TICKETS_TOKEN` on a bulk (ADBC) cursor."""
    cur.execute(_SET_TICKETS_TOKEN, parameters=(token,))


def _usable(phone: str) -> str:
    normalized = normalize_phone(phone)
    if not is_usable_phone(normalized):
        if "*" in phone:  # copied from an output, where numbers are masked
            raise UsageError(f"“{phone}”是隐藏了中间几位的号码", "请用 gaopin ledger show 编号 --show-phones 查看完整号码后再输入")
        raise UsageError(f"“{phone}”不是可用的电话号码", "请给出 7 位以上的数字号码")
    return normalized


def _unrecognised(column: pa.ChunkedArray, kind: str) -> int:
    """Cells holding an answer the loader could not read and kept as typed: the notes of warn
    and report count them from the store as from the files."""
    column = column.cast(pa.string())  # as read for the frame; an all-blank column comes as nulls
    known = pc.is_in(column, value_set=pa.array(CHOICE_VALUES[kind], type=pa.string()))
    return column.length() - column.null_count - pc.sum(known).as_py()


def open_store(flag: str | os.PathLike[str] | None, settings: Settings, create: bool = True) -> Store:
    return Store(db_path(flag, settings), create=create)


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    store: Store,
    settings: Settings,
    now: datetime,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    on_done: Callable[[FileImport], None] | None = None,
) -> list[FileImport]:
    """Each file is its own import (one transaction), in command-line order; a file seen before
    is skipped. `on_done` hears of each file as soon as it is committed.

    An error in one of several files says which of them are in the store and which are not."""
    out: list[FileImport] = []
    paths = [Path(p) for p in paths]
    # File and sheet names are said as every text for people is: a file may be named after a caller.
    shown = mask_phones_in_text if settings.privacy.mask_phones else str
    for index, path in enumerate(paths):
        mark = None
        try:
            if progress:
                progress(f"导入 {path.name}")
            mark = store.last_import_id()
            done = _import_one(path, store, settings, now, force)
            done.file = str(path)
            done.sheet_notes = [shown(n) for n in done.sheet_notes]
            out.append(done)
            if on_done:
                on_done(done)
        except GaopinError as exc:
            if len(paths) == 1:
                raise
            before, after = _done_and_not(paths[:index], paths[index:], shown)
            if not before:
                raise type(exc)(f"{exc.message}（{after} 都没有导入）", exc.hint) from exc
            again = "改好或去掉这个文件后重新运行同一条命令即可，已导入的文件会自动跳过" if not force else "改好或去掉这个文件和已导入的文件后重新运行即可"
            raise type(exc)(f"{exc.message}（{before} 已导入，{after} 没有导入）", f"{exc.hint}；{again}" if exc.hint else again) from exc
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # Stopped from outside (Ctrl-C, SIGTERM), at any point of the loop: the files
                # before this one stay imported, and this one too if the stop came after its
                # commit (the store says so, or it was already counted).
                committed = len(out) > index or (mark is not None and store.imported_since(mark, path.name))
                exc.add_note(_stopped_note(paths, index + (1 if committed else 0), shown, force))
            raise
    # Once for all the files: each import that merged into stored tickets left the copy behind.
    try:
        store.keep_copy_current()
    except BaseException as exc:
        if not isinstance(exc, Exception):
            exc.add_note(_stopped_note(paths, len(paths), shown, force))
        raise
    return out


def _done_and_not(done: list[Path], rest: list[Path], shown: Callable[[str], str]) -> tuple[str, str]:
    return shown("、".join(p.name for p in done)), shown("、".join(p.name for p in rest))


def _stopped_note(paths: list[Path], done: int, shown: Callable[[str], str], force: bool) -> str:
    """What a run stopped from outside (Ctrl-C, SIGTERM) says of its files, the first `done` of
    them being in the store."""
    before, after = _done_and_not(paths[:done], paths[done:], shown)
    if len(paths) == 1:
        return f"{before} 已导入（中断时导入已经完成）" if before else f"{after} 没有导入，工单库没有改动"
    if not after:
        return f"{before} 都已导入"
    again = "重新运行同一条命令即可，已导入的文件会自动跳过" if not force else "去掉已导入的文件后重新运行即可"
    return f"{before} 已导入，{after} 没有导入；{again}" if before else f"{after} 都没有导入"


def _import_key(sha: str, sheet: str | None) -> str:
    """What `imports.sha256` holds: the file's SHA-256, and the sheet when one sheet of a
    workbook was asked for and read (`sha|sheet=第二批`)."""
    return sha if sheet is None else f"{sha}|sheet={sheet}"


def _seen(sha: str, sheet: str | None) -> tuple[str, tuple]:
    """(SQL condition, parameters) on `imports.sha256` for "this content was imported before,
    read the same way or more fully": a file read whole (every sheet) when it was imported
    whole (sheet by sheet: `_sheets_seen`, once its sheets are known); one sheet when the whole
    file or that sheet was. How the file was read otherwise (header row, encoding) does not
    matter: the same tickets come out."""
    if sheet is None:
        return "sha256 = ?", (sha,)
    return "sha256 = ? OR sha256 = ?", (sha, _import_key(sha, sheet))


def _sheets_seen(file_name: str, read: list[str], imported: set[str]) -> bool:
    """Whether a whole workbook whose ticket sheets are `read` was imported sheet by sheet
    (`imported`: the sheets imported one at a time). When only some were, reading it whole is
    refused: its other sheets' tickets would be missing, and the imported ones' older values
    would be written over what later exports brought."""
    done = [s for s in read if s in imported]
    if not done:
        return False
    missing = [s for s in read if s not in imported]
    if not missing:
        return True
    shown = mask_phones_in_text
    raise UsageError(
        f"{shown(Path(file_name).name)} 的工作表 {'、'.join(f'“{shown(s)}”' for s in done)} 已单独导入过，"
        f"{'、'.join(f'“{shown(s)}”' for s in missing)} 还没有；整本再导入一次会用旧内容覆盖之后的更新",
        f"请用 gaopin import {shown(Path(file_name).name)} --sheet 工作表名 逐张导入其余的工作表",
    )


def _import_one(path: Path, store: Store, settings: Settings, now: datetime, force: bool) -> FileImport:
    if not path.is_file():
        load([path], settings)  # raises the loader's own clear error
    if force or not store.has_any_import():
        # Nothing to skip: the file is hashed while SQLite stores its tickets (both outside the GIL).
        return store.import_file(path, settings, functools.partial(file_sha256, path), now, skip_seen=not force)
    sha = file_sha256(path)
    # The sheet as asked for (a number, or a CSV's meaningless sheet, is told apart later, from
    # the sheet actually read, with the lock held).
    if store.has_import(sha, settings.load.sheet or None):
        return FileImport(file=str(path), skipped=True)
    # Looked at again with the write lock held: another run may be importing the same file.
    return store.import_file(path, settings, sha, now, skip_seen=True)


def import_into(paths: Iterable[str | os.PathLike[str]], db: str | os.PathLike[str] | None, settings: Settings, now: datetime, **options: Any) -> list[FileImport]:
    """`import_files` (with its keyword `options`) into the store at `db` (--db, else the
    configured one), created if need be.

    A store this call created is removed again when the import fails before anything is in it
    and no other run has opened it: a mistyped or unreadable first file leaves no empty store
    behind."""
    path = db_path(db, settings)
    paths = [Path(p) for p in paths]
    new_folders = [p for p in path.parents if not p.exists()]  # deepest first, as they go again
    created = False
    started = False
    try:
        with Store(path, create=True, provisional=True) as store:
            created = store.created
            started = True
            imported = import_files(paths, store, settings, now, **options)
            if created:
                settle(store.conn)
            return imported
    except BaseException as exc:
        if not started and len(paths) > 1 and not isinstance(exc, Exception):
            # Stopped while opening the store (waiting for another run's import to end).
            shown = mask_phones_in_text if settings.privacy.mask_phones else str
            exc.add_note(_stopped_note(paths, 0, shown, bool(options.get("force"))))
        if created and path.exists() and remove_if_empty(path):
            for folder in new_folders:
                try:
                    folder.rmdir()  # only if empty: another run may have put something there
                except OSError:
                    break
        raise


def existing_store(flag: str | os.PathLike[str] | None, settings: Settings, files: bool = False) -> Path:
    """The store's path (`db_path`), refused (StoreError, exit 6) when it does not exist and the
    tickets are to come from it (no `files`), or when it was given: by --db, GAOPIN_DB or
    [store] path. A mistyped path given with files ran without the person links and exclusions
    the store holds (and a send recorded into a new empty store sent everything again). Only the
    default path, never created, is no error with files: an office that never imported still
    runs `gaopin warn FILE`. One that exists but cannot be a store (a folder, a pipe) is
    refused too (`refuse_unusable_path`), whether or not it is then opened."""
    path = db_path(flag, settings)
    if path.exists():
        refuse_unusable_path(path)
        return path
    if not files:
        raise StoreError(
            f"没有给出文件，工单库 {path} 也不存在",
            "请在命令后写上导出文件，或先用 gaopin import 导入工单（--db 可指定工单库）",
        )
    if flag:
        raise StoreError(f"工单库 {path} 不存在", "请检查 --db 的路径；不用这个工单库时去掉 --db，要新建它请先用 gaopin import 导入工单")
    if settings.store.path:
        raise StoreError(
            f"工单库 {path} 不存在",
            "请检查环境变量 GAOPIN_DB 或配置 [store] path 中的路径；要新建这个工单库，请先用 gaopin import 导入工单",
        )
    return path


def tickets_from(
    files: list[Path] | None, db: str | None, settings: Settings, fields=None, keep_extra=False, progress=None, until: date | None = None, links: bool = True
) -> tuple[LoadResult, Links]:
    """Tickets from files, or from the store when no file is given; with `links`, the person
    links from the store if it exists (a given store must: `existing_store`). Without them, a
    read from files leaves the store unopened."""
    path = existing_store(db, settings, files=bool(files))
    if files:
        result = load(files, settings, fields=fields, keep_extra=keep_extra, progress=progress)
        found = Links()
        if links and path.exists():
            with Store(path, create=False) as store:
                found = store.links()
        return result, found
    with Store(path, create=False) as store:
        if store.ticket_count() == 0:
            raise StoreError(f"工单库 {path} 中还没有工单", "请先用 gaopin import 导入导出文件")
        result = store.tickets(columns=fields, until=until, extra_headers=settings.filters.exclude)
        return result, store.links() if links else Links()
