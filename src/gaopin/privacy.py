"""Masking of phone numbers and names in everything written or sent for people."""

from __future__ import annotations

import functools
import re
from typing import Callable

MASK = "****"
# Mobile and landline numbers in free text: 7–12 digits, not inside a longer run, written whole
# or in groups. Between groups callers type a space, a dash (the Chinese IME's — and ——, the
# full-width －), a dot or middle dot, an underscore, a slash or a comma, with up to three spaces
# around it (zero-width ones too: text pasted from the web); never the numeral 一, which is a word. ASCII
# digits only ([0-9], not \d): full-width digits are made ASCII first, so that a number typed in
# full width is found whole rather than matched in part and half shown. Not right after the mask:
# the end of a masked number (138****5678 1234) is not masked again.
# Also a tab, the en, thin and other narrow spaces (U+202F: narrow no-break), and the zero-width ones.
_SPACE = r"[ \t\u00a0\u2002-\u200d\u202f\u205f\u2060\u3000\ufeff]"
_DASH = r"\-\u2010-\u2015\u2212\ufe63\uff0d"  # - ‐ ‑ ‒ – — ― − ﹣ －
_SEP = rf"(?:{_SPACE}{{0,3}}[{_DASH}._/\u00b7,，]{{0,2}}{_SPACE}{{0,3}})"  # \u00b7: the middle dot 138·1234·5678
_LOCAL_SEP = rf"(?:{_SPACE}?[{_DASH}]{{1,2}}{_SPACE}?|{_SPACE})"
_PHONE_IN_TEXT = re.compile(
    rf"""(?<![0-9])(?<!\*\*\*\*)
    (?:
        (?:(?:\+|00)?86{_SEP})?                                                 # +86, 0086
        (?:
            1[3-9][0-9](?:{_SEP}[0-9]{{4}}|[0-9]{_SEP}[0-9]{{3}}){_SEP}[0-9]{{4}}  # mobile: 138-1234-5678, 1381 234 5678
          | (?:0[0-9]{{2,3}}|[(（]0[0-9]{{2,3}}[)）]){_SEP}
            (?:[0-9]{{7,8}}|[0-9]{{3,4}}{_SEP}[0-9]{{4}})                          # area code: (010) 8765 4321
          | [0-9]{{7,8}}                                                         # local, whole: 87654321
        )
      # Local, in two halves (座机8765-4321): without an area code this is also how ranges are
      # written, so not a year (2023-2024), not two round numbers (3000-5000), not one of a chain
      # of groups (2024-0801-0012) and not an amount, area or room (2980-3980元). After a slash
      # it is one: 13812345678/6512-3457, 301/6512-3459 list a second number.
      | (?<![0-9][{_DASH}._])
        (?!20|[0-9]{{2}}00{_LOCAL_SEP}[0-9]{{2}}00(?![0-9]))
        [2-9][0-9]{{3}}{_LOCAL_SEP}[0-9]{{4}}
        (?!{_LOCAL_SEP}?[0-9]|{_SPACE}?[元块米平㎡万室])
    )
    (?![0-9])""",
    re.VERBOSE,
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


def text_masker() -> Callable[[str], str]:
    """`mask_phones_in_text` that masks each distinct text once: exports and settings repeat the
    same communities, units, points and titles many times."""
    return functools.lru_cache(maxsize=None)(mask_phones_in_text)
