"""The person behind a ticket: phone numbers linked by name and point.

Two usable phone numbers belong to one person when they were used under the same caller
name at the same point; linking is transitive across all loaded tickets. Names that say
nothing (匿名, 市民, a bare 先生 …) never link. Manual links join numbers; an unlinked
number stands alone. A person is named by the smallest of its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from gaopin.io.canonical import ONE_DIGIT_REPEATED, map_unique, matches
from gaopin.schema import compact, is_usable_phone

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


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller number becomes the root: person ids are deterministic.
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def usable_phones(phone: pd.Series) -> pd.Series:
    """The phone where it can identify a person (≥7 digits, not one digit repeated), else NA."""
    ok = matches(phone, r"^[0-9]{7,}$") & ~matches(phone, ONE_DIGIT_REPEATED)
    return phone.where(ok, pd.NA).astype("str")


def person_column(phone: pd.Series, name: pd.Series, point: pd.Series, links: Links = Links()) -> pd.Series:
    """The person id (smallest linked phone) of every ticket; NA without a usable phone."""
    usable = usable_phones(phone)
    names = map_unique(name, name_key)
    frame = pd.DataFrame({"phone": usable, "name": names, "point": point})
    candidates = frame.dropna().drop_duplicates()
    if links.unlinked:
        candidates = candidates[~candidates["phone"].isin(links.unlinked)]
    # Only (name, point) pairs used from two or more numbers produce links: each of their
    # numbers is joined to the pair's first number.
    grouped = candidates.groupby(["name", "point"], sort=False)["phone"]
    shared = candidates.assign(first=grouped.transform("first"), n=grouped.transform("size"))
    shared = shared[shared["n"] > 1]
    uf = _UnionFind()
    for a, b in zip(shared["first"].tolist(), shared["phone"].tolist()):
        if a != b:
            uf.union(a, b)
    for a, b in links.pairs:
        if a not in links.unlinked and b not in links.unlinked:
            uf.union(a, b)
    if not uf.parent:
        return usable
    roots = {p: uf.find(p) for p in uf.parent}
    mapped = usable.map(roots)
    return mapped.where(mapped.notna(), usable).astype("str")
