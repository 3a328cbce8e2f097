"""Monthly performance: 响应率, 解决率, 满意率 and the composite score, by group.

Over the tickets of a period with a valid callback (是否有效回访 = 是; without that
column, every ticket with an outcome):
- 响应率 = contacted / valid callbacks;
- 解决率 = resolved / valid callbacks (部分解决 is not resolved);
- 满意率 = (满意 + basic_satisfied_factor × 基本满意) / valid callbacks (未评价 stays in the denominator);
- 综合成绩 = 100 × (w_r × 响应率 + w_s × 解决率 + w_m × 满意率).
A group's points lost = (its valid callbacks / all valid callbacks) × (100 − its score), so the
groups' points lost add up to 100 − the overall score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from gaopin.config import ScoreSettings
from gaopin.io.canonical import equals
from gaopin.rules.outcomes import escalation_codes, valid_callback_mask
from gaopin.rules.sorting import sorted_by_key
from gaopin.schema import YES

RATE_FIELDS = {"response_rate": "contacted", "resolution_rate": "resolved", "satisfaction_rate": "satisfied"}
COMPARED = ("tickets", "valid_callbacks", "response_rate", "resolution_rate", "satisfaction_rate", "score", "single_no", "double_no", "points_lost")
BLANK_GROUP = "（未填）"
DAY_S = 86_400
NAT = np.iinfo(np.int64).min  # NaT as int64


@dataclass(frozen=True)
class Weights:
    response_weight: float
    resolution_weight: float
    satisfaction_weight: float
    basic_satisfied_factor: float

    @classmethod
    def of(cls, score: ScoreSettings) -> "Weights":
        return cls(score.response_weight, score.resolution_weight, score.satisfaction_weight, score.basic_satisfied_factor)

    def to_dict(self) -> dict:
        return asdict(self)


def indicators(frame: pd.DataFrame, fields: frozenset[str] | set[str]) -> pd.DataFrame:
    """Per-ticket 0/1 columns that every metric is a sum of, plus days to close."""
    has_valid = "valid_callback" in fields
    valid = valid_callback_mask(frame, has_valid).to_numpy()
    # The 单否/双否 codes as numbers, not as text to be compared again (0.07 s at a million rows).
    level = escalation_codes(frame, has_valid, valid)
    # Calendar days between the two dates, from the seconds (NaT is the smallest int64: negative).
    received, closed = (frame[c].to_numpy(dtype="datetime64[s]").astype("int64") for c in ("received_at", "closed_at"))
    known = (received != NAT) & (closed != NAT)
    closed_days = np.where(known, closed // DAY_S - received // DAY_S, -1)

    def count(mask: np.ndarray) -> np.ndarray:
        return mask.astype("int64")

    return pd.DataFrame(
        {
            "tickets": 1,
            "valid": count(valid),
            "contacted": count(valid & equals(frame["contacted"], YES)),
            "resolved": count(valid & equals(frame["resolved"], YES)),
            "satisfied": count(valid & equals(frame["satisfied"], "满意")),
            "basic": count(valid & equals(frame["satisfied"], "基本满意")),
            "single_no": count(level == 1),
            "double_no": count(level == 2),
            "close_days": np.where(closed_days >= 0, closed_days, np.nan),
        },
        index=frame.index,
    )


def _rates(sums: dict[str, np.ndarray], fields: frozenset[str] | set[str], weights: Weights) -> dict[str, np.ndarray]:
    """The figures of each group from its summed indicators (int64 arrays, one value per group)."""
    divisor = np.where(sums["valid"] > 0, sums["valid"], np.nan)
    satisfied = sums["satisfied"] + weights.basic_satisfied_factor * sums["basic"]
    numerators = {"response_rate": sums["contacted"], "resolution_rate": sums["resolved"], "satisfaction_rate": satisfied}
    out = {"tickets": sums["tickets"], "valid_callbacks": sums["valid"]}
    for name, source in RATE_FIELDS.items():
        out[name] = numerators[name] / divisor if source in fields else np.full(len(divisor), np.nan)
    out["score"] = 100 * (
        weights.response_weight * out["response_rate"]
        + weights.resolution_weight * out["resolution_rate"]
        + weights.satisfaction_weight * out["satisfaction_rate"]
    )
    out["single_no"], out["double_no"] = sums["single_no"], sums["double_no"]
    return out


def _group_quantile(values: np.ndarray, start: np.ndarray, size: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each group's values (sorted within each group, which runs from `start`
    for `size` values): linear between the two nearest ranks, as pandas' groupby computes it
    (the same float, not only the same value rounded); NaN for a group without values."""
    out = np.full(len(size), np.nan)
    has = size > 0
    at = q * (size[has] - 1)
    below = np.floor(at).astype(np.int64)
    a = values[start[has] + below]
    b = values[start[has] + np.minimum(below + 1, size[has] - 1)]
    out[has] = a + (b - a) * (at % 1)
    return out


CHANGE_DECIMALS = 12


def _clean(value):
    """NaN → None; numpy scalars → Python. Rates and scores keep every digit: rounded here (to
    6 decimals, as before), 501/1001 = 50.0499…% became 0.5005 and showed as 50.1%; every output
    rounds as the workbook shows (numbers.py), from the full value."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def records(table: pd.DataFrame, named: bool) -> list[dict]:
    out = []
    # to_dict keeps each column's own type (iterrows would turn counts into floats).
    for name, row in zip(table.index, table.to_dict("records")):
        rec = {"name": str(name)} if named else {}
        rec.update({k: _clean(v) for k, v in row.items()})
        out.append(rec)
    return out


SUMMED = ("tickets", "valid", "contacted", "resolved", "satisfied", "basic", "single_no", "double_no")


def group_codes(by: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each row's group as an integer code into the sorted group names (blank → BLANK_GROUP).

    Factorised once, the codes of a whole frame serve every subset of its rows."""
    # The distinct values named and sorted, not a million cells filled and sorted (0.05 s each).
    codes, values = pd.factorize(by, use_na_sentinel=True)
    return group_codes_of(codes.astype(np.int64, copy=False), [str(v) for v in values.tolist()])


