"""`gaopin report`: build the month's report and write it out, all or nothing."""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import secrets
import shutil
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from gaopin.charts import CHART_NAMES
from gaopin.cache import Cache
from gaopin.config import Settings, report_cache_dir
from gaopin.errors import InputError, os_reason, UsageError
from gaopin.io.bulk import collector_paused
from gaopin.io.write import staging_dir
from gaopin.periods import check_month, check_started, default_year, period
from gaopin.reports.charting import chart_font as _font, spawn_chart_worker, take_early
from gaopin.reports.monthly import build_report, period_codes, read_rankings
from gaopin.reports.render import PendingPage, write_page, write_workbook
from gaopin.rules.streets import written_counts
from gaopin.store.store import Store, db_path, tickets_from

HTML_NAME, XLSX_NAME = "report.html", "report.xlsx"
# The canonical fields the report reads (not the free text). The dispatch itself is not
# among them: only its class is used (a file read derives that from the dispatch anyway).
REPORT_FIELDS = (
    "ticket_id", "received_at", "street", "community", "unit", "category", "dispatch_class",
    "valid_callback", "contacted", "resolved", "satisfied", "closed_at",
)  # fmt: skip


# What a report folder holds that a new report may replace: what write_report writes, what
# `--dry-run` writes beside it (deliver/run.py: report-<label>.eml, report-<label>.<format>.json),
# an office program's lock on the open workbook and a file manager's own files. A folder holding
# anything else (a subfolder, an export, notes) is the user's: it is never replaced.
REPORT_FILES = (HTML_NAME, XLSX_NAME, *(f"{name}.png" for name in CHART_NAMES))
REPORT_EXTRAS = ("report-????-??.eml", "report-????-??.*.json", f"~${XLSX_NAME}", f".~lock.{XLSX_NAME}#", "Thumbs.db", "desktop.ini", ".DS_Store")


# Without [report] out_dir (or --out): reports/YYYY-MM/ in the current folder.
DEFAULT_OUT_DIR = "reports"

log = logging.getLogger(__name__)


def default_out_dir(settings: Settings, label: str) -> Path:
    """Where a report goes without --out: [report] out_dir, which like every path in the file is
    relative to the file's folder (a cron run's current folder is home, or /), else reports/ here."""
    base = settings.resolve_path(settings.report.out_dir) if settings.report.out_dir else Path(DEFAULT_OUT_DIR)
    return base / label


def _replaceable(entry: os.DirEntry) -> bool:
    if entry.is_dir(follow_symlinks=False):
        return False
    return entry.name in REPORT_FILES or any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in REPORT_EXTRAS)


def report_folder(out_dir: Path) -> Path:
    """`out_dir` resolved, once it is known that the report may take its place: it is new, or a
    folder holding nothing but an earlier report (see REPORT_EXTRAS), which is replaced whole.
    An earlier report a killed run left moved aside is put back first (see `_put_back`)."""
    hint = "报告会整个替换输出文件夹：请用 --out 指定一个新的或空的文件夹"
    try:
        target = Path(out_dir).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a relative path in a removed folder
        raise InputError(f"无法使用输出文件夹 {out_dir}：{os_reason(exc)}", hint) from None
    try:
        here = Path.cwd().resolve()
    except OSError:  # the current folder was removed: the output cannot be it
        here = None
    if not target.name or (here is not None and (target == here or target in here.parents)):
        # Replacing the folder one works in (or the disk's root) would pull it from under the shell.
        raise InputError(f"不能把报告写到当前文件夹或它的上级 {target}", hint)
    _put_back(target)
    if target.is_dir():
        try:
            with os.scandir(target) as entries:
                stranger = next((entry.name for entry in entries if not _replaceable(entry)), None)
        except OSError as exc:
            raise InputError(f"无法读取输出文件夹 {target}：{os_reason(exc)}", hint) from None
        if stranger is not None:
            raise InputError(f"输出文件夹 {target} 中已有不是报告的内容（{stranger}），没有覆盖", f"{hint}，或把其中的其他文件移走")
    elif os.path.lexists(target):
        raise InputError(f"{target} 是一个文件，不能作为报告的输出文件夹，没有覆盖", hint)
    return target


