import base64
import io
import re

from fontTools.ttLib import TTFont

from gaopin.config import Settings
from gaopin.reports.monthly import build_report
from gaopin.reports.render import render_html, report_sheets
from tests.builders import at, tickets

ROWS = [
    {"received_at": at("2024-08-0%d" % d), "community": c, "valid_callback": "是", "contacted": "是", "resolved": r, "satisfied": "满意", "category": "住房->物业->维修", "street": "新村街道", "unit": "<script>alert(1)</script>"}
    for d, c, r in [(1, "恰海社区", "是"), (2, "桥一社区", "否"), (3, "𠮷祥社区", "是")]
]


def test_html_embeds_a_font_that_covers_every_chinese_character_of_the_page():
    report = build_report(tickets(ROWS), Settings(), 2024, 8)
    html = render_html(report, {})
    data = re.search(r"data:font/otf;base64,([A-Za-z0-9+/=]+)", html).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    cmap = font.getBestCmap()
    text = re.sub(r"data:[^)\"]+", "", html)
    missing = {ch for ch in text if ord(ch) > 127 and ord(ch) not in cmap and not ch.isspace()}
    assert missing <= {"𠮷"}  # outside Noto Sans SC itself: the browser falls back for it
    assert len(data) < 400_000


def test_html_escapes_ticket_text():
    report = build_report(tickets(ROWS), Settings(), 2024, 8)
    html = render_html(report, {})
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_workbook_sheets_without_a_store():
    report = build_report(tickets(ROWS), Settings(), 2024, 8)
    names = [s.name for s in report_sheets(report)]
    assert names == ["汇总", "社区", "承办单位", "分类", "单双否工单", "高频台账"]


def test_a_page_rendered_before_its_charts_is_the_same_page(tmp_path):
    from gaopin.charts import font_subset
    from gaopin.reports.render import PendingPage

    report = build_report(tickets(ROWS), Settings(), 2024, 8)
    pictures = {name: tmp_path / f"{name}.png" for name in ("monthly", "communities")}
    for i, path in enumerate(pictures.values()):
        path.write_bytes(b"\x89PNG fake %d" % i)
    whole = render_html(report, pictures)
    page = PendingPage(report, ["monthly", "communities"])
    assert page.finish(pictures, font_subset(page.used)) == whole
    assert "fake" not in page.page and "data:font/otf" not in page.page
    # Other charts than planned (their captions are other text): the page is made again.
    planned = PendingPage(report, ["monthly", "communities", "heatmap", "rates"])
    assert planned.finish(pictures, font_subset(planned.used)) == whole


def _as_excel_shows(value: float, number_format: str) -> str:
    """A workbook cell as Excel/WPS show it: its 15 significant digits, half away from zero."""
    from decimal import ROUND_HALF_UP, Decimal

    percent = number_format.endswith("%")
    places = len(number_format.rstrip("%").partition(".")[2])
    shown = Decimal(format(value, ".15g")).scaleb(2 if percent else 0).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{shown}{'%' if percent else ''}"


def test_the_page_shows_each_figure_as_the_workbook_does(tmp_path):
    import openpyxl

    from gaopin.reports.render import write_workbook
    from tests.builders import halves_rows

    report = build_report(tickets(halves_rows()), Settings(), 2024, 8)
    html = render_html(report, {})
    sheet = openpyxl.load_workbook(write_workbook(report, tmp_path / "report.xlsx"))["汇总"]
    header = next(row for row in sheet.iter_rows() if row[0].value == "名称")
    street = next(row for row in sheet.iter_rows() if row[0].value == "全街道")
    cells = {h.value: c for h, c in zip(header, street)}
    shown = {name: _as_excel_shows(cells[name].value, cells[name].number_format) for name in ("响应率", "解决率", "满意率", "综合成绩")}
    assert shown == {"响应率": "98.8%", "解决率": "97.5%", "满意率": "97.3%", "综合成绩": "97.53"}  # 满意率 0.9725
    for name, text in shown.items():
        assert f'<div class="k">{name}</div><div class="v">{text}</div>' in html
    assert f"满意率 {shown['满意率']}。" in html  # the headline
    # 失分 2.475 of the one community, and the changes against July, rounded the same way.
    assert "<td>2.48</td></tr>" in html
    assert "-0.3 个百分点" in html and "-1.3 个百分点" in html


def test_a_previous_period_without_tickets_shows_no_change_on_the_page_or_in_the_workbook():
    report = build_report(tickets(ROWS), Settings(), 2024, 8)  # nothing in July
    html = render_html(report, {})
    assert re.findall(r'<div class="d">([^<]*)</div>', html) == [""] * 6  # the cards: score, tickets, the three rates and 单否 / 双否
    assert "数据中没有上一统计期（2024-07-01 至 2024-07-31）的工单，不与上一统计期比较。" in html
    for sheet in report_sheets(report)[:4]:
        assert "score_change" not in sheet.frame or sheet.frame["score_change"].isna().all(), sheet.name


def test_a_period_without_tickets_yet_shows_no_change_on_the_page_or_in_the_workbook():
    """September before its first import: the cards read 受理量 "-3" and 单否 / 双否 "-1 / 0"."""
    august = [{**row, "ticket_id": f"A{i}"} for i, row in enumerate(ROWS)]
    report = build_report(tickets(august), Settings(), 2024, 9)
    html = render_html(report, {})
    assert re.findall(r'<div class="d">([^<]*)</div>', html) == [""] * 6  # the cards: score, tickets, the three rates and 单否 / 双否
    assert "本期还没有工单" in html
    for sheet in report_sheets(report)[:4]:
        assert "score_change" not in sheet.frame or sheet.frame["score_change"].isna().all(), sheet.name


