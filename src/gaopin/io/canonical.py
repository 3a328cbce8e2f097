"""Column-wise conversion of source text into canonical values.

Each function works on a whole column and normalises each distinct value once, since
exports repeat the same names, phones, communities and answers many times.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.schema import (
    MIN_PHONE_DIGITS,
    ZERO_WIDTH,
    dispatch_class,
    join_category_levels,
    normalize_category,
    normalize_choice,
    normalize_phone,
    phone_problem,
)

_ZW_PATTERN = "[" + "".join(chr(c) for c in ZERO_WIDTH) + "]"
SCIENTIFIC_ID = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")
# Already clean phone numbers (most of an export) need no per-value work. Longer digit strings
# may start with a country code (8613812345678): `normalize_phone` looks at each of those.
_PLAIN_MAX_DIGITS = 12
_PLAIN_DIGITS_RE = re.compile(f"[0-9]{{1,{_PLAIN_MAX_DIGITS}}}")  # with fullmatch, as phone_column finds them
ONE_DIGIT_REPEATED = "^(?:" + "|".join(f"{d}+" for d in "0123456789") + ")$"
# 0, 1, 11, 111 …: below 10**n, the multiples of the n-digit one are the n digits of one digit repeated.
_REPUNITS = np.array([(10**n - 1) // 9 for n in range(19)], dtype=np.int64)


def one_digit_repeated(number: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Where a number written with `digits` digits (leading zeros counted, at most 18) is one digit
    repeated (0000000 too): `ONE_DIGIT_REPEATED` by arithmetic, several times faster."""
    return number % _REPUNITS[digits] == 0


def arrow(s: pd.Series) -> pa.ChunkedArray:
    """The column as an Arrow string array (zero-copy for pandas' Arrow-backed str)."""
    s = s.astype("str")
    values = s.array
    if hasattr(values, "__arrow_array__"):
        out = values.__arrow_array__()
        return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])
    return pa.chunked_array([pa.array(s.tolist(), type=pa.string())])  # pragma: no cover - python storage


def series(values: pa.ChunkedArray | pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(values, dtype="str"), index=index)


def one_chunk(s: pd.Series) -> pd.Series:
    """A text column in one Arrow chunk (a copy of its text; the column itself when it is one
    already): each take from a column of many chunks joins them all first."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return s
    chunks = arrow(s)
    if chunks.num_chunks <= 1:
        return s
    # large_string first: plain string chunks joined could pass 2 GB of offsets.
    return series(chunks.cast(pa.large_string()).combine_chunks(), s.index)


def blank_text(index: pd.Index | range) -> pd.Series:
    """A text column with every value blank: Arrow's null array, twenty times cheaper at 1M
    rows than pandas filling one NA at a time."""
    return series(pa.nulls(len(index), pa.large_string()), index)


def equals(s: pd.Series, value: str) -> np.ndarray:
    """Where a text column holds exactly `value` (blank: False), compared by Arrow."""
    return pc.fill_null(pc.equal(arrow(s), value), False).to_numpy(zero_copy_only=False)


def matches(s: pd.Series, pattern: str) -> pd.Series:
    """A boolean mask of values matching an RE2 pattern (blank → False), computed by Arrow."""
    hit = pc.match_substring_regex(arrow(s), pattern)
    return pd.Series(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), index=s.index)


def text_column(s: pd.Series, zero_width: bool = True) -> pd.Series:
    """Whitespace padding (\\n, \\t, 全角空格) trimmed, "" → NA, and zero-width characters removed.

    Free text (titles, contents) may skip the zero-width pass (`zero_width=False`): it is only
    shown, never matched, and the search costs more than everything else here.
    """
    if not len(s):
        return s.astype("str")
    values = arrow(s)
    if not (zero_width and _may_hold_zero_width(values)):
        # Trimming alone costs less than finding the distinct values.
        return series(_clean(values, zero_width=False), s.index)
    distinct = _distinct(values)
    if distinct is not None:
        indices, dictionary = distinct
        return series(pc.take(_clean(dictionary, zero_width), indices), s.index)
    return series(_clean(values, zero_width), s.index)


def _clean(values: pa.ChunkedArray | pa.Array, zero_width: bool) -> pa.ChunkedArray | pa.Array:
    values = pc.utf8_trim_whitespace(values)
    if zero_width and _may_hold_zero_width(values) and pc.any(pc.match_substring_regex(values, _ZW_PATTERN)).as_py():
        values = pc.utf8_trim_whitespace(pc.replace_substring_regex(values, _ZW_PATTERN, ""))
    empty = pc.equal(pc.binary_length(values), 0)
    if pc.any(empty).as_py():
        values = pc.if_else(empty, pa.scalar(None, values.type), values)
    return values


def text_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(offsets, bytes) of a string array, read in place: value i is bytes[offsets[i]:offsets[i+1]].
    None when it holds no text at all."""
    data = values.buffers()[2] if len(values) else None
    if data is None or data.size == 0:
        return None
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(values.buffers()[1], dtype=offset_type)[values.offset : values.offset + len(values) + 1]
    return offsets, np.frombuffer(data, dtype=np.uint8)


