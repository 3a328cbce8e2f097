"""Figures rounded for people as the workbook shows them: half away from zero on the decimal value."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.numbers import number, percent, points, signed


def decimal_reference(value: float, digits: int, scale: int = 0) -> Decimal:
    """The brief's reference: the value as Python prints it, rounded half up on its absolute value."""
    exact = Decimal(repr(value)).scaleb(scale)
    magnitude = abs(exact).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return -magnitude if exact < 0 and magnitude else magnitude


def excel_shows(value: float, digits: int, scale: int = 0) -> str:
    """How Excel shows a double under a `0.00`-like format, worked out without `decimal`: its first
    15 significant digits, then half away from zero in exact rational arithmetic."""
    mantissa, exponent = f"{value:.14e}".split("e")
    exact = Fraction(mantissa.replace(".", "")) * Fraction(10) ** (int(exponent) - 14 + scale + digits)
    units = math.floor(abs(exact) + Fraction(1, 2))
    text = str(units).rjust(digits + 1, "0")
    body = f"{text[:-digits]}.{text[-digits:]}" if digits else text
    return f"-{body}" if exact < 0 and units else body


# The values the reports hold: metrics round every rate, score and change to 6 decimals.
held = st.decimals(min_value=-1000, max_value=1000, places=6, allow_nan=False, allow_infinity=False).map(float)
digits = st.integers(min_value=0, max_value=4)


@given(held, digits)
def test_number_is_the_decimal_value_rounded_half_away_from_zero(value, n):
    assert number(value, n) == f"{decimal_reference(value, n):f}"


@given(held, digits)
def test_percent_is_the_decimal_value_times_100_rounded_half_away_from_zero(value, n):
    assert percent(value, n) == f"{decimal_reference(value, n, scale=2):f}%"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12), digits)
def test_any_double_reads_as_excel_shows_it(value, n):
    assert number(value, n) == excel_shows(value, n)
    assert percent(value, n) == excel_shows(value, n, scale=2) + "%"


@given(held, digits)
def test_a_change_carries_its_sign_unless_it_rounds_to_no_change(value, n):
    shown = excel_shows(value, n)
    assert signed(value, n) == (shown if float(shown) == 0 else f"+{shown}" if value > 0 else shown)
    pp = excel_shows(value, n, scale=2)
    assert points(value, n) == (pp if float(pp) == 0 else f"+{pp}" if value > 0 else pp) + " 个百分点"


@pytest.mark.parametrize(
    ("shown", "value", "n", "expected"),
    [
        # The reviewer's examples: Python's f-strings gave 97.2%, 96.2%, 98.12 and 96.2.
        (percent, 0.9725, 1, "97.3%"),
        (percent, 0.9875, 1, "98.8%"),
        (percent, 0.9625, 1, "96.3%"),
        (number, 98.125, 2, "98.13"),
        (number, 95.95, 1, "96.0"),
        (number, 96.25, 1, "96.3"),
        (number, 2.675, 2, "2.68"),
        (percent, 1.0, 1, "100.0%"),
        # Changes: away from zero both ways, and a change that rounds to nothing has no sign.
        (signed, 0.225, 2, "+0.23"),
        (signed, -0.225, 2, "-0.23"),
        (signed, -0.125, 2, "-0.13"),
        (signed, -0.001, 2, "0.00"),
        (signed, -0.0, 2, "0.00"),
        (signed, 0.0, 2, "0.00"),
        (signed, 3, 0, "+3"),
        (signed, -3, 0, "-3"),
        (points, -0.0025, 1, "-0.3 个百分点"),
        (points, -0.0125, 1, "-1.3 个百分点"),
        (points, 0.0025, 1, "+0.3 个百分点"),
        (points, -0.0004, 1, "0.0 个百分点"),
        (number, -0.0, 2, "0.00"),
        (number, -0.004, 2, "0.00"),
        (percent, -0.0, 1, "0.0%"),
    ],
    ids=lambda x: x.__name__ if callable(x) else str(x),
)
def test_the_reviewers_examples_and_the_signs(shown, value, n, expected):
    assert shown(value, n) == expected


def test_missing_values_read_as_today():
    assert number(None) == percent(None) == "—"
    assert signed(None) == points(None) == ""
    # A NaN or infinity is no figure either: shown as missing, never as "nan%".
    assert number(math.nan) == percent(math.inf) == "—"
    assert signed(math.nan) == points(-math.inf) == ""
