import pytest
from tests.builders import at, tickets

from gaopin.config import Settings
from gaopin.errors import InputError
from gaopin.reports.monthly import build_report, headline, read_rankings
from gaopin.reports.render import report_sheets


def t(day, community="恰海社区", resolved="是", satisfied="满意", dispatch="市级派单（直派）", **extra):
    return {"received_at": at(day), "community": community, "valid_callback": "是", "contacted": "是", "resolved": resolved, "satisfied": satisfied, "dispatch": dispatch, "unit": "物业办", "category": "住房->物业->维修", "street": "新村街道", **extra}


ROWS = [
    t("2024-07-10", resolved="否"),
    t("2024-07-11"),
    t("2024-08-01"),
    t("2024-08-02", community="桥一社区", resolved="否", satisfied="不满意", dispatch="区级派单"),
    t("2024-08-03", dispatch=None),
    t("2024-08-31", community="桥一社区", ticket_id="EX1", resolved="否"),
    t("2024-09-01"),
]


def test_period_trend_and_breakdowns():
    r = build_report(tickets(ROWS), Settings(), 2024, 8)
    assert r["period"] == {"label": "2024-08", "start": "2024-08-01", "end": "2024-08-31"}
    assert r["street"] == "新村街道"
    assert r["overall"]["tickets"] == 4
    assert r["overall"]["resolution_rate"] == pytest.approx(0.5)
    assert r["overall"]["previous"]["resolution_rate"] == pytest.approx(0.5)
    assert r["overall"]["change"]["tickets"] == 2
    assert [m["name"] for m in r["months"]] == [f"2024-{m:02d}" for m in range(1, 9)]
    assert [m["tickets"] for m in r["months"]][-2:] == [2, 4]
    assert {d["name"]: d["tickets"] for d in r["by_dispatch"]} == {"市派": 2, "区派": 1, "其他": 1}
    assert r["city_score"] == next(d["score"] for d in r["by_dispatch"] if d["name"] == "市派")
    assert {c["name"] for c in r["by_community"]} == {"恰海社区", "桥一社区"}
    assert sum(c["points_lost"] for c in r["by_community"]) == pytest.approx(100 - r["overall"]["score"])
    assert [e["level"] for e in r["escalations"]] == ["双否", "单否"]
    assert sum(r["heatmap"]["counts"][4]) == 1  # 2024-08-02 was a Friday
    assert r["weights"]["resolution_weight"] == 0.5


def test_tickets_closed_before_they_were_received_are_left_out_of_the_days_and_noted():
    rows = [
        t("2024-08-05", closed_at=at("2024-08-07")),
        t("2024-08-05", closed_at=at("2024-07-30")),  # closed before it was received
        t("2024-08-11", closed_at=at("2023-08-20")),  # a typed year
        t("2024-08-12", closed_at=at("2024-08-12")),
        t("2024-07-05", closed_at=at("2024-07-01")),  # of the previous period: not this report's
    ]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["overall"]["days_to_close_median"] == 1.0
    assert "本期有 2 张工单的办结日期早于受理日期，没有计入办结天数；请核对这些工单的时间。" in r["notes"]
    assert not any("办结日期早于" in n for n in build_report(tickets(rows[:1]), Settings(), 2024, 8)["notes"])


def test_assessment_cycle_from_the_19th():
    cfg = Settings().with_values({"period.start_day": 19})
    r = build_report(tickets(ROWS), cfg, 2024, 8)
    assert r["period"] == {"label": "2024-08", "start": "2024-07-19", "end": "2024-08-18"}
    assert r["overall"]["tickets"] == 3


def test_exclusions_give_every_figure_with_and_without():
    r = build_report(tickets(ROWS), Settings(), 2024, 8, exclusions={"EX1": "申诉已通过"})
    assert r["excluded_tickets"] == ["EX1"]
    assert r["overall"]["tickets"] == 4 and r["overall_excluded"]["tickets"] == 3
    assert "by_community_excluded" in r and "by_unit_excluded" in r
    assert r["overall_excluded"]["resolution_rate"] == pytest.approx(2 / 3)
    plain = build_report(tickets(ROWS), Settings(), 2024, 8, exclusions={"OTHER": "x"})
    assert "overall_excluded" not in plain
    # Where the figures without them are, in words staff read (not a JSON key), and the
    # excluded 单否/双否 marked in their list.
    note = next(n for n in r["notes"] if "不纳入考核" in n)
    assert "“不含不纳入考核工单”一行" in note and "带“_excluded”" not in note
    assert [(e["ticket_id"], e["excluded"]) for e in r["escalations"]] == [("T0004", False), ("EX1", True)]
    sheet = next(s for s in report_sheets(r) if s.name == "单双否工单")
    assert sheet.headers[-1] == "考核" and sheet.frame["excluded"].tolist() == ["", "不纳入考核"]


