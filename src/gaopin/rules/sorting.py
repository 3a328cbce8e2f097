"""Sorting and grouping at a million rows: numpy's stable sort of int64 is a timsort and `lexsort`
sorts once per key; one quicksort of one distinct int64 per row is several times faster. Used by
the warning rules, person linking, the ledger and the report's figures alike."""

from __future__ import annotations

import numpy as np


def stable_order(key: np.ndarray, received: np.ndarray) -> np.ndarray:
    """np.lexsort((received, key)), which also orders the days (a function of the time).

    One int64 per row sorted by quicksort is several times faster than a stable sort; the
    few rows with equal (key, time) are then put back in row order, as a stable sort leaves them.
    """
    if not len(key):
        return np.lexsort((received, key))
    low, span = int(received.min()), int(received.max()) - int(received.min()) + 1
    if (int(key.max()) + 1) * span >= 1 << 62:
        return np.lexsort((received, key))
    combined = key * span + (received - low)
    order = np.argsort(combined)
    ordered = combined[order]
    at = tied_positions(ordered)
    if len(at):
        # Runs of equal values are contiguous: sorting their members by (value, row) fixes each run.
        order[at] = order[at][np.lexsort((order[at], ordered[at]))]
    return order


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """np.argsort(key, kind="stable"), by a quicksort of (key, row) made one distinct int64:
    numpy's stable sort of int64 is a timsort, several times slower."""
    n = len(key)
    if not n:
        return np.argsort(key, kind="stable")
    low = int(key.min())
    if (int(key.max()) - low + 1) * n >= 1 << 62:
        return np.argsort(key, kind="stable")
    return np.argsort((key.astype(np.int64) - low) * n + np.arange(n, dtype=np.int64))


def sorted_by_key(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values[np.lexsort((values, key))]`: the values ordered by `key` (codes, not negative),
    then by value. Whole values (days, counts) are sorted with their key as one int64, without
    an argsort, many times faster than lexsort; others (fractions, huge values) by lexsort."""
    if not len(values) or not np.abs(values).max() < 1 << 61:  # (NaN too: not below)
        return values[np.lexsort((values, key))]
    whole = values.astype(np.int64)
    low = int(whole.min())
    span = int(whole.max()) - low + 1
    if not np.array_equal(whole, values) or (int(key.max()) + 1) * span >= 1 << 62:
        return values[np.lexsort((values, key))]
    return (np.sort(key.astype(np.int64) * span + (whole - low)) % span + low).astype(values.dtype)


def tied_positions(ordered: np.ndarray) -> np.ndarray:
    """Positions of a sorted array that belong to a run of two or more equal values."""
    tie = ordered[1:] == ordered[:-1]
    member = np.zeros(len(ordered), dtype=bool)
    member[1:] |= tie
    member[:-1] |= tie
    return np.flatnonzero(member)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique hashes first in numpy 2, several times slower
    than sorting here)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def first_of(codes: np.ndarray, values: np.ndarray, size: int | None = None) -> np.ndarray:
    """For each code 0 … size-1 (default: the largest code), the value at its first occurrence;
    `codes` and `values` run in parallel. Written in reverse, so that numpy's last write to a
    repeated position is the first occurrence."""
    first = np.zeros(int(codes.max(initial=-1)) + 1 if size is None else size, dtype=np.int64)
    first[codes[::-1]] = values[::-1]
    return first
