"""Which run left a temporary file: this computer's name and whether a process of it still runs.

Temporary files and folders carry the computer's name and the process's id in their names
(output staging folders, the store's new file, the columnar copy being written). A later run
removes those whose process has ended on this computer (killed outright: kill -9, a power cut);
those of running processes, and any written by another computer into a shared folder, stay.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path


def host_name() -> str:
    """This computer's name as it goes into a file name (letters, digits and hyphens)."""
    return re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname().split(".")[0])[:32] or "host"


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this computer still runs (when in doubt: yes)."""
    if pid <= 0 or pid == os.getpid():  # os.kill(0, …) would ask about the whole process group
        return True
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    # os.kill(pid, 0) would end the process on Windows: ask the kernel instead.
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
    try:
        code = wintypes.DWORD()
        return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def sweep_ended(folder: Path, prefix: str, suffixes: tuple[str, ...]) -> None:
    """Remove the files in `folder` named `prefix` + `<host>.<pid>` (+ more dot-separated numbers)
    + one of `suffixes` that processes of this computer left behind when they ended without
    removing them (killed outright: kill -9, a power cut). Nothing is said when one cannot be
    removed: it only takes space, and the work at hand says what is wrong with the folder."""
    try:
        with os.scandir(folder) as entries:
            ended = [entry.name for entry in entries if _left_by_ended_process(entry.name, prefix, suffixes)]
    except OSError:
        return
    for name in ended:
        try:
            (folder / name).unlink()
        except OSError:
            pass


def _left_by_ended_process(name: str, prefix: str, suffixes: tuple[str, ...]) -> bool:
    if not name.startswith(prefix):
        return False
    rest = name[len(prefix) :]
    for suffix in suffixes:
        if rest.endswith(suffix):
            parts = rest[: -len(suffix)].split(".")
            numbers = parts[1:]
            if len(parts) >= 2 and parts[0] == host_name() and all(p.isascii() and p.isdigit() for p in numbers):
                return not process_alive(int(parts[1]))
    return False
