from datetime import date

import pytest
from tests.builders import at, tickets

from gaopin.config import Settings
from gaopin.rules.warn import warn

CAT = "城市管理->市容环境->占道经营"
OTHER = "城市管理->噪声扰民->生活噪声"


def t(day, minute=0, phone=None, name="市民", address="恰海小区3号楼", category=CAT, **extra):
    row = {"received_at": at(day, minute), "caller_phone": phone, "caller_name": name, "address": address, "category": category, "community": "恰海社区", "street": "新村街道"}
    row.update(extra)
    return row


def rules_of(report):
    return sorted((w.rule, w.start.isoformat(), w.end.isoformat(), w.tickets, w.persons) for w in report.warnings)


def run(rows, **kwargs):
    return warn(tickets(rows), Settings(), **kwargs)


def test_three_on_one_day_is_a_point_day_warning():
    report = run([t("2024-08-03", m, f"1380000000{m}") for m in range(3)])
    assert rules_of(report) == [("point_day", "2024-08-03", "2024-08-03", 3, 3)]
    w = report.warnings[0]
    assert w.point == "恰海小区3号楼" and w.category == CAT and w.community == "恰海社区"
    assert w.ticket_ids == ["T0001", "T0002", "T0003"]


def test_two_on_one_day_is_not():
    assert run([t("2024-08-03", m) for m in range(2)]).warnings == []


def test_three_across_midnight_is_not_a_point_day():
    rows = [
        {**t("2024-08-03"), "received_at": "2024-08-03 23:50:00"},
        {**t("2024-08-03"), "received_at": "2024-08-03 23:59:59"},
        {**t("2024-08-04"), "received_at": "2024-08-04 00:00:01"},
    ]
    assert run(rows).warnings == []


def test_five_in_two_days_from_two_persons_is_a_two_day_warning():
    rows = [t("2024-08-03", m, "13800000001", "张三") for m in range(2)] + [t("2024-08-04", m, "13900000002", "李四") for m in range(2)]
    rows.append(t("2024-08-04", 9, "13900000002", "李四"))
    report = run(rows)
    assert ("two_day", "2024-08-03", "2024-08-04", 5, 2) in rules_of(report)
    # Day 2 also holds 3 tickets: a point_day warning too.
    assert ("point_day", "2024-08-04", "2024-08-04", 3, 1) in rules_of(report)


def test_five_in_two_days_from_one_person_with_several_numbers_is_not():
    phones = ["13800000001", "13800000002", "13800000003", "13800000001", "13800000002"]
    days = ["2024-08-03", "2024-08-03", "2024-08-04", "2024-08-04", "2024-08-04"]
    rows = [t(d, i, p, "赵建国") for i, (d, p) in enumerate(zip(days, phones))]
    report = run(rows)
    assert [w.rule for w in report.warnings] == ["point_day"]  # 3 on the 4th, but no two_day
    assert report.warnings[0].persons == 1


def test_the_same_five_from_unlinked_numbers_would_fire():
    phones = ["13800000001", "13800000002", "13800000003", "13800000001", "13800000002"]
    days = ["2024-08-03", "2024-08-03", "2024-08-04", "2024-08-04", "2024-08-04"]
    rows = [t(d, i, p, "匿名") for i, (d, p) in enumerate(zip(days, phones))]
    assert "two_day" in [w.rule for w in run(rows).warnings]


def test_four_from_four_persons_is_not():
    rows = [t("2024-08-03", 0, "13800000001"), t("2024-08-03", 1, "13800000002"), t("2024-08-04", 0, "13800000003"), t("2024-08-04", 1, "13800000004")]
    assert run(rows).warnings == []


def test_five_split_across_categories_is_not():
    rows = [t("2024-08-03", 0, "13800000001"), t("2024-08-03", 1, "13800000002"), t("2024-08-04", 0, "13800000003", category=OTHER), t("2024-08-04", 1, "13800000004", category=OTHER), t("2024-08-04", 2, "13800000005", category="交通管理->道路设施->坑洼")]
    assert run(rows).warnings == []


