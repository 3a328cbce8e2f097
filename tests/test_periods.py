"""`last_closed`: the period a scheduled `gaopin report --last` reports on; `check_month`;
`default_year`: the year of a --month given without --year."""

from datetime import date

import pytest

from gaopin.errors import UsageError
from gaopin.periods import FIRST_YEAR, LAST_YEAR, check_month, default_year, last_closed


@pytest.mark.parametrize(
    "today, start_day, label, start, end",
    [
        (date(2024, 9, 1), 1, "2024-08", date(2024, 8, 1), date(2024, 8, 31)),
        (date(2024, 9, 15), 1, "2024-08", date(2024, 8, 1), date(2024, 8, 31)),
        (date(2024, 1, 1), 1, "2023-12", date(2023, 12, 1), date(2023, 12, 31)),
        # assessment cycle from the 19th: run on the 19th, report the cycle that ended yesterday
        (date(2024, 8, 19), 19, "2024-08", date(2024, 7, 19), date(2024, 8, 18)),
        (date(2024, 8, 18), 19, "2024-07", date(2024, 6, 19), date(2024, 7, 18)),
        (date(2024, 1, 19), 19, "2024-01", date(2023, 12, 19), date(2024, 1, 18)),
    ],
)
def test_last_closed(today, start_day, label, start, end):
    p = last_closed(today, start_day)
    assert (p.label, p.start, p.end) == (label, start, end)
    assert p.end < today


@pytest.mark.parametrize("month, year", [(1, None), (12, None), (8, FIRST_YEAR), (8, LAST_YEAR), (8, 2024)])
def test_check_month_accepts_months_and_years_that_can_hold_tickets(month, year):
    check_month(month, year)


@pytest.mark.parametrize(
    "month, year, said",
    [(0, None, "月份 0 不对"), (13, 2024, "月份 13 不对"), (8, FIRST_YEAR - 1, "年份 1989 不对"), (8, LAST_YEAR + 1, "年份 2101 不对"), (8, 10000, "年份 10000 不对"), (1, -5, "年份 -5 不对")],
)
def test_check_month_refuses_a_month_or_year_no_ticket_can_be_in(month, year, said):
    """A year beyond 9999 (or below 1) made `date` raise, an internal error; 1800 an empty report."""
    with pytest.raises(UsageError) as err:
        check_month(month, year)
    assert err.value.message == said
    assert err.value.hint


DEC_TO_FEB = [date(2023, 12, 1), date(2023, 12, 18), date(2023, 12, 19), date(2023, 12, 31), date(2024, 1, 18), date(2024, 2, 1)]


@pytest.mark.parametrize(
    "days, start_day, month, year",
    [
        # December is last year's: the latest year's December has no ticket (yet).
        (DEC_TO_FEB, 1, 12, 2023),
        (DEC_TO_FEB, 1, 1, 2024),
        (DEC_TO_FEB, 1, 2, 2024),
        # A month without tickets in any year: the latest ticket's year, as before.
        (DEC_TO_FEB, 1, 6, 2024),
        # Cycles from the 19th: 2023-12 is 2023-11-19 to 2023-12-18; 2024-02 is 2024-01-19 to 2024-02-18.
        (DEC_TO_FEB, 19, 12, 2023),
        (DEC_TO_FEB, 19, 2, 2024),
        # December 19th on is the next year's January period, later than any ticket's year.
        ([date(2023, 12, 10), date(2023, 12, 25)], 19, 1, 2024),
        ([date(2023, 12, 10), date(2023, 12, 25)], 19, 12, 2023),
        ([date(2023, 12, 10), date(2023, 12, 25)], 1, 1, 2023),
        # Years apart: the latest year whose month holds tickets.
        ([date(2021, 3, 5), date(2022, 3, 5), date(2024, 1, 2)], 1, 3, 2022),
    ],
)
def test_default_year_is_the_latest_year_whose_period_holds_tickets(days, start_day, month, year):
    def has_tickets(p):
        return any(p.contains(day) for day in days)

    assert default_year(month, min(days), max(days), has_tickets, start_day) == year
