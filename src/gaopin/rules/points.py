"""The point (点位) of a ticket: its address normalised to building level.

1. NFKC, whitespace and zero-width characters removed, Latin letters upper-cased;
2. leading administrative prefixes removed, repeatedly (北京市, the 16 districts, the
   configured street names and those of the export's 街乡镇 column), with the punctuation
   after them (新村街道，…), never down to nothing;
3. Chinese numerals up to 9999 before 号楼/栋/幢/号院/号/单元/层/室 turned into digits,
   栋 and 幢 read as 号楼;
4. cut after the first N号楼, else after the first N号院 or N号, else before the first
   N单元/N层/N室, else the whole address.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.io.canonical import coded_series, distinct_coded
from gaopin.schema import compact

CITY = "北京市"
DISTRICTS = (
    "东城区", "西城区", "朝阳区", "丰台区", "石景山区", "海淀区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# What may follow a number in an address; the numbers whose zeros in front are dropped; units,
# floors and rooms. Shared by the Python patterns and the RE2 ones of PointNormalizer.many.
_NUMBER_SUFFIXES = "号楼|栋|幢|号院|号|单元|层|室"
_ZERO_SUFFIXES = "号楼|号院|号|单元|层|室"
_UNIT_SUFFIXES = "单元|层|室"
_NUMERAL = "[零〇一二两三四五六七八九十百千]"
_SUFFIX = f"(?={_NUMBER_SUFFIXES})"
_UNITS = {"千": 1000, "百": 100, "十": 10}
_CHINESE_NUMBER = re.compile(f"({_NUMERAL}{{1,7}})" + _SUFFIX)
# "3栋", "3幢", and the "3#楼"/"3#" shorthand all mean building 3.
_BUILDING_ALIAS = re.compile(r"(\d+)(?:栋|幢|#楼|#)")
_BUILDING = re.compile(r"\d+号楼")
# "03号楼" is building 3, as 零三号楼 already reads: zeros in front of a number are dropped.
_LEADING_ZEROS = re.compile(f"(?<![0-9])0+(?=[0-9]+(?:{_ZERO_SUFFIXES}))")
_COURTYARD_OR_NUMBER = re.compile(r"\d+号院?")
_UNIT_FLOOR_ROOM = re.compile(rf"\d+(?:{_UNIT_SUFFIXES})")

# The addresses PointNormalizer.many reads with Arrow: digits, Latin letters, CJK ideographs and
# spaces, half- or full-width. For them `compact` is NFKC (full-width to ASCII, ideographic space
# to space), the spaces removed, ASCII upper case. RE2 syntax.
_FAST_INPUT = "^[0-9A-Za-z\\x{4E00}-\\x{9FFF}\\x{FF10}-\\x{FF19}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A} \\x{3000}]*$"
_FAST_TEXT = re.compile(r"[0-9A-Z\u4e00-\u9fff]*")  # the same after compact
_FAST_ALIAS = "([0-9]+)(?:栋|幢)"  # _BUILDING_ALIAS without "#", which such text never holds
# What Python still does: Chinese numerals before a suffix, zeros in front of a number.
_NEEDS_PYTHON = f"{_NUMERAL}(?:{_NUMBER_SUFFIXES})|(?:^|[^0-9])0+[0-9]+(?:{_ZERO_SUFFIXES})"


def chinese_to_int(text: str) -> int | None:
    """Chinese numerals up to 9999, as written in addresses; None for what is not one number.

    With units: 十二 → 12, 二十三 → 23, 一百零一 → 101, 两百一十 → 210, 一千零五 → 1005. Digit by
    digit: 两位 (一〇 → 10, 三四 → 34), or up to four with a zero among them (一零一 → 101).
    The colloquial 一百一 (110, or 101?) and runs like 一二三 are left alone: a wrong number would
    join two buildings into one point."""
    if not any(u in text for u in _UNITS):
        if len(text) > 4 or (len(text) > 2 and not any(z in text for z in "零〇")):
            return None
        value = 0
        for ch in text:
            value = value * 10 + _NUMERALS[ch]
        return value
    total, digit, last, zero = 0, None, 10_000, False
    for ch in text:
        unit = _UNITS.get(ch)
        if unit is not None:
            if unit >= last:
                return None  # 十十, 十百: each unit once, largest first
            if digit is None:
                if unit != 10 or total or zero:
                    return None  # only 十 stands alone, and only at the start (十二)
                digit = 1
            total += digit * unit
            last, digit, zero = unit, None, False
        elif digit is not None:
            return None  # two digits in a row (二十三四)
        elif _NUMERALS[ch] == 0:
            if zero or not total:
                return None
            zero = True  # a skipped place: 一百零一
        else:
            digit = _NUMERALS[ch]
    if digit is not None:
        if last != 10 and not zero:
            return None  # 一百一, 一千二
        total += digit
    elif zero:
        return None  # ends in 零
    return total


def _digits(match: re.Match) -> str:
    value = chinese_to_int(match.group(1))
    return match.group(1) if value is None else str(value)


def street_prefixes(streets: Iterable[str]) -> set[str]:
    """`丰台区新村街道` gives `丰台区` and `新村街道`; `北京市丰台区新村街道` gives those and
    `丰台区新村街道` too (the city, then the district, taken off the front)."""
    out: set[str] = set()
    for street in streets:
        key = compact(street)
        if not key:
            continue
        out.add(key)
        if key.startswith(CITY) and len(key) > len(CITY):
            key = key[len(CITY) :]
            out.add(key)
        for district in DISTRICTS:
            if key.startswith(district) and len(key) > len(district):
                out.add(key[len(district) :])
    return out


# Punctuation and symbols between a prefix and the rest of an address (新村街道，电力小区1号楼,
# 丰台区新村街道·电力小区1号楼 after NFKC): left in front, they made another point of one building.
_SEPARATORS = re.compile(r"[\W_]+")


def _after_separators(text: str) -> str:
    """`text` without the punctuation in front (blank if that is all it holds)."""
    m = _SEPARATORS.match(text)
    return text[m.end() :] if m else text


class PointNormalizer:
    def __init__(self, prefixes: Iterable[str] = ()):
        keys = {CITY, *DISTRICTS} | {compact(p) for p in prefixes if compact(p)}
        # Longest first, so that 新村街道 is removed before 新村.
        self.prefixes = tuple(sorted(keys, key=lambda p: (-len(p), p)))
        self._leading = re.compile("(?:" + "|".join(re.escape(p) for p in self.prefixes) + ")")

    def strip_prefixes(self, text: str) -> str:
        text = _after_separators(text) or text
        while True:
            m = self._leading.match(text)
            if m is None or m.end() == len(text):
                return text
            rest = _after_separators(text[m.end() :])
            if not rest:
                return text
            text = rest

    def __call__(self, address: str) -> str:
        full = compact(address)
        if not full:
            return ""
        text = self.strip_prefixes(full)
        text = _CHINESE_NUMBER.sub(_digits, text)
        if _BUILDING_ALIAS.search(text):  # sub with a template costs even when nothing matches
            text = _BUILDING_ALIAS.sub(r"\1号楼", text)
        if "0" in text:
            text = _LEADING_ZEROS.sub("", text)
        m = _BUILDING.search(text) or _COURTYARD_OR_NUMBER.search(text)
        if m:
            return text[: m.end()]
        m = _UNIT_FLOOR_ROOM.search(text)
        if m and m.start() > 0:
            return text[: m.start()]
        return text

    def many(self, addresses: pa.Array) -> pa.Array:
        """`self(a) or None` of every address (None for a blank one), most of them by Arrow.

        An address of digits, Latin letters, CJK ideographs and spaces (half- or full-width)
        takes the same steps as RE2 passes: for these characters `compact` is NFKC, the spaces
        taken out, ASCII upper case, and each pattern below matches as Python's does. Where a
        step needs Python (a Chinese numeral before 号/楼/单元…, a zero in front of a number, an
        address of nothing but prefixes), and for every other address, `self` is called."""
        fast = pc.fill_null(pc.match_substring_regex(addresses, _FAST_INPUT), False)
        text = pc.ascii_upper(pc.replace_substring(pc.utf8_normalize(addresses.filter(fast), "NFKC"), " ", ""))
        stripped = self._strip_prefixes_many(text)
        stripped = pc.replace_substring_regex(stripped, _FAST_ALIAS, r"\1号楼")
        # Stripped down to nothing: strip_prefixes stops one prefix earlier.
        emptied = pc.and_(pc.equal(pc.binary_length(stripped), 0), pc.greater(pc.binary_length(text), 0))
        python = pc.or_(pc.fill_null(pc.match_substring_regex(stripped, _NEEDS_PYTHON), False), emptied).to_numpy(zero_copy_only=False)
        done = _cut_many(stripped.filter(pa.array(~python)))
        done_at = np.flatnonzero(fast.to_numpy(zero_copy_only=False))[~python]
        rest = np.ones(len(addresses), dtype=bool)
        rest[done_at] = False
        rest_at = np.flatnonzero(rest)
        slow = [None if a is None else (self(a) or None) for a in addresses.take(pa.array(rest_at)).to_pylist()]
        # The Arrow results, then Python's, put back in the addresses' order.
        where = np.empty(len(addresses), dtype=np.int64)
        where[np.concatenate([done_at, rest_at])] = np.arange(len(addresses))
        done = pc.if_else(pc.equal(pc.binary_length(done), 0), pa.scalar(None, pa.string()), done.cast(pa.string()))
        return pa.concat_arrays([done, pa.array(slow, type=pa.string())]).take(pa.array(where))

    def _strip_prefixes_many(self, text: pa.Array) -> pa.Array:
        """`strip_prefixes` of text of those characters, which hold no separator, unless it would
        strip all of it: RE2's `(?:a|b)+` takes, as Python's loop does, the first alternative that
        matches (the longest prefix), again and again."""
        # A prefix of other characters never matches such text; the order is the Python pattern's.
        usable = [p for p in self.prefixes if _FAST_TEXT.fullmatch(p)]
        if not usable:
            return text
        return pc.replace_substring_regex(text, "^(?:" + "|".join(usable) + ")+", "")


def _cut_many(text: pa.Array) -> pa.Array:
    """Step 4 of `PointNormalizer` by RE2, each pattern's leftmost match as Python's search finds
    it (the shortest lead-in before it, the digits taken greedily)."""
    building = pc.fill_null(pc.match_substring_regex(text, "[0-9]+号楼"), False)
    number = pc.and_(pc.invert(building), pc.fill_null(pc.match_substring_regex(text, "[0-9]+号"), False))
    unit = pc.and_(pc.invert(pc.or_(building, number)), pc.fill_null(pc.match_substring_regex(text, f"[0-9]+(?:{_UNIT_SUFFIXES})"), False))
    out = text
    for mask, pattern in ((building, "^(?P<h>.*?[0-9]+号楼)"), (number, "^(?P<h>.*?[0-9]+号院?)")):
        if pc.any(mask).as_py():
            out = pc.replace_with_mask(out, mask, pc.struct_field(pc.extract_regex(text.filter(mask), pattern), [0]))
    if pc.any(unit).as_py():
        whole = text.filter(unit)
        before = pc.struct_field(pc.extract_regex(whole, f"^(?P<h>.*?)[0-9]+(?:{_UNIT_SUFFIXES})"), [0])
        # A match at the very start cuts nothing: the whole text is the point.
        out = pc.replace_with_mask(out, unit, pc.if_else(pc.greater(pc.binary_length(before), 0), before, whole))
    return out


def point_column(address: pd.Series, street: pd.Series, extra_prefixes: Iterable[str] = ()) -> pd.Series:
    """The point of every ticket; blank where the address is blank."""
    return point_column_coded(address, street, extra_prefixes)[0]


def point_column_coded(address: pd.Series, street: pd.Series, extra_prefixes: Iterable[str] = ()) -> tuple[pd.Series, np.ndarray]:
    """`point_column`, and integer codes of the points (-1 for blank)."""
    codes, points = point_codes(address, street, extra_prefixes)
    return coded_series(codes, points, address.index), codes


def point_codes(address: pd.Series, street: pd.Series, extra_prefixes: Iterable[str] = ()) -> tuple[np.ndarray, pa.Array]:
    """Each ticket's point as a code (-1 for blank) into the distinct points (`distinct_coded`)."""
    streets = list(pd.factorize(street)[1]) if street is not None else []
    normalizer = PointNormalizer(set(extra_prefixes) | street_prefixes(streets))
    return distinct_coded(address, normalizer.many)
