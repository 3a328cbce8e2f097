"""The columnar copy of the tickets beside the store: the reads it serves equal SQLite's, and a
copy that is not the tickets' (stale, damaged, missing) is never served."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import gaopin.io.load as loader
import gaopin.store.copy as copy_module
import gaopin.store.store as store_module
from gaopin.config import Settings
from gaopin.errors import StoreError
from gaopin.store import Store, import_files
from gaopin.store.copy import CopyWriter, copy_path, copy_token, read_copy
from gaopin.store.db import TICKET_COLUMNS
from tests.builders import tickets, write_csv

NOW = datetime(2024, 9, 1, 8, 30)
HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "问题分类", "是否解决", "是否满意", "办结时间"]


def _row(i: int, day: int = 1, phone: str = "13812345678", resolved: str = "否") -> list[str]:
    return [f"GD{i:04d}", f"2024-08-{day:02d} 09:{i % 60:02d}:00", "张三", phone, f"恰海小区{i % 4}号楼", "城乡建设->供热", resolved, "", ""]


def _export(path, rows) -> object:
    return write_csv(path, [HEADER, *rows])


def _from_sqlite(store: Store, **kw) -> pd.DataFrame:
    """The reference: the same read with the copy out of the way."""
    original = store_module.read_copy
    store_module.read_copy = lambda *args: None
    try:
        return store.tickets(**kw).frame
    finally:
        store_module.read_copy = original


def _served_by_copy(store: Store) -> bool:
    """Whether the store's reads come from the copy: they are made with SQLite's read refused."""
    if read_copy(store.path, store.tickets_token()) is None:
        return False
    original = Store.read_tickets_arrow

    def refused(*args, **kwargs):
        raise AssertionError("read from SQLite")

    Store.read_tickets_arrow = refused
    try:
        for columns, until in ((None, None), (["caller_phone", "address"], date(2024, 8, 5))):
            store.tickets(columns=columns, until=until)
    except AssertionError:
        return False
    finally:
        Store.read_tickets_arrow = original
    return True


def test_a_first_import_writes_the_copy_as_it_stores_the_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    export = _export(tmp_path / "t.csv", [_row(i, day=1 + i % 20) for i in range(30)])
    store = Store(tmp_path / "g.db")
    import_files([export], store, Settings(), now=NOW)
    assert _served_by_copy(store)
    # Private as the store is: it holds callers' numbers.
    assert stat.S_IMODE(copy_path(store.path).stat().st_mode) == 0o600
    for until in (None, date(2024, 8, 5)):
        pdt.assert_frame_equal(store.tickets(until=until).frame, _from_sqlite(store, until=until))
    assert len(store.tickets(until=date(2024, 8, 5)).frame) == 10  # days 1–5 of 1–20, twice
    assert not list(tmp_path.glob(".*.new"))


def test_an_import_that_merges_leaves_the_copy_current(tmp_path):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(10)])], store, Settings(), now=NOW)
    before = store.tickets_token()
    # Three tickets answered, two new: merged into the stored ones.
    later = [_row(i, resolved="是") for i in range(3)] + [_row(i, day=2) for i in range(10, 12)]
    [done] = import_files([_export(tmp_path / "b.csv", later)], store, Settings(), now=NOW)
    assert (done.new, done.updated) == (2, 3)
    assert store.tickets_token() != before and _served_by_copy(store)
    frame = store.tickets().frame
    pdt.assert_frame_equal(frame, _from_sqlite(store))
    assert frame["resolved"].tolist() == ["是"] * 3 + ["否"] * 9


def test_an_import_that_changes_nothing_keeps_the_tickets_state(tmp_path):
    store = Store(tmp_path / "g.db")
    rows = [_row(i) for i in range(5)]
    import_files([_export(tmp_path / "a.csv", rows)], store, Settings(), now=NOW)
    token = store.tickets_token()
    written = copy_path(store.path).stat().st_mtime_ns
    # The same tickets in another file: imported (another hash), nothing changed.
    [done] = import_files([_export(tmp_path / "b.csv", rows + [rows[0]])], store, Settings(), now=NOW)
    assert (done.new, done.updated) == (0, 0)
    assert store.tickets_token() == token and copy_path(store.path).stat().st_mtime_ns == written


def test_a_copy_that_is_not_the_tickets_is_not_read(tmp_path):
    """A copy left from before a change (a crash between the commit and the copy, a store file
    restored from elsewhere) holds other values: the token tells, and SQLite is read."""
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], store, Settings(), now=NOW)
    old = tmp_path / "old.arrow"
    shutil.copyfile(copy_path(store.path), old)
    import_files([_export(tmp_path / "b.csv", [_row(0, resolved="是")])], store, Settings(), now=NOW)
    shutil.copyfile(old, copy_path(store.path))
    assert not _served_by_copy(store)
    assert store.tickets().frame["resolved"].iloc[0] == "是"


@pytest.mark.parametrize("damage", ["truncated", "not arrow", "other columns"])
def test_a_damaged_copy_is_not_read(tmp_path, damage):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], store, Settings(), now=NOW)
    reference = _from_sqlite(store)
    path = copy_path(store.path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-200])
    elif damage == "not arrow":
        path.write_bytes(b"PAR1" + bytes(100))
    else:
        table = pa.table({"ticket_id": ["X"]}).replace_schema_metadata({b"gaopin.tickets_token": store.tickets_token().encode()})
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)
    pdt.assert_frame_equal(store.tickets().frame, reference)


def test_a_copy_that_cannot_be_put_in_place_loses_nothing(tmp_path):
    store = Store(tmp_path / "g.db")
    copy_path(store.path).mkdir()  # os.replace cannot put a file there
    [done] = import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], store, Settings(), now=NOW)
    assert done.new == 6 and store.ticket_count() == 6
    assert not list(tmp_path.glob(".*.new"))
    assert len(store.tickets().frame) == 6


def test_a_failed_import_leaves_the_copy_as_it_was(tmp_path, monkeypatch):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], store, Settings(), now=NOW)
    before = copy_path(store.path).read_bytes()
    monkeypatch.setattr(store_module, "_set_tickets_token", lambda cur, token: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        import_files([_export(tmp_path / "b.csv", [_row(9)])], store, Settings(), now=NOW)
    assert copy_path(store.path).read_bytes() == before and _served_by_copy(store)
    assert store.ticket_count() == 6


def test_a_first_import_that_fails_leaves_no_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    monkeypatch.setattr(store_module, "_set_tickets_token", lambda cur, token: (_ for _ in ()).throw(RuntimeError("boom")))
    store = Store(tmp_path / "g.db")
    with pytest.raises(RuntimeError):
        import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(10)])], store, Settings(), now=NOW)
    assert store.ticket_count() == 0
    assert not copy_path(store.path).exists() and not list(tmp_path.glob(".*.new"))


def test_a_purge_rewrites_the_copy_without_the_purged_tickets(tmp_path):
    store = Store(tmp_path / "g.db")
    rows = [_row(i, day=1 + i, phone=f"139000000{i:02d}") for i in range(10)]
    import_files([_export(tmp_path / "a.csv", rows)], store, Settings(), now=NOW)
    assert store.purge(date(2024, 8, 4)) == 3
    assert _served_by_copy(store)
    data = copy_path(store.path).read_bytes()
    assert b"13900000002" not in data and b"13900000003" in data
    pdt.assert_frame_equal(store.tickets().frame, _from_sqlite(store))


def test_a_purge_that_cannot_remove_the_copy_deletes_nothing(tmp_path):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i, day=1 + i) for i in range(6)])], store, Settings(), now=NOW)
    copy_path(store.path).unlink()
    (copy_path(store.path) / "x").mkdir(parents=True)  # a folder in its place: it cannot be removed
    with pytest.raises(StoreError) as err:
        store.purge(date(2024, 8, 4))
    assert "什么也没有删除" in err.value.message and store.ticket_count() == 6


def test_tickets_stored_without_a_copy_are_read_from_sqlite_until_one_is_written(tmp_path):
    """`import_result` (the library's one-export import) leaves the copy to `import_files`."""
    store = Store(tmp_path / "g.db")
    store.import_result(tickets([{"ticket_id": "A1", "received_at": "2024-08-03 09:00:00"}]), "a.xlsx", "sha-a", NOW)
    assert store.tickets_token() is not None and copy_token(store.path) is None
    assert store.tickets().frame["ticket_id"].tolist() == ["A1"]
    store.keep_copy_current()
    assert _served_by_copy(store)


_TEXT = st.one_of(st.none(), st.just(""), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6))
_DAY = st.one_of(st.none(), st.integers(min_value=1, max_value=28))


