"""The warning report written to a file: xlsx with Chinese headers, CSV or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from gaopin.errors import UsageError
from gaopin.io.write import Sheet, atomic_path, write_csv, write_xlsx
from gaopin.rules.warn import WarnReport
from gaopin.rules.warnings import RULE_LABELS, UNASSIGNED

UNASSIGNED_LABEL = "未分配"
WARNING_COLUMNS = {
    "rule": "规则",
    "point": "点位",
    "community": "社区",
    "category": "问题分类",
    "start": "开始日期",
    "end": "结束日期",
    "tickets": "件数",
    "persons": "人数",
    "owner": "责任领导",
    "titles": "主要内容",
    "ticket_ids": "工单编号",
}
ESCALATION_COLUMNS = {
    "level": "类别",
    "ticket_id": "工单编号",
    "community": "社区",
    "unit": "承办单位",
    "received_at": "受理时间",
    "owner": "责任领导",
}


def owner_label(owner: str) -> str:
    return UNASSIGNED_LABEL if owner == UNASSIGNED else owner


def warning_rows(report: WarnReport) -> pd.DataFrame:
    rows = []
    for w in report.warnings:
        d = w.to_dict()
        d["rule"] = RULE_LABELS[w.rule]
        d["owner"] = owner_label(w.owner)
        d["titles"] = "；".join(w.titles)
        d["ticket_ids"] = "、".join(w.ticket_ids)
        rows.append({k: d[k] for k in WARNING_COLUMNS})
    return pd.DataFrame(rows, columns=list(WARNING_COLUMNS))


def escalation_rows(report: WarnReport) -> pd.DataFrame:
    rows = []
    for e in report.escalations:
        d = e.to_dict()
        d["owner"] = owner_label(e.owner)
        d["received_at"] = d["received_at"].replace("T", " ")
        rows.append({k: d[k] for k in ESCALATION_COLUMNS})
    return pd.DataFrame(rows, columns=list(ESCALATION_COLUMNS))


def write_warn_report(report: WarnReport, path: Path) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path
    warnings = warning_rows(report)
    escalations = escalation_rows(report)
    if suffix == ".xlsx":
        notes = pd.DataFrame({"说明": report.notes + ([f"中心负责人：{report.center_head}"] if report.center_head else [])})
        return write_xlsx(
            path,
            [
                Sheet("预警", warnings, headers=list(WARNING_COLUMNS.values())),
                Sheet("提级办理", escalations, headers=list(ESCALATION_COLUMNS.values())),
                Sheet("说明", notes),
            ],
        )
    if suffix == ".csv":
        # Counts stay whole numbers beside the escalations, which have none (not 3.0).
        counts = warnings.astype({"tickets": "Int64", "persons": "Int64"})
        both = pd.concat(
            [
                counts.rename(columns=WARNING_COLUMNS).assign(类型="预警"),
                escalations.rename(columns=ESCALATION_COLUMNS).assign(类型="提级办理"),
            ],
            ignore_index=True,
        )
        both = both[["类型"] + [c for c in both.columns if c != "类型"]]
        return write_csv(both, path)
    raise UsageError(f"不支持的输出格式“{suffix or path}”", "--output 的文件名请以 .xlsx、.csv 或 .json 结尾")
