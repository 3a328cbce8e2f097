"""Quotes in a CSV: one left open is an error, one closed is not."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from gaopin.config import LimitSettings, LoadSettings
from gaopin.errors import InputError
from gaopin.io.readers import read
from tests.builders import write_bytes

HEADER = "工单编号,受理时间,来电人电话/账号,所属社区,诉求内容,是否有效回访,是否联系,是否解决,是否满意\r\n"
FIRST = "GD1,2024-08-01 10:00,13800000001,恰海社区,漏水,是,是,是,满意\r\n"


def _body(path, columns=None):
    grids = read(path, LoadSettings(), LimitSettings())
    assert len(grids) == 1
    return grids[0].body(0, columns)


# --- a quote opened in the last record -------------------------------------------------------


@pytest.mark.parametrize(
    "last, encoding",
    [
        # The reviewer's file: the rest of the row went into 诉求内容, a 双否 was lost, no error.
        ('GD2,2024-08-02 10:00,13800000002,恰海社区,"引号开头 漏水,是,是,否,不满意\r\n', "utf-8"),
        ('GD2,2024-08-02 10:00,13800000002,恰海社区,"引号开头 漏水,是,是,否,不满意', "utf-8"),  # no final line break
        ('GD2,2024-08-02 10:00,13800000002,恰海社区,漏水,是,是,否,"不满意\r\n', "utf-8"),  # the last column: read by Arrow
        ('GD2,2024-08-02 10:00,13800000002,恰海社区,"引号 ""开头"" 漏水,是,是,否,不满意\r\n', "gb18030"),
        ('GD2,2024-08-02 10:00,13800000002,恰海社区,"引号开头 漏水,是,是,否,不满意\r\n', "utf-16"),
    ],
)
def test_a_quote_opened_in_the_last_record_is_an_error(tmp_path, last, encoding):
    path = write_bytes(tmp_path / "q.csv", (HEADER + FIRST + last).encode(encoding))
    with pytest.raises(InputError) as err:
        _body(path, [0, 1, 6, 7])  # warn's columns: 诉求内容 is not among them
    assert "q.csv 第 3 行有一个以英文引号" in err.value.message
    assert "到文件末尾" in err.value.message
    assert "补上或删去这个引号" in err.value.hint


@pytest.mark.parametrize(
    "last",
    [
        'GD2,2024-08-02 10:00,13800000002,恰海社区,"引号 ""开头"" 漏水",是,是,否,不满意\r\n',
        'GD2,2024-08-02 10:00,13800000002,恰海社区,漏水,是,是,否,"不满意"',
        'GD2,2024-08-02 10:00,13800000002,恰海社区,漏水,是,是,否,""""',  # a cell holding one quote
        'GD2,2024-08-02 10:00,13800000002,恰海社区,漏水,是,是,否,"不满\r\n意"\r\n',
        'GD2,2024-08-02 10:00,13800000002,恰海社区,漏"水,是,是,否,不满意',  # a quote inside a cell is text
    ],
)
def test_a_closed_quote_in_the_last_record_is_read(tmp_path, last):
    path = write_bytes(tmp_path / "q.csv", (HEADER + FIRST + last).encode())
    body = _body(path)
    expected = next(csv.reader(io.StringIO(last, newline="")))
    assert body.frame.iloc[1].fillna("").tolist() == expected
