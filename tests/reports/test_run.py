"""`make_report` from the store: the up-to-date ledger read alongside the tickets."""

from datetime import date, datetime
from pathlib import Path

import pytest

from gaopin.config import load_settings
from gaopin.reports.run import make_report
from gaopin.store import Store, import_files

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
