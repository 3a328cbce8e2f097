"""Assessment periods: a calendar month, or a cycle from day N of the previous month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from gaopin.errors import UsageError

# The years gaopin reads dates in (a cell outside them is a typo or a serial number read
# wrongly): a period outside them can hold no ticket.
FIRST_YEAR, LAST_YEAR = 1990, 2100


@dataclass(frozen=True)
class Period:
    year: int
    month: int
    start: date  # inclusive
    end: date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def code(self) -> int:
        """The period as one number, year × 12 + month − 1 (what period_codes gives a time)."""
        return self.year * 12 + self.month - 1

    def previous(self, start_day: int) -> "Period":
        y, m = (self.year, self.month - 1) if self.month > 1 else (self.year - 1, 12)
        return period(y, m, start_day)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period(year: int, month: int, start_day: int = 1) -> Period:
    """Month `month` of `year`; with start_day = 19, from the 19th of the previous month to the 18th."""
    first = date(year, month, 1)
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    if start_day <= 1:
        return Period(year, month, first, next_first - timedelta(days=1))
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    return Period(year, month, date(prev_y, prev_m, start_day), date(year, month, start_day - 1))


def check_month(month: int, year: int | None) -> None:
    """A month (and year, when given) asked for on the command line, or a UsageError."""
    if not 1 <= month <= 12:
        raise UsageError(f"月份 {month} 不对", "--month 应在 1 到 12 之间")
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"年份 {year} 不对", f"--year 应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间，例如 2024")


def check_started(p: Period, today: date) -> None:
    """A UsageError for a period that starts after "today" (report and ledger alike): it has no
    tickets yet, and its previous period would be cut at today without saying so."""
    if today < p.start:
        raise UsageError(
            f"{p.label} 统计期（{p.start.isoformat()} 至 {p.end.isoformat()}）在 {today.isoformat()} 还没有开始",
            "请检查 --month/--year；回放过去的月份时，--today 应在统计期之内或之后",
        )


def period_of(day: date, start_day: int = 1) -> Period:
    """The period a day belongs to."""
    if start_day > 1 and day.day >= start_day:
        y, m = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
        return period(y, m, start_day)
    return period(day.year, day.month, start_day)


def period_codes(times, start_day: int = 1):
    """period_of for a numpy array of datetime64 values at once: each one's period as
    `Period.code` (int64; a NaT gives a meaningless number, which callers leave out).

    A day on or after `start_day` belongs to the next month's period: moved back by
    start_day − 1 days, it lands in the month before that period's."""
    shifted = times.astype("datetime64[D]") - (start_day - 1)
    return shifted.astype("datetime64[M]").astype("int64") + 1970 * 12 + (1 if start_day > 1 else 0)


def last_closed(today: date, start_day: int = 1) -> Period:
    """The latest period that ended before `today`: what a run on the 1st (or on the 19th,
    with start_day = 19) reports on."""
    return period_of(today, start_day).previous(start_day)


def default_year(month: int, first: date, last: date, has_tickets: Callable[[Period], bool], start_day: int = 1) -> int:
    """The year `--month` means without `--year`, for tickets received from `first` to `last`:
    the latest year whose period `month` holds tickets (`has_tickets`); if it holds none in any
    year, the year of the latest ticket. (The latest year alone would make `--month 12` on data
    from December to February an empty December still to come.)"""
    for year in range(period_of(last, start_day).year, period_of(first, start_day).year - 1, -1):
        if has_tickets(period(year, month, start_day)):
            return year
    return last.year
