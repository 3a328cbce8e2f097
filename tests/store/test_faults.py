"""A full disk, a damaged page and Ctrl-C inside the driver: a store error or an interrupt that
the CLI reports as documented (exit 6, exit 130), never an internal error; the store as it was.

The full disk is SQLite's own: `PRAGMA max_page_count` at the file's size makes any write that
needs one more page fail with SQLITE_FULL ("database or disk is full"), and SQLite then rolls
back the whole transaction itself, as it does when the disk runs out (for the backup before a
migration, the limit is put on the backup's file).
The damaged store is a real store with one page of its tickets overwritten.
"""

import os
import signal
import sqlite3
import threading
import time
from datetime import date, datetime

import pytest
from tests.builders import at, caller_tickets, damaged_store, store_at_version, store_with, tickets

from gaopin.config import Settings
from gaopin.errors import ExitCode, StoreError
from gaopin.ledger.refresh import refresh
from gaopin.store import Store, import_files, tickets_from
from gaopin.store.db import LATEST, PAGE_SIZE

ROW = {"ticket_id": "A1", "received_at": at("2024-08-03"), "caller_name": "张三", "caller_phone": "13812345678"}


def _no_room(store: Store) -> None:
    """Both of the store's connections may not make the file any larger (nor use free pages)."""
    store.conn.execute("VACUUM")
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    cur = store._bulk().cursor()
    cur.execute(f"PRAGMA max_page_count = {pages}")
    cur.fetchall()
    cur.close()


def test_a_full_disk_is_a_store_error_for_every_kind_of_write(tmp_path):
    path = tmp_path / "g.db"
    store = store_with(path, [ROW])
    long = "长" * 50_000  # more than the free room in the file's pages
    writes = {
        "exclude (sqlite3)": lambda: store.exclude("A1", long, date(2024, 9, 1)),
        "import (ADBC)": lambda: store.import_result(tickets([{**ROW, "ticket_id": f"N{i}", "content": long} for i in range(3)]), "b.xlsx", "sha-b", datetime(2024, 9, 1)),
        "ledger refresh (ADBC, write lock first)": lambda: refresh(store, Settings(), date(2024, 12, 31)),
    }
    callers = [t for n in range(300) for t in caller_tickets(f"C{n:03d}-", f"139{n:08d}", f"居民{n}", range(8), point=f"小区{n}号楼")]  # a ledger of 300 entries
    store.import_result(tickets(callers), "c.xlsx", "sha-c", datetime(2024, 9, 1))
    for name, write in writes.items():
        _no_room(store)
        before = path.read_bytes()
        with pytest.raises(StoreError) as err:
            write()
        assert err.value.message == f"无法写入工单库 {path}：磁盘已满", name
        assert err.value.exit_code == ExitCode.STORE and "清理磁盘空间" in err.value.hint
        assert path.read_bytes() == before, name
    # Room again: the same store object writes (a connection SQLite rolled back is usable).
    store.conn.execute("PRAGMA max_page_count = 1000000")
    store.exclude("A1", long, date(2024, 9, 1))
    assert store.import_result(tickets([{**ROW, "ticket_id": "N9"}]), "d.xlsx", "sha-d", datetime(2024, 9, 1)).new == 1
    store.close()


def test_a_full_disk_during_the_backup_before_a_migration_leaves_no_backup(tmp_path, monkeypatch):
    path = store_at_version(tmp_path / "old.db", LATEST - 1)
    before = path.read_bytes()
    connect = sqlite3.connect

    def full_at_the_backup(target, *args, **kwargs):
        conn = connect(target, *args, **kwargs)
        if str(target).endswith(".bak"):
            conn.execute("PRAGMA max_page_count = 2")  # its disk fills after two pages
        return conn

    monkeypatch.setattr(sqlite3, "connect", full_at_the_backup)
    with pytest.raises(StoreError) as err:
        Store(path, create=False)
    assert err.value.message == f"无法在升级工单库 {path} 之前备份它（磁盘已满），工单库没有改动"
    assert err.value.exit_code == ExitCode.STORE
    assert sorted(p.name for p in tmp_path.glob("old.db*")) == ["old.db"]  # no part of a backup left
    assert path.read_bytes() == before


