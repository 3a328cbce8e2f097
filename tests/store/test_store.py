import contextlib
import os
from pathlib import Path
import shutil
import sqlite3
import stat
import subprocess
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from tests.builders import at, held_by_another_process, store_at_version, store_with, tickets

from gaopin.config import Settings
from gaopin.errors import StoreError, UsageError
from gaopin.store import Store, import_files, import_into
from gaopin.store.copy import remove_copy
from gaopin.store.db import LATEST, MIGRATIONS
from gaopin.io.load import load

ROW = {"ticket_id": "A1", "received_at": at("2024-08-03"), "caller_name": "张三", "caller_phone": "13812345678", "resolved": "否", "satisfied": "不满意", "community": "恰海社区"}


def test_new_tickets_are_inserted_and_read_back(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW, {**ROW, "ticket_id": "A2"}])
    result = store.tickets()
    assert result.frame["ticket_id"].tolist() == ["A1", "A2"]
    assert str(result.frame["received_at"].iloc[0]) == "2024-08-03 09:00:00"
    assert result.has("caller_phone") and not result.has("address")


def test_a_later_export_updates_field_by_field_and_keeps_history(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW])
    later = tickets([{**ROW, "resolved": "是", "satisfied": None}])  # blank satisfied must not erase
    summary = store.import_result(later, "later.xlsx", "sha-later", datetime(2024, 9, 1))
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 0)
    row = store.tickets().frame.iloc[0]
    assert row["resolved"] == "是" and row["satisfied"] == "不满意"
    assert store.history("A1") == [{"field": "resolved", "old": "否", "new": "是", "file": "later.xlsx", "imported_at": "2024-09-01 00:00:00"}]


def test_a_later_export_fills_in_what_was_blank(tmp_path):
    """Call-back results, closing times and corrected addresses come in later exports: a field
    stored blank takes the later value, counted as an update with its history."""
    store = store_with(tmp_path / "g.db", [{**ROW, "resolved": None, "satisfied": None, "address": None}])
    later = tickets([{**ROW, "resolved": "否", "satisfied": "不满意", "address": None, "closed_at": at("2024-08-06")}])
    summary = store.import_result(later, "later.xlsx", "sha-later", datetime(2024, 9, 1))
    assert (summary.new, summary.updated, summary.unchanged) == (0, 1, 0)
    row = store.tickets().frame.iloc[0]
    assert (row["resolved"], row["satisfied"], str(row["closed_at"])) == ("否", "不满意", "2024-08-06 09:00:00")
    assert pd.isna(row["address"])
    assert sorted((h["field"], h["old"], h["new"]) for h in store.history("A1")) == [
        ("closed_at", None, "2024-08-06 09:00:00"),
        ("resolved", None, "否"),
        ("satisfied", None, "不满意"),
    ]


_ANSWER = st.sampled_from([None, "是", "否"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_ANSWER, _ANSWER, _ANSWER, _ANSWER), min_size=1, max_size=6))
def test_a_merge_keeps_the_later_value_where_there_is_one(tmp_path_factory, pairs):
    """Against a plain reference, field by field: the later export's value where it has one,
    else the stored one; a ticket is updated when any stored value changes."""
    path = tmp_path_factory.mktemp("merge") / "g.db"
    first = [{**ROW, "ticket_id": f"T{i}", "resolved": a, "contacted": b} for i, (a, b, _, _) in enumerate(pairs)]
    later = [{**ROW, "ticket_id": f"T{i}", "resolved": c, "contacted": d} for i, (_, _, c, d) in enumerate(pairs)]
    store = store_with(path, first)
    summary = store.import_result(tickets(later), "later.xlsx", "sha-later", datetime(2024, 9, 1))
    frame = store.tickets().frame.set_index("ticket_id")
    kept = lambda old, new: new if new is not None else old  # noqa: E731
    for i, (a, b, c, d) in enumerate(pairs):
        got = tuple(None if pd.isna(v) else v for v in frame.loc[f"T{i}", ["resolved", "contacted"]])
        assert got == (kept(a, c), kept(b, d))
    changed = sum((c is not None and c != a) or (d is not None and d != b) for a, b, c, d in pairs)
    assert (summary.updated, summary.unchanged) == (changed, len(pairs) - changed)
    store.close()


def test_an_identical_or_emptier_row_is_unchanged(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW])
    again = store.import_result(tickets([ROW]), "again.xlsx", "sha-again", datetime(2024, 9, 1))
    emptier = store.import_result(tickets([{**ROW, "caller_name": None}]), "emptier.xlsx", "sha-e", datetime(2024, 9, 1))
    assert (again.unchanged, again.updated, emptier.unchanged, emptier.updated) == (1, 0, 1, 0)
    assert store.history("A1") == []