def _put_back(target: Path) -> None:
    """The earlier report, when a run was killed between the two renames of `_replace_folder`:
    no report folder, the earlier one moved aside. It goes back in its place, as if that run had
    never started (its new report, in the staging folder of a dead process, is removed by
    staging_dir)."""
    old = target.with_name(f".{target.name}.old")
    if os.path.lexists(target) or not old.is_dir() or old.is_symlink():
        return
    try:
        os.rename(old, target)
    except OSError:  # put back meanwhile by another run, a read-only disk: the run goes on without it
        pass


def _aside(folder: Path) -> Path:
    """Where the report folder being replaced is moved before it is removed. A `.<name>.old`
    folder is what an interrupted run left; anything else of that name is kept, not removed."""
    old = folder.with_name(f".{folder.name}.old")
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    if os.path.lexists(old):
        old = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}.old")
    return old


# Two runs writing the same month's folder at once (cron and a hand run) may swap in between:
# a try that finds its folder gone or taken is made again, and the run that swaps last stays.
_SWAP_TRIES = 5


def _replace_folder(staging: Path, target: Path) -> None:
    """Put the full `staging` folder in place of `target`; an earlier report there is moved aside
    first, put back if the new one cannot take its place, and removed once it has."""
    try:
        for _ in range(_SWAP_TRIES):
            if _swap(staging, target):
                return
    except OSError as exc:  # a file of the old report held open (Windows), a read-only disk …
        raise InputError(f"无法替换输出文件夹 {target}：{os_reason(exc)}", "请关闭打开着报告文件的程序后重试，或用 --out 换一个文件夹") from None
    raise InputError(f"无法替换输出文件夹 {target}：另一个报告同时在写这个文件夹", "请等另一个 gaopin report 结束后重试，或用 --out 换一个文件夹")


def _swap(staging: Path, target: Path) -> bool:
    """One try of _replace_folder; False when another run's swap came in between."""
    old = None
    if target.exists():
        old = _aside(target)
        try:
            os.replace(target, old)
        except FileNotFoundError:
            return False  # the other run moved it aside first
    try:
        os.replace(staging, target)
    except BaseException as exc:  # an error, or a Ctrl-C or SIGTERM between the two renames
        taken = isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST)
        if old is not None:
            try:
                os.replace(old, target)  # the earlier report back in its place
            except OSError:
                if not taken:
                    raise
                shutil.rmtree(old, ignore_errors=True)  # the other run's report is in place
        if taken:
            return False
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return True


def _default_year(result, month: int, start_day: int) -> int:
    """periods.default_year over the tickets read."""
    received = result.frame["received_at"].dropna()
    if result.frame.empty and result.sources:
        names = "、".join(dict.fromkeys(Path(s.path).name for s in result.sources))  # a workbook's sheets: one name
        raise UsageError(
            f"{names} 中没有工单，无法确定年份",
            "如不应为空，请检查导出时选的日期范围（被拒收的行用 gaopin inspect 查看）；要生成没有工单的报告，请用 --year 指定年份",
        )
    if received.empty:
        raise UsageError("数据中没有可识别的受理时间，无法确定年份", "请用 --year 指定")
    held = set(period_codes(received, start_day).unique().tolist())  # the few periods holding tickets
    return default_year(month, received.min().date(), received.max().date(), lambda p: p.code in held, start_day)


def _store_ledger(db: str | None, settings: Settings, month: int, year: int | None, today: date, read_after: dict | None, result=None) -> tuple[int, dict]:
    """(year, the month's ledger) from the store; year None: as periods.default_year."""
    from gaopin.ledger.service import ledger_month, year_of_month

    with Store(db_path(db, settings), create=False) as store:
        year = year or year_of_month(store, settings, month, today)
        # The snapshot without ticket ids, as the workbook and the page show it (the ledger's own
        # JSON and workbook have them).
        ledger, _ = ledger_month(store, settings, month, year, today, result=result, read_after=read_after, ticket_ids=False)
    return year, ledger