def test_a_change_that_rounds_to_nothing_reads_0_00_in_the_workbook_as_on_the_page():
    """The workbook's "+0.00;-0.00;0.00" showed a raw -0.004 as "-0.00" where the page says "0.00"."""
    from gaopin.numbers import signed
    from tests.builders import halves_rows

    report = build_report(tickets(halves_rows()), Settings(), 2024, 8)  # July and August
    report["overall"]["change"]["score"] = -0.004
    report["by_community"][0]["change"]["score"] = 0.126
    summary, community = report_sheets(report)[:2]
    assert summary.frame["score_change"].iloc[0] == 0.0 and signed(-0.004) == "0.00"
    assert community.frame["score_change"].iloc[0] == 0.13 and signed(0.126) == "+0.13"


def test_without_a_street_the_titles_say_this_street_not_a_leading_blank():
    """A file without 街乡镇 titled the page and the sheets " 2024-08 …" (the terminal said 本街道)."""
    rows = [{k: v for k, v in r.items() if k != "street"} for r in ROWS]
    report = build_report(tickets(rows), Settings(), 2024, 8)
    assert not report["street"]
    html = render_html(report, {})
    assert "<title>本街道 2024-08 接诉即办月度报告</title>" in html and "<h1>本街道 接诉即办月度报告</h1>" in html
    assert all(s.title.startswith("本街道 2024-08（") for s in report_sheets(report) if s.title)


def test_a_report_of_several_streets_shows_its_streets_on_the_page_and_in_the_title():
    rows = [{**r, "street": s} for s in ("新村街道", "卢沟桥街道", "丰台区宛平街道") for r in ROWS]
    report = build_report(tickets(rows), Settings(), 2024, 8)
    html = render_html(report, {})
    assert "<h1>3 个街道 接诉即办月度报告</h1>" in html and "<h2>街道</h2>" in html
    assert re.search(r'<td class="name">宛平街道</td><td>3</td>', html) and "卢沟桥街道·桥一社区" in html
    assert "<h2>街道</h2>" not in render_html(build_report(tickets(ROWS), Settings(), 2024, 8), {})


def test_the_page_marks_the_excluded_escalations_as_the_workbook_does_and_the_note_names_what_each_output_has():
    """The note promised a “汇总” row and marked tickets on the page, which had neither (review D7)."""
    rows = [
        {**ROWS[0], "ticket_id": "EX1", "resolved": "否"},
        {**ROWS[1], "ticket_id": "KEPT"},
        {**ROWS[2], "ticket_id": "EX2"},  # excluded, not a 单否/双否
    ]
    report = build_report(tickets(rows), Settings(), 2024, 8, exclusions={"EX1": "申诉已通过", "EX2": "申诉已通过"})
    assert [(e["ticket_id"], e["excluded"]) for e in report["escalations"]] == [("EX1", True), ("KEPT", False)]
    html = render_html(report, {})
    table = html[html.index("<h2>单否 / 双否工单") :]
    assert "<th>考核</th>" in table
    assert re.search(r"<td class=\"name\">EX1</td>.*?<td>不纳入考核</td></tr>", table)
    assert re.search(r"<td class=\"name\">KEPT</td>.*?<td></td></tr>", table)
    sheet = next(s for s in report_sheets(report) if s.name == "单双否工单")
    assert sheet.frame["excluded"].tolist() == ["不纳入考核", ""]
    note = next(n for n in report["notes"] if "不纳入考核" in n)
    assert note == (
        "本期有 2 张工单被标记为不纳入考核：另算了不含这些工单的成绩（摘要中“不含不纳入考核工单时”一句，"
        "工作簿“汇总”表中“不含不纳入考核工单”一行；各社区、单位、分类的见 --format json 中带 _excluded 的部分）"
        "；其中 1 张是单否/双否工单，网页和工作簿的单否/双否工单表在“考核”列标出了它们。"
    )
    assert "不含不纳入考核工单时，综合成绩" in html and "网页和工作簿“汇总”表" not in html
    # Without an excluded 单否/双否 the page has no such column, and the note does not promise one.
    plain = build_report(tickets(rows), Settings(), 2024, 8, exclusions={"EX2": "申诉已通过"})
    assert "<th>考核</th>" not in render_html(plain, {})
    assert not any("考核”列" in n for n in plain["notes"])


def test_the_escalations_card_shows_its_change_as_the_other_five_do():
    """Five cards had 较上月, the 单否 / 双否 one had none, though report.md §5 says all six do (review D10)."""
    july = [{**ROWS[0], "received_at": at("2024-07-05"), "ticket_id": "JUL", "resolved": "否"}]
    report = build_report(tickets(july + ROWS), Settings(), 2024, 8)
    change = report["overall"]["change"]
    assert (change["single_no"], change["double_no"]) == (0, 0)
    cards = render_html(report, {}).split('<div class="cards">')[1].split("</div>\n\n")[0]
    assert '<div class="k">单否 / 双否</div><div class="v">1 / 0</div><div class="d">0 / 0</div>' in cards
    more = build_report(tickets(july + ROWS + [{**ROWS[1], "ticket_id": "MORE", "received_at": at("2024-08-09")}]), Settings(), 2024, 8)
    assert '<div class="d">+1 / 0</div>' in render_html(more, {})
    # No previous period: no change, as on the other cards.
    alone = render_html(build_report(tickets(ROWS), Settings(), 2024, 8), {})
    assert '<div class="k">单否 / 双否</div><div class="v">1 / 0</div><div class="d"></div>' in alone