def test_tickets_without_a_usable_phone_count_as_tickets_not_persons():
    rows = [t("2024-08-03", m, None) for m in range(2)] + [t("2024-08-04", m, None) for m in range(2)] + [t("2024-08-04", 5, "13800000001")]
    report = run(rows)
    assert "two_day" not in [w.rule for w in report.warnings]  # 5 tickets, 1 person
    rows.append(t("2024-08-04", 6, "13900000009"))
    report = run(rows)
    two = [w for w in report.warnings if w.rule == "two_day"]
    assert two and two[0].tickets == 6 and two[0].persons == 2


def test_firing_windows_sharing_tickets_chain_into_one_warning():
    # 2, 3 and 3 tickets: the windows ending on the 4th (5) and the 5th (6) fire and share the 4th.
    rows = []
    for i, (day, n) in enumerate([("2024-08-03", 2), ("2024-08-04", 3), ("2024-08-05", 3)]):
        rows += [t(day, m, f"1380000{i}{m:03d}") for m in range(n)]
    report = run(rows)
    two = [w for w in report.warnings if w.rule == "two_day"]
    assert len(two) == 1
    assert (two[0].start, two[0].end, two[0].tickets) == (date(2024, 8, 3), date(2024, 8, 5), 8)


def test_windows_that_share_no_ticket_are_separate_warnings():
    rows = [t("2024-08-03", m, f"138000000{m:02d}") for m in range(5)] + [t("2024-08-06", m, f"139000000{m:02d}") for m in range(5)]
    two = [w for w in run(rows).warnings if w.rule == "two_day"]
    assert [(w.start, w.end) for w in two] == [(date(2024, 8, 3), date(2024, 8, 3)), (date(2024, 8, 6), date(2024, 8, 6))]


def test_a_window_with_a_quiet_middle_day_does_not_chain():
    # Tickets on the 3rd and the 5th only: windows end on the 3rd and the 5th, sharing nothing.
    rows = [t("2024-08-03", m, f"138000000{m:02d}") for m in range(5)] + [t("2024-08-05", m, f"139000000{m:02d}") for m in range(5)]
    two = [w for w in run(rows).warnings if w.rule == "two_day"]
    assert len(two) == 2


def test_category_level_makes_problems_coarser():
    rows = [t("2024-08-03", 0, category="城市管理->噪声扰民->生活噪声"), t("2024-08-03", 1, category="城市管理->噪声扰民->施工噪声"), t("2024-08-03", 2, category="城市管理->噪声扰民")]
    assert run(rows).warnings == []
    settings = Settings().with_values({"rules.category_level": 2})
    report = warn(tickets(rows), settings)
    assert [(w.rule, w.category) for w in report.warnings] == [("point_day", "城市管理->噪声扰民")]


def test_thresholds_come_from_settings():
    rows = [t("2024-08-03", m) for m in range(3)]
    settings = Settings().with_values({"rules.point_day.min_tickets": 4})
    assert warn(tickets(rows), settings).warnings == []


def test_blank_address_is_left_out_and_noted():
    rows = [t("2024-08-03", m, address=None) for m in range(3)]
    report = run(rows)
    assert report.warnings == []
    assert any("没有地址" in n for n in report.notes)


def test_without_an_address_column_the_community_is_the_point():
    rows = [{k: v for k, v in t("2024-08-03", m).items() if k != "address"} for m in range(3)]
    report = run(rows)
    assert [w.point for w in report.warnings] == ["恰海社区"]
    assert any("以社区代替点位" in n for n in report.notes)


def test_without_a_category_column_a_point_is_one_problem():
    rows = [{k: v for k, v in t("2024-08-03", m, category=c).items() if k != "category"} for m, c in enumerate([CAT, OTHER, CAT])]
    report = run(rows)
    assert len(report.warnings) == 1 and report.warnings[0].category == ""
    assert any("没有问题分类列" in n for n in report.notes)


def test_undated_tickets_are_counted_in_the_notes():
    rows = [t("2024-08-03", m) for m in range(2)] + [{**t("2024-08-03"), "received_at": None}]
    report = run(rows)
    assert report.warnings == []
    assert any("1 张工单的受理时间" in n for n in report.notes)


