"""Rich rendering of library results for the terminal.

rich is imported when something is rendered, not when the command line is built:
`gaopin --help` must start fast.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def console() -> Console:
    from rich.console import Console

    # Wide enough for Chinese tables when piped to a file; no colour when not a terminal. A
    # reader that goes away is no error here: the process's stdout is a PipeSafeStream (main).
    return Console(
        width=None if sys.stdout.isatty() else 160,
        no_color=bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty(),
        highlight=False,
        soft_wrap=False,
    )


def table(title: str | None, headers: Iterable[str], rows: Iterable[Iterable[Any]], **kwargs: Any) -> Table:
    from rich.table import Table
    from rich.text import Text

    if title and "min_width" not in kwargs:
        from rich.cells import cell_len

        # At least as wide as its title: a narrow table (short ids, few columns) wrapped it mid-word.
        kwargs["min_width"] = cell_len(title)
    t = Table(title=title, title_justify="left", show_lines=False, **kwargs)
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in rows:
        # Cells are text from exports and results, never rich markup: "[abc]" in a title or a
        # note's "[filters]" would otherwise be taken for a style and vanish.
        t.add_row(*[Text("" if v is None else str(v)) for v in row])
    return t


@contextmanager
def progress() -> Iterator[Callable[[str], None] | None]:
    """A spinner with the current step on a terminal; nothing when output is not a TTY."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    err = Console(stderr=True)
    with err.status("处理中…") as status:
        yield lambda message: status.update(message)


def plain(text: object) -> str:
    """Text from exports, settings or results, escaped for a line printed with rich markup."""
    from rich.markup import escape

    return escape(str(text))
