"""`make_report` from the store: the up-to-date ledger read alongside the tickets."""

import concurrent.futures
import gc
import multiprocessing
import os
import stat
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from gaopin.cli.common import Terminated
from gaopin.reports.run import make_report
from gaopin.store import Store, import_files
from tests.builders import at, store_with

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TODAY = date(2024, 10, 31)


# `settings` and `db`: the sample office's, in conftest.py.


def test_a_kept_ledger_gives_the_same_report_as_a_refresh(db, settings):
    from gaopin.ledger.refresh import is_current

    with Store(db, create=False) as store:
        store.conn.execute("DELETE FROM ledger_cache")
    refreshed = make_report(settings, 8, None, None, db, TODAY)
    with Store(db, create=False) as store:
        assert is_current(store, settings, TODAY)
    kept = make_report(settings, 8, None, None, db, TODAY)
    assert kept == refreshed
    assert kept["ledger"]["month"] == "2024-08" and kept["ledger"]["entries"]


def test_the_reports_ledger_snapshot_leaves_out_the_ticket_ids_the_ledger_view_has(db, settings):
    from gaopin.ledger.service import ledger_month

    report = make_report(settings, 8, None, None, db, TODAY)
    with Store(db, create=False) as store:
        view, _ = ledger_month(store, settings, 8, None, TODAY)
    assert view["entries"] and all(e["ticket_ids"] for e in view["entries"])
    # The same entries and figures, without the ids.
    assert report["ledger"]["entries"] == [{k: v for k, v in e.items() if k != "ticket_ids"} for e in view["entries"]]


def test_exclusions_in_the_store_reach_the_report_when_the_ledger_refreshes_and_when_kept(tmp_path, settings):
    path = tmp_path / "g.db"
    with Store(path) as store:
        import_files([SAMPLE / "tickets.csv"], store, settings, now=datetime(2024, 11, 1))
        ticket = store.tickets().frame.query("received_at >= '2024-08-01' and received_at < '2024-09-01'")["ticket_id"].iloc[0]
        store.exclude(ticket, "申诉已通过", TODAY)
    refreshed = make_report(settings, 8, None, None, str(path), TODAY)  # the ledger's first refresh
    kept = make_report(settings, 8, None, None, str(path), TODAY)  # the kept ledger
    assert refreshed["excluded_tickets"] == kept["excluded_tickets"] == [ticket]
    assert refreshed["overall_excluded"]["tickets"] == refreshed["overall"]["tickets"] - 1


def test_the_ledger_follows_the_tickets_year(db, settings, monkeypatch):
    from gaopin.ledger import service

    make_report(settings, 8, None, None, db, TODAY)  # the ledger is current from here on
    monkeypatch.setattr(service, "year_of_month", lambda store, settings, month, today: 1999)
    report = make_report(settings, 8, None, None, db, TODAY)
    assert report["period"]["label"] == "2024-08"
    assert report["ledger"]["month"] == "2024-08"


# --- the year of a month given without --year ---------------------------------------------------

DEC_TO_FEB = ["2023-12-01", "2023-12-18", "2023-12-19", "2023-12-31", "2024-01-18", "2024-02-01"]


def _dated(days: list[str]) -> list[dict]:
    base = {"community": "恰海社区", "valid_callback": "是", "contacted": "是", "resolved": "是", "satisfied": "满意", "street": "新村街道"}
    return [{**base, "received_at": at(day), "ticket_id": f"D{i:03d}"} for i, day in enumerate(days)]


