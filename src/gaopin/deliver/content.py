"""What the delivered messages say: titles, plain lines, tables and robot markdown.

Everything taken from the data passes through `safe()`, which masks phone numbers that
callers typed into free text (titles, addresses), whatever `--show-phones` or
`[privacy] mask_phones` say: nothing that leaves the machine carries a full number.
Ticket ids are system ids and are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gaopin.numbers import number, percent, points, signed
from gaopin.privacy import mask_phones_in_text
from gaopin.reports.monthly import headline, street_or_default
from gaopin.reports.warnings import owner_label
from gaopin.rules.warn import Escalation, WarnReport
from gaopin.rules.warnings import RULE_LABELS, Warning

CHART_TITLES = {
    "monthly": "月度受理量与综合成绩",
    "rates": "三率月度走势",
    "streets": "各街道综合成绩",
    "communities": "各社区综合成绩",
    "categories": "诉求分类",
    "heatmap": "受理时段分布",
    "rankings": "区内排名",
}
# Characters that robot markdown would read as markup, replaced by their full-width forms.
_MARKUP = str.maketrans({"*": "＊", "#": "＃", "`": "｀", "[": "［", "]": "］", "<": "＜", "_": "＿"})


def safe(text: object) -> str:
    """Data text as it may be sent: one line, phone numbers masked."""
    if text is None:
        return ""
    return mask_phones_in_text(" ".join(str(text).split()))


def md(text: object) -> str:
    """Data text for robot markdown: safe, and unable to open markup."""
    return safe(text).translate(_MARKUP)


# --- the monthly report -------------------------------------------------------------


def month_of(report: dict) -> tuple[int, int]:
    label = report["period"]["label"]
    return int(label[:4]), int(label[5:7])


def street_label(report_or_street: dict | str) -> str:
    street = report_or_street.get("street", "") if isinstance(report_or_street, dict) else report_or_street
    return street_or_default(safe(street))


def report_subject(report: dict) -> str:
    """`【新村街道】2024年8月接诉即办月度报告`"""
    year, month = month_of(report)
    return f"【{street_label(report)}】{year}年{month}月接诉即办月度报告"


def period_text(report: dict) -> str:
    p = report["period"]
    return f"{p['start']} 至 {p['end']}"


def report_lines(report: dict) -> list[str]:
    """The headline sentences, masked."""
    return [safe(line) for line in headline(report)]


@dataclass(frozen=True)
class Figure:
    name: str
    current: str
    previous: str
    change: str


def key_figures(report: dict) -> list[Figure]:
    o = report["overall"]
    prev = o.get("previous") or {}
    change = o.get("change") or {}

    def count(value) -> str:
        return "—" if value is None else str(value)

    def delta(key: str) -> str:
        return signed(change.get(key), 0)

    return [
        Figure("综合成绩", number(o["score"]), number(prev.get("score")), signed(change.get("score"))),
        Figure("受理量", count(o["tickets"]), count(prev.get("tickets")), delta("tickets")),
        Figure("有效回访", count(o["valid_callbacks"]), count(prev.get("valid_callbacks")), delta("valid_callbacks")),
        Figure("响应率", percent(o["response_rate"]), percent(prev.get("response_rate")), points(change.get("response_rate"))),
        Figure("解决率", percent(o["resolution_rate"]), percent(prev.get("resolution_rate")), points(change.get("resolution_rate"))),
        Figure("满意率", percent(o["satisfaction_rate"]), percent(prev.get("satisfaction_rate")), points(change.get("satisfaction_rate"))),
        Figure("单否", count(o["single_no"]), count(prev.get("single_no")), delta("single_no")),
        Figure("双否", count(o["double_no"]), count(prev.get("double_no")), delta("double_no")),
    ]


def report_text(report: dict, attachment: str) -> str:
    """The plain-text alternative of the report email."""
    lines = [f"{report_subject(report)}（{period_text(report)}）", ""]
    lines += report_lines(report)
    lines += ["", "主要指标（本月 / 上月 / 变化）："]
    for f in key_figures(report):
        lines.append(f"  {f.name}：{f.current} / {f.previous} / {f.change or '—'}")
    sheets = "汇总、" + ("街道、" if report.get("by_street") else "") + "社区、承办单位、分类、单否/双否工单、高频台账"
    lines += ["", f"附件 {attachment} 是本月报告的工作簿（{sheets}）。"]
    lines += ["本邮件由 gaopin 自动发送。"]
    return "\n".join(lines) + "\n"


def report_markdown(report: dict, fmt: str) -> tuple[str, list[str], list[str]]:
    """(title, header lines, item lines) of the report for the group robot."""
    title = report_subject(report)
    header = [f"**{md(title)}**", md(period_text(report))]
    items = [md(line) for line in report_lines(report)]
    return title, header, items


# --- warnings -----------------------------------------------------------------------


def warn_subject(street: str, day: date) -> str:
    """`【新村街道】接诉即办提早预警（2024-08-06）`"""
    return f"【{street_label(street)}】接诉即办提早预警（{day.isoformat()}）"


def warning_dates(w: Warning) -> str:
    return w.start.isoformat() if w.start == w.end else f"{w.start.isoformat()} 至 {w.end.isoformat()}"


def is_late(w: Warning, late_before: date | None) -> bool:
    """A warning that a `--date D` run (late_before = D) caught up on: it ended before D (补发)."""
    return late_before is not None and w.end < late_before


def late_count(report: WarnReport, late_before: date | None) -> int:
    return sum(1 for w in report.warnings if is_late(w, late_before))


def warning_lines(w: Warning, late_before: date | None = None) -> list[str]:
    """One warning as plain lines; one that ended before `late_before` says it is sent late."""
    late = is_late(w, late_before)
    lines = [
        ("【补发】" if late else "") + f"{RULE_LABELS[w.rule]}：{safe(w.point)}（{safe(w.community) or '社区未填'}）",
        f"问题：{safe(w.category) or '—'}；{warning_dates(w)}，{w.tickets} 件，{w.persons} 人",
        f"责任领导：{safe(owner_label(w.owner))}",
    ]
    if late:
        lines.insert(1, f"补发：这条预警截至 {w.end.isoformat()}，以前没有发出（在当天的发送之后才形成，或当天没有发送）")
    titles = [safe(t) for t in w.titles if safe(t)]
    if titles:
        lines.append("主要内容：" + "；".join(titles))
    lines.append("工单：" + "、".join(w.ticket_ids))
    return lines


def escalation_line(e: Escalation) -> str:
    when = e.received_at.replace("T", " ")[:16]
    return (
        f"{e.level} {e.ticket_id}，{safe(e.community) or '社区未填'}，{safe(e.unit) or '承办单位未填'}，"
        f"受理 {when or '—'}，责任领导：{safe(owner_label(e.owner))}"
    )


def counts_line(report: WarnReport, late_before: date | None = None) -> str:
    single = sum(1 for e in report.escalations if e.level == "单否")
    double = len(report.escalations) - single
    late = late_count(report, late_before)
    warnings = f"新预警 {len(report.warnings)} 条" + (f"（其中 {late} 条是 {late_before} 以前的，补发）" if late else "")
    return f"{warnings}；新的提级办理工单 {len(report.escalations)} 件（单否 {single}，双否 {double}）"


def warn_text(report: WarnReport, street: str, day: date, attachment: str | None, late_before: date | None = None) -> str:
    lines = [warn_subject(street, day), ""]
    if report.center_head:
        lines.append(f"中心负责人：{safe(report.center_head)}")
    lines += [counts_line(report, late_before), ""]
    for n, w in enumerate(report.warnings, start=1):
        first, *rest = warning_lines(w, late_before)
        lines.append(f"{n}. {first}")
        lines += [f"   {line}" for line in rest]
        lines.append("")
    if report.escalations:
        lines.append("提级办理（单否/双否，最新的在前）：")
        lines += [f"  {escalation_line(e)}" for e in newest_first(report.escalations)]
        lines.append("")
    if attachment:
        lines.append(f"附件 {attachment} 列出以上全部预警和提级办理工单。")
    lines.append("本邮件由 gaopin 自动发送。")
    return "\n".join(lines) + "\n"


def warn_markdown(report: WarnReport, street: str, day: date, fmt: str, late_before: date | None = None) -> tuple[str, list[str], list[str]]:
    """(title, header lines, item blocks) of the warnings for the group robot."""
    title = warn_subject(street, day)
    if fmt == "wecom":
        header = [f'**<font color="warning">{md(title)}</font>**']
    else:
        header = [f"**{md(title)}**"]
    if report.center_head:
        header.append(f"中心负责人：{md(report.center_head)}")
    header.append(f"> {md(counts_line(report, late_before))}")
    # DingTalk runs single newlines together: its lines need a blank line between them.
    join = "\n" if fmt == "wecom" else "\n\n"
    items = []
    for n, w in enumerate(report.warnings, start=1):
        first, *rest = warning_lines(w, late_before)
        block = [f"**{n}. {md(first)}**"] + [md(line) for line in rest]
        items.append(join.join(block))
    for e in newest_first(report.escalations):
        items.append(md(escalation_line(e)))
    return title, header, items


def newest_first(escalations: list[Escalation]) -> list[Escalation]:
    return sorted(escalations, key=lambda e: (e.received_at, e.ticket_id), reverse=True)


# --- HTML -----------------------------------------------------------------------------


def render_template(name: str, **values: object) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("gaopin", "templates"), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template(name).render(**values)


def report_html(report: dict, charts: list[tuple[str, str]], attachment: str) -> str:
    """The report email's HTML; `charts` are (name, content id) of the inline images."""
    return render_template(
        "report_email.html.j2",
        subject=report_subject(report),
        period=period_text(report),
        lines=report_lines(report),
        figures=key_figures(report),
        charts=[{"cid": cid, "title": CHART_TITLES.get(name, name)} for name, cid in charts],
        attachment=attachment,
    )


