"""The monthly report written out: a self-contained HTML page and a workbook."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from gaopin.config import whole_label
from gaopin.io.write import Sheet, atomic_path, write_xlsx
from gaopin.ledger.model import KIND_LABELS
from gaopin.ledger.service import key_text, ledger_sheets
from gaopin.numbers import number, percent, points, rounded, signed
from gaopin.reports.monthly import headline, street_or_default, weights_text

SECTIONS = (
    ("by_street", "街道", "街道", "streets"),
    ("by_community", "社区", "社区", "communities"),
    ("by_unit", "承办单位", "承办单位", None),
    ("by_category", "问题分类（受理量前十）", "问题分类", "categories"),
    ("by_category_lost", "问题分类（失分前十）", "问题分类", None),
    ("by_dispatch", "派单方式", "派单方式", None),
)


def _delta(group: dict, key: str, digits: int = 2, pct: bool = False) -> str:
    change = (group.get("change") or {}).get(key)
    return points(change) if pct else signed(change, digits)


# How an escalation left out of the assessment is marked, on the page and in the workbook.
EXCLUDED_MARK = "不纳入考核"

# A page leaders read on a phone: long lists are cut here and given whole in the workbook.
HTML_MAX_ROWS = 100


def _top_ledger(report: dict) -> list[dict]:
    entries = (report.get("ledger") or {}).get("entries", [])
    if len(entries) <= HTML_MAX_ROWS:
        return entries
    return sorted(entries, key=lambda e: (-(e.get("tickets_in_month") or 0), e["id"]))[:HTML_MAX_ROWS]


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_html(report: dict, charts: dict[str, Path], font: str = "") -> str:
    """The report page; its Chinese text in an embedded subset of the chart font."""
    from gaopin.charts import font_subset

    page = PendingPage(report, list(charts))
    return page.finish(charts, font_subset(page.used, font), font)


class PendingPage:
    """The report page rendered before its charts are drawn and its font is cut (both can be
    done elsewhere meanwhile): they are placeholders until `finish`. `used` is the text the
    font subset must cover."""

    def __init__(self, report: dict, chart_names: list[str]) -> None:
        self.report = report
        # Placeholders in ASCII, so they add no character to the font, and left as they are by
        # the template's escaping, as a PNG's data URI is.
        self.charts = {name: f"data:image/png;base64,{secrets.token_hex(16)}" for name in chart_names}
        # The font face goes where this one stands, the first thing in <head>, ahead of any report text.
        self.face = f"/* font {secrets.token_hex(16)} */"
        self.page = _render_page(report, self.charts, font_face=self.face)
        self.used = "".join(ch for ch in set(self.page) if ord(ch) > 127)

    def finish(self, charts: dict[str, Path], font_data: bytes, font: str = "") -> str:
        """The page with the drawn `charts` and the font cut to `used`."""
        if sorted(charts) != sorted(self.charts):  # not the charts planned: their captions may need other characters
            return render_html(self.report, charts, font)
        page = self.page
        for name, placeholder in self.charts.items():
            page = page.replace(placeholder, data_uri(charts[name]))
        encoded = base64.b64encode(font_data).decode("ascii")
        face = f'@font-face {{ font-family: "GaopinCJK"; src: url(data:font/otf;base64,{encoded}) format("opentype"); }}'
        return page.replace(self.face, face, 1)


def write_page(page: str, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _render_page(report: dict, charts: dict[str, str], font_face: str) -> str:
    """The page, with `charts` the images' addresses by name."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("gaopin", "templates"), autoescape=select_autoescape(["html", "j2"]), trim_blocks=False)
    template = env.get_template("report.html.j2")
    sections = [
        {"title": title, "name_label": name_label, "chart": chart, "rows": report.get(key, [])}
        for key, title, name_label, chart in SECTIONS
        if report.get(key)
    ]
    return template.render(
        r=report,
        street=street_or_default(report["street"]),
        o=report["overall"],
        lines=headline(report),
        weights=weights_text(report),
        sections=sections,
        charts=charts,
        pct=percent,
        num=number,
        delta=_delta,
        kind_label=lambda k: KIND_LABELS.get(k, k),
        key_text=key_text,
        font_face=font_face,
        max_rows=HTML_MAX_ROWS,
        ledger_rows=_top_ledger(report),
        excluded_mark=EXCLUDED_MARK,
    )


