"""Invariants of the warning rules, and agreement with the plain reference implementation."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from tests.builders import tickets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.rule_reference import reference_details, reference_warnings

from gaopin.config import Settings
from gaopin.rules.points import point_column
from gaopin.rules.prepare import prepare
from gaopin.rules.warn import warn
from gaopin.rules.warnings import find_warnings

POINTS = ["恰海小区3号楼", "优筑小区1号楼", "南大园300号"]
CATS = ["城市管理->市容环境->占道经营", "城市管理->噪声扰民->生活噪声"]
PHONES = ["13800000001", "13800000002", "13800000003", "13900000004", None]
NAMES = ["赵建国", "王女士", "匿名"]
START = date(2024, 8, 1)

ticket = st.fixed_dictionaries(
    {
        "address": st.sampled_from(POINTS + [None]),
        "category": st.sampled_from(CATS),
        "day": st.integers(0, 5),
        "minute": st.integers(0, 1439),
        "caller_phone": st.sampled_from(PHONES),
        "caller_name": st.sampled_from(NAMES),
    }
)
ticket_lists = st.lists(ticket, max_size=40)


def rows_of(items):
    rows = []
    for i, it in enumerate(items, start=1):
        day = START + timedelta(days=it["day"])
        h, m = divmod(it["minute"], 60)
        rows.append(
            {
                "ticket_id": f"T{i:04d}",
                "received_at": f"{day.isoformat()} {h:02d}:{m:02d}:00",
                "address": it["address"],
                "category": it["category"],
                "caller_phone": it["caller_phone"],
                "caller_name": it["caller_name"],
                "community": "恰海社区",
            }
        )
    return rows


def as_set(warnings):
    return {(w.rule, w.point, w.category, w.start, w.end, frozenset(w.ticket_ids)) for w in warnings}


def covered(warnings, rule):
    return {tid for w in warnings if w.rule == rule for tid in w.ticket_ids}


def with_rules(pd_min=3, td_min=5, td_persons=2):
    return Settings().with_values(
        {"rules.point_day.min_tickets": pd_min, "rules.two_day.min_tickets": td_min, "rules.two_day.min_persons": td_persons}
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ticket_lists, st.integers(1, 4), st.integers(1, 6), st.integers(1, 3))
def test_fast_rules_equal_the_reference(items, pd_min, td_min, td_persons):
    cfg = with_rules(pd_min, td_min, td_persons)
    prepared = prepare(tickets(rows_of(items)), cfg)
    fast = as_set(find_warnings(prepared.frame, cfg.rules))
    frame = prepared.frame
    plain = [
        {
            "ticket_id": r.ticket_id,
            "point": None if r.point != r.point or r.point is None else r.point,
            "problem": r.problem,
            "day": r.received_at.date(),
            "person": None if not isinstance(r.person, str) else r.person,
        }
        for r in frame.itertuples()
    ]
    assert fast == reference_warnings(plain, pd_min, td_min, td_persons)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ticket_lists, st.integers(1, 4), st.integers(1, 6), st.integers(1, 3), st.sampled_from(["pd", "td", "tp"]))
def test_raising_a_threshold_never_covers_more_tickets(items, pd_min, td_min, td_persons, which):
    result = tickets(rows_of(items))
    low = warn(result, with_rules(pd_min, td_min, td_persons)).warnings
    raised = {"pd": (pd_min + 1, td_min, td_persons), "td": (pd_min, td_min + 1, td_persons), "tp": (pd_min, td_min, td_persons + 1)}[which]
    high = warn(result, with_rules(*raised)).warnings
    for rule in ("point_day", "two_day"):
        assert covered(high, rule) <= covered(low, rule)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ticket_lists, st.randoms(use_true_random=False))
def test_reordering_rows_changes_nothing(items, rnd):
    rows = rows_of(items)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a = warn(tickets(rows), Settings()).to_dict()
    b = warn(tickets(shuffled), Settings()).to_dict()
    assert a == b


TITLES = ["占道经营", "请回电13812345678", "请回电13812345678 ", "请回电１３８１２３４５６７８", "噪声扰民", "门口堆物", None]
COMMUNITIES = ["恰海社区", "优筑社区", "南大园社区", None]
STREETS = ["新村街道", "丰台区新村街道", "卢沟桥街道", "", None]
STREET_KEYS = {"丰台区新村街道": "新村街道", "新村街道": "新村街道", "卢沟桥街道": "卢沟桥街道"}  # what the rule text says of these


def reference_several(streets):
    """No street holds more than half of the tickets naming one (the rule of [area] scope = auto)."""
    from collections import Counter

    counts = Counter(STREET_KEYS[s] for s in streets if s)
    return len(counts) > 1 and max(counts.values()) * 2 <= sum(counts.values())

detailed_ticket = st.fixed_dictionaries(
    {
        "address": st.sampled_from(POINTS + ["电话13900000004号"]),
        "category": st.sampled_from(CATS),
        "day": st.integers(0, 3),
        "minute": st.integers(0, 3) | st.integers(0, 1439),  # equal times are ordered by id
        "caller_phone": st.sampled_from(PHONES),
        "caller_name": st.sampled_from(NAMES),
        "community": st.sampled_from(COMMUNITIES),
        "title": st.sampled_from(TITLES),
        "street": st.sampled_from(STREETS),
    }
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(detailed_ticket, max_size=40), st.booleans(), st.integers(1, 3), st.integers(1, 5), st.randoms(use_true_random=False))
def test_warning_details_equal_the_reference(items, mask, pd_min, td_min, rnd):
    rows = rows_of(items)
    for row, it in zip(rows, items):
        row["community"], row["title"], row["street"] = it["community"], it["title"], it["street"]
    rnd.shuffle(rows)  # rows out of id order, so that equal times must be put in id order
    cfg = with_rules(pd_min, td_min, 1)
    prepared = prepare(tickets(rows), cfg)
    several = reference_several([r["street"] for r in rows])
    assert prepared.several_streets is several
    # With several streets a point is its street's (the rule text: 新村街道·电力小区1号楼); a
    # ticket without a street keeps the bare point.
    bare = point_column(prepared.frame["address"], prepared.frame["street"])
    expected = [f"{STREET_KEYS[s]}·{p}" if several and isinstance(s, str) and s and isinstance(p, str) else p for s, p in zip(prepared.frame["street"].tolist(), bare.tolist())]
    assert [p if isinstance(p, str) else None for p in prepared.frame["point"].tolist()] == [p if isinstance(p, str) else None for p in expected]
    by_id = {
        r.ticket_id: {
            "ticket_id": r.ticket_id,
            "received_at": r.received_at,
            "person": r.person if isinstance(r.person, str) else None,
            "community": r.community if isinstance(r.community, str) else None,
            "title": r.title if isinstance(r.title, str) else None,
            "point": r.point,
            "problem": r.problem,
            "day": r.received_at.date(),
            "street_key": STREET_KEYS.get(r.street) if isinstance(r.street, str) else None,
        }
        for r in prepared.frame.itertuples()
    }
    found = find_warnings(prepared.frame, cfg.rules, mask_phones=mask, streets=prepared.street_names if prepared.several_streets else None)
    for w in found:
        got = {k: v for k, v in vars(w).items() if k not in ("rule", "owner")}
        assert got == reference_details([by_id[t] for t in w.ticket_ids], mask, several)
    keys = [(w.start, w.end, w.rule, w.point, w.category) for w in found]
    assert keys == sorted(keys)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(detailed_ticket, max_size=40), st.booleans(), st.integers(1, 3), st.integers(1, 5))
def test_rules_on_the_prepared_codes_equal_the_rules_on_the_text(items, mask, pd_min, td_min):
    rows = rows_of(items)
    for row, it in zip(rows, items):
        row["community"], row["title"] = it["community"], it["title"]
    cfg = with_rules(pd_min, td_min, 1)
    prepared = prepare(tickets(rows), cfg)
    assert set(prepared.codes) - {"caller_phone"} == {"point", "problem", "person"}  # phones: when the export has them
    coded = find_warnings(prepared.frame, cfg.rules, mask_phones=mask, codes=prepared.codes)
    plain = find_warnings(prepared.frame, cfg.rules, mask_phones=mask)
    assert [vars(w) for w in coded] == [vars(w) for w in plain]
    # As warn calls them: on the tickets, which have no point or person column, with their codes' values.
    assert not {"point", "person"} & set(prepared.tickets.columns)
    keyless = find_warnings(prepared.tickets, cfg.rules, mask_phones=mask, codes=prepared.codes, values=prepared.values)
    assert [vars(w) for w in keyless] == [vars(w) for w in plain]
    # As `warn` prepares them: the persons linked in its thread while the rules' rows are sorted.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pooled = prepare(tickets(rows), cfg, pool=pool)
        linked = find_warnings(pooled.tickets, cfg.rules, mask_phones=mask, codes=pooled.codes, values=pooled.values, pool=pool)
    assert [vars(w) for w in linked] == [vars(w) for w in plain]
    assert pooled.notes == prepared.notes and set(pooled.codes) == set(prepared.codes)
    for name in prepared.codes:
        assert pooled.codes[name].tolist() == prepared.codes[name].tolist()
    for name in prepared.values:
        assert pooled.values[name].equals(prepared.values[name])


escalation_row = st.fixed_dictionaries(
    {
        "received_at": st.sampled_from(["2024-08-03 09:00:00", "2024-08-03 09:00:01", "2024-08-02 23:59:59", None]),
        "resolved": st.sampled_from(["是", "否", "部分解决", None]),
        "satisfied": st.sampled_from(["满意", "不满意", "基本满意", None]),
        "valid_callback": st.sampled_from(["是", "否", None]),
        "community": st.sampled_from(COMMUNITIES),
        "unit": st.sampled_from(["城管执法队", None]),
        "street": st.sampled_from(STREETS),
    }
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(escalation_row, max_size=30), st.randoms(use_true_random=False))
def test_escalations_equal_the_reference(items, rnd):
    rows = [dict(it, ticket_id=f"T{i:04d}") for i, it in enumerate(items, start=1)]
    rnd.shuffle(rows)
    expected = []
    several = reference_several([r["street"] for r in rows])
    for r in rows:
        # 是否有效回访 = 是; where it is blank (an export without the column), any outcome.
        outcome = r["resolved"] is not None or r["satisfied"] is not None
        if not (r["valid_callback"] == "是" or (r["valid_callback"] is None and outcome)):
            continue
        no = (r["resolved"] == "否") + (r["satisfied"] == "不满意")
        if no:
            expected.append(
                {
                    "ticket_id": r["ticket_id"],
                    "level": "双否" if no == 2 else "单否",
                    "community": (f"{STREET_KEYS[r['street']]}·" if several and r["street"] and r["community"] else "") + (r["community"] or ""),
                    "unit": r["unit"] or "",
                    "received_at": r["received_at"].replace(" ", "T") if r["received_at"] else "",
                    "owner": "unassigned",  # no [owners.communities] in these settings
                }
            )
    # In time order (missing times last), equal times in id order.
    expected.sort(key=lambda e: (e["received_at"] or "9", e["ticket_id"]))
    report = warn(tickets(rows), Settings())
    assert [e.to_dict() for e in report.escalations] == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticket_lists)
def test_prepare_leaves_the_loaded_frame_as_it_was(items):
    import pandas.testing as pdt

    result = tickets(rows_of(items))
    before = result.frame.copy()
    prepared = prepare(result, Settings())
    pdt.assert_frame_equal(result.frame, before)
    assert {"point", "person"} <= set(prepared.frame.columns) - set(result.frame.columns)
