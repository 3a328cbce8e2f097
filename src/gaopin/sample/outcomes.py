"""Callback outcomes (是否有效回访/联系/解决/满意) with a planned monthly trend.

Outcomes are dealt out by quota per month and dispatch class rather than drawn one by
one, so the rates land on the planned values exactly and August is the best month by
construction: the street improved from January to August and slipped a little after.
Planted tickets keep the outcomes their case gave them; the background makes up the rest.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from gaopin.sample import street_data as sd
from gaopin.sample.model import BASIC, PARTIAL, RESOLVED, SATISFIED, UNRATED, UNRESOLVED, UNSATISFIED, Ticket

VALID_SHARE = 0.85
# Shares among valid callbacks. 未解决 = 1 − 解决 − 部分解决; 满意 takes what the others leave.
# (contacted, resolved, partial, basic, unsatisfied, unrated)
TARGETS: dict[int, tuple[float, float, float, float, float, float]] = {
    1: (0.970, 0.930, 0.010, 0.060, 0.050, 0.020),
    2: (0.975, 0.935, 0.010, 0.058, 0.047, 0.017),
    3: (0.978, 0.940, 0.010, 0.055, 0.044, 0.015),
    4: (0.982, 0.945, 0.010, 0.052, 0.041, 0.013),
    5: (0.985, 0.950, 0.010, 0.050, 0.037, 0.010),
    6: (0.988, 0.955, 0.010, 0.048, 0.032, 0.008),
    7: (0.990, 0.961, 0.008, 0.045, 0.027, 0.007),
    8: (0.996, 0.972, 0.006, 0.038, 0.017, 0.005),
    9: (0.993, 0.966, 0.007, 0.040, 0.022, 0.006),
    10: (0.992, 0.964, 0.007, 0.042, 0.024, 0.006),
}
BEST_MONTH = 8
# Real exports switch between 解决/未解决 and 是/否 when the system is upgraded.
WORDED_MONTHS = {1, 2, 3, 7, 8}
WEIGHTS = (0.10, 0.50, 0.40)
BASIC_FACTOR = 0.9


def resolved_text(value: str | None, month: int) -> str:
    if value is None:
        return ""
    if month in WORDED_MONTHS:
        return {RESOLVED: "解决", UNRESOLVED: "未解决", PARTIAL: "部分解决"}[value]
    return value


def assign(tickets: list[Ticket], rng: random.Random) -> None:
    """Outcomes for every ticket whose case did not set one."""
    groups: dict[tuple[int, str], list[Ticket]] = defaultdict(list)
    for t in tickets:
        groups[t.month, t.dispatch].append(t)
    for key in sorted(groups):
        _assign_group(groups[key], TARGETS[key[0]], rng)


def _assign_group(group: list[Ticket], target, rng: random.Random) -> None:
    contact_rate, resolved_rate, partial_rate, basic_rate, unsat_rate, unrated_rate = target
    planted = [t for t in group if t.valid is not None]
    free = [t for t in group if t.valid is None]
    rng.shuffle(free)
    planted_valid = [t for t in planted if t.valid]
    need = min(len(free), max(0, round(VALID_SHARE * len(group)) - len(planted_valid)))
    valid, invalid = free[:need], free[need:]
    for t in invalid:
        t.valid = False
    total = need + len(planted_valid)

    def quota(rates: dict[str, float], absorb: str, planted_values: list[str]) -> list[str]:
        """`need` values so that, with the planted ones, each value hits rate × total;
        the absorbing value takes the rest."""
        counts = {k: round(r * total) for k, r in rates.items()}
        have = Counter(planted_values)
        left = {k: max(0, counts[k] - have[k]) for k in counts}
        left[absorb] = need - sum(left.values())
        # Planted tickets may leave too little room: take from the largest other values.
        while left[absorb] < 0:
            k = max(rates, key=lambda k: left[k])
            left[k] -= 1
            left[absorb] += 1
        return [k for k in left for _ in range(left[k])]

    resolved = quota(
        {PARTIAL: partial_rate, UNRESOLVED: 1 - resolved_rate - partial_rate}, RESOLVED, [t.resolved for t in planted_valid]
    )
    satisfied = quota(
        {BASIC: basic_rate, UNSATISFIED: unsat_rate, UNRATED: unrated_rate}, SATISFIED, [t.satisfied for t in planted_valid]
    )
    # Unresolved tickets tend to be the unsatisfied ones (双否), but not always.
    order_r = {UNRESOLVED: 0, PARTIAL: 1, RESOLVED: 2}
    order_s = {UNSATISFIED: 0, UNRATED: 1, BASIC: 2, SATISFIED: 3}
    resolved.sort(key=order_r.__getitem__)
    satisfied.sort(key=order_s.__getitem__)
    for i in range(len(satisfied)):
        if rng.random() < 0.35:
            j = rng.randrange(len(satisfied))
            satisfied[i], satisfied[j] = satisfied[j], satisfied[i]
    contacted_needed = round(contact_rate * total) - sum(1 for t in planted_valid if t.contacted)
    contacted = [True] * max(0, min(need, contacted_needed)) + [False] * (need - max(0, min(need, contacted_needed)))
    rng.shuffle(contacted)
    for t, r, s, c in zip(valid, resolved, satisfied, contacted):
        t.valid, t.resolved, t.satisfied, t.contacted = True, r, s, c


# --- scores ---------------------------------------------------------------------------


@dataclass
class MonthStats:
    tickets: int = 0
    valid: int = 0
    contacted: int = 0
    resolved: int = 0
    partial: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    unrated: int = 0
    single_no: int = 0  # 单否: valid, and either unresolved or unsatisfied
    double_no: int = 0  # 双否: valid, unresolved and unsatisfied

    def add(self, t: Ticket) -> None:
        self.tickets += 1
        if not t.valid:
            return
        self.valid += 1
        self.contacted += bool(t.contacted)
        self.resolved += t.resolved == RESOLVED
        self.partial += t.resolved == PARTIAL
        self.satisfied += t.satisfied == SATISFIED
        self.basic += t.satisfied == BASIC
        self.unsatisfied += t.satisfied == UNSATISFIED
        self.unrated += t.satisfied == UNRATED
        no_r, no_s = t.resolved == UNRESOLVED, t.satisfied == UNSATISFIED
        self.double_no += no_r and no_s
        self.single_no += no_r != no_s

    @property
    def score(self) -> float:
        if not self.valid:
            return 0.0
        v = self.valid
        rates = (self.contacted / v, self.resolved / v, (self.satisfied + BASIC_FACTOR * self.basic) / v)
        return 100 * sum(w * r for w, r in zip(WEIGHTS, rates))

    def to_dict(self) -> dict:
        return {
            "tickets": self.tickets,
            "valid": self.valid,
            "contacted": self.contacted,
            "resolved": self.resolved,
            "partially_resolved": self.partial,
            "satisfied": self.satisfied,
            "basically_satisfied": self.basic,
            "unsatisfied": self.unsatisfied,
            "unrated": self.unrated,
            "single_no": self.single_no,
            "double_no": self.double_no,
            "score": round(self.score, 2),
        }


def monthly(tickets: list[Ticket], dispatch: str | None = None) -> dict[int, MonthStats]:
    stats = {m: MonthStats() for m in TARGETS}
    for t in tickets:
        if dispatch is None or t.dispatch == dispatch:
            stats[t.month].add(t)
    return stats


def check_best_month(tickets: list[Ticket]) -> None:
    """August must be the best month overall and for city-dispatched tickets (a plan check)."""
    for dispatch in (None, sd.CITY_DISPATCH):
        scores = {m: s.score for m, s in monthly(tickets, dispatch).items()}
        best = max(scores, key=scores.__getitem__)
        if best != BEST_MONTH or sorted(scores.values())[-2] >= scores[BEST_MONTH]:
            raise RuntimeError(f"August is not the best month ({dispatch or 'all'}): {scores}")