def starts_with(s: pd.Series, prefix: bytes) -> np.ndarray:
    """Where a value starts with the ASCII `prefix`, from each value's first bytes read in place:
    one byte looked at per cell (a tenth of Arrow's starts_with on long texts), more only where
    the first matches."""
    out: list[np.ndarray] = []
    for chunk in arrow(s).chunks:
        buffers = text_buffers(chunk)
        if buffers is None:
            out.append(np.zeros(len(chunk), dtype=bool))
            continue
        offsets, data = buffers
        starts = offsets[:-1]
        if starts[-1] >= len(data):  # empty values at the end start past the last byte
            starts = np.minimum(starts, len(data) - 1)
        at = np.flatnonzero(data[starts] == prefix[0])
        at = at[offsets[at + 1] - offsets[at] >= len(prefix)]
        for k, byte in enumerate(prefix[1:], 1):
            at = at[data[offsets[at] + k] == byte]
        hit = np.zeros(len(chunk), dtype=bool)
        hit[at] = True
        if len(at) and chunk.null_count:
            hit &= chunk.is_valid().to_numpy(zero_copy_only=False)
        out.append(hit)
    return np.concatenate(out) if len(out) != 1 else out[0]


# `="GD2024…"`: a formula giving the text between its quotes ("" standing for one "), which
# systems write into a CSV to keep Excel from turning an id or phone into a number. Whole cells only.
_EXCEL_TEXT = r'(?s)^="(?:[^"]|"")*"$'


def unwrap_excel_text(s: pd.Series) -> pd.Series:
    """Cells written as `="…"` replaced by the text they give; the column itself when none is
    (the usual case costs one byte looked at per cell)."""
    hit = starts_with(s, b'="')
    if not hit.any():
        return s
    cells = arrow(s.iloc[np.flatnonzero(hit)]).combine_chunks()
    whole = pc.fill_null(pc.match_substring_regex(cells, _EXCEL_TEXT), False)
    inner = pc.replace_substring(pc.utf8_slice_codeunits(cells, 2, -1), '""', '"')
    values = pc.replace_with_mask(arrow(s).combine_chunks(), pa.array(hit), pc.if_else(whole, inner, cells))
    return series(values, s.index)


# The zero-width characters in UTF-8, by their first byte: one pass over a buffer per first
# byte finds the few places worth a closer look.
_ZW_TAILS: dict[int, list[bytes]] = {}
for _encoded in (chr(c).encode("utf-8") for c in ZERO_WIDTH):
    _ZW_TAILS.setdefault(_encoded[0], []).append(_encoded[1:])


def _bytes_hold_zero_width(data: np.ndarray) -> bool:
    for lead, tails in _ZW_TAILS.items():
        at = np.flatnonzero(data == lead)
        for tail in tails if len(at) else ():
            at_full = at[at + len(tail) < len(data)]
            hit = np.ones(len(at_full), dtype=bool)
            for k, byte in enumerate(tail, start=1):
                hit &= data[at_full + k] == byte
            if hit.any():
                return True
    return False