def _read_scope(store: Store, settings: Settings, month: int, year: int | None, today: date) -> tuple[int, date] | None:
    """(year, the last day whose tickets the report needs), or None when everything must be read.

    No figure looks past the month: the trend is of the months up to it, the comparison of
    the one before. Only the streets' names (each as most tickets write it, and the street
    of most tickets for the title) are of all tickets: `_later_streets` counts the later ones instead."""
    if not year:
        year = store.default_year(month, settings.period.start_day, today)
        if year is None:
            return None  # no dated ticket by today: the full read reports it, as before
    return year, period(year, month, settings.period.start_day).end


def _later_streets(db: str | None, settings: Settings, until: date, today: date) -> dict[str, int]:
    """How many stored tickets received after `until` and by `today` name each street (those
    after today are left out of the report, as a full read cut at today leaves them out)."""
    after = date.fromordinal(until.toordinal() + 1).isoformat()
    end = date.fromordinal(today.toordinal() + 1).isoformat()
    with Store(db_path(db, settings), create=False) as store:
        table = store.read_arrow(
            "SELECT street, count(*) AS n FROM tickets WHERE received_at >= ? AND received_at < ? AND street IS NOT NULL GROUP BY street", (after, end)
        )
    return dict(zip(table.column("street").to_pylist(), table.column("n").to_pylist()))


def _written_streets(result, later: dict[str, int]) -> dict[str | None, int]:
    """`written_counts` of the streets of the tickets read and of the `later` ones."""
    written = written_counts(result.frame["street"])
    for street, n in later.items():
        written[street] = written.get(street, 0) + n
    return written