@settings(max_examples=30, deadline=None)
@given(
    first=st.lists(st.tuples(st.integers(0, 15), _DAY, _TEXT, _TEXT), min_size=1, max_size=12),
    later=st.lists(st.tuples(st.integers(0, 15), _DAY, _TEXT, _TEXT), max_size=12),
    until=st.one_of(st.none(), st.integers(min_value=1, max_value=28)),
    purge=st.one_of(st.none(), st.integers(min_value=1, max_value=28)),
)
def test_the_copy_serves_what_sqlite_does(tmp_path_factory, first, later, until, purge):
    """Any tickets, a first import and a merging one, a purge: every read the copy serves equals
    SQLite's, frame for frame."""
    folder = tmp_path_factory.mktemp("copy")
    store = Store(folder / "g.db")

    def rows(spec):
        out = {}
        for i, day, name, address in spec:  # one row per id: the loader merges repeats its own way
            out[i] = {"ticket_id": f"T{i}", "received_at": f"2024-08-{day:02d} 10:00:00" if day else None, "caller_name": name, "address": address}
        return list(out.values())

    store.import_result(tickets(rows(first)), "a.xlsx", "sha-a", NOW)
    store.keep_copy_current()
    if later:
        store.import_result(tickets(rows(later)), "b.xlsx", "sha-b", NOW)
        store.keep_copy_current()
    if purge:
        store.purge(date(2024, 8, purge))
    assert _served_by_copy(store)
    day = date(2024, 8, until) if until else None
    pdt.assert_frame_equal(store.tickets(until=day).frame, _from_sqlite(store, until=day))
    store.close()


