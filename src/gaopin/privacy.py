"""Masking of phone numbers and names in everything written or sent for people."""

from __future__ import annotations

import re

MASK = "****"
# A run of 7–12 digits not inside a longer run: mobile and landline numbers in free text.
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}[- ]?\d{7,8}|\d{7,8})(?![0-9])")


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
    if not text or not any(ch.isdigit() for ch in text):
        return text
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group(0))), text)