def make_report(
    settings: Settings,
    month: int,
    year: int | None,
    files: list[Path] | None,
    db: str | None,
    today: date,
    progress: Callable[[str], None] | None = None,
    after_read: Callable[[], None] | None = None,
    figures_ready: Callable[[dict], None] | None = None,
) -> dict:
    """The report dict, from files or from the store (with exclusions and the ledger snapshot).

    `after_read` is called once the tickets are read (run_report starts its chart process then).
    `figures_ready` is given the report without its ledger when the figures are ready before the
    ledger is (it refreshes here): run_report starts drawing the charts then, which do not show
    the ledger."""
    check_month(month, year)
    fields = set(REPORT_FIELDS)
    ledger_reads, read_after, scope = False, None, None
    exclusions: dict[str, str] = {}
    data_end = None  # the latest receiving time of the tickets up to today (the read may stop earlier)
    after_today: tuple[int, datetime | None] = (0, None)  # tickets received after today, left out
    if not files:
        from gaopin.ledger.refresh import NEEDED as LEDGER_FIELDS, data_inputs, is_current

        with Store(db_path(db, settings), create=False) as store:
            # An up-to-date ledger needs no tickets; otherwise its refresh shares this read.
            ledger_reads = not is_current(store, settings, today)
            read_after = data_inputs(store.conn, settings, today)
            exclusions = store.exclusions()
            data_end = store.latest_received(by=today)
            after_today = store.received_after(today)
            if not ledger_reads and store.ticket_count():
                scope = _read_scope(store, settings, month, year, today)
        if ledger_reads:
            fields |= set(LEDGER_FIELDS)
    until = None
    if scope is not None:
        year, until = scope
    # The store is read in this thread only, one read after another: a statement through one of
    # the two copies of SQLite in a thread drops the read lock the other copy holds in another
    # (see docs/architecture.md), and another process could write into the middle of that read.
    # An up-to-date ledger is taken first; its year is checked against the tickets' below.
    kept = _store_ledger(db, settings, month, year, today, read_after) if not files and not ledger_reads else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        # A report counts no persons: no links (from files, the store is left unopened).
        result, _ = tickets_from(files, db, settings, fields=fields, progress=progress, until=until, links=False)
        # A replay (--today inside the month) counts the figures to the day its ledger snapshot
        # counts to; the latest time is then the kept tickets' own (None: taken from them).
        cut = result.received_by(today)
        if files and cut is not result:
            after_today = (len(result.frame) - len(cut.frame), result.frame["received_at"].max().to_pydatetime())
        result, data_end = cut, (data_end if cut is result else None)
        if after_read:
            after_read()
        if not year and after_today[0] and not result.frame["received_at"].notna().any():
            # Every dated ticket was received after today: not "no tickets" or "no times".
            raise UsageError(f"数据中没有 {today.isoformat()} 及以前受理的工单，无法确定年份", "请检查 --today，或用 --year 指定年份")
        year = year or _default_year(result, month, settings.period.start_day)
        check_started(period(year, month, settings.period.start_day), today)
        ledger = None
        refresh_here = False
        if not files:
            if progress:
                progress("更新高频诉求台账")  # the month's figures are computed meanwhile when it refreshes
            if kept and kept[0] == year:
                _, ledger = kept
            else:
                refresh_here = True
        rankings = read_rankings(settings.resolve_path(settings.report.rankings)) if settings.report.rankings else None

        # When only the tickets up to the month were read, the later ones' streets are counted:
        # streets are named as most of all the tickets write them, as the ledger names them.
        written = _written_streets(result, _later_streets(db, settings, until, today)) if until is not None else None

        def figures(ledger: dict | None) -> dict:
            with collector_paused():
                return build_report(
                    result, settings, year, month, exclusions=exclusions, ledger=ledger, rankings=rankings, written_streets=written, data_end=data_end
                )

        if refresh_here:
            # The month's figures need nothing of the ledger: they are computed in a thread while
            # the refresh (mostly waiting on its own threads) runs here, where Ctrl-C stops it
            # and its transaction is rolled back, as before.
            def figures_first() -> dict:
                report = figures(None)
                if figures_ready:
                    figures_ready(report)  # in this thread: done before the report is returned
                return report

            computing = pool.submit(figures_first)
            _, ledger = _store_ledger(db, settings, month, year, today, read_after, result if ledger_reads else None)
            report = computing.result()
            report["ledger"] = ledger
        else:
            if progress:
                progress("计算三率与综合成绩")
            report = figures(ledger)
    if after_today[0]:
        n, latest = after_today
        report["notes"].append(
            f"有 {n} 张工单在 {today.isoformat()} 以后受理（最晚的受理于 {latest:%Y-%m-%d %H:%M}），没有计入；"
            "不是回看过去的日子时，请检查这些工单的受理时间是否填错了年份。"
        )
    if files:
        report["notes"].append("本报告直接读取文件，没有使用工单库：不含不纳入考核标记和高频诉求台账。")
    return report


def _report_cache(settings: Settings) -> Cache | None:
    """The report cache ([report] cache_dir), None when it is off."""
    root = report_cache_dir(settings)
    return Cache(root) if root is not None else None


