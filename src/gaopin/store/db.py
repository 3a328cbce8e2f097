"""The SQLite file behind the store: connection, transactions, versioned migrations.

Python 3.11's default transaction handling does not roll back a failed schema change,
so the connection runs in autocommit mode and every write is an explicit
`BEGIN IMMEDIATE … COMMIT`. The rollback journal (not WAL) is used because offices keep
files on network drives, where WAL does not work. A run killed at any moment leaves the
file as it was before or after the transaction.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from gaopin.errors import GaopinError, LockedError, os_reason, special_kind, StoreError

BUSY_TIMEOUT_MS = 15_000
DB_FILE_NAME = "gaopin.db"  # the default store's name, and the one a folder given as a store is told to hold
TEXT_FORMAT = "%Y-%m-%d %H:%M:%S"  # how the store keeps times (its text compares as the times do)
TICKET_COLUMNS = (
    "ticket_id", "received_at", "ticket_type", "caller_name", "caller_phone", "street", "community",
    "address", "category", "title", "content", "unit", "dispatch", "valid_callback", "contacted",
    "resolved", "satisfied", "closed_at", "dispatch_class",
)  # fmt: skip


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Statements one by one: executescript() would COMMIT the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    columns = ",\n".join(f"  {c} TEXT" for c in TICKET_COLUMNS[1:])
    _run(conn, 
        f"""
        CREATE TABLE imports (
          id INTEGER PRIMARY KEY,
          file_name TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          imported_at TEXT NOT NULL,
          rows INTEGER NOT NULL,
          new INTEGER NOT NULL,
          updated INTEGER NOT NULL,
          unchanged INTEGER NOT NULL,
          rejected INTEGER NOT NULL
        );
        CREATE INDEX imports_sha256 ON imports (sha256);
        CREATE TABLE tickets (
          ticket_id TEXT PRIMARY KEY,
        {columns},
          extra TEXT,
          first_import INTEGER NOT NULL REFERENCES imports (id),
          last_import INTEGER NOT NULL REFERENCES imports (id)
        );
        CREATE INDEX tickets_received_at ON tickets (received_at);
        CREATE TABLE ticket_history (
          ticket_id TEXT NOT NULL,
          import_id INTEGER NOT NULL REFERENCES imports (id),
          field TEXT NOT NULL,
          old_value TEXT,
          new_value TEXT
        );
        CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id);
        CREATE TABLE rejected_rows (
          import_id INTEGER NOT NULL REFERENCES imports (id),
          file_row INTEGER,
          value TEXT,
          reason TEXT NOT NULL
        );
        CREATE TABLE fields (name TEXT PRIMARY KEY);
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    _run(conn, 
        """
        CREATE TABLE links (phone_a TEXT NOT NULL, phone_b TEXT NOT NULL, created_on TEXT NOT NULL, PRIMARY KEY (phone_a, phone_b));
        CREATE TABLE unlinks (phone TEXT PRIMARY KEY, created_on TEXT NOT NULL);
        CREATE TABLE entries (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          key TEXT NOT NULL,
          opened_on TEXT NOT NULL,
          state TEXT NOT NULL,
          merged_into TEXT,
          state_before_merge TEXT,
          recurrence INTEGER NOT NULL DEFAULT 0,
          owner TEXT,
          unit TEXT,
          deadline TEXT,
          measures TEXT
        );
        CREATE INDEX entries_kind_key ON entries (kind, key);
        CREATE TABLE entry_phones (entry_id TEXT NOT NULL REFERENCES entries (id), phone TEXT NOT NULL, own INTEGER NOT NULL, PRIMARY KEY (entry_id, phone));
        CREATE TABLE entry_cycles (
          entry_id TEXT NOT NULL REFERENCES entries (id),
          cycle INTEGER NOT NULL,
          starts_after TEXT,
          opened_on TEXT NOT NULL,
          ended_on TEXT,
          end_kind TEXT,
          end_reason TEXT,
          closed_on TEXT,
          close_reason TEXT,
          PRIMARY KEY (entry_id, cycle)
        );
        CREATE TABLE entry_tickets (
          entry_id TEXT NOT NULL REFERENCES entries (id),
          ticket_id TEXT NOT NULL,
          cycle INTEGER NOT NULL,
          person TEXT,
          PRIMARY KEY (entry_id, ticket_id)
        );
        CREATE INDEX entry_tickets_ticket ON entry_tickets (ticket_id);
        CREATE TABLE entry_events (
          seq INTEGER PRIMARY KEY,
          entry_id TEXT NOT NULL REFERENCES entries (id),
          on_date TEXT NOT NULL,
          kind TEXT NOT NULL,
          text TEXT NOT NULL
        );
        CREATE INDEX entry_events_entry ON entry_events (entry_id);
        """
    )


