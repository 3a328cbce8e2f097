"""The sample office's settings and store, shared by the report's tests (made once a module)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from gaopin.config import load_settings
from gaopin.store import Store, import_files

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def settings():
    return load_settings(SAMPLE / "gaopin.toml", environ={})


@pytest.fixture(scope="module")
def db(tmp_path_factory, settings):
    path = tmp_path_factory.mktemp("run") / "g.db"
    with Store(path) as store:
        import_files([SAMPLE / "tickets.csv"], store, settings, now=datetime(2024, 11, 1))
    return str(path)
