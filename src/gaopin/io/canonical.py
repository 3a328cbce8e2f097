"""Column-wise conversion of source text into canonical values.

Each function works on a whole column and normalises each distinct value once, since
exports repeat the same names, phones, communities and answers many times.
"""

from __future__ import annotations

import re
from typing import Callable

import pandas as pd

from gaopin.schema import (
    ZERO_WIDTH,
    dispatch_class,
    join_category_levels,
    normalize_category,
    normalize_choice,
    normalize_phone,
    phone_problem,
)

_ZW_PATTERN = "[" + "".join(chr(c) for c in ZERO_WIDTH) + "]"
_SCIENTIFIC_ID = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")


def text_column(s: pd.Series) -> pd.Series:
    """Zero-width characters removed, whitespace padding (\\n, \\t, 全角空格) trimmed, "" → NA."""
    s = s.astype("str")
    s = s.str.replace(_ZW_PATTERN, "", regex=True).str.strip()
    return s.where(s != "", pd.NA) if len(s) else s


def map_unique(s: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """Apply fn to each distinct non-blank value once."""
    present = s.dropna()
    if present.empty:
        return s
    uniques = pd.unique(present.to_numpy())
    mapping = {u: fn(u) for u in uniques}
    out = s.map(mapping).astype("str")
    return out.where(out != "", pd.NA)


def phone_column(s: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Normalised phones and, for each suspicious distinct raw value, why."""
    s = text_column(s)
    out = map_unique(s, normalize_phone)
    problems: dict[str, str] = {}
    present = s.dropna()
    if not present.empty:
        for raw in pd.unique(present.to_numpy()):
            why = phone_problem(raw, normalize_phone(raw))
            if why:
                problems[raw] = why
    return out, problems


def choice_column(s: pd.Series, kind: str) -> tuple[pd.Series, list[str]]:
    """是/否 style values normalised; also the distinct values that were not recognised."""
    s = text_column(s)
    present = s.dropna()
    if present.empty:
        return s, []
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for raw in pd.unique(present.to_numpy()):
        value, known = normalize_choice(kind, raw)
        mapping[raw] = value
        if not known:
            unknown.append(raw)
    out = s.map(mapping).astype("str")
    return out.where(out != "", pd.NA), unknown


def category_column(path: pd.Series | None, levels: list[pd.Series | None]) -> pd.Series | None:
    if path is not None:
        return map_unique(text_column(path), normalize_category)
    present = [lv for lv in levels if lv is not None]
    if not present:
        return None
    filled = [text_column(lv).fillna("") for lv in present]
    key = filled[0]
    for level in filled[1:]:
        key = key + "\x1f" + level
    return map_unique(key, lambda k: join_category_levels(k.split("\x1f")))


def dispatch_class_column(dispatch: pd.Series) -> pd.Series:
    return map_unique(dispatch, dispatch_class)


def id_column(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ticket ids as text, and a mask of ids that a number cell has already corrupted."""
    s = text_column(s)
    non_ascii = s.notna() & ~s.fillna("").str.isascii()
    if non_ascii.any():
        import unicodedata

        s = s.mask(non_ascii, s[non_ascii].map(lambda v: unicodedata.normalize("NFKC", v).strip()))
    corrupted = s.fillna("").str.match(_SCIENTIFIC_ID.pattern)
    return s, corrupted
