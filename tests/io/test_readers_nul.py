"""A NUL byte in a CSV: refused with its line wherever it is, not taken for a binary file near
the top and copied into clean's output near the end."""

from __future__ import annotations

import os

import pytest

from gaopin.config import LimitSettings, LoadSettings
from gaopin.errors import InputError
from gaopin.io import csvfile
from gaopin.io.readers import read
from tests.builders import write_bytes

HEADER = "工单编号,受理时间,来电人电话/账号,所属社区,问题分类\r\n"


def _rows(n: int) -> str:
    return "".join(f"GD{i:06d},2024-08-01 10:00,13800000000,恰海社区,城乡建设->物业\r\n" for i in range(n))


def _load_body(path):
    grids = read(path, LoadSettings(), LimitSettings())
    return grids[0].body(0, [0, 1])  # warn's columns: the NUL is in another one


@pytest.fixture(params=["whole", "halves"])
def split(request, monkeypatch):
    """The file searched in one pass, or (as a large file is) in two halves at once."""
    if request.param == "halves":
        monkeypatch.setattr(csvfile, "SCAN_SPLIT_BYTES", 1 << 10)
    return request.param


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("rows_before", [2, 20_000])  # in sniff's first 8 KB; far past the 256 KB head
def test_a_nul_byte_is_refused_with_its_line(tmp_path, encoding, rows_before, split):
    text = HEADER + _rows(rows_before) + "GD999999,2024-08-30 10:00,13899999999,恰海社区,城乡建设->物业\r\n" + _rows(3)
    data = text.encode(encoding)
    at = data.index(b"GD999999") + 20  # inside the phone number
    path = write_bytes(tmp_path / "t.csv", data[:at] + b"\x00" + data[at:])
    with pytest.raises(InputError) as err:
        _load_body(path)
    assert f"t.csv 第 {rows_before + 2} 行有空字符（NUL，0x00 字节）" in err.value.message
    assert "二进制" not in err.value.message
    assert "重新" in err.value.hint


def test_a_binary_file_is_still_a_binary_file(tmp_path):
    path = write_bytes(tmp_path / "t.csv", os.urandom(4096) + b"\x00" * 64)
    with pytest.raises(InputError, match="看起来是二进制文件"):
        _load_body(path)


def test_utf16_text_is_not_taken_for_nul_bytes(tmp_path):
    path = write_bytes(tmp_path / "t.csv", (HEADER + _rows(3)).encode("utf-16"))
    assert len(_load_body(path).frame) == 3


def test_of_two_nul_bytes_the_first_is_named(tmp_path, split):
    """One in each half of the file, both past the head read first: the first half's is reported."""
    text = HEADER + _rows(5_000) + "GD999998,2024-08-30 10:00,13899999999,恰海社区,城乡建设->物业\r\n" + _rows(20_000) + "GD999999,2024-08-30 10:00,13899999999,恰海社区,城乡建设->物业\r\n" + _rows(3)
    data = bytearray(text.encode("utf-8"))
    for marker in (b"GD999998", b"GD999999"):
        data[data.index(marker) + 20] = 0
    path = write_bytes(tmp_path / "t.csv", bytes(data))
    with pytest.raises(InputError) as err:
        _load_body(path)
    assert "t.csv 第 5002 行有空字符" in err.value.message


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_quote_is_found_in_either_half(tmp_path, split, where):
    rows = [f"GD{i:06d},2024-08-01 10:00,13800000000,恰海社区,城乡建设->物业\r\n" for i in range(20_000)]
    quoted = 'GD999999,2024-08-30 10:00,13899999999,"恰海社区",城乡建设->物业\r\n'
    rows.insert(0 if where == "first" else len(rows), quoted)
    path = write_bytes(tmp_path / "t.csv", (HEADER + "".join(rows)).encode("utf-8"))
    assert csvfile.scan_bytes(path)
    assert csvfile.scan_bytes(path, nul=False)
    plain = write_bytes(tmp_path / "plain.csv", (HEADER + _rows(20_000)).encode("utf-8"))
    assert not csvfile.scan_bytes(plain) and not csvfile.scan_bytes(plain, nul=False)