def test_a_damaged_store_is_a_store_error_and_is_left_as_it_is(tmp_path):
    path = damaged_store(tmp_path)
    before = path.read_bytes()
    export = tmp_path / "a.csv"
    export.write_text("工单编号,受理时间,来电人\nT01500,2024-08-03 09:00,张三\n", encoding="utf-8")  # on the damaged page
    runs = {
        "warn/report reading the tickets": lambda: tickets_from(None, str(path), Settings()),
        "import --force": lambda: _with_store(path, lambda s: import_files([export], s, Settings(), datetime(2024, 9, 1), force=True)),
        "ledger refresh": lambda: _with_store(path, lambda s: refresh(s, Settings(), date(2024, 12, 31))),
        "purge": lambda: _with_store(path, lambda s: s.purge(date(2024, 9, 1))),
    }
    for name, run in runs.items():
        with pytest.raises(StoreError) as err:
            run()
        assert err.value.message == f"工单库 {path} 已损坏（database disk image is malformed）", name
        assert "从备份恢复" in err.value.hint
        assert path.read_bytes() == before, name  # purge deleted nothing


def _with_store(path, work):
    with Store(path, create=False) as store:
        return work(store)


def test_a_damaged_first_page_gets_the_same_message(tmp_path):
    path = damaged_store(tmp_path)
    data = bytearray(path.read_bytes())
    data[100:PAGE_SIZE] = bytes(range(256)) * ((PAGE_SIZE - 100) // 256) + bytes((PAGE_SIZE - 100) % 256)  # the schema's page, header kept
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as err:
        Store(path, create=False)
    assert err.value.message == f"工单库 {path} 已损坏（database disk image is malformed）"


# A statement that keeps SQLite busy for a while (0.7 s on the development machine).
_LONG = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 8000000) SELECT sum(x) AS s FROM n"


def _ctrl_c_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_during_a_driver_call_reaches_python(tmp_path):
    """While a call into the ADBC driver runs in the main thread, the driver manager would put its
    own SIGINT handler in Python's place and ask the SQLite driver to cancel, which it cannot
    (NotSupportedError), and a Ctrl-C near the end of a call was lost. Python's handler keeps it:
    the call ends and a KeyboardInterrupt follows."""
    store = store_with(tmp_path / "g.db", [ROW])
    timer = _ctrl_c_after(0.1)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.read_arrow(_LONG)
            time.sleep(30)  # a statement quicker than the timer: the interrupt still comes here
    finally:
        timer.cancel()
        store.close()


def test_ctrl_c_during_a_driver_call_keeps_nothing_of_the_transaction(tmp_path):
    """Ctrl-C while the driver runs a statement of a write transaction: a KeyboardInterrupt (exit
    130), and nothing of the transaction kept."""
    path = tmp_path / "g.db"
    store = store_with(path, [ROW])
    before = path.read_bytes()
    timer = _ctrl_c_after(0.1)
    try:
        with pytest.raises(KeyboardInterrupt):
            with store.bulk_transaction() as writer:
                writer.execute("DELETE FROM tickets")
                writer.execute(f"CREATE TABLE scratch AS {_LONG}")
                time.sleep(30)
    finally:
        timer.cancel()
        store.close()
    assert path.read_bytes() == before


def test_a_malformed_read_of_a_whole_store_is_a_read_to_run_again_not_a_restore(tmp_path):
    """A read can meet torn pages of a whole store when another process writes into it (the two
    copies of SQLite in one process can drop each other's read locks). Telling staff to restore
    it from a backup would lose what was written since: the file is checked first."""
    from gaopin.store.db import store_error

    path = tmp_path / "g.db"
    store_with(path, [ROW]).close()
    error = store_error(sqlite3.DatabaseError("database disk image is malformed"), path)
    assert error.message == f"读取工单库 {path} 时读到的内容前后不一致（另一个 gaopin 进程可能正在写入它）；检查过，工单库本身完好"
    assert error.hint.startswith("请重新运行这条命令") and error.exit_code == ExitCode.STORE
    damaged = damaged_store(tmp_path)
    assert store_error(sqlite3.DatabaseError("database disk image is malformed"), damaged).message == f"工单库 {damaged} 已损坏（database disk image is malformed）"