def _v3(conn: sqlite3.Connection) -> None:
    _run(conn, 
        """
        CREATE TABLE exclusions (ticket_id TEXT PRIMARY KEY, reason TEXT NOT NULL, created_on TEXT NOT NULL);
        CREATE TABLE sends (
          id INTEGER PRIMARY KEY,
          kind TEXT NOT NULL,
          channel TEXT NOT NULL,
          key TEXT NOT NULL,
          status TEXT NOT NULL,
          started_at TEXT NOT NULL,
          finished_at TEXT,
          message_id TEXT,
          detail TEXT
        );
        CREATE INDEX sends_key ON sends (kind, channel, key);
        """
    )


def _v4(conn: sqlite3.Connection) -> None:
    # Derived data only: the ledger's per-entry figures and the inputs they were computed
    # from (gaopin.ledger.refresh); dropped and recomputed whenever those inputs change.
    _run(conn, "CREATE TABLE ledger_cache (id INTEGER PRIMARY KEY CHECK (id = 1), inputs TEXT NOT NULL, notes TEXT NOT NULL, stats BLOB NOT NULL);")


def _v5(conn: sqlite3.Connection) -> None:
    # Ticket memberships are derived data, recomputed on every refresh: they are now kept with
    # the entries' figures in ledger_cache (a million rows here cost seconds to write).
    _run(conn, "DROP INDEX IF EXISTS entry_tickets_ticket; DROP TABLE entry_tickets")


def _v6(conn: sqlite3.Connection) -> None:
    # The whole message of a send, kept while its outcome is pending, failed or unknown, so that
    # a later run (whatever its --date) resends what failed as it was (gaopin.deliver.sends).
    _run(conn, 
        """
        CREATE TABLE send_messages (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, what TEXT NOT NULL, body BLOB NOT NULL);
        ALTER TABLE sends ADD COLUMN message INTEGER;
        """
    )


def _v7(conn: sqlite3.Connection) -> None:
    # The day the ledger was last brought up to (gaopin.ledger.refresh): a view of an earlier
    # day is a look back and writes nothing. A store from before starts at the latest day a
    # refresh recorded an event on (a lower bound of the day it was brought up to).
    # entries.merge_copied: what a merge copied from an absorbed entry into its keeper (staff
    # fields, JSON), so that an unlink undoes exactly that.
    _run(conn,
        """
        CREATE TABLE ledger_state (id INTEGER PRIMARY KEY CHECK (id = 1), as_of TEXT NOT NULL);
        INSERT INTO ledger_state (id, as_of) SELECT 1, max(on_date) FROM entry_events
          WHERE kind IN ('opened', 'reopened', 'merged', 'split', 'revived') HAVING max(on_date) IS NOT NULL;
        ALTER TABLE entries ADD COLUMN merge_copied TEXT
        """
    )


