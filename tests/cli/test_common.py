"""print_json: the values json would write, for any stdout encoding."""

import io
import json
import logging
import math
import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import numpy as np

import pytest

from gaopin.cli.common import print_json


@dataclass
class _Thing:
    name: str


class _Pair(NamedTuple):
    a: int
    b: str


DATA = {
    "text": "东坊苑2号楼",
    "day": date(2024, 8, 3),
    "at": datetime(2024, 8, 3, 14, 5, 9),
    "thing": _Thing("a"),
    1: "non-text key",
    "n": [1, 2.5, None, True],
    "numpy float": np.float64(1.5),
    "numpy int": np.int64(7),
    "pair": _Pair(1, "x"),
}


def _written(monkeypatch: pytest.MonkeyPatch, encoding: str, data) -> str:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding)
    monkeypatch.setattr(sys, "stdout", out)
    out.write("before ")
    print_json(data)
    out.flush()
    return raw.getvalue().decode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_print_json_gives_what_json_gives(monkeypatch, encoding):
    text = _written(monkeypatch, encoding, DATA)
    assert text.startswith("before ") and text.endswith("\n")
    expected = json.loads(json.dumps(DATA, ensure_ascii=False, default=str))
    assert json.loads(text[len("before ") :]) == expected
    # datetimes and dataclasses are left to default=str, as json does
    assert expected["at"] == "2024-08-03 14:05:09" and expected["thing"] == "_Thing(name='a')"


def test_print_json_writes_nan_as_null(monkeypatch):
    text = _written(monkeypatch, "utf-8", {"x": math.nan})
    assert json.loads(text[len("before ") :]) == {"x": None}


def test_print_json_hands_what_orjson_cannot_write_to_json(monkeypatch):
    data = {"big": 2**70, "text": "东坊苑"}
    text = _written(monkeypatch, "utf-8", data)
    assert json.loads(text[len("before ") :]) == data


@dataclass
class _Dated:
    name: str
    on: date
    at: datetime
    ids: list


@pytest.mark.parametrize("extra", [{}, {"big": 2**70}], ids=["orjson", "json"])
def test_print_json_writes_dataclasses_field_by_field_when_asked(monkeypatch, extra):
    """`dataclasses=True` (a `json_ready` result): each dataclass as the dict of its fields, its
    dates and times in ISO 8601 as `isoformat()` writes them, whether orjson writes it or `json`
    (a value orjson cannot write)."""
    import pandas as pd

    stamp = pd.Timestamp("2024-08-03 14:05:09")  # a datetime subclass, which orjson hands to `default`
    data = {"items": [_Dated("恰海小区", date(2024, 8, 3), stamp, ["A1", "A2"])], "day": date(2024, 8, 4), "at": datetime(2024, 8, 4, 9, 0), **extra}
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8"))
    print_json(data, dataclasses=True)
    sys.stdout.flush()
    expected = {"items": [{"name": "恰海小区", "on": "2024-08-03", "at": "2024-08-03T14:05:09", "ids": ["A1", "A2"]}], "day": "2024-08-04", "at": "2024-08-04T09:00:00", **extra}
    assert json.loads(raw.getvalue()) == expected


# --- handles_errors -------------------------------------------------------------------------


def test_an_error_quoting_the_export_masks_its_phones(tmp_path):
    """A file without a header row: the error shows the first rows it saw, which hold a
    caller's number; stderr is what cron mails, so the number is masked there too."""
    from typer.testing import CliRunner

    from gaopin.cli import app
    from gaopin.errors import ExitCode

    export = tmp_path / "无表头.csv"
    export.write_text("A1,2024-08-03 09:00:00,张三,13812345678,恰海小区1号楼\n" * 3, encoding="utf-8")
    result = CliRunner().invoke(app, ["inspect", str(export)])
    assert result.exit_code == ExitCode.INPUT, result.output
    assert result.stderr.startswith("错误：")
    assert "138****5678" in result.stderr
    assert "13812345678" not in result.stderr


def test_an_error_before_the_settings_are_read_prints_only_its_own_lines(tmp_path, monkeypatch):
    """No log is configured yet when `ledger` lacks --month: the error goes to the default log,
    not through logging's last resort onto stderr above the 错误/提示 lines."""
    from typer.testing import CliRunner

    from gaopin.cli import app, logs

    def unconfigured() -> None:
        if logs._handler is not None:
            logging.getLogger(logs.LOGGER).removeHandler(logs._handler)
            logs._handler.close()
            logs._handler = None

    unconfigured()  # as a fresh process starts
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    try:
        result = CliRunner().invoke(app, ["ledger"])
    finally:
        unconfigured()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["错误：请用 --month 指定月份", "提示：例如 gaopin ledger --month 8；其他操作见 gaopin ledger --help"]
    assert "exit 2: 请用 --month 指定月份" in next((tmp_path / "state").rglob("gaopin.log")).read_text(encoding="utf-8")


def test_the_log_masks_numbers_but_not_the_message_ids_gaopin_made():
    """A robot message's id <…a2693086c1f@gaopin.notify> was logged as <…a26****86c1f…>, which
    `gaopin sends` could no longer be matched with."""
    from gaopin.cli.logs import MaskPhones

    record = logging.LogRecord("gaopin", logging.INFO, __file__, 1, "answered %s for %s (回电 %s)", ("ok", "<d6b5cab0f1e94a41af800a2693086c1f@gaopin.notify>", "13812345678"), None)
    MaskPhones().filter(record)
    assert record.msg == "answered ok for <d6b5cab0f1e94a41af800a2693086c1f@gaopin.notify> (回电 138****5678)"


class _ClosedPipe:
    """A text stream whose first write fails as a closed pipe does on `os_name`."""

    def __init__(self, fd: int, error: OSError):
        self.fd, self.error, self.written = fd, error, []

    def write(self, data):
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.written.append(data)
        return len(data)

    def flush(self):
        pass


@pytest.mark.parametrize(
    "os_name, error, silenced",
    [
        ("posix", BrokenPipeError(32, "Broken pipe"), True),
        ("nt", OSError(22, "Invalid argument"), True),  # what Windows gives for a closed pipe
        ("posix", OSError(22, "Invalid argument"), False),  # elsewhere a real error: told, exit 5
    ],
)
def test_a_stream_whose_reader_went_away_goes_to_the_null_device(monkeypatch, os_name, error, silenced):
    import os

    from gaopin.cli.common import PipeSafeStream
    from gaopin.errors import InputError

    def write_as_on(stream) -> InputError | None:
        real = os.name
        monkeypatch.setattr(os, "name", os_name)
        try:
            stream.write("第一行\n")
        except InputError as exc:
            return exc
        finally:
            monkeypatch.setattr(os, "name", real)  # pathlib and pytest need the real one
        return None

    read_end, write_end = os.pipe()
    try:
        inner = _ClosedPipe(write_end, error)
        raised = write_as_on(PipeSafeStream(inner, write_end))
        # Either way later writes go nowhere, and the process's end flushes without an error.
        assert os.fstat(write_end).st_rdev == os.stat(os.devnull).st_rdev
        if not silenced:
            assert raised is not None and raised.message == "无法写出结果：Invalid argument"
            assert inner.written == []
            return
        assert raised is None
        assert inner.written == ["第一行\n"]  # written again, into the null device
        assert os.fstat(write_end).st_rdev == os.stat(os.devnull).st_rdev
    finally:
        os.close(read_end)
        os.close(write_end)
