"""The early-warning rules (提早预警): `point_day` and `two_day`.

Both work on one vectorised pass over (point, problem, day) counts, not a Python loop
per group: a district year has hundreds of thousands of groups.

- point_day: a point and problem with ≥ min_tickets tickets on one calendar day; one
  warning per point, problem and day.
- two_day: the window of day d holds the tickets of days d-1 and d; it fires with
  ≥ min_tickets tickets from ≥ min_persons distinct persons. Firing windows of one point
  and problem that share a ticket chain into one warning holding their union.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from gaopin.config import RulesSettings
from gaopin.privacy import mask_phones_in_text
from gaopin.rules.prepare import DAY, PERSON, POINT, PROBLEM

POINT_DAY, TWO_DAY = "point_day", "two_day"
RULE_LABELS = {POINT_DAY: "单日同点位", TWO_DAY: "两日多人"}
UNASSIGNED = "unassigned"
MAX_TITLES = 3


@dataclass
class Warning:
    rule: str
    point: str
    category: str
    community: str
    start: date
    end: date
    tickets: int
    persons: int
    ticket_ids: list[str]
    owner: str = UNASSIGNED
    titles: list[str] = field(default_factory=list)  # the key content, for the leaders' message

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "point": self.point,
            "category": self.category,
            "community": self.community,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tickets": self.tickets,
            "persons": self.persons,
            "ticket_ids": list(self.ticket_ids),
            "owner": self.owner,
            "titles": list(self.titles),
        }

    @property
    def id(self) -> str:
        """A stable identity for exactly-once delivery: rule, point, problem and first day."""
        return f"{self.rule}|{self.point}|{self.category}|{self.start.isoformat()}"


KEY_SPAN = 1 << 22  # larger than any day number (days since 1970)


def _codes(values: pd.Series) -> np.ndarray:
    """Dense integer codes of a column (-1 for blank); the code order carries no meaning."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.astype("int64")


