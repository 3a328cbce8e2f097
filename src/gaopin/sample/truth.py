"""ground_truth.json: what the generator planted, stated from the plan (no rule is run)."""

from __future__ import annotations

from collections import Counter

from gaopin.sample import outcomes
from gaopin.sample import street_data as sd
from gaopin.sample.cases import CALLER, Case, PlannedLedger, PlannedWarning
from gaopin.sample.factory import FIRST_DAY, LAST_DAY, Person
from gaopin.sample.model import Ticket

SCHEMA_VERSION = 1
XLSX_NAME, CSV_NAME, TRUTH_NAME = "tickets.xlsx", "tickets.csv", "ground_truth.json"
RANKINGS_NAME, CONFIG_NAME, README_NAME = "rankings.csv", "gaopin.toml", "README.md"
SHEET_NAME = "工单明细"
XLSX_HEADER_ROW = 3
CSV_ENCODING = "gb18030"
# The thresholds the plan was built against: gaopin's defaults.
THRESHOLDS = {
    "point_day": {"min_tickets": 3},
    "two_day": {"min_tickets": 5, "min_persons": 2},
    "ledger": {
        "caller": {"min_tickets": 5, "days": 30},
        "point": {"min_tickets": 10, "days": 30},
        "issue": {"min_tickets": 8, "min_persons": 3, "days": 90},
    },
}


def ids(tickets: list[Ticket]) -> list[str]:
    return sorted(t.ticket_id for t in tickets)


def _person(p: Person, tickets: list[Ticket] | None = None) -> dict:
    out = {"name": p.name, "phones": sorted({ph.digits for ph in p.phones if ph.usable})}
    if tickets is not None:
        mine = [t for t in tickets if t.caller == p.name and t.phone in p.phones]
        out["ticket_ids"] = ids(mine)
        out["points"] = sorted({t.point for t in mine})
    return out


def _warning(w: PlannedWarning) -> dict:
    days = sorted(t.day for t in w.tickets)
    return {
        "rule": w.rule,
        "point": w.point,
        "category": w.category,
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "ticket_ids": ids(w.tickets),
    }


def _ledger(case: str, e: PlannedLedger) -> dict:
    out: dict = {"kind": e.kind, "case": case, "ticket_ids": ids(e.tickets)}
    if e.kind == CALLER and e.person is not None:
        out["name"] = e.person.name
        out["phones"] = sorted({ph.digits for ph in e.person.phones if ph.usable})
        out["points"] = sorted({t.point for t in e.tickets})
    else:
        out["point"] = e.point
        if e.category:
            out["category"] = e.category
        out["persons"] = len({t.phone.digits for t in e.tickets if t.phone.usable})
    return out


def _most_common(values) -> str:
    return Counter(values).most_common(1)[0][0]


def _case(c: Case) -> dict:
    out = {
        "description": c.description,
        "effect": c.effect,
        "ticket_ids": ids(c.tickets),
        "ticket_count": len(c.tickets),
        "community": _most_common(t.community for t in c.tickets),
        "point": _most_common(t.point for t in c.tickets),
        "points": sorted({t.point for t in c.tickets}),
        "category": _most_common(t.category for t in c.tickets),
        "categories": sorted({t.category for t in c.tickets}),
        "persons": [_person(p, c.tickets) for p in c.persons],
        "tickets_without_usable_phone": ids([t for t in c.tickets if not t.phone.usable]),
        "warnings": sorted({w.rule for w in c.warnings}),
        "ledger": sorted({e.kind for e in c.ledger}),
        "first_day": min(t.day for t in c.tickets).isoformat(),
        "last_day": max(t.day for t in c.tickets).isoformat(),
    }
    if c.name == "claimant":
        decoy: list[Ticket] = c.extra["decoy"]
        out["decoy_window"] = {
            "point": decoy[0].point,
            "category": decoy[0].category,
            "start": min(t.day for t in decoy).isoformat(),
            "end": max(t.day for t in decoy).isoformat(),
            "ticket_ids": ids(decoy),
            "phones": sorted({t.phone.digits for t in decoy}),
            "note": "同一人用多个号码两天内 5 件：两日多人预警不应触发；其中一天 3 件触发单日同点位预警",
        }
    if c.name == "nandayuan":
        out["spells"] = [
            {"start": min(t.day for t in s).isoformat(), "end": max(t.day for t in s).isoformat(), "ticket_ids": ids(s)}
            for s in c.extra["spells"]
        ]
    return out


def ground_truth(sample) -> dict:
    cases = sample.cases
    warnings = sorted(
        (_warning(w) for c in cases for w in c.warnings), key=lambda w: (w["start"], w["rule"], w["point"], w["category"])
    )
    ledger = sorted(
        (_ledger(c.name, e) for c in cases for e in c.ledger), key=lambda e: (e["case"], e["kind"], e["ticket_ids"][0])
    )
    city = sample.monthly(sd.CITY_DISPATCH)
    monthly = {}
    for month, stats in sample.monthly().items():
        row = stats.to_dict()
        row["city_score"] = round(city[month].score, 2)
        monthly[f"2024-{month:02d}"] = row
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"command": f"gaopin sample --out DIR --seed {sample.seed}", "seed": sample.seed},
        "district": sd.DISTRICT,
        "street": sd.STREET,
        "period": {"start": FIRST_DAY.isoformat(), "end": LAST_DAY.isoformat()},
        "ticket_count": len(sample.tickets),
        "files": {
            "xlsx": {"name": XLSX_NAME, "sheet": SHEET_NAME, "header_row": XLSX_HEADER_ROW},
            "csv": {"name": CSV_NAME, "encoding": CSV_ENCODING, "header_row": 1},
            "rankings": RANKINGS_NAME,
            "config": CONFIG_NAME,
        },
        "excluded_before_rules": {"工单类型": ["咨询"]},
        "thresholds": THRESHOLDS,
        "point_prefixes": list(sd.POINT_PREFIXES),
        "rare_name": sd.RARE_NAME,
        "cases": {c.name: _case(c) for c in cases},
        "planted_points": {t.ticket_id: t.point for c in cases for t in c.tickets},
        "expected_warnings": warnings,
        "expected_ledger": ledger,
        "monthly": monthly,
        "best_month": f"2024-{outcomes.BEST_MONTH:02d}",
    }


__all__ = ["ground_truth"]
