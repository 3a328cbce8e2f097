"""The columnar copy of the tickets beside the store: an Arrow file of the tickets table's
ticket columns, in the table's order, that the reads of whole columns take instead of SQLite
(a district year's 15 columns of the report: 0.1 s, against 1–1.8 s from SQLite;
docs/performance.md).

It is derived data and never the only copy. Every transaction that changes the tickets sets a
new random token in the store (`tickets_state`); a copy serves only while the token written in
it is the store's, so a copy left behind by a crash, a restored backup or another run is simply
not used. It is written beside the store under a temporary name and put in place whole, readable
by its owner only (it holds callers' numbers as the store does)."""

from __future__ import annotations

import os
import queue
import re
import secrets
import sys
import threading
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from gaopin.processes import STARTING, create_held, host_name, let_go, sweep_ended
from gaopin.store.db import TEXT_FORMAT, TICKET_COLUMNS

TOKEN_KEY = b"gaopin.tickets_token"
TIMES = ("received_at", "closed_at")


def stored_times(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Stored times (TEXT_FORMAT) as timestamps; anything else (none is stored) as null."""
    return pc.strptime(text, format=TEXT_FORMAT, unit="s", error_is_null=True)


def time_column(name: str) -> str:
    """The copy's column of `stored_times` of the text column `name`: parsed once, when the
    copy is written (0.14 s a column at 1M tickets), not at every read."""
    return f"{name}#time"


TEXT_SCHEMA = pa.schema([(name, pa.string()) for name in TICKET_COLUMNS])
SCHEMA = pa.schema([*TEXT_SCHEMA, *((time_column(name), pa.timestamp("s")) for name in TIMES)])
SUFFIX = "-tickets.arrow"


def copy_path(db: Path) -> Path:
    """Beside the store's real file: a store reached through a link has the one copy."""
    real = Path(os.path.realpath(db))
    return real.with_name(f"{real.name}{SUFFIX}")


def new_token() -> str:
    return secrets.token_hex(16)


# File systems on a disk of this computer (Linux's names): a file replaced by a rename stays
# whole for a process that has it mapped. Not a network drive (nfs, cifs/smb3, 9p …) nor FUSE.
LOCAL_FILE_SYSTEMS = frozenset(
    "ext2 ext3 ext4 xfs btrfs zfs f2fs jfs reiserfs bcachefs tmpfs ramfs overlay vfat exfat ntfs3 hfsplus apfs".split()
)


def mappable(path: Path, mounts: str | None = None) -> bool:
    """Whether the copy at `path` may be read through a memory map (no copy of 250 MB into
    memory: 0.01 s against 0.2 s for the report's columns of a district year): on Linux, where
    the folder is on a local file system (`mounts`: the text of /proc/self/mounts). A mapped
    file that another computer replaces on a network drive ends the reading process (SIGBUS)
    when its pages are touched; elsewhere the copy is read."""
    if mounts is None:
        if not sys.platform.startswith("linux"):
            return False
        try:
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    folder = os.path.realpath(path.parent)
    best, kind = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # Spaces and the like in a mount point are written as octal escapes (\040).
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        inside = folder == point or folder.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in LOCAL_FILE_SYSTEMS


def _opened(db: Path, columns: Iterable[str] | None = None) -> tuple[ipc.RecordBatchFileReader, str | None] | None:
    """The copy's reader and the token it was written for; None without a usable copy. A mapped
    copy is read whole (its buffers are the file's pages: nothing is copied, where choosing
    `columns` copies them); a copy read into memory, only `columns`."""
    path = copy_path(db)
    names = SCHEMA.names
    try:
        if mappable(path):
            reader = ipc.open_file(pa.memory_map(str(path)))
        else:
            names = SCHEMA.names if columns is None else list(columns)
            options = ipc.IpcReadOptions(included_fields=[SCHEMA.names.index(c) for c in names])
            reader = ipc.open_file(pa.OSFile(str(path)), options=options)
    except (OSError, pa.ArrowException):  # none yet, or unreadable: SQLite has every ticket
        return None
    # The reader's schema is of the fields it reads.
    if not reader.schema.remove_metadata().equals(pa.schema([SCHEMA.field(c) for c in names])):
        return None
    token = (reader.schema.metadata or {}).get(TOKEN_KEY)
    return reader, token.decode("ascii", "replace") if token else None


def copy_token(db: Path) -> str | None:
    """The token the copy beside the store was written for, if there is one."""
    opened = _opened(db)
    return opened[1] if opened else None


def read_copy(db: Path, token: str | None, columns: Iterable[str] = TICKET_COLUMNS) -> pa.Table | None:
    """The copy's tickets (`columns` of them, in that order: text columns as the store's, and
    `time_column`s) when it was written for `token` (the store's now), else None."""
    columns = list(columns)
    opened = _opened(db, columns) if token else None
    if opened is None or opened[1] != token:
        return None
    try:
        return opened[0].read_all().select(columns)
    except (OSError, pa.ArrowException):
        return None


def _sync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


# A copy being written: `.<copy>.<host>.<pid>.<thread>.new` (`_temporary`).
TEMPORARY = ".new"


def _temporary(path: Path) -> Path:
    """Where a copy is written before it is put in place: named after the computer, the process
    and the thread writing it (`sweep_leftovers`)."""
    return path.with_name(f".{path.name}.{host_name()}.{os.getpid()}.{threading.get_ident()}{TEMPORARY}")


def sweep_leftovers(db: Path) -> None:
    """Remove the half-written copies beside the store that runs of this computer left when they
    were killed outright (kill -9, a power cut: nothing else leaves one), each as large as the
    copy and holding every number. Those of running processes, and of other computers sharing
    the folder, stay (a purge removes every one: `remove_copy`)."""
    path = copy_path(db)
    sweep_ended(path.parent, f".{path.name}.", TEMPORARY)


def remove_copy(db: Path) -> None:
    """No copy, nor any copy being written or left half-written by a run that was killed (before
    the tickets lose rows that must not linger anywhere, as in a purge). A run writing one
    meanwhile then does not put it in place."""
    path = copy_path(db)
    for pattern in (f".{path.name}.*{TEMPORARY}", f".{path.name}.*{TEMPORARY}{STARTING}"):
        for leftover in path.parent.glob(pattern):
            leftover.unlink(missing_ok=True)
    path.unlink(missing_ok=True)


class CopyWriter:
    """Writes a copy for `token` in a thread of its own, the tables in the tickets' order, while
    the caller goes on (Arrow writes outside the GIL). Nothing is in place before `publish`, and
    nothing is left behind by `publish` or `discard`, even when they are interrupted.

    A failure to write (a full disk) is not the caller's: the copy is then left out, and the
    store's own reads serve."""

    def __init__(self, db: Path, token: str):
        self.path = copy_path(db)
        sweep_leftovers(db)
        self.tmp = _temporary(self.path)
        self.failed = False
        self.closed = False
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        # Made private before a byte is in it; Arrow's own file then writes outside the GIL.
        # Held until it is put in place or removed: another run's sweep never takes it for a leftover.
        self._held = create_held(self.tmp)
        self.sink = self.writer = None
        self._fd = -1
        try:
            self.sink = pa.OSFile(str(self.tmp), mode="wb")
            # Each table is on disk before the next (on the thread's time), and the whole before
            # the copy is put in place: a power cut cannot leave a copy in place that reads wrong.
            # Opened for writing: Windows flushes no file through a read-only handle.
            self._fd = os.open(self.tmp, os.O_RDWR)
            self.writer = ipc.new_file(self.sink, SCHEMA.with_metadata({TOKEN_KEY: token.encode()}))
            self.thread = threading.Thread(target=self._run, name="gaopin-copy", daemon=True)
            self.thread.start()
        except BaseException:
            self.closed = True
            self._release()
            self._let_go()
            raise

    def add(self, table: pa.Table) -> None:
        if not self.failed:
            self.queue.put(table)

    def _run(self) -> None:
        while (table := self.queue.get()) is not None:
            if self.failed:
                continue
            try:
                text = table.select(list(TICKET_COLUMNS)).cast(TEXT_SCHEMA)
                for name in TIMES:
                    text = text.append_column(time_column(name), stored_times(text.column(name)))
                self.writer.write_table(text)
                _sync(self._fd)
            except BaseException:  # a full disk, or anything else: no copy, and the caller never waits on a dead thread
                self.failed = True

    def _release(self, sync: bool = False) -> None:
        """Whatever is still open, closed; with `sync`, the whole file then on disk unless
        something failed (after a failure, what it wrote is not used)."""
        for close in (getattr(self.writer, "close", None), getattr(self.sink, "close", None)):
            try:
                if close is not None:
                    close()
            except (OSError, pa.ArrowException):
                self.failed = True
        self.writer = self.sink = None
        try:
            if sync and not self.failed:
                _sync(self._fd)
        except OSError:
            self.failed = True
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _close(self) -> bool:
        if self.closed:
            return not self.failed
        self.closed = True
        self.queue.put(None)
        self.thread.join()
        self._release(sync=True)
        return not self.failed

    def publish(self) -> bool:
        """Put the copy in place once every table is written; False (and nothing left) otherwise."""
        try:
            if self._close():
                try:
                    os.replace(self.tmp, self.path)
                    return True
                except OSError:  # Windows: a run is reading the old copy
                    pass
        finally:
            # Interrupted too (Ctrl-C while the last tables are synced): the callers' numbers in
            # it do not stay behind. The thread, if still writing, writes into the removed file.
            self._let_go()
        return False

    def discard(self) -> None:
        try:
            self._close()
        finally:
            self._let_go()

    def _let_go(self) -> None:
        """The temporary file removed (if still there) and let go of."""
        try:
            self.tmp.unlink(missing_ok=True)
        finally:
            held, self._held = self._held, None
            let_go(held)