def test_tickets_of_other_streets_are_counted_and_noted():
    rows = ROWS + [t("2024-08-05", street="卢沟桥街道"), t("2024-08-06", street="卢沟桥街道"), t("2024-08-07", street="新 村 街 道")]
    rows += [t("2024-08-08", street="丰台区新村街道"), t("2024-08-09", street="卢沟桥街道（联系人13698765432）")]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["overall"]["tickets"] == 9
    assert "本期有 3 张工单的街道不是新村街道（卢沟桥街道 2 件、卢沟桥街道（联系人136****5432） 1 件），已一并计入本报告。" in r["notes"]
    assert not [n for n in build_report(tickets(ROWS), Settings(), 2024, 8)["notes"] if "街道不是" in n]


@pytest.mark.parametrize("configured", ["", "丰台区新村街道", "北京市丰台区新村街道", "新 村 街 道"])
def test_other_streets_are_compared_and_named_as_streets_are_everywhere(configured):
    """One street written two ways was listed twice (丰台区卢沟桥街道 1 件、卢沟桥街道 1 件), and with
    [report] street written with its district the street's own tickets were another street's (review C F4)."""
    rows = ROWS + [t("2024-08-05", street="丰台区卢沟桥街道"), t("2024-08-06", street="卢沟桥街道"), t("2024-08-07", street="新 村 街 道")]
    rows += [t("2024-08-08", street="北京市丰台区新村街道"), t("2024-08-09", street="丰台区新村街道")]
    settings = Settings().with_values({"report.street": configured}) if configured else Settings()
    r = build_report(tickets(rows), settings, 2024, 8)
    assert [n for n in r["notes"] if "街道不是" in n] == [f"本期有 2 张工单的街道不是{configured or '新村街道'}（卢沟桥街道 2 件），已一并计入本报告。"]


def test_category_level_groups_the_report_categories_as_it_groups_problems():
    rows = [t("2024-08-01", category="住房->物业->维修"), t("2024-08-02", category="住房->物业->收费"), t("2024-08-03", category="市政->下水道")]
    full = build_report(tickets(rows), Settings(), 2024, 8)
    assert {c["name"] for c in full["by_category"]} == {"住房->物业->维修", "住房->物业->收费", "市政->下水道"}
    coarse = build_report(tickets(rows), Settings().with_values({"rules.category_level": 1}), 2024, 8)
    assert {c["name"]: c["tickets"] for c in coarse["by_category"]} == {"住房": 2, "市政": 1}


def _district(rows_per_street: dict[str, list[str]]) -> list[dict]:
    """August tickets of several streets; each street's communities as listed (repeated names
    stand for two communities of one name in two streets)."""
    return [t("2024-08-0" + str(1 + i % 9), community=c, street=s, resolved="否" if i % 3 == 0 else "是") for s, cs in rows_per_street.items() for i, c in enumerate(cs)]


def test_a_report_of_several_streets_groups_by_street_and_names_communities_with_their_street():
    rows = _district({"新村街道": ["东和社区"] * 4 + ["恰海社区"] * 2, "卢沟桥街道": ["东和社区"] * 5 + [""], "丰台区宛平街道": ["东和社区"] * 2, "北京市丰台区新 村街道": ["恰海社区"]})
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["scope"] == "district" and r["street"] == "3 个街道"
    assert {g["name"]: g["tickets"] for g in r["by_street"]} == {"新村街道": 7, "卢沟桥街道": 6, "宛平街道": 2}
    # Two 东和社区 of two streets are two communities; a blank community stays one blank group.
    assert {g["name"]: g["tickets"] for g in r["by_community"]} == {"新村街道·东和社区": 4, "新村街道·恰海社区": 3, "卢沟桥街道·东和社区": 5, "宛平街道·东和社区": 2, "（未填）": 1}
    assert sum(g["tickets"] for g in r["by_street"]) == r["overall"]["tickets"] == 15
    assert sum(g["points_lost"] for g in r["by_street"]) == pytest.approx(100 - r["overall"]["score"])
    assert {e["community"] for e in r["escalations"]} <= {g["name"] for g in r["by_community"]}
    assert not [n for n in r["notes"] if "街道不是" in n] and any("本期工单来自 3 个街道" in n for n in r["notes"])
    assert any(line.startswith("3 个街道8月") for line in headline(r)) and any(line.startswith("失分最多的街道：") for line in headline(r))
    assert [s.name for s in report_sheets(r)][:3] == ["汇总", "街道", "社区"]
    named = build_report(tickets(rows), Settings().with_values({"report.street": "丰台区"}), 2024, 8)
    assert named["street"] == "丰台区" and named["scope"] == "district"


