"""The first import into a store inserts its tickets part by part while the file is still being
converted: what it stores equals one insert of the whole, and a failure leaves nothing behind."""

from __future__ import annotations

import sys
import threading
from datetime import datetime

import pyarrow as pa
import pytest

import gaopin.io.load  # noqa: F401  (the package exports a function of the same name)
import gaopin.store.store as store_module
from gaopin.config import Settings
from gaopin.errors import InputError
from gaopin.io import load
from gaopin.store import Store, import_files
from tests.builders import write_csv

loader = sys.modules["gaopin.io.load"]
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
    assert _no_insert_thread()
    assert _contents(store) == {"tickets": [], "imports": [], "rejected": [], "fields": []}
    monkeypatch.setattr(store_module, "_ticket_table", original)
    [done] = import_files([path], store, Settings(), now=NOW)  # the same file again, now that it works
    assert done.new == 29


def test_a_load_that_fails_after_parts_were_inserted_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    path = _export(tmp_path / "t.csv")
    monkeypatch.setattr(loader, "STREAM_ROWS", 4)
    sizes = _counting_tables(monkeypatch)

    def fails(parts):
        raise InputError("读到一半出错", "重试")

    monkeypatch.setattr(loader, "_joined", fails)  # runs after every part was handed over
    store = Store(tmp_path / "g.db")
    with pytest.raises(InputError, match="读到一半出错"):
        import_files([path], store, Settings(), now=NOW)
    assert len(sizes) == 8
    assert _no_insert_thread()
    assert _contents(store) == {"tickets": [], "imports": [], "rejected": [], "fields": []}
