"""Fixtures of the delivery tests (tests/deliver, tests/cli): the sample imported and its August
report made once per session. Loaded by tests/conftest.py as a plugin."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.delivery_data import SAMPLE, SAMPLE_TODAY, copy_db


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    from gaopin.config import load_settings
    from gaopin.store import Store, import_files

    path = tmp_path_factory.mktemp("sample_store") / "gaopin.db"
    with Store(path) as store:
        import_files([SAMPLE / "tickets.xlsx"], store, load_settings(SAMPLE / "gaopin.toml", environ={}), now=datetime(2024, 11, 1))
    return path


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory, sample_db) -> dict:
    """The sample's August report as `gaopin report --email` makes it (phones masked), with its files."""
    from gaopin.config import load_settings
    from gaopin.deliver.run import for_delivery
    from gaopin.reports.run import run_report

    settings = for_delivery(load_settings(SAMPLE / "gaopin.toml", environ={}))
    out = tmp_path_factory.mktemp("sample_report") / "2024-08"
    return run_report(settings, 8, 2024, None, str(sample_db), SAMPLE_TODAY, out_dir=out)


@pytest.fixture(scope="session")
def phones() -> list[str]:
    from tests.delivery_data import sample_phones

    return sample_phones()


@pytest.fixture
def db(tmp_path, sample_db) -> Path:
    """A private copy of the sample store (its own sends record)."""
    return copy_db(sample_db, tmp_path)