def _export(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工单编号", "受理时间", "诉求人", "联系电话", "是否解决"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_import_files_skips_a_file_seen_before_unless_forced(tmp_path):
    path = _export(tmp_path / "a.xlsx", [["A1", "2024-08-03 09:00", "张三", 13812345678, "解决"], [None, "2024-08-03 10:00", "李四", None, "否"]])
    store = Store(tmp_path / "g.db")
    first = import_files([path], store, Settings(), now=datetime(2024, 9, 1))[0]
    assert (first.skipped, first.new, len(first.rejected)) == (False, 1, 1)
    assert first.rejected[0].message == "缺少工单编号"
    second = import_files([path], store, Settings(), now=datetime(2024, 9, 2))[0]
    assert second.skipped
    forced = import_files([path], store, Settings(), now=datetime(2024, 9, 3), force=True)[0]
    assert (forced.skipped, forced.new, forced.unchanged) == (False, 0, 1)
    assert [i["new"] for i in store.imports()] == [1, 0]
    assert store.conn.execute("SELECT reason FROM rejected_rows").fetchall() == [("缺少工单编号",), ("缺少工单编号",)]


def test_every_import_records_the_files_hash_and_a_second_copy_is_skipped(tmp_path):
    import hashlib

    path = _export(tmp_path / "a.xlsx", [["A1", "2024-08-03 09:00", "张三", 13812345678, "解决"]])
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(path.read_bytes())
    store = Store(tmp_path / "g.db")  # a new store (hashed while read) and then a store with imports
    done = import_files([path, copy], store, Settings(), now=datetime(2024, 9, 1))
    done += import_files([path], store, Settings(), now=datetime(2024, 9, 2), force=True)
    assert [d.skipped for d in done] == [False, True, False]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [i["sha256"] for i in store.imports()] == [sha, sha]


def _imported_by_another_run_meanwhile(monkeypatch, check: str, path, db) -> None:
    """The store's look before an import (`check`: has_import, or has_any_import for a store
    without imports) answers as it found, and then another run's import of the same file
    commits, on a connection of its own to the same file: the moment between that look and
    the write lock, where two `gaopin import` of one file at once meet."""
    original = getattr(Store, check)

    def look(self, *args):
        found = original(self, *args)
        monkeypatch.setattr(Store, check, original)
        with Store(db) as other:
            assert not import_files([path], other, Settings(), now=datetime(2024, 9, 2))[0].skipped
        return found

    monkeypatch.setattr(Store, check, look)


@pytest.mark.parametrize("check", ["has_import", "has_any_import"])
def test_a_file_another_run_imported_meanwhile_is_skipped(tmp_path, monkeypatch, check):
    """Two imports of an old export at once and then a newer one: the second of the old is
    skipped as when run one after another, and does not put the old values back after the new."""
    old = _export(tmp_path / "old.xlsx", [["A1", "2024-08-03 09:00", "张三", 13812345678, "否"]])
    new = _export(tmp_path / "new.xlsx", [["A1", "2024-08-03 09:00", "张三", 13812345678, "是"]])
    db = tmp_path / "g.db"
    store = Store(db)
    if check == "has_import":  # a store with imports: the file's hash is looked up
        import_files([_export(tmp_path / "other.xlsx", [["B1", "2024-08-01 09:00", "李四", 13912345678, "是"]])], store, Settings(), now=datetime(2024, 9, 1))
    _imported_by_another_run_meanwhile(monkeypatch, check, old, db)
    [again] = import_files([old], store, Settings(), now=datetime(2024, 9, 3))
    import_files([new], store, Settings(), now=datetime(2024, 9, 4))
    assert again.skipped
    assert [i["file"] for i in store.imports()][-2:] == ["old.xlsx", "new.xlsx"]
    assert store.conn.execute("SELECT resolved FROM tickets WHERE ticket_id = 'A1'").fetchone() == ("是",)
    store.close()


def test_store_file_is_private(tmp_path):
    store_with(tmp_path / "g.db", [ROW])
    assert stat.S_IMODE(os.stat(tmp_path / "g.db").st_mode) == 0o600


def test_migration_from_an_older_schema_backs_up_first(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO imports VALUES (1, 'a.xlsx', 'x', '2024-01-01 00:00:00', 1, 1, 0, 0, 0)")
    conn.execute("INSERT INTO tickets (ticket_id, received_at, first_import, last_import) VALUES ('OLD1', '2024-01-02 08:00:00', 1, 1)")
    conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store.tickets().frame["ticket_id"].tolist() == ["OLD1"]
    backup = tmp_path / "old.db.v1.bak"
    assert backup.exists()
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT ticket_id FROM tickets").fetchall() == [("OLD1",)]
    # The new tables exist and work.
    store.exclude("OLD1", "申诉已通过", date(2024, 2, 1))
    assert store.exclusions() == {"OLD1": "申诉已通过"}


def test_answers_an_earlier_version_kept_as_typed_are_read_as_an_import_reads_them_now(tmp_path):
    """059fc1d stored 非常不满意, 很满意 and 已解决 as typed: its figures then differed from a fresh
    import of the same exports, and re-importing the unchanged files was skipped."""
    typed = {"R1": ("已解决", "非常不满意"), "R2": ("解决", "很满意"), "R3": ("未解决", "还行吧"), "R4": ("是", "满意")}
    export = tmp_path / "a.csv"
    export.write_text("工单编号,来电时间,是否解决,是否满意\n" + "".join(f"{t},2024-08-03 10:00,{r},{s}\n" for t, (r, s) in typed.items()), encoding="utf-8")
    fresh = Store(tmp_path / "fresh.db")
    import_files([export], fresh, Settings(), now=datetime(2024, 9, 1))
    expected = fresh.conn.execute("SELECT ticket_id, resolved, satisfied FROM tickets ORDER BY ticket_id").fetchall()
    assert expected == [("R1", "是", "不满意"), ("R2", "是", "满意"), ("R3", "否", "还行吧"), ("R4", "是", "满意")]
    fresh.close()
    path = tmp_path / "old.db"
    shutil.copyfile(tmp_path / "fresh.db", path)
    conn = sqlite3.connect(path, isolation_level=None)  # as the earlier version left it
    conn.executemany("UPDATE tickets SET resolved = ?, satisfied = ? WHERE ticket_id = ?", [(r, s, t) for t, (r, s) in typed.items()])
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    store = Store(path)
    assert store.conn.execute("SELECT ticket_id, resolved, satisfied FROM tickets ORDER BY ticket_id").fetchall() == expected
    assert store.conn.execute("SELECT count(*) FROM ticket_history").fetchone() == (0,)  # a reading, not an import
    store.close()
    assert sqlite3.connect(tmp_path / "old.db.v7.bak").execute("SELECT satisfied FROM tickets WHERE ticket_id = 'R1'").fetchone() == ("非常不满意",)


def test_two_runs_upgrading_one_store_at_once_both_go_on(tmp_path):
    """Two commands opened a store of an earlier version at the same moment: the one that came
    second failed with 升级到结构版本 7 失败（table ledger_state already exists） and left a
    second backup."""
    from gaopin.store.db import LATEST, migrate

    path = store_at_version(tmp_path / "old.db", LATEST - 2)
    stale = sqlite3.connect(path, isolation_level=None)
    assert stale.execute("PRAGMA user_version").fetchone()[0] == LATEST - 2  # what the second run read
    Store(path).close()  # the first run upgrades it meanwhile
    assert migrate(stale, path) is None
    assert stale.execute("PRAGMA user_version").fetchone()[0] == LATEST
    stale.close()
    assert sorted(p.name for p in tmp_path.glob("old.db.*")) == [f"old.db.v{LATEST - 2}.bak"]


def test_a_backup_name_another_run_holds_is_left_to_it(tmp_path, monkeypatch):
    """Two runs upgrading at once picked the same free backup name: the one that lost removed the
    other's backup as its own failed copy, and the store was upgraded with no backup left."""
    from gaopin.store import db

    path = store_at_version(tmp_path / "old.db", LATEST - 1)
    theirs = tmp_path / f"old.db.v{LATEST - 1}.bak"
    real = db._create_private

    def taken_just_before(target):
        if target == theirs and not theirs.exists():
            theirs.write_bytes(b"another run's backup, being written")  # the other run, a moment earlier
        real(target)

    monkeypatch.setattr(db, "_create_private", taken_just_before)
    Store(path).close()
    assert theirs.read_bytes() == b"another run's backup, being written"
    ours = tmp_path / f"old.db.v{LATEST - 1}.2.bak"
    assert sqlite3.connect(ours).execute("PRAGMA user_version").fetchone()[0] == LATEST - 1


def test_an_upgrade_waits_for_another_runs_and_makes_no_second_backup(tmp_path):
    """The write lock is taken before the version is read again and the store backed up."""
    path = store_at_version(tmp_path / "old.db", LATEST - 1)
    with held_by_another_process(path, "IMMEDIATE"):
        stale = sqlite3.connect(path, isolation_level=None)
        assert stale.execute("PRAGMA user_version").fetchone()[0] == LATEST - 1
    Store(path).close()  # the other run's upgrade, once its lock is gone
    from gaopin.store.db import migrate

    assert migrate(stale, path) is None
    stale.close()
    assert [p.name for p in tmp_path.glob("old.db.*")] == [f"old.db.v{LATEST - 1}.bak"]


def test_a_failed_migration_leaves_the_old_version(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    import gaopin.store.db as db

    monkeypatch.setattr(db, "MIGRATIONS", (MIGRATIONS[0], broken) + MIGRATIONS[2:])
    with pytest.raises(StoreError, match="升级到结构版本 2 失败") as err:
        Store(path)
    assert "old.db.v1.bak" in err.value.hint
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


def test_a_store_from_a_newer_gaopin_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="更新版本"):
        Store(path)


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    path = tmp_path / "x.db"
    path.write_text("这不是数据库" * 100, encoding="utf-8")
    with pytest.raises(StoreError, match="不是 gaopin 的工单库"):
        Store(path)


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path):
    """A --db pointing at another program's database: it was given gaopin's tables (after a
    backup) as if it were a store from before versions."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE foo (x)")
    conn.execute("INSERT INTO foo VALUES (1)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="其他程序的 SQLite 数据库"):
        Store(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "_home"] == ["other.db"]


def test_an_empty_sqlite_file_becomes_a_store(tmp_path):
    path = tmp_path / "new.db"
    sqlite3.connect(path).close()
    path.touch()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    store.close()


def test_links_and_unlinks_persist(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW])
    store.link("139-1234-5678", "+86 13812345678", date(2024, 9, 1))
    assert store.links().pairs == (("13812345678", "13912345678"),)
    store.unlink("13912345678", date(2024, 9, 2))
    links = store.links()
    assert links.pairs == () and links.unlinked == {"13912345678"}
    with pytest.raises(UsageError):
        store.link("123", "13812345678", date(2024, 9, 1))
    store.unlink("13812345678", date(2024, 9, 2))  # a caller's number, linked to nothing now
    with pytest.raises(StoreError, match="没有号码 137\\*\\*\\*\\*0000"):  # in no ticket and no link: a typo
        store.unlink("13700000000", date(2024, 9, 2))
    assert store.links().unlinked == {"13812345678", "13912345678"}


def test_exclusions_need_a_known_ticket_and_a_reason(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW])
    with pytest.raises(StoreError):
        store.exclude("NOPE", "申诉", date(2024, 9, 1))
    with pytest.raises(UsageError):
        store.exclude("A1", " ", date(2024, 9, 1))
    store.exclude("A1", "申诉已通过", date(2024, 9, 1))
    store.unexclude("A1")
    with pytest.raises(StoreError):
        store.unexclude("A1")


def test_purge_removes_old_tickets_and_their_history(tmp_path):
    store = store_with(tmp_path / "g.db", [ROW, {**ROW, "ticket_id": "B1", "received_at": at("2024-10-01")}])
    store.import_result(tickets([{**ROW, "resolved": "是"}]), "l.xlsx", "sha-l", datetime(2024, 9, 1))
    assert store.purge(date(2024, 9, 1)) == 1
    assert store.tickets().frame["ticket_id"].tolist() == ["B1"]
    assert store.history("A1") == []


# --- files readable by their owner only ------------------------------------------------------------


@pytest.fixture
def open_umask():
    """umask 0, so that a file created without explicit permissions would be world-readable."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_store_and_its_folder_are_private_whatever_the_umask(tmp_path, open_umask):
    path = tmp_path / "new" / "folder" / "g.db"
    store_with(path, [ROW]).close()
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700  # the folder gaopin made for it


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_rollback_journal_is_private(tmp_path, open_umask):
    """SQLite gives its journal the database's permissions: it holds the same tickets."""
    store = store_with(tmp_path / "g.db", [ROW])
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.execute("UPDATE tickets SET caller_name = '李四'")
    journal = tmp_path / "g.db-journal"
    assert journal.exists() and _mode(journal) == 0o600
    store.conn.execute("ROLLBACK")
    store.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_backup_before_a_migration_is_private_from_its_first_byte(tmp_path, open_umask, monkeypatch):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    import gaopin.store.db as db

    seen = []
    real = sqlite3.connect

    def spy(target, *args, **kwargs):
        if str(target).endswith(".bak"):
            seen.append(_mode(target))  # the file must exist, private, before SQLite writes into it
        return real(target, *args, **kwargs)

    monkeypatch.setattr(db.sqlite3, "connect", spy)
    Store(path).close()
    assert seen == [0o600]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".bak")] == ["old.db.v1.bak"]
    assert all(_mode(p) == 0o600 for p in tmp_path.iterdir() if p.is_file() and p.name != "old.db")  # that one the test made