def _rule_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Usable tickets as integers only, sorted by (key, day): key per (point, problem),
    day number, person code (-1: none) and the row position in the prepared frame."""
    usable = (frame[POINT].notna() & frame[DAY].notna()).to_numpy()
    positions = np.flatnonzero(usable)
    point = _codes(frame[POINT].iloc[positions])
    problem = _codes(frame[PROBLEM].iloc[positions])
    key = _codes(pd.Series(point * (int(problem.max(initial=0)) + 1) + problem))
    d = frame[DAY].to_numpy()[positions].astype("datetime64[D]").astype("int64")
    person = _codes(frame[PERSON].iloc[positions])
    received = frame["received_at"].to_numpy()[positions].astype("int64")
    # Time order within a group too, so that a warning's tickets are already in order.
    order = np.lexsort((received, d, key))
    return pd.DataFrame({"key": key[order], "d": d[order], "person": person[order], "pos": positions[order]})


def _daily(rf: pd.DataFrame) -> pd.DataFrame:
    return rf.groupby(["key", "d"], sort=True).size().rename("n").reset_index()


def point_day_groups(rf: pd.DataFrame, min_tickets: int) -> pd.DataFrame:
    """(key, lo, hi) of each firing point-day: lo = hi = the day."""
    daily = _daily(rf)
    hit = daily[daily["n"] >= min_tickets]
    return pd.DataFrame({"key": hit["key"].to_numpy(), "lo": hit["d"].to_numpy(), "hi": hit["d"].to_numpy()})


def two_day_groups(rf: pd.DataFrame, min_tickets: int, min_persons: int) -> pd.DataFrame:
    """(key, lo, hi) of each chain of firing two-day windows: tickets of days lo..hi."""
    daily = _daily(rf)
    if daily.empty:
        return pd.DataFrame({"key": [], "lo": [], "hi": []}, dtype="int64")
    # Windows ending on a day without tickets are subsets of the day before: skip them.
    prev = daily.assign(d=daily["d"] + 1).rename(columns={"n": "n_prev"})
    win = daily.merge(prev, on=["key", "d"], how="left")
    win["n_prev"] = win["n_prev"].fillna(0).astype("int64")
    win["total"] = win["n"] + win["n_prev"]
    persons = rf.loc[rf["person"] >= 0, ["key", "d", "person"]].drop_duplicates()
    per_day = persons.groupby(["key", "d"]).size().rename("p").reset_index()
    shared = persons.merge(persons.assign(d=persons["d"] + 1), on=["key", "d", "person"])
    both = shared.groupby(["key", "d"]).size().rename("both").reset_index()
    win = win.merge(per_day, on=["key", "d"], how="left")
    win = win.merge(per_day.assign(d=per_day["d"] + 1).rename(columns={"p": "p_prev"}), on=["key", "d"], how="left")
    win = win.merge(both, on=["key", "d"], how="left")
    win = win.fillna({"p": 0, "p_prev": 0, "both": 0})
    win["persons"] = (win["p"] + win["p_prev"] - win["both"]).astype("int64")
    fire = win[(win["total"] >= min_tickets) & (win["persons"] >= min_persons)].sort_values(["key", "d"])
    if fire.empty:
        return pd.DataFrame({"key": [], "lo": [], "hi": []}, dtype="int64")
    key = fire["key"].to_numpy()
    d = fire["d"].to_numpy()
    # Windows d and d+1 share the tickets of day d (which has some); d and d+2 share none.
    new_chain = np.ones(len(fire), dtype=bool)
    new_chain[1:] = (key[1:] != key[:-1]) | (d[1:] - d[:-1] != 1)
    chain = np.cumsum(new_chain)
    chains = pd.DataFrame({"chain": chain, "key": key, "d": d}).groupby("chain").agg(
        key=("key", "first"), first=("d", "min"), last=("d", "max")
    )
    return pd.DataFrame(
        {"key": chains["key"].to_numpy(), "lo": chains["first"].to_numpy() - 1, "hi": chains["last"].to_numpy()}
    )


def _collect(frame: pd.DataFrame, rf: pd.DataFrame, groups: pd.DataFrame, rule: str, mask: bool) -> list[Warning]:
    """The tickets of each (key, lo, hi) group, as warnings.

    rf is sorted by (key, day), so each group's tickets are one contiguous slice, found by
    binary search; the columns are gathered once for all warnings.
    """
    if groups.empty:
        return []
    combined = rf["key"].to_numpy() * KEY_SPAN + rf["d"].to_numpy()
    gkey = groups["key"].to_numpy().astype("int64")
    starts = np.searchsorted(combined, gkey * KEY_SPAN + groups["lo"].to_numpy(), side="left")
    ends = np.searchsorted(combined, gkey * KEY_SPAN + groups["hi"].to_numpy(), side="right")
    pos = rf["pos"].to_numpy()
    take = np.concatenate([pos[a:b] for a, b in zip(starts, ends)])
    offsets = np.concatenate([[0], np.cumsum(ends - starts)])

    def column(name: str) -> list:
        values = frame[name].iloc[take]
        return values.astype(object).where(values.notna(), None).tolist()

    ids, received, persons = column("ticket_id"), frame["received_at"].to_numpy()[take], column(PERSON)
    points, problems, communities, titles = column(POINT), column(PROBLEM), column("community"), column("title")
    days = rf["d"].to_numpy()
    masked: dict[str, str] = {}
    out = []
    for i in range(len(groups)):
        lo, hi = offsets[i], offsets[i + 1]
        # rf is in time order within a group; equal times (rare) are put in id order.
        order = list(range(lo, hi))
        if any(received[j] == received[j + 1] for j in range(lo, hi - 1)):
            order.sort(key=lambda j: (received[j], ids[j]))
        present = [c for c in communities[lo:hi] if c is not None]
        if present and present.count(present[0]) == len(present):
            community = present[0]
        else:
            counts = Counter(present)
            community = min(counts, key=lambda c: (-counts[c], c)) if counts else ""
        shown: list[str] = []
        for j in order:
            title = titles[j]
            if title is None:
                continue
            if mask:
                title = _masked(title, masked)
            if title not in shown:
                shown.append(title)
                if len(shown) == MAX_TITLES:
                    break
        out.append(
            Warning(
                rule=rule,
                point=_masked(str(points[lo]), masked) if mask else str(points[lo]),
                category=str(problems[lo]),
                community=community,
                start=_to_date(days[starts[i]]),
                end=_to_date(days[ends[i] - 1]),
                tickets=int(hi - lo),
                persons=len({p for p in persons[lo:hi] if p is not None}),
                ticket_ids=[str(ids[j]) for j in order],
                titles=shown,
            )
        )
    return out


def _masked(text: str, cache: dict[str, str]) -> str:
    """Phone numbers typed into a title or an address (and so a point), masked once per text."""
    if text not in cache:
        cache[text] = mask_phones_in_text(text)
    return cache[text]


def _to_date(day_number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(day_number))


def find_warnings(frame: pd.DataFrame, rules: RulesSettings, mask_phones: bool = True) -> list[Warning]:
    """Every warning of both rules over a prepared frame, in a stable order."""
    rf = _rule_frame(frame)
    warnings = _collect(frame, rf, point_day_groups(rf, rules.point_day.min_tickets), POINT_DAY, mask_phones)
    two_day = two_day_groups(rf, rules.two_day.min_tickets, rules.two_day.min_persons)
    warnings += _collect(frame, rf, two_day, TWO_DAY, mask_phones)
    warnings.sort(key=lambda w: (w.start, w.end, w.rule, w.point, w.category))
    return warnings
