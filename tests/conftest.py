"""Shared isolation: no test sees the developer's gaopin.toml, config dir or GAOPIN_* variables."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.delivery_fixtures"]

# Deterministic and quick: property tests must not make the suite slow or flaky.
hypothesis_settings.register_profile("gaopin", max_examples=150, deadline=None, derandomize=True)
hypothesis_settings.load_profile("gaopin")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("GAOPIN_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "_home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))  # the log directory
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))  # the report cache: none shared between tests
    monkeypatch.chdir(tmp_path)
    yield
