"""print_json: the values json would write, for any stdout encoding."""

import io
import json
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