def test_filters_drop_tickets_before_any_rule():
    rows = [t("2024-08-03", m, ticket_type="咨询" if m == 0 else "投诉") for m in range(3)]
    assert len(run(rows).warnings) == 1
    settings = Settings().with_values({"filters.exclude": {"工单类型": ["咨询"]}})
    report = warn(tickets(rows), settings)
    assert report.warnings == []
    assert any("剔除了 1 张" in n for n in report.notes)
    # A filter naming a field that is not there is noted, a number in its name masked.
    odd = warn(tickets(rows), Settings().with_values({"filters.exclude": {"电话13811120003": ["x"]}}))
    assert "[filters] 中的字段“电话138****0003”在数据中不存在，这条筛选没有生效。" in odd.notes


def test_two_filters_matching_one_ticket_say_how_many_were_dropped_in_all():
    """Each filter's note counts its own matches: 2 + 2 read like 4 dropped of 3."""
    rows = [t("2024-08-03", m, ticket_type="咨询" if m < 2 else "投诉", unit="城管" if m > 0 else "物业") for m in range(3)]
    settings = Settings().with_values({"filters.exclude": {"工单类型": ["咨询"], "unit": ["城管"]}})
    notes = warn(tickets(rows), settings).notes
    assert "按 [filters] 剔除了 2 张工单类型为 咨询 的工单。" in notes and "按 [filters] 剔除了 2 张承办单位为 城管 的工单。" in notes  # unit: said by its label
    assert "按 [filters] 共剔除 3 张工单（一张工单可能同时符合几条筛选）。" in notes
    one = warn(tickets(rows), Settings().with_values({"filters.exclude": {"工单类型": ["咨询"]}})).notes
    assert not any("共剔除" in n for n in one)


def test_date_and_since_keep_warnings_by_their_end():
    rows = [t("2024-08-03", m) for m in range(3)] + [t("2024-08-09", m) for m in range(3)]
    assert [w.end for w in run(rows, on=date(2024, 8, 9)).warnings] == [date(2024, 8, 9)]
    assert [w.end for w in run(rows, since=date(2024, 8, 4)).warnings] == [date(2024, 8, 9)]
    assert len(run(rows, on=date(2024, 8, 5)).warnings) == 0


def test_owners_route_by_community():
    rows = [t("2024-08-03", m) for m in range(3)]
    settings = Settings().with_values({"owners.communities": {"恰海社区": "张书记"}, "owners.center_head": "李主任"})
    report = warn(tickets(rows), settings)
    assert report.warnings[0].owner == "张书记"
    assert report.center_head == "李主任"
    assert run(rows).warnings[0].owner == "unassigned"


def test_numbers_in_communities_units_and_leaders_names_are_masked_unless_asked():
    """Staff type a contact number into 社区 or 承办单位, or beside a leader's name in gaopin.toml."""
    rows = [t("2024-08-03", m, community="恰海社区13655556666", unit="住建委 010-87654321", category="其他->13577778888", resolved="否", satisfied="不满意") for m in range(3)]
    settings = Settings().with_values({"owners.communities": {"恰海社区13655556666": "李志强 13911112222"}, "owners.center_head": "王主任 13800001111"})
    report = warn(tickets(rows), settings)
    w, e = report.warnings[0], report.escalations[0]
    assert (w.community, w.owner, w.category) == ("恰海社区136****6666", "李志强 139****2222", "其他->135****8888")
    assert (e.community, e.unit, e.owner) == ("恰海社区136****6666", "住建委 010****4321", "李志强 139****2222")
    assert report.center_head == "王主任 138****1111"
    shown = warn(tickets(rows), settings, show_phones=True)
    assert (shown.warnings[0].owner, shown.escalations[0].unit, shown.center_head) == ("李志强 13911112222", "住建委 010-87654321", "王主任 13800001111")


