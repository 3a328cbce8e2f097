"""Threshold crossings: when a key first has ≥ N tickets within D consecutive calendar days.

The count is vectorised over all keys at once (one sort, one searchsorted); the persons
condition of the `issue` kind is checked with a sliding window only for the keys whose
counts already cross.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

KEY_SPAN = 1 << 22  # larger than any day number (days since 1970) we will see


def first_crossings(keys: np.ndarray, days: np.ndarray, min_tickets: int, window: int) -> pd.Series:
    """For each key, the first day d on which days d-window+1 … d hold ≥ min_tickets tickets.

    keys: integer codes ≥ 0; days: integer day numbers. Keys that never cross are absent.
    """
    if len(keys) == 0:
        return pd.Series([], dtype="int64")
    # Only the (key, day) values matter, not which row is which: one sort of one int64 each,
    # none when they come sorted (the ledger hands them over sorted by key and time). Days are
    # counted from a window before the earliest, so that a day and the start of its window
    # both fall within the key's span, whatever the day numbers are.
    days = days.astype("int64")
    base = int(days.min()) - window
    if int(days.max()) - base >= KEY_SPAN:
        raise ValueError("the days span more than KEY_SPAN")
    combined = keys.astype("int64") * KEY_SPAN + (days - base)
    if not (combined[1:] >= combined[:-1]).all():
        combined = np.sort(combined)
    k, d = np.divmod(combined, KEY_SPAN)
    d = d + base
    # All tickets of the same day count, wherever the ticket sits within that day.
    right = np.searchsorted(combined, combined, side="right")
    left = np.searchsorted(combined, combined - (window - 1), side="left")
    hit = (right - left) >= min_tickets
    if not hit.any():
        return pd.Series([], dtype="int64")
    found = pd.DataFrame({"key": k[hit], "day": d[hit]}).groupby("key")["day"].min()
    return found


def first_crossing_with_persons(
    days: np.ndarray, persons: list, min_tickets: int, min_persons: int, window: int
) -> int | None:
    """The first day a window of `window` days holds ≥ min_tickets tickets from ≥ min_persons persons.

    days must be sorted; persons[i] is None for a ticket without a usable phone.
    """
    n = len(days)
    lo = 0
    counts: Counter = Counter()
    distinct = 0
    i = 0
    while i < n:
        # Take in every ticket of day days[i].
        j = i
        while j < n and days[j] == days[i]:
            p = persons[j]
            if p is not None:
                counts[p] += 1
                if counts[p] == 1:
                    distinct += 1
            j += 1
        while days[lo] <= days[i] - window:
            p = persons[lo]
            if p is not None:
                counts[p] -= 1
                if counts[p] == 0:
                    distinct -= 1
            lo += 1
        if j - lo >= min_tickets and distinct >= min_persons:
            return int(days[i])
        i = j
    return None