def test_a_store_upgraded_from_before_the_copy_gets_one_at_its_next_import(tmp_path):
    path = tmp_path / "g.db"
    export = _export(tmp_path / "a.csv", [_row(i) for i in range(6)])
    with Store(path) as store:
        store.import_result(tickets([{"ticket_id": f"GD{i:04d}", "received_at": "2024-08-01 09:00:00"} for i in range(6)]), "a.csv", "sha-a", NOW)
    copy_path(path).unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:  # as structure version 8 left it
        conn.execute("DROP TABLE tickets_state")
        conn.execute("PRAGMA user_version = 8")
    store = Store(path)
    assert store.tickets_token() is not None and copy_token(path) is None
    import_files([export], store, Settings(), now=NOW)
    assert _served_by_copy(store)
    pdt.assert_frame_equal(store.tickets().frame, _from_sqlite(store))


def test_an_interrupted_publish_leaves_no_half_written_copy(tmp_path, monkeypatch):
    writer = CopyWriter(tmp_path / "g.db", "token")
    writer.add(pa.table({name: ["13812345678"] for name in TICKET_COLUMNS}))

    def ctrl_c(timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.thread, "join", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        writer.publish()
    assert list(tmp_path.glob("*arrow*")) == []


def test_a_writer_whose_thread_fails_neither_hangs_nor_leaves_a_file(tmp_path):
    writer = CopyWriter(tmp_path / "g.db", "token")
    done = []

    def feed():
        for _ in range(5):  # more than its queue holds: a dead thread would leave the caller waiting
            writer.add(pa.table({"ticket_id": ["A1"]}))  # no other column: select() fails in the thread
        done.append(writer.publish())

    feeding = threading.Thread(target=feed, daemon=True)
    feeding.start()
    feeding.join(30)
    assert done == [False] and list(tmp_path.glob("*arrow*")) == []


def test_a_purge_removes_copies_a_killed_run_left_half_written(tmp_path):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i, day=1 + i, phone=f"139000000{i:02d}") for i in range(6)])], store, Settings(), now=NOW)
    left = tmp_path / f".{copy_path(store.path).name}.4242.1.new"
    left.write_bytes(b"13900000001")
    started = tmp_path / f".{copy_path(store.path).name}.somepc.4242.1.new-start"  # killed before it was renamed
    started.write_bytes(b"")
    store.purge(date(2024, 8, 3))
    assert not left.exists() and not started.exists() and _served_by_copy(store)