# --- retention ---------------------------------------------------------------------------------------


def test_purged_tickets_are_gone_from_the_file_itself(tmp_path):
    """Deleted rows linger in free pages unless the file is rebuilt: the bytes must not hold them."""
    from gaopin.ledger.service import ledger_month

    old = [
        {"ticket_id": f"OLD{i}", "received_at": at("2024-03-05", i), "caller_name": "欧阳旧人", "caller_phone": "13955501234",
         "address": "旧址小区9号楼", "title": "旧标题XYZZY", "community": "恰海社区"}
        for i in range(5)
    ]
    new = [{**ROW, "ticket_id": "NEW1", "received_at": at("2024-09-02")}]
    store = store_with(tmp_path / "g.db", old + new)
    ledger_month(store, Settings(), 3, 2024, date(2024, 3, 31))  # a caller entry with the old phone
    store.link("13955501234", "13955509999", date(2024, 3, 31))
    assert store.conn.execute("SELECT count(*) FROM entry_phones").fetchone()[0] > 0
    assert store.purge(date(2024, 6, 1)) == 5
    store.close()
    raw = (tmp_path / "g.db").read_bytes()
    for secret in ("欧阳旧人", "13955501234", "13955509999", "旧址小区", "旧标题XYZZY", "OLD1"):
        assert secret.encode("utf-8") not in raw, secret
    with Store(tmp_path / "g.db") as again:
        assert again.tickets().frame["ticket_id"].tolist() == ["NEW1"]
        assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_purge_keeps_what_newer_tickets_still_need(tmp_path):
    """A caller who called before and after the cut keeps the ledger entry and its numbers."""
    from gaopin.ledger.service import ledger_month

    rows = [{**ROW, "ticket_id": f"T{i}", "received_at": at(day)} for i, day in enumerate(["2024-05-28", "2024-05-30", "2024-06-02", "2024-06-03", "2024-06-04"])]
    store = store_with(tmp_path / "g.db", rows)
    ledger_month(store, Settings(), 6, 2024, date(2024, 6, 30))
    store.link("13812345678", "13912345678", date(2024, 5, 30))
    before = store.conn.execute("SELECT entry_id, phone FROM entry_phones").fetchall()
    assert before
    assert store.purge(date(2024, 6, 1)) == 2
    assert store.conn.execute("SELECT entry_id, phone FROM entry_phones").fetchall() == before
    assert store.links().pairs == (("13812345678", "13912345678"),)