def test_a_months_groups_name_streets_as_all_the_tickets_and_the_ledger_do():
    """The breakdowns count the month's tickets, but name each street as most of all the tickets
    write it, as prepare (the ledger, `warn`) names it; a store read only up to the month gives
    the later tickets' streets as counts (`written_streets`), and the same report."""
    from gaopin.rules.prepare import prepare
    from gaopin.rules.streets import written_counts

    august = _district({"新村街道": ["东和社区"] * 4, "卢沟桥街道": ["东和社区"] * 4})
    later = [t("2024-09-0" + str(1 + i % 9), community="东和社区", street="新村 街道") for i in range(20)]
    everything = tickets(august + later)
    full = build_report(everything, Settings(), 2024, 8)
    scoped = build_report(tickets(august), Settings(), 2024, 8, written_streets=written_counts(everything.frame["street"]))
    for key in ("by_street", "by_community", "escalations", "street"):
        assert scoped[key] == full[key]
    named = prepare(everything, Settings()).street_names
    assert {g["name"] for g in full["by_street"]} == {"新村 街道", "卢沟桥街道"} == set(named.values())
    assert {g["name"] for g in full["by_community"]} == {f"{s}·东和社区" for s in named.values()}


def test_a_street_with_a_few_tickets_of_its_neighbours_stays_a_street_report():
    rows = _district({"新村街道": ["东和社区"] * 4, "卢沟桥街道": ["东和社区"] * 3})
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["scope"] == "street" and r["street"] == "新村街道" and r["by_street"] == []
    assert {g["name"]: g["tickets"] for g in r["by_community"]} == {"东和社区": 7}
    assert "街道" not in [s.name for s in report_sheets(r)]
    # Two streets of equal share: no street holds more than half, so several streets.
    assert build_report(tickets(_district({"新村街道": ["东和社区"] * 3, "卢沟桥街道": ["东和社区"] * 3})), Settings(), 2024, 8)["scope"] == "district"


@pytest.mark.parametrize("scope, rows, expected", [("street", {"A街道": ["x"], "B街道": ["x"], "C街道": ["x"]}, "street"), ("district", {"A街道": ["x"] * 5}, "district")])
def test_the_scope_setting_overrides_the_share_of_the_leading_street(scope, rows, expected):
    r = build_report(tickets(_district(rows)), Settings().with_values({"area.scope": scope}), 2024, 8)
    assert r["scope"] == expected and bool(r["by_street"]) == (expected == "district")


def test_numbers_typed_into_names_are_masked_in_the_report():
    rows = [t("2024-08-01", community="恰海社区13655556666", unit="住建委 010-87654321", category="其他->15011112222", resolved="否")]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    names = {g["name"] for key in ("by_community", "by_unit", "by_category") for g in r[key]}
    assert names == {"恰海社区136****6666", "住建委 010****4321", "其他->150****2222"}
    assert {r["escalations"][0][k] for k in ("community", "unit", "category")} == names
    shown = build_report(tickets(rows), Settings().with_values({"privacy.mask_phones": False}), 2024, 8)
    assert "恰海社区13655556666" in {g["name"] for g in shown["by_community"]}


