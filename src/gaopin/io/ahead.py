"""Reading a CSV's body ahead: begun by a command before it loads pandas and the rest of its
libraries, in a thread, so that Arrow reads the file on both cores while the command's own
thread imports (a district year's `warn`: docs/performance.md).

Only the standard library, Arrow and gaopin's own light modules are used here. Nothing is said
or raised: the command reads the file as it always does, finds what is wrong with it and says
so, and takes the table read ahead only when it asks for the very same read of the unchanged
file (`csvfile.arrow_table`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable

from gaopin.config import Settings
from gaopin.io import csvfile, sniff
from gaopin.io.header import choose_columns, find_header, map_columns
from gaopin.io.precheck import check_file_size

THREAD_NAME = "gaopin-read-ahead"


def read_ahead(paths: Iterable[Path] | None, settings: Settings, fields: Iterable[str] | None = None, keep_extra: bool = False) -> None:
    """Begin reading the body of the first of `paths` as `load(paths, settings, fields,
    keep_extra)` will, when it is a CSV whose first 256 KB hold no quote (the others are read by
    the command alone).

    A quote may hold a line break, which makes it another read, and only a search of the whole
    file tells: searching before reading delayed the read by more than the imports take
    (docs/performance.md). So a file that quotes in its head is left to the command, and a quote
    further down is found by the command's own search, which then reads the file again."""
    first = next(iter(paths or ()), None)
    if first is None:
        return
    path = Path(first)
    try:
        ahead = csvfile.expect(path)
    except OSError:
        return
    try:
        threading.Thread(target=_read, args=(ahead, path, settings, fields, keep_extra), name=THREAD_NAME, daemon=True).start()
    except RuntimeError:  # no thread to be had: the command reads the file itself, without waiting
        ahead.end()


def _read(ahead: csvfile.Ahead, path: Path, settings: Settings, fields: Iterable[str] | None, keep_extra: bool) -> None:
    try:
        read = _body_read(path, settings, fields, keep_extra)
        if read is not None:
            ahead.read(path, read)
    except Exception:  # noqa: BLE001 - the command's own read of the file meets it and says so
        pass
    finally:
        ahead.end()


def _body_read(path: Path, settings: Settings, fields: Iterable[str] | None, keep_extra: bool) -> csvfile.BodyRead | None:
    """The read `load` will ask for, found as it finds it (`readers`, `load._tables`); None when
    the file is not a CSV, or quotes in its head."""
    if sniff.sniff(path) != sniff.CSV:
        return None
    check_file_size(path, settings.limits)
    head = csvfile.read_head(path, settings.load)
    if head.quoted:
        return None
    source = str(path)
    header = find_header(head.records, settings.columns, settings.load.header_row, source)
    mapping = map_columns(header.cells, settings.columns, source)
    choice = choose_columns(mapping, fields, keep_extra, settings.filters.exclude)
    # As if the file had no quote: the reader's own scan says whether it has one, and a read
    # with quotes that may hold line breaks is another read, not taken.
    return csvfile.body_read(path, head, head.encoding, header.last, choice.columns, quoted=False)
