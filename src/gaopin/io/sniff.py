"""What a file really is, from its first bytes rather than its extension."""

from __future__ import annotations

import codecs
import re
import stat
import zipfile
from pathlib import Path

from gaopin.errors import InputError, os_reason, special_kind

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<table", b"<head", b"<body", b"<meta")
_SAVE_AS = "请在 Excel 或 WPS 中打开后“另存为” .xlsx 或 UTF-8 CSV 再试"

XLSX, XLS, CSV, HTML = "xlsx", "xls", "csv", "html"
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0e-\x1f\x7f]")


def bomless_utf16(head: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when these first bytes of a file are UTF-16 text without a
    byte-order mark (some tools save CSV so), else None. Every ASCII character (the commas,
    digits and line ends of a CSV) then has a zero byte on the same side; a CJK character only
    rarely has one."""
    data = head[: len(head) // 2 * 2]
    zeros_first, zeros_second = data[0::2].count(0), data[1::2].count(0)
    for encoding, zeros, other in (("utf-16-le", zeros_second, zeros_first), ("utf-16-be", zeros_first, zeros_second)):
        if zeros >= 8 and other * 50 <= zeros:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return encoding if "\x00" not in text and any(c in text for c in ",\t\n") else None
    return None


def sniff(path: Path) -> str:
    """One of xlsx, xls, csv, html; raises InputError for files gaopin cannot read."""
    try:
        info = path.stat()  # follows symlinks: a link to an export is read as the export
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError  # said below; checked here as Windows opens a folder with a PermissionError
        if not stat.S_ISREG(info.st_mode):
            # Opening a named pipe waits for a writer, and a device never ends: refused unopened.
            kind = special_kind(info.st_mode)
            raise InputError(f"{path} 不是普通文件（是{kind}），gaopin 只读取导出的文件", "请先把导出保存成文件再读取")
        size = info.st_size
        with path.open("rb") as fh:
            head = fh.read(8192)
    except (FileNotFoundError, NotADirectoryError):  # the latter: a file named as if it were a folder (a.csv/b.csv)
        raise InputError(f"找不到文件 {path}", "请检查文件名和路径（可以把文件拖进命令行窗口）") from None
    except IsADirectoryError:
        raise InputError(f"{path} 是一个文件夹，不是表格文件", "请给出文件夹里的 .xlsx 或 .csv 文件") from None
    except PermissionError:
        raise InputError(f"没有权限读取 {path}", "请检查文件权限，或先关闭正在打开它的程序") from None
    except OSError as exc:  # a loop of links, a name too long …: said, not an internal error
        raise InputError(f"无法读取 {path}：{os_reason(exc)}", "请检查文件名和路径（可以把文件拖进命令行窗口）") from None
    if size == 0:
        raise InputError(f"{path} 是空文件（0 字节）", "请重新从 12345 系统导出")
    if head.startswith(ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted_ole(path):
            raise InputError(
                f"{path} 设置了打开密码，无法读取",
                "请在 Excel 或 WPS 中输入密码打开，取消密码（文件→信息→保护工作簿）后另存再试",
            )
        return XLS
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith(_HTML_STARTS) or (stripped.startswith(b"<") and b"<table" in head.lower()):
        return HTML
    if stripped.startswith(b"<?xml"):
        raise InputError(f"{path} 是 XML 格式（可能是“XML 电子表格 2003”），gaopin 不能直接读取", _SAVE_AS)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and bomless_utf16(head) is None:
        if _text_with_stray_nul(head):
            raise nul_error(path, head.count(b"\n", 0, head.index(b"\x00")) + 1)
        raise InputError(f"{path} 不是表格文件（看起来是二进制文件）", "请确认选对了文件，gaopin 能读 .xlsx、.xls 和 .csv")
    return CSV


def nul_error(path: Path, line: int) -> InputError:
    """A text file holding a NUL byte: refused wherever the byte is (the CSV reader looks at
    the whole file), never copied into clean's output or the store."""
    return InputError(
        f"{path} 第 {line} 行有空字符（NUL，0x00 字节），这不是正常导出的文本",
        "文件可能在导出、下载或复制时出了错：请重新从 12345 系统导出；或在 Excel/WPS 中打开后另存为 .xlsx 再读取",
    )


def _text_with_stray_nul(head: bytes) -> bool:
    """Whether these first bytes are text with a few NUL bytes in it (a CSV), not a binary
    file: without the NULs they decode as UTF-8 or GB18030. Binary files hold many NULs and
    bytes neither encoding accepts."""
    if head.count(b"\x00") > 16:
        return False
    text = head.replace(b"\x00", b"")
    if _CONTROL.search(text):  # a PNG's \x1a, a program's \x01…: text has tabs and line breaks only
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # A character cut at the end of the sample is not an error.
            codecs.getincrementaldecoder(encoding)(errors="strict").decode(text, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _zip_kind(path: Path) -> str:
    from gaopin.io.precheck import ZIP_ERRORS

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except ZIP_ERRORS:
        raise InputError(f"{path} 已损坏（压缩包结构不完整，可能下载或复制时中断了）", "请重新导出或重新下载该文件") from None
    if "xl/workbook.bin" in names:
        # The binary workbook: gaopin's safety check reads XML only, so it is not opened.
        raise InputError(f"{path} 是二进制工作簿（.xlsb），gaopin 不能直接读取", _SAVE_AS)
    if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
        return XLSX
    if "content.xml" in names and "mimetype" in names:
        raise InputError(f"{path} 是 OpenDocument 表格（.ods），gaopin 不能直接读取", _SAVE_AS)
    raise InputError(f"{path} 是压缩包，但不是 Excel 工作簿", "请确认选对了文件，gaopin 能读 .xlsx、.xls 和 .csv")


def _is_encrypted_ole(path: Path) -> bool:
    """An OOXML file with an open password is an OLE2 container holding `EncryptedPackage`."""
    marker = "EncryptedPackage".encode("utf-16-le")
    with path.open("rb") as fh:
        data = fh.read(64 * 1024 * 1024)
    return marker in data