def test_the_excluded_figures_compare_with_the_previous_period_without_its_excluded_tickets():
    rows = [
        t("2024-07-10", resolved="否", ticket_id="JUL1"),  # excluded in July
        t("2024-07-11", community="桥一社区", resolved="否", satisfied="不满意"),
        t("2024-07-12"),
        t("2024-08-01"),
        t("2024-08-31", community="桥一社区", ticket_id="AUG1", resolved="否"),  # excluded in August
        t("2024-08-20", community="桥一社区"),
    ]
    exclusions = {"JUL1": "申诉已通过", "AUG1": "申诉已通过"}
    august = build_report(tickets(rows), Settings(), 2024, 8, exclusions=exclusions)
    july = build_report(tickets(rows), Settings(), 2024, 7, exclusions=exclusions)
    assert august["excluded_tickets"] == ["AUG1"] and july["excluded_tickets"] == ["JUL1"]
    compared = august["overall_excluded"]["previous"]
    assert compared["tickets"] == july["overall_excluded"]["tickets"] == 2
    assert compared["score"] == pytest.approx(july["overall_excluded"]["score"])
    assert august["overall_excluded"]["change"]["score"] == pytest.approx(august["overall_excluded"]["score"] - july["overall_excluded"]["score"])
    summary = report_sheets(august)[0].frame.set_index("name")
    assert summary.loc["全街道（不含不纳入考核工单）", "score_change"] == pytest.approx(august["overall_excluded"]["change"]["score"])
    july_groups = {g["name"]: g for g in july["by_community_excluded"]}
    for group in august["by_community_excluded"]:
        assert group["previous"]["score"] == pytest.approx(july_groups[group["name"]]["score"])
    # The figures with every ticket still compare with the whole previous period.
    assert august["overall"]["previous"]["tickets"] == 3
    assert any("上一统计期数字也不含该期被标记的 1 张" in n for n in august["notes"])


JANUARY = [t("2024-01-05"), t("2024-01-06", community="桥一社区", resolved="否"), t("2024-02-01")]


@pytest.mark.parametrize("start_day", [1, 19])
def test_a_previous_period_without_tickets_is_not_compared_with(start_day):
    cfg = Settings().with_values({"period.start_day": start_day})
    r = build_report(tickets(JANUARY), cfg, 2024, 1)
    assert r["overall"]["tickets"] == 2
    # The JSON keeps its shape, with nothing to compare: no "+2" against 0 tickets.
    assert set(r["overall"]["previous"]) == set(r["overall"]["change"]) == {"tickets", "valid_callbacks", "response_rate", "resolution_rate", "satisfaction_rate", "score", "single_no", "double_no", "points_lost"}
    assert set(r["overall"]["previous"].values()) == set(r["overall"]["change"].values()) == {None}
    assert all(g["previous"] is None and g["change"] is None for key in ("by_community", "by_unit", "by_category", "by_dispatch") for g in r[key])
    start = "2023-12-01 至 2023-12-31" if start_day == 1 else "2023-11-19 至 2023-12-18"
    assert f"数据中没有上一统计期（{start}）的工单，不与上一统计期比较。" in r["notes"]
    assert "较上月" not in "".join(headline(r))
    # A previous period with tickets is compared with, and no such note is given.
    february = build_report(tickets(JANUARY), Settings(), 2024, 2)
    assert february["overall"]["previous"]["tickets"] == 2 and february["overall"]["change"]["tickets"] == -1
    assert not any("上一统计期" in n for n in february["notes"])


def test_missing_column_is_named_and_no_score():
    rows = [{k: v for k, v in row.items() if k != "contacted"} for row in ROWS]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["missing"] == ["contacted"]
    assert r["overall"]["response_rate"] is None and r["overall"]["score"] is None
    assert any("是否联系" in n for n in r["notes"])
    assert any("—" in line for line in headline(r))


def test_filters_do_not_change_the_score():
    cfg = Settings().with_values({"filters.exclude": {"工单类型": ["咨询"]}})
    rows = [dict(row, ticket_type="咨询") for row in ROWS]
    assert build_report(tickets(rows), cfg, 2024, 8)["overall"]["tickets"] == 4


def test_headline_names_where_points_were_lost():
    r = build_report(tickets(ROWS), Settings(), 2024, 8)
    text = "\n".join(headline(r))
    assert "综合成绩" in text and "较上月" in text and "失分最多的社区：桥一社区" in text


def test_a_rankings_file_that_is_a_named_pipe_is_refused_not_waited_on(tmp_path):
    """[report] rankings naming a named pipe made the report wait until killed."""
    import os

    from tests.io.test_sniff import within_seconds

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "rankings.csv"
    os.mkfifo(pipe)
    err = within_seconds(lambda: read_rankings(pipe), pipe)
    assert isinstance(err, InputError) and err.message == f"排名文件 {pipe} 不是普通文件（是命名管道）", err


