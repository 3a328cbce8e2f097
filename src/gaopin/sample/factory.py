"""Shared pieces of the street generator: seeded streams, unique phones, ticket making."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gaopin.sample import street_data as sd
from gaopin.sample.model import NameBook, Phone, PhoneBook, PointSpec, Ticket, render_address
from gaopin.sample.text import background_text, fit_content

START = datetime(2024, 1, 1)
END = datetime(2024, 10, 31, 23, 59, 59)
FIRST_DAY, LAST_DAY = START.date(), END.date()
MONTHS = tuple(range(1, 11))
# Tickets per month (sum 6,656): a quiet Spring Festival in February, a busy summer.
MONTH_TOTALS = {1: 585, 2: 498, 3: 612, 4: 640, 5: 676, 6: 702, 7: 758, 8: 741, 9: 728, 10: 716}
TOTAL_TICKETS = sum(MONTH_TOTALS.values())
# Calls per hour of day: few at night, a morning peak and a long afternoon.
HOUR_WEIGHTS = (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 6, 8, 8.5, 8, 6.5, 6, 7.5, 7.5, 7, 6.5, 6, 6, 5.5, 4.5, 3, 2)
PLANTED_TYPES = (("投诉", 55), ("诉求", 35), ("求助", 10))  # never 咨询: those are filtered out before the rules


@dataclass
class Person:
    name: str
    phones: list[Phone]

    @property
    def phone(self) -> Phone:
        return self.phones[0]


class Factory:
    """Everything seeded from one integer; each part of the plan draws from its own stream,
    so changing one case does not reshuffle the others."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.phones = PhoneBook(self.rng("phones"))
        self.names = NameBook(self.rng("names"))

    def rng(self, name: str) -> random.Random:
        # str seeds are hashed with SHA-512 by random.seed: stable across runs and platforms.
        return random.Random(f"gaopin-sample:{self.seed}:{name}")

    def person(self, name: str | None = None, landline: bool = False) -> Person:
        phone = self.phones.landline() if landline else self.phones.mobile()
        return Person(name or self.names.caller(), [phone])

    def planted(
        self,
        rng: random.Random,
        case: str,
        when: datetime,
        person: Person,
        spec: PointSpec,
        category: str,
        *,
        title: str,
        content: str,
        phone: Phone | None = None,
        address: str | None = None,
        unit: str | None = None,
        ticket_type: str | None = None,
    ) -> Ticket:
        cat = sd.CATEGORY_BY_PATH.get(category)
        if unit is None:
            key = cat.units[0] if cat else sd.COMMUNITY_UNIT
            unit = sd.COMMUNITY_BY_NAME[spec.community].unit if key == sd.COMMUNITY_UNIT else sd.UNITS[key]
        return Ticket(
            case=case,
            received=when,
            ticket_type=ticket_type or weighted(rng, PLANTED_TYPES),
            caller=person.name,
            phone=phone or person.phone,
            spec=spec,
            address=address if address is not None else render_address(spec, rng),
            category=category,
            title=title,
            content=fit_content(content),
            unit=unit,
        )

    def background_ticket(
        self, rng: random.Random, when: datetime, name: str, phone: Phone, spec: PointSpec, category: sd.Category, ticket_type: str
    ) -> Ticket:
        key = rng.choice(category.units) if rng.random() < 0.3 else category.units[0]
        unit = sd.COMMUNITY_BY_NAME[spec.community].unit if key == sd.COMMUNITY_UNIT else sd.UNITS[key]
        where = spec.point
        title, text = background_text(rng, category, where)
        return Ticket(
            case="",
            received=when,
            ticket_type=ticket_type,
            caller=name,
            phone=phone,
            spec=spec,
            address=render_address(spec, rng),
            category=category.path,
            title=title,
            content=text,
            unit=unit,
        )


def weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


def at(rng: random.Random, day: date, start: time = time(0, 0), end: time = time(23, 59, 59)) -> datetime:
    """A random second of `day` between start and end."""
    lo = start.hour * 3600 + start.minute * 60 + start.second
    hi = end.hour * 3600 + end.minute * 60 + end.second
    return datetime.combine(day, time()) + timedelta(seconds=rng.randint(lo, hi))


def office_time(rng: random.Random, day: date) -> datetime:
    """A call time following the hotline's daily rhythm."""
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def max_in_window(days: list[date], width: int) -> int:
    """The most tickets (one day each in `days`, repeats allowed) in any `width` consecutive days."""
    ordered = sorted(days)
    best, lo = 0, 0
    for hi, d in enumerate(ordered):
        while (d - ordered[lo]).days >= width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def pick_days(
    rng: random.Random,
    candidates: list[date],
    n: int,
    existing: list[date] | None = None,
    caps: tuple[tuple[int, int], ...] = (),
    per_day: int = 1,
) -> list[date]:
    """n days from candidates such that, together with `existing`, no day holds more than
    per_day and no `width`-day window more than `limit` for each (width, limit) in caps."""
    chosen = list(existing or [])
    out: list[date] = []
    pool = list(candidates)
    rng.shuffle(pool)
    for day in pool:
        if len(out) == n:
            break
        if chosen.count(day) >= per_day:
            continue
        trial = chosen + [day]
        if all(_window_count(trial, day, width) <= limit for width, limit in caps):
            chosen.append(day)
            out.append(day)
    if len(out) < n:
        raise RuntimeError(f"could only place {len(out)} of {n} days under {caps}")  # a plan bug, not user input
    return sorted(out)


def _window_count(days: list[date], around: date, width: int) -> int:
    """The most days in any width-day window that contains `around`."""
    near = sorted(d for d in days if abs((d - around).days) < width)
    return max_in_window(near, width)
