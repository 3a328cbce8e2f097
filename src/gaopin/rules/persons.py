"""The person behind a ticket: phone numbers linked by name and point.

Two usable phone numbers belong to one person when they were used under the same caller
name at the same point; linking is transitive across all loaded tickets. Names that say
nothing (匿名, 市民, a bare 先生 …) never link. Manual links join numbers; an unlinked
number stands alone. A person is named by the smallest of its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gaopin.io.canonical import ONE_DIGIT_REPEATED, arrow, one_digit_repeated, series
from gaopin.rules.sorting import first_of, sorted_unique
from gaopin.schema import MIN_PHONE_DIGITS, compact

# The list, plus the other placeholders exports use for "a resident" (居民, 业主 …).
GENERIC_NAMES = frozenset(
    compact(n)
    for n in (
        "保密", "匿名", "匿名用户", "市民", "未知", "不详", "无", "先生", "女士",
        "居民", "业主", "群众", "网友", "热心市民", "匿名市民", "来电人", "用户",
    )
)  # fmt: skip


def name_key(name: str) -> str:
    """The name as a linking key, or "" for a name that says nothing."""
    key = compact(name)
    return "" if key in GENERIC_NAMES else key


@dataclass(frozen=True)
class Links:
    """Manual person merges and splits, kept in the store; they override the automatic rule."""

    pairs: tuple[tuple[str, str], ...] = ()
    unlinked: frozenset[str] = field(default_factory=frozenset)


def usable_phones(phone: pd.Series) -> pd.Series:
    """The phone where it can identify a person (`schema.is_usable_phone`), else NA."""
    codes, phones = phone_codes(phone)
    return _at_codes(phones, codes, phone.index).rename(phone.name)


# Usable numbers of up to this many digits are hashed as integers: length and value in one int64
# ("0101234567" and "101234567" stay apart). A longer one sends the column to text hashing.
_INT_DIGITS = 17


def phone_codes(phone: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Integer codes of the usable phones (-1 for none), numbered in order of first appearance,
    and the distinct usable phones in code order: `pd.factorize(usable_phones(phone))`.

    Usable: `schema.is_usable_phone` (ASCII digits only, at least MIN_PHONE_DIGITS of them, not
    one digit repeated), computed for the whole column. A district year has a million tickets
    and 600,000 numbers: read as integers, they are checked with arithmetic and hashed several
    times faster than as text."""
    values = arrow(phone).combine_chunks()
    size = pc.fill_null(pc.binary_length(values), 0)  # bytes: one per ASCII digit
    candidate = pc.and_(pc.ascii_is_decimal(values), pc.greater_equal(size, MIN_PHONE_DIGITS))
    rows = np.flatnonzero(pc.fill_null(candidate, False).to_numpy(zero_copy_only=False))
    lengths = size.to_numpy(zero_copy_only=False)[rows].astype(np.int64)
    if len(rows) and int(lengths.max()) > _INT_DIGITS:
        return _phone_codes_as_text(values, rows)
    number = pc.cast(values.take(pa.array(rows)), pa.int64()).to_numpy(zero_copy_only=False)
    keep = ~one_digit_repeated(number, lengths)
    rows, number, lengths = rows[keep], number[keep], lengths[keep]
    found, _ = pd.factorize(lengths * 10**_INT_DIGITS + number)
    return _coded(values, rows, found.astype(np.int64, copy=False))