class ChartProcess:
    """A second process that draws the charts while this one writes the workbook.

    Spawned, not forked: fork is unsafe with the threads that read the store and is absent
    on Windows; spawn behaves the same everywhere (`gaopin.reports.charting`). `start` takes
    the process the command started before loading pandas (`early_charts`), or starts one once
    the tickets are read: it imports matplotlib and loads the font while the figures are
    computed. Where no process can be started, or starting one would
    run the caller's script again (see `spawn_is_safe`), `draw` gives None and the charts are
    drawn here, as before. It draws in memory and never writes into the report's folder (this
    process writes the pictures), so a failed report stops it without waiting for it. `close`
    waits for it: none outlives the report."""

    def __init__(self, settings: Settings) -> None:
        self.font = _font(settings)
        self._pool: ProcessPoolExecutor | None = None
        self._failed = False
        self._warming: Future | None = None
        self._ahead: tuple[str, Future] | None = None  # (charts.chart_text, the drawing)
        self._claims: Any = None  # shared with the process: see charts.claim
        self._tasks: dict[Future, int] = {}  # the font cuts given to the process, by their numbers
        self._numbered = 0  # the number of the last one

    def start(self) -> None:
        if self._pool is not None or self._failed:
            return
        # Started by the command before it loaded the rest of gaopin (`early_charts`), or now.
        started = take_early(self.font) or spawn_chart_worker(self.font)
        if started is None:
            self._failed = True
            return
        self._pool, self._claims, self._warming = started.pool, started.claims, started.warming

    def draw_ahead(self, report: dict, text: str) -> None:
        """Start drawing the report's charts before the report is whole (in memory: its folder
        is made later); `drawn_ahead` gives the drawing to `write_report`. Called from the thread
        that computed the figures, once `start` has run (or failed) in the main thread. `text`:
        the report's `charts.chart_text`."""
        from gaopin.charts import chart_input, draw_charts

        drawing = self._submit(draw_charts, chart_input(report), self.font)
        if drawing is not None:
            # Compared as text when it is taken: the same figures, even if something changed the
            # report's nested values in place meanwhile (nothing does).
            self._ahead = (text, drawing)

    def drawn_ahead(self, text: str | None) -> Future | None:
        """The drawing `draw_ahead` started, when it is of the figures whose `charts.chart_text`
        is `text` (a future of `draw_charts`' {name: PNG bytes}); None otherwise (and for None:
        a report that cannot be written as text). It is given once."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if text is None or ahead[0] != text:
            self._ahead = ahead  # stopped by `close`, not waited for
            return None
        return ahead[1]

    def stop(self) -> None:
        """Stop the process, whose work is no longer wanted and only in memory (charts being
        drawn, a font being cut): once it has loaded (see `cancel`), not after it is done."""
        if self._warming is not None:
            wait([self._warming], timeout=CHILD_STOP_WAIT_S)
        self.cancel()

    def subset(self, used: str, cache: Cache | None) -> Future | None:
        """The page's font cut there (`charts.font_subset`) once it has drawn the charts ahead,
        unless `take_back` comes first; it would otherwise wait while this process writes the
        workbook. None without a process."""
        from gaopin.charts import font_subset_unclaimed

        self._numbered += 1
        cutting = self._submit(font_subset_unclaimed, self._numbered, used, self.font, cache)
        if cutting is not None:
            self._tasks[cutting] = self._numbered
        return cutting

    def take_back(self, cutting: Future) -> bool:
        """Whether the font's cut given by `subset` is taken back, to be cut in this process:
        True when the process has not begun it (it is still drawing), which then skips it."""
        from gaopin.charts import claim

        return claim(self._claims, self._tasks.pop(cutting), wait_s=CLAIM_WAIT_S)

    def draw(self, report: dict) -> Future | None:
        """The report's charts drawn there, in memory (a future of `draw_charts`' {name: PNG
        bytes}, which `write_report` writes); None without a process."""
        from gaopin.charts import chart_input, draw_charts

        self.start()
        return self._submit(draw_charts, chart_input(report), self.font)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future | None:
        """`fn(*args)` in the process; None without one, or when it died or was stopped."""
        if self._pool is None:
            return None
        try:
            return self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):
            return None

    def cancel(self) -> None:
        """Stop the process, which has nothing to draw (the report's charts came from the cache),
        without waiting for it to end by itself. Only once it has loaded matplotlib: stopped while
        loading, it could leave matplotlib's lock on its font list behind (the next runs would
        wait 5 s for it and not keep the list); it is then left to finish and `close` waits for it."""
        self._failed = True  # nothing is drawn there any more; `draw` gives None
        if self._pool is None or self._warming is None or not self._warming.done():
            return
        pool, self._pool = self._pool, None
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                process.terminate()
            except (OSError, AttributeError):
                pass
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._ahead is not None:
            # Charts drawn ahead for a report that failed (Ctrl-C during the ledger's refresh):
            # stopped, not waited for; drawn in memory, they leave nothing.
            self.stop()
            self._ahead = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@contextmanager
def chart_process(settings: Settings) -> Iterator[ChartProcess]:
    charts = ChartProcess(settings)
    try:
        yield charts
    finally:
        charts.close()


def _result(pending: Future | None, here: Callable[[], Any]) -> Any:
    """What the second process computed; computed here if there is none or it died (killed:
    out of memory?)."""
    if pending is not None:
        try:
            return pending.result()
        except BrokenProcessPool:
            pass
    return here()


# How long a failed report waits for its chart process: to finish loading before it is
# stopped (see ChartProcess.cancel), or for the error its charts failed with.
CHILD_STOP_WAIT_S = 30.0
# How long taking back the font's cut waits for the lock the chart process holds for a few
# instructions (see charts.claim); longer, it was killed there, and the font is cut here.
CLAIM_WAIT_S = 5.0


def _chart_error(drawing: Future | None) -> BaseException | None:
    """The error the second process's charts failed with (waiting for them), if any: it came
    before the font's and the workbook's without a second process, and is reported first."""
    if drawing is None:
        return None
    try:
        failed = drawing.exception(timeout=CHILD_STOP_WAIT_S)
    except FutureTimeout:  # a process that never answers (see write_report): no error of its
        return None
    return None if isinstance(failed, BrokenProcessPool) else failed


def write_report(
    report: dict,
    out_dir: Path,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    charts_in: ChartProcess | None = None,
    staged: Callable[[dict[str, Path]], None] | None = None,
) -> dict[str, str]:
    """Charts, report.html and report.xlsx written into a fresh folder that replaces out_dir at once
    (only a new folder, an empty one or an earlier report: see report_folder).

    `charts_in`: a second process to draw the charts in while the page's font is cut and the
    workbook written here; when it drew them ahead (while the ledger refreshed: see run_report),
    it cuts the font instead, unless still drawing once the workbook is written (see
    `ChartProcess.take_back`). `staged`: given the files as written, before they replace out_dir (where
    another run's report may replace them in turn: a report email must not take that run's)."""
    from gaopin.charts import chart_key, draw_charts, font_subset, keep_charts, kept_charts, planned_charts, render_charts, write_charts

    out_dir = Path(out_dir)
    staging = staging_dir(report_folder(out_dir))
    font = _font(settings)
    cache = _report_cache(settings)
    drawing = ahead = None
    try:
        if progress:
            progress("绘制图表")
        # The same figures drawn before with the same font and code (a report made again, or a
        # past month's after new data came in) are taken from the cache: the same bytes.
        text = _chart_text(report) if cache is not None or charts_in is not None else None
        key = chart_key(report, font, text) if cache is not None and text is not None else None
        kept = kept_charts(cache, key, planned_charts(report), staging) if key is not None else None
        ahead = charts_in.drawn_ahead(text) if charts_in is not None else None
        if kept is not None:
            charts, key, ahead = kept, None, None
            if charts_in is not None:
                charts_in.cancel()
        elif ahead is not None:
            drawing = ahead  # drawn while the ledger refreshed (see run_report)
        else:
            drawing = charts_in.draw(report) if charts_in is not None else None
            if drawing is None:
                charts = render_charts(report, staging, font)
        if progress:
            progress("写出报告")
        try:
            # The page's font is cut and the workbook written here while the second process
            # draws the charts, which take longer than both (a district's: about 2 s, against
            # 0.45-0.7 s and 0.65-0.9 s).
            page = PendingPage(report, list(charts) if drawing is None else planned_charts(report))
            # With charts drawn ahead, the second process cuts the font while the workbook is
            # written, once it is done drawing; if it is still drawing when the workbook is
            # written (a street's figures, quick, came after the refresh), the font is taken
            # back and cut here rather than wait for the charts.
            cutting = charts_in.subset(page.used, cache) if ahead is not None else None
            font_data = font_subset(page.used, font, cache) if cutting is None else None
            write_workbook(report, staging / XLSX_NAME)
            if cutting is not None:
                here = lambda: font_subset(page.used, font, cache)  # noqa: E731
                font_data = None if charts_in.take_back(cutting) else _result(cutting, here)
                if font_data is None:  # taken back: skipped there, cut here
                    font_data = here()
        except Exception:
            failed = _chart_error(drawing)
            if failed is not None:
                raise failed from None
            raise
        if drawing is not None:
            charts = write_charts(_result(drawing, lambda: draw_charts(report, font)), staging)
        if key is not None:
            keep_charts(cache, key, charts)
        write_page(page.finish(charts, font_data, font), staging / HTML_NAME)
        names = {"html": HTML_NAME, "xlsx": XLSX_NAME, **{name: Path(path).name for name, path in sorted(charts.items())}}
        if staged is not None:
            staged({key: staging / name for key, name in names.items()})
        os.chmod(staging, 0o755)
        # Checked again: the folder may have been given other files while the report was made.
        _replace_folder(staging, report_folder(out_dir))
    except BaseException as exc:
        # The charts, and a font cut there, are only in the second process's memory: it never
        # writes into the folder. What may still run there is stopped, not waited for.
        try:
            if ahead is not None or (drawing is not None and not drawing.done()):
                charts_in.stop()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, InputError) and str(staging) in exc.message:
            # A file that could not be written (a full disk) is named where the report goes, not
            # in the hidden staging folder, which is gone by now.
            raise InputError(exc.message.replace(str(staging), str(out_dir)), exc.hint) from None
        raise
    return {key: str(out_dir / name) for key, name in names.items()}


def _chart_text(report: dict) -> str | None:
    """`charts.chart_text`, None for figures that cannot be written as text (they are drawn, and
    not cached, as chart_key gives None for them)."""
    from gaopin.charts import chart_text

    try:
        return chart_text(report)
    except (TypeError, ValueError):
        return None


def _draw_ahead(charts_in: ChartProcess, settings: Settings, report: dict) -> None:
    """The charts drawn in the second process while the ledger refreshes here (after an import:
    about 2 s of a district's report that would otherwise come after it), unless the cache holds
    them. A failure here only leaves the charts to be drawn later, as before."""
    from gaopin.charts import chart_key, chart_text, is_kept, planned_charts

    try:
        cache = _report_cache(settings)
        text = chart_text(report)
        key = chart_key(report, _font(settings), text) if cache is not None else None
        if key is not None and is_kept(cache, key, planned_charts(report)):
            return
        charts_in.draw_ahead(report, text)
    except Exception:  # noqa: BLE001 - see above
        log.debug("charts not drawn ahead", exc_info=True)


def run_report(
    settings: Settings,
    month: int,
    year: int | None,
    files: list[Path] | None,
    db: str | None,
    today: date,
    out_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    check: Callable[[dict], None] | None = None,
    staged: Callable[[dict[str, Path]], None] | None = None,
) -> dict:
    """Make the month's report and write its folder; `check` may refuse the made report (by
    raising) before anything is written; `staged` is given the files as written (write_report)."""
    if out_dir is not None:
        report_folder(out_dir)  # a folder the report may not replace is refused before any work
    with chart_process(settings) as charts_in:

        def draw_ahead(report: dict) -> None:
            _draw_ahead(charts_in, settings, report)

        report = make_report(settings, month, year, files, db, today, progress, after_read=charts_in.start, figures_ready=draw_ahead)
        if check is not None:
            check(report)
        target = out_dir or default_out_dir(settings, report["period"]["label"])
        with collector_paused():
            report["files"] = write_report(report, target, settings, progress, charts_in, staged)
    return report
