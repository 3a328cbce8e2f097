"""The ordinary tickets around the planted cases, built so that they never matter to the rules.

Guarantees, by construction rather than by checking afterwards:

* background tickets never use a planted point (so they cannot join a planted burst);
* one point+category gets at most one ticket in any 3-day span and one per calendar month,
  so no point_day or two_day warning, and at most 4 in any 90 days (issue ledger needs 8);
* one point gets at most 4 tickets per calendar month, so at most 8 in any 30 days
  (point ledger needs 10);
* a caller has at most 3 tickets, and two background callers with the same name never
  share a point with different numbers, so persons are exactly phone numbers and no
  background person reaches the caller ledger.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import date

from gaopin.sample import street_data as sd
from gaopin.sample.factory import MONTH_TOTALS, Factory, days_between, office_time, weighted
from gaopin.sample.model import SECRET, Phone, PointSpec, Ticket, building
from gaopin.schema import compact

MAX_PER_POINT_MONTH = 4
MIN_GAP_DAYS = 3  # same point+category: tickets at least 3 days apart
MAX_CALLER_TICKETS = 3
RETURNING_SHARE = 0.10
SPRING_FESTIVAL = (date(2024, 2, 9), date(2024, 2, 17))
UNLINKABLE = set(sd.ANONYMOUS_NAMES) | {"先生", "女士"}
RARE_NAME_AT = 137  # the n-th new background caller is named 王䶮


def point_pool(reserved: set[str]) -> dict[str, list[PointSpec]]:
    """Every background point per community, most popular first (a Zipf-like order)."""
    pool: dict[str, list[PointSpec]] = {}
    for c in sd.COMMUNITIES:
        specs: list[PointSpec] = []
        for estate, n in c.estates:
            specs += [building(c.name, estate, i) for i in range(1, n + 1)]
        for road, yards, n in c.courtyards:
            specs += [PointSpec(sd.COURTYARD, c.name, road, b, yard=y) for y in yards for b in range(1, n + 1)]
        for road, hi in c.roads:
            specs += [PointSpec(sd.ROAD, c.name, road, i) for i in range(1, hi + 1)]
        if c.houses:
            village, hi = c.houses
            specs += [PointSpec(sd.HOUSE, c.name, village, i) for i in range(1, hi + 1)]
        specs += [PointSpec(sd.PLACE, c.name, p) for p in c.places]
        # A reserved point, or one that merely starts like it (西营街6号 / 西营街6号院), is left out.
        pool[c.name] = [s for s in specs if not any(s.point.startswith(r) or r.startswith(s.point) for r in reserved)]
    return pool


class Background:
    def __init__(self, f: Factory, reserved: set[str]) -> None:
        self.f = f
        self.rng = f.rng("background")
        self.pool = point_pool(reserved)
        self.point_weights = {}
        for name, specs in self.pool.items():
            order = list(range(len(specs)))
            self.rng.shuffle(order)
            weights = [0.0] * len(specs)
            for rank, i in enumerate(order):
                weights[i] = 1.0 / (rank + 3) ** 0.8
            self.point_weights[name] = weights
        self.communities = [c.name for c in sd.COMMUNITIES]
        self.populations = [c.population for c in sd.COMMUNITIES]
        self.pc_days: dict[tuple[str, str], list[date]] = defaultdict(list)
        self.pc_month: Counter = Counter()
        self.point_month: Counter = Counter()
        self.name_point_phone: dict[tuple[str, str], str] = {}
        self.returning: list[tuple[str, Phone]] = []
        self.caller_count: Counter = Counter()
        self.new_callers = 0

    # --- schedule ---------------------------------------------------------------------------

    def build(self, planted: list[Ticket]) -> list[Ticket]:
        per_month = Counter(t.month for t in planted)
        tickets: list[Ticket] = []
        for month, total in MONTH_TOTALS.items():
            n = total - per_month[month]
            days = self._days(month)
            weights = [self._day_weight(d) for d in days]
            for day in sorted(self.rng.choices(days, weights=weights, k=n)):
                tickets.append(self._ticket(day))
        return tickets

    def _days(self, month: int) -> list[date]:
        return days_between(date(2024, month, 1), date(2024, month, calendar.monthrange(2024, month)[1]))

    def _day_weight(self, day: date) -> float:
        weight = 1.0 if day.weekday() < 5 else 0.8
        if SPRING_FESTIVAL[0] <= day <= SPRING_FESTIVAL[1]:
            weight *= 0.55
        return weight

    # --- one ticket -------------------------------------------------------------------------

    def _ticket(self, day: date) -> Ticket:
        rng = self.rng
        for _ in range(500):
            community = rng.choices(self.communities, weights=self.populations)[0]
            specs = self.pool[community]
            spec = rng.choices(specs, weights=self.point_weights[community])[0]
            category = self._category(spec.kind, day.month)
            if category is not None and self._fits(spec.point, category.path, day):
                break
        else:  # pragma: no cover - the pool is far larger than the caps need
            raise RuntimeError(f"no background point fits on {day}")
        name, phone = self._caller(spec.point)
        self._record(spec.point, category.path, day)
        ticket_type = weighted(rng, sd.TICKET_TYPES)
        return self.f.background_ticket(rng, office_time(rng, day), name, phone, spec, category, ticket_type)

    def _category(self, kind: str, month: int) -> sd.Category | None:
        options = [c for c in sd.CATEGORIES if kind in c.kinds and c.weight_in(month) > 0]
        if not options:
            return None
        return self.rng.choices(options, weights=[c.weight_in(month) for c in options])[0]

    def _fits(self, point: str, category: str, day: date) -> bool:
        if self.point_month[point, day.month] >= MAX_PER_POINT_MONTH:
            return False
        if self.pc_month[point, category, day.month] >= 1:
            return False
        return all(abs((d - day).days) >= MIN_GAP_DAYS for d in self.pc_days[point, category])

    def _record(self, point: str, category: str, day: date) -> None:
        self.point_month[point, day.month] += 1
        self.pc_month[point, category, day.month] += 1
        self.pc_days[point, category].append(day)

    # --- callers ----------------------------------------------------------------------------

    def _caller(self, point: str) -> tuple[str, Phone]:
        rng = self.rng
        if self.returning and rng.random() < RETURNING_SHARE:
            k = rng.randrange(len(self.returning))
            name, phone = self.returning[k]
            if self._may_use(name, phone, point):
                self._use(name, phone, point)
                if self.caller_count[phone.text] >= MAX_CALLER_TICKETS:
                    self.returning.pop(k)
                return name, phone
        self.new_callers += 1
        for _ in range(100):
            # One caller with a name GBK cannot encode, so the CSV has to be GB18030.
            name = sd.RARE_NAME if self.new_callers == RARE_NAME_AT else self.f.names.caller()
            phone = self._new_phone(name)
            if self._may_use(name, phone, point):
                break
        else:  # pragma: no cover
            raise RuntimeError("no caller fits")
        self._use(name, phone, point)
        if phone.usable and name not in UNLINKABLE:
            self.returning.append((name, phone))
        return name, phone

    def _new_phone(self, name: str) -> Phone:
        r = self.rng.random()
        phones = self.f.phones
        if name in UNLINKABLE and r < 0.3:
            return SECRET
        if r < 0.905:
            return phones.mobile()
        if r < 0.93:
            return phones.landline()
        if r < 0.975:
            return SECRET
        if r < 0.99:
            return phones.account()
        return Phone("", "")

    def _may_use(self, name: str, phone: Phone, point: str) -> bool:
        if not phone.usable or name in UNLINKABLE:
            return True
        known = self.name_point_phone.get((compact(name), point))
        return known is None or known == phone.digits

    def _use(self, name: str, phone: Phone, point: str) -> None:
        if phone.usable:
            self.caller_count[phone.text] += 1
            if name not in UNLINKABLE:
                self.name_point_phone[compact(name), point] = phone.digits
