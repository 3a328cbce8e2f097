"""Domain errors and the exit codes they map to.

The library raises these; only the CLI turns them into stderr lines and exit codes.
Each error carries a message (what is wrong) and a hint (what to do), both in Chinese
because office staff read them.
"""

from __future__ import annotations

import errno
import os
import stat
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug: the traceback is shown with --debug
    USAGE = 2  # bad command-line usage (typer's own code)
    ALERT = 3  # warn --fail-on-alert found warnings
    CONFIG = 4  # gaopin.toml or the environment is wrong
    INPUT = 5  # an input file cannot be used
    STORE = 6  # the store or a ledger id/argument is wrong
    DELIVERY = 7  # SMTP server or webhook unreachable or refused
    LOCKED = 8  # another gaopin run holds the lock
    UNKNOWN_OUTCOME = 9  # a send may or may not have arrived; not resent without --force
    # Stopped from outside, as a shell reports a process ended by the signal (128 + its number).
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM: a timeout, a shutdown, kill


class GaopinError(Exception):
    """Base of every error gaopin reports to a person."""

    exit_code: ExitCode = ExitCode.INTERNAL
    # What the command made before ending with this error, for the CLI to write and show first:
    # a delivery run that sent something and ends with exit 7 or 9 (None for other errors).
    result: object | None = None

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}（{self.hint}）"


class UsageError(GaopinError):
    """A command-line argument that cannot be used (a bad date, an unknown month)."""

    exit_code = ExitCode.USAGE


class ConfigError(GaopinError):
    exit_code = ExitCode.CONFIG


class InputError(GaopinError):
    exit_code = ExitCode.INPUT


class StoreError(GaopinError):
    exit_code = ExitCode.STORE


class DeliveryError(GaopinError):
    exit_code = ExitCode.DELIVERY


class UnknownOutcomeError(GaopinError):
    exit_code = ExitCode.UNKNOWN_OUTCOME


class LockedError(GaopinError):
    exit_code = ExitCode.LOCKED


# The system's own texts for these are English ("No such file or directory").
_OS_REASONS = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘已满",
    errno.EDQUOT: "超出了磁盘配额",
    errno.EROFS: "磁盘是只读的",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EEXIST: "已有同名的文件或文件夹",
    errno.EBUSY: "正被其他程序占用",
    errno.ELOOP: "快捷方式（符号链接）绕成了一个圈",
}


def os_reason(exc: BaseException) -> str:
    """Why a file operation failed, in Chinese for the common causes, else the system's text."""
    return _OS_REASONS.get(getattr(exc, "errno", None)) or getattr(exc, "strerror", None) or str(exc)


def special_kind(mode: int) -> str:
    """What a path that is neither a file nor a folder is (from its stat mode), in the words of
    every refusal of one: opening a named pipe waits for a writer, and a device never ends."""
    kinds = ((stat.S_ISFIFO, "命名管道"), (stat.S_ISCHR, "字符设备"), (stat.S_ISBLK, "块设备"), (stat.S_ISSOCK, "套接字"))
    for test, name in kinds:
        if test(mode):
            return name
    return "特殊文件"


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """What `path` is when it exists as neither a regular file nor a folder ("命名管道" …), else
    None (a file, a folder, nothing there, or nothing that can be asked)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else special_kind(mode)