def group_codes_of(codes: np.ndarray, labels: list[str]) -> tuple[np.ndarray, pd.Index]:
    """`group_codes` of rows given as codes into `labels` (-1: blank), without their text."""
    values = np.array([label or BLANK_GROUP for label in labels] + [BLANK_GROUP], dtype=object)
    names, inverse = np.unique(values, return_inverse=True)  # sorted as factorize(sort=True) sorts
    row_names = inverse[codes]
    # Only the names some row has, renumbered in order: counted, not sorted again.
    present = np.bincount(row_names, minlength=len(names)) > 0
    renumber = np.cumsum(present) - 1
    return renumber[row_names].astype(np.int64), pd.Index(names[present], dtype=object)


def summarize(
    ind: pd.DataFrame,
    fields,
    weights: Weights,
    groups: tuple[np.ndarray, pd.Index] | None = None,
    total_valid: int | None = None,
    overall_score: float | None = None,
) -> pd.DataFrame:
    """Metrics from `indicators` rows: of them all (groups=None) or of each group (codes, names)
    that has rows, in code order."""
    if groups is None:
        table = _rates({c: np.array([ind[c].sum()], dtype=np.int64) for c in SUMMED}, fields, weights)
        days = ind["close_days"].dropna()
        table["days_to_close_median"] = np.array([float(days.median()) if len(days) else np.nan])
        table["days_to_close_p90"] = np.array([float(days.quantile(0.9)) if len(days) else np.nan])
        table["points_lost"] = 100 - table["score"]
        return pd.DataFrame(table)
    codes, names = groups
    # Counted with numpy, one pass per column: pandas' groupby costs about 20 ms per table in
    # overheads alone, and a report makes fourteen.
    n = len(names)
    rows = np.bincount(codes, minlength=n)
    sums = {c: np.bincount(codes, weights=ind[c].to_numpy(), minlength=n).astype(np.int64) for c in SUMMED if c != "tickets"}
    table = _rates({"tickets": rows, **sums}, fields, weights)
    days = ind["close_days"].to_numpy()
    dated = ~np.isnan(days)
    group = codes[dated]
    value = sorted_by_key(group, days[dated])  # each group's days in order, for its quantiles
    size = np.bincount(group, minlength=n)
    start = np.cumsum(size) - size
    table["days_to_close_median"] = _group_quantile(value, start, size, 0.5)
    table["days_to_close_p90"] = _group_quantile(value, start, size, 0.9)
    if total_valid and overall_score is not None and not np.isnan(overall_score):
        table["points_lost"] = table["valid_callbacks"] / total_valid * (100 - table["score"])
    else:
        table["points_lost"] = np.full(n, np.nan)
    present = np.flatnonzero(rows)  # a group without rows here is left out, as groupby leaves it
    return pd.DataFrame({k: v[present] for k, v in table.items()}, index=names[present])


def compute(frame: pd.DataFrame, fields, weights: Weights, by: pd.Series | None = None, total_valid: int | None = None, overall_score: float | None = None) -> pd.DataFrame:
    """Metrics of the whole frame (by=None) or of each group of `by`, as a table."""
    groups = None if by is None else group_codes(by)
    return summarize(indicators(frame, fields), fields, weights, groups, total_valid, overall_score)


def overall(frame: pd.DataFrame, fields, weights: Weights) -> dict:
    return records(compute(frame, fields, weights), named=False)[0]


def breakdown_of(ind: pd.DataFrame, fields, weights: Weights, groups: tuple[np.ndarray, pd.Index], whole: pd.DataFrame) -> list[dict]:
    """`breakdown` from indicator rows, their group codes and their (unrounded) `summarize` total."""
    table = summarize(ind, fields, weights, groups, int(whole["valid_callbacks"].iloc[0]), whole["score"].iloc[0])
    table = table.sort_values(["tickets"], ascending=False, kind="stable")
    return records(table, named=True)


def breakdown(frame: pd.DataFrame, fields, weights: Weights, by: pd.Series) -> list[dict]:
    ind = indicators(frame, fields)
    return breakdown_of(ind, fields, weights, group_codes(by), summarize(ind, fields, weights))


def with_previous(current: list[dict] | dict, previous: list[dict] | dict) -> None:
    """Attach each figure's previous value and the change, matching groups by name."""
    pairs: list[tuple[dict, dict | None]]
    if isinstance(current, dict):
        pairs = [(current, previous if isinstance(previous, dict) else None)]
    else:
        prev_by_name = {p["name"]: p for p in previous} if isinstance(previous, list) else {}
        pairs = [(c, prev_by_name.get(c["name"])) for c in current]
    for cur, prev in pairs:
        if prev is None:
            cur["previous"] = None
            cur["change"] = None
            continue
        cur["previous"] = {k: prev.get(k) for k in COMPARED}
        # Rounded to 12 decimals: off the subtraction's noise (0.5005 - 0.5 is 0.000499999…945,
        # which would show 0.0 instead of 0.1 percentage points), not off a real difference.
        cur["change"] = {
            k: None if cur.get(k) is None or prev.get(k) is None else round(cur[k] - prev[k], CHANGE_DECIMALS) for k in COMPARED
        }


def missing_columns(fields) -> list[str]:
    """The outcome columns this data lacks; their rates show as "—" and no score is given."""
    return [source for source in RATE_FIELDS.values() if source not in fields]
