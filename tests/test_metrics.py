import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from tests.builders import at, tickets

from gaopin.config import Settings
from gaopin.metrics import BLANK_GROUP, Weights, breakdown, missing_columns, overall, summarize, with_previous

W = Weights.of(Settings().score)

# (community, valid, contacted, resolved, satisfied)
TABLE = [
    ("A", "是", "是", "是", "满意"),
    ("A", "是", "是", "是", "满意"),
    ("A", "是", "是", "否", "不满意"),  # 双否
    ("A", "是", "否", "部分解决", "基本满意"),
    ("A", "是", "是", "是", "未评价"),
    ("B", "是", "是", "是", "满意"),
    ("B", "是", "是", "否", "满意"),  # 单否
    ("B", "是", "是", "是", "基本满意"),
    ("B", "否", "否", "否", "不满意"),  # no valid callback: not counted
    ("B", None, None, None, None),
]


def rows():
    return [
        {"received_at": at("2024-08-03"), "closed_at": at(f"2024-08-{3 + i:02d}"), "community": c, "valid_callback": v, "contacted": ct, "resolved": r, "satisfied": s}
        for i, (c, v, ct, r, s) in enumerate(TABLE)
    ]


def test_overall_by_hand():
    result = tickets(rows())
    m = overall(result.frame, result.fields, W)
    assert m["tickets"] == 10 and m["valid_callbacks"] == 8
    assert m["response_rate"] == pytest.approx(7 / 8)
    assert m["resolution_rate"] == pytest.approx(5 / 8)
    assert m["satisfaction_rate"] == pytest.approx((4 + 0.9 * 2) / 8)
    assert m["score"] == pytest.approx(100 * (0.1 * 7 / 8 + 0.5 * 5 / 8 + 0.4 * 5.8 / 8))
    assert (m["single_no"], m["double_no"]) == (1, 1)
    assert m["days_to_close_median"] == pytest.approx(4.5)
    assert m["days_to_close_p90"] == pytest.approx(8.1)


def test_groups_and_points_lost_add_up():
    result = tickets(rows())
    whole = overall(result.frame, result.fields, W)
    groups = {g["name"]: g for g in breakdown(result.frame, result.fields, W, result.frame["community"])}
    a = groups["A"]
    assert a["valid_callbacks"] == 5
    assert a["score"] == pytest.approx(100 * (0.1 * 4 / 5 + 0.5 * 3 / 5 + 0.4 * (2 + 0.9) / 5))
    assert a["points_lost"] == pytest.approx(5 / 8 * (100 - a["score"]))
    assert sum(g["points_lost"] for g in groups.values()) == pytest.approx(100 - whole["score"])


def test_a_group_without_valid_callbacks_has_no_rates_and_no_division_by_zero():
    r = rows() + [{"received_at": at("2024-08-04"), "community": "C", "valid_callback": "否", "contacted": "是", "resolved": "是", "satisfied": "满意"}]
    result = tickets(r)
    groups = {g["name"]: g for g in breakdown(result.frame, result.fields, W, result.frame["community"])}
    c = groups["C"]
    assert c["valid_callbacks"] == 0
    assert c["response_rate"] is None and c["score"] is None
    assert c["points_lost"] is None


def test_empty_period():
    result = tickets([])
    m = overall(result.frame, result.fields, W)
    assert m["tickets"] == 0 and m["score"] is None and m["days_to_close_median"] is None


def test_a_missing_column_gives_no_rate_and_no_score():
    r = [{k: v for k, v in row.items() if k != "contacted"} for row in rows()]
    result = tickets(r)
    m = overall(result.frame, result.fields, W)
    assert m["response_rate"] is None and m["score"] is None
    assert m["resolution_rate"] == pytest.approx(5 / 8)
    assert missing_columns(result.fields) == ["contacted"]


def test_without_a_valid_callback_column_every_ticket_with_an_outcome_counts():
    r = [{k: v for k, v in row.items() if k != "valid_callback"} for row in rows()]
    result = tickets(r)
    assert overall(result.frame, result.fields, W)["valid_callbacks"] == 9


