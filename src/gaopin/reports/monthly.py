"""The monthly report as data: one JSON-able dict that the HTML, the workbook, the
terminal and the email are all rendered from."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gaopin.config import DISTRICT_SCOPE, Settings
from gaopin.errors import InputError, not_a_file, os_reason
from gaopin.io.dates import DTYPE
from gaopin.io.load import LoadResult
from gaopin.metrics import COMPARED, Weights, breakdown_of, group_codes, group_codes_of, indicators, missing_columns, records, summarize, with_previous
from gaopin.numbers import number, percent, signed
from gaopin.periods import Period, period, period_codes as codes_of_times
from gaopin.rules.outcomes import DOUBLE_NO, SINGLE_NO
from gaopin.rules.prepare import problem_column
from gaopin.rules.streets import NO_STREETS_NOTE, SEP, area_name, communities_of_streets, keyed_counts, several_streets, shown_names, street_codes, street_counts, street_key, written_counts
from gaopin.privacy import text_masker
from gaopin.schema import CITY, DISTRICT, label

TOP_CATEGORIES = 10
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
OTHER_DISPATCH = "其他"
RANKING_COLUMNS = ("月份", "接诉量排名", "综合成绩排名", "市直派成绩")


def read_rankings(path: Path) -> list[dict]:
    """The district's published rankings (月份, 接诉量排名, 综合成绩排名, 市直派成绩)."""
    try:
        kind = not_a_file(path)  # a pipe would be waited on for ever
        if kind:
            raise InputError(f"排名文件 {path} 不是普通文件（是{kind}）", "请检查 gaopin.toml 中 [report] rankings 的路径")
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"找不到排名文件 {path}", "请检查 gaopin.toml 中 [report] rankings 的路径") from None
    except OSError as exc:
        raise InputError(f"无法读取排名文件 {path}：{os_reason(exc)}", "请检查 gaopin.toml 中 [report] rankings 的路径") from None
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise InputError(f"排名文件 {path} 的编码无法识别", "请另存为 UTF-8 CSV")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or any(c not in rows[0] for c in RANKING_COLUMNS):
        raise InputError(f"排名文件 {path} 缺少列", f"需要这些列：{'、'.join(RANKING_COLUMNS)}")
    out = []
    for i, row in enumerate(rows, start=2):
        try:
            month = row["月份"].strip().replace("/", "-")
            y, m = month.split("-")[:2]
            out.append(
                {
                    "month": f"{int(y):04d}-{int(m):02d}",
                    "volume_rank": int(row["接诉量排名"]) if row["接诉量排名"].strip() else None,
                    "score_rank": int(row["综合成绩排名"]) if row["综合成绩排名"].strip() else None,
                    "city_score": float(row["市直派成绩"]) if row["市直派成绩"].strip() else None,
                }
            )
        except (ValueError, AttributeError):
            raise InputError(f"排名文件 {path} 第 {i} 行无法读取：{dict(row)}", "月份写成 2024-08，排名写整数，成绩写数字") from None
    return sorted(out, key=lambda r: r["month"])


def _in(days: pd.Series, p: Period) -> np.ndarray:
    """Where the receiving days (`received_at` normalised) fall in the period."""
    return ((days >= pd.Timestamp(p.start)) & (days <= pd.Timestamp(p.end))).to_numpy()


def _dispatch(frame: pd.DataFrame) -> pd.Series:
    cls = frame["dispatch_class"].fillna("")
    return cls.where(cls.isin([CITY, DISTRICT]), OTHER_DISPATCH)


