"""What the messages say: masked, escaped in HTML, unable to open robot markup."""

from __future__ import annotations

from datetime import date

from gaopin.deliver import content
from gaopin.rules.warn import Escalation, WarnReport
from gaopin.rules.warnings import Warning

DAY = date(2024, 8, 3)


def report(title="<b>猫</b> 回电 13812345678", point="恰海小区3号楼"):
    w = Warning("point_day", point, "城市管理->动物->流浪猫", "恰海社区", DAY, DAY, 3, 3, ["A1", "A2", "A3"], owner="李志强", titles=[title])
    e = Escalation("A2", "双否", "恰海社区", "恰海社区居委会", "2024-08-03T09:03:00", owner="李志强")
    return WarnReport([w], [e], [], "赵立群")


def test_free_text_is_masked_everywhere():
    r = report()
    text = content.warn_text(r, "新村街道", DAY, "warnings-2024-08-03.xlsx")
    html = content.warn_html(r, "新村街道", DAY, None)
    _, header, items = content.warn_markdown(r, "新村街道", DAY, "wecom")
    for body in (text, html, "\n".join(header + items)):
        assert "13812345678" not in body
    assert "138****5678" in text


def test_html_is_escaped_and_markdown_cannot_open_markup():
    r = report()
    html = content.warn_html(r, "新村街道", DAY, None)
    assert "<b>猫</b>" not in html and "&lt;b&gt;猫&lt;/b&gt;" in html
    _, _, items = content.warn_markdown(r, "新村街道", DAY, "wecom")
    assert "<b>" not in items[0] and "＜b>" in items[0]


def test_the_message_names_the_center_head_and_owners_and_escalations_newest_first():
    older = Escalation("A0", "单否", "桥一社区", "", "2024-08-01T08:00:00", owner="张红梅")
    r = report()
    r.escalations.append(older)
    text = content.warn_text(r, "", DAY, None)
    assert text.startswith("【本街道】接诉即办提早预警（2024-08-03）")
    assert "中心负责人：赵立群" in text and "责任领导：李志强" in text and "责任领导：张红梅" in text
    assert text.index("双否 A2") < text.index("单否 A0")
    assert "新预警 1 条；新的提级办理工单 2 件（单否 1，双否 1）" in text


def test_masked_copy_keeps_ids_for_the_attachment():
    masked = content.masked_copy(report(point="无名路 13912345678"))
    [w] = masked.warnings
    assert w.point == "无名路 139****5678" and w.ticket_ids == ["A1", "A2", "A3"]
    assert w.titles == ["<b>猫</b> 回电 138****5678"]


def test_masked_copy_masks_the_leaders_numbers_whatever_the_run_showed():
    """With --show-phones or mask_phones = false the run's report holds numbers; the attachment
    that is sent must not (a leader written as "李志强 13911112222" leaked in 责任领导)."""
    import dataclasses

    r = report()
    r.warnings[0].owner = "李志强 13911112222"
    r.escalations = [dataclasses.replace(e, owner="张红梅 010-87654321") for e in r.escalations]
    r.earlier = [dataclasses.replace(r.warnings[0], point="别处 13700001111")]
    masked = content.masked_copy(r)
    assert masked.warnings[0].owner == "李志强 139****2222"
    assert [e.owner for e in masked.escalations] == ["张红梅 010****4321"]
    assert [w.point for w in masked.earlier] == ["别处 137****1111"] and masked.earlier[0].owner == "李志强 139****2222"


def test_the_report_messages_round_figures_as_the_workbook_shows_them():
    from gaopin.config import Settings
    from gaopin.reports.monthly import build_report
    from tests.builders import halves_rows, tickets

    report = build_report(tickets(halves_rows()), Settings(), 2024, 8)
    figures = {f.name: (f.current, f.previous, f.change) for f in content.key_figures(report)}
    # 满意率 0.9725 → 97.3% as in report.xlsx (Python's f-string said 97.2%); changes half away from zero.
    assert figures["满意率"] == ("97.3%", "97.5%", "-0.3 个百分点")
    assert figures["响应率"] == ("98.8%", "100.0%", "-1.3 个百分点")
    assert figures["解决率"] == ("97.5%", "97.5%", "0.0 个百分点")
    assert figures["综合成绩"] == ("97.53", "97.75", "-0.23")
    assert figures["受理量"] == ("80", "40", "+40")
    text = content.report_text(report, "report-2024-08.xlsx")
    html = content.report_html(report, [], "report-2024-08.xlsx")
    _, _, items = content.report_markdown(report, "wecom")
    for body in (text, html, "\n".join(items)):
        assert "满意率 97.3%" in body and "恰海社区（2.48 分）" in body
    assert "满意率：97.3% / 97.5% / -0.3 个百分点" in text


def test_a_previous_period_without_tickets_is_shown_as_missing_not_as_a_change():
    from gaopin.config import Settings
    from gaopin.reports.monthly import build_report
    from tests.builders import at, tickets

    rows = [{"received_at": at(f"2024-01-0{d}"), "community": "恰海社区", "valid_callback": "是", "contacted": "是", "resolved": "是", "satisfied": "满意", "street": "新村街道"} for d in (1, 2, 3)]
    report = build_report(tickets(rows), Settings(), 2024, 1)  # the data start in January
    figures = content.key_figures(report)
    assert [(f.previous, f.change) for f in figures if f.name in ("受理量", "有效回访", "单否", "双否")] == [("—", "")] * 4
    assert all(f.previous == "—" and f.change == "" for f in figures)
    text = content.report_text(report, "report-2024-01.xlsx")
    assert "受理量：3 / — / —" in text and "有效回访：3 / — / —" in text
    _, header, items = content.report_markdown(report, "wecom")
    assert "较上月" not in "\n".join(header + items)


def test_the_report_email_lists_the_streets_sheet_when_the_workbook_has_one():
    from gaopin.config import Settings
    from gaopin.reports.monthly import build_report
    from gaopin.reports.render import report_sheets
    from tests.builders import halves_rows, tickets

    rows = halves_rows()
    several = [{**r, "street": "新村街道" if i % 2 else "卢沟桥街道"} for i, r in enumerate(rows)]
    for made in (build_report(tickets(rows), Settings(), 2024, 8), build_report(tickets(several), Settings(), 2024, 8)):
        listed = content.report_text(made, "r.xlsx").split("是本月报告的工作簿（")[1].split("）")[0].split("、")
        sheets = [s.name for s in report_sheets(made)]
        assert [name.replace("单否/双否工单", "单双否工单") for name in listed] == sheets


def test_the_emails_caption_of_the_rankings_says_what_the_chart_says():
    """The email captioned it 全市排名 after the chart had become 区内排名 (review D8)."""
    from gaopin import charts
    from tests.charts.test_charts import report_fixture

    report = report_fixture()
    title = charts._draw_rankings(report, charts._prepare_rankings(report))._suptitle.get_text()
    assert content.CHART_TITLES["rankings"] in title