def test_rankings_csv(tmp_path):
    path = tmp_path / "rankings.csv"
    path.write_text("月份,接诉量排名,综合成绩排名,市直派成绩\n2024-07,15,16,90.5\n2024-08,13,14,93.1\n2023-12,20,20,\n", encoding="utf-8-sig")
    ranks = read_rankings(path)
    assert ranks[0] == {"month": "2023-12", "volume_rank": 20, "score_rank": 20, "city_score": None}
    r = build_report(tickets(ROWS), Settings(), 2024, 8, rankings=ranks)
    assert [x["month"] for x in r["rankings"]] == ["2024-07", "2024-08"]
    assert "接诉量第 13 名，综合成绩第 14 名" in "\n".join(headline(r))
    path.write_text("月份,排名\n2024-07,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="缺少列"):
        read_rankings(path)
    path.write_text("月份,接诉量排名,综合成绩排名,市直派成绩\n八月,十三,14,93\n", encoding="utf-8")
    with pytest.raises(InputError, match="第 2 行"):
        read_rankings(path)


from datetime import date

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from gaopin.periods import period_of
from gaopin.reports.monthly import period_codes


@given(st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), min_size=1, max_size=30), st.integers(1, 28))
def test_period_codes_agree_with_period_of(days, start_day):
    received = pd.Series(pd.to_datetime(days), dtype="datetime64[s]")
    expected = [(p.year * 12 + p.month - 1) for p in (period_of(d, start_day) for d in days)]
    assert period_codes(received, start_day).tolist() == expected


@pytest.mark.parametrize(
    ("last", "data_end"),
    [
        ("2024-08-31 11:30", "2024-08-31 11:30"),  # the 1st's import not in yet: the last afternoon missing
        ("2024-08-20 09:00", "2024-08-20 09:00"),  # the month not over
        ("2024-08-31 22:10", None),  # August's own export
        ("2024-09-01 08:00", None),
    ],
)
def test_data_that_end_inside_the_period_are_said_to_be_incomplete_first(last, data_end):
    rows = [t("2024-08-01"), t("2024-08-02"), {**t("2024-08-03"), "received_at": pd.Timestamp(last).to_datetime64()}]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["data_end"] == data_end
    incomplete = [n for n in r["notes"] if "还不完整" in n]
    if data_end:
        assert headline(r)[0] == f"注意：数据只到 {data_end}，本期的数字还不完整。"
        assert incomplete == [f"数据中最晚的工单受理于 {data_end}，本期到 2024-08-31 才结束：本期的数字还不完整。"]
    else:
        assert not incomplete and not headline(r)[0].startswith("注意")


def test_data_that_end_before_the_period_starts_say_it_has_no_tickets_yet():
    """The current month before its first import (data to 31 August, report of September): it
    read 受理 0 件 (−45) and "2024-09-01 至 2024-09-30 没有工单" as if September were over (review D3)."""
    rows = [t("2024-08-01"), t("2024-08-02"), t("2024-08-31")]
    r = build_report(tickets(rows), Settings(), 2024, 9)
    assert r["data_end"] == "2024-08-31 09:00"
    lines = headline(r)
    assert lines[0] == "注意：数据只到 2024-08-31 09:00，本期还没有工单，本期的数字还不完整。"
    assert [n for n in r["notes"] if "没有工单" in n] == [
        "数据中最晚的工单受理于 2024-08-31 09:00，在本期（2024-09-01 至 2024-09-30）开始以前："
        "本期还没有工单，本期的数字还不完整（本期还没有过完，或它的导出还没有导入）。"
    ]
    # A month without tickets in data that go on after it is over: no tickets, not incomplete.
    later = build_report(tickets(rows + [t("2024-10-02")]), Settings(), 2024, 9)
    assert later["data_end"] is None and "2024-09-01 至 2024-09-30 没有工单。" in later["notes"]