def test_weights_are_configurable():
    cfg = Settings().with_values({"score.response_weight": 0.2, "score.resolution_weight": 0.4, "score.satisfaction_weight": 0.4, "score.basic_satisfied_factor": 1.0})
    result = tickets(rows())
    m = overall(result.frame, result.fields, Weights.of(cfg.score))
    assert m["score"] == pytest.approx(100 * (0.2 * 7 / 8 + 0.4 * 5 / 8 + 0.4 * 6 / 8))


def test_previous_and_change():
    cur = [{"name": "A", "tickets": 5, "score": 90.0, "response_rate": 1.0}, {"name": "B", "tickets": 1, "score": None}]
    prev = [{"name": "A", "tickets": 4, "score": 85.5, "response_rate": 0.5}]
    with_previous(cur, prev)
    assert cur[0]["change"]["score"] == pytest.approx(4.5) and cur[0]["change"]["tickets"] == 1
    assert cur[0]["previous"]["score"] == 85.5
    assert cur[1]["previous"] is None and cur[1]["change"] is None
    assert not math.isnan(cur[0]["change"]["response_rate"])


def test_a_rate_keeps_every_digit_and_shows_as_the_workbook_does():
    """501 of 1001 valid callbacks contacted is 50.0499…%: shown 50.0%. Rounded to 6 decimals
    first (as before), it was kept as 0.5005 and shown 50.1% everywhere (review D)."""
    from gaopin.numbers import percent, points

    rows = [{"received_at": at("2024-08-03"), "valid_callback": "是", "contacted": "是" if i < 501 else "否", "resolved": "是", "satisfied": "满意"} for i in range(1001)]
    result = tickets(rows)
    m = overall(result.frame, result.fields, W)
    assert m["response_rate"] == 501 / 1001 and percent(m["response_rate"]) == "50.0%"
    # A change of exactly 0.05 percentage points still shows as 0.1, however the subtraction rounds.
    cur, prev = [{"name": "A", "response_rate": 0.5005}], [{"name": "A", "response_rate": 0.5}]
    with_previous(cur, prev)
    assert points(cur[0]["change"]["response_rate"]) == "+0.1 个百分点"


# --- the optimised figures against a plain, obviously-correct reference --------------------

_ANSWERS = [None, "是", "否", "部分解决", "基本满意", "满意", "不满意", "未评价", "?"]


def _quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the two closest ranks (pandas' and numpy's default)."""
    if not values:
        return None
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _reference(rows: list[dict], fields: set[str], weights: Weights, total: dict | None = None) -> dict:
    """The figures of some tickets, one ticket at a time (see gaopin.metrics' docstring)."""
    has_valid = "valid_callback" in fields
    n = {k: 0 for k in ("tickets", "valid", "contacted", "resolved", "satisfied", "basic", "single_no", "double_no")}
    days = []
    for r in rows:
        outcome = any(r.get(k) is not None for k in ("resolved", "satisfied", "contacted"))
        valid = (r.get("valid_callback") == "是" or (r.get("valid_callback") is None and outcome)) if has_valid else outcome
        n["tickets"] += 1
        if valid:
            n["valid"] += 1
            n["contacted"] += r.get("contacted") == "是"
            n["resolved"] += r.get("resolved") == "是"
            n["satisfied"] += r.get("satisfied") == "满意"
            n["basic"] += r.get("satisfied") == "基本满意"
            no = (r.get("resolved") == "否") + (r.get("satisfied") == "不满意")
            n["single_no"] += no == 1
            n["double_no"] += no == 2
        if r.get("closed_at") and r.get("received_at"):
            d = (r["closed_at"].date() - r["received_at"].date()).days
            if d >= 0:
                days.append(float(d))
    rate = {}
    for name, source, num in (
        ("response_rate", "contacted", n["contacted"]),
        ("resolution_rate", "resolved", n["resolved"]),
        ("satisfaction_rate", "satisfied", n["satisfied"] + weights.basic_satisfied_factor * n["basic"]),
    ):
        rate[name] = num / n["valid"] if n["valid"] and source in fields else None
    score = None
    if None not in rate.values():
        score = 100 * (weights.response_weight * rate["response_rate"] + weights.resolution_weight * rate["resolution_rate"] + weights.satisfaction_weight * rate["satisfaction_rate"])
    if total is None:
        lost = None if score is None else 100 - score
    else:
        lost = n["valid"] / total["valid_callbacks"] * (100 - score) if total["valid_callbacks"] and total["score"] is not None and score is not None else None
    return {
        "tickets": n["tickets"], "valid_callbacks": n["valid"], **rate, "score": score,
        "single_no": n["single_no"], "double_no": n["double_no"],
        "days_to_close_median": _quantile(days, 0.5), "days_to_close_p90": _quantile(days, 0.9), "points_lost": lost,
    }  # fmt: skip


def _same(got: dict, want: dict) -> None:
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] is not None and math.isclose(got[key], value, rel_tol=1e-12, abs_tol=1e-12), (key, got[key], value)
        else:
            assert got[key] == value, (key, got[key], value)


