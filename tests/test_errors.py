"""`gaopin.errors`: what staff read when a file operation fails."""

import errno
from datetime import datetime

import pytest

from gaopin.config import Settings
from gaopin.errors import StoreError, os_reason


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), "文件或文件夹不存在"),
        (PermissionError(errno.EACCES, "Permission denied"), "没有权限"),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), "这是一个文件夹"),
        (OSError(errno.ENOSPC, "No space left on device"), "磁盘已满"),
        (OSError(errno.EROFS, "Read-only file system"), "磁盘是只读的"),
        (OSError(errno.ECONNRESET, "Connection reset by peer"), "Connection reset by peer"),  # uncommon: the system's text
        (ValueError("bad"), "bad"),
    ],
)
def test_the_common_causes_are_said_in_chinese(exc, reason):
    assert os_reason(exc) == reason


def test_a_store_path_under_a_file_says_why_in_chinese(tmp_path):
    """The system's own text (\"[Errno 17] File exists\") was shown as it is."""
    from gaopin.store import import_into

    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    export = tmp_path / "a.csv"
    export.write_text("工单编号,受理时间\nA1,2024-08-03 09:00\n", encoding="utf-8")
    with pytest.raises(StoreError) as err:
        import_into([export], tmp_path / "notes.txt" / "g.db", Settings(), datetime(2024, 9, 1))
    # Said of the part that is a file (before: 已有同名的文件或文件夹, of the store's own path).
    assert err.value.message == f"工单库路径 {tmp_path / 'notes.txt' / 'g.db'} 中的 {tmp_path / 'notes.txt'} 是一个文件，不是文件夹"
    assert "exists" not in err.value.message


def test_not_a_file_names_what_a_path_is_only_when_it_is_neither_file_nor_folder(tmp_path):
    import os
    import sys

    from gaopin.errors import not_a_file

    (tmp_path / "a.csv").write_text("x", encoding="utf-8")
    assert [not_a_file(tmp_path / name) for name in ("a.csv", ".", "missing.csv", "a.csv/b.csv")] == [None] * 4
    if sys.platform.startswith("linux"):
        os.mkfifo(tmp_path / "pipe")
        assert (not_a_file(tmp_path / "pipe"), not_a_file("/dev/null")) == ("命名管道", "字符设备")
