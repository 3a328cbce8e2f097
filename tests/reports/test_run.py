"""`make_report` from the store: the up-to-date ledger read alongside the tickets."""

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from gaopin.config import load_settings
from gaopin.reports.run import make_report
from gaopin.store import Store, import_files
from tests.builders import at, store_with

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TODAY = date(2024, 10, 31)


@pytest.fixture(scope="module")
def settings():
    return load_settings(SAMPLE / "gaopin.toml", environ={})


@pytest.fixture(scope="module")
def db(tmp_path_factory, settings):
    path = tmp_path_factory.mktemp("run") / "g.db"
    with Store(path) as store:
        import_files([SAMPLE / "tickets.csv"], store, settings, now=datetime(2024, 11, 1))
    return str(path)


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


def test_the_ledger_follows_the_tickets_year(db, settings, monkeypatch):
    from gaopin.ledger import service

    make_report(settings, 8, None, None, db, TODAY)  # the ledger is current from here on
    monkeypatch.setattr(service, "latest_year", lambda store: 1999)
    report = make_report(settings, 8, None, None, db, TODAY)
    assert report["period"]["label"] == "2024-08"
    assert report["ledger"]["month"] == "2024-08"


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
        # A tie over all tickets: broken as a read of every ticket breaks it.
        ({("东街道", "2024-08-05"): 3, ("西街道", "2024-08-06"): 2, ("西街道", "2024-09-02"): 1}, None),
        ({("西街道", "2024-08-05"): 2, ("东街道", "2024-08-06"): 1, ("东街道", "2024-10-02"): 1}, None),
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
    # A tie is broken by a second read, of every ticket.
    assert reads == ([date(2024, 8, 31)] if street else [date(2024, 8, 31), None])
    with monkeypatch.context() as m:
        _full_read(m)
        full = make_report(settings, 8, 2024, None, str(path), TODAY)
    assert scoped == full
    if street:
        assert scoped["street"] == street


def test_leading_street():
    from gaopin.reports.monthly import leading_street

    streets = pd.Series(["东", "东", None, "西"], dtype="str")
    assert leading_street(streets, {}) == "东"
    assert leading_street(streets, {"西": 2}) == "西"
    assert leading_street(streets, {"西": 1}) is None
    assert leading_street(pd.Series([None], dtype="str"), {}) == ""
    assert leading_street(pd.Series([], dtype="str"), {"南": 1}) == "南"
