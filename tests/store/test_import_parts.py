"""The first import into a store inserts its tickets part by part while the file is still being
converted: what it stores equals one insert of the whole, and a failure leaves nothing behind."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

import pyarrow as pa
import pytest

import gaopin.io.load as loader
import gaopin.store.store as store_module
from gaopin.config import Settings
from gaopin.errors import InputError
from gaopin.io.load import load
from gaopin.store import Store, import_files
from tests.builders import write_csv, write_xlsx

NOW = datetime(2024, 9, 1, 8, 30)
HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "是否解决", "办结时间", "备注"]


def _export(path, n=30):
    rows = []
    for i in range(n):
        rows.append(
            [
                "" if i == 7 else f"GD{i:04d}",  # one row without an id: rejected
                "昨天" if i == 3 else f"2024-08-{1 + i % 28:02d} {i % 24:02d}:05:00",
                ["张三", "李四", " 王五 "][i % 3],
                ["13812345678", "138-1234-5678", "12345", ""][i % 4],
                "恰海小区3号楼" if i % 2 else "",
                ["是", "否", "说不清"][i % 3],
                "" if i % 5 else "2024-09-01 10:00:00",
                'a "quoted" note' if i == 11 else ("" if i % 4 else f"备注{i}"),
            ]
        )
    return write_csv(path, [HEADER, *rows])


def _contents(store: Store) -> dict:
    conn = store.conn
    return {
        "tickets": conn.execute("SELECT * FROM tickets ORDER BY rowid").fetchall(),
        "imports": conn.execute("SELECT * FROM imports ORDER BY id").fetchall(),
        "rejected": conn.execute("SELECT * FROM rejected_rows ORDER BY rowid").fetchall(),
        "fields": conn.execute("SELECT name FROM fields ORDER BY name").fetchall(),
    }


def _counting_tables(monkeypatch) -> list[int]:
    sizes: list[int] = []
    original = store_module._ticket_table

    def counted(text, import_id):
        sizes.append(len(text))
        return original(text, import_id)

    monkeypatch.setattr(store_module, "_ticket_table", counted)
    return sizes


def test_a_first_import_in_parts_stores_what_one_insert_of_the_whole_does(tmp_path, monkeypatch):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    sizes = _counting_tables(monkeypatch)
    parts = Store(tmp_path / "parts.db")
    [done] = import_files([path], parts, Settings(), now=NOW)
    assert sizes == [4, 3, 4, 4, 4, 4, 4, 2]  # the second part lost the row without an id
    assert (done.new, len(done.rejected)) == (29, 1)

    whole = Store(tmp_path / "whole.db")
    whole.import_result(load([path], Settings(), keep_extra=True), path.name, store_module.file_sha256(path), NOW)
    assert _contents(parts) == _contents(whole)
    assert len(_contents(parts)["tickets"]) == 29


def test_an_import_into_a_store_with_tickets_is_one_insert(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", n=5)], store, Settings(), now=NOW)
    sizes = _counting_tables(monkeypatch)
    [done] = import_files([_export(tmp_path / "b.csv", n=12)], store, Settings(), now=NOW)
    assert sizes == [6]  # GD0005–GD0011 but the rejected GD0007, once the whole file was compared with the store
    assert (done.new, done.updated + done.unchanged) == (6, 5)


def _no_insert_thread() -> bool:
    return not any(t.name == "gaopin-insert" for t in threading.enumerate())


def _writeback_ended(within_s: float = 5.0) -> bool:
    """Whether the store's flushing thread ended (it is not waited for: it ends after its flush)."""
    deadline = time.monotonic() + within_s
    while any(t.name == "gaopin-writeback" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_store_is_flushed_while_the_parts_go_in_and_the_flushing_ends_with_the_import(tmp_path, monkeypatch):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    real = getattr(os, "fdatasync", os.fsync)
    flushed: list[tuple[str, int]] = []

    def recorded(fd):
        flushed.append((threading.current_thread().name, os.fstat(fd).st_ino))
        return real(fd)

    monkeypatch.setattr(os, "fdatasync", recorded, raising=False)
    store = Store(tmp_path / "g.db")
    [done] = import_files([path], store, Settings(), now=NOW)
    assert done.new == 29
    assert ("gaopin-writeback", (tmp_path / "g.db").stat().st_ino) in flushed
    assert _writeback_ended()


@pytest.mark.parametrize("broken", [2, 8])  # a part while others follow, and the last part
def test_a_part_that_fails_to_insert_leaves_the_store_as_it_was(tmp_path, monkeypatch, broken):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    original = store_module._ticket_table
    calls = []

    def one_part_broken(text, import_id):
        calls.append(1)
        table = original(text, import_id)
        return table.append_column("no_such_column", pa.array([1] * len(table))) if len(calls) == broken else table

    monkeypatch.setattr(store_module, "_ticket_table", one_part_broken)
    store = Store(tmp_path / "g.db")
    with pytest.raises(Exception, match="no_such_column"):
        import_files([path], store, Settings(), now=NOW)
    assert _no_insert_thread() and _writeback_ended()
    assert _contents(store) == {"tickets": [], "imports": [], "rejected": [], "fields": []}
    monkeypatch.setattr(store_module, "_ticket_table", original)
    [done] = import_files([path], store, Settings(), now=NOW)  # the same file again, now that it works
    assert done.new == 29


@pytest.mark.parametrize("failure", [InputError("读到一半出错", "重试"), KeyboardInterrupt()])
def test_a_load_that_fails_after_parts_were_inserted_leaves_the_store_as_it_was(tmp_path, monkeypatch, failure):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    sizes = _counting_tables(monkeypatch)

    def fails(parts):
        raise failure

    monkeypatch.setattr(loader, "_findings", fails)  # runs after every part was handed over
    store = Store(tmp_path / "g.db")
    with pytest.raises(type(failure)):
        import_files([path], store, Settings(), now=NOW)
    assert len(sizes) == 8
    assert _no_insert_thread()
    assert _contents(store) == {"tickets": [], "imports": [], "rejected": [], "fields": []}


def test_no_lock_is_taken_before_the_first_part(tmp_path, monkeypatch):
    # Reading and converting the first part must not keep other writers out of the store.
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    other = tmp_path / "other.csv"
    _export(other, n=3)
    original_read = loader.read

    def read_while_another_imports(*args, **kwargs):
        # Another process imports first, after this import looked at the empty store.
        monkeypatch.setattr(loader, "read", original_read)
        import_files([other], Store(tmp_path / "g.db"), Settings(), now=NOW)
        return original_read(*args, **kwargs)

    monkeypatch.setattr(loader, "read", read_while_another_imports)
    sizes = _counting_tables(monkeypatch)
    store = Store(tmp_path / "g.db")
    [done] = import_files([path], store, Settings(), now=NOW)
    # The store was no longer empty when the first part came: one insert of the tickets not yet stored.
    assert sizes == [3, 26]
    assert (done.new, done.updated + done.unchanged) == (26, 3)
    assert store.conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 29


def test_an_input_error_that_mentions_busy_is_not_a_locked_store(tmp_path):
    folder = tmp_path / "busy_week"
    folder.mkdir()
    path = write_csv(folder / "工单.csv", [["名称", "数量"], ["a", "1"]])
    with pytest.raises(InputError, match="busy_week"):
        import_files([path], Store(tmp_path / "g.db"), Settings(), now=NOW)


def test_an_xlsx_first_import_in_parts_equals_one_insert(tmp_path, monkeypatch):
    rows = [[f"GD{i:04d}", f"2024-08-{1 + i % 28:02d} 09:00:00", "张三", 13812345678 + i % 3, "恰海小区3号楼", "是"] for i in range(11)]
    path = write_xlsx(tmp_path / "t.xlsx", [HEADER[:6], *rows])
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    sizes = _counting_tables(monkeypatch)
    parts = Store(tmp_path / "parts.db")
    import_files([path], parts, Settings(), now=NOW)
    assert sizes == [4, 4, 3]
    whole = Store(tmp_path / "whole.db")
    whole.import_result(load([path], Settings(), keep_extra=True), path.name, store_module.file_sha256(path), NOW)
    assert _contents(parts) == _contents(whole)


def test_stopping_waits_for_the_part_being_inserted_even_when_the_thread_reads_as_ended(monkeypatch):
    """Python 3.11 marks a running thread as ended when a Ctrl-C interrupts its join(): the
    insert was then rolled back under the running thread (a segmentation fault). `stop` waits
    for the thread's own word that it has ended."""
    release, inserting = threading.Event(), threading.Event()
    done: list[str] = []

    class SlowCursor:
        def adbc_ingest(self, name, table, mode):
            inserting.set()
            release.wait(5)
            done.append(name)

    inserter = store_module._PartInserter(SlowCursor(), lambda: 1)
    inserter.queue.put(pa.table({"x": [1]}))
    inserter.thread = threading.Thread(target=inserter._run, daemon=True)
    inserter.thread.start()
    assert inserting.wait(5)
    monkeypatch.setattr(threading.Thread, "is_alive", lambda self: False)  # as after the interrupted join
    threading.Timer(0.3, release.set).start()
    inserter.stop()
    assert done == ["tickets"] and inserter.thread is None


def _open_on(path) -> int:
    """How many of this process's descriptors are open on the file (Linux: -1 elsewhere)."""
    if not os.path.isdir("/proc/self/fd"):
        return -1
    return [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")].count(str(path.resolve()))


def test_an_import_without_a_thread_to_flush_with_still_goes_in_and_leaves_no_file_open(tmp_path, monkeypatch):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    flushed = Store(tmp_path / "flushed.db")
    import_files([path], flushed, Settings(), now=NOW)
    assert _writeback_ended()
    start = threading.Thread.start

    def refused(thread):
        if thread.name == "gaopin-writeback":
            raise RuntimeError("can't start new thread")
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", refused)
    store = Store(tmp_path / "g.db")
    [done] = import_files([path], store, Settings(), now=NOW)
    assert done.new == 29
    # As many descriptors on the store as an import that flushed leaves (SQLite's own).
    assert _open_on(tmp_path / "g.db") == _open_on(tmp_path / "flushed.db")
