"""Writing the street sample: the export (xlsx and GB18030 CSV), ground truth, rankings, config, README.

Every file is byte-for-byte a function of the seed: no wall clock (the xlsx creation date
is fixed), sorted JSON keys, fixed line endings.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path

from gaopin.io.write import atomic_path
from gaopin.sample import street_data as sd
from gaopin.sample import truth
from gaopin.sample.model import EXPORT_HEADERS, Ticket
from gaopin.sample.outcomes import resolved_text
from gaopin.sample.readme import readme_text
from gaopin.sample.street import DEFAULT_SEED, StreetSample, build_street

EXPORTED_AT = datetime(2024, 11, 1, 9, 0, 0)  # the export's "creation" time, fixed for reproducible bytes
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TITLE = f"{sd.DISTRICT}{sd.STREET}12345市民服务热线工单明细（2024年1月1日—2024年10月31日）"
# District ranks among its 24 streets (lower is better), climbing to 13th/14th in August.
VOLUME_RANKS = (19, 18, 18, 17, 16, 15, 14, 13, 14, 14)
OVERALL_RANKS = (21, 20, 19, 18, 17, 16, 15, 14, 15, 15)
COLUMN_WIDTHS = (17, 8, 19, 10, 15, 8, 14, 12, 30, 34, 30, 60, 22, 16, 8, 19, 12, 8, 8, 8)


def write_street_sample(out_dir: str | os.PathLike[str], seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the 新村街道 sample into out_dir; returns the files written."""
    out = Path(out_dir)
    sample = build_street(seed)
    gt = truth.ground_truth(sample)
    return [
        write_xlsx(sample, out / truth.XLSX_NAME),
        write_csv(sample, out / truth.CSV_NAME),
        write_json(gt, out / truth.TRUTH_NAME),
        write_rankings(sample, out / truth.RANKINGS_NAME),
        write_config(out / truth.CONFIG_NAME),
        write_readme(sample, gt, out / truth.README_NAME),
    ]


# --- the export -------------------------------------------------------------------------------


def _text_cells(t: Ticket) -> list[str]:
    """The row as text, in EXPORT_HEADERS order, times left blank (filled per format)."""
    return [
        t.ticket_id,
        t.ticket_type,
        "",
        t.caller,
        t.phone.text,
        sd.DISTRICT,
        t.street_text,
        t.community,
        t.address,
        t.category_text or t.category,
        t.title,
        t.content,
        t.unit,
        t.dispatch,
        sd.STATUS_DONE,
        "",
        "是" if t.valid else "否",
        "" if not t.valid else ("是" if t.contacted else "否"),
        resolved_text(t.resolved if t.valid else None, t.month),
        (t.satisfied or "") if t.valid else "",
    ]


RECEIVED_COL, PHONE_COL, CLOSED_COL = EXPORT_HEADERS.index("来电时间"), EXPORT_HEADERS.index("来电人电话/账号"), EXPORT_HEADERS.index("办结时间")


def write_xlsx(sample: StreetSample, path: Path) -> Path:
    import xlsxwriter

    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False})
        try:
            wb.set_properties({"title": TITLE, "author": "12345市民服务热线", "company": "", "created": EXPORTED_AT})
            ws = wb.add_worksheet(truth.SHEET_NAME)
            title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
            header_fmt = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"})
            time_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
            ws.merge_range(0, 0, 0, len(EXPORT_HEADERS) - 1, TITLE, title_fmt)
            ws.set_row(0, 28)
            ws.write_string(1, 0, f"说明：导出时间 {EXPORTED_AT:%Y-%m-%d %H:%M}，共 {len(sample.tickets)} 条工单。")
            for c, header in enumerate(EXPORT_HEADERS):
                ws.write_string(2, c, header, header_fmt)
                ws.set_column(c, c, COLUMN_WIDTHS[c])
            for r, t in enumerate(sample.tickets, start=3):
                cells = _text_cells(t)
                for c, value in enumerate(cells):
                    if c == RECEIVED_COL:
                        if t.received_text is not None:
                            ws.write_string(r, c, t.received_text)
                        else:
                            ws.write_datetime(r, c, t.received, time_fmt)
                    elif c == CLOSED_COL:
                        ws.write_datetime(r, c, t.closed, time_fmt)
                    elif c == PHONE_COL and t.phone.numeric_cell:
                        ws.write_number(r, c, int(t.phone.text))
                    elif value:
                        ws.write_string(r, c, value)
            ws.freeze_panes(3, 0)
            ws.autofilter(2, 0, 2 + len(sample.tickets), len(EXPORT_HEADERS) - 1)
        finally:
            wb.close()
    return path


def write_csv(sample: StreetSample, path: Path) -> Path:
    """The same tickets as a GB18030 CSV, the way older systems export: all text, no title row."""
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding=truth.CSV_ENCODING, newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(EXPORT_HEADERS)
            for t in sample.tickets:
                cells = _text_cells(t)
                cells[RECEIVED_COL] = t.received.strftime(TIME_FORMAT)
                cells[CLOSED_COL] = t.closed.strftime(TIME_FORMAT)
                writer.writerow(cells)
    return path


# --- the rest ---------------------------------------------------------------------------------


def write_json(data: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return path


def rankings_rows(sample: StreetSample) -> list[list[str]]:
    city = sample.monthly(sd.CITY_DISPATCH)
    rows = [["月份", "接诉量排名", "综合成绩排名", "市直派成绩"]]
    for i, month in enumerate(sorted(city)):
        rows.append([f"2024-{month:02d}", str(VOLUME_RANKS[i]), str(OVERALL_RANKS[i]), f"{city[month].score:.2f}"])
    return rows


def write_rankings(sample: StreetSample, path: Path) -> Path:
    # 市直派成绩 is the score of the sample's own city-dispatched tickets, so report and data agree.
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rankings_rows(sample))
    return path


def config_text() -> str:
    leaders = {c.name: sd.LEADERS[c.leader] for c in sd.COMMUNITIES}
    lines = [
        "# 新村街道示例数据的配置（由 gaopin sample 生成）。",
        "# 用法：gaopin warn sample_data/tickets.xlsx --config sample_data/gaopin.toml",
        "",
        "[point]",
        "# 地址开头要去掉的街道名称（北京市和区名总会去掉）",
        f"prefixes = [{', '.join(json.dumps(p, ensure_ascii=False) for p in sd.POINT_PREFIXES)}]",
        "",
        "[filters]",
        "# 咨询类工单不参与预警",
        'exclude = { "工单类型" = ["咨询"] }',
        "",
        "[owners]",
        f'center_head = "{sd.CENTER_HEAD}"',
        "",
        "# 社区 = 包片领导（9 位领导包 19 个社区、村）",
        "[owners.communities]",
        *[f'"{community}" = "{leader}"' for community, leader in leaders.items()],
        "",
        "[report]",
        f'street = "{sd.STREET}"',
        f'rankings = "{truth.RANKINGS_NAME}"',
        "",
    ]
    return "\n".join(lines)


def write_config(path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(config_text(), encoding="utf-8")
    return path


def write_readme(sample: StreetSample, gt: dict, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(readme_text(sample, gt), encoding="utf-8")
    return path
