"""Reading a CSV's body ahead (`gaopin.io.ahead`): the loader takes the table read ahead only when
it is the read it asks for, of the file as it is, and the result is always what the loader gives
without it."""

from __future__ import annotations

import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from gaopin.config import Settings
from gaopin.errors import InputError
from gaopin.io import ahead as ahead_module, csvfile
from gaopin.io.ahead import THREAD_NAME, read_ahead
from gaopin.io.load import load
from gaopin.schema import WARN_FIELDS
from tests.builders import STANDARD_HEADER, csv_text, settings as make_settings, write_bytes, write_csv, write_xlsx


def _rows(n: int, start: int = 0) -> list[list[str]]:
    return [
        [f"GD{i:06d}", f"2024-08-{1 + i % 28:02d} 09:{i % 60:02d}:00", f"诉求人{i % 7}", f"1381234{i % 50:04d}", f"恰海小区{i % 9}号楼",
         "城乡建设->市容环境->垃圾", "是" if i % 3 else "否", "满意", "市派"]
        for i in range(start, start + n)
    ]  # fmt: skip


@pytest.fixture
def reads(monkeypatch):
    """The threads in which Arrow read a body, in order."""
    seen: list[str] = []
    read_table = csvfile._read_table

    def recorded(path, read):
        seen.append(threading.current_thread().name)
        return read_table(path, read)

    monkeypatch.setattr(csvfile, "_read_table", recorded)
    yield seen
    _wait_for_reading_ahead()
    csvfile.forget_ahead()


def _wait_for_reading_ahead() -> None:
    for thread in threading.enumerate():
        if thread.name == THREAD_NAME:
            thread.join(30)


def _plain(paths, fields=WARN_FIELDS):
    return load(paths, Settings(), fields=fields).frame


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_the_body_read_ahead_is_taken_and_gives_the_same_tickets(tmp_path, reads, encoding):
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(300)], encoding=encoding)
    expected = _plain([path])
    reads.clear()
    read_ahead([path], Settings(), WARN_FIELDS)
    result = load([path], Settings(), fields=WARN_FIELDS)
    assert reads == [THREAD_NAME]  # read once, ahead
    assert_frame_equal(result.frame, expected)
    assert result.sources[0].encoding == encoding


def test_a_file_changed_after_it_was_read_ahead_is_read_again(tmp_path, reads):
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(300)])
    read_ahead([path], Settings(), WARN_FIELDS)
    _wait_for_reading_ahead()
    write_csv(path, [STANDARD_HEADER, *_rows(200, start=1000)])  # saved again meanwhile
    reads.clear()
    result = load([path], Settings(), fields=WARN_FIELDS)
    assert reads == ["MainThread"]
    assert_frame_equal(result.frame, _plain([path]))
    assert result.frame["ticket_id"].iloc[0] == "GD001000"


def test_a_read_of_other_columns_is_not_taken(tmp_path, reads):
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(300)])
    read_ahead([path], Settings(), WARN_FIELDS)
    result = load([path], Settings())  # every field: the 派单方式 column too
    assert reads == [THREAD_NAME, "MainThread"]
    assert "dispatch" in result.frame.columns
    assert_frame_equal(result.frame, _plain([path], fields=None))


def test_a_read_ahead_not_taken_is_let_go_of_before_the_loader_reads(tmp_path, reads, monkeypatch):
    """Two tables of a district year at once would double the memory."""
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(300)])
    read_ahead([path], Settings(), WARN_FIELDS)
    ahead = csvfile._ahead
    held = []
    read_table = csvfile._read_table

    def noting(path, read):
        if threading.current_thread().name == "MainThread":
            held.append(ahead._table)
        return read_table(path, read)

    monkeypatch.setattr(csvfile, "_read_table", noting)
    load([path], Settings())  # other columns than warn's
    assert held == [None]


def test_without_a_thread_to_read_ahead_the_loader_reads_the_file_itself(tmp_path, reads, monkeypatch):
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(30)])

    class NoThread:
        def __init__(self, **kwargs):
            pass

        def start(self):
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(ahead_module, "threading", SimpleNamespace(Thread=NoThread))  # the loader's own threads still start
    read_ahead([path], Settings(), WARN_FIELDS)
    assert len(load([path], Settings(), fields=WARN_FIELDS).frame) == 30
    assert reads == ["MainThread"]


def test_a_file_quoting_in_its_head_is_not_read_ahead(tmp_path, reads):
    rows = _rows(300)
    rows[3][4] = '恰海小区1号楼，"东门"'
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *rows])
    read_ahead([path], Settings(), WARN_FIELDS)
    _wait_for_reading_ahead()
    result = load([path], Settings(), fields=WARN_FIELDS)
    assert reads == ["MainThread"]
    assert result.frame["address"].iloc[3] == '恰海小区1号楼，"东门"'


def test_a_line_break_quoted_past_the_head_is_read_as_one_value(tmp_path, reads):
    """The read ahead assumes no quote; the loader's own scan finds one far down the file, and
    reads it again with values that may span lines: the record is not split."""
    rows = _rows(6000)  # about 600 KB: the quote is past the first 256 KB
    rows[5500][4] = "恰海小区1号楼\n东门"
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *rows])
    reads.clear()
    read_ahead([path], Settings(), WARN_FIELDS)
    result = load([path], Settings(), fields=WARN_FIELDS)
    assert reads == [THREAD_NAME, "MainThread"]
    assert len(result.frame) == 6000
    assert result.frame["address"].iloc[5500] == "恰海小区1号楼\n东门"
    assert_frame_equal(result.frame, _plain([path]))


