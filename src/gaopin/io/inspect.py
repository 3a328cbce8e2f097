"""`gaopin inspect`: what the loader made of an export, as a plain dict."""

from __future__ import annotations

import os
from typing import Callable, Iterable

from gaopin.config import Settings
from gaopin.io.load import LoadResult, load
from gaopin.privacy import mask_phone, mask_phones_in_text
from gaopin.schema import CANONICAL_COLUMNS, label


def inspect_files(
    paths: Iterable[str | os.PathLike[str]],
    settings: Settings,
    show_phones: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    # Not strict: a file none of whose times can be read is shown, with the reason, not refused.
    result = load(paths, settings, keep_extra=True, progress=progress, strict=False)
    return describe(result, show_phones=show_phones or not settings.privacy.mask_phones)


def describe(result: LoadResult, show_phones: bool = False) -> dict:
    frame = result.frame
    received = frame["received_at"].dropna()
    fill = {}
    for name in CANONICAL_COLUMNS:
        if result.has(name):
            fill[name] = round(float(frame[name].notna().mean()), 4) if len(frame) else 0.0
    problems = []
    for p in result.problems + result.rejected:
        d = p.to_dict()
        if d["value"] and not show_phones and p.field != "ticket_id":
            # A number typed into a date or yes/no column, too.
            masked = mask_phone(d["value"]) if p.field == "caller_phone" else mask_phones_in_text(d["value"])
            # The message may quote the value (是否解决的取值“13812345678”无法识别): masked there
            # as in the value column, and nothing else in it (the counts) touched.
            d["message"] = d["message"].replace(d["value"], masked)
            d["value"] = masked
        problems.append(d)
    return {
        "files": [s.to_dict() for s in result.sources],
        # A file or sheet named after a caller (张三13812345678.xlsx) is named in the notes.
        "sheet_notes": [note if show_phones else mask_phones_in_text(note) for note in result.sheet_notes],
        "rows_read": result.rows_read,
        "tickets": len(frame),
        "rejected": len(result.rejected),
        "date_range": {
            "start": received.min().strftime("%Y-%m-%d") if len(received) else None,
            "end": received.max().strftime("%Y-%m-%d") if len(received) else None,
        },
        "fields": {name: {"label": label(name), "fill_rate": rate} for name, rate in fill.items()},
        "missing_fields": [name for name in CANONICAL_COLUMNS if not result.has(name)],
        "problem_counts": dict(sorted(result.counts.items())),
        "problems": problems,
    }