def _communities(frame: pd.DataFrame, names: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    """Each ticket's community named with its street (`communities_of_streets`) as codes, and
    the streets' own codes: for a report of several streets. `names`: the streets' `shown_names`."""
    codes, found = pd.factorize(frame["community"], use_na_sentinel=True)
    streets = street_codes(frame["street"], names)
    return streets, communities_of_streets(streets, (codes.astype(np.int64), [str(n) for n in found.tolist()]))


# What the breakdowns and the list of 单否/双否 read of each ticket of the two periods.
PART_COLUMNS = ("ticket_id", "received_at", "street", "community", "unit", "category", "dispatch_class")


def _groups(frame: pd.DataFrame, problem: pd.Series, several: tuple | None) -> dict[str, tuple[np.ndarray, pd.Index]]:
    """Every breakdown's group codes over these tickets, factorised once for both periods;
    `several`: `_communities`, only for a report of several streets."""
    groups = {}
    if several is not None:
        streets, communities = several
        groups["by_street"] = group_codes_of(*streets)
        community = group_codes_of(*communities)
    else:
        community = group_codes(frame["community"])
    return groups | {
        "by_community": community,
        "by_unit": group_codes(frame["unit"]),
        "by_category": group_codes(problem),
        "by_dispatch": group_codes(_dispatch(frame)),
    }


def _figures(ind: pd.DataFrame, groups: dict, cur: np.ndarray, prev: np.ndarray, fields, weights: Weights) -> dict:
    """overall and every breakdown of one period (rows `cur`), each with the previous period's values.

    A previous period without tickets is not compared with (0 tickets before would make every
    count "+N"): its values and the changes are None. Nor is a period without tickets (the
    current month before its first import would read "-N" against the previous one): the
    previous values are given, the changes are None, as in every output that shows them."""
    now, before = ind[cur], ind[prev]
    compared = bool(prev.any())
    whole_now, whole_before = summarize(now, fields, weights), summarize(before, fields, weights)
    out: dict = {"overall": records(whole_now, named=False)[0]}
    with_previous(out["overall"], records(whole_before, named=False)[0] if compared else dict.fromkeys(COMPARED))
    if not cur.any():
        out["overall"]["change"] = dict.fromkeys(COMPARED)  # its breakdowns have no rows to change
    for key, (codes, names) in groups.items():
        current = breakdown_of(now, fields, weights, (codes[cur], names), whole_now)
        with_previous(current, breakdown_of(before, fields, weights, (codes[prev], names), whole_before) if compared else [])
        out[key] = current
    categories = out.pop("by_category")
    out["by_category"] = categories[:TOP_CATEGORIES]
    lost = [c for c in categories if c["points_lost"] is not None]
    out["by_category_lost"] = sorted(lost, key=lambda c: (-c["points_lost"], c["name"]))[:TOP_CATEGORIES]
    city = next((d for d in out["by_dispatch"] if d["name"] == CITY), None)
    out["city_score"] = city["score"] if city else None
    return out


def period_codes(received: pd.Series, start_day: int) -> pd.Series:
    """Each ticket's period as `Period.code` (NA when undated): gaopin.periods.period_codes."""
    codes = codes_of_times(received.to_numpy(dtype=DTYPE), start_day)
    return pd.Series(pd.array(codes, dtype="Int64"), index=received.index).mask(received.isna().to_numpy())


def _trend(ind: pd.DataFrame, received: pd.Series, fields, weights: Weights, year: int, month: int, start_day: int) -> list[dict]:
    """The overall figures of every period of the year up to `month`, in one grouped pass."""
    labels = [period(year, m, start_day).label for m in range(1, month + 1)]
    code = period_codes(received, start_day).to_numpy(dtype="float64", na_value=np.nan) - year * 12
    inside = (code >= 0) & (code < month)
    table = summarize(ind[inside], fields, weights, (code[inside].astype("int64"), pd.Index(labels, dtype=object)))
    table["points_lost"] = 100 - table["score"]
    found = {row["name"]: row for row in records(table, named=True)}
    empty = records(summarize(ind.iloc[0:0], fields, weights), named=False)[0]
    return [found.get(label) or {"name": label, **empty} for label in labels]


def _heatmap(received: pd.Series) -> dict:
    when = received.dropna()
    cells = np.bincount((when.dt.day_of_week * 24 + when.dt.hour).to_numpy(), minlength=7 * 24)
    return {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "counts": cells.reshape(7, 24).tolist()}


def _escalations(frame: pd.DataFrame, ind: pd.DataFrame, cur: np.ndarray, excluded: set[str], communities: tuple | None) -> list[dict]:
    double = ind["double_no"].to_numpy() == 1
    rows = cur & (double | (ind["single_no"].to_numpy() == 1))
    hit = frame.loc[rows, ["ticket_id", "community", "unit", "category", "received_at"]]
    if communities is not None:  # named with their streets (`_communities`)
        codes, labels = communities
        hit = hit.assign(community=np.array(labels + [None], dtype=object)[codes[rows]])
    hit = hit.assign(level=np.where(double[rows], DOUBLE_NO, SINGLE_NO)).sort_values(["received_at", "ticket_id"], kind="stable")
    received = [t.isoformat() for t in hit["received_at"]]  # every row is dated: it is in the period
    texts = {c: hit[c].fillna("").tolist() for c in ("community", "unit", "category")}
    return [
        {"ticket_id": t, "level": lv, "community": c, "unit": u, "category": k, "received_at": r, "excluded": t in excluded}
        for t, lv, c, u, k, r in zip(hit["ticket_id"].tolist(), hit["level"].tolist(), texts["community"], texts["unit"], texts["category"], received)
    ]


def _other_streets(streets: pd.Series, street: str) -> dict[str, int]:
    """Tickets naming another street than the report's (`street_key`: 丰台区新村街道 and 新 村 街 道
    are 新村街道), by street named as titles name it (`shown_names`), most first. A street's own
    export holds a few (dispatched to it from a neighbour); a district's export, mostly other
    streets: either way the report says so."""
    own = street_key(street) if street else ""
    if not own:
        return {}
    written = written_counts(streets)
    counts = keyed_counts(written)  # most first, then by name
    counts.pop(shown_names(written).get(own), None)
    return counts


def _mask_names(report: dict) -> None:
    """Numbers typed into communities, units or categories masked in every name the report shows
    (its page, workbook, charts and messages are all made from this dict)."""
    masked = text_masker()
    for key, groups in report.items():
        if key.startswith("by_") and isinstance(groups, list):
            for g in groups:
                g["name"] = masked(g["name"]) if isinstance(g.get("name"), str) else g.get("name")
    for e in report["escalations"]:
        e["community"], e["unit"], e["category"] = masked(e["community"]), masked(e["unit"]), masked(e["category"])
    report["street"] = masked(report["street"])
    # A file or sheet named after a caller (张三13812345678.xlsx) is named in the notes.
    report["notes"] = [masked(n) for n in report["notes"]]


# Data whose latest ticket is received before this hour of a period's last day end inside it.
LAST_DAY_COVERED = pd.Timedelta(hours=18)


def _dates_only_to_the_end(frame: pd.DataFrame, latest: Any, p: Period) -> bool:
    """An export of dates without times (every 受理时间 at 00:00) whose latest date is the
    period's last day covers that day: its 00:00 is not a report of a day not yet over."""
    latest = pd.Timestamp(latest)
    if latest != latest.normalize() or latest.date() < p.end:
        return False
    received = frame["received_at"].dropna()
    return bool((received == received.dt.normalize()).all())


def build_report(
    result: LoadResult,
    settings: Settings,
    year: int,
    month: int,
    exclusions: dict[str, str] | None = None,
    ledger: dict | None = None,
    rankings: list[dict] | None = None,
    written_streets: dict[str | None, int] | None = None,
    data_end: datetime | None = None,
) -> dict:
    """Every figure of the month, its breakdowns, the trend and the lists, as one dict.

    `written_streets`: `written_counts` of the streets of all the tickets `result` is taken
    from, when it is not all of them (a store read up to the month): the street's name is that
    of most tickets, and each street is named as most tickets write it, as the ledger names it;
    `data_end`: the latest receiving time of all the tickets, when `result` stops earlier."""
    # The score is the city's: every ticket counts, so [filters] (a warning setting) is not applied.
    # Only the problem key is needed here, not points or persons.
    frame = result.frame
    fields = result.fields
    weights = Weights.of(settings.score)
    start_day = settings.period.start_day
    p = period(year, month, start_day)
    prev = p.previous(start_day)
    days = frame["received_at"].dt.normalize()
    in_p, in_prev = _in(days, p), _in(days, prev)
    # Per-ticket indicators once, for the trend of the year; the breakdowns and lists are of the
    # two periods' tickets, whose rows alone are grouped (a fifth of a district year's).
    ind = indicators(frame, fields)
    both = np.flatnonzero(in_p | in_prev)
    part = frame[list(PART_COLUMNS)].take(both)
    ind_part, cur, before = ind.take(both), in_p[both], in_prev[both]
    counts = street_counts(part["street"][cur])  # the period's: whether the report is of several streets
    problem = problem_column(part, result.has("category"), settings.rules.category_level)
    # Named from every ticket, not only the two periods', as the ledger and `warn` name them: one
    # report names a street one way, whichever tickets its figures count.
    written = written_counts(frame["street"]) if written_streets is None else written_streets
    several = _communities(part, shown_names(written)) if several_streets(counts, settings.area.scope) else None
    groups = _groups(part, problem, several)
    all_streets = keyed_counts(written) if several is None and not settings.report.street else None
    report: dict = {
        "scope": "district" if several is not None else "street",
        "street": area_name(settings.report.street, several is not None, counts, all_streets),
        "period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
        "previous_period": {"label": prev.label, "start": prev.start.isoformat(), "end": prev.end.isoformat()},
        "weights": weights.to_dict(),
        "missing": missing_columns(fields),
        "notes": result.notes(),
    }
    report.update(_figures(ind_part, groups, cur, before, fields, weights))
    report.setdefault("by_street", [])
    report["months"] = _trend(ind, frame["received_at"], fields, weights, year, month, start_day)
    report["heatmap"] = _heatmap(frame["received_at"][in_p])
    report["escalations"] = _escalations(part, ind_part, cur, set(exclusions or ()), several[1] if several is not None else None)
    current_ids = set(part["ticket_id"][cur]) if exclusions else set()
    excluded = {tid for tid in (exclusions or {}) if tid in current_ids}
    report["excluded_tickets"] = sorted(excluded)
    if excluded:
        # Every excluded ticket is left out, the previous period's too: its figures compared with
        # are those its own report gives without its excluded tickets.
        keep = ~part["ticket_id"].isin(list(exclusions)).to_numpy()
        without = _figures(ind_part, groups, cur & keep, before & keep, fields, weights)
        for key, value in without.items():
            report[f"{key}_excluded"] = value
        # Where each output gives them: the page has no 汇总 table, only the headline's sentence.
        note = (
            f"本期有 {len(excluded)} 张工单被标记为不纳入考核：另算了不含这些工单的成绩（摘要中“不含不纳入考核工单时”一句，"
            "工作簿“汇总”表中“不含不纳入考核工单”一行；各社区、单位、分类的见 --format json 中带 _excluded 的部分）"
        )
        marked = sum(e["excluded"] for e in report["escalations"])
        if marked:
            note += f"；其中 {marked} 张是单否/双否工单，网页和工作簿的单否/双否工单表在“考核”列标出了它们"
        earlier = int((before & ~keep).sum())
        if earlier:
            note += f"，与之比较的上一统计期数字也不含该期被标记的 {earlier} 张"
        report["notes"].append(note + "。")
    # Data that end inside the period, or before it starts (the month is not over, or its last
    # export is not imported yet: a report run on the 1st before the day's import, or of the
    # current month before its first import): the figures are of part of it or of none of it,
    # which the leaders must read first. A month's own export ends late on its last day.
    latest = data_end if data_end is not None else frame["received_at"].max()
    report["data_end"] = None
    if latest is not None and not pd.isna(latest) and pd.Timestamp(latest) < pd.Timestamp(p.end) + LAST_DAY_COVERED and not _dates_only_to_the_end(frame, latest, p):
        report["data_end"] = pd.Timestamp(latest).strftime("%Y-%m-%d %H:%M")
        if pd.Timestamp(latest) < pd.Timestamp(p.start):
            report["notes"].append(
                f"数据中最晚的工单受理于 {report['data_end']}，在本期（{p.start.isoformat()} 至 {p.end.isoformat()}）开始以前："
                "本期还没有工单，本期的数字还不完整（本期还没有过完，或它的导出还没有导入）。"
            )
        else:
            report["notes"].append(f"数据中最晚的工单受理于 {report['data_end']}，本期到 {p.end.isoformat()} 才结束：本期的数字还不完整。")
    for name in report["missing"]:
        report["notes"].append(f"导出中没有“{label(name)}”列，相应比率显示为“—”，不计算综合成绩。")
    if not in_p.any() and report["data_end"] is None:  # else the note above says so
        report["notes"].append(f"{p.start.isoformat()} 至 {p.end.isoformat()} 没有工单。")
    if not in_prev.any():
        report["notes"].append(f"数据中没有上一统计期（{prev.start.isoformat()} 至 {prev.end.isoformat()}）的工单，不与上一统计期比较。")
    other = {} if several is not None else _other_streets(frame["street"][in_p], report["street"])
    if several is not None:
        report["notes"].append(
            f"本期工单来自 {len(counts)} 个街道，按多个街道出报告：另按街道分组，社区名称前写明所属街道（街道{SEP}社区）；"
            '只看一个街道时在 gaopin.toml 中设 [area] scope = "street"。'
        )
    elif settings.area.scope == DISTRICT_SCOPE and not counts:
        report["notes"].append(NO_STREETS_NOTE)
    if other:
        # Names as written in the export or gaopin.toml: masked here, as every name of the report is.
        shown_name = text_masker() if settings.privacy.mask_phones else str
        shown = "、".join(f"{shown_name(name)} {n} 件" for name, n in list(other.items())[:3]) + ("等" if len(other) > 3 else "")
        report["notes"].append(f"本期有 {sum(other.values())} 张工单的街道不是{shown_name(report['street'])}（{shown}），已一并计入本报告。")
    undated = int(frame["received_at"].isna().sum())
    if undated:
        report["notes"].append(f"{undated} 张工单的受理时间为空或无法识别，未计入任何月份。")
    # Closed on an earlier day than received (a typed year): indicators leave out its days.
    closed_before = int((in_p & frame["closed_at"].notna() & ind["close_days"].isna()).sum())
    if closed_before:
        report["notes"].append(f"本期有 {closed_before} 张工单的办结日期早于受理日期，没有计入办结天数；请核对这些工单的时间。")
    if settings.privacy.mask_phones:
        _mask_names(report)
    report["rankings"] = [r for r in rankings if r["month"][:4] == str(year) and r["month"] <= p.label] if rankings else None
    report["ledger"] = ledger
    return report


UNNAMED_STREET = "本街道"


def street_or_default(street: str | None) -> str:
    """The street as titles name it: 本街道 when no street is known (a file without 街乡镇)."""
    return street or UNNAMED_STREET


def headline(report: dict) -> list[str]:
    """The sentences a leader reads first: score, rates, where the points went."""
    o = report["overall"]
    p = report["period"]
    month = int(p["label"][5:])
    change = o.get("change") or {}
    lines = []
    if report.get("data_end"):
        # Data that end before the period starts: none of its tickets is in yet.
        none_yet = "本期还没有工单，" if report["data_end"] < p["start"] else ""
        lines.append(f"注意：数据只到 {report['data_end']}，{none_yet}本期的数字还不完整。")
    lines += [
        f"{street_or_default(report['street'])}{month}月（{p['start']} 至 {p['end']}）受理 {o['tickets']} 件，"
        f"综合成绩 {number(o['score'])}"
        + (f"（较上月 {signed(change.get('score'))}）" if change.get("score") is not None else "")
        + f"；响应率 {percent(o['response_rate'])}，解决率 {percent(o['resolution_rate'])}，满意率 {percent(o['satisfaction_rate'])}。",
        f"单否 {o['single_no']} 件，双否 {o['double_no']} 件，均需提级办理。" if o["single_no"] or o["double_no"] else "没有单否、双否工单。",
    ]
    if report.get("city_score") is not None:
        lines.append(f"市派工单成绩 {number(report['city_score'])}。")
    for key, what in (("by_street", "街道"), ("by_community", "社区"), ("by_unit", "承办单位"), ("by_category_lost", "问题类别")):
        lost = [g for g in report.get(key, []) if g.get("points_lost")]
        lost = sorted(lost, key=lambda g: -g["points_lost"])[:3]
        if lost:
            lines.append(f"失分最多的{what}：" + "、".join(f"{g['name']}（{number(g['points_lost'])} 分）" for g in lost) + "。")
    ranks = report.get("rankings") or []
    mine = next((r for r in ranks if r["month"] == p["label"]), None)
    if mine:
        lines.append(f"区内排名：接诉量第 {mine['volume_rank']} 名，综合成绩第 {mine['score_rank']} 名。")
    if report.get("overall_excluded"):
        lines.append(f"不含不纳入考核工单时，综合成绩 {number(report['overall_excluded']['score'])}。")
    return lines


def weights_text(report: dict) -> str:
    w = report["weights"]
    return (
        f"综合成绩 = 100 × （{w['response_weight']:g} × 响应率 + {w['resolution_weight']:g} × 解决率 + "
        f"{w['satisfaction_weight']:g} × 满意率），满意率 = （满意 + {w['basic_satisfied_factor']:g} × 基本满意）÷ 有效回访量"
    )
