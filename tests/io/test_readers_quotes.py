"""Quotes in a CSV: one left open is an error, one closed is not."""

from __future__ import annotations

import csv
import io

import pytest

from gaopin.config import LimitSettings, LoadSettings
from gaopin.errors import InputError
from gaopin.io.csvfile import quote_is_byte
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


# --- a quote closed: typed text over several lines ---------------------------------------------

SIX = ["工单编号", "受理时间", "来电人电话/账号", "所属社区", "问题分类", "诉求内容"]
LISTED = "来电人反映：\n涉及楼栋:1号楼,2号楼,3号楼,5号楼\n请尽快处理"  # three commas: over half of five


def _six(rows, ragged=False):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SIX)
    for i, content in enumerate(rows, 1):
        row = [f"GD{i}", f"2024-08-0{i} 10:00", f"1380000000{i}", "恰海社区", "城乡建设->物业", content]
        writer.writerow(row + ([""] if ragged and i == 2 else []))  # one row a cell wider: the csv module reads it
    return out.getvalue()


@pytest.mark.parametrize("ragged", [False, True])
def test_a_closed_multiline_cell_with_commas_is_not_an_open_quote(tmp_path, ragged):
    """Every record has six cells (Python's csv reads them so), yet the file was refused: "第 2 行
    有一个以英文引号开头的单元格没有结束引号"."""
    path = write_bytes(tmp_path / "t.csv", _six([LISTED, "漏水", "漏水", "漏水"], ragged).encode())
    body = _body(path)
    assert body.frame["5"].tolist() == [LISTED, "漏水", "漏水", "漏水"]
    assert body.row_numbers.tolist() == [2, 3, 4, 5]


def test_an_open_quote_closed_by_a_later_cell_ending_in_a_quote_is_still_an_error(tmp_path):
    """The swallowed lines are whole records: the quote that closes them is another cell's."""
    text = _six(["漏水", "漏水", "漏水", "漏水"]).splitlines(keepends=True)
    text[2] = text[2].replace(",漏水", ',"引号开头')
    text[4] = text[4].replace(",漏水", ',居民称"漏水"')
    path = write_bytes(tmp_path / "t.csv", "".join(text).encode())
    with pytest.raises(InputError, match="第 3 行.*其后 2 行记录"):
        _body(path)


# --- a file without any quote ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_a_csv_without_the_quote_byte_is_quote_free(tmp_path, encoding):
    rows = [FIRST] * 3000  # the last rows are past the head the reader looks at first
    path = write_bytes(tmp_path / "t.csv", (HEADER + "".join(rows)).encode(encoding))
    assert _body(path).quote_free


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_one_quote_anywhere_makes_a_csv_not_quote_free(tmp_path, encoding):
    last = 'GD2,2024-08-02 10:00,13800000002,恰海社区,"漏水",是,是,否,不满意\r\n'
    path = write_bytes(tmp_path / "t.csv", (HEADER + FIRST * 3000 + last).encode(encoding))
    assert not _body(path).quote_free


@pytest.mark.parametrize(
    "encoding, as_byte",
    [("utf-8", True), ("UTF8", True), ("utf-8-sig", True), ("GB18030", True), ("cp936", True), ("euc-cn", True), ("utf-16-le", True),
     ("utf-7", False), ("hz", False), ("cp500", False), ("no-such-codec", False)],
)  # fmt: skip
def test_the_quote_is_taken_for_its_byte_only_where_an_encoding_always_writes_it_so(encoding, as_byte):
    assert quote_is_byte(encoding) is as_byte
    if as_byte:
        assert '"'.encode(encoding).replace(b"\x00", b"").endswith(b'"')