def _may_hold_zero_width(values: pa.ChunkedArray | pa.Array) -> bool:
    """False when no value holds a zero-width character; True may be wrong (cells outside a slice).

    Each chunk's whole character buffer is searched for the characters' bytes with numpy, a
    third of one regex search over it (0.3 s against 0.86 s for a million tickets' columns other
    than the contents), itself half of searching the values one by one.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and _bytes_hold_zero_width(np.frombuffer(data, dtype=np.uint8)):
            return True
    return False


# A column whose first values repeat this much is cleaned and mapped on its distinct values.
_SAMPLE, _FEW = 1 << 16, 8


def _distinct(values: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.Array] | None:
    """(indices, distinct values in order of first appearance) of a column that repeats a few
    values (names, communities, answers); None for one that does not (ids, phones, titles),
    where encoding would cost more than it saves."""
    if values.num_chunks == 0 or pc.count_distinct(values.slice(0, _SAMPLE)).as_py() * _FEW > min(len(values), _SAMPLE):
        return None
    encoded = pc.dictionary_encode(values)
    # The chunks share one growing dictionary: the last chunk's holds every value.
    return pa.chunked_array([c.indices for c in encoded.chunks], type=encoded.type.index_type), encoded.chunks[-1].dictionary


def has_text(s: pd.Series) -> np.ndarray:
    """True where a cell holds something other than whitespace: not empty, and not all
    whitespace (Arrow looks at a value up to its first other character; no copy is made)."""
    values = arrow(s)
    hit = pc.and_(pc.greater(pc.binary_length(values), 0), pc.invert(pc.utf8_is_space(values)))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def map_unique(s: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """Apply fn to each distinct non-blank value once ("" results become NA)."""
    return map_unique_coded(s, fn)[0]


def map_unique_coded(s: pd.Series, fn: Callable[[str], str]) -> tuple[pd.Series, np.ndarray]:
    """`map_unique`, and dense int64 codes of its result (-1 for blank), numbered in order of
    first appearance among the distinct inputs: the rules then need not hash the result again."""
    codes, results = distinct_coded(s, each(fn))
    return coded_series(codes, results, s.index), codes


def each(fn: Callable[[str], str]) -> Callable[[pa.Array], pa.Array]:
    """`fn` of one value as a function of an array of them (for `distinct_coded`)."""
    return lambda values: pa.array([fn(u) or None for u in values.to_pylist()], type=pa.string())


def distinct_coded(s: pd.Series, fn: Callable[[pa.Array], pa.Array]) -> tuple[np.ndarray, pa.Array]:
    """(codes, results): `fn` of each distinct non-blank value, given all of them at once as an
    Arrow array (a vectorised `fn` need not be called once per value) and returning theirs in
    the same order; each row's code into the distinct non-blank results, numbered in order of
    first appearance among the distinct inputs (-1 for a blank input or result)."""
    if len(s) and s.dtype == "str" and arrow(s).null_count == len(s):  # a column the export lacks: nothing to hash
        return np.full(len(s), -1, dtype=np.int64), pa.array([], type=pa.string())
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(s), -1, dtype=np.int64), pa.array([], type=pa.string())
    mapped = fn(pa.array(uniques, type=pa.string()))
    mapped = pc.if_else(pc.equal(pc.binary_length(mapped), 0), pa.scalar(None, pa.string()), mapped)
    encoded = pc.dictionary_encode(mapped)
    result_code = np.append(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64), -1)  # -1: a blank input
    return result_code[codes], encoded.dictionary


def coded_series(codes: np.ndarray, values: pa.Array, index: pd.Index) -> pd.Series:
    """The text column of `values[code]` (blank for -1)."""
    if not len(values):  # every code -1
        return series(pa.nulls(len(codes), values.type), index)
    return series(pc.take(values, pa.array(codes, mask=codes < 0)), index)


def clean_map(s: pd.Series, fn: Callable[[str], str], zero_width: bool = True) -> pd.Series:
    """`map_unique(text_column(s), fn)`, cleaning only the distinct values of a repetitive column.

    fn sees each distinct cleaned value once, in order of first appearance, as with map_unique.
    """
    values = arrow(s) if len(s) else None
    distinct = _distinct(values) if values is not None else None
    if distinct is None:
        return map_unique(text_column(s, zero_width), fn)
    indices, dictionary = distinct
    cleaned = pd.Series(pd.array(_clean(dictionary, zero_width), dtype="str"))
    # Several raw values may clean to one: fn runs once per cleaned value.
    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    # As a list: iterating pandas' Arrow-backed values makes a scalar of each (15 times slower).
    mapped = pa.array([fn(u) or None for u in uniques.tolist()], type=pa.string())
    per_entry = pc.take(mapped, pa.array(codes, mask=codes < 0))
    return series(pc.take(per_entry, indices), s.index)


def phone_column(s: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Normalised phones and, for each suspicious distinct raw value, why."""
    s = text_column(s)
    values = arrow(s).combine_chunks()
    # Plain digits, 1 to _PLAIN_MAX_DIGITS of them (_PLAIN_DIGITS_RE), found by Arrow's kernels: a
    # tenth of the regular expression's cost. One byte per ASCII digit.
    lengths = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
    plain = pc.fill_null(pc.ascii_is_decimal(values), False).to_numpy(zero_copy_only=False) & (lengths <= _PLAIN_MAX_DIGITS)
    problems: dict[str, str] = {}
    other = np.flatnonzero(~plain & s.notna().to_numpy())
    if len(other):
        codes, uniques = pd.factorize(s.iloc[other], use_na_sentinel=True)
        uniques = uniques.tolist()  # as in clean_map
        normalized = [normalize_phone(raw) for raw in uniques]
        for raw, phone in zip(uniques, normalized):
            why = phone_problem(raw, phone)
            if why:
                problems[raw] = why
        mapped = pc.take(pa.array([v or None for v in normalized], type=values.type), pa.array(codes))
        replace = np.zeros(len(values), dtype=bool)
        replace[other] = True
        values = pc.replace_with_mask(values, pa.array(replace), mapped)
    # Plain digits: only too short, 10 digits (a mobile missing one), or one digit repeated can
    # be wrong; phone_problem decides for each distinct such value.
    odd = plain & ((lengths < MIN_PHONE_DIGITS) | (lengths == 10))
    at = np.flatnonzero(plain)
    odd[at] |= one_digit_repeated(pc.cast(values.take(pa.array(at)), pa.int64()).to_numpy(zero_copy_only=False), lengths[at])
    for raw in pd.unique(s[odd].to_numpy()):
        why = phone_problem(raw, raw)
        if why:
            problems[raw] = why
    return series(values, s.index), problems


