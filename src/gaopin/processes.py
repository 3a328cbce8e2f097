"""Which run left a temporary file: this computer's name and whether a process of it still runs.

Temporary files and folders carry the computer's name and the process's id in their names
(output staging folders, the columnar copy being written). A later run removes those whose
process has ended on this computer (killed outright: kill -9, a power cut); those of running
processes, and any written by another computer into a shared folder, stay.

A name alone can mislead: a container with its own process numbers sees the host's writers as
ended, and two computers may share a name. A file that `sweep_ended` may take is therefore also
locked by its writer from its first moment for as long as it is written (`create_held`), and a
sweep removes only a file whose lock it can take itself (POSIX; on Windows a file open elsewhere
cannot be removed at all). Where the file system has no locks, nothing is removed: the purge is.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import stat
from pathlib import Path


def host_name() -> str:
    """This computer's name as it goes into a file name (letters, digits and hyphens). A name
    that loses characters on the way (张三的电脑, a long one) gets a digest of the whole name, so
    that two such computers do not end up with the same one."""
    whole = socket.gethostname().split(".")[0]
    plain = re.sub(r"[^A-Za-z0-9-]", "", whole)[:32]
    if plain and plain == whole:
        return plain
    return f"{plain[:23] or 'host'}-{hashlib.sha256(whole.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


# The name a held file is made under before it is renamed into place (`create_held`).
STARTING = "-start"


def create_held(path: Path) -> int | None:
    """Create the empty file `path` (0600), locked for its writer until the returned descriptor is
    closed (`let_go`), so that no other run's sweep takes it for a leftover (`sweep_ended`): it is
    made and locked under another name, then renamed, so that it is never there unlocked. None on
    Windows, where it is simply made (a file open elsewhere cannot be removed there, and one held
    open here could not be renamed into place)."""
    if os.name == "nt":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        return None
    start = path.with_name(f"{path.name}{STARTING}")
    start.unlink(missing_ok=True)
    fd = os.open(start, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)  # read-write: NFS locks need it
    try:
        _lock(fd)
        os.replace(start, path)
    except BaseException:
        os.close(fd)
        start.unlink(missing_ok=True)
        raise
    return fd


def let_go(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _lock(fd: int) -> bool:
    """Whether this process now holds `fd`'s lock (False: another holds it, or there are no locks
    on this file system)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


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


def sweep_ended(folder: Path, prefix: str, suffix: str) -> None:
    """Remove the files in `folder` named `prefix` + `<host>.<pid>` (+ more dot-separated numbers)
    + `suffix` that processes of this computer left behind when they ended without removing them
    (killed outright: kill -9, a power cut), and that no writer holds (`create_held`). Nothing is
    said when one cannot be removed: it only takes space, and the work at hand says what is wrong
    with the folder."""
    host = host_name()
    try:
        with os.scandir(folder) as entries:
            ended = [entry.name for entry in entries if _left_by_ended_process(entry.name, prefix, suffix, host)]
    except OSError:
        return
    for name in ended:
        _remove_unless_held(folder / name)


def _remove_unless_held(path: Path) -> None:
    if os.name == "nt":  # a file still open elsewhere cannot be removed there
        try:
            path.unlink()
        except OSError:
            pass
        return
    try:
        # Read-write (NFS locks need it); not waiting on a named pipe put there under such a
        # name, nor following a link.
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return
    try:
        # Removed only with its lock taken here: no writer holds it, and none can meanwhile.
        if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd):
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)


def _left_by_ended_process(name: str, prefix: str, suffix: str, host: str) -> bool:
    if not name.startswith(prefix) or not name.endswith(suffix):
        return False
    parts = name[len(prefix) : len(name) - len(suffix)].split(".")
    if len(parts) < 2 or parts[0] != host or not all(p.isascii() and p.isdigit() for p in parts[1:]):
        return False
    return not process_alive(int(parts[1]))
