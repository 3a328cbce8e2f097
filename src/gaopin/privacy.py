"""Masking of phone numbers and names in everything written or sent for people."""

from __future__ import annotations

import re

MASK = "****"
# A run of 7–12 digits not inside a longer run: mobile and landline numbers in free text.
# ASCII digits only ([0-9], not \d): full-width digits are made ASCII first, so that a number
# typed in full width is found whole rather than matched in part and half shown.
_PHONE_IN_TEXT = re.compile(
    r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}|0[0-9]{2,3}[- ]?[0-9]{7,8}|[0-9]{7,8})(?![0-9])"
)
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
MIN_DIGITS_IN_TEXT = 7  # the fewest digits of any number _PHONE_IN_TEXT matches


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`; shorter numbers and accounts keep only their ends."""
    if not value:
        return value
    n = len(value)
    if n >= 11:
        return value[:3] + MASK + value[-4:]
    if n >= 6:
        return value[:2] + MASK + value[-2:]
    return MASK


def mask_name(value: str) -> str:
    """`张三` → `张*`; `欧阳娜娜` → `欧***`."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_phones_in_text(text: str) -> str:
    """Phone numbers that callers typed into titles and contents, masked."""
    if not text:
        return text
    digits = sum(map(str.isdigit, text))
    if not digits:
        return text
    text = text.translate(_FULL_WIDTH_DIGITS)
    # Every number the pattern masks has at least 7 digits: most texts (addresses, and so the
    # points, and titles) have fewer, and need no search.
    if digits < MIN_DIGITS_IN_TEXT:
        return text
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[^0-9]", "", m.group(0))), text)