def escalation_cells(e: Escalation) -> list[str]:
    return [e.level, e.ticket_id, safe(e.community), safe(e.unit), e.received_at.replace("T", " ")[:16], safe(owner_label(e.owner))]


def warn_html(report: WarnReport, street: str, day: date, attachment: str | None, late_before: date | None = None) -> str:
    return render_template(
        "warn_email.html.j2",
        subject=warn_subject(street, day),
        center_head=safe(report.center_head),
        counts=counts_line(report, late_before),
        warnings=[warning_lines(w, late_before) for w in report.warnings],
        escalations=[escalation_cells(e) for e in newest_first(report.escalations)],
        attachment=attachment,
    )


def masked_copy(report: WarnReport) -> WarnReport:
    """The report with every free-text field masked, for files that are sent (the attachment)."""
    import dataclasses

    def masked(w):
        return dataclasses.replace(
            w,
            point=safe(w.point),
            community=safe(w.community),
            category=safe(w.category),
            owner=safe(w.owner),  # a leader's name may carry a number (gaopin.toml)
            titles=[safe(t) for t in w.titles],
            ticket_ids=list(w.ticket_ids),
        )

    escalations = [dataclasses.replace(e, community=safe(e.community), unit=safe(e.unit), owner=safe(e.owner)) for e in report.escalations]
    return WarnReport(
        [masked(w) for w in report.warnings], escalations, [safe(n) for n in report.notes], safe(report.center_head), [masked(w) for w in report.earlier]
    )