def _v8(conn: sqlite3.Connection) -> None:
    """Answers an earlier version kept as typed because it did not know them (非常不满意, 很满意,
    已解决) read as an import reads them now: otherwise the store's figures differ from a fresh
    import of the same exports, and re-importing an unchanged file is skipped. Only recognised
    values change; each distinct value is read once. The ledger's kept result is not dropped
    but left to its version: the code that brings this migration has a newer CACHE_VERSION
    (ledger/refresh.py), so the next refresh recomputes it and a look back says gaopin was
    upgraded (a dropped result would read as an unknown change)."""
    from gaopin.schema import CHOICE_VALUES, FIELDS, normalize_choice

    for f in FIELDS:
        if f.kind not in CHOICE_VALUES or f.name not in TICKET_COLUMNS:
            continue
        column = f'"{f.name}"'
        for (value,) in conn.execute(f"SELECT DISTINCT {column} FROM tickets WHERE {column} IS NOT NULL").fetchall():
            read, known = normalize_choice(f.kind, value)
            if known and read != value:
                conn.execute(f"UPDATE tickets SET {column} = ? WHERE {column} = ?", (read or None, value))


def _v9(conn: sqlite3.Connection) -> None:
    """The tickets' state (gaopin.store.copy): a random token that every transaction changing
    the tickets replaces, and that the columnar copy beside the store is written for. A
    migration that changes tickets must replace it too."""
    # A first token: the next `gaopin import` writes the copy of the tickets already stored.
    _run(conn,
        """
        CREATE TABLE IF NOT EXISTS tickets_state (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL);
        INSERT OR IGNORE INTO tickets_state (id, token) VALUES (1, lower(hex(randomblob(16))))
        """
    )


# Append only: a released migration never changes.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9)
LATEST = len(MIGRATIONS)


PAGE_SIZE = 16384
# A store an import has just created carries this application id (the SQLite header's "whose
# file is this") until another run opens it. The import may remove the store again when it fails
# before anything is in it (no empty store for a mistyped first file), but never once another
# run has opened it: that run would go on writing into a removed file.
NEW_STORE_ID = 0x47504E57  # "GPNW"


def _create_private(path: Path) -> None:
    """An empty file readable by its owner only, before SQLite writes a byte into it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _create_store(path: Path, provisional: bool = False) -> bool:
    """A new store, readable by its owner only, appearing whole or not at all; True if this call
    put it in place. `provisional`: marked NEW_STORE_ID.

    The schema is built in a temporary file beside it, which is then linked into place:
    a run killed while creating leaves no half-made store, and of two runs creating the
    same store at once, one wins and the other simply opens it.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder gaopin makes is private too
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # 16 KB pages (SQLite's default is 4 KB): a year's tickets go in about a fifth
            # faster and commit faster (docs/performance.md). Only a new store; set before
            # its first table, as SQLite requires.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = DELETE")
            # Built on this connection, which set the page size (migrate's own would not).
            with transaction(conn):
                for number in range(1, LATEST + 1):
                    _step(conn, number)
            if provisional:
                conn.execute(f"PRAGMA application_id = {NEW_STORE_ID}")
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False  # another run created it first
        except OSError:
            if path.exists():
                return False
            os.replace(tmp, path)  # a file system without hard links
        return True
    finally:
        tmp.unlink(missing_ok=True)