METRIC_COLUMNS = {
    "name": "名称",
    "tickets": "受理量",
    "valid_callbacks": "有效回访",
    "response_rate": "响应率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
    "score": "综合成绩",
    "score_change": "较上月",
    "single_no": "单否",
    "double_no": "双否",
    "points_lost": "失分",
    "days_to_close_median": "办结天数中位数",
    "days_to_close_p90": "办结天数90分位",
}
PERCENT = "0.0%"
FORMATS = {"response_rate": PERCENT, "resolution_rate": PERCENT, "satisfaction_rate": PERCENT, "score": "0.00", "score_change": "+0.00;-0.00;0.00", "points_lost": "0.00"}


def _metric_frame(groups: list[dict]) -> pd.DataFrame:
    rows = []
    for g in groups:
        row = {k: g.get(k) for k in METRIC_COLUMNS}
        # Rounded as the page shows it: under "+0.00;-0.00;0.00" a raw -0.004 would read "-0.00"
        # where the page says "0.00".
        change = rounded((g.get("change") or {}).get("score"), 2)
        row["score_change"] = None if change is None else float(change)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def _metric_sheet(name: str, groups: list[dict], title: str) -> Sheet:
    return Sheet(name, _metric_frame(groups), headers=list(METRIC_COLUMNS.values()), number_formats=FORMATS, title=title)


def report_sheets(report: dict) -> list[Sheet]:
    label = f"{street_or_default(report['street'])} {report['period']['label']}（{report['period']['start']} 至 {report['period']['end']}）"
    whole = whole_label(report.get("scope"))
    summary_rows = [{**report["overall"], "name": whole}] + [{**m} for m in report["months"]]
    if report.get("overall_excluded"):
        summary_rows.insert(1, {**report["overall_excluded"], "name": f"{whole}（不含不纳入考核工单）"})
    summary = _metric_sheet("汇总", summary_rows, f"{label} 汇总与月度趋势")
    escalations = pd.DataFrame(report["escalations"], columns=["ticket_id", "level", "community", "unit", "category", "received_at", "excluded"])
    escalations["received_at"] = escalations["received_at"].str.replace("T", " ", regex=False)
    escalations["excluded"] = np.where(escalations["excluded"].fillna(False).astype(bool), EXCLUDED_MARK, "")
    by_street = [_metric_sheet("街道", report["by_street"], f"{label} 按街道")] if report.get("by_street") else []
    sheets = [
        summary,
        *by_street,
        _metric_sheet("社区", report["by_community"], f"{label} 按社区"),
        _metric_sheet("承办单位", report["by_unit"], f"{label} 按承办单位"),
        _metric_sheet("分类", report["by_category"] + [g for g in report["by_category_lost"] if g["name"] not in {c["name"] for c in report["by_category"]}], f"{label} 按问题分类（受理量前十与失分前十）"),
        Sheet("单双否工单", escalations, headers=["工单编号", "类别", "社区", "承办单位", "问题分类", "受理时间", "考核"], title=f"{label} 单否/双否工单"),
    ]
    if report.get("ledger"):
        snapshot = ledger_sheets(report["ledger"], with_ticket_ids=False)
        frames = [s.frame.assign(类别=KIND_LABELS[kind]) for s, kind in zip(snapshot, KIND_LABELS)]
        both = pd.concat(frames, ignore_index=True)
        headers = snapshot[0].headers + ["类别"]
        colors = [c for s in snapshot for c in (s.row_colors or [None] * len(s.frame))]
        sheets.append(Sheet("高频台账", both, headers=headers, row_colors=colors, title=f"{label} 高频诉求台账"))
    else:
        sheets.append(Sheet("高频台账", pd.DataFrame({"说明": ["没有使用工单库，无台账数据（先 gaopin import，再不带文件运行 gaopin report）"]})))
    return sheets


def write_workbook(report: dict, path: Path) -> Path:
    return write_xlsx(path, report_sheets(report))
