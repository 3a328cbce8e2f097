"""Figures as people read them: rates, scores and changes rounded the way the workbook shows them.

report.xlsx keeps each raw value under a number format (`0.0%`, `0.00`); Excel and WPS show it
by its decimal digits (at most 15 significant ones) rounded half away from zero. Python's
`f"{v:.1f}"` rounds the binary value half to even instead (0.9725 → 97.2%, where the workbook
shows 97.3%), so every other output (the HTML page, the email, the robot message, the terminal,
the charts) formats through here and a figure reads the same everywhere.

Only the standard library: the command line imports this without pandas.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

MISSING = "—"
# The digits Excel keeps of a number when it shows it; beyond them a double's digits are noise.
SIGNIFICANT_DIGITS = 15
# Wide enough that quantizing any finite double to a few decimals never runs out of digits.
_CONTEXT = Context(prec=400, rounding=ROUND_HALF_UP)


def _decimal(value: float) -> Decimal | None:
    """The decimal value Excel sees, or None for a missing or non-finite value."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return Decimal(format(number, f".{SIGNIFICANT_DIGITS}g"))


def _rounded(exact: Decimal, digits: int) -> Decimal:
    """Half away from zero; a value that rounds to zero is 0, not -0."""
    result = exact.quantize(Decimal(1).scaleb(-digits), context=_CONTEXT)
    return abs(result) if result.is_zero() else result


def rounded(value: float | None, digits: int) -> Decimal | None:
    """`value` rounded to `digits` decimals as the workbook shows it (None when missing)."""
    exact = _decimal(value)
    return None if exact is None else _rounded(exact, digits)


def number(value: float | None, digits: int = 2) -> str:
    """A score, points lost or any figure: `98.13`; missing → `—` (the workbook's `0.00`)."""
    result = rounded(value, digits)
    return MISSING if result is None else f"{result:f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A rate (0–1) in percent: `97.3%`; missing → `—` (the workbook's `0.0%`)."""
    exact = _decimal(value)
    return MISSING if exact is None else f"{_rounded(exact.scaleb(2), digits):f}%"


def _signed(exact: Decimal, digits: int) -> str:
    result = _rounded(exact, digits)
    return f"{result:f}" if result.is_zero() else f"{result:+f}"


def signed(value: float | None, digits: int = 2) -> str:
    """A change: `+0.25`, `-1.30`, `0.00` when it rounds to no change; missing → `` (the
    workbook's `+0.00;-0.00;0.00`)."""
    exact = _decimal(value)
    return "" if exact is None else _signed(exact, digits)


def points(value: float | None, digits: int = 1) -> str:
    """A change of a rate (0–1) in percentage points: `+0.3 个百分点`; missing → ``."""
    exact = _decimal(value)
    return "" if exact is None else f"{_signed(exact.scaleb(2), digits)} 个百分点"