def refuse_unusable_path(path: str | os.PathLike[str]) -> None:
    """StoreError when the store's path cannot be a store file: a folder (`--db some_dir/`), a
    named pipe or a device (opening a pipe waits for ever), or a path under a file (`a.csv/x.db`).
    SQLite says only "unable to open database file" or "disk I/O error", or never answers."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise StoreError(f"工单库路径 {path} 中的 {above} 是一个文件，不是文件夹", "请检查 --db、GAOPIN_DB 或 [store] path 中的路径") from None
        return
    except OSError:
        return  # said as SQLite meets it
    if stat.S_ISDIR(mode):
        raise StoreError(f"工单库路径 {path} 是一个文件夹", f"请把工单库路径（--db、GAOPIN_DB 或 [store] path）指向文件夹中的一个文件，例如 {path / DB_FILE_NAME}")
    if not stat.S_ISREG(mode):
        raise StoreError(f"工单库路径 {path} 不是普通文件（是{special_kind(mode)}）", "请把工单库路径（--db、GAOPIN_DB 或 [store] path）指向一个普通文件（gaopin import 会新建它）")


def open_connection(path: Path, create: bool = True, provisional: bool = False) -> tuple[sqlite3.Connection, bool]:
    """(a connection to the store, True if this call created it; `provisional`: marked
    NEW_STORE_ID, for an import that removes it again if it fails). A store another run has just
    created provisionally is claimed; if that run removed it meanwhile, it is opened (or created)
    again."""
    path = Path(path)
    refuse_unusable_path(path)
    for _ in range(3):
        created = False
        if not path.exists():
            if not create:
                raise StoreError(f"工单库 {path} 不存在", "请先用 gaopin import 导入工单，或用 --db 指定工单库")
            try:
                created = _create_store(path, provisional)
            except OSError as exc:
                raise StoreError(f"无法创建工单库 {path}：{os_reason(exc)}", "请用 --db 或 GAOPIN_DB 换一个可写的位置") from None
        try:
            conn = _open(path)
        except BaseException:
            if created:
                remove_if_empty(path)  # only a provisional one: no half-opened store is left
            raise
        if created or _claimed(conn):
            return conn, created
        conn.close()
    raise removed_error(path)


def _claimed(conn: sqlite3.Connection) -> bool:
    """Mark a store its creator may still remove as opened by another run; False if the creator
    removed it first (the connection is then to a removed file)."""
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] != NEW_STORE_ID:
            return True
        # Waits while the creator writes or removes it; the creator removes it only under an
        # exclusive lock, having checked the id.
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("PRAGMA application_id = 0")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as exc:
        if _was_removed(exc):
            return False
        if is_lock_error(exc) or is_readonly_error(exc):
            return True  # busy for longer than a run waits, or a copy on read-only media: as it is
        raise
    return True


def settle(conn: sqlite3.Connection) -> None:
    """The creator's import succeeded: nothing will remove the store now."""
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] == NEW_STORE_ID:
            conn.execute("PRAGMA application_id = 0")
    except sqlite3.Error:
        pass  # an opener claims it later, as it would have


def _was_removed(exc: BaseException) -> bool:
    """SQLITE_READONLY_DBMOVED: the file was removed (or moved) while the connection had it open."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY_DBMOVED


def removed_error(path: str | os.PathLike[str] | None) -> StoreError:
    where = f" {path} " if path else ""
    return StoreError(
        f"工单库{where}在运行中被删除了（同时创建它的另一个导入失败后删除了这个空的工单库），本次没有写入",
        "请重新运行同一条命令",
    )


def _open(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA journal_mode = DELETE")
        # Deleted or moved content is zeroed, so callers' data does not linger in free space.
        conn.execute("PRAGMA secure_delete = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if is_damaged_error(exc):
            raise damaged_or_torn(path) from None
        if is_lock_error(exc):  # another program holds it locked for longer than a run waits
            raise locked_error() from None
        raise StoreError(f"{path} 不是 gaopin 的工单库（{exc}）", "请检查 --db 的路径；如文件已损坏，请从备份恢复") from None
    if version > LATEST:
        conn.close()
        raise StoreError(f"工单库 {path} 由更新版本的 gaopin 创建（结构版本 {version}）", "请升级 gaopin 后再用")
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        # Every gaopin store has a version from its creation on: tables without one are
        # another program's, which the upgrade would quietly have added gaopin's tables to.
        conn.close()
        raise StoreError(f"{path} 是其他程序的 SQLite 数据库，不是 gaopin 的工单库", "请用 --db 指定 gaopin 的工单库文件，或给一个新的文件名")
    if version < LATEST:
        migrate(conn, path)
    return conn


def remove_if_empty(path: Path) -> bool:
    """Remove a store that holds nothing and no other run has opened (NEW_STORE_ID, every table
    empty, no journal left); True if removed.

    For a store an import created and then could not fill: no empty file is left behind."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            # Held while the file is removed: a run opening it meanwhile waits to claim it, and
            # then finds it removed (and opens it again).
            conn.execute("BEGIN EXCLUSIVE")
            if conn.execute("PRAGMA application_id").fetchone()[0] != NEW_STORE_ID:
                return False
            # tickets_state holds the token a new store starts with, nothing of anyone's.
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if name != "tickets_state"]
            if any(conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() for name in tables):
                return False
            if Path(f"{path}-journal").exists():
                return False  # a writer is at work in it
            path.unlink(missing_ok=True)
            return True
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _new_backup(path: Path, version: int) -> Path:
    """A new, private, empty file for the backup before an upgrade: `gaopin.db.vN.bak`, or
    `.vN.2.bak` … when that name is taken. The name is claimed by creating the file, so that two
    runs never take the same one (and the one that fails never removes the other's)."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.v{version}.bak" if n == 1 else f"{path.name}.v{version}.{n}.bak")
        try:
            _create_private(candidate)  # private before the first byte of a ticket is written into it
            return candidate
        except FileExistsError:
            n += 1


def _step(conn: sqlite3.Connection, number: int) -> None:
    """Schema version `number` made, in the caller's transaction: its migration, then the version."""
    MIGRATIONS[number - 1](conn)
    conn.execute(f"PRAGMA user_version = {number}")