def test_a_period_without_tickets_yet_is_not_compared_with_the_previous_one():
    """The current month before its first import said it was incomplete, then its cards read
    受理量 "-3" and 单否 "-1" against August: nothing set against something. The previous
    values stay, the changes are None, as when the previous period has no tickets."""
    from gaopin.deliver.content import key_figures, report_text

    rows = [t("2024-08-01"), t("2024-08-02", resolved="否"), t("2024-08-31")]
    for r in (build_report(tickets(rows), Settings(), 2024, 9), build_report(tickets(rows + [t("2024-10-02")]), Settings(), 2024, 9)):
        o = r["overall"]
        assert o["tickets"] == 0 and o["previous"]["tickets"] == 3 and o["previous"]["single_no"] == 1
        assert set(o["change"]) == set(o["previous"]) and set(o["change"].values()) == {None}
        assert "较上月" not in "".join(headline(r))
        assert [(f.name, f.previous, f.change) for f in key_figures(r)][1:3] == [("受理量", "3", ""), ("有效回访", "3", "")]
        assert {f.change for f in key_figures(r)} == {""}
        assert "  受理量：0 / 3 / —" in report_text(r, "report.xlsx").splitlines()
    # With its tickets in, September is compared with August.
    compared = build_report(tickets(rows + [t("2024-09-02")]), Settings(), 2024, 9)
    assert compared["overall"]["change"]["tickets"] == -2


def test_the_headline_says_there_is_no_escalation_instead_of_zero_of_each():
    """It said "单否 0 件，双否 0 件，均需提级办理。" (review D3)."""
    none = build_report(tickets([t("2024-08-01")]), Settings(), 2024, 8)
    assert none["overall"]["single_no"] == none["overall"]["double_no"] == 0
    assert "没有单否、双否工单。" in headline(none) and not any("均需提级" in line for line in headline(none))
    some = build_report(tickets(ROWS), Settings(), 2024, 8)
    assert f"单否 {some['overall']['single_no']} 件，双否 {some['overall']['double_no']} 件，均需提级办理。" in headline(some)


@pytest.mark.parametrize(("last", "data_end"), [("2024-08-31", None), ("2024-08-20", "2024-08-20 00:00")])
def test_an_export_of_dates_without_times_that_reaches_the_last_day_is_complete(last, data_end):
    """Dates only (every time 00:00): a month ending on its last day was reported as "数据只到
    2024-08-31 00:00，本期的数字还不完整" first (review of round 13)."""
    days = ["2024-08-01", "2024-08-02", last]
    rows = [{**t(d), "received_at": pd.Timestamp(d).to_datetime64()} for d in days]
    r = build_report(tickets(rows), Settings(), 2024, 8)
    assert r["data_end"] == data_end
    assert headline(r)[0].startswith("注意") == (data_end is not None)


def test_the_data_end_given_counts_over_the_tickets_read():
    """From the store the read may stop at the period's end: the store's latest ticket decides."""
    from datetime import datetime

    rows = [t("2024-08-01"), t("2024-08-31")]
    assert build_report(tickets(rows), Settings(), 2024, 8)["data_end"] == "2024-08-31 09:00"
    assert build_report(tickets(rows), Settings(), 2024, 8, data_end=datetime(2024, 9, 1, 11, 0))["data_end"] is None


def test_several_streets_forced_on_data_without_streets_is_one_street_and_says_so():
    rows = [{k: v for k, v in r.items() if k != "street"} for r in ROWS]
    r = build_report(tickets(rows), Settings().with_values({"area.scope": "district"}), 2024, 8)
    assert r["scope"] == "street" and r["street"] == "" and r["by_street"] == [] and headline(r)[0].startswith("本街道8月")
    assert not any("工单来自" in n for n in r["notes"]) and any(n.startswith("[area] scope 设为 district，但工单没有街道名称") for n in r["notes"])
    named = build_report(tickets(ROWS * 2 + [t("2024-08-05", street="卢沟桥街道")] * 3), Settings().with_values({"report.street": "丰台区", "area.scope": "district"}), 2024, 8)
    assert named["street"] == "丰台区"


def test_numbers_typed_into_a_street_are_masked_in_the_title_and_the_street_table():
    typed = "新村街道 13812345678 13912345678"
    r = build_report(tickets([t("2024-08-0%d" % d, street=typed) for d in range(1, 6)] + [t("2024-08-07", street="卢沟桥街道")]), Settings(), 2024, 8)
    assert r["street"] == "新村街道 138****5678 139****5678"
    rows = _district({typed: ["东和社区"] * 3, "卢沟桥街道": ["东和社区"] * 3})
    d = build_report(tickets(rows), Settings(), 2024, 8)
    assert {g["name"] for g in d["by_street"]} == {"新村街道 138****5678 139****5678", "卢沟桥街道"}
    assert "新村街道 138****5678 139****5678·东和社区" in {g["name"] for g in d["by_community"]}