def test_retention_cutoff_is_whole_months():
    from gaopin.store.store import retention_cutoff

    assert retention_cutoff(date(2024, 10, 31), 2) == date(2024, 8, 1)
    assert retention_cutoff(date(2024, 1, 15), 13) == date(2022, 12, 1)


def test_purged_numbers_are_overwritten_even_if_the_vacuum_never_runs(tmp_path):
    """A run killed between the deletion and the VACUUM: secure_delete has already zeroed them."""
    rows = [{**ROW, "ticket_id": f"OLD{i}", "received_at": at("2024-03-05", i), "caller_phone": "13955501234", "title": "旧标题XYZZY"} for i in range(50)]
    store = store_with(tmp_path / "g.db", rows + [{**ROW, "ticket_id": "NEW1", "received_at": at("2024-09-02")}])
    real = store.conn

    class NoVacuum:
        def execute(self, sql, *args):
            return None if sql.strip().upper() == "VACUUM" else real.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(real, name)

    real.execute("PRAGMA secure_delete = OFF")  # as some SQLite builds have it (this one may not)
    store.conn = NoVacuum()
    assert store.purge(date(2024, 6, 1)) == 50
    real.close()
    raw = (tmp_path / "g.db").read_bytes()
    assert b"13955501234" not in raw and "旧标题XYZZY".encode() not in raw


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31))), min_size=1, max_size=30))
def test_times_are_stored_as_text_in_the_one_format(times):
    from gaopin.store.store import TEXT_FORMAT, _text_frame

    result = tickets([{"ticket_id": f"T{i}", "received_at": "", "closed_at": ""} for i in range(len(times))])
    frame = result.frame.copy()
    frame["received_at"] = pd.Series([pd.NaT if t is None else pd.Timestamp(t).floor("s") for t in times], dtype="datetime64[ns]")
    stored = [None if pd.isna(v) else v for v in _text_frame(frame)["received_at"].tolist()]
    assert stored == [None if t is None else t.replace(microsecond=0).strftime(TEXT_FORMAT) for t in times]


