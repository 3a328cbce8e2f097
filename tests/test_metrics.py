import math

import pytest
from tests.builders import at, tickets

from gaopin.config import Settings
from gaopin.metrics import Weights, breakdown, missing_columns, overall, with_previous

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
