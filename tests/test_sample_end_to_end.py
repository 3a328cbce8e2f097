"""The bundled sample, end to end: warn, import, ledger and report against the generator's
ground truth and an independent computation from the raw CSV."""

import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from gaopin.config import load_settings
from gaopin.io.load import load
from gaopin.ledger import service
from gaopin.reports.monthly import build_report
from gaopin.rules.warn import warn
from gaopin.store import Store, import_files

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TRUTH = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
TODAY = date(2024, 10, 31)


@pytest.fixture(scope="module")
def settings():
    return load_settings(SAMPLE / "gaopin.toml", environ={})


@pytest.fixture(scope="module")
def loaded(settings):
    return load([SAMPLE / "tickets.xlsx"], settings)


@pytest.fixture(scope="module")
def store(tmp_path_factory, settings):
    from datetime import datetime

    path = tmp_path_factory.mktemp("sample") / "g.db"
    s = Store(path)
    import_files([SAMPLE / "tickets.xlsx"], s, settings, now=datetime(2024, 11, 1))
    yield s
    s.close()


def key(w):
    return (w["rule"], w["point"], w["category"], w["start"], w["end"], tuple(sorted(w["ticket_ids"])))


def test_every_planted_burst_fires_by_the_right_rule_and_nothing_else(loaded, settings):
    report = warn(loaded, settings).to_dict()
    assert {key(w) for w in report["warnings"]} == {key(w) for w in TRUTH["expected_warnings"]}
    by_case = {}
    for name, case in TRUTH["cases"].items():
        ids = set(case["ticket_ids"])
        by_case[name] = sorted({w["rule"] for w in report["warnings"] if ids & set(w["ticket_ids"])})
    assert by_case["cat_vent"] == ["point_day"]
    assert by_case["tunnel"] == ["point_day", "two_day"]
    assert by_case["unpaid_wages"] == ["point_day", "two_day"]
    assert "two_day" not in by_case["claimant"]  # one person behind 9 numbers
    assert by_case["knocking"] == [] and by_case["nandayuan"] == [] and by_case["road_repair"] == []


def test_the_csv_copy_gives_the_same_warnings(settings, loaded):
    from_csv = warn(load([SAMPLE / "tickets.csv"], settings), settings).to_dict()
    assert from_csv == warn(loaded, settings).to_dict()


def test_ledger_entries_of_the_planted_cases(store, settings):
    view, _ = service.ledger_month(store, settings, 8, 2024, TODAY)
    everything = []
    for m in range(1, 11):
        everything += service.ledger_month(store, settings, m, 2024, TODAY)[0]["entries"]
    entries = {e["id"]: e for e in everything}.values()
    found = {(e["kind"], tuple(sorted(e["ticket_ids"]))) for e in entries}
    for expected in TRUTH["expected_ledger"]:
        assert (expected["kind"], tuple(sorted(expected["ticket_ids"]))) in found, expected["case"]
    claimant = TRUTH["cases"]["claimant"]
    [entry] = [e for e in entries if e["kind"] == "caller" and set(e["ticket_ids"]) == set(claimant["ticket_ids"])]
    assert entry["tickets_total"] == 121 and len(entry["key"]["phones"]) == 9
    knocking = [e for e in entries if e["kind"] == "issue" and set(e["ticket_ids"]) == set(TRUTH["cases"]["knocking"]["ticket_ids"])]
    assert len(knocking) == 1 and knocking[0]["persons"] == 7
    assert any(e["kind"] == "point" and e["key"] == {"point": "南大园300号"} for e in entries)
    wang = [e for e in entries if e["kind"] == "caller" and e["key"]["name"] == "王女士"]
    assert len(wang) == 2 and len({tuple(e["key"]["phones"]) for e in wang}) == 2