def test_a_later_byte_that_is_not_utf8_is_read_as_gb18030_as_without_reading_ahead(tmp_path, reads):
    """The read ahead, as UTF-8, fails; the loader takes its failure and reads the file again as
    GB18030, as it does on its own."""
    config = make_settings(columns={"ticket_id": "id", "received_at": "time", "caller_name": "name"})
    ascii_rows = [[f"A{i:06d}", "2024-08-03 14:05", "x" * 20] for i in range(9000)]  # > 256 KB of ASCII
    data = csv_text([["id", "time", "name"], *ascii_rows]).encode("ascii") + csv_text([["B1", "2024-08-04", "王䶮"]]).encode("gb18030")
    path = write_bytes(tmp_path / "gb.csv", data)
    expected = load([path], config, fields=WARN_FIELDS)
    reads.clear()
    read_ahead([path], config, WARN_FIELDS)
    result = load([path], config, fields=WARN_FIELDS)
    assert reads == [THREAD_NAME, "MainThread"]
    assert result.sources[0].encoding == expected.sources[0].encoding == "gb18030"
    assert result.frame["caller_name"].iloc[-1] == "王䶮"
    assert_frame_equal(result.frame, expected.frame)


def test_a_refused_file_is_refused_the_same_way(tmp_path, reads):
    path = write_bytes(tmp_path / "nul.csv", ("\r\n".join(",".join(r) for r in [STANDARD_HEADER, *_rows(5)]) + "\r\nGD9,\x00\r\n").encode())
    with pytest.raises(InputError) as plain:
        load([path], Settings(), fields=WARN_FIELDS)
    read_ahead([path], Settings(), WARN_FIELDS)
    with pytest.raises(InputError) as ahead:
        load([path], Settings(), fields=WARN_FIELDS)
    assert (ahead.value.message, ahead.value.hint) == (plain.value.message, plain.value.hint)


def test_a_workbook_is_not_read_ahead(tmp_path, reads):
    path = write_xlsx(tmp_path / "aug.xlsx", [STANDARD_HEADER, *_rows(20)])
    read_ahead([path], Settings(), WARN_FIELDS)
    _wait_for_reading_ahead()
    assert len(load([path], Settings(), fields=WARN_FIELDS).frame) == 20
    assert reads == []


def test_a_read_ahead_not_taken_is_let_go_of_when_the_load_ends(tmp_path, reads):
    path = write_csv(tmp_path / "other.csv", [["名称", "数量"], ["甲", "1"]])  # no ticket header
    read_ahead([path], Settings(), WARN_FIELDS)
    with pytest.raises(InputError):
        load([path], Settings(), fields=WARN_FIELDS)
    assert csvfile._ahead is None and reads == []


def test_reading_ahead_does_not_load_pandas(tmp_path):
    """Its point is to read while the command imports pandas: it must not wait for it (numpy
    comes with Arrow)."""
    path = write_csv(tmp_path / "aug.csv", [STANDARD_HEADER, *_rows(30)])
    script = f"""
import sys, threading
from gaopin.config import Settings
from gaopin.io.ahead import THREAD_NAME, read_ahead
from gaopin.io import csvfile
from gaopin.schema import WARN_FIELDS
read_ahead([{str(path)!r}], Settings(), WARN_FIELDS)
for t in threading.enumerate():
    if t.name == THREAD_NAME:
        t.join(30)
assert csvfile._ahead is not None and csvfile._ahead._table is not None and csvfile._ahead._table.num_rows == 30
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


_cell = st.text(alphabet=st.sampled_from(list('ab,"\n\r 号楼') + ["\u200b"]), max_size=6)


@hyp_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(_cell, _cell), min_size=1, max_size=12))
def test_reading_ahead_never_changes_what_is_loaded(tmp_path_factory, cells):
    """Whatever the last rows hold past the first 256 KB (quotes, line breaks, commas), the
    tickets and what is found wrong with them are those of the load without reading ahead."""
    rows = _rows(3000 + len(cells))
    for row, (name, address) in zip(rows[3000:], cells):
        row[2], row[4] = name, address
    path = write_csv(tmp_path_factory.mktemp("ahead") / "aug.csv", [STANDARD_HEADER, *rows])
    assert path.stat().st_size > 256 * 1024
    try:
        expected = load([path], Settings(), fields=WARN_FIELDS)
    except InputError as exc:
        expected = exc
    read_ahead([path], Settings(), WARN_FIELDS)
    if isinstance(expected, InputError):  # the same error is expected with the read ahead
        with pytest.raises(InputError) as again:
            load([path], Settings(), fields=WARN_FIELDS)
        assert (again.value.message, again.value.hint) == (expected.message, expected.hint)
    else:
        result = load([path], Settings(), fields=WARN_FIELDS)
        assert_frame_equal(result.frame, expected.frame)
        assert (result.problems, result.rejected, result.sources) == (expected.problems, expected.rejected, expected.sources)
    _wait_for_reading_ahead()