# `gaopin ARGS` killed outright (SIGKILL: no clean-up runs) once the copy's writer has been given
# the import's first part: at a point that does not depend on timing.
_KILLED_WHILE_COPYING = """
import os, signal, sys
import gaopin.store.copy as copy
add = copy.CopyWriter.add
def add_then_die(self, table):
    add(self, table)
    os.kill(os.getpid(), signal.SIGKILL)
copy.CopyWriter.add = add_then_die
from gaopin.cli import main
sys.argv[0] = "gaopin"
main()
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_copy_a_killed_import_left_half_written_goes_at_the_next_import(tmp_path):
    from tests.delivery_data import python_env

    db = tmp_path / "g.db"
    export = _export(tmp_path / "a.csv", [_row(i, day=1 + i, phone=f"139000000{i:02d}") for i in range(6)])
    env = python_env(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_COPYING, "import", str(export), "--db", str(db)],
        capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    [left] = tmp_path.glob(f".{copy_path(db).name}.*.new")  # the callers' numbers, in a hidden file
    store = Store(db)
    import_files([_export(tmp_path / "b.csv", [_row(i, day=2) for i in range(6, 9)])], store, Settings(), now=NOW)
    assert not left.exists() and not list(tmp_path.glob(".*.new"))
    assert _served_by_copy(store)


@pytest.mark.skipif(os.name == "nt", reason="POSIX locks")
def test_a_copy_being_written_is_not_taken_for_a_leftover_when_its_writer_looks_ended(tmp_path, monkeypatch):
    """Another run's sweep where every writer looks ended (a container with its own process
    numbers, another computer of the same name) leaves the copy being written alone."""
    import gaopin.processes as processes

    writer = CopyWriter(tmp_path / "g.db", "token")
    monkeypatch.setattr(processes, "process_alive", lambda pid: False)
    copy_module.sweep_leftovers(tmp_path / "g.db")
    writer.add(pa.table({name: ["13812345678"] for name in TICKET_COLUMNS}))
    assert writer.publish() and read_copy(tmp_path / "g.db", "token") is not None


def test_a_copy_that_cannot_be_made_after_an_import_is_no_failure_of_the_import(tmp_path, monkeypatch):
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], store, Settings(), now=NOW)

    def locked(*args, **kwargs):
        raise StoreError("工单库正被另一个程序写入", "")

    monkeypatch.setattr(Store, "read_tickets_arrow", locked)
    [done] = import_files([_export(tmp_path / "b.csv", [_row(0, resolved="是")])], store, Settings(), now=NOW)
    assert done.updated == 1 and not _served_by_copy(store)
    monkeypatch.undo()
    assert store.tickets().frame["resolved"].iloc[0] == "是"


def test_a_store_reached_through_a_link_has_the_one_copy(tmp_path):
    real = tmp_path / "g.db"
    import_files([_export(tmp_path / "a.csv", [_row(i) for i in range(6)])], Store(real), Settings(), now=NOW)
    link = tmp_path / "link.db"
    link.symlink_to(real)
    store = Store(link)
    assert copy_path(link) == copy_path(real) and _served_by_copy(store)


MOUNTS = """/dev/vda / ext4 rw,relatime 0 0
server:/share /mnt/office\\040drive nfs4 rw,relatime 0 0
/dev/sdb1 /mnt/office\\040drive/usb vfat rw 0 0
//nas/gaopin /srv/gaopin cifs rw 0 0
sshfs#me@host: /home/me/remote fuse.sshfs rw 0 0
"""


@pytest.mark.parametrize(
    "path, mapped",
    [
        ("/home/me/g.db-tickets.arrow", True),
        ("/mnt/office drive/g.db-tickets.arrow", False),  # the mount point's space written \040
        ("/mnt/office drive/usb/g.db-tickets.arrow", True),  # the longest mount point decides
        ("/mnt/office drivex/g.db-tickets.arrow", True),  # not inside the network drive
        ("/srv/gaopin/g.db-tickets.arrow", False),
        ("/home/me/remote/g.db-tickets.arrow", False),
    ],
)
def test_a_copy_on_a_network_drive_is_read_not_mapped(path, mapped):
    assert copy_module.mappable(Path(path), MOUNTS) is mapped


def test_a_copy_that_is_read_not_mapped_serves_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(copy_module, "mappable", lambda path, mounts=None: False)
    store = Store(tmp_path / "g.db")
    import_files([_export(tmp_path / "a.csv", [_row(i, day=1 + i % 20) for i in range(30)])], store, Settings(), now=NOW)
    assert _served_by_copy(store)
    pdt.assert_frame_equal(store.tickets(until=date(2024, 8, 5)).frame, _from_sqlite(store, until=date(2024, 8, 5)))
