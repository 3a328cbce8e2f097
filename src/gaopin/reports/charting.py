"""Starting the report's chart process (see `gaopin.reports.run.ChartProcess`).

Light to import (no pandas, no matplotlib): the `report` command starts the process with
`early_charts` before it loads the rest of gaopin, so that the process loads matplotlib and the
font on the core the command's own loading leaves idle (a district's report: both cores are
busy from the store's read to the end, and the process's start took 0.45 s of CPU there)."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from gaopin.config import Settings


class Started(NamedTuple):
    font: str
    pool: ProcessPoolExecutor
    claims: Any  # shared with the process: see charts.claim
    warming: Future  # its loading of matplotlib and the font


def chart_font(settings: Settings) -> str:
    """`[report] font` as the charts take it ("" for the packaged or a system font)."""
    return str(settings.resolve_path(settings.report.font)) if settings.report.font else ""


def _guarded(path: str | None) -> bool:
    """Whether the Python file at `path` only defines things at its top level and keeps what it
    does under `if __name__ == "__main__":` (a spawned process runs it again to start)."""
    import ast

    try:
        tree = ast.parse(Path(path).read_bytes()) if path else None
    except (OSError, SyntaxError, ValueError):
        return False
    if tree is None:
        return False

    def main_guard(node: ast.stmt) -> bool:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.ops) != 1:
            return False
        sides = [node.test.left, *node.test.comparators]
        names = [n.id for n in sides if isinstance(n, ast.Name)]
        texts = [n.value for n in sides if isinstance(n, ast.Constant)]
        return isinstance(node.test.ops[0], ast.Eq) and names == ["__name__"] and texts == ["__main__"]

    quiet = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, quiet) or main_guard(node):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # a docstring
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
            continue
        return False
    return True


def spawn_is_safe() -> bool:
    """Whether a spawned process can start without running the caller's program again.

    To start, it imports the main module as "__mp_main__": the `gaopin` command (`python -m
    gaopin`, or its script, which keeps main() under the usual guard) and an interactive
    session are safe; a script that calls run_report at its top level would run a second
    time, and a frozen executable without freeze_support would start again."""
    main = sys.modules.get("__main__")
    if main is None or getattr(sys, "frozen", False):
        return False
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name is not None:
        return name == "__main__" or name.endswith(".__main__") or _guarded(getattr(spec, "origin", None))
    path = getattr(main, "__file__", None)
    return path is None or _guarded(path)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C ignored by the process started inside (the chart process).

    A Ctrl-C reaches the whole process group: one that came while the new process was still
    importing (before worker_init ignores SIGINT) printed its traceback above "已中断。". An
    ignored signal stays ignored across exec, and Python then installs no KeyboardInterrupt
    handler. Meanwhile SIGINT is also blocked in this thread, so that a Ctrl-C in these few
    milliseconds waits for its handler to come back; another thread of this process may still
    take it while it is ignored, and then it is lost (a second Ctrl-C stops the run). Only the
    main thread may set handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield  # Windows: Ctrl-C is a console event, which a spawned process handles apart
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def spawn_chart_worker(font: str) -> Started | None:
    """A process that draws charts with `font`, loading matplotlib and the font from now on;
    None where none can be started (see `spawn_is_safe`), or none could be."""
    from gaopin.charts import warm_worker, worker_init

    if not spawn_is_safe():
        return None
    pool = None
    try:
        with _interrupts_held():
            context = multiprocessing.get_context("spawn")
            claims = context.Value("q", 0)
            pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=worker_init, initargs=(claims,))
            return Started(font, pool, claims, pool.submit(warm_worker, font))  # the process is started here
    except (OSError, RuntimeError, NotImplementedError, ImportError):  # no semaphores, no processes
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        return None


_EARLY: list[Started] = []  # started by `early_charts`, for the report inside it to take


@contextmanager
def early_charts(settings: Settings) -> Iterator[None]:
    """The chart process started now, for the report made inside (`take_early`); one that no
    report took (the command failed first) is stopped at the end, once it has loaded (see
    ChartProcess.cancel)."""
    started = spawn_chart_worker(chart_font(settings))
    if started is not None:
        _EARLY.append(started)
    try:
        yield
    finally:
        if started is not None and started in _EARLY:
            _EARLY.remove(started)
            started.pool.shutdown(wait=True, cancel_futures=True)


def take_early(font: str) -> Started | None:
    """The process `early_charts` started for `font`, now the caller's to stop."""
    for started in list(_EARLY):
        if started.font == font:
            _EARLY.remove(started)
            return started
    return None
