"""The columnar copy of the tickets beside the store: an Arrow file of the tickets table's
ticket columns, in the table's order, that the reads of whole columns take instead of SQLite
(a district year: 1 ms mapped, against 1–1.8 s from SQLite; docs/performance.md).

It is derived data and never the only copy. Every transaction that changes the tickets sets a
new random token in the store (`tickets_state`); a copy serves only while the token written in
it is the store's, so a copy left behind by a crash, a restored backup or another run is simply
not used. It is written beside the store under a temporary name and put in place whole, readable
by its owner only (it holds callers' numbers as the store does)."""

from __future__ import annotations

import os
import queue
import secrets
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from gaopin.store.db import TICKET_COLUMNS

TOKEN_KEY = b"gaopin.tickets_token"
SCHEMA = pa.schema([(name, pa.string()) for name in TICKET_COLUMNS])


def copy_path(db: Path) -> Path:
    return db.with_name(f"{db.name}-tickets.arrow")


def new_token() -> str:
    return secrets.token_hex(16)


def _open(db: Path) -> ipc.RecordBatchFileReader:
    path = str(copy_path(db))
    # Mapped where a mapped file may be replaced under it (POSIX); read whole elsewhere.
    return ipc.open_file(pa.memory_map(path) if os.name == "posix" else pa.OSFile(path))


def _opened(db: Path) -> tuple[ipc.RecordBatchFileReader, str | None] | None:
    """The copy's reader and the token it was written for; None without a usable copy."""
    try:
        reader = _open(db)
    except (OSError, pa.ArrowException):  # none yet, or unreadable: SQLite has every ticket
        return None
    if not reader.schema.remove_metadata().equals(SCHEMA):
        return None
    token = (reader.schema.metadata or {}).get(TOKEN_KEY)
    return reader, token.decode("ascii", "replace") if token else None


def copy_token(db: Path) -> str | None:
    """The token the copy beside the store was written for, if there is one."""
    opened = _opened(db)
    return opened[1] if opened else None


def read_copy(db: Path, token: str | None) -> pa.Table | None:
    """The copy's tickets when it was written for `token` (the store's now), else None."""
    opened = _opened(db) if token else None
    if opened is None or opened[1] != token:
        return None
    try:
        return opened[0].read_all()
    except (OSError, pa.ArrowException):
        return None


def _sync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


def remove_copy(db: Path) -> None:
    """No copy (before the tickets lose rows that must not linger anywhere, as in a purge)."""
    copy_path(db).unlink(missing_ok=True)


class CopyWriter:
    """Writes a copy for `token` in a thread of its own, the tables in the tickets' order, while
    the caller goes on (Arrow writes outside the GIL). Nothing is in place before `publish`.

    A failure to write (a full disk) is not the caller's: the copy is then left out, and the
    store's own reads serve."""

    def __init__(self, db: Path, token: str):
        self.path = copy_path(db)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.new")
        self.failed = False
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        # Made private before a byte is in it; Arrow's own file then writes outside the GIL.
        os.close(os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        try:
            self.sink = pa.OSFile(str(self.tmp), mode="wb")
            # Each table is on disk before the next (on the thread's time), and the whole before
            # the copy is put in place: a power cut cannot leave a copy in place that reads wrong.
            self._fd = os.open(self.tmp, os.O_RDONLY)
            self.writer = ipc.new_file(self.sink, SCHEMA.with_metadata({TOKEN_KEY: token.encode()}))
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="gaopin-copy", daemon=True)
        self.thread.start()

    def add(self, table: pa.Table) -> None:
        if not self.failed:
            self.queue.put(table)

    def _run(self) -> None:
        while (table := self.queue.get()) is not None:
            if self.failed:
                continue
            try:
                self.writer.write_table(table.select(list(TICKET_COLUMNS)).cast(SCHEMA))
                _sync(self._fd)
            except (OSError, pa.ArrowException):
                self.failed = True

    def _close(self) -> bool:
        if self.closed:
            return not self.failed
        self.closed = True
        self.queue.put(None)
        self.thread.join()
        try:
            self.writer.close()
            self.sink.close()
            _sync(self._fd)
        except (OSError, pa.ArrowException):
            self.failed = True
        finally:
            os.close(self._fd)
        return not self.failed

    def publish(self) -> bool:
        """Put the copy in place once every table is written; False (and nothing left) otherwise."""
        if self._close():
            try:
                os.replace(self.tmp, self.path)
                return True
            except OSError:  # Windows: a run is reading the old copy
                pass
        self.tmp.unlink(missing_ok=True)
        return False

    def discard(self) -> None:
        self._close()
        self.tmp.unlink(missing_ok=True)
