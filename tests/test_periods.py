"""`last_closed`: the period a scheduled `gaopin report --last` reports on."""

from datetime import date

import pytest

from gaopin.periods import last_closed


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
