"""A refresh over changed data equals a refresh from scratch; the tickets of every entry are
kept with its figures."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from tests.builders import caller_tickets, store_with, tickets, write_lock_free, write_lock_held

from gaopin.config import Settings
from gaopin.ledger import service
from gaopin.ledger.refresh import refresh
from gaopin.ledger.stats import EntryStats

TODAY = date(2024, 12, 31)


def rows(prefix, phone, name, days, point="京铁和园12号楼", start=date(2024, 8, 1)):
    return caller_tickets(prefix, phone, name, days, point=point, start=start, category="城市管理->噪声扰民->生活噪声")


def memberships(store):
    """(entry, ticket) pairs as kept in the store with the figures."""
    [blob] = store.conn.execute("SELECT stats FROM ledger_cache").fetchone()
    stats = EntryStats.from_bytes(blob)
    return sorted((e, t) for e in stats.entry_ids for t in stats.ids(e))


def from_scratch(store, today):
    store.conn.execute("DELETE FROM ledger_cache")
    store.conn.commit()
    refresh(store, Settings(), today)
    return memberships(store)


def test_a_refresh_after_changes_equals_one_from_scratch(tmp_path):
    store = store_with(
        tmp_path / "g.db",
        rows("A", "13800000001", "赵建国", range(12))
        + rows("B", "13900000002", "赵建国", range(0, 12, 2))
        + rows("C", "13700000003", "钱女士", range(6), point="桥一社区5号楼"),
    )
    refresh(store, Settings(), date(2024, 8, 9))  # a cut-off: later tickets are not members yet
    before = memberships(store)
    assert before and before == from_scratch(store, date(2024, 8, 9))
    refresh(store, Settings(), TODAY)
    grown = memberships(store)
    assert len(grown) > len(before) and grown == from_scratch(store, TODAY)
    # Staff resolve one entry (its later tickets leave it), numbers are linked (persons change),
    # an import moves tickets to another point and adds new ones.
    view, _ = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    point = next(e for e in view["entries"] if e["kind"] == "point")
    service.resolve(store, point["id"], "已协调", date(2024, 8, 8), TODAY)
    store.link("13600000004", "13700000003", TODAY)
    moved = rows("A", "13800000001", "赵建国", range(3), point="京铁和园14号楼")
    again = rows("E", "13500000005", "李先生", range(9, 16))  # the point recurs: its later tickets start cycle 2
    store.import_result(tickets(moved + again + rows("D", "13600000004", "孙先生", range(20, 26))), "b.xlsx", "sha-b", datetime(2024, 9, 1))
    refresh(store, Settings(), TODAY)
    changed = memberships(store)
    assert changed != grown
    recurred = store.conn.execute("SELECT entry_id FROM entry_cycles WHERE cycle = 2").fetchall()
    assert recurred == [(point["id"],)] and any(e == point["id"] and t.startswith("E") for e, t in changed)
    assert changed == from_scratch(store, TODAY)


def test_keys_coded_by_prepare_name_the_same_values_as_a_fresh_factorisation():
    import numpy as np
    import pandas as pd

    from gaopin.ledger.refresh import Columns
    from gaopin.rules.prepare import prepare

    rows_ = rows("A", "13800000001", "赵建国", range(4)) + rows("B", "13900000002", "赵建国", range(3)) + rows("C", "13700000003", "钱女士", range(3), point="桥一社区5号楼")
    rows_ += [{"ticket_id": "N001", "received_at": "2024-08-02 09:00:00", "caller_phone": "", "caller_name": "", "address": "", "category": ""}]
    prepared = prepare(tickets(rows_), Settings())
    frame = prepared.frame
    # Linked numbers: persons are coded by their smallest number's code, so not densely.
    assert set(np.unique(prepared.codes["person"][prepared.codes["person"] >= 0])) != set(range(frame["person"].nunique()))
    coded, plain = Columns.of(frame, prepared.codes), Columns.of(frame)
    # As the refresh calls it: on the tickets, which have no point or person column.
    keyless = Columns.of(prepared.tickets, prepared.codes, prepared.values)
    for kind in ("caller", "point", "issue"):
        (a, names_a), (b, names_b) = coded.kind(kind), plain.kind(kind)
        got = [names_a[c] if c >= 0 else None for c in a.tolist()]
        want = [names_b[c] if c >= 0 else None for c in b.tolist()]
        assert got == want and len(set(names_a)) == len(names_a)
        (k, names_k) = keyless.kind(kind)
        assert k.tolist() == a.tolist() and list(names_k) == list(names_a)
    assert pd.Series(coded.issue).nunique() == pd.Series(plain.issue).nunique()


def test_person_phones_answer_as_the_prepared_tickets_say():
    import numpy as np

    from gaopin.ledger.refresh import Columns, PersonPhones
    from gaopin.rules.prepare import PHONE, prepare

    rows_ = rows("A", "13800000001", "赵建国", range(4)) + rows("B", "13900000002", "赵建国", range(3)) + rows("C", "13700000003", "钱女士", range(3), point="桥一社区5号楼")
    # An unusable number between usable ones, a blank one, and a number used again later.
    rows_ += [{"ticket_id": f"N{i:03d}", "received_at": "2024-08-02 09:00:00", "caller_phone": phone, "caller_name": "孙", "address": "桥一社区6号楼", "category": ""} for i, phone in enumerate(["1111111", "", "13600000004", "13900000002", "123"])]
    prepared = prepare(tickets(rows_), Settings())
    frame, cols = prepared.frame, Columns.of(prepared.frame, prepared.codes)
    index = PersonPhones(cols, prepared.codes[PHONE], prepared.phones)
    # Plainly, from the tickets: each person's distinct numbers, and each number's person.
    pairs = {(ph, pe) for ph, pe in zip(frame["caller_phone"], frame["person"]) if isinstance(pe, str)}
    everyone = np.arange(-1, len(cols.persons), dtype="int64")
    want = [[] if c < 0 else sorted({ph for ph, pe in pairs if pe == cols.persons[c]}) for c in everyone.tolist()]
    assert index.phones_of_codes(everyone) == want and any(want)
    asked = ["13800000001", "13900000002", "13600000004", "1111111", "19999999999"]
    assert [index.get(p) for p in asked] == [next((pe for ph, pe in pairs if ph == p), None) for p in asked]
    assert index.get("13900000002") == index.get("13800000001") == "13600000004"  # linked through 孙 at 6号楼


PHONES = ["13800000001", "13900000002", "13700000003", "13600000004"]


def caller_entries(store, today):
    """(non-merged caller entries by id, each ticket → the entries holding it)."""
    from gaopin.ledger.model import load_entries

    stats = refresh(store, Settings(), today).stats
    entries = load_entries(store.conn)
    held: dict[str, list[str]] = {}
    for eid, e in entries.items():
        if e.kind == "caller" and e.state != "merged":
            for t in stats.ids(eid):
                held.setdefault(t, []).append(eid)
    return entries, held


def surviving(entries, eid):
    while entries[eid].state == "merged":
        eid = entries[eid].merged_into
    return entries[eid]


@hyp_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(st.lists(st.integers(0, 59), min_size=1, max_size=8, unique=True), min_size=len(PHONES), max_size=len(PHONES)),
    closures=st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=len(PHONES), max_size=len(PHONES)),
    ops=st.lists(st.one_of(st.tuples(st.just("link"), st.integers(0, 3), st.integers(0, 3)), st.tuples(st.just("unlink"), st.integers(0, 3))), max_size=6),
)
def test_links_and_unlinks_lose_no_ticket_and_close_no_open_case(days, closures, ops):
    """After any links and unlinks, every ticket an entry held before still belongs to exactly
    one entry, and a case open before is still open under whichever entry holds it now."""
    import tempfile
    from pathlib import Path

    today = date(2024, 10, 31)
    rows_ = [r for i, (phone, d) in enumerate(zip(PHONES, days)) for r in rows(f"P{i}", phone, f"诉求人{i}", sorted(d), point=f"小区{i}号楼")]
    with tempfile.TemporaryDirectory() as folder:
        store = store_with(Path(folder) / "g.db", rows_)
        try:
            entries, _ = caller_entries(store, today)
            for e, k in zip(sorted(entries.values(), key=lambda e: e.id), closures):
                if k is not None:
                    service.close(store, e.id, "居民认可", min(e.opened_on + timedelta(days=k), today), today)
            entries, before = caller_entries(store, today)
            open_before = [e.id for e in entries.values() if e.is_open]
            for op in ops:
                if op[0] == "link" and op[1] != op[2]:
                    store.link(PHONES[op[1]], PHONES[op[2]], today)
                elif op[0] == "unlink":
                    store.unlink(PHONES[op[1]], today)
                entries, held = caller_entries(store, today)
                assert all(len(ids) == 1 for ids in held.values())
                assert [t for t in before if t not in held] == []
                assert [eid for eid in open_before if not surviving(entries, eid).is_open] == []
        finally:
            store.close()


@pytest.mark.parametrize("field, header, value", [("unit", "主办单位", "丰台区住建委"), ("ticket_type", "工单类型", "咨询")])
def test_a_filter_on_a_field_the_ledger_does_not_use_still_drops_tickets(tmp_path, field, header, value):
    """The refresh read only the fields its rules use: a [filters] rule on 主办单位 matched the
    blank column it got, and the ledger kept tickets warn and the report had dropped. The ticket
    type is not read for the rules either, only for such a filter."""
    kept = rows("K", "13800000001", "张三", range(12))
    dropped = [dict(r, **{field: value}) for r in rows("X", "13800000002", "李四", range(12), point="京铁和园9号楼")]
    store = store_with(tmp_path / "s.db", kept + dropped)
    filtered = Settings().with_values({"filters.exclude": {header: [value]}})
    refresh(store, filtered, date(2024, 8, 31))
    from gaopin.ledger.model import load_entries

    entries = load_entries(store.conn)
    assert {e.key for e in entries.values()} and not any("9号楼" in e.key or e.key == "13800000002" for e in entries.values())
    refresh(store, Settings(), date(2024, 8, 31))
    assert any("9号楼" in e.key for e in load_entries(store.conn).values())


def test_a_refresh_that_writes_holds_the_write_lock_before_it_reads_the_ledger(tmp_path, monkeypatch):
    """A transaction that read the entries first could not wait for another writer (SQLite
    refuses that upgrade at once): two `ledger` runs at once, or one beside an import, would end
    with "locked" (exit 8) instead of waiting as an import does."""
    import gaopin.ledger.refresh as refresh_module

    path = tmp_path / "g.db"
    store = store_with(path, rows("A", "13800000001", "赵建国", range(12)))
    original = refresh_module.load_entries
    free: list[bool] = []

    def load_entries(conn):
        free.append(write_lock_free(path))
        return original(conn)

    monkeypatch.setattr(refresh_module, "load_entries", load_entries)
    assert refresh(store, Settings(), TODAY).created
    assert free == [False]
    store.close()


def test_a_refresh_with_nothing_to_write_takes_no_write_lock(tmp_path, monkeypatch):
    """An unchanged ledger, or a look back at an earlier day, is read while another process
    writes: no waiting for it (nor failing after the wait)."""
    import gaopin.store.store as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)  # a wait would fail at once
    path = tmp_path / "g.db"
    store = store_with(path, rows("A", "13800000001", "赵建国", range(12)))
    assert refresh(store, Settings(), TODAY).created
    with write_lock_held(path):
        assert refresh(store, Settings(), TODAY).cached
        assert refresh(store, Settings(), date(2024, 8, 20)).replay
    store.close()


# --- entries follow their tickets to a new key --------------------------------------------------

def _at_point(prefix, street, n, category="住房->老旧小区->漏雨", point="电力小区1号楼", first=0):
    """n tickets of n callers at one building, two days apart from 1 August."""
    return [
        {**row, "street": street, "caller_phone": f"139{ord(prefix) % 100:02d}{i:06d}"}
        for i, row in enumerate(caller_tickets(prefix, "", "市民", range(first, first + 2 * n, 2), point=point, category=category))
    ]


def _kind(view, kind):
    return {e["id"]: e for e in view["entries"] if e["kind"] == kind}


def test_an_assigned_point_follows_its_tickets_when_a_streets_store_receives_several_streets(tmp_path):
    """新村街道's own store has an entry for 电力小区1号楼 with a leader. Two other streets' tickets
    then make the store several streets', and its points are named with their street: the entry
    becomes 新村街道·电力小区1号楼 with its leader, instead of 无工单 beside a new entry without one."""
    store = store_with(tmp_path / "s.db", _at_point("A", "新村街道", 12))
    view, _ = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    [(point_id, point)] = _kind(view, "point").items()
    assert point["key"] == {"point": "电力小区1号楼"}
    service.assign(store, point_id, TODAY, owner="张三")
    store.import_result(tickets(_at_point("B", "卢沟桥街道", 12) + _at_point("C", "东铁匠营街道", 12)), "b.xlsx", "sha-b", datetime(2024, 10, 1))
    view, summary = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    points = _kind(view, "point")
    assert points[point_id]["key"] == {"point": "新村街道·电力小区1号楼"}
    assert points[point_id]["owner"] == "张三" and points[point_id]["tickets_total"] == 12
    assert sorted(e["key"]["point"] for e in points.values()) == sorted(["东铁匠营街道·电力小区1号楼", "新村街道·电力小区1号楼", "卢沟桥街道·电力小区1号楼"])
    assert point_id in summary.followed
    shown = service.show(store, Settings(), point_id, TODAY)
    assert any(ev["kind"] == "rekeyed" and "原为“电力小区1号楼”，现为“新村街道·电力小区1号楼”" in ev["text"] for ev in shown["events"])


def test_a_closed_issue_follows_its_tickets_when_category_level_changes_and_stays_closed(tmp_path):
    """销号 is final: after `[rules] category_level = 2` the closed problem is the same entry under
    its coarser key, still closed, not a new open entry over the tickets from before its closing."""
    store = store_with(tmp_path / "c.db", _at_point("A", "新村街道", 12))
    view, _ = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    [issue_id] = _kind(view, "issue")
    service.close(store, issue_id, "已维修", date(2024, 9, 1), TODAY)
    coarse = Settings().with_values({"rules.category_level": 2})
    view, summary = service.ledger_month(store, coarse, 9, 2024, TODAY)
    issues = _kind(view, "issue")
    assert list(issues) == [issue_id] and summary.created == []
    assert issues[issue_id]["key"] == {"point": "电力小区1号楼", "category": "住房->老旧小区"}
    assert issues[issue_id]["status"] == "销号"


def test_when_two_entries_tickets_meet_in_one_key_the_one_that_held_more_takes_it(tmp_path):
    """category_level 2 joins 漏雨 (12 tickets) and 墙皮脱落 (10) at one building: the 漏雨 entry
    takes the joint key; the other keeps its own, without tickets."""
    store = store_with(tmp_path / "m.db", _at_point("A", "新村街道", 12) + _at_point("B", "新村街道", 10, category="住房->老旧小区->墙皮脱落", first=1))
    view, _ = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    by_category = {e["key"]["category"]: i for i, e in _kind(view, "issue").items()}
    assert set(by_category) == {"住房->老旧小区->漏雨", "住房->老旧小区->墙皮脱落"}
    view, summary = service.ledger_month(store, Settings().with_values({"rules.category_level": 2}), 9, 2024, TODAY)
    issues = _kind(view, "issue")
    assert issues[by_category["住房->老旧小区->漏雨"]]["key"]["category"] == "住房->老旧小区"
    assert issues[by_category["住房->老旧小区->漏雨"]]["tickets_total"] == 22
    assert issues[by_category["住房->老旧小区->墙皮脱落"]]["key"]["category"] == "住房->老旧小区->墙皮脱落"
    assert summary.followed == [by_category["住房->老旧小区->漏雨"]] and summary.created == []
