import json
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from tests.builders import at, store_with, tickets
from tests.builders import settings as build_settings

from gaopin.config import Settings
from gaopin.errors import StoreError, UsageError
from gaopin.ledger import service
from gaopin.ledger.refresh import refresh

TODAY = date(2024, 12, 31)
NOISE = "城市管理->噪声扰民->生活噪声"


def day(n: int, start=date(2024, 8, 1)) -> str:
    return (start + timedelta(days=n)).isoformat()


def caller_rows(phone, name, days, point="京铁和园12号楼", prefix="C", category="商业服务->快递物流->投递服务"):
    return [
        {"ticket_id": f"{prefix}{i:03d}", "received_at": at(day(d)), "caller_phone": phone, "caller_name": name, "address": point, "category": category, "community": "京铁社区"}
        for i, d in enumerate(days)
    ]


def month(store, m=8, settings=None, today=TODAY, show_phones=False):
    view, summary = service.ledger_month(store, settings or Settings(), m, 2024, today, show_phones=show_phones)
    return view


def entries(view, kind):
    return [e for e in view["entries"] if e["kind"] == kind]


def test_five_tickets_in_30_days_make_a_caller_entry_holding_earlier_ones(tmp_path):
    rows = caller_rows("13800000001", "赵建国", [-60, 0, 7, 14, 21, 28])  # one in June, five in August
    store = store_with(tmp_path / "g.db", rows)
    [e] = entries(month(store), "caller")
    assert e["id"] == "GP-2024-0001"
    assert e["tickets_total"] == 6 and e["tickets_in_month"] == 5
    assert e["first_seen"] == day(-60) and e["opened_on"] == day(28)
    assert e["key"] == {"name": "赵建国", "phones": ["138****0001"]}
    assert e["status"] == "在办" and e["recurrence"] == 0


def test_a_caller_is_named_by_a_name_that_says_who_not_by_a_placeholder(tmp_path):
    """Three 匿名 beside 辛 and 辛先生 read 辛 (the most frequent name had been shown);
    a caller who never gave a name keeps the placeholder."""
    rows = [{**r, "caller_name": n} for r, n in zip(caller_rows("13900008001", "", range(6)), ["匿名", "辛", "匿名", "辛先生", "匿名", "辛"])]
    rows += caller_rows("13900008002", "市民", range(5), prefix="M", point="京铁和园3号楼")
    store = store_with(tmp_path / "g.db", rows)
    assert sorted(e["key"]["name"] for e in entries(month(store), "caller")) == ["市民", "辛"]


@pytest.mark.parametrize("days", [[0, 7, 14, 21], [0, 8, 16, 24, 31]])
def test_four_tickets_or_five_over_more_than_30_days_do_not(tmp_path, days):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", days))
    assert entries(month(store), "caller") == []