@pytest.mark.parametrize(
    ("resolved", "satisfied", "valid", "level"),
    [
        ("否", "满意", "是", "单否"),
        ("是", "不满意", "是", "单否"),
        ("否", "不满意", "是", "双否"),
        ("否", "不满意", "否", None),
        ("部分解决", "基本满意", "是", None),
        ("是", "未评价", "是", None),
    ],
)
def test_escalations(resolved, satisfied, valid, level):
    rows = [t("2024-08-03", 0, resolved=resolved, satisfied=satisfied, valid_callback=valid, unit="城管执法队")]
    report = run(rows)
    assert [e.level for e in report.escalations] == ([level] if level else [])
    if level:
        e = report.escalations[0].to_dict()
        assert e == {"ticket_id": "T0001", "level": level, "community": "恰海社区", "unit": "城管执法队", "received_at": "2024-08-03T09:00:00", "owner": "unassigned"}


def test_without_a_valid_callback_column_every_ticket_with_an_outcome_counts():
    rows = [t("2024-08-03", 0, resolved="否", satisfied="满意"), t("2024-08-03", 1)]
    report = warn(tickets(rows, fields={"received_at", "resolved", "satisfied", "address", "category", "community"}), Settings())
    assert [e.ticket_id for e in report.escalations] == ["T0001"]
    assert any("是否有效回访" in n for n in report.notes)


def test_titles_are_masked_unless_asked():
    rows = [t("2024-08-03", m, title="请回电13812345678") for m in range(3)]
    assert run(rows).warnings[0].titles == ["请回电138****5678"]
    assert run(rows, show_phones=True).warnings[0].titles == ["请回电13812345678"]


def test_escalations_of_an_export_without_the_valid_callback_column_survive_one_with_it(tmp_path):
    """Two exports loaded together (or imported into one store), only one with 是否有效回访:
    the other's 双否/单否 vanished, its blank cells read as "not a valid callback"."""
    from gaopin.io.load import load
    from tests.builders import write_csv

    without = write_csv(tmp_path / "a.csv", [["工单编号", "来电时间", "是否解决", "是否满意"], ["MA1", "2024-08-03 09:00", "否", "不满意"], ["MA2", "2024-08-03 10:00", "是", "不满意"]])
    with_column = write_csv(
        tmp_path / "b.csv",
        [["工单编号", "来电时间", "是否有效回访", "是否解决", "是否满意"], ["MB1", "2024-08-04 09:00", "是", "否", "不满意"], ["MB2", "2024-08-04 10:00", "否", "否", "不满意"]],
    )
    alone = warn(load([without], Settings()), Settings()).escalations
    together = warn(load([without, with_column], Settings()), Settings()).escalations
    assert [(e.ticket_id, e.level) for e in alone] == [("MA1", "双否"), ("MA2", "单否")]
    assert [(e.ticket_id, e.level) for e in together] == [("MA1", "双否"), ("MA2", "单否"), ("MB1", "双否")]  # MB2: not a valid callback


def test_without_an_address_column_the_community_stands_in_ignoring_blanks_and_width():
    rows = [{"ticket_id": f"C{i}", "received_at": at("2024-08-03", i), "community": c, "category": "城市管理->噪声"} for i, c in enumerate(["新村社区", "新村社区", "新 村 社 区", "ＡＢ社区"])]
    report = warn(tickets(rows), Settings())
    assert [(w.point, w.tickets) for w in report.warnings] == [("新村社区", 3)]


def test_a_street_written_with_the_city_in_front_is_still_taken_off_the_addresses():
    """街乡镇 = 北京市丰台区新村街道 left 新村街道 on the front of one address: two points, no warning."""
    street = "北京市丰台区新村街道"
    rows = [t("2024-08-03", 0, address="新村街道恰海小区3号楼", street=street)] + [t("2024-08-03", m, street=street) for m in (1, 2)]
    assert [(w.point, w.tickets) for w in run(rows).warnings] == [("恰海小区3号楼", 3)]


def test_without_an_address_column_tickets_without_a_community_are_counted_in_the_notes():
    rows = [{k: v for k, v in t("2024-08-03", m).items() if k != "address"} for m in range(3)]
    rows.append({**rows[0], "community": ""})
    notes = warn(tickets(rows, fields={"received_at", "community", "category", "caller_phone", "caller_name", "street"}), Settings()).notes
    assert "导出中没有地址列，以社区代替点位。" in notes and "1 张工单没有社区，未参与点位规则。" in notes