_DAY0 = datetime(2024, 8, 1, 9, 0)
_ticket = st.fixed_dictionaries(
    {
        "community": st.sampled_from([None, "", "A", "B", "东和社区", BLANK_GROUP]),
        "valid_callback": st.sampled_from(_ANSWERS),
        "contacted": st.sampled_from(_ANSWERS),
        "resolved": st.sampled_from(_ANSWERS),
        "satisfied": st.sampled_from(_ANSWERS),
        "received_at": st.integers(0, 40 * 24).map(lambda h: _DAY0 + timedelta(hours=h)),
        "closed_at": st.one_of(st.none(), st.integers(-48, 30 * 24).map(lambda h: _DAY0 + timedelta(hours=20 * 24 + h))),
    }
)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(_ticket, max_size=40), st.sets(st.sampled_from(["valid_callback", "contacted", "resolved", "satisfied"])))
def test_figures_equal_a_ticket_by_ticket_reference(rows, dropped):
    """The vectorised figures (overall and a breakdown by community) equal the reference's on
    random tickets: blank and unknown answers, groups written blank, "" or as the blank label
    itself, closing before receiving, columns missing from the export."""
    rows = [{k: v for k, v in r.items() if k not in dropped} for r in rows]
    fields = {"received_at", "closed_at", "community", "valid_callback", "contacted", "resolved", "satisfied"} - dropped
    loaded = tickets([{**r, "received_at": r["received_at"].strftime("%Y-%m-%d %H:%M:%S"), "closed_at": r["closed_at"] and r["closed_at"].strftime("%Y-%m-%d %H:%M:%S")} for r in rows], fields=fields)
    whole = overall(loaded.frame, loaded.fields, W)
    want_whole = _reference(rows, loaded.fields, W)
    _same(whole, want_whole)
    got = breakdown(loaded.frame, loaded.fields, W, loaded.frame["community"])
    named: dict[str, list[dict]] = {}
    for r in rows:
        named.setdefault(r.get("community") or BLANK_GROUP, []).append(r)
    # Most tickets first; equal counts in name order.
    order = sorted(named, key=lambda name: (-len(named[name]), name))
    assert [g["name"] for g in got] == order
    for g in got:
        _same(g, {"name": g["name"], **_reference(named[g["name"]], loaded.fields, W, want_whole)})


@pytest.mark.parametrize("days", ["whole", "fractions", "huge"])
def test_each_groups_median_and_p90_are_pandas_own_floats(days):
    """The same floats as pandas' groupby median and quantile(0.9), not only the same values
    rounded: whole days (one int64 sort), fractions and huge values (lexsort)."""
    rng = np.random.default_rng(7)
    n = 5000
    codes = rng.integers(0, 37, n)
    values = rng.integers(0, 400, n).astype(float)
    if days == "fractions":
        values = values / 7
    elif days == "huge":
        values[0] = 2.0**70
    values[rng.random(n) < 0.2] = np.nan
    values[codes == 5] = np.nan  # a group with no days at all
    ind = pd.DataFrame({c: 1 for c in ("tickets", "valid", "contacted", "resolved", "satisfied", "basic", "single_no", "double_no")}, index=range(n))
    ind["close_days"] = values
    names = pd.Index([f"g{i:02d}" for i in range(40)], dtype=object)  # three names without tickets
    table = summarize(ind, {"contacted", "resolved", "satisfied"}, W, (codes, names))
    grouped = pd.Series(values).groupby(codes, sort=True)
    for column, want in (("days_to_close_median", grouped.median()), ("days_to_close_p90", grouped.quantile(0.9))):
        want.index = names[want.index.to_numpy()]
        pd.testing.assert_series_equal(table[column], want, check_names=False, check_exact=True)
