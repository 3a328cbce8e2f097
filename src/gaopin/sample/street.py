"""The street sample: planted cases + background, decorated, numbered, and its ground truth."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from gaopin.sample import outcomes
from gaopin.sample import street_data as sd
from gaopin.sample.background import Background
from gaopin.sample.cases import Case, build_cases, planted_points
from gaopin.sample.factory import FIRST_DAY, LAST_DAY, TOTAL_TICKETS, Factory
from gaopin.sample.model import Ticket, time_text

DEFAULT_SEED = 12345
CITY_SHARE = 0.70
TEXT_TIME_SHARE = 0.03
STREET_WITH_DISTRICT_SHARE = 0.05
ODD_SEPARATOR_SHARE = 0.015
CLOSE_DAY_WEIGHTS = (22, 20, 16, 12, 9, 7, 5, 4, 3, 2)  # closed 1…10 days after receipt


@dataclass
class StreetSample:
    seed: int
    tickets: list[Ticket]  # in export order (by received time)
    cases: list[Case]

    def monthly(self, dispatch: str | None = None) -> dict[int, outcomes.MonthStats]:
        return outcomes.monthly(self.tickets, dispatch)


def build_street(seed: int = DEFAULT_SEED) -> StreetSample:
    """The whole 新村街道 sample in memory; same seed, same tickets."""
    f = Factory(seed)
    cases = build_cases(f)
    planted = [t for c in cases for t in c.tickets]
    background = Background(f, planted_points(cases)).build(planted)
    tickets = planted + background
    # A total order that does not depend on how the lists were built.
    tickets.sort(key=lambda t: (t.received, t.case, t.point, t.category, t.caller, t.phone.text))
    _decorate(tickets, f.rng("decorate"))
    outcomes.assign(tickets, f.rng("outcomes"))
    outcomes.check_best_month(tickets)
    tickets.sort(key=lambda t: (t.received, t.case, t.point, t.category, t.caller, t.phone.text))
    _number(tickets, f.rng("ids"))
    _check(tickets)
    return StreetSample(seed, tickets, cases)


def _decorate(tickets: list[Ticket], rng: random.Random) -> None:
    """How the export writes things: dispatch, street spelling, separators, text times, closing."""
    for t in tickets:
        t.dispatch = sd.CITY_DISPATCH if rng.random() < CITY_SHARE else sd.DISTRICT_DISPATCH
        if rng.random() < STREET_WITH_DISTRICT_SHARE:
            t.street_text = sd.DISTRICT + sd.STREET
        if rng.random() < ODD_SEPARATOR_SHARE:
            t.category_text = t.category.replace("->", rng.choice(("-->", "→")))
        if rng.random() < TEXT_TIME_SHARE:
            # Typed times carry minutes only; the ticket's true time loses its seconds too,
            # so the CSV (which writes full times) says the same thing.
            t.received = t.received.replace(second=0)
            t.received_text = time_text(t.received, rng)
        if t.closed is None:
            days = rng.choices(range(1, 11), weights=CLOSE_DAY_WEIGHTS)[0]
            clock = time(rng.randint(8, 20), rng.randrange(60), rng.randrange(60))
            t.closed = datetime.combine(t.received.date() + timedelta(days=days), clock)


def _number(tickets: list[Ticket], rng: random.Random) -> None:
    """GD + date + a 5-digit city-wide sequence: ours is a sparse, rising subset of it."""
    day = None
    seq = 0
    for t in tickets:
        if t.day != day:
            day, seq = t.day, rng.randint(20, 400)
        else:
            seq += rng.randint(1, 60)
        t.ticket_id = f"GD{day:%Y%m%d}{seq:05d}"


def _check(tickets: list[Ticket]) -> None:
    """Invariants of the plan; a failure is a generator bug, never a user error."""
    if len(tickets) != TOTAL_TICKETS:
        raise RuntimeError(f"{len(tickets)} tickets, expected {TOTAL_TICKETS}")
    if len({t.ticket_id for t in tickets}) != len(tickets):
        raise RuntimeError("duplicate ticket ids")
    if not all(FIRST_DAY <= t.day <= LAST_DAY for t in tickets):
        raise RuntimeError("a ticket outside 2024-01-01 … 2024-10-31")
    if not any(t.caller == sd.RARE_NAME for t in tickets):
        raise RuntimeError("no caller with a GB18030-only name")


__all__ = ["DEFAULT_SEED", "StreetSample", "build_street"]