_CELL = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('a中"\\\n\r\t\x00\x01\x1f\x7f }, ')), max_size=6))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=20))
def test_unmapped_columns_are_kept_as_one_json_object_per_row(cells):
    import json
    import re

    from gaopin.store.store import _extra_json

    frame = pd.DataFrame({"区": [a for a, _ in cells], 'a"b\\': [b for _, b in cells]}, dtype="str")

    def expected(row):
        parts = []
        for key, value in zip(frame.columns, row):
            if value is not None:
                escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
                parts.append(json.dumps(key, ensure_ascii=False) + ':"' + re.sub(r"[\x00-\x1f]", " ", escaped) + '"')
        return "{" + ",".join(parts) + "}" if parts else None

    got = [None if pd.isna(v) else v for v in _extra_json(frame, frame.columns)]
    assert got == [expected(row) for row in cells]
    for text, row in zip(got, cells):
        if text is not None:  # valid JSON, each value as it was but for control characters
            assert json.loads(text) == {k: re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", v) for k, v in zip(frame.columns, row) if v is not None}


def test_a_new_store_has_large_pages(tmp_path):
    from gaopin.store.db import PAGE_SIZE

    store = Store(tmp_path / "g.db")
    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384


def test_a_version_4_ledger_is_migrated_without_its_membership_table(tmp_path):
    """Version 5 keeps each entry's tickets with its figures: the old table goes, entries,
    cycles and events stay, and the views are what they were."""
    from tests.builders import caller_tickets, store_at_version

    from gaopin.ledger import service

    path = store_at_version(tmp_path / "v4.db", 4)
    rows = caller_tickets("A", "13800000001", "赵建国", range(6))
    store = Store(path)  # migrated to the latest version now; the v4 layout is rebuilt below
    store.import_result(tickets(rows), "a.xlsx", "sha-a", datetime(2024, 9, 1))
    today = date(2024, 8, 31)
    view, _ = service.ledger_month(store, Settings(), 8, 2024, today)
    [entry] = view["entries"]
    shown = service.show(store, Settings(), entry["id"], today)
    store.close()
    # The same ledger as a version-4 store held it: with the membership table, without the cache.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE entry_tickets (entry_id TEXT NOT NULL, ticket_id TEXT NOT NULL, cycle INTEGER NOT NULL, person TEXT, PRIMARY KEY (entry_id, ticket_id))")
    conn.execute("CREATE INDEX entry_tickets_ticket ON entry_tickets (ticket_id)")
    conn.executemany("INSERT INTO entry_tickets VALUES (?, ?, 1, '13800000001')", [(entry["id"], t) for t in entry["ticket_ids"]])
    conn.execute("DELETE FROM ledger_cache")
    conn.execute("DROP TABLE send_messages")  # and without what version 6 added
    conn.execute("ALTER TABLE sends DROP COLUMN message")
    conn.execute("DROP TABLE ledger_state")  # and version 7
    conn.execute("ALTER TABLE entries DROP COLUMN merge_copied")
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store.conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'entry_tickets%'").fetchone()[0] == 0
    # Version 7: the ledger counts as brought up to the last day a refresh wrote an event on.
    assert store.conn.execute("SELECT as_of FROM ledger_state").fetchall() == [(entry["opened_on"],)]
    assert service.show(store, Settings(), entry["id"], today) == shown
    assert service.ledger_month(store, Settings(), 8, 2024, today)[0] == view
    store.close()


def _many(n: int) -> list[dict]:
    # The last tickets alone have a ticket type: the first half's column is all NULL.
    return [{"ticket_id": f"R{i:05d}", "received_at": at("2024-08-01", i % 600), "community": f"社区{i % 7}", **({"ticket_type": "投诉"} if i >= n - 3 else {})} for i in range(n)]


def test_a_read_in_two_halves_equals_one_read(tmp_path, monkeypatch):
    import gaopin.store.store as store_module

    store = store_with(tmp_path / "g.db", _many(400))
    remove_copy(store.path)  # SQLite's read, not the columnar copy's
    monkeypatch.setattr(store_module, "PARALLEL_READ_ROWS", 10**9)
    whole = store.tickets().frame
    until = store.tickets(until=date(2024, 8, 1)).frame
    monkeypatch.setattr(store_module, "PARALLEL_READ_ROWS", 0)
    halves: list[str] = []
    read_part = Store._read_part
    monkeypatch.setattr(Store, "_read_part", lambda self, sql, params: halves.append(sql) or read_part(self, sql, params))
    pd.testing.assert_frame_equal(store.tickets().frame, whole)
    pd.testing.assert_frame_equal(store.tickets(until=date(2024, 8, 1)).frame, until)
    assert len(halves) == 4 and whole["ticket_type"].notna().sum() == 3
    store.close()


def test_a_commit_between_the_halves_makes_one_consistent_read(tmp_path, monkeypatch):
    """Two halves are two read transactions: another process's commit in between is seen, and
    the whole is read again in one go instead of joining an old half to a new one."""
    import threading

    import gaopin.store.store as store_module

    path = tmp_path / "g.db"
    store = store_with(path, _many(400))
    remove_copy(path)  # SQLite's read, not the columnar copy's (which another writer would leave behind)
    monkeypatch.setattr(store_module, "PARALLEL_READ_ROWS", 0)
    first_read = threading.Event()
    read_part = Store._read_part

    def racing(self, sql, params):
        if "<=" in sql:
            out = read_part(self, sql, params)
            other = sqlite3.connect(path)
            other.execute("UPDATE tickets SET community = '新社区'")
            other.commit()
            other.close()
            first_read.set()
            return out
        first_read.wait(10)
        return read_part(self, sql, params)

    monkeypatch.setattr(Store, "_read_part", racing)
    frame = store.tickets().frame
    assert set(frame["community"]) == {"新社区"} and len(frame) == 400
    store.close()


def test_a_bulk_write_while_another_process_writes_is_a_locked_store(tmp_path, monkeypatch):
    import gaopin.store.store as store_module
    from gaopin.errors import LockedError

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    store = Store(tmp_path / "g.db")
    # Another process: SQLite's locks are per process, and the bulk writes use a second copy
    # of SQLite (the ADBC driver's), which a lock taken in this process would not stop.
    with held_by_another_process(tmp_path / "g.db", "IMMEDIATE"), pytest.raises(LockedError):
        store.import_result(tickets([ROW]), "a.xlsx", "sha-a", datetime(2024, 9, 1))
    assert store.import_result(tickets([ROW]), "a.xlsx", "sha-a", datetime(2024, 9, 1)).new == 1


def test_a_store_another_program_holds_locked_is_a_locked_store_not_another_file(tmp_path, monkeypatch):
    """Opening it read its version under the lock: 'database is locked' was told as 不是 gaopin 的工单库."""
    from gaopin.errors import LockedError
    from gaopin.store import db

    Store(tmp_path / "g.db").close()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    with held_by_another_process(tmp_path / "g.db", "EXCLUSIVE"), pytest.raises(LockedError):
        Store(tmp_path / "g.db", create=False)
    Store(tmp_path / "g.db", create=False).close()


def test_nothing_goes_through_the_sqlite3_connection_while_a_bulk_write_is_open(tmp_path, monkeypatch):
    # The bulk writes use the ADBC driver's own copy of SQLite. SQLite's file locks are per
    # process, so the two copies do not lock each other within one process, and a statement
    # through the sqlite3 module inside a bulk transaction could release the other's lock.
    import contextlib

    import gaopin.io.load as loader
    import gaopin.store.store as store_module
    from gaopin.ledger.refresh import refresh
    from tests.builders import caller_tickets

    monkeypatch.setattr(loader, "STREAM_ROWS", 2)
    inside = []
    during: list[str] = []
    original = store_module.Store._bulk_transaction

    @contextlib.contextmanager
    def watched(self, *args):
        with original(self, *args) as cur:
            inside.append(True)
            try:
                yield cur
            finally:
                inside.pop()

    monkeypatch.setattr(store_module.Store, "_bulk_transaction", watched)
    store = Store(tmp_path / "g.db")
    store.conn.set_trace_callback(lambda sql: during.append(sql) if inside else None)
    first = _export(tmp_path / "a.xlsx", [[f"A{i}", "2024-08-03 09:00", "张三", 13812345678, "解决"] for i in range(5)])
    second = _export(tmp_path / "b.xlsx", [[f"A{i}", "2024-08-03 09:00", "张三", 13812345678, "未解决"] for i in range(3, 8)])
    import_files([first], store, Settings(), now=datetime(2024, 9, 1))  # streamed in parts
    import_files([second], store, Settings(), now=datetime(2024, 9, 2))  # merged with the stored tickets
    store.import_result(tickets(caller_tickets("C", "13900000002", "李四", range(6))), "c.xlsx", "sha-c", datetime(2024, 9, 3))
    refresh(store, Settings(), date(2024, 12, 31))
    assert store.conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 14
    assert store.conn.execute("SELECT count(*) FROM entries").fetchone()[0] >= 1  # the refresh wrote
    assert during == []


@contextlib.contextmanager
def read_only(path):
    """The file really read-only: its mode for a normal user; as root, who ignores the mode,
    the immutable attribute (chattr +i); skipped where neither can be set."""
    if os.geteuid() != 0:
        os.chmod(path, 0o444)
        try:
            yield
        finally:
            os.chmod(path, 0o600)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("root ignores file modes, and the immutable attribute cannot be set here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_store_is_a_store_error_for_every_kind_of_write(tmp_path):
    """A store on a read-only share or without write permission: exit 6 with what to check,
    not an internal error with SQLite's English, from sqlite3's and from ADBC's writes alike."""
    path = tmp_path / "g.db"
    store_with(path, [ROW]).close()
    before = path.read_bytes()
    with read_only(path):
        store = Store(path, create=False)
        try:
            assert store.tickets().frame["ticket_id"].tolist() == ["A1"]  # reading still works
            writes = [
                lambda: store.exclude("A1", "申诉已通过", date(2024, 9, 1)),  # sqlite3
                lambda: store.import_result(tickets([{**ROW, "ticket_id": "A2"}]), "b.xlsx", "sha-b", datetime(2024, 9, 1)),  # ADBC
            ]
            for write in writes:
                with pytest.raises(StoreError) as err:
                    write()
                assert err.value.message == f"工单库 {path} 是只读的，无法写入"
                assert "写权限" in err.value.hint
        finally:
            store.close()
    assert path.read_bytes() == before


def test_a_store_the_import_created_is_removed_when_nothing_went_in(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("工单编号,受理时间,来电人\nA1,2024-08-03 09:00,张三\n", encoding="utf-8")
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    settings = Settings()
    with pytest.raises(Exception):
        import_into([bad], tmp_path / "new.db", settings, datetime(2024, 9, 1))
    assert not (tmp_path / "new.db").exists()
    with pytest.raises(Exception):  # nor the folders made for it
        import_into([bad], tmp_path / "sub" / "dir" / "new.db", settings, datetime(2024, 9, 1))
    assert not (tmp_path / "sub").exists()
    # A good file first: its tickets are committed, so the store stays when the next one fails.
    with pytest.raises(Exception):
        import_into([good, bad], tmp_path / "new.db", settings, datetime(2024, 9, 1))
    with Store(tmp_path / "new.db", create=False) as store:
        assert store.ticket_count() == 1


def test_an_existing_empty_store_is_not_removed_by_a_failing_import(tmp_path):
    Store(tmp_path / "g.db").close()  # created by someone else, e.g. gaopin ledger link
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(Exception):
        import_into([tmp_path / "bad.csv"], tmp_path / "g.db", Settings(), datetime(2024, 9, 1))
    assert (tmp_path / "g.db").exists()


def test_remove_if_empty_keeps_a_store_with_anything_in_it(tmp_path):
    from gaopin.store.db import remove_if_empty

    with Store(tmp_path / "g.db") as store:
        store.link("13800000001", "13800000002", date(2024, 9, 1))
    assert not remove_if_empty(tmp_path / "g.db") and (tmp_path / "g.db").exists()
    Store(tmp_path / "e.db", provisional=True).close()
    assert remove_if_empty(tmp_path / "e.db") and not (tmp_path / "e.db").exists()
    Store(tmp_path / "k.db").close()  # not made by an import that may remove it again
    assert not remove_if_empty(tmp_path / "k.db") and (tmp_path / "k.db").exists()


# --- two runs and a store the first one created --------------------------------------------------


def test_a_new_store_another_run_has_opened_is_not_removed(tmp_path):
    """Two imports into a store neither found: the one that created it fails first. Removing the
    store then left the other writing into a removed file (its tickets lost, told 只读)."""
    from gaopin.store.db import remove_if_empty

    path = tmp_path / "g.db"
    creator = Store(path, provisional=True)
    assert creator.created
    other = Store(path)  # opens it, and so claims it
    assert not other.created
    creator.close()
    assert not remove_if_empty(path) and path.exists()
    other.close()


def test_a_new_store_locked_by_another_process_while_it_is_claimed_is_opened_unclaimed(tmp_path, monkeypatch):
    """The claim read the store's id outside its error handling: a lock taken in between, and held
    longer than a run waits, was an internal error (database is locked)."""
    from gaopin.store import db

    path = tmp_path / "g.db"
    Store(path, provisional=True).close()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    real_open = db._open
    holding = contextlib.ExitStack()

    def then_locked(p):
        conn = real_open(p)
        holding.enter_context(held_by_another_process(p, "EXCLUSIVE"))
        return conn

    monkeypatch.setattr(db, "_open", then_locked)
    with holding:
        store = Store(path)
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == db.NEW_STORE_ID  # not claimed


def test_a_run_whose_new_store_was_removed_before_it_claimed_it_opens_it_again(tmp_path, monkeypatch):
    from gaopin.store import db

    path = tmp_path / "g.db"
    Store(path, provisional=True).close()
    real_open = db._open
    opened = []

    def the_creator_removes_it_meanwhile(p):
        conn = real_open(p)
        opened.append(conn)
        if len(opened) == 1:
            assert db.remove_if_empty(p)  # waits for no one: the connection holds no lock yet
        return conn

    monkeypatch.setattr(db, "_open", the_creator_removes_it_meanwhile)
    with Store(path) as store:
        assert store.created  # made again, by this run
        store.link("13800000001", "13800000002", date(2024, 9, 1))
    assert len(opened) == 2
    with Store(path, create=False) as store:
        assert store.conn.execute("SELECT count(*) FROM links").fetchone()[0] == 1


def test_a_stop_while_the_store_is_opened_says_no_file_was_imported(tmp_path, monkeypatch):
    """Opening a store another run has just created waits for that run's import: a Ctrl-C there
    still says which files are in the store."""
    from gaopin.store import db

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(db, "_open", stopped)
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    with pytest.raises(KeyboardInterrupt) as stop:
        import_into(files, tmp_path / "g.db", Settings(), datetime(2024, 9, 1))
    assert stop.value.__notes__ == ["a.csv、b.csv 都没有导入"]
    assert not (tmp_path / "g.db").exists()  # created, then stopped before it was opened


def test_an_import_that_fails_removes_only_the_store_it_created(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(Exception):
        import_into([tmp_path / "bad.csv"], tmp_path / "g.db", Settings(), datetime(2024, 9, 1))
    assert not (tmp_path / "g.db").exists()
    # A successful import leaves a store that no later failure removes.
    (tmp_path / "ok.csv").write_text("工单编号,受理时间\nA1,2024-08-03 09:00\n", encoding="utf-8")
    import_into([tmp_path / "ok.csv"], tmp_path / "n.db", Settings(), datetime(2024, 9, 1))
    from gaopin.store.db import remove_if_empty

    with Store(tmp_path / "n.db") as store:
        store.purge(date(2024, 12, 1))
    assert not remove_if_empty(tmp_path / "n.db")


def test_a_column_empty_in_the_first_thousand_tickets_is_read_with_its_later_text(tmp_path):
    """The driver took a column's type from its first 1024 rows: empty there, it was int64, and
    the first text after them failed every read of the store (an internal error)."""
    first = ["工单编号,来电时间,村/社区"] + [f"A{i:05d},2024-07-{1 + i % 28:02d} 09:00:00,恰海社区" for i in range(1100)]
    later = ["工单编号,来电时间,村/社区,派单方式"] + [f"B{i:05d},2024-08-{1 + i % 28:02d} 09:00:00,恰海社区,区级派单" for i in range(5)]
    (tmp_path / "a.csv").write_text("\n".join(first) + "\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("\n".join(later) + "\n", encoding="utf-8")
    import_into([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "g.db", Settings(), datetime(2024, 9, 1))
    with Store(tmp_path / "g.db", create=False) as store:
        assert store.tickets().frame["dispatch"].notna().sum() == 5
        assert store.read_arrow("SELECT dispatch FROM tickets ORDER BY rowid").column(0).null_count == 1100
        with store.bulk_transaction() as writer:  # the ledger reads its tables this way
            assert writer.arrow("SELECT dispatch FROM tickets ORDER BY rowid").column(0).to_pylist()[-1] == "区级派单"


def test_answers_that_could_not_be_read_are_noted_from_the_store_as_from_the_file(tmp_path):
    export = tmp_path / "a.csv"
    export.write_text(
        "工单编号,受理时间,是否解决,是否满意\nA1,2024-08-03 09:00,待定,满意度高\nA2,2024-08-03 10:00,是,满意\nA3,2024-08-04 10:00,否,满意度高\n",
        encoding="utf-8",
    )
    settings = Settings()
    from_file = next(n for n in load([export], settings).notes() if "无法识别" in n)
    import_into([export], tmp_path / "g.db", settings, datetime(2024, 9, 1))
    with Store(tmp_path / "g.db", create=False) as store:
        assert next(n for n in store.tickets().notes() if "无法识别" in n) == from_file
        assert "有 3 个" in from_file
        assert not [n for n in store.tickets(columns=["community"]).notes() if "无法识别" in n]  # answers not read


def test_a_given_store_must_exist_the_default_one_only_when_the_tickets_come_from_it(tmp_path):
    """A mistyped --db (or GAOPIN_DB, [store] path) with files ran without the store's links."""
    from gaopin.store.store import default_db_path, tickets_from
    from tests.builders import write_csv

    export = write_csv(tmp_path / "e.csv", [["工单编号", "来电时间"], ["A1", "2024-08-03 09:00"]])
    typo = tmp_path / "typo.db"
    configured = Settings().with_values({"store.path": str(typo)})
    for flag, store_settings in ((typo, Settings()), (None, configured)):
        with pytest.raises(StoreError) as caught:
            tickets_from([export], flag, store_settings)
        assert caught.value.message == f"工单库 {typo} 不存在" and "gaopin import" in caught.value.hint
    assert not typo.exists()
    from gaopin.store.store import existing_store  # the one rule tickets_from and a send's run follow

    assert existing_store(None, Settings(), files=True) == default_db_path()  # never created: no error
    with pytest.raises(StoreError, match="没有给出文件"):
        existing_store(None, Settings())
    store_with(tmp_path / "g.db", [ROW]).close()
    assert existing_store(tmp_path / "g.db", Settings(), files=True) == tmp_path / "g.db"


@pytest.mark.parametrize("create", [True, False])
def test_a_store_path_that_is_a_folder_is_said_so_in_chinese(tmp_path, create):
    """SQLite's own reason was "unable to open database file"."""
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(StoreError) as caught:
        Store(folder, create=create)
    assert caught.value.message == f"工单库路径 {folder} 是一个文件夹"
    assert caught.value.hint == f"请把工单库路径（--db、GAOPIN_DB 或 [store] path）指向文件夹中的一个文件，例如 {folder / 'gaopin.db'}"
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir() if p.name != "_home") == ["data"]


@pytest.mark.parametrize("create", [True, False])
def test_a_store_path_that_is_a_pipe_a_device_or_under_a_file_is_said_so(tmp_path, create):
    """A named pipe made every store command say 不是 gaopin 的工单库（disk I/O error）and doctor wait
    for ever; /dev/null was "upgraded"; a path under a file was 已有同名的文件或文件夹."""
    from tests.io.test_sniff import within_seconds

    (tmp_path / "aug.csv").write_text("x", encoding="utf-8")
    cases = [(tmp_path / "aug.csv" / "x.db", f"工单库路径 {tmp_path / 'aug.csv' / 'x.db'} 中的 {tmp_path / 'aug.csv'} 是一个文件，不是文件夹")]
    if Path("/dev/null").exists():
        cases.append((Path("/dev/null"), "工单库路径 /dev/null 不是普通文件（是字符设备）"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.db")
        cases.append((tmp_path / "pipe.db", f"工单库路径 {tmp_path / 'pipe.db'} 不是普通文件（是命名管道）"))
    for path, message in cases:
        err = within_seconds(lambda: Store(path, create=create), tmp_path / "pipe.db") if path.name == "pipe.db" else None
        if err is None:
            with pytest.raises(StoreError) as caught:
                Store(path, create=create)
            err = caught.value
        assert isinstance(err, StoreError) and err.message == message, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "_home") == sorted(["aug.csv"] + (["pipe.db"] if hasattr(os, "mkfifo") else []))
