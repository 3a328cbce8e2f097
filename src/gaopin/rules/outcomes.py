"""Callback outcomes: which tickets count, and the 单否/双否 escalation rule.

Defined once here and used by `warn` (escalations), the ledger and the monthly report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaopin.io.canonical import equals
from gaopin.schema import NO, YES

SINGLE_NO, DOUBLE_NO = "单否", "双否"
UNSATISFIED = "不满意"


def valid_callback_mask(frame: pd.DataFrame, has_valid_column: bool) -> pd.Series:
    """Tickets with a valid callback (是否有效回访 = 是); where that is blank (an export without
    the column, loaded or imported beside one with it), every ticket with an outcome.

    Per ticket, not per load: tickets of an export without the column kept their 单否/双否 only
    until an export with the column was loaded beside them or imported into the same store."""
    outcome = (frame["resolved"].notna() | frame["satisfied"].notna() | frame["contacted"].notna()).astype(bool)
    if not has_valid_column:
        return outcome
    given = frame["valid_callback"]
    return (given.eq(YES).fillna(False).astype(bool) | (given.isna() & outcome)).astype(bool)


LEVELS = (None, SINGLE_NO, DOUBLE_NO)


def escalation_codes(frame: pd.DataFrame, has_valid_column: bool, valid: np.ndarray | None = None) -> np.ndarray:
    """Per ticket 0 none, 1 单否 (exactly one of 未解决 and 不满意), 2 双否 (both), only among
    valid callbacks (基本满意 and 部分解决 are not a "no"); LEVELS[code] names it. `valid`: the
    `valid_callback_mask` of the frame, when the caller has it."""
    if valid is None:
        valid = valid_callback_mask(frame, has_valid_column).to_numpy()
    not_resolved = equals(frame["resolved"], NO)
    unsatisfied = equals(frame["satisfied"], UNSATISFIED)
    return (valid & (not_resolved | unsatisfied)).astype(np.int8) + (valid & not_resolved & unsatisfied)


__all__ = ["SINGLE_NO", "DOUBLE_NO", "LEVELS", "valid_callback_mask", "escalation_codes", "YES"]