@pytest.mark.parametrize("start_day, month, label, tickets", [(1, 12, "2023-12", 4), (1, 1, "2024-01", 1), (19, 12, "2023-12", 2), (19, 1, "2024-01", 3), (1, 6, "2024-06", 0)])
def test_a_month_without_year_is_the_latest_year_in_which_it_has_tickets(tmp_path, monkeypatch, start_day, month, label, tickets):
    from gaopin.config import Settings
    from gaopin.ledger.service import ledger_month

    path = tmp_path / "y.db"
    store_with(path, _dated(DEC_TO_FEB)).close()
    settings = Settings().with_values({"period.start_day": start_day})
    # The ledger's refresh reads every ticket; the kept ledger has the read stop at the month.
    with monkeypatch.context() as m:
        reads = _reads(m)
        refreshed = make_report(settings, month, None, None, str(path), TODAY)
        kept = make_report(settings, month, None, None, str(path), TODAY)
    assert reads[0] is None and reads[1] is not None
    for report in (refreshed, kept):
        assert report["period"]["label"] == report["ledger"]["month"] == label
        assert report["overall"]["tickets"] == tickets
    with Store(path, create=False) as store:
        view, _ = ledger_month(store, settings, month, None, TODAY)
    assert view["month"] == label
    # From files: the same year.
    export = tmp_path / "winter.csv"
    lines = ["工单编号,来电时间,村/社区,是否有效回访,是否联系,是否解决,是否满意"] + [f"D{i:03d},{day} 09:00:00,恰海社区,是,是,是,满意" for i, day in enumerate(DEC_TO_FEB)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_files = make_report(settings, month, None, [export], None, TODAY)
    assert from_files["period"]["label"] == label and from_files["overall"]["tickets"] == tickets


@pytest.mark.parametrize(
    "days, today, month, label, tickets",
    [
        # One ticket typed with a year still to come (2027 for 2024).
        (["2024-08-03", "2024-08-05", "2027-08-03"], date(2026, 11, 29), 8, "2024-08", 2),
        # A replay (--today) of a store that also holds the year after it.
        (["2024-01-10", "2024-12-02", "2025-01-08"], date(2024, 12, 15), 1, "2024-01", 1),
    ],
)
def test_a_month_without_year_is_never_one_after_today(tmp_path, days, today, month, label, tickets):
    """The year of `--month` is taken from the tickets received by today, whether the report reads
    them (the ledger's refresh) or takes the kept ledger and reads only up to the month: the
    same month each time, as from files (which leave later tickets out first)."""
    from gaopin.config import Settings
    from gaopin.ledger.service import ledger_month

    path = tmp_path / "y.db"
    store_with(path, _dated(days)).close()
    settings = Settings()
    refreshed = make_report(settings, month, None, None, str(path), today)
    kept = make_report(settings, month, None, None, str(path), today)
    export = tmp_path / "y.csv"
    lines = ["工单编号,来电时间,村/社区,是否有效回访,是否联系,是否解决,是否满意"] + [f"D{i:03d},{day} 09:00:00,恰海社区,是,是,是,满意" for i, day in enumerate(days)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_files = make_report(settings, month, None, [export], None, today)
    # The ticket after today is left out, and said to be.
    note = f"有 1 张工单在 {today.isoformat()} 以后受理（最晚的受理于 {days[-1]} 09:00），没有计入"
    for report in (refreshed, kept, from_files):
        assert report["period"]["label"] == label
        assert report["overall"]["tickets"] == tickets
        assert sum(n.startswith(note) for n in report["notes"]) == 1
    assert refreshed["ledger"]["month"] == kept["ledger"]["month"] == label
    with Store(path, create=False) as store:
        view, _ = ledger_month(store, settings, month, None, today)
    assert view["month"] == label


def test_a_month_still_running_is_incomplete_despite_a_ticket_after_today(tmp_path):
    """A ticket typed with a later year must not hide that the month's data stop at today."""
    from gaopin.config import Settings

    path = tmp_path / "y.db"
    store_with(path, _dated(["2024-08-03", "2027-08-03"])).close()
    for _ in range(2):  # the ledger's refresh, then the kept ledger (the read stops at the month)
        report = make_report(Settings(), 8, None, None, str(path), date(2024, 8, 20))
        assert report["data_end"] == "2024-08-03 09:00"


def test_a_report_whose_tickets_all_come_after_today_says_so(tmp_path):
    """It said 数据中没有可识别的受理时间 (from the store) or 中没有工单 (from a file of 3 tickets)."""
    from gaopin.config import Settings
    from gaopin.errors import UsageError

    days = ["2027-08-03", "2027-08-04", "2027-08-05"]
    store_with(tmp_path / "y.db", _dated(days)).close()
    export = tmp_path / "y.csv"
    export.write_text("\n".join(["工单编号,来电时间"] + [f"D{i},{d} 09:00:00" for i, d in enumerate(days)]) + "\n", encoding="utf-8")
    for files, db in ((None, str(tmp_path / "y.db")), ([export], None)):
        with pytest.raises(UsageError, match="数据中没有 2026-11-29 及以前受理的工单，无法确定年份"):
            make_report(Settings(), 8, None, files, db, date(2026, 11, 29))


def test_a_month_without_year_before_every_ticket_is_a_usage_error(tmp_path):
    from gaopin.config import Settings
    from gaopin.errors import UsageError
    from gaopin.ledger.service import ledger_month

    path = tmp_path / "y.db"
    store_with(path, _dated(["2024-08-03"])).close()
    with Store(path, create=False) as store, pytest.raises(UsageError, match="没有 2024-07-31 及以前受理的工单"):
        ledger_month(store, Settings(), 8, None, date(2024, 7, 31))


def test_the_report_opens_the_store_in_one_thread_only(db, settings, monkeypatch):
    """A statement through one copy of SQLite in a thread drops the read lock the other copy holds
    in another (docs/architecture.md): the kept ledger and the later streets were read in threads
    beside the tickets, and another process could write into the middle of a read."""
    import dataclasses
    import threading

    from gaopin.store import store as store_module

    unnamed = dataclasses.replace(settings, report=dataclasses.replace(settings.report, street=""))  # the later streets are read too
    opened_in = []
    real_init = store_module.Store.__init__

    def init(self, *args, **kwargs):
        opened_in.append(threading.current_thread() is threading.main_thread())
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(store_module.Store, "__init__", init)
    make_report(unnamed, 8, None, None, db, TODAY)  # refreshes the ledger, or takes the kept one
    make_report(unnamed, 8, None, None, db, TODAY)  # takes the kept one
    assert len(opened_in) >= 4 and all(opened_in)


# --- the read stops at the month ------------------------------------------------------------


def _full_read(monkeypatch):
    """make_report as it was before the read stopped at the month: every ticket read."""
    from gaopin.reports import run

    monkeypatch.setattr(run, "_read_scope", lambda *a, **k: None)


def _reads(monkeypatch) -> list:
    """The `until` of every ticket read make_report does."""
    from gaopin.reports import run

    seen = []
    real = run.tickets_from

    def spy(*args, **kwargs):
        seen.append(kwargs.get("until"))
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "tickets_from", spy)
    return seen


def test_a_past_month_reads_tickets_up_to_its_end_with_the_same_report(db, settings, monkeypatch):
    import dataclasses

    unnamed = dataclasses.replace(settings, report=dataclasses.replace(settings.report, street=""))
    for s in (settings, unnamed):
        make_report(s, 8, None, None, db, TODAY)  # the ledger is current from here on
        with monkeypatch.context() as m:
            reads = _reads(m)
            scoped = make_report(s, 8, None, None, db, TODAY)
        assert reads == [date(2024, 8, 31)]
        with monkeypatch.context() as m:
            _full_read(m)
            reads = _reads(m)
            full = make_report(s, 8, None, None, db, TODAY)
        assert reads == [None]
        assert scoped == full
    assert scoped["street"] == "新村街道"


def test_from_the_store_the_data_end_is_the_stores_latest_ticket_not_the_reads(tmp_path, monkeypatch):
    """The second report reads only up to the month's end: its tickets all end in August, but the
    store holds September's too, so August is complete; with nothing after 31 August 11:00 it is not."""
    from gaopin.config import Settings

    rows = _street_rows({("新村街道", "2024-08-05"): 3, ("新村街道", "2024-08-31"): 1})
    path = tmp_path / "s.db"
    store_with(path, rows).close()
    first = make_report(Settings(), 8, 2024, None, str(path), TODAY)
    assert first["data_end"] is not None and first["data_end"].startswith("2024-08-31")
    store_with(path, [{**rows[0], "ticket_id": "LATER", "received_at": at("2024-09-02")}]).close()
    make_report(Settings(), 8, 2024, None, str(path), TODAY)
    with monkeypatch.context() as m:
        reads = _reads(m)
        scoped = make_report(Settings(), 8, 2024, None, str(path), TODAY)
    assert reads == [date(2024, 8, 31)] and scoped["data_end"] is None


def _street_rows(counts: dict[tuple[str, str], int]) -> list[dict]:
    """`counts[(street, day)]` tickets of each street on each day."""
    rows = []
    for (street, day), n in counts.items():
        rows += [{"received_at": at(day, len(rows)), "street": street, "community": "恰海社区", "valid_callback": "是", "contacted": "是", "resolved": "是", "satisfied": "满意"} for _ in range(n)]
    return [{**r, "ticket_id": f"S{i:04d}"} for i, r in enumerate(rows)]


@pytest.mark.parametrize(
    "counts, street",
    [
        # The tickets after the month decide which street is the most frequent one.
        ({("东街道", "2024-08-05"): 3, ("西街道", "2024-08-06"): 2, ("西街道", "2024-09-02"): 2}, "西街道"),
        # A tie over all tickets goes to the first name, as from a read of every ticket.
        ({("东街道", "2024-08-05"): 3, ("西街道", "2024-08-06"): 2, ("西街道", "2024-09-02"): 1}, "东街道"),
        ({("西街道", "2024-08-05"): 2, ("东街道", "2024-08-06"): 1, ("东街道", "2024-10-02"): 1}, "东街道"),
        # Tickets after today (a mistyped year) are left out of the report, and of its title.
        ({("东街道", "2024-08-05"): 3, ("西街道", "2024-08-06"): 2, ("西街道", "2027-09-02"): 5}, "东街道"),
        # A street written two ways is one street.
        ({("东街道", "2024-08-05"): 3, ("西街道", "2024-08-06"): 2, ("丰台区西街道", "2024-09-02"): 2}, "西街道"),
    ],
)
def test_the_street_is_the_most_frequent_one_of_all_tickets(tmp_path, monkeypatch, counts, street):
    from gaopin.config import Settings

    path = tmp_path / "s.db"
    store_with(path, _street_rows(counts)).close()
    settings = Settings()
    make_report(settings, 8, 2024, None, str(path), TODAY)  # the ledger is current from here on
    with monkeypatch.context() as m:
        reads = _reads(m)
        scoped = make_report(settings, 8, 2024, None, str(path), TODAY)
    assert reads == [date(2024, 8, 31)]  # the later tickets' streets are counted, not read
    with monkeypatch.context() as m:
        _full_read(m)
        full = make_report(settings, 8, 2024, None, str(path), TODAY)
    assert scoped == full and scoped["street"] == street


def test_a_report_of_several_streets_from_a_store_names_its_streets_from_every_ticket(tmp_path, monkeypatch):
    """Its title counts the period's streets; its streets and communities are named as most of
    all the tickets up to today write them, as its ledger names them: with a current ledger the
    report reads only up to the month and counts the later tickets' streets, and gives the very
    report a read of every ticket gives."""
    from gaopin.config import Settings
    from gaopin.reports.run import make_report

    path = tmp_path / "s.db"
    rows = _street_rows({("东街道", "2024-08-05"): 2, ("西街道", "2024-08-06"): 2, ("南街道", "2024-09-02"): 5, ("东 街道", "2024-09-03"): 3})
    store_with(path, rows).close()
    first = make_report(Settings(), 8, 2024, None, str(path), TODAY)  # the ledger is current from here on
    with monkeypatch.context() as m:
        reads = _reads(m)
        scoped = make_report(Settings(), 8, 2024, None, str(path), TODAY)
    assert reads == [date(2024, 8, 31)]  # the later tickets' streets are counted, not read
    with monkeypatch.context() as m:
        _full_read(m)
        full = make_report(Settings(), 8, 2024, None, str(path), TODAY)
    assert scoped == full == first and scoped["street"] == "2 个街道"
    # 东街道 is written 东 街道 on most of all the tickets (3 against August's 2).
    assert [g["name"] for g in scoped["by_street"]] == ["东 街道", "西街道"]
    assert {e["community"] for e in scoped["ledger"]["entries"] if e["community"]} <= {"东 街道·恰海社区", "西街道·恰海社区", "南街道·恰海社区"}


# --- charts drawn in a second process ---------------------------------------------------------


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every file of a report folder; the workbook by its parts, without its creation time."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                out.update({f"{path.name}:{n}": z.read(n) for n in z.namelist() if n != "docProps/core.xml"})
        else:
            out[path.name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def report(db, settings):
    return make_report(settings, 8, None, None, db, TODAY)


def test_charts_drawn_in_a_second_process_give_the_same_report(report, settings, tmp_path):
    from gaopin.reports.run import chart_process, write_report

    settings = settings.with_values({"report.cache_dir": "off"})  # else the second report takes the first's charts
    here = write_report(report, tmp_path / "here", settings)
    with chart_process(settings) as charts:
        there = write_report(report, tmp_path / "there", settings, charts_in=charts)
        assert charts._pool is not None  # it was drawn in the second process
    assert multiprocessing.active_children() == []
    assert sorted(here) == sorted(there) and "communities" in there
    assert _outputs(tmp_path / "here") == _outputs(tmp_path / "there")


def test_without_a_second_process_the_charts_are_drawn_here(report, settings, tmp_path, monkeypatch):
    from gaopin.reports import charting, run

    def no_processes(*args, **kwargs):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(charting, "ProcessPoolExecutor", no_processes)
    run.write_report(report, tmp_path / "here", settings)
    with run.chart_process(settings) as charts:
        run.write_report(report, tmp_path / "there", settings, charts_in=charts)
        assert charts._pool is None
    assert _outputs(tmp_path / "here") == _outputs(tmp_path / "there")


def test_a_chart_error_in_the_second_process_is_raised_and_leaves_nothing(report, settings, tmp_path):
    import dataclasses

    from gaopin.errors import ConfigError
    from gaopin.reports.run import chart_process, write_report

    bad = dataclasses.replace(settings, report=dataclasses.replace(settings.report, font=str(tmp_path / "none.otf")))
    with pytest.raises(ConfigError) as here:
        write_report(report, tmp_path / "a" / "here", bad)
    with chart_process(bad) as charts:
        with pytest.raises(ConfigError) as there:
            write_report(report, tmp_path / "b" / "there", bad, charts_in=charts)
        assert charts._pool is not None
    assert (there.value.message, there.value.hint) == (here.value.message, here.value.hint)
    assert list((tmp_path / "b").iterdir()) == []
    assert multiprocessing.active_children() == []


def test_a_workbook_error_waits_for_the_charts_and_leaves_nothing(report, settings, tmp_path, monkeypatch):
    from gaopin.errors import InputError
    from gaopin.reports import run

    def full_disk(report, path):
        raise InputError("磁盘已满", "请清理磁盘")

    monkeypatch.setattr(run, "write_workbook", full_disk)
    with run.chart_process(settings) as charts:
        with pytest.raises(InputError, match="磁盘已满"):
            run.write_report(report, tmp_path / "out" / "2024-08", settings, charts_in=charts)
        # The charts are drawn there in memory: nothing of them is left in the folder's place.
        assert list((tmp_path / "out").iterdir()) == []
    assert list((tmp_path / "out").iterdir()) == []


def test_a_second_interrupt_while_waiting_for_the_charts_still_leaves_nothing(report, settings, tmp_path, monkeypatch):
    from gaopin.reports import run

    def interrupted(report, path):
        raise KeyboardInterrupt

    def interrupted_again(futures, timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "write_workbook", interrupted)
    monkeypatch.setattr(run, "wait", interrupted_again)
    with run.chart_process(settings) as charts:
        with pytest.raises(KeyboardInterrupt):
            run.write_report(report, tmp_path / "out" / "2024-08", settings, charts_in=charts)
    assert list((tmp_path / "out").iterdir()) == []


def test_run_report_writes_the_report_and_leaves_no_process(db, settings, tmp_path):
    from gaopin.reports.run import run_report

    report = run_report(settings, 8, None, None, db, TODAY, out_dir=tmp_path / "2024-08")
    assert multiprocessing.active_children() == []
    assert sorted(p.name for p in (tmp_path / "2024-08").iterdir()) == sorted(Path(p).name for p in report["files"].values())


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` (hidden ones too) with a file's bytes."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def test_a_folder_holding_other_files_is_refused_and_kept(report, settings, tmp_path):
    from gaopin.errors import ExitCode, InputError
    from gaopin.reports.run import write_report

    out = tmp_path / "base" / "work"
    (out / "2024-07").mkdir(parents=True)
    (out / "2024-07" / "report.html").write_text("七月", encoding="utf-8")
    (out / "导出.csv").write_text("工单编号\n", encoding="utf-8")
    before = _tree(tmp_path)
    with pytest.raises(InputError) as err:
        write_report(report, out, settings)
    assert err.value.exit_code == ExitCode.INPUT
    assert str(out.resolve()) in err.value.message and "不是报告" in err.value.message and "--out" in err.value.hint
    assert _tree(tmp_path) == before  # nothing moved, nothing left beside it


def test_a_file_at_the_output_path_is_refused_and_kept(report, settings, tmp_path):
    from gaopin.errors import InputError
    from gaopin.reports.run import write_report

    tmp_path = tmp_path / "base"
    tmp_path.mkdir()
    export = tmp_path / "八月.csv"
    export.write_text("工单编号\n", encoding="utf-8")
    with pytest.raises(InputError, match="是一个文件"):
        write_report(report, export, settings)
    assert _tree(tmp_path) == {"八月.csv": "工单编号\n".encode()}


def test_the_current_folder_and_its_parents_are_refused(report, settings, tmp_path, monkeypatch):
    from gaopin.errors import InputError
    from gaopin.reports.run import write_report

    here = tmp_path / "base" / "here"
    (here / "empty").mkdir(parents=True)
    monkeypatch.chdir(here)
    for out in (Path("."), Path("empty/.."), Path("..")):
        with pytest.raises(InputError, match="当前文件夹"):
            write_report(report, out, settings)
    assert sorted(_tree(tmp_path / "base")) == ["here", "here/empty"]


def test_an_earlier_report_or_an_empty_folder_is_replaced(report, settings, tmp_path):
    from gaopin.reports.run import write_report

    tmp_path = tmp_path / "base"
    out = tmp_path / "2024-08"
    out.mkdir(parents=True)
    first = write_report(report, out, settings)
    # What --dry-run and a file manager leave beside the report goes with it.
    for name in ("report-2024-08.eml", "report-2024-08.wecom.json", "Thumbs.db"):
        (out / name).write_text("x", encoding="utf-8")
    (out / "communities.png").unlink()
    again = write_report(report, out, settings)
    assert again == first
    assert sorted(_tree(tmp_path)) == sorted(["2024-08", *(f"2024-08/{Path(p).name}" for p in first.values())])


def _another_report(folder: Path) -> None:
    folder.mkdir()
    (folder / "report.xlsx").write_bytes(b"another run's")


@pytest.mark.parametrize("when", ["moved aside", "put in place"])
def test_another_report_swapped_in_at_the_same_moment_is_replaced_not_an_error(report, settings, tmp_path, monkeypatch, when):
    """A hand report of the month swapped its folder in while the cron run swapped its own: the
    folder had gone (moved aside by the other run) or was taken (its report put in place) between
    two renames, and the run failed with 无法替换输出文件夹 … 文件或文件夹不存在."""
    from gaopin.reports import run

    out = tmp_path / "2024-08"
    run.write_report(report, out, settings)
    real_replace = os.replace
    swaps = []

    def replace(src, dst):
        aside = Path(src) == out  # this run moves the earlier report aside
        if aside:
            swaps.append(dst)
        if aside and len(swaps) == 1 and when == "moved aside":
            real_replace(out, tmp_path / "other")  # the other run moved it first
        result = real_replace(src, dst)
        if aside and len(swaps) == 1 and when == "put in place":
            _another_report(out)  # the other run's report took the place at once
        return result

    monkeypatch.setattr(os, "replace", replace)
    files = run.write_report(report, out, settings)
    monkeypatch.setattr(os, "replace", real_replace)
    assert Path(files["xlsx"]).read_bytes()[:2] == b"PK"  # this run's workbook
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(p).name for p in files.values())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".2024-08")]
    assert len(swaps) == (1 if when == "moved aside" else 2)


def test_a_hidden_old_file_beside_the_folder_is_kept(report, settings, tmp_path):
    """An older gaopin moved a file given as --out to `.<name>.old`: it is the user's export."""
    from gaopin.reports.run import write_report

    tmp_path = tmp_path / "base"
    out = tmp_path / "八月.csv"
    write_report(report, out, settings)
    (tmp_path / ".八月.csv.old").write_text("工单编号\n", encoding="utf-8")
    write_report(report, out, settings)
    assert (tmp_path / ".八月.csv.old").read_text(encoding="utf-8") == "工单编号\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".八月.csv.old", "八月.csv"]


@pytest.mark.parametrize("stop", [PermissionError, KeyboardInterrupt, Terminated])
def test_an_earlier_report_is_put_back_when_the_new_one_cannot_take_its_place(report, settings, tmp_path, monkeypatch, stop):
    """Refused by the OS, or stopped by Ctrl-C or SIGTERM between the two renames (which left no
    report folder, the earlier one hidden in .<name>.old): the earlier report is back in place."""
    from gaopin.errors import InputError
    from gaopin.io.write import STAGING_PREFIX
    from gaopin.reports import run

    tmp_path = tmp_path / "base"
    out = tmp_path / "2024-08"
    run.write_report(report, out, settings)
    before = _tree(tmp_path)
    replace = os.replace

    def refused(src, dst):
        if Path(dst) == out and Path(src).parent == tmp_path and Path(src).name.startswith(STAGING_PREFIX):
            raise PermissionError(13, "Permission denied") if stop is PermissionError else stop()
        replace(src, dst)

    monkeypatch.setattr(run.os, "replace", refused)
    with pytest.raises(InputError if stop is PermissionError else stop) as raised:
        run.write_report(report, out, settings)
    assert stop is not PermissionError or "无法替换输出文件夹" in raised.value.message
    assert _tree(tmp_path) == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_every_file_of_the_report_is_private_whatever_the_umask(report, settings, tmp_path):
    """The chart PNGs were written with the umask's permissions (0644), the page and the
    workbook 0600: docs/security.md says every output is 0600."""
    from gaopin.reports.run import write_report

    old = os.umask(0)
    try:
        files = write_report(report, tmp_path / "2024-08", settings)
    finally:
        os.umask(old)
    assert {Path(path).name: stat.S_IMODE(os.stat(path).st_mode) for path in files.values()} == {Path(path).name: 0o600 for path in files.values()}


# write_report in a process that kills itself (SIGKILL: no clean-up at all) at a point that does
# not depend on timing: while the workbook is written ("writing"), or between the two renames
# that put the new report in the earlier one's place ("swap").
_KILLED_REPORT = """
import os, pickle, signal, sys
from pathlib import Path
from gaopin.config import load_settings
from gaopin.reports import run
with open(sys.argv[1], "rb") as fh:
    report = pickle.load(fh)
out = Path(sys.argv[3])
if sys.argv[4] == "writing":
    run.write_workbook = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
else:
    from gaopin.io.write import STAGING_PREFIX
    replace = os.replace
    def killed(src, dst):
        if Path(dst) == out and Path(src).name.startswith(STAGING_PREFIX):
            os.kill(os.getpid(), signal.SIGKILL)
        replace(src, dst)
    run.os.replace = killed
run.write_report(report, out, load_settings(sys.argv[2], environ={}))
"""


def _killed_report(report, tmp_path: Path, out: Path, when: str) -> None:
    import pickle
    import signal
    import subprocess

    from tests.delivery_data import python_env

    pickled = tmp_path / "report.pickle"
    pickled.write_bytes(pickle.dumps(report))
    args = [sys.executable, "-c", _KILLED_REPORT, str(pickled), str(SAMPLE / "gaopin.toml"), str(out), when]
    done = subprocess.run(args, capture_output=True, text=True, env=python_env(), timeout=300)
    pickled.unlink()
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_what_a_killed_report_left_is_removed_by_the_next_report_into_the_folder(report, settings, tmp_path):
    """Staging folders (the new report's pictures, workbook parts) of killed runs stayed beside
    the report folder for good."""
    from gaopin.io.write import STAGING_PREFIX
    from gaopin.reports.run import write_report

    base = tmp_path / "base"
    out = base / "2024-08"
    write_report(report, out, settings)
    before = _tree(out)
    _killed_report(report, tmp_path, out, "writing")
    left = [p.name for p in base.iterdir() if p != out]
    assert len(left) == 1 and left[0].startswith(STAGING_PREFIX)
    assert _tree(out) == before
    write_report(report, out, settings)
    assert [p.name for p in base.iterdir()] == ["2024-08"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_report_killed_between_its_two_renames_gets_the_earlier_report_back_at_the_next_run(report, settings, tmp_path):
    """Killed after the earlier report was moved aside and before the new one took its place,
    a run left no report folder at all."""
    from gaopin.reports.run import report_folder, write_report

    base = tmp_path / "base"
    out = base / "2024-08"
    write_report(report, out, settings)
    (out / "Thumbs.db").write_bytes(b"the earlier one")  # to tell the earlier report from a new one
    before = _tree(out)
    _killed_report(report, tmp_path, out, "swap")
    assert not out.exists() and (base / ".2024-08.old").is_dir()
    assert report_folder(out) == out.resolve()  # the next run's first step
    assert _tree(out) == before
    assert not (base / ".2024-08.old").exists()
    write_report(report, out, settings)
    assert [p.name for p in base.iterdir()] == ["2024-08"]


def test_run_report_refuses_the_output_before_any_work(db, settings, tmp_path, monkeypatch):
    from gaopin.errors import InputError
    from gaopin.reports import run

    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("x", encoding="utf-8")

    def no_work(*args, **kwargs):
        raise AssertionError("the report was made")

    monkeypatch.setattr(run, "make_report", no_work)
    with pytest.raises(InputError, match="notes.txt"):
        run.run_report(settings, 8, None, None, db, TODAY, out_dir=tmp_path / "work")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_the_second_process_ends_when_the_report_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import time

    script = f"""
import os, signal, sys
from gaopin.config import load_settings
from gaopin.reports.run import ChartProcess
charts = ChartProcess(load_settings({str(SAMPLE / "gaopin.toml")!r}, environ={{}}))
charts.start()
charts._pool.submit(os.getpid).result()
print(*charts._pool._processes, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as a timeout's kill would: no clean-up at all
"""
    out = tmp_path / "out.txt"
    with out.open("w") as fh:  # a file, not a pipe: a surviving worker would hold a pipe open
        done = subprocess.run([sys.executable, "-c", script], stdout=fh, stderr=subprocess.STDOUT, timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == -signal.SIGKILL, out.read_text()
    worker = int(out.read_text().split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the chart process outlived the report")


def test_the_chart_process_ends_without_pythons_finalization(tmp_path):
    """Its teardown of matplotlib's modules took 0.1 s that the report waited for at its end: an
    object left in one of its modules is never finalised there (its `open` kept: by then the
    modules' names are gone), and the process still ends well."""
    import subprocess

    finalised = tmp_path / "finalised.txt"
    left = f"import json\\nclass Left:\\n    def __del__(self, open=open):\\n        open({str(finalised)!r}, 'w').close()\\njson.left = Left()"
    script = f"""
from gaopin.config import load_settings
from gaopin.reports.run import ChartProcess
charts = ChartProcess(load_settings({str(SAMPLE / "gaopin.toml")!r}, environ={{}}))
charts.start()
charts._pool.submit(exec, "{left}").result()
process = next(iter(charts._pool._processes.values()))
charts.close()
print("closed", process.exitcode, flush=True)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["closed", "0"]
    assert not finalised.exists()


@pytest.mark.parametrize(
    "source, safe",
    [
        ('"""A script."""\nimport sys\nfrom gaopin.cli import main\nX = 1\nif __name__ == "__main__":\n    sys.exit(main())\n', True),
        ("def main():\n    pass\n\nif '__main__' == __name__:\n    main()\n", True),
        ("from gaopin.reports.run import run_report\nrun_report(None, 8, 2024, None, None, None)\n", False),
        ("import sys\nsettings = load()\nif __name__ == '__main__':\n    pass\n", False),
        ("if __name__ != '__main__':\n    pass\n", False),
        ("this is not python", False),
    ],
)
def test_spawning_is_safe_only_when_the_main_script_would_not_run_again(tmp_path, monkeypatch, source, safe):
    import types

    from gaopin.reports import charting

    script = tmp_path / "script.py"
    script.write_text(source, encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert charting.spawn_is_safe() is safe


def test_spawning_is_safe_from_a_package_main_and_an_interactive_session(monkeypatch):
    import types
    from importlib.machinery import ModuleSpec

    from gaopin.reports import charting

    main = types.ModuleType("__main__")
    main.__spec__ = ModuleSpec("gaopin.__main__", None)  # python -m gaopin: never run again
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert charting.spawn_is_safe()
    main.__spec__ = None  # an interactive session: no file to run
    assert charting.spawn_is_safe()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert not charting.spawn_is_safe()


def test_a_script_calling_run_report_at_its_top_level_runs_once(db, tmp_path):
    import os
    import subprocess

    runs = tmp_path / "runs.txt"
    script = tmp_path / "monthly.py"
    script.write_text(
        f"""
from datetime import date
from pathlib import Path
from gaopin.config import load_settings
from gaopin.reports.run import run_report
with open({str(runs)!r}, "a") as fh:
    fh.write("run\\n")
run_report(load_settings({str(SAMPLE / "gaopin.toml")!r}, environ={{}}), 8, None, None, {db!r}, date(2024, 10, 31), out_dir=Path({str(tmp_path / "out")!r}))
""",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert runs.read_text() == "run\n"
    assert (tmp_path / "out" / "report.html").exists()


def test_the_second_process_leaves_ctrl_c_to_the_report(settings):
    import signal

    from gaopin.reports.run import chart_process

    with chart_process(settings) as charts:
        charts.start()
        # Ctrl-C reaches the whole process group: the report stops; the worker prints nothing.
        assert charts._pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN
        assert charts._pool.submit(gc.isenabled).result() is False
        assert charts._pool.submit(gc.get_freeze_count).result() > 0  # what the warm-up imported


def test_the_report_leaves_the_collector_as_it_found_it(report, settings, tmp_path):
    from gaopin.reports.run import chart_process, write_report

    assert gc.isenabled()
    with chart_process(settings) as charts:
        write_report(report, tmp_path / "out", settings, charts_in=charts)
    assert gc.isenabled()


def test_out_dir_in_the_file_is_relative_to_the_file_and_without_it_reports_go_to_reports_here(tmp_path, monkeypatch):
    from gaopin.config import Settings, load_settings
    from gaopin.reports.run import default_out_dir

    folder = tmp_path / "srv"
    folder.mkdir()
    (folder / "gaopin.toml").write_text('[report]\nout_dir = "reports"\n', encoding="utf-8")
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # cron's current folder
    assert default_out_dir(load_settings(folder / "gaopin.toml", environ={}), "2024-08") == folder / "reports" / "2024-08"
    assert default_out_dir(Settings(), "2024-08") == Path("reports") / "2024-08"


def test_a_replay_inside_the_month_counts_the_figures_to_the_same_day_as_its_ledger(tmp_path, settings):
    """`--today 2024-08-10` showed the ledger as of 10 August but counted all of August's tickets."""
    path = tmp_path / "g.db"
    with Store(path) as store:
        import_files([SAMPLE / "tickets.csv"], store, settings, now=datetime(2024, 11, 1))
        received = store.tickets().frame["received_at"]
    by_the_10th = int(((received >= pd.Timestamp("2024-08-01")) & (received < pd.Timestamp("2024-08-11"))).sum())
    whole = int(((received >= pd.Timestamp("2024-08-01")) & (received < pd.Timestamp("2024-09-01"))).sum())
    assert 0 < by_the_10th < whole
    replay = make_report(settings, 8, 2024, None, str(path), date(2024, 8, 10))
    assert replay["overall"]["tickets"] == by_the_10th
    assert replay["data_end"] is not None and replay["data_end"] < "2024-08-11"
    assert make_report(settings, 8, 2024, None, str(path), TODAY)["overall"]["tickets"] == whole


def test_a_period_that_starts_after_today_is_refused_not_compared_with_a_cut_previous_period(db, settings):
    from gaopin.errors import UsageError

    with pytest.raises(UsageError, match="2024-08 统计期（2024-08-01 至 2024-08-31）在 2024-07-10 还没有开始"):
        make_report(settings, 8, 2024, None, db, date(2024, 7, 10))
    assert make_report(settings, 8, 2024, None, db, date(2024, 8, 1))["overall"]["tickets"] > 0


def test_a_failed_report_does_not_wait_forever_for_a_chart_process_that_never_answers(report, settings, tmp_path, monkeypatch):
    """SIGTERM to the process group killed the chart process while the report failed; Python's
    pool then never completed the drawing's future and `wait` hung for good (1 run in 25)."""
    import threading
    from concurrent.futures import Future

    from gaopin.reports import run

    stuck = Future()
    stuck.set_running_or_notify_cancel()  # running: cancel() cannot stop it, nothing will finish it

    class Unanswering:
        def drawn_ahead(self, text):
            return None

        def draw(self, report):
            return stuck

        def subset(self, used, cache):
            return None

        def stop(self):
            self.stopped = True

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run, "write_workbook", broken)
    monkeypatch.setattr(run, "CHILD_STOP_WAIT_S", 0.1)
    charts, raised = Unanswering(), []

    def attempt():
        try:
            run.write_report(report, tmp_path / "out", settings, charts_in=charts)
        except OSError as exc:
            raised.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and raised and not (tmp_path / "out").exists()
    assert charts.stopped


def test_a_workbook_of_empty_sheets_is_named_once_in_the_no_tickets_error(settings, tmp_path):
    """Each sheet read is a source of the load: the error said "t.xlsx、t.xlsx 中没有工单"."""
    from gaopin.errors import UsageError
    from tests.builders import write_xlsx

    header = [["工单编号", "受理时间"]]
    path = write_xlsx(tmp_path / "t.xlsx", header, sheet="第一批", extra_sheets={"第二批": header})
    with pytest.raises(UsageError) as err:
        make_report(settings, 8, None, [path], None, TODAY)
    assert err.value.message == "t.xlsx 中没有工单，无法确定年份"


def _sigint_handler_here() -> str:
    import signal

    return repr(signal.getsignal(signal.SIGINT))


@pytest.mark.skipif(not hasattr(__import__("signal"), "pthread_sigmask"), reason="POSIX signals")
def test_a_process_started_for_the_charts_starts_deaf_to_ctrl_c_and_this_one_is_not():
    """A Ctrl-C while the chart process was still importing printed its traceback (review D):
    the process starts with SIGINT ignored (worker_init ignores it later anyway); this one has
    its own handler and signal mask back afterwards."""
    import signal

    from gaopin.reports.charting import _interrupts_held

    spawn = multiprocessing.get_context("spawn")
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever earlier tests left
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as plain:
            assert plain.submit(_sigint_handler_here).result(timeout=60) == repr(signal.default_int_handler)
        with _interrupts_held():
            held = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn)
            child = held.submit(_sigint_handler_here)
        try:
            assert child.result(timeout=60) == repr(signal.SIG_IGN)
        finally:
            held.shutdown()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_chart_process_is_started_with_ctrl_c_held(settings, monkeypatch):
    import contextlib

    from gaopin.reports import charting, run

    entered = []

    @contextlib.contextmanager
    def held():
        entered.append(True)
        yield

    monkeypatch.setattr(charting, "_interrupts_held", held)
    with run.chart_process(settings) as charts:
        charts.start()
        assert charts._pool is not None
    assert entered == [True]


def test_a_report_made_again_takes_its_charts_and_font_from_the_cache(report, settings, tmp_path, monkeypatch):
    from gaopin import charts as charts_module
    from gaopin.reports import run

    cached = settings.with_values({"report.cache_dir": str(tmp_path / "cache")})
    fresh = run.write_report(report, tmp_path / "fresh", settings.with_values({"report.cache_dir": "off"}))
    assert not (tmp_path / "cache").exists()
    run.write_report(report, tmp_path / "first", cached)
    assert _outputs(tmp_path / "first") == _outputs(tmp_path / "fresh")

    def nothing_drawn(*args, **kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(charts_module, "render_charts", nothing_drawn)
    monkeypatch.setattr(charts_module, "_cut_font", nothing_drawn)
    with run.chart_process(cached) as in_process:
        in_process.start()  # as make_report starts it, once the tickets are read
        in_process._warming.result(timeout=60)  # matplotlib loaded there, as during a district's figures
        again = run.write_report(report, tmp_path / "again", cached, charts_in=in_process)
        assert in_process._pool is None  # stopped at once: nothing to draw there
        assert multiprocessing.active_children() == []
    assert sorted(again) == sorted(fresh) and "communities" in again
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "fresh")
    assert {oct(os.stat(p).st_mode & 0o777) for p in (tmp_path / "again").glob("*.png")} == {"0o600"}
    # Other figures are other charts: drawn, not taken.
    other = {**report, "street": "东风街道"}
    with pytest.raises(AssertionError, match="drawn again"):
        run.write_report(other, tmp_path / "other", cached)
    assert not (tmp_path / "other").exists()


def test_a_changed_cached_chart_is_drawn_again(report, settings, tmp_path):
    from gaopin.reports import run

    cached = settings.with_values({"report.cache_dir": str(tmp_path / "cache")})
    run.write_report(report, tmp_path / "first", cached)
    (entry,) = (tmp_path / "cache" / "charts").iterdir()
    (entry / "monthly.png").write_bytes(b"not the chart")
    run.write_report(report, tmp_path / "again", cached)
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")


def test_report_cli_made_twice_gives_the_same_folder(db, tmp_path):
    from typer.testing import CliRunner

    from gaopin.cli import app

    runner = CliRunner()
    args = ["report", "--config", str(SAMPLE / "gaopin.toml"), "--db", str(db), "--month", "8", "--today", TODAY.isoformat()]
    env = {"GAOPIN_REPORT__CACHE_DIR": str(tmp_path / "cache")}
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "first")], env=env)
    assert first.exit_code == 0, first.output
    assert len(list((tmp_path / "cache" / "charts").iterdir())) == 1
    again = runner.invoke(app, [*args, "--out", str(tmp_path / "again")], env=env)
    assert again.exit_code == 0, again.output
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")
    assert len(list((tmp_path / "cache" / "charts").iterdir())) == 1


def test_a_chart_process_still_loading_is_left_to_finish_on_a_cache_hit(report, settings, tmp_path):
    """Stopped while loading matplotlib it could leave matplotlib's lock file behind."""
    from gaopin.reports import run

    cached = settings.with_values({"report.cache_dir": str(tmp_path / "cache")})
    run.write_report(report, tmp_path / "first", cached)
    with run.chart_process(cached) as in_process:
        in_process.start()
        loading = in_process._warming
        run.write_report(report, tmp_path / "again", cached, charts_in=in_process)
        assert loading.done() or in_process._pool is not None  # not stopped mid-way
    assert loading.done() and loading.exception() is None  # it finished its loading
    assert multiprocessing.active_children() == []
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")


def _imported(folder: Path, settings) -> str:
    """A store just given the sample's tickets: its first report refreshes the ledger."""
    folder.mkdir(parents=True)
    with Store(folder / "g.db") as store:
        import_files([SAMPLE / "tickets.csv"], store, settings, now=datetime(2024, 11, 1))
    return str(folder / "g.db")


def test_after_an_import_the_charts_are_drawn_while_the_ledger_refreshes_and_the_font_cut_there(settings, tmp_path, monkeypatch):
    import threading

    from gaopin.reports import run

    settings = settings.with_values({"report.cache_dir": "off"})  # else nothing would be drawn ahead
    here = run.make_report(settings, 8, None, None, _imported(tmp_path / "a", settings), TODAY)
    run.write_report(here, tmp_path / "here", settings)  # drawn and cut in this process

    def not_after(self, report):
        raise AssertionError("drawn after the ledger")

    cuts, subset, taken_back, take_back = [], run.ChartProcess.subset, [], run.ChartProcess.take_back

    def cut_there(self, used, cache):
        cutting = subset(self, used, cache)
        cuts.append(cutting)
        return cutting

    def once_begun(self, cutting):
        cutting.result(timeout=60)  # begun there before the workbook is written: not taken back
        taken_back.append(take_back(self, cutting))
        return taken_back[-1]

    handed, draw_ahead, store_ledger = threading.Event(), run.ChartProcess.draw_ahead, run._store_ledger

    def handing(self, report, text):
        draw_ahead(self, report, text)
        handed.set()

    def refreshing(*args, **kwargs):
        # The refresh ends only once the charts are handed over: drawn during it, not after.
        assert handed.wait(30), "the charts were not handed over during the refresh"
        return store_ledger(*args, **kwargs)

    def drawn_first(self, text):
        future = self._ahead[1] if self._ahead is not None else None
        if future is not None:
            future.result(timeout=60)  # the font is cut there once the charts are done
        return taken(self, text)

    taken = run.ChartProcess.drawn_ahead
    monkeypatch.setattr(run.ChartProcess, "draw_ahead", handing)
    monkeypatch.setattr(run.ChartProcess, "drawn_ahead", drawn_first)
    monkeypatch.setattr(run, "_store_ledger", refreshing)
    monkeypatch.setattr(run.ChartProcess, "draw", not_after)
    monkeypatch.setattr(run.ChartProcess, "subset", cut_there)
    monkeypatch.setattr(run.ChartProcess, "take_back", once_begun)
    there = run.run_report(settings, 8, None, None, _imported(tmp_path / "b", settings), TODAY, out_dir=tmp_path / "there")
    assert multiprocessing.active_children() == []
    assert len(cuts) == 1 and taken_back == [False] and isinstance(cuts[0].result(), bytes)  # cut there
    assert "communities" in there["files"]
    assert _outputs(tmp_path / "there") == _outputs(tmp_path / "here")


def test_charts_the_cache_holds_are_not_drawn_ahead(settings, tmp_path, monkeypatch):
    from gaopin.reports import run

    cached = settings.with_values({"report.cache_dir": str(tmp_path / "cache")})
    run.run_report(cached, 8, None, None, _imported(tmp_path / "a", cached), TODAY, out_dir=tmp_path / "first")
    ahead = []
    monkeypatch.setattr(run.ChartProcess, "draw_ahead", lambda self, report, text: ahead.append(report))
    run.run_report(cached, 8, None, None, _imported(tmp_path / "b", cached), TODAY, out_dir=tmp_path / "again")
    assert ahead == []
    assert _outputs(tmp_path / "again") == _outputs(tmp_path / "first")


def test_a_report_failing_in_the_refresh_stops_the_charts_drawn_ahead(settings, tmp_path, monkeypatch):
    import threading

    from gaopin.reports import run

    settings = settings.with_values({"report.cache_dir": "off"})
    started, drawings = threading.Event(), []
    draw_ahead = run.ChartProcess.draw_ahead

    def recorded(self, report, text):
        draw_ahead(self, report, text)
        drawings.append(self._ahead[1])
        started.set()

    def failing(*args, **kwargs):
        assert started.wait(60)
        raise RuntimeError("the refresh failed")

    monkeypatch.setattr(run.ChartProcess, "draw_ahead", recorded)
    monkeypatch.setattr(run, "_store_ledger", failing)
    with pytest.raises(RuntimeError, match="the refresh failed"):
        run.run_report(settings, 8, None, None, _imported(tmp_path / "a", settings), TODAY, out_dir=tmp_path / "out")
    assert multiprocessing.active_children() == []
    (drawing,) = drawings
    # Stopped or never started, not waited for: no charts came of it.
    assert drawing.cancelled() or drawing.exception(timeout=60) is not None
    assert not (tmp_path / "out").exists()


class _AheadOnly:
    """A chart process whose charts were drawn ahead: `drawing` gives them when `finish` is called.
    A font's cut given to it is begun there once the drawing is done, unless taken back first."""

    def __init__(self, report):
        from concurrent.futures import Future

        from gaopin.charts import chart_input, draw_charts

        self.drawn, self.drawing = draw_charts(chart_input(report)), Future()
        self.drawing.set_running_or_notify_cancel()
        self.given, self.taken_back, self.stopped = [], [], False

    def finish(self):
        self.drawing.set_result(self.drawn)

    def drawn_ahead(self, text):
        return self.drawing

    def subset(self, used, cache):
        from concurrent.futures import Future

        from gaopin.charts import font_subset

        cutting = Future()
        self.given.append(cutting)
        if self.drawing.done():  # begun at once, and cut there
            cutting.set_result(font_subset(used, "", cache))
        return cutting

    def take_back(self, cutting):
        taken = not cutting.done()
        self.taken_back.append(taken)
        if taken:
            self.finish()  # the drawing ends later; the cut taken back is skipped there
        return taken

    def stop(self):
        self.stopped = True

    def cancel(self):
        pass


def test_the_font_is_cut_there_once_the_charts_drawn_ahead_are_done_else_taken_back(report, settings, tmp_path):
    from gaopin.reports import run

    settings = settings.with_values({"report.cache_dir": "off"})
    run.write_report(report, tmp_path / "here", settings)
    done = _AheadOnly(report)
    done.finish()
    run.write_report(report, tmp_path / "done", settings, charts_in=done)
    assert len(done.given) == 1 and done.taken_back == [False]
    # Still drawing when the workbook is written (a street's quick figures came after the
    # refresh): the cut is taken back and made here, not after the charts.
    drawing = _AheadOnly(report)
    run.write_report(report, tmp_path / "drawing", settings, charts_in=drawing)
    assert len(drawing.given) == 1 and drawing.taken_back == [True]
    assert _outputs(tmp_path / "done") == _outputs(tmp_path / "drawing") == _outputs(tmp_path / "here")


def test_a_font_cut_is_made_on_the_side_that_claims_it_first(settings):
    """A real chart process: a cut given to it while it is busy is taken back, and it then skips
    it; one it has begun is not taken back, and gives the same font as one cut here."""
    import time

    from gaopin.charts import font_subset
    from gaopin.reports import run

    with run.chart_process(settings) as there:
        there.start()
        busy = there._submit(time.sleep, 1.0)
        cutting = there.subset("高频诉求台账", None)
        assert there.take_back(cutting)
        assert cutting.result(timeout=60) is None
        assert busy.done()
        cutting = there.subset("高频诉求台账", None)
        assert cutting.result(timeout=60) == font_subset("高频诉求台账")
        assert not there.take_back(cutting)
    assert multiprocessing.active_children() == []


def test_an_interrupted_report_stops_the_charts_drawn_ahead_without_waiting_for_them(report, settings, tmp_path, monkeypatch):
    from gaopin.reports import run

    def interrupted(report, path):
        raise KeyboardInterrupt

    waited = []
    monkeypatch.setattr(run, "write_workbook", interrupted)
    monkeypatch.setattr(run, "wait", lambda futures, timeout=None: waited.extend(futures))
    charts = _AheadOnly(report)  # never done: waiting for it would not end
    with pytest.raises(KeyboardInterrupt):
        run.write_report(report, tmp_path / "out", settings.with_values({"report.cache_dir": "off"}), charts_in=charts)
    assert charts.stopped and waited == []
    assert not (tmp_path / "out").exists()


def test_charts_drawn_ahead_are_given_once_and_only_for_the_same_figures(settings):
    from concurrent.futures import Future

    from gaopin.reports import run

    charts, drawing = run.ChartProcess(settings), Future()
    charts._ahead = ("figures", drawing)  # as draw_ahead leaves it
    assert charts.drawn_ahead("other figures") is None
    assert charts.drawn_ahead(None) is None  # figures that cannot be written as text
    assert charts.drawn_ahead("figures") is drawing
    assert charts.drawn_ahead("figures") is None  # given once


def test_the_chart_process_draws_in_memory_the_pictures_drawn_here(report, settings, tmp_path):
    """It never writes into the report's folder: a failed report need not wait for it."""
    from gaopin.charts import chart_input, draw_charts
    from gaopin.reports import run

    with run.chart_process(settings) as there:
        drawn = there.draw(report).result(timeout=120)
    assert multiprocessing.active_children() == []
    assert drawn == draw_charts(chart_input(report)) and set(drawn) >= {"monthly", "communities"}
