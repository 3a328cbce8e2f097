"""`_key_tickets` (each kind's usable tickets sorted by key and time) against a plain reference."""

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from gaopin.ledger.refresh import Columns, _key_tickets

ticket = st.tuples(st.integers(-1, 6), st.integers(0, 3), st.booleans())  # key code, time, dated


def columns(items, n_keys):
    key = np.array([k for k, _, _ in items], dtype="int64")
    received = np.array([t for _, t, _ in items], dtype="int64")
    dated = np.array([d for _, _, d in items], dtype=bool)
    names = pd.Index([f"K{i}" for i in range(n_keys)], dtype=object)
    return Columns(
        point=key, points=names, person=key, persons=names, issue=key, issues=names,
        day=received // 2, received=received, dated=dated,
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(ticket, max_size=40))
def test_key_tickets_equal_the_reference(items):
    cols = columns(items, 7)
    kt = _key_tickets(cols, "point")
    # Reference: keys with a dated ticket, in code order; each key's rows by (time, row).
    keys = sorted({k for k, _, d in items if k >= 0 and d})
    want_rows = [[i for i, (k, t, d) in sorted(enumerate(items), key=lambda it: (it[1][1], it[0])) if k == key and d] for key in keys]
    assert kt.keys.tolist() == [f"K{k}" for k in keys]
    assert [kt.rows[kt.slice(c)].tolist() for c in range(len(keys))] == want_rows
    assert [kt.days(c).tolist() for c in range(len(keys))] == [[items[i][1] // 2 for i in rows] for rows in want_rows]
    assert kt.codes(["K3", "nope"]).tolist() == [keys.index(3) if 3 in keys else -1, -1]
