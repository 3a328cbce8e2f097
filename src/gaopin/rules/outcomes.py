"""Callback outcomes: which tickets count, and the 单否/双否 escalation rule.

Defined once here and used by `warn` (escalations), the ledger and the monthly report.
"""

from __future__ import annotations

import pandas as pd

from gaopin.schema import NO, YES

SINGLE_NO, DOUBLE_NO = "单否", "双否"
UNSATISFIED = "不满意"


def valid_callback_mask(frame: pd.DataFrame, has_valid_column: bool) -> pd.Series:
    """Tickets with a valid callback (是否有效回访 = 是); without that column, every ticket with an outcome."""
    if has_valid_column:
        return frame["valid_callback"].eq(YES).fillna(False).astype(bool)
    outcome = frame["resolved"].notna() | frame["satisfied"].notna() | frame["contacted"].notna()
    return outcome.astype(bool)


def escalation_level(frame: pd.DataFrame, has_valid_column: bool) -> pd.Series:
    """单否 (exactly one of 未解决 and 不满意), 双否 (both), else NA; only among valid callbacks.

    基本满意 and 部分解决 are not a "no".
    """
    valid = valid_callback_mask(frame, has_valid_column)
    not_resolved = frame["resolved"].eq(NO).fillna(False).astype(bool)
    unsatisfied = frame["satisfied"].eq(UNSATISFIED).fillna(False).astype(bool)
    level = pd.Series(pd.NA, index=frame.index, dtype="str")
    level = level.mask(valid & (not_resolved ^ unsatisfied), SINGLE_NO)
    level = level.mask(valid & not_resolved & unsatisfied, DOUBLE_NO)
    return level


__all__ = ["SINGLE_NO", "DOUBLE_NO", "valid_callback_mask", "escalation_level", "YES"]