def _two_streets_rows():
    """One warning in each of two streets that both have an 东和社区, and one escalation each."""
    rows = []
    for street, address in (("新村街道", "恰海小区3号楼"), ("丰台区卢沟桥街道", "桥西小区1号楼")):
        rows += [t("2024-08-03", m, f"1380000{len(rows) + m:04d}", address=address, community="东和社区", street=street) for m in range(3)]
        rows.append(t("2024-08-04", 0, "13900000000", address=address, community="东和社区", street=street, valid_callback="是", resolved="否", satisfied="不满意", unit="城管"))
    return rows


def test_with_several_streets_a_warning_names_its_community_with_its_street():
    report = run(_two_streets_rows())
    # The point is named with its street as streets are compared (丰台区卢沟桥街道 is 卢沟桥街道).
    assert sorted((w.point, w.community) for w in report.warnings) == [("卢沟桥街道·桥西小区1号楼", "卢沟桥街道·东和社区"), ("新村街道·恰海小区3号楼", "新村街道·东和社区")]
    assert sorted(e.community for e in report.escalations) == ["卢沟桥街道·东和社区", "新村街道·东和社区"]
    assert any("工单来自 2 个街道" in n for n in report.notes)
    one = warn(tickets(_two_streets_rows()), Settings().with_values({"area.scope": "street"}))
    assert {w.community for w in one.warnings} | {e.community for e in one.escalations} == {"东和社区"}
    assert sorted(w.point for w in one.warnings) == ["恰海小区3号楼", "桥西小区1号楼"]
    assert not any("个街道" in n for n in one.notes)


def test_with_several_streets_a_leader_is_found_under_the_street_and_community_or_the_community():
    both = {"卢沟桥街道·东和社区": "刘书记", "东和社区": "张书记"}
    report = warn(tickets(_two_streets_rows()), Settings().with_values({"owners.communities": both}))
    assert {w.community: w.owner for w in report.warnings} == {"新村街道·东和社区": "张书记", "卢沟桥街道·东和社区": "刘书记"}
    assert {e.community: e.owner for e in report.escalations} == {"新村街道·东和社区": "张书记", "卢沟桥街道·东和社区": "刘书记"}


def test_with_several_streets_buildings_of_one_name_in_two_streets_are_two_points():
    """Both streets have an 电力小区1号楼: 4 complaints in one and 3 in the other are two points
    (one warning each, to each street's leader), not 7 at one point, which would also have
    made a two-day warning that neither street has. One street's data keep one point."""
    rows = [t("2024-08-03", m, f"1380000{m:04d}", address="电力小区1号楼", community=c, street=s) for m, (s, c) in enumerate(
        [("新村街道", "东和社区")] * 3 + [("新村街道", "恰海社区")] + [("卢沟桥街道", "小井社区")] * 3)]  # fmt: skip
    owners = {"卢沟桥街道·小井社区": "丁", "新村街道·东和社区": "甲"}
    found = warn(tickets(rows), Settings().with_values({"owners.communities": owners, "area.scope": "district"})).warnings
    assert sorted((w.rule, w.point, w.tickets, w.community, w.owner) for w in found) == [
        ("point_day", "卢沟桥街道·电力小区1号楼", 3, "卢沟桥街道·小井社区", "丁"),
        ("point_day", "新村街道·电力小区1号楼", 4, "新村街道·东和社区", "甲"),
    ]
    one = warn(tickets(rows), Settings().with_values({"area.scope": "street"})).warnings
    assert sorted((w.rule, w.point, w.tickets) for w in one) == [("point_day", "电力小区1号楼", 7), ("two_day", "电力小区1号楼", 7)]


def test_with_several_streets_a_ticket_without_a_street_keeps_the_bare_point():
    rows = [t("2024-08-03", m, f"1380000{m:04d}", address="电力小区1号楼", community="东和社区", street=s) for m, s in enumerate(["新村街道"] * 3 + [""] * 3 + ["卢沟桥街道"] * 3)]
    found = warn(tickets(rows), Settings().with_values({"area.scope": "district"})).warnings
    assert sorted((w.point, w.tickets) for w in found) == [("卢沟桥街道·电力小区1号楼", 3), ("新村街道·电力小区1号楼", 3), ("电力小区1号楼", 3)]