def test_new_tickets_attach_to_the_open_entry(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    month(store)
    store.import_result(tickets(caller_rows("13800000001", "赵建国", [40, 41], prefix="D")), "b.xlsx", "sha-b", datetime(2024, 10, 1))
    view = month(store, 9)
    [e] = entries(view, "caller")
    assert e["id"] == "GP-2024-0001" and e["tickets_total"] == 7
    assert store.conn.execute("SELECT count(*) FROM entries WHERE kind = 'caller'").fetchone()[0] == 1


def test_nine_numbers_one_name_are_one_caller_entry(tmp_path):
    rows = []
    points = ["京铁和园12号楼", "京铁和园菜鸟驿站"]
    for i in range(9):
        # Each number is used at the flat, and every other number also at the courier station.
        phone = f"1380000{i:04d}"
        rows += caller_rows(phone, "赵建国", [i * 3], point=points[0], prefix=f"F{i}")
        rows += caller_rows(phone, "赵建国", [i * 3 + 1], point=points[i % 2], prefix=f"G{i}")
    store = store_with(tmp_path / "g.db", rows)
    [e] = entries(month(store), "caller")
    assert len(e["key"]["phones"]) == 9 and e["tickets_total"] == 18 and e["persons"] == 1


def test_same_common_name_at_different_points_stays_two_entries(tmp_path):
    a = caller_rows("13800000001", "王女士", range(5), point="恰海小区3号楼", prefix="A")
    b = caller_rows("13900000002", "王女士", range(5), point="优筑小区1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    assert len(entries(month(store), "caller")) == 2


def test_staff_fields_survive_reimport_and_refresh(tmp_path):
    rows = caller_rows("13800000001", "赵建国", range(5))
    store = store_with(tmp_path / "g.db", rows)
    month(store)
    service.assign(store, "GP-2024-0001", TODAY, owner="张书记", unit="物业办", deadline=date(2025, 1, 2), measures="约谈房东")
    service.note(store, "gp-2024-0001", "已电话回访", TODAY)
    store.import_result(tickets([{**r, "title": "更新"} for r in rows]), "again.xlsx", "sha-again", datetime(2024, 10, 1))
    [e] = entries(month(store), "caller")
    assert (e["owner"], e["unit"], e["deadline"], e["measures"]) == ("张书记", "物业办", "2025-01-02", "约谈房东")
    assert e["status"] == "临期"  # deadline within 3 days of TODAY
    assert entries(month(store, today=date(2025, 1, 3)), "caller")[0]["status"] == "超期"
    shown = service.show(store, Settings(), "GP-2024-0001", TODAY)
    assert [ev["kind"] for ev in shown["events"]] == ["opened", "assign", "note"]


def test_resolved_entry_reopens_as_a_recurrence_when_later_tickets_cross_again(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    month(store)
    service.resolve(store, "GP-2024-0001", "已协调", date(2024, 8, 10), TODAY)
    # Four later tickets: counted afresh, not enough.
    store.import_result(tickets(caller_rows("13800000001", "赵建国", [20, 21, 22, 23], prefix="R")), "r.xlsx", "sha-r", datetime(2024, 9, 1))
    [e] = [x for x in month(store)["entries"] if x["kind"] == "caller"]
    assert e["status"] == "已化解" and e["tickets_total"] == 5
    store.import_result(tickets(caller_rows("13800000001", "赵建国", [24], prefix="S")), "s.xlsx", "sha-s", datetime(2024, 9, 2))
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    [e] = entries(view, "caller")
    assert summary.reopened == ["GP-2024-0001"]
    assert (e["id"], e["status"], e["recurrence"], e["tickets_total"]) == ("GP-2024-0001", "在办", 1, 10)
    shown = service.show(store, Settings(), "GP-2024-0001", TODAY)
    assert [c["end"] for c in shown["cycles"]] == ["已化解", None]
    # The timeline says how the last cycle ended (it read 销号 after a 化解 too).
    assert [ev["text"] for ev in shown["events"] if ev["kind"] == "reopened"] == ["化解后再次达到标准，复发（第 1 次）"]
    # A second refresh changes nothing.
    again, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    assert again == view and summary.reopened == []


def test_a_closed_entry_reopens_and_its_timeline_says_it_was_closed(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    month(store)
    service.close(store, "GP-2024-0001", "居民认可", date(2024, 8, 10), TODAY)
    store.import_result(tickets(caller_rows("13800000001", "赵建国", [20, 21, 22, 23, 24], prefix="R")), "r.xlsx", "sha-r", datetime(2024, 9, 1))
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    assert summary.reopened == ["GP-2024-0001"]
    shown = service.show(store, Settings(), "GP-2024-0001", TODAY)
    assert [c["end"] for c in shown["cycles"]] == ["销号", None]
    assert [ev["text"] for ev in shown["events"] if ev["kind"] == "reopened"] == ["销号后再次达到标准，复发（第 1 次）"]


def test_close_after_resolve_and_errors_write_nothing(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    month(store)
    with pytest.raises(UsageError):
        service.resolve(store, "GP-2024-0001", "x", date(2024, 7, 1), TODAY)  # before it opened
    with pytest.raises(UsageError):
        service.close(store, "GP-2024-0001", None, date(2025, 6, 1), TODAY)  # in the future
    with pytest.raises(StoreError):
        service.note(store, "GP-2024-9999", "x", TODAY)
    assert service.show(store, Settings(), "GP-2024-0001", TODAY)["status"] == "在办"
    service.resolve(store, "GP-2024-0001", "已协调", date(2024, 8, 10), TODAY)
    service.close(store, "GP-2024-0001", "居民认可", date(2024, 8, 20), TODAY)
    shown = service.show(store, Settings(), "GP-2024-0001", TODAY)
    assert shown["status"] == "销号" and shown["closed_on"] == "2024-08-20"
    with pytest.raises(StoreError):
        service.close(store, "GP-2024-0001", None, date(2024, 8, 21), TODAY)


def test_a_manual_link_merges_two_caller_entries_and_unlink_splits_them(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    assert [e["id"] for e in entries(month(store), "caller")] == ["GP-2024-0001", "GP-2024-0002"]
    service.note(store, "GP-2024-0002", "另一个号码的进展", TODAY)
    store.link("13800000001", "13900000002", TODAY)
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    assert summary.merged == [("GP-2024-0002", "GP-2024-0001")]
    # The view right after the refresh (its entries in memory) equals one read back from the store.
    again, kept = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    assert kept.cached and again == view
    [e] = entries(view, "caller")
    assert e["tickets_total"] == 10 and len(e["key"]["phones"]) == 2
    absorbed = service.show(store, Settings(), "GP-2024-0002", TODAY)
    assert absorbed["status"] == "已合并到 GP-2024-0001"
    # Named as the entry holding its tickets names the person (it read （无名）: no tickets of its own).
    assert absorbed["key"]["name"] == e["key"]["name"] != ""
    notes = [ev["text"] for ev in service.show(store, Settings(), "GP-2024-0001", TODAY)["events"] if ev["kind"] == "note"]
    assert notes == ["（来自 GP-2024-0002）另一个号码的进展"]
    with pytest.raises(StoreError, match="已合并到"):
        service.assign(store, "GP-2024-0002", TODAY, owner="x")
    store.unlink("13900000002", TODAY)
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    assert summary.revived == ["GP-2024-0002"]
    assert service.ledger_month(store, Settings(), 8, 2024, TODAY)[0] == view
    assert sorted((e["id"], e["tickets_total"]) for e in entries(view, "caller")) == [("GP-2024-0001", 5), ("GP-2024-0002", 5)]


# Numbers staff typed into the ledger: a unit's, the owner's own, callers' in the measures,
# the timeline and the reasons (a landline too).
STAFF_TYPED = ["13912340000", "13700000003", "13800000009", "13300000002", "01065123400", "13300000004"]


def digits(*described) -> str:
    """The described entries as text, numbers written in groups joined up."""
    return re.sub(r"(?<=[0-9])[-\s（）()]+(?=[0-9])", "", json.dumps(described, ensure_ascii=False))


def test_numbers_staff_type_into_the_ledger_are_masked_like_the_callers_unless_asked(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    month(store)
    service.assign(store, "GP-2024-0001", TODAY, owner="张书记 13700000003", unit="物业 13912340000", measures="已约业主13800000009面谈")
    service.note(store, "GP-2024-0002", "已电话回访 133-0000-0002", TODAY)
    store.link("13800000001", "13900000002", TODAY)
    month(store)  # the merge copies GP-2024-0002's note into GP-2024-0001's timeline
    service.resolve(store, "GP-2024-0001", "座机（010）6512 3400 回访满意", date(2024, 8, 20), TODAY)
    service.close(store, "GP-2024-0001", "业主13300000004认可", date(2024, 8, 21), TODAY)
    # Names masked too: the owner, a leader, is not a caller and keeps his name.
    masked = build_settings(privacy={"mask_names": True})
    [e] = entries(month(store, settings=masked), "caller")
    assert (e["owner"], e["unit"], e["measures"]) == ("张书记 137****0003", "物业 139****0000", "已约业主138****0009面谈")
    shown = service.show(store, masked, "GP-2024-0001", TODAY)
    assert "（来自 GP-2024-0002）已电话回访 133****0002" in [ev["text"] for ev in shown["events"]]
    assert shown["cycles"][0]["reason"] == "座机010****3400 回访满意"
    assert [n for n in STAFF_TYPED if n in digits(e, shown)] == []
    # --show-phones, or [privacy] mask_phones = false: as typed, which is also what is stored.
    unmasked = build_settings(privacy={"mask_phones": False})
    for view, full in (
        (month(store, settings=masked, show_phones=True), service.show(store, masked, "GP-2024-0001", TODAY, show_phones=True)),
        (month(store, settings=unmasked), service.show(store, unmasked, "GP-2024-0001", TODAY)),
    ):
        [e] = entries(view, "caller")
        assert (e["owner"], e["unit"], e["measures"]) == ("张书记 13700000003", "物业 13912340000", "已约业主13800000009面谈")
        assert [n for n in STAFF_TYPED if n not in digits(full)] == []
    stored = store.conn.execute("SELECT owner, unit, measures FROM entries WHERE id = 'GP-2024-0001'").fetchone()
    assert tuple(stored) == ("张书记 13700000003", "物业 13912340000", "已约业主13800000009面谈")


def test_automatic_linking_by_new_data_merges_too(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵建国", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    assert len(entries(month(store), "caller")) == 2
    bridge = caller_rows("13900000002", "赵建国", [16], point="京铁和园12号楼", prefix="X")  # number B used at A's point
    store.import_result(tickets(bridge), "x.xlsx", "sha-x", datetime(2024, 9, 1))
    [e] = entries(month(store), "caller")
    assert e["id"] == "GP-2024-0001" and e["tickets_total"] == 11


def test_point_entry_needs_ten_tickets_in_30_days(tmp_path):
    rows = [{"ticket_id": f"P{i:02d}", "received_at": at(day(i * 3)), "caller_phone": f"1380000{i:04d}", "caller_name": "市民", "address": "南大园300号", "category": f"住房->老旧小区->{i % 3}", "community": "南大园社区"} for i in range(10)]
    store = store_with(tmp_path / "g.db", rows)
    [e] = entries(month(store, 9), "point")
    assert e["key"] == {"point": "南大园300号"} and e["tickets_total"] == 10 and e["persons"] == 10
    store9 = store_with(tmp_path / "g9.db", rows[:9])
    assert entries(month(store9, 9), "point") == []


def test_issue_entry_needs_eight_tickets_from_three_persons_in_90_days(tmp_path):
    def rows(phones):
        return [{"ticket_id": f"K{i:02d}", "received_at": at(day(i * 10)), "caller_phone": p, "caller_name": "居民", "address": "桥一小区6号楼", "category": NOISE, "community": "桥一社区"} for i, p in enumerate(phones)]

    two = ["13800000001", "13800000002"] * 4
    store = store_with(tmp_path / "a.db", rows(two))
    assert entries(month(store, 10), "issue") == []
    three = two[:7] + ["13800000003"]
    store = store_with(tmp_path / "b.db", rows(three))
    [e] = entries(month(store, 10), "issue")
    assert e["key"] == {"point": "桥一小区6号楼", "category": NOISE} and e["persons"] == 3 and e["tickets_total"] == 8


def test_an_issue_of_one_person_at_least_needs_one_caller_with_a_usable_number(tmp_path):
    """[ledger.issue] min_persons = 1 was taken as no condition: eight tickets with no usable
    phone opened an issue of 0 persons."""
    def rows(phones):
        return [{"ticket_id": f"K{i:02d}", "received_at": at(day(i)), "caller_phone": p, "caller_name": "匿名", "address": "戊小区1号楼", "category": NOISE, "community": "桥一社区"} for i, p in enumerate(phones)]

    one = build_settings(ledger={"issue": {"min_persons": 1}})
    store = store_with(tmp_path / "a.db", rows([None] * 8))
    assert entries(month(store, settings=one), "issue") == []
    store = store_with(tmp_path / "b.db", rows([None] * 7 + ["13800000001"]))
    [e] = entries(month(store, settings=one), "issue")
    assert e["persons"] == 1 and e["tickets_total"] == 8 and e["opened_on"] == day(7)


def test_month_view_lists_entries_with_tickets_in_the_month_or_open_at_its_end(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    assert len(month(store, 8)["entries"]) == 1
    assert len(month(store, 10)["entries"]) == 1  # still open
    assert month(store, 7)["entries"] == []  # not yet opened
    service.close(store, "GP-2024-0001", None, date(2024, 9, 5), TODAY)
    assert month(store, 10)["entries"] == []
    assert month(store, 9)["entries"][0]["status"] == "销号"  # closed during September
    assert month(store, 11)["entries"] == []


def test_ids_follow_opening_order_and_never_change(tmp_path):
    a = caller_rows("13800000001", "赵建国", [10, 11, 12, 13, 14], prefix="A")
    b = caller_rows("13900000002", "钱多多", [0, 1, 2, 3, 4], point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    ids = {e["key"]["name"]: e["id"] for e in entries(month(store), "caller")}
    assert ids == {"钱多多": "GP-2024-0001", "赵建国": "GP-2024-0002"}
    refresh(store, Settings(), TODAY)
    assert {e["key"]["name"]: e["id"] for e in entries(month(store), "caller")} == ids


def test_ledger_workbook_is_formatted_and_formula_free(tmp_path):
    rows = caller_rows("13800000001", "=HYPERLINK(\"http://x\",\"y\")", range(5))
    store = store_with(tmp_path / "g.db", rows)
    view = month(store)
    path = service.write_ledger(view, tmp_path / "ledger.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["高频诉求人", "高频点位", "高频问题"]
    ws = wb["高频诉求人"]
    assert ws["A2"].value == "编号" and ws.freeze_panes == "A3"
    assert ws["B3"].value.startswith("=HYPERLINK")
    for sheet in wb:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    assert "13800000001" not in str([c.value for r in ws.iter_rows() for c in r])


def ticket_owners(store, today=TODAY):
    """Each caller ticket → the ids of the non-merged caller entries holding it."""
    view, _ = service.ledger_month(store, Settings(), 8, 2024, today)
    held: dict[str, list[str]] = {}
    for e in entries(view, "caller"):
        for t in e["ticket_ids"]:
            held.setdefault(t, []).append(e["id"])
    return held


def test_a_link_never_hides_an_open_case_under_a_closed_one_nor_loses_its_tickets(tmp_path):
    # The reviewer's case: A's entry closed, B's open (leader, deadline), then linked.
    a = caller_rows("13822220001", "郑一", [1, 3, 5, 7, 9], prefix="A")
    b = caller_rows("13822220002", "郑先生", [11, 13, 15, 17, 19, 27], point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a)
    month(store, today=date(2024, 8, 10))
    service.close(store, "GP-2024-0001", "解决", date(2024, 8, 10), date(2024, 8, 10))
    store.import_result(tickets(b), "b.xlsx", "sha-b", datetime(2024, 9, 1))
    month(store, today=date(2024, 8, 31))
    service.assign(store, "GP-2024-0002", date(2024, 8, 31), owner="乙领导", deadline=date(2024, 9, 10))
    store.link("13822220001", "13822220002", date(2024, 8, 31))
    view, summary = service.ledger_month(store, Settings(), 8, 2024, date(2024, 8, 31))
    # The open case keeps going and absorbs the closed one; both ids stay.
    assert summary.merged == [("GP-2024-0001", "GP-2024-0002")]
    [e] = entries(view, "caller")
    assert (e["id"], e["status"], e["owner"], e["deadline"]) == ("GP-2024-0002", "在办", "乙领导", "2024-09-10")
    assert sorted(e["ticket_ids"]) == sorted(r["ticket_id"] for r in a + b)
    assert service.show(store, Settings(), "GP-2024-0001", date(2024, 8, 31))["status"] == "已合并到 GP-2024-0002"


def test_two_ended_entries_merged_keep_every_ticket_and_count_only_new_ones_afresh(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")  # closed on day 10
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")  # closed on day 20
    store = store_with(tmp_path / "g.db", a + b)
    month(store)
    service.close(store, "GP-2024-0001", "居民认可", date(2024, 8, 10), TODAY)
    service.close(store, "GP-2024-0002", "居民认可", date(2024, 8, 20), TODAY)
    store.link("13800000001", "13900000002", TODAY)
    held = ticket_owners(store)
    # The older absorbs; B's tickets after A's closure stay in it and do not make it recur.
    assert held == {r["ticket_id"]: ["GP-2024-0001"] for r in a + b}
    [e] = entries(month(store), "caller")
    assert (e["status"], e["recurrence"]) == ("销号", 0)


def test_unlink_takes_back_the_staff_fields_and_notes_the_merge_copied(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    month(store)
    service.assign(store, "GP-2024-0001", TODAY, unit="物业办")
    service.assign(store, "GP-2024-0002", TODAY, owner="陈书记", unit="社区", deadline=date(2025, 3, 15))
    service.note(store, "GP-2024-0002", "已约谈", TODAY)
    store.link("13800000001", "13900000002", TODAY)
    [e] = entries(month(store), "caller")
    assert (e["id"], e["owner"], e["unit"], e["deadline"]) == ("GP-2024-0001", "陈书记", "物业办", "2025-03-15")
    store.unlink("13900000002", TODAY)
    view = month(store)
    got = {e["id"]: (e["owner"], e["unit"], e["deadline"]) for e in entries(view, "caller")}
    assert got == {"GP-2024-0001": ("", "物业办", None), "GP-2024-0002": ("陈书记", "社区", "2025-03-15")}
    notes = [ev["text"] for ev in service.show(store, Settings(), "GP-2024-0001", TODAY)["events"] if ev["kind"] == "note"]
    assert notes == []
    assert [ev["text"] for ev in service.show(store, Settings(), "GP-2024-0002", TODAY)["events"] if ev["kind"] == "note"] == ["已约谈"]


def as_merged_by_an_old_version(store):
    """The store as a version before schema 7 left its merges: no record of what they copied."""
    store.conn.execute("UPDATE entries SET merge_copied = NULL")
    store.conn.commit()


def test_unlink_of_a_merge_an_old_version_made_takes_back_what_the_timeline_shows_it_copied(tmp_path):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    month(store)
    service.assign(store, "GP-2024-0001", TODAY, owner="李四", unit="物业办")
    service.assign(store, "GP-2024-0001", TODAY, measures="约谈")
    service.assign(store, "GP-2024-0002", TODAY, unit="社区", deadline=date(2025, 3, 15), measures="约谈")
    store.link("13800000001", "13900000002", TODAY)
    month(store)  # copies the deadline only: GP-2024-0001 had a unit and the measures
    as_merged_by_an_old_version(store)
    store.unlink("13900000002", TODAY)
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    got = {e["id"]: (e["owner"], e["unit"], e["deadline"], e["measures"]) for e in entries(view, "caller")}
    assert got == {"GP-2024-0001": ("李四", "物业办", None, "约谈"), "GP-2024-0002": ("", "社区", "2025-03-15", "约谈")}
    assert summary.checks == []


def _three_callers_two_assigned(tmp_path):
    """GP-2024-0001 (no staff fields), GP-2024-0002 (unit 居委会) and GP-2024-0003 (unit 居委会,
    measures 上门), three callers not yet linked."""
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    c = caller_rows("13700000003", "赵先生", range(20, 25), point="别处2号楼", prefix="C")
    store = store_with(tmp_path / "g.db", a + b + c)
    month(store)
    service.assign(store, "GP-2024-0002", TODAY, unit="居委会")
    service.assign(store, "GP-2024-0003", TODAY, unit="居委会", measures="上门")
    return store


def test_unlink_of_an_old_merge_reads_what_an_earlier_merge_still_in_place_copied(tmp_path):
    store = _three_callers_two_assigned(tmp_path)
    store.link("13800000001", "13900000002", TODAY)
    month(store)  # GP-2024-0001 takes GP-2024-0002's unit
    store.link("13800000001", "13700000003", TODAY)
    month(store)  # and GP-2024-0003's measures only
    as_merged_by_an_old_version(store)
    store.unlink("13700000003", TODAY)
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    got = {e["id"]: (e["status"], e["unit"], e["measures"]) for e in entries(view, "caller")}
    assert got == {"GP-2024-0001": ("在办", "居委会", ""), "GP-2024-0003": ("在办", "居委会", "上门")}
    assert summary.checks == []


def test_unlink_of_an_old_merge_leaves_and_names_the_fields_the_store_cannot_tell_about(tmp_path):
    """GP-2024-0001 absorbed GP-2024-0002, then GP-2024-0003, which has the same unit: it came
    from one of them, but GP-2024-0002 is on its own again (an old version's unlink left the
    unit) and its fields changed since, so whether GP-2024-0003's merge copied it cannot be known."""
    store = _three_callers_two_assigned(tmp_path)
    store.link("13800000001", "13900000002", TODAY)
    month(store)
    as_merged_by_an_old_version(store)
    store.unlink("13900000002", TODAY)
    month(store)
    # An old version's unlink left what the merge had copied.
    store.conn.execute("UPDATE entries SET unit = '居委会' WHERE id = 'GP-2024-0001'")
    store.conn.commit()
    service.assign(store, "GP-2024-0002", TODAY, unit="物业")
    store.link("13800000001", "13700000003", TODAY)
    month(store)
    as_merged_by_an_old_version(store)
    store.unlink("13700000003", TODAY)
    view, summary = service.ledger_month(store, Settings(), 8, 2024, TODAY)
    got = {e["id"]: (e["unit"], e["measures"]) for e in entries(view, "caller")}
    # What GP-2024-0002 held when it was absorbed is not known either: both are left for staff.
    assert got == {"GP-2024-0001": ("居委会", "上门"), "GP-2024-0002": ("物业", ""), "GP-2024-0003": ("居委会", "上门")}
    check = "GP-2024-0001 的责任单位、化解措施可能是旧版本合并 GP-2024-0003 时复制来的，无法确定，拆分后保留未动：请核对，需要时用 gaopin ledger assign GP-2024-0001 修改"
    assert summary.checks == [check]
    assert f"号码解除关联：{check}" in [ev["text"] for ev in service.show(store, Settings(), "GP-2024-0001", TODAY)["events"]]


@pytest.mark.parametrize("old", [False, True])
def test_unlink_takes_back_a_recurrence_counted_while_linked(tmp_path, old):
    a = caller_rows("13800000001", "赵建国", range(5), prefix="A")
    b = caller_rows("13900000002", "赵先生", range(10, 15), point="别处1号楼", prefix="B")
    store = store_with(tmp_path / "g.db", a + b)
    month(store)
    service.close(store, "GP-2024-0001", "居民认可", date(2024, 8, 10), TODAY)
    service.close(store, "GP-2024-0002", "居民认可", date(2024, 8, 20), TODAY)
    store.link("13800000001", "13900000002", TODAY)
    month(store)
    if old:  # merged by a version before schema 7: the recurrence is found on the timeline
        as_merged_by_an_old_version(store)
    # Later tickets: three from A's number, two from B's: together they make A recur.
    later = caller_rows("13800000001", "赵建国", [30, 31, 32], prefix="C") + caller_rows("13900000002", "赵先生", [33, 34], point="别处1号楼", prefix="D")
    store.import_result(tickets(later), "c.xlsx", "sha-c", datetime(2024, 10, 1))
    [e] = entries(month(store, m=9), "caller")
    assert (e["id"], e["status"], e["recurrence"]) == ("GP-2024-0001", "在办", 1)
    store.unlink("13900000002", TODAY)
    got = [(e["status"], e["recurrence"], e["tickets_total"]) for e in (service.show(store, Settings(), i, TODAY) for i in ("GP-2024-0001", "GP-2024-0002"))]
    # Apart, neither number's later tickets cross again: both are closed as before the link.
    assert got == [("销号", 0, 5), ("销号", 0, 5)]


LEDGER_TABLES = ("entries", "entry_events", "entry_phones", "entry_cycles", "ledger_cache", "ledger_state")


def ledger_rows(store):
    return {t: store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in LEDGER_TABLES}


def test_a_look_back_at_an_earlier_day_changes_nothing_in_the_store(tmp_path):
    a = caller_rows("13811110001", "吴十", [0, 2, 4, 6, 8], point="子小区1号楼", prefix="A")
    b = caller_rows("13811110002", "吴十", [1, 3, 5, 7, 9], point="丑小区2号楼", prefix="B")
    bridge = caller_rows("13811110002", "吴十", [35], point="子小区1号楼", prefix="X")  # in September: one person
    later = caller_rows("13700000003", "钱女士", [31, 32, 33, 34, 36], point="桥一社区5号楼", prefix="C")  # opens 6 Sept
    store = store_with(tmp_path / "g.db", a + b + bridge + later)
    current, _ = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    service.note(store, "GP-2024-0001", "已回访", TODAY)
    before = ledger_rows(store)
    # August as it was on 31 August: the person as the ledger knows it now, counted to that day.
    view, summary = service.ledger_month(store, Settings(), 8, 2024, date(2024, 8, 31))
    assert summary.replay and summary.created == [] and summary.merged == [] and summary.stale_since is None
    [e] = entries(view, "caller")
    assert (e["id"], e["tickets_total"], len(e["key"]["phones"])) == ("GP-2024-0001", 10, 2)
    service.show(store, Settings(), "GP-2024-0001", date(2024, 8, 20))
    # Early September: the entry that opened on 6 September is not listed yet.
    early = service.ledger_month(store, Settings(), 9, 2024, date(2024, 9, 3))[0]
    assert [x["id"] for x in entries(early, "caller")] == ["GP-2024-0001"]
    assert ledger_rows(store) == before
    again, kept = service.ledger_month(store, Settings(), 9, 2024, TODAY)
    assert kept.cached and again == current
    # A link the ledger was not yet brought up to: a look back says its view may differ.
    store.link("13811110001", "13700000003", date(2024, 8, 31))
    _, summary = service.ledger_month(store, Settings(), 8, 2024, date(2024, 8, 31))
    assert summary.replay and summary.stale_since == TODAY


def test_an_entry_whose_tickets_a_corrected_export_moved_away_reads_no_tickets_not_open(tmp_path):
    """The corrected address 壬小区18号楼 has its own entry already: the tickets join it, and the
    entry of 壬小区8号楼 is left without tickets (无工单), not open or overdue."""
    rows = [
        {"ticket_id": f"P{i:02d}", "received_at": at(day(i * 2)), "caller_phone": f"1310000{i:04d}", "caller_name": f"居民{i}", "address": "壬小区8号楼", "category": NOISE, "community": "测试社区"}
        for i in range(10)
    ]
    own = [{**r, "ticket_id": f"Q{r['ticket_id']}", "caller_phone": f"1320000{i:04d}", "address": "壬小区18号楼"} for i, r in enumerate(rows)]
    store = store_with(tmp_path / "g.db", rows + own)
    points = {e["key"]["point"]: e for e in entries(month(store, today=date(2024, 8, 31)), "point")}
    point = points["壬小区8号楼"]
    service.assign(store, point["id"], date(2024, 8, 31), owner="点位领导", deadline=date(2024, 9, 10))
    # The same tickets again, the address corrected: the old point has no ticket left.
    store.import_result(tickets([{**r, "address": "壬小区18号楼"} for r in rows]), "fix.xlsx", "sha-fix", datetime(2024, 9, 1))
    later = {e["key"]["point"]: e for e in entries(month(store, m=10, today=date(2024, 10, 31)), "point")}
    old, new = later["壬小区8号楼"], later["壬小区18号楼"]
    # Not 超期 although its deadline has passed; kept with its leader, the id unchanged.
    assert (old["id"], old["status"], old["tickets_total"], old["owner"]) == (point["id"], "无工单", 0, "点位领导")
    assert (new["id"], new["status"], new["tickets_total"]) == (points["壬小区18号楼"]["id"], "在办", 20)
    # Tickets coming back (the correction undone) make it a case in progress again.
    store.import_result(tickets(rows), "undo.xlsx", "sha-undo", datetime(2024, 11, 1))
    back = {e["key"]["point"]: e for e in entries(month(store, m=11, today=date(2024, 11, 30)), "point")}
    assert (back["壬小区8号楼"]["status"], back["壬小区8号楼"]["tickets_total"]) == ("超期", 10)


def test_an_entry_whose_tickets_a_corrected_export_moved_to_a_point_without_an_entry_goes_with_them(tmp_path):
    """壬小区18号楼 has no entry: the entry of 壬小区8号楼 takes its tickets' new point, with its
    leader and deadline, and takes the old one again when the correction is undone."""
    rows = [
        {"ticket_id": f"P{i:02d}", "received_at": at(day(i * 2)), "caller_phone": f"1310000{i:04d}", "caller_name": f"居民{i}", "address": "壬小区8号楼", "category": NOISE, "community": "测试社区"}
        for i in range(10)
    ]
    store = store_with(tmp_path / "g.db", rows)
    [point] = entries(month(store, today=date(2024, 8, 31)), "point")
    service.assign(store, point["id"], date(2024, 8, 31), owner="点位领导", deadline=date(2024, 9, 10))
    store.import_result(tickets([{**r, "address": "壬小区18号楼"} for r in rows]), "fix.xlsx", "sha-fix", datetime(2024, 9, 1))
    [moved] = entries(month(store, m=10, today=date(2024, 10, 31)), "point")
    assert (moved["id"], moved["key"]["point"], moved["owner"], moved["status"], moved["tickets_total"]) == (point["id"], "壬小区18号楼", "点位领导", "超期", 10)
    store.import_result(tickets(rows), "undo.xlsx", "sha-undo", datetime(2024, 11, 1))
    [back] = entries(month(store, m=11, today=date(2024, 11, 30)), "point")
    assert (back["id"], back["key"]["point"], back["tickets_total"]) == (point["id"], "壬小区8号楼", 10)


def test_an_open_entry_whose_tickets_were_purged_reads_no_tickets(tmp_path):
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)), caller_rows("13900000002", "钱女士", [60], point="别处1号楼", prefix="K"))
    month(store)
    service.note(store, "GP-2024-0001", "已约谈", TODAY)
    store.purge(date(2024, 9, 1))
    [e] = entries(month(store), "caller")
    assert (e["id"], e["status"], e["tickets_total"]) == ("GP-2024-0001", "无工单", 0)
    assert [ev["text"] for ev in service.show(store, Settings(), "GP-2024-0001", TODAY)["events"] if ev["kind"] == "note"] == ["已约谈"]


def test_tickets_by_month_follows_the_period_start_day_like_the_month_itself(tmp_path):
    # Days from 1 August: 17 July, 18 July (month 7 with start_day 19); 19 July … 18 August (month 8); 19 August (month 9).
    rows = caller_rows("13800000001", "赵建国", [-15, -14, -13, 0, 10, 17, 18])
    store = store_with(tmp_path / "g.db", rows)
    settings = build_settings(period={"start_day": 19})
    [e] = entries(month(store, m=8, settings=settings), "caller")
    assert e["tickets_in_month"] == e["tickets_by_month"]["2024-08"] == 4
    assert e["tickets_by_month"] == {"2024-07": 2, "2024-08": 4, "2024-09": 1}
    # Calendar months by default.
    [e] = entries(month(store, m=8), "caller")
    assert e["tickets_by_month"] == {"2024-07": 3, "2024-08": 4} and e["tickets_in_month"] == 4


@pytest.mark.parametrize("year", [None, 2024])
def test_the_ledger_of_an_empty_store_is_an_error_with_or_without_a_year(tmp_path, year):
    """With --year it showed an empty month, 本月没有 for every kind, and exit 0."""
    from gaopin.ledger.service import ledger_month
    from gaopin.store import Store

    with Store(tmp_path / "e.db") as store, pytest.raises(StoreError, match="工单库中还没有工单"):
        ledger_month(store, Settings(), 8, year, date(2024, 9, 1))


@pytest.mark.parametrize(
    ("month", "year", "start_day", "start"),
    [(12, None, 1, date(2024, 12, 1)), (10, 2024, 19, date(2024, 9, 19))],  # 2024-10 from 19 September
)
def test_a_month_that_has_not_started_is_refused_as_the_report_refuses_it(tmp_path, month, year, start_day, start):
    """`ledger --month 12 --today 2024-09-15` showed a 2024-12 ledger (exit 0) where the report stops (exit 2)."""
    store = store_with(tmp_path / "g.db", caller_rows("13800000001", "赵建国", range(5)))
    settings = build_settings(period={"start_day": start_day})
    before = (tmp_path / "g.db").read_bytes()
    shown = f"2024-{month} 统计期（{start.isoformat()} 至 {date(2024, month, 31 if month == 12 else start_day - 1).isoformat()}）"
    with pytest.raises(UsageError, match=re.escape(f"{shown}在 2024-09-15 还没有开始")) as refused:
        service.ledger_month(store, settings, month, year, date(2024, 9, 15))
    assert "--today 应在统计期之内或之后" in refused.value.hint
    assert (tmp_path / "g.db").read_bytes() == before  # refused before the refresh writes anything
    # From its first day on, it is shown (a look back at a day of it).
    view, _ = service.ledger_month(store, settings, month, 2024, start)
    assert (view["month"], view["start"]) == (f"2024-{month}", start.isoformat())


def test_with_several_streets_an_entry_names_its_community_with_its_street(tmp_path):
    rows = []
    for s, street in enumerate(("新村街道", "卢沟桥街道")):
        rows += [
            {"ticket_id": f"P{s}{i:02d}", "received_at": at(day(i * 3)), "caller_phone": f"138{s}000{i:04d}", "caller_name": "市民", "address": f"南大园{s + 1}号",
             "category": "住房->老旧小区->漏雨", "community": "东和社区", "street": street}
            for i in range(10)
        ]  # fmt: skip
    view = month(store_with(tmp_path / "g.db", rows), 9)
    assert sorted(e["community"] for e in entries(view, "point")) == ["卢沟桥街道·东和社区", "新村街道·东和社区"]
    one = month(store_with(tmp_path / "one.db", rows), 9, settings=Settings().with_values({"area.scope": "street"}))
    assert {e["community"] for e in entries(one, "point")} == {"东和社区"}


def test_with_several_streets_buildings_of_one_name_are_two_point_entries(tmp_path):
    """Each street has an 电力小区1号楼 with 6 complaints in the month: two points below the
    threshold of 10, not one point of 12 owned by one street's leader. One street's data (or
    scope = "street") keep the one point."""
    rows = [
        {"ticket_id": f"P{s}{i:02d}", "received_at": at(day(i * 3)), "caller_phone": f"138{s}000{i:04d}", "caller_name": "市民", "address": "电力小区1号楼",
         "category": "住房->老旧小区->漏雨", "community": "东和社区", "street": street}
        for s, street in enumerate(("新村街道", "卢沟桥街道")) for i in range(6)
    ]  # fmt: skip
    assert entries(month(store_with(tmp_path / "g.db", rows), 9), "point") == []
    one = month(store_with(tmp_path / "one.db", rows), 9, settings=Settings().with_values({"area.scope": "street"}))
    assert [e["key"]["point"] for e in entries(one, "point")] == ["电力小区1号楼"]
    more = rows + [{**r, "ticket_id": f"Q{r['ticket_id']}"} for r in rows]
    assert sorted(e["key"]["point"] for e in entries(month(store_with(tmp_path / "m.db", more), 9), "point")) == ["卢沟桥街道·电力小区1号楼", "新村街道·电力小区1号楼"]