def joined_phone_problems(parts: list[dict[str, str]]) -> dict[str, str]:
    """What `phone_column` finds in a whole column, from what it found in consecutive parts of
    it: first the values not in plain digits, then the plain ones, each in order of first
    appearance (the order in which it lists them)."""
    found = {raw: why for part in parts for raw, why in part.items()}
    plain = {raw for raw in found if _PLAIN_DIGITS_RE.fullmatch(raw)}
    return {raw: why for raw, why in found.items() if raw not in plain} | {raw: why for raw, why in found.items() if raw in plain}


def choice_column(s: pd.Series, kind: str) -> tuple[pd.Series, list[str]]:
    """是/否 style values normalised; also the distinct values that were not recognised."""
    unknown: list[str] = []

    def normalize(raw: str) -> str:
        value, known = normalize_choice(kind, raw)
        if not known:
            unknown.append(raw)
        return value

    return clean_map(s, normalize), unknown


def category_column(path: pd.Series | None, levels: list[pd.Series | None]) -> pd.Series | None:
    if path is not None:
        return clean_map(path, normalize_category)
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
    non_ascii = pd.Series(~pc.fill_null(pc.string_is_ascii(arrow(s)), True).to_numpy(zero_copy_only=False), index=s.index)
    if non_ascii.any():
        import unicodedata

        s = s.mask(non_ascii, s[non_ascii].map(lambda v: unicodedata.normalize("NFKC", v).strip()))
    quoted = starts_with(s, b"'")
    if quoted.any():
        # '2024… : Excel's mark for "keep this as text", written into the cell by some exports;
        # no ticket id starts with it.
        s = s.mask(quoted, text_column(s[quoted].str.slice(1)))
    ends = pd.Series(pc.fill_null(pc.ends_with(arrow(s), ".0"), False).to_numpy(zero_copy_only=False), index=s.index)
    corrupted = matches(s, SCIENTIFIC_ID.pattern)
    if ends.any():
        # 2024010100121.0: a number cell written out as a float (a CSV made by a script or an
        # older Excel); a workbook's number cell reads 2024010100121, and so does this. Past 15
        # digits the float has already changed it, as in a workbook: corrupted, not an id.
        floated = ends & matches(s, r"^[0-9]{1,15}\.0$")
        corrupted |= ends & matches(s, r"^[0-9]{16,}\.0$")
        s = s.mask(floated, s[floated].str.slice(0, -2))
    return s, corrupted