def test_a_leader_keyed_with_the_district_in_front_of_the_street_is_found():
    owners = {"丰台区新村街道·东和社区": "张书记", "北京市丰台区卢沟桥街道 · 东和社区": "刘书记"}
    report = warn(tickets(_two_streets_rows()), Settings().with_values({"owners.communities": owners}))
    assert {w.community: w.owner for w in report.warnings} == {"新村街道·东和社区": "张书记", "卢沟桥街道·东和社区": "刘书记"}


def test_filters_do_not_change_whether_the_tickets_are_several_streets():
    """55 of 新村街道 (10 咨询) and 45 of 卢沟桥街道: one street, as the report (which applies no
    filter) says; after the filter 45 and 45 would have been several."""
    rows = [t("2024-08-0%d" % (1 + i % 9), i, f"1390000{i:04d}", community="东和社区", street="新村街道", ticket_type="咨询" if i < 10 else "投诉") for i in range(55)]
    rows += [t("2024-08-0%d" % (1 + i % 9), i, f"1370000{i:04d}", community="东和社区", street="卢沟桥街道", ticket_type="投诉") for i in range(45)]
    report = warn(tickets(rows), Settings().with_values({"filters.exclude": {"工单类型": ["咨询"]}}))
    assert not any("个街道" in n for n in report.notes) and {w.community for w in report.warnings} == {"东和社区"}
    assert report.area == "新村街道"


def test_one_streets_community_with_a_dot_in_its_name_is_not_looked_up_under_part_of_it():
    rows = [t("2024-08-03", m, f"1380000{m:04d}", community="金地·格林社区") for m in range(3)]
    owners = {"格林社区": "王五"}
    report = warn(tickets(rows), Settings().with_values({"owners.communities": owners}))
    assert [(w.community, w.owner) for w in report.warnings] == [("金地·格林社区", "unassigned")]
    named = warn(tickets(rows), Settings().with_values({"owners.communities": {"金地·格林社区": "赵六"}}))
    assert named.warnings[0].owner == "赵六"


def test_numbers_typed_into_a_street_stay_numbers_the_masker_finds_in_titles_and_labels():
    """Compared without spaces, `新村街道 13812345678 13912345678` is one run of 22 digits that
    no mask covers: streets are shown as written, spaces collapsed."""
    typed = "丰台区新村街道  13812345678 13912345678"
    one = [t("2024-08-03", m, f"1380000{m:04d}", street=typed) for m in range(3)]
    report = warn(tickets(one), Settings())
    assert report.area == "新村街道 138****5678 139****5678"
    several = one + [t("2024-08-04", m, f"1370000{m:04d}", address="桥西小区1号楼", street="卢沟桥街道", community="小井社区") for m in range(3)]
    report = warn(tickets(several), Settings())
    assert {w.community for w in report.warnings} == {"新村街道 138****5678 139****5678·恰海社区", "卢沟桥街道·小井社区"}
    shown = warn(tickets(several), Settings(), show_phones=True)
    assert "新村街道 13812345678 13912345678·恰海社区" in {w.community for w in shown.warnings}


def test_json_ready_gives_the_json_of_to_dict_field_for_field(tmp_path):
    """orjson writes the dataclasses of `json_ready` as `to_dict` writes them: a district sample's
    warnings (several streets, masked titles, owners) and escalations, byte for byte."""
    import orjson

    from gaopin.io.load import load
    from gaopin.rules.warn import Escalation
    from gaopin.rules.warnings import Warning
    from gaopin.sample import write_district_sample

    report = warn(load([write_district_sample(tmp_path, rows=4000, fmt="csv", seed=3)], Settings()), Settings())
    assert report.warnings and report.escalations
    assert orjson.dumps(report.json_ready()) == orjson.dumps(report.to_dict())
    # A field added to either dataclass and not to its to_dict (or the other way) shows here.
    for item in (report.warnings[0], report.escalations[0]):
        assert isinstance(item, (Warning, Escalation))
        assert list(orjson.loads(orjson.dumps(item))) == list(item.to_dict())
