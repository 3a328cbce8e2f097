"""The sample generator: determinism, loadability, ground-truth consistency, and an
independent brute-force check that exactly the expected warnings (and ledger entries) fire.

The checker below re-implements the street's rules in plain loops from their written
description; it shares no code with the generator (nor with gaopin's rule engine).
"""

from __future__ import annotations

import ast
import csv
import json
import re
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaopin.config import Settings, load_settings
from gaopin.io.load import load
from gaopin.sample import DEFAULT_SEED, build_street, write_district_sample, write_street_sample

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "sample_data"
FILES = ("tickets.xlsx", "tickets.csv", "ground_truth.json", "rankings.csv", "gaopin.toml", "README.md")
CASES = ("cat_vent", "tunnel", "nandayuan", "road_repair", "unpaid_wages", "claimant", "knocking", "nursing_home", "common_name")


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_street_sample(out, DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def gt(sample_dir) -> dict:
    return json.loads((sample_dir / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def xlsx_load(sample_dir):
    return load([sample_dir / "tickets.xlsx"], Settings())


@pytest.fixture(scope="module")
def tickets(xlsx_load) -> pd.DataFrame:
    return xlsx_load.frame


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(sample_dir, tmp_path):
    write_street_sample(tmp_path, DEFAULT_SEED)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sample_dir / name).read_bytes(), name


def test_different_seed_gives_different_data():
    a, b = build_street(DEFAULT_SEED), build_street(DEFAULT_SEED + 1)
    assert [(t.ticket_id, t.caller, t.address) for t in a.tickets] != [(t.ticket_id, t.caller, t.address) for t in b.tickets]
    assert {t.phone.digits for t in a.tickets} != {t.phone.digits for t in b.tickets}


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_any_seed_keeps_the_plan(seed):
    sample = build_street(seed)  # the generator checks its own invariants (count, ids, best month)
    assert len(sample.tickets) == 6656
    claimant = [t for t in sample.tickets if t.case == "claimant"]
    assert len(claimant) == 121 and len({t.phone.digits for t in claimant}) == 9


def test_committed_sample_equals_fresh_generation(sample_dir):
    for name in FILES:
        committed = COMMITTED / name
        assert committed.is_file(), f"sample_data/{name} missing: run gaopin sample --out sample_data"
        assert committed.read_bytes() == (sample_dir / name).read_bytes(), f"sample_data/{name} is stale: regenerate it"


def test_sample_package_imports_only_lower_layers():
    allowed = ("gaopin.errors", "gaopin.config", "gaopin.schema", "gaopin.privacy", "gaopin.io", "gaopin.sample")
    for path in (REPO / "src" / "gaopin" / "sample").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("typer", "rich"), (path.name, name)
                if name == "gaopin" or name.startswith("gaopin."):
                    assert any(name == a or name.startswith(a + ".") for a in allowed), (path.name, name)


def test_cli_default_seed_matches_library():
    from gaopin.cli import sample_cmd

    assert sample_cmd.DEFAULT_SEED == DEFAULT_SEED


# --- the export loads as a real one -------------------------------------------------------------


def test_counts_ids_and_dates(tickets, xlsx_load):
    assert len(tickets) == 6656
    assert not xlsx_load.rejected and not xlsx_load.problems
    assert tickets["ticket_id"].is_unique
    assert tickets["ticket_id"].str.fullmatch(r"GD2024\d{9}").all()
    assert tickets["received_at"].notna().all()
    assert tickets["received_at"].min() >= pd.Timestamp("2024-01-01")
    assert tickets["received_at"].max() <= pd.Timestamp("2024-10-31 23:59:59")
    assert (tickets["closed_at"] > tickets["received_at"]).all()
    assert ((tickets["closed_at"] - tickets["received_at"]) <= pd.Timedelta(days=11)).all()


def test_title_row_is_detected(xlsx_load):
    source = xlsx_load.sources[0]
    assert source.header_row == 3 and source.sheet == "工单明细"


def test_value_styles_of_a_real_export(sample_dir, tickets):
    import python_calamine

    with python_calamine.CalamineWorkbook.from_path(str(sample_dir / "tickets.xlsx")) as wb:
        rows = wb.get_sheet_by_name("工单明细").to_python()
    header = rows[2]
    body = rows[3:]
    phones = [r[header.index("来电人电话/账号")] for r in body]
    times = [r[header.index("来电时间")] for r in body]
    assert sum(isinstance(p, float) for p in phones) > 0.6 * len(phones)  # mostly number cells
    assert any(isinstance(p, str) and p.isdigit() for p in phones)  # some as text
    typed = [t for t in times if isinstance(t, str)]
    assert 0.015 * len(times) < len(typed) < 0.05 * len(times)
    assert any("年" in t and "时" in t for t in typed) and any("/" in t for t in typed)
    assert any(unicodedata.normalize("NFKC", t) != t for t in typed)  # full-width digits
    phone = tickets["caller_phone"].dropna()
    assert not phone.str.contains(r"\.").any()
    mobiles = phone[phone.str.fullmatch(r"1\d{10}")]
    assert len(mobiles) > 0.8 * len(tickets)
    assert 0.01 < phone.str.startswith("0106").mean() < 0.04  # landlines 010-6xxxxxxx
    assert (phone == "保密").any() and phone.str.fullmatch(r"A\d{9}").any()
    assert set(tickets["ticket_type"]) == {"投诉", "诉求", "求助", "咨询", "建议"}
    assert tickets["ticket_type"].isin(["投诉", "诉求"]).mean() > 0.7
    assert 0.65 < (tickets["dispatch"] == "市级派单（直派）").mean() < 0.75
    assert set(tickets["street"]) == {"新村街道", "丰台区新村街道"}
    assert tickets["community"].nunique() == 19
    assert (tickets["category"].str.count("->") == 2).all()
    assert 0.8 < (tickets["valid_callback"] == "是").mean() < 0.9
    raw_resolved = {r[header.index("是否解决")] for r in body}
    assert {"解决", "未解决", "是", "否", "部分解决"} <= raw_resolved
    raw_category = [r[header.index("问题分类")] for r in body]
    assert any("-->" in c for c in raw_category) and any("→" in c for c in raw_category)
    addresses = tickets["address"]
    assert addresses.str.contains("[０-９]").any() and addresses.str.contains("栋").any()
    assert addresses.str.startswith("北京市丰台区新村街道").any() and addresses.str.contains(" ").any()
    assert addresses.str.contains(r"\d单元\d{3}").any()
    lengths = tickets["content"].str.len()
    assert lengths.between(37, 149).all()


def test_gb18030_csv_loads_to_the_same_tickets(sample_dir, tickets, gt):
    raw = (sample_dir / "tickets.csv").read_bytes()
    text = raw.decode("gb18030")
    assert gt["rare_name"] in text
    with pytest.raises(UnicodeEncodeError):
        gt["rare_name"].encode("gbk")
    result = load([sample_dir / "tickets.csv"], Settings())
    assert result.sources[0].encoding == "gb18030"
    columns = [c for c in tickets.columns if not c.startswith("_")]
    pd.testing.assert_frame_equal(result.frame[columns], tickets[columns])


# --- ground truth -------------------------------------------------------------------------------


def test_ground_truth_ids_exist_and_cases_are_disjoint(gt, tickets):
    known = set(tickets["ticket_id"])
    seen: set[str] = set()
    assert set(gt["cases"]) == set(CASES)
    for name, case in gt["cases"].items():
        ids = case["ticket_ids"]
        assert ids == sorted(ids) and set(ids) <= known, name
        assert not seen & set(ids), name
        seen |= set(ids)
        assert case["ticket_count"] == len(ids)
    assert set(gt["planted_points"]) == seen
    for w in gt["expected_warnings"]:
        assert w["ticket_ids"] == sorted(w["ticket_ids"]) and set(w["ticket_ids"]) <= seen
    for e in gt["expected_ledger"]:
        assert set(e["ticket_ids"]) <= seen
    planted = tickets[tickets["ticket_id"].isin(seen)]
    assert not (planted["ticket_type"] == "咨询").any()


def _case_rows(gt, tickets, name) -> pd.DataFrame:
    return tickets[tickets["ticket_id"].isin(gt["cases"][name]["ticket_ids"])]


def test_claimant_is_one_name_nine_phones_121_tickets(gt, tickets):
    case = gt["cases"]["claimant"]
    rows = _case_rows(gt, tickets, "claimant")
    assert len(rows) == 121
    assert set(rows["caller_name"]) == {"韩立新"}
    assert rows["caller_phone"].nunique() == 9
    assert sorted(rows["caller_phone"].unique()) == case["persons"][0]["phones"]
    assert len(case["points"]) == 2
    flat = [p for p in case["points"] if p.endswith("号楼")][0]
    flat_phones = {ph for ph, tid in zip(rows["caller_phone"], rows["ticket_id"]) if gt["planted_points"][tid] == flat}
    assert len(flat_phones) == 9  # every number shares the flat with the others: one person
    decoy = case["decoy_window"]
    assert len(decoy["ticket_ids"]) >= 5 and len(decoy["phones"]) >= 3
    days = {d.date() for d in rows[rows["ticket_id"].isin(decoy["ticket_ids"])]["received_at"]}
    assert len(days) == 2 and (max(days) - min(days)).days == 1
    ledger = [e for e in gt["expected_ledger"] if e["case"] == "claimant"]
    assert len(ledger) == 1 and ledger[0]["kind"] == "caller" and len(ledger[0]["phones"]) == 9


def test_other_cases_match_their_write_up(gt, tickets):
    cat = _case_rows(gt, tickets, "cat_vent")
    assert len(cat) == 3 and cat["caller_name"].nunique() == 3 and cat["address"].nunique() == 3
    assert cat["received_at"].max() - cat["received_at"].min() < pd.Timedelta(minutes=15)
    tunnel = _case_rows(gt, tickets, "tunnel")
    assert len(tunnel) >= 9 and tunnel["caller_phone"].nunique() >= 7
    assert tunnel["received_at"].dt.date.nunique() == 2
    knocking = _case_rows(gt, tickets, "knocking")
    assert 40 <= len(knocking) <= 45 and len(gt["cases"]["knocking"]["persons"]) == 7
    assert knocking["caller_phone"].nunique() == 7 and knocking["caller_name"].nunique() == 7
    wages = _case_rows(gt, tickets, "unpaid_wages")
    assert len(wages) >= 5 and wages["received_at"].dt.date.nunique() == 1 and wages["caller_phone"].nunique() == len(wages)
    nursing = _case_rows(gt, tickets, "nursing_home")
    assert nursing["caller_name"].nunique() == 1 and 1 <= nursing["caller_phone"].nunique() <= 2
    assert nursing["received_at"].min().month == 2 and nursing["received_at"].max().month == 5
    common = gt["cases"]["common_name"]["persons"]
    assert [p["name"] for p in common] == ["王女士", "王女士"]
    assert common[0]["phones"] != common[1]["phones"] and common[0]["points"] != common[1]["points"]
    road = _case_rows(gt, tickets, "road_repair")
    assert set(road["received_at"].dt.month) <= {7, 8} and road["caller_phone"].nunique() >= 10
    nandayuan = _case_rows(gt, tickets, "nandayuan")
    assert set(gt["planted_points"][t] for t in nandayuan["ticket_id"]) == {"南大园300号"}
    assert nandayuan["received_at"].dt.month.nunique() >= 9 and nandayuan["category"].nunique() >= 3


# --- an independent brute-force checker ------------------------------------------------------------

DISTRICTS = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区", "通州区", "顺义区",
             "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区")  # fmt: skip
NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNLINKABLE = {"", "保密", "匿名", "匿名用户", "市民", "未知", "不详", "无", "先生", "女士"}


def _chinese_to_int(text: str) -> int:
    if "十" not in text:
        return int("".join(str(NUMERALS[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (NUMERALS[tens] if tens else 1) * 10 + (NUMERALS[ones] if ones else 0)


def point_of(address: str, prefixes=("新村街道", "新村")) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", address)).upper()
    stripped = True
    while stripped:
        stripped = False
        for p in ("北京市", *DISTRICTS, *sorted(prefixes, key=len, reverse=True)):
            if s.startswith(p) and len(s) > len(p):
                s, stripped = s[len(p) :], True
    s = re.sub(r"([零一二两三四五六七八九十]+)(?=号楼|栋|幢|号院|号|单元|层|室)", lambda m: str(_chinese_to_int(m.group(1))), s)
    s = re.sub(r"(\d+)[栋幢]", r"\1号楼", s)
    if m := re.search(r"\d+号楼", s):
        return s[: m.end()]
    if m := re.search(r"\d+号院?", s):
        return s[: m.end()]
    if m := re.search(r"\d+(?:单元|层|室)", s):
        return s[: m.start()]
    return s


def test_independent_point_normaliser_examples():
    assert point_of("北京市丰台区新村街道恰海小区３号楼2单元301") == "恰海小区3号楼"
    assert point_of("恰海小区三号楼") == "恰海小区3号楼"
    assert point_of("恰海小区3栋402室") == "恰海小区3号楼"
    assert point_of("南大园300号院5号楼2单元") == "南大园300号院5号楼"
    assert point_of("南大园300号") == "南大园300号"


def _usable(phone) -> bool:
    return isinstance(phone, str) and phone.isdigit() and len(phone) >= 7 and len(set(phone)) > 1


class _Persons:
    """Phones linked when used under the same name at the same point, transitively."""

    def __init__(self, rows: list[dict]) -> None:
        self.parent: dict[str, str] = {}
        by_name_point: dict[tuple[str, str], list[str]] = defaultdict(list)
        for r in rows:
            if _usable(r["phone"]):
                self.parent.setdefault(r["phone"], r["phone"])
                name = re.sub(r"\s+", "", unicodedata.normalize("NFKC", r["name"] or ""))
                if name not in UNLINKABLE:
                    by_name_point[name, r["point"]].append(r["phone"])
        for phones in by_name_point.values():
            for other in phones[1:]:
                self._union(phones[0], other)

    def _find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def _union(self, a: str, b: str) -> None:
        self.parent[self._find(a)] = self._find(b)

    def of(self, phone) -> str | None:
        return self._find(phone) if _usable(phone) else None

    def phones(self, person: str) -> frozenset[str]:
        return frozenset(p for p in self.parent if self._find(p) == person)


@pytest.fixture(scope="module")
def rule_rows(gt, tickets) -> list[dict]:
    """Tickets after the 咨询 filter, with their point (ground truth for planted ones)."""
    rows = []
    for r in tickets.itertuples(index=False):
        if r.ticket_type in gt["excluded_before_rules"]["工单类型"]:
            continue
        point = gt["planted_points"].get(r.ticket_id) or point_of(r.address, gt["point_prefixes"])
        rows.append({"id": r.ticket_id, "day": r.received_at.date(), "point": point, "category": r.category,
                     "name": r.caller_name, "phone": r.caller_phone})  # fmt: skip
    persons = _Persons(rows)
    for row in rows:
        row["person"] = persons.of(row["phone"])
    return rows


def test_planted_addresses_normalise_to_their_ground_truth_point(gt, tickets):
    planted = tickets[tickets["ticket_id"].isin(gt["planted_points"])]
    for tid, address in zip(planted["ticket_id"], planted["address"]):
        assert point_of(address, gt["point_prefixes"]) == gt["planted_points"][tid], address


def brute_force_warnings(rows: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str], dict[date, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[r["point"], r["category"]][r["day"]].append(r)
    out = []
    for (point, category), by_day in groups.items():
        for day, day_rows in by_day.items():
            if len(day_rows) >= 3:
                out.append({"rule": "point_day", "point": point, "category": category, "start": day.isoformat(),
                            "end": day.isoformat(), "ticket_ids": sorted(r["id"] for r in day_rows)})  # fmt: skip
        # two_day: every window (d-1, d); firing windows sharing a ticket chain together.
        firing: list[set[str]] = []
        for d in sorted(set(by_day) | {x + timedelta(days=1) for x in by_day}):
            window = by_day.get(d - timedelta(days=1), []) + by_day.get(d, [])
            persons = {r["person"] for r in window if r["person"] is not None}
            if len(window) >= 5 and len(persons) >= 2:
                firing.append({r["id"] for r in window})
        merged: list[set[str]] = []
        for ids in firing:
            for m in [m for m in merged if m & ids]:
                merged.remove(m)
                ids = ids | m
            merged.append(ids)
        day_of = {r["id"]: d for d, rs in by_day.items() for r in rs}
        for ids in merged:
            days = sorted(day_of[i] for i in ids)
            out.append({"rule": "two_day", "point": point, "category": category, "start": days[0].isoformat(),
                        "end": days[-1].isoformat(), "ticket_ids": sorted(ids)})  # fmt: skip
    return out


def _key(w: dict) -> tuple:
    return (w["rule"], w["point"], w["category"], w["start"], w["end"], tuple(w["ticket_ids"]))


def test_exactly_the_expected_warnings_fire(gt, rule_rows):
    found = sorted(map(_key, brute_force_warnings(rule_rows)))
    expected = sorted(map(_key, gt["expected_warnings"]))
    assert found == expected
    rules = [w["rule"] for w in gt["expected_warnings"]]
    assert rules.count("point_day") == 5 and rules.count("two_day") == 2


def test_claimant_decoy_window_is_one_person(gt, rule_rows):
    decoy = set(gt["cases"]["claimant"]["decoy_window"]["ticket_ids"])
    persons = {r["person"] for r in rule_rows if r["id"] in decoy}
    assert len(persons) == 1 and None not in persons


def _hits(days: list[date], width: int, need: int) -> bool:
    days = sorted(days)
    return any(sum(1 for d in days[i:] if (d - start).days < width) >= need for i, start in enumerate(days))


def brute_force_ledger(rows: list[dict]) -> set[tuple]:
    found: set[tuple] = set()
    by_person, by_point, by_issue = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in rows:
        if r["person"] is not None:
            by_person[r["person"]].append(r)
        by_point[r["point"]].append(r)
        by_issue[r["point"], r["category"]].append(r)
    for person, rs in by_person.items():
        if _hits([r["day"] for r in rs], 30, 5):
            found.add(("caller", frozenset(r["phone"] for r in rs)))
    for point, rs in by_point.items():
        if _hits([r["day"] for r in rs], 30, 10):
            found.add(("point", point))
    for key, rs in by_issue.items():
        rs = sorted(rs, key=lambda r: r["day"])
        for i, first in enumerate(rs):
            window = [r for r in rs[i:] if (r["day"] - first["day"]).days < 90]
            if len(window) >= 8 and len({r["person"] for r in window if r["person"]}) >= 3:
                found.add(("issue", key))
                break
    return found


def test_ledger_entries_are_exactly_the_planted_ones(gt, rule_rows):
    expected = set()
    for e in gt["expected_ledger"]:
        if e["kind"] == "caller":
            expected.add(("caller", frozenset(e["phones"])))
        elif e["kind"] == "point":
            expected.add(("point", e["point"]))
        else:
            expected.add(("issue", (e["point"], e["category"])))
    assert brute_force_ledger(rule_rows) == expected
    kinds = sorted((e["case"], e["kind"]) for e in gt["expected_ledger"])
    assert kinds == [("claimant", "caller"), ("common_name", "caller"), ("common_name", "caller"), ("knocking", "issue"),
                     ("nandayuan", "point"), ("nursing_home", "caller"), ("road_repair", "point"), ("tunnel", "issue")]  # fmt: skip


# --- scores, rankings, config, readme ------------------------------------------------------------------


def _composite(frame: pd.DataFrame) -> float:
    valid = frame[frame["valid_callback"] == "是"]
    v = len(valid)
    contacted = (valid["contacted"] == "是").sum() / v
    resolved = (valid["resolved"] == "是").sum() / v
    satisfied = ((valid["satisfied"] == "满意").sum() + 0.9 * (valid["satisfied"] == "基本满意").sum()) / v
    return 100 * (0.10 * contacted + 0.50 * resolved + 0.40 * satisfied)


def test_august_has_the_best_composite_score(tickets, gt):
    month = tickets["received_at"].dt.month
    scores = {m: _composite(tickets[month == m]) for m in range(1, 11)}
    assert max(scores, key=scores.get) == 8
    assert scores[8] > scores[9] > scores[1] and scores[8] > scores[10] > scores[1]
    assert all(scores[m] < scores[m + 1] for m in range(1, 8))  # improving January → August
    assert round(scores[8], 2) == gt["monthly"]["2024-08"]["score"]
    city = tickets["dispatch_class"] == "市派"
    city_scores = {m: _composite(tickets[city & (month == m)]) for m in range(1, 11)}
    assert max(city_scores, key=city_scores.get) == 8
    for m in range(1, 11):
        valid = tickets[(month == m) & (tickets["valid_callback"] == "是")]
        bad = ((valid["resolved"] == "否") | (valid["satisfied"] == "不满意")).mean()
        assert 0.005 < bad < 0.12  # a few percent 单否/双否


def test_rankings(sample_dir, tickets):
    raw = (sample_dir / "rankings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0]) == ["月份", "接诉量排名", "综合成绩排名", "市直派成绩"]
    assert [r["月份"] for r in rows] == [f"2024-{m:02d}" for m in range(1, 11)]
    august = rows[7]
    assert (august["接诉量排名"], august["综合成绩排名"]) == ("13", "14")
    scores = [float(r["市直派成绩"]) for r in rows]
    assert max(scores) == scores[7] and all(0 <= s <= 100 for s in scores)
    for r in rows[8:]:
        assert abs(int(r["接诉量排名"]) - 13) <= 2 and abs(int(r["综合成绩排名"]) - 14) <= 2


def test_config_is_valid_and_covers_every_community(sample_dir, tickets):
    s = load_settings(sample_dir / "gaopin.toml", environ={})
    assert s.report.street == "新村街道" and s.resolve_path(s.report.rankings) == sample_dir / "rankings.csv"
    assert s.point.prefixes == ["新村街道", "新村"]
    assert s.filters.exclude == {"工单类型": ["咨询"]}
    assert s.owners.center_head
    assert set(s.owners.communities) == set(tickets["community"])
    assert len(set(s.owners.communities.values())) == 9


def test_readme_explains_regeneration_and_cases(sample_dir, gt):
    text = (sample_dir / "README.md").read_text(encoding="utf-8")
    assert "gaopin sample --out sample_data" in text
    for name in CASES:
        assert f"`{name}`" in text



def test_a_seeded_samples_readme_regenerates_that_seed():
    """The 重新生成 command of a --seed 7 sample gave the default seed's data."""
    from gaopin.sample.readme import readme_text
    from gaopin.sample.truth import ground_truth

    sample = build_street(7)
    text = readme_text(sample, ground_truth(sample))
    commands = re.findall(r"gaopin sample --out sample_data[^`\n]*", text)
    assert len(commands) >= 2 and all(c.endswith(" --seed 7") for c in commands), commands


# --- district mode ---------------------------------------------------------------------------------


def test_district_csv_is_deterministic_and_loads(tmp_path):
    a = write_district_sample(tmp_path / "a", rows=3000, fmt="csv", seed=7)
    b = write_district_sample(tmp_path / "b", rows=3000, fmt="csv", seed=7)
    c = write_district_sample(tmp_path / "c", rows=3000, fmt="csv", seed=8)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    frame = load([a], Settings()).frame
    assert len(frame) == 3000 and frame["ticket_id"].is_unique
    assert frame["street"].str.removeprefix("丰台区").nunique() >= 15
    assert frame["content"].str.len().between(37, 149).all()
    assert frame["caller_phone"].value_counts().iloc[0] > 5  # repeat callers exist
    per_point_day = frame.groupby(["address", "category", frame["received_at"].dt.date]).size()
    assert (per_point_day >= 3).any()  # bursts


def test_district_xlsx_equals_csv(tmp_path):
    x = write_district_sample(tmp_path, rows=1500, fmt="xlsx", seed=5)
    c = write_district_sample(tmp_path, rows=1500, fmt="csv", seed=5)
    fx, fc = load([x], Settings()).frame, load([c], Settings()).frame
    columns = [col for col in fx.columns if not col.startswith("_")]
    pd.testing.assert_frame_equal(fx[columns], fc[columns])
    assert write_district_sample(tmp_path / "again", rows=1500, fmt="xlsx", seed=5).read_bytes() == x.read_bytes()


def test_cli_district_and_usage_error(tmp_path):
    from typer.testing import CliRunner

    from gaopin.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["sample", "--out", str(tmp_path), "--district", "--rows", "200", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tickets.csv").is_file()
    result = runner.invoke(app, ["sample", "--out", str(tmp_path), "--rows", "200"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["sample", "--out", str(tmp_path), "--district", "--rows", "2000000", "--format", "xlsx"])
    assert result.exit_code == 2