def migrate(conn: sqlite3.Connection, path: Path) -> Path | None:
    """Bring the schema to LATEST, after backing up a used store; the backup's path (None when no
    backup was needed, or another run had upgraded it meanwhile).

    One run upgrades at a time: a second connection takes the write lock first and reads the
    version again under it (two commands started at once both read the old one), the store is
    backed up through `conn` (reading is not stopped by a held write lock), and every step is
    made in that one transaction: a failure leaves the store as it was."""
    guard = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        try:
            guard.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = store_error(exc, path)
            if error is None:
                raise
            raise error from None
        current = guard.execute("PRAGMA user_version").fetchone()[0]
        if current >= LATEST:
            return None  # upgraded by another run meanwhile
        backup = None
        if current > 0:  # a store in use (connect refuses another program's tables at version 0)
            try:
                backup = _new_backup(path, current)
                target = sqlite3.connect(backup)
                try:
                    conn.backup(target)
                finally:
                    target.close()
            except (OSError, sqlite3.Error) as exc:
                # Not upgraded without its backup; a part-written copy (or an empty file) is not a backup.
                for leftover in ([backup, Path(f"{backup}-journal")] if backup is not None else []):
                    leftover.unlink(missing_ok=True)
                reason = os_reason(exc) if isinstance(exc, OSError) else DISK_FULL if is_full_error(exc) else str(exc)
                raise StoreError(
                    f"无法在升级工单库 {path} 之前备份它（{reason}），工单库没有改动",
                    "请清理磁盘空间、检查所在文件夹的写权限后重试",
                ) from None
        number = current
        try:
            for number in range(current + 1, LATEST + 1):
                _step(guard, number)
            guard.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(
                f"工单库 {path} 升级到结构版本 {number} 失败（{exc}），已保持在版本 {current}",
                f"升级前的备份在 {backup}；请检查磁盘空间和文件权限后重试" if backup else "请检查磁盘空间和文件权限后重试",
            ) from exc
        return backup
    finally:
        if guard.in_transaction:
            try:
                guard.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        guard.close()


def _from_sqlite(exc: BaseException) -> bool:
    """An error of SQLite's: from the sqlite3 module or the ADBC driver, or from the Arrow stream
    a driver query's result is read through (a plain OSError with SQLite's text and no errno).
    Only these are told by their text, not any message that says the same (a file or folder
    named "busy…" in an input error)."""
    import adbc_driver_manager

    return isinstance(exc, (sqlite3.Error, adbc_driver_manager.Error)) or (type(exc) is OSError and exc.errno is None)


def is_lock_error(exc: BaseException) -> bool:
    """SQLite's "database is locked" or "busy"."""
    return _from_sqlite(exc) and ("locked" in str(exc) or "busy" in str(exc))


