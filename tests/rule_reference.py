"""Plain, obviously-correct implementations of the warning rules: the test oracle.

Written straight from the rule text with loops over days, to check the vectorised
implementation in gaopin.rules.warnings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta


def reference_warnings(tickets, point_day_min=3, two_day_min=5, two_day_persons=2):
    """tickets: dicts with ticket_id, point, problem, day (date), person (str or None).

    Returns a set of (rule, point, problem, start, end, frozenset(ticket_ids)).
    """
    by_group = defaultdict(lambda: defaultdict(list))
    for t in tickets:
        if t["point"] is None or t["day"] is None:
            continue
        by_group[(t["point"], t["problem"])][t["day"]].append(t)
    out = set()
    for (point, problem), days in by_group.items():
        for day, ts in days.items():
            if len(ts) >= point_day_min:
                out.add(("point_day", point, problem, day, day, frozenset(t["ticket_id"] for t in ts)))
        firing = []
        for day in sorted(days):
            window = days.get(day - timedelta(days=1), []) + days[day]
            persons = {t["person"] for t in window if t["person"] is not None}
            if len(window) >= two_day_min and len(persons) >= two_day_persons:
                firing.append(frozenset(t["ticket_id"] for t in window))
        # Chain windows that share a ticket (repeat until nothing merges).
        chains = []
        for window in firing:
            merged = window
            rest = []
            for c in chains:
                if c & merged:
                    merged = merged | c
                else:
                    rest.append(c)
            chains = rest + [merged]
        for c in chains:
            c_days = sorted({t["day"] for ts in days.values() for t in ts if t["ticket_id"] in c})
            out.add(("two_day", point, problem, c_days[0], c_days[-1], c))
    return out


def reference_details(rows, mask, several_streets=False):
    """What a warning holding these tickets shows, straight from the rule text.

    rows: dicts with ticket_id, received_at, person, community, title, point, problem, day
    (and street_key, with several streets).
    Tickets in time order (equal times by id); persons distinct; the most frequent community
    (ties: the smallest), with several streets each ticket's written 街道·社区 (its street in
    front, when it names one); the first three distinct titles in ticket order, masked if asked.
    """
    from collections import Counter

    from gaopin.privacy import mask_phones_in_text

    def named(r):
        return f"{r['street_key']}·{r['community']}" if several_streets and r.get("street_key") and r["community"] else r["community"]

    rows = sorted(rows, key=lambda r: (r["received_at"], r["ticket_id"]))
    counts = Counter(named(r) for r in rows if r["community"] is not None)
    community = min(counts, key=lambda c: (-counts[c], c)) if counts else ""
    titles = []
    for r in rows:
        if r["title"] is None:
            continue
        title = mask_phones_in_text(r["title"]) if mask else r["title"]
        if title not in titles and len(titles) < 3:
            titles.append(title)
    return {
        "point": mask_phones_in_text(rows[0]["point"]) if mask else rows[0]["point"],
        "category": rows[0]["problem"],
        "community": community,
        "start": min(r["day"] for r in rows),
        "end": max(r["day"] for r in rows),
        "tickets": len(rows),
        "persons": len({r["person"] for r in rows if r["person"] is not None}),
        "ticket_ids": [r["ticket_id"] for r in rows],
        "titles": titles,
    }