def test_the_nursing_home_complainant_is_resolved_and_closed(store, settings):
    service.ledger_month(store, settings, 5, 2024, TODAY)
    ids = set(TRUTH["cases"]["nursing_home"]["ticket_ids"])
    view, _ = service.ledger_month(store, settings, 5, 2024, TODAY)
    [entry] = [e for e in view["entries"] if e["kind"] == "caller" and set(e["ticket_ids"]) == ids]
    service.assign(store, entry["id"], TODAY, owner="周海燕", unit="东安街社区居委会")
    service.resolve(store, entry["id"], "协调养老院拆除围挡，恢复公共空间", date(2024, 6, 10), TODAY)
    service.close(store, entry["id"], "诉求人认可", date(2024, 6, 20), TODAY)
    shown = service.show(store, settings, entry["id"], TODAY)
    assert shown["status"] == "销号" and shown["owner"] == "周海燕"
    # The timeline is in date order: resolved (June 10) and closed (June 20) before the assignment made today.
    assert [e["kind"] for e in shown["events"]][-3:] == ["resolved", "closed", "assign"]
    # She never calls again: no recurrence, and July's ledger no longer lists her.
    july, _ = service.ledger_month(store, settings, 7, 2024, TODAY)
    assert entry["id"] not in [e["id"] for e in july["entries"]]


def _independent_months():
    """Monthly score straight from the raw GB18030 CSV, with plain Python."""
    yes = {"是", "解决", "已解决"}
    months = {}
    with (SAMPLE / "tickets.csv").open(encoding="gb18030", newline="") as fh:
        for row in csv.DictReader(fh):
            m = months.setdefault(row["来电时间"][:7], {"n": 0, "valid": 0, "contacted": 0, "resolved": 0, "sat": 0.0})
            m["n"] += 1
            if row["是否有效回访"] != "是":
                continue
            m["valid"] += 1
            m["contacted"] += row["是否联系"] == "是"
            m["resolved"] += row["是否解决"] in yes
            m["sat"] += {"满意": 1.0, "基本满意": 0.9}.get(row["是否满意"], 0.0)
    out = {}
    for label, m in months.items():
        v = m["valid"]
        out[label] = (m["n"], 100 * (0.1 * m["contacted"] / v + 0.5 * m["resolved"] / v + 0.4 * m["sat"] / v))
    return out


def test_report_trend_matches_an_independent_computation_and_august_is_best(loaded, settings):
    from gaopin.reports.monthly import read_rankings

    ranks = read_rankings(SAMPLE / "rankings.csv")
    report = build_report(loaded, settings, 2024, 8, rankings=ranks)
    expected = _independent_months()
    for m in report["months"]:
        tickets, score = expected[m["name"]]
        assert m["tickets"] == tickets
        assert m["score"] == pytest.approx(score, abs=1e-6)
    best = max(range(1, 11), key=lambda month: build_report(loaded, settings, 2024, month)["overall"]["score"])
    assert best == 8
    assert report["overall"]["score"] == pytest.approx(TRUTH["monthly"]["2024-08"]["score"], abs=0.01)
    aug = next(r for r in report["rankings"] if r["month"] == "2024-08")
    assert (aug["volume_rank"], aug["score_rank"]) == (13, 14)


def test_report_files_from_the_store(store, settings, tmp_path):
    from gaopin.reports.run import run_report

    store.close()
    report = run_report(settings, 8, 2024, None, str(store.path), TODAY, out_dir=tmp_path / "2024-08")
    files = report["files"]
    assert set(files) >= {"html", "xlsx", "monthly", "rates", "communities", "categories", "heatmap", "rankings"}
    html = Path(files["html"]).read_text(encoding="utf-8")
    assert "新村街道 接诉即办月度报告" in html and "data:image/png;base64," in html
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb.sheetnames == ["汇总", "社区", "承办单位", "分类", "单双否工单", "高频台账"]
    assert wb["高频台账"].max_row > 3
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    assert report["ledger"]["month"] == "2024-08"