def locked_error() -> LockedError:
    return LockedError("工单库正被另一个程序写入（多半是另一个正在运行的 gaopin）", "请等它结束后再试")


def is_readonly_error(exc: BaseException) -> bool:
    """SQLite's "attempt to write a readonly database" (a file or folder without write
    permission, a read-only USB stick or share)."""
    return _from_sqlite(exc) and "readonly database" in str(exc)


def readonly_error(path: str | os.PathLike[str] | None) -> StoreError:
    where = f" {path} " if path else ""
    return StoreError(
        f"工单库{where}是只读的，无法写入",
        "请检查工单库文件和所在文件夹的写权限（只读的 U 盘、网络盘也会这样），或用 --db 换一个工单库",
    )


DISK_FULL = os_reason(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))


def is_full_error(exc: BaseException) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL: the disk or a quota ran out)."""
    return _from_sqlite(exc) and "database or disk is full" in str(exc)


def full_error(path: str | os.PathLike[str] | None) -> StoreError:
    where = f" {path}" if path else ""
    return StoreError(f"无法写入工单库{where}：{DISK_FULL}", "请清理磁盘空间后重试；这次要写的内容都没有写入，工单库保持原样")


def is_damaged_error(exc: BaseException) -> bool:
    """SQLite's "database disk image is malformed" (SQLITE_CORRUPT: a damaged page)."""
    return _from_sqlite(exc) and "malformed" in str(exc)


def is_damaged(conn: sqlite3.Connection) -> bool:
    """Whether SQLite's quick check of the whole file finds damage (it reads every page)."""
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
    except sqlite3.DatabaseError as exc:  # some damage stops the check itself
        if is_damaged_error(exc):
            return True
        raise


def damaged_error(path: str | os.PathLike[str] | None) -> StoreError:
    where = f" {path} " if path else ""
    return StoreError(f"工单库{where}已损坏（database disk image is malformed）", "请从备份恢复这个文件（恢复后可用 gaopin doctor 检查）")


def damaged_or_torn(path: str | os.PathLike[str] | None) -> StoreError:
    """The error for SQLite's "malformed" on the store at `path`, once the whole file is checked.

    A read can meet torn pages in a whole store: SQLite's locks are per process and the store is
    read through two copies of SQLite (Python's and the ADBC driver's), whose locking and
    unlocking in one thread can drop the other's read lock in another, letting another process
    write into the middle of the read. Restoring a whole store from a backup would lose data."""
    if path is None:
        return damaged_error(path)
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            damaged = is_damaged(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        damaged = False  # being written, or unreadable now: said as a read to run again
    if damaged:
        return damaged_error(path)
    return StoreError(
        f"读取工单库 {path} 时读到的内容前后不一致（另一个 gaopin 进程可能正在写入它）；检查过，工单库本身完好",
        "请重新运行这条命令；如果一再出现，请用 gaopin doctor 检查工单库",
    )


def store_error(exc: BaseException, path: str | os.PathLike[str] | None) -> GaopinError | None:
    """The error to report for SQLite's own error `exc` on the store at `path`, when it is one a
    person can act on (locked, read-only, disk full, damaged); None for any other."""
    if is_lock_error(exc):
        return locked_error()
    if _was_removed(exc) or (is_readonly_error(exc) and path is not None and not os.path.exists(path)):
        return removed_error(path)
    if is_readonly_error(exc):
        return readonly_error(path)
    if is_full_error(exc):
        return full_error(path)
    if is_damaged_error(exc):
        return damaged_or_torn(path)
    return None


def _file_of(conn: sqlite3.Connection) -> str | None:
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2] or None
    except sqlite3.Error:
        return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: all of it is committed, or none of it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk): a ROLLBACK then
            # fails, and must not hide the error that caused it.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
    except sqlite3.Error as exc:
        error = store_error(exc, _file_of(conn))
        if error is None:
            raise
        raise error from None