def _phone_codes_as_text(values: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """`phone_codes` for a column with a number too long for an int64."""
    texts = values.take(pa.array(rows))
    repeated = pc.match_substring_regex(texts, ONE_DIGIT_REPEATED).to_numpy(zero_copy_only=False)
    rows, texts = rows[~repeated], texts.filter(pa.array(~repeated))
    found, _ = pd.factorize(pd.array(texts, dtype="str"))
    return _coded(values, rows, found.astype(np.int64, copy=False))


def _coded(values: pa.Array, rows: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Codes of every row (found at `rows`, -1 elsewhere) and each code's value (its first row's)."""
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[rows] = found
    return codes, values.take(pa.array(first_of(found, rows))).cast(pa.large_string())


def _at_codes(phones: pa.Array, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The phone of each code (NA for -1), as a text column."""
    return series(pc.take(phones, pa.array(codes, mask=codes < 0)), index)


def person_column(phone: pd.Series, name: pd.Series, point: pd.Series, links: Links = Links()) -> pd.Series:
    """The person id (smallest linked phone) of every ticket; NA without a usable phone."""
    point_codes, _ = pd.factorize(point, use_na_sentinel=True)
    return link_persons(callers(phone, name), point_codes, links)[0]


@dataclass
class Callers:
    """What linking needs from the phone and name columns, as integer codes."""

    index: pd.Index  # the tickets'
    phone_codes: np.ndarray  # code of each ticket's usable phone in `phones`, -1 for none
    phones: pa.Array  # the distinct usable phones, in code order (large_string)
    name_keys: np.ndarray  # code of each ticket's name key, -1 for a name that says nothing


def callers(phone: pd.Series, name: pd.Series) -> Callers:
    """The first half of `person_column`, apart from the points: mostly Arrow's and numpy's
    work, which releases the GIL, so that it can run in a thread while the points are normalised."""
    # Integer codes throughout: a district year has a million tickets and 100,000s of numbers.
    codes, phones = phone_codes(phone)
    name_codes, names = pd.factorize(name, use_na_sentinel=True)
    key_codes, _ = pd.factorize(pd.Series([name_key(n) or None for n in names.tolist()], dtype="str"), use_na_sentinel=True)
    name_keys = np.append(key_codes, -1)[name_codes]  # a blank name (code -1) has no key either
    return Callers(phone.index, codes, phones, name_keys)


def link_persons(found: Callers, point_codes: np.ndarray, links: Links = Links()) -> tuple[pd.Series, np.ndarray]:
    """`person_column` from `callers` and the points' codes (-1 for none); also the persons'
    integer codes (-1 for none), equal exactly where the person ids are."""
    codes, nodes = linked_persons(found, point_codes, links)
    return _at_codes(nodes, codes, found.index), codes


def linked_persons(found: Callers, point_codes: np.ndarray, links: Links = Links()) -> tuple[np.ndarray, pa.Array]:
    """`link_persons` as codes: each ticket's person as a code (-1 for none) into the numbers
    returned with them, where each person's code is that of its id (its smallest number)."""
    phone_codes, nodes, name_keys = found.phone_codes.astype(np.int64, copy=False), found.phones, found.name_keys
    code_of: dict[str, int] = {}
    if links.pairs or links.unlinked:
        known = nodes.to_pylist()
        extra = sorted({p for pair in links.pairs for p in pair} - set(known))
        # Numbers only linked by hand can still join (and name) a person.
        nodes = pa.concat_arrays([nodes, pa.array(extra, type=pa.large_string())])
        code_of = {p: i for i, p in enumerate(known + extra)}
    usable_row = (phone_codes >= 0) & (name_keys >= 0) & (point_codes >= 0)
    if links.unlinked and len(nodes):
        unlinked = np.zeros(len(nodes), dtype=bool)
        unlinked[[code_of[p] for p in links.unlinked if p in code_of]] = True
        usable_row &= ~unlinked[np.where(phone_codes >= 0, phone_codes, 0)]
    rows = np.flatnonzero(usable_row)
    # Only (name, point) pairs used from two or more numbers produce links: each of their
    # numbers is joined to the pair's first (smallest code) number.
    pair = name_keys[rows].astype(np.int64) * (int(point_codes.max(initial=0)) + 1) + point_codes[rows]
    if len(pair) and (int(pair.max()) + 1) * max(len(nodes), 1) >= 1 << 62:
        pair, _ = pd.factorize(pair)  # renumbered densely, so that (pair, phone) fits one int64
    # Pairs are only grouped, never ordered by meaning: their raw numbers do, unhashed.
    triples = sorted_unique(pair.astype(np.int64) * max(len(nodes), 1) + phone_codes[rows])
    pair_of, phone_of = np.divmod(triples, max(len(nodes), 1))
    first = np.ones(len(triples), dtype=bool)
    first[1:] = pair_of[1:] != pair_of[:-1]
    head = phone_of[np.flatnonzero(first)[np.cumsum(first) - 1]]
    a, b = head[~first], phone_of[~first]
    manual = [(code_of[x], code_of[y]) for x, y in links.pairs if x not in links.unlinked and y not in links.unlinked]
    if manual:
        a = np.concatenate([a, np.array([x for x, _ in manual], dtype=np.int64)])
        b = np.concatenate([b, np.array([y for _, y in manual], dtype=np.int64)])
    if not len(a):
        return phone_codes, nodes
    root = _smallest_linked(nodes, a, b)
    return np.where(phone_codes >= 0, root[phone_codes], -1), nodes


def _smallest_linked(nodes: pa.Array, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For every node, the code of the smallest node (as text) connected to it by the edges a–b."""
    touched = sorted_unique(np.concatenate([a, b]))
    # Rank the linked numbers as text, so that the smallest label of a component is its smallest number.
    # Arrow compares UTF-8 bytes, which order as the code points (Python's order); the
    # numbers are distinct, so no tie makes the order depend on the sort's stability.
    order = pc.sort_indices(nodes.take(pa.array(touched))).to_numpy()
    rank = np.empty(len(touched), dtype=np.int64)
    rank[order] = np.arange(len(touched))
    ra, rb = rank[np.searchsorted(touched, a)], rank[np.searchsorted(touched, b)]
    label = np.arange(len(touched))
    while True:
        # Hook each edge's larger root under the smaller one, then flatten every tree.
        la, lb = label[ra], label[rb]
        if (la == lb).all():
            break
        low = np.minimum(la, lb)
        np.minimum.at(label, la, low)
        np.minimum.at(label, lb, low)
        while True:
            up = label[label]
            if (up == label).all():
                break
            label = up
    root = np.arange(len(nodes))
    by_rank = touched[order]
    root[touched] = by_rank[label[rank]]
    return root
