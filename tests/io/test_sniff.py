"""What a file is, from its bytes: never from its extension."""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import pytest

from gaopin.errors import ExitCode, InputError
from gaopin.io.sniff import CSV, HTML, XLS, XLSX, sniff
from tests.builders import write_bytes, write_xlsx

DATA = Path(__file__).resolve().parent.parent / "data"


def test_xlsx_whatever_its_extension(tmp_path):
    path = write_xlsx(tmp_path / "export.csv", [["工单编号", "受理时间"]])
    assert sniff(path) == XLSX


def test_real_xls_is_xls():
    assert sniff(DATA / "legacy_export.xls") == XLS


@pytest.mark.parametrize(
    "data",
    [
        "工单编号,受理时间\n1,2024-08-03\n".encode("utf-8"),
        "工单编号,受理时间\n1,2024-08-03\n".encode("utf-8-sig"),
        "工单编号,受理时间\n1,2024-08-03\n".encode("gb18030"),
        "工单编号,受理时间\n1,2024-08-03\n".encode("utf-16"),
        b"\xfe\xff" + "工单编号\t受理时间\n".encode("utf-16-be"),
    ],
)
def test_text_is_csv(tmp_path, data):
    assert sniff(write_bytes(tmp_path / "t.xls", data)) == CSV


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><table><tr><td>1</td></tr></table></body></html>",
        b"<!DOCTYPE html>\n<html><table></table></html>",
        b"\xef\xbb\xbf  \r\n<HTML xmlns:x='urn:schemas-microsoft-com:office:excel'><table></table>",
        b"<table border=1><tr><th>a</th></tr></table>",
        b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><table></table>',
        b"<style>td{}</style>\n<table><tr><td>x</td></tr></table>",
    ],
)
def test_html_saved_as_xls(tmp_path, data):
    assert sniff(write_bytes(tmp_path / "export.xls", data)) == HTML


def _expect(path: Path, *words: str) -> InputError:
    with pytest.raises(InputError) as err:
        sniff(path)
    assert err.value.exit_code == ExitCode.INPUT
    for word in words:
        assert word in str(err.value)
    assert err.value.hint
    return err.value


def test_missing_file(tmp_path):
    err = _expect(tmp_path / "nope.xlsx", "找不到文件", "nope.xlsx")
    assert "路径" in err.hint


def test_a_file_taken_for_a_folder_is_not_found(tmp_path):
    """`aug.csv/x.csv` was an internal error (NotADirectoryError) with a traceback hint."""
    aug = write_bytes(tmp_path / "aug.csv", b"a,b\n")
    err = _expect(aug / "x.csv", "找不到文件", "x.csv")
    assert "路径" in err.hint


def test_directory(tmp_path):
    (tmp_path / "exports").mkdir()
    _expect(tmp_path / "exports", "文件夹")


def within_seconds(call, fifo: Path, seconds: float = 5.0):
    """What `call()` returns or raises, run in a thread: when it is still waiting after
    `seconds` (opening `fifo` for reading waits for a writer), a writer opens and closes the
    pipe to let it go, and the test fails instead of hanging."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the waiting reader then reads an end of file
        except OSError:
            pass
        thread.join(seconds)
        pytest.fail(f"still waiting on the named pipe {fifo} after {seconds} s")
    return outcome[0]


needs_mkfifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


@needs_mkfifo
@pytest.mark.parametrize("linked", [False, True])
def test_a_named_pipe_is_refused_unopened(tmp_path, linked):
    """`mkfifo p; gaopin warn p` waited for ever: opening a pipe waits for a writer."""
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    path = fifo
    if linked:  # a link is followed: what it points to is refused
        path = tmp_path / "link.csv"
        path.symlink_to(fifo)
    err = within_seconds(lambda: sniff(path), fifo)
    assert isinstance(err, InputError), err
    assert err.exit_code == ExitCode.INPUT
    assert err.message == f"{path} 不是普通文件（是命名管道），gaopin 只读取导出的文件"
    assert err.hint == "请先把导出保存成文件再读取"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_refused_unread():
    """/dev/zero has no size and never ends: it was called an empty file."""
    _expect(Path("/dev/zero"), "/dev/zero 不是普通文件（是字符设备）", "只读取导出的文件")


def test_empty_file(tmp_path):
    _expect(write_bytes(tmp_path / "e.xlsx", b""), "空文件")


def test_password_protected_workbook():
    _expect(DATA / "password_1234.xlsx", "密码")


def test_binary_file(tmp_path):
    _expect(write_bytes(tmp_path / "photo.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "不是表格文件")


def test_xml_spreadsheet_2003(tmp_path):
    data = b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>'
    _expect(write_bytes(tmp_path / "x.xls", data), "XML")


def test_truncated_zip(tmp_path):
    path = write_xlsx(tmp_path / "full.xlsx", [["工单编号", "受理时间"]])
    cut = write_bytes(tmp_path / "cut.xlsx", path.read_bytes()[:300])
    _expect(cut, "已损坏")


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    _expect(path, "不是 Excel 工作簿")


def test_ods(tmp_path):
    path = tmp_path / "t.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    _expect(path, ".ods")


def test_xlsb_is_refused_unread(tmp_path):
    """Binary sheets cannot be pre-checked, so they are never handed to a reader."""
    path = tmp_path / "t.xlsb"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00")
        zf.writestr("xl/worksheets/sheet1.bin", b"\x81\x01\x00")
    _expect(path, ".xlsb")


EXPORT_TEXT = "工单编号,来电时间,来电人电话/账号,问题分类\nA1,2024-08-03 09:00,13812345678,城乡建设->物业\nA2,2024-08-03 10:00,13912345678,城乡建设->物业\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_text_and_read(tmp_path, encoding):
    """Some tools save UTF-16 without a BOM: it was refused as a binary file, even with
    --encoding, although the error's hint suggested --encoding."""
    from gaopin.config import Settings
    from gaopin.io.load import load
    from gaopin.io.sniff import bomless_utf16

    path = write_bytes(tmp_path / "t.csv", EXPORT_TEXT.encode(encoding))
    assert bomless_utf16(path.read_bytes()) == encoding
    assert sniff(path) == CSV
    result = load([path], Settings())
    assert result.sources[0].encoding == encoding
    assert result.frame["caller_phone"].tolist() == ["13812345678", "13912345678"]


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,  # binary: zeros on both sides
        b"\x00" * 64,
        "工单编号,来电时间\n".encode("utf-8") + b"\x00\x01\x02\x03" * 8,  # UTF-8 with a few zeros
        "中文没有逗号也没有换行".encode("utf-16-le") * 4,  # no zero bytes at all: not this case
    ],
)
def test_other_bytes_are_not_taken_for_bomless_utf16(data):
    from gaopin.io.sniff import bomless_utf16

    assert bomless_utf16(data) is None


@pytest.mark.parametrize("case", ["loop", "long"])
def test_a_path_the_system_cannot_follow_is_one_line_not_an_internal_error(tmp_path, case):
    """A loop of links (a.csv → b.csv → a.csv) or a name too long was 内部错误：OSError."""
    if case == "loop":
        path = tmp_path / "a.csv"
        path.symlink_to(tmp_path / "b.csv")
        (tmp_path / "b.csv").symlink_to(path)
        reason = "快捷方式（符号链接）绕成了一个圈"
    else:
        path = tmp_path / ("长" * 300 + ".csv")
        reason = "文件名太长"
    with pytest.raises(InputError) as caught:
        sniff(path)
    assert caught.value.message == f"无法读取 {path}：{reason}"
