"""A small cache of files made from known inputs: the report's charts and its page font.

An entry is a folder named by the digest of everything its files are made from (the caller's
`key`), holding the files and a manifest of their SHA-256 digests. It is written whole into a
hidden folder and renamed into place, so a reader sees all of it or none of it; a file that no
longer matches the manifest (edited, cut short by a full disk) makes the entry a miss. The
cache only ever saves time: every failure to read or write it is a miss, never an error.

The folder must be the user's own and not writable by others (as the chart process's
matplotlib folder, gaopin.charts._private_cache_dir): files planted there would go into
reports. Entries are made and read 0600, the folders 0700.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# The kinds of entries, each in its own folder: the report's charts, its page font.
CHARTS, FONTS = "charts", "fonts"
KINDS = (CHARTS, FONTS)
# Entries kept per kind; the least recently used go first. A district report's charts are
# about 0.6 MB, a page font about 0.1 MB.
MAX_ENTRIES = 24
STALE_TMP_S = 3600


def digest(*parts: bytes | str) -> str:
    """A key from the inputs, each one length-prefixed so that no two lists of parts collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def file_identity(path: str | os.PathLike[str]) -> str:
    """A file as a key part: the SHA-256 of its bytes. Its size and times would miss a file
    copied over with its time kept (cp -p, rsync -t, an unzipped update); a font of 8 MB takes
    about 15 ms, once per process for each version of the file."""
    real = os.path.realpath(path)
    st = os.stat(real)
    seen = (real, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    if seen not in _CONTENT:
        h = hashlib.sha256()
        with open(real, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        _CONTENT[seen] = h.hexdigest()
    return _CONTENT[seen]


_CONTENT: dict[tuple, str] = {}


class Cache:
    """Entries of each `kind` (a subfolder) under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _usable_root(self) -> bool:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        return self.problem() is None

    def problem(self) -> str | None:
        """Why the folder cannot be used, said after its path; None when it can. Nothing is
        created: a folder not made yet can be used when the nearest folder above it is writable."""
        try:
            st = os.lstat(self.root)
        except FileNotFoundError:
            above = next((p for p in self.root.parents if os.path.lexists(p)), None)
            if above is None or not above.is_dir() or not os.access(above, os.W_OK):
                return f"无法创建（上级文件夹 {above} 不可写）" if above is not None else "无法创建"
            return None
        except OSError as exc:
            return f"无法读取（{exc.strerror or exc}）"
        why = _not_private(st, folder=True)
        if why is None and not os.access(self.root, os.W_OK | os.X_OK):
            return "没有写入权限"
        for kind in KINDS if why is None else ():
            try:
                inner = _not_private(os.lstat(self.root / kind), folder=True)
            except FileNotFoundError:
                continue
            except OSError as exc:
                inner = f"无法读取（{exc.strerror or exc}）"
            if inner is not None:
                return f"中的 {kind} 文件夹{inner}"
        return why

    def _kind_folder(self, kind: str, create: bool) -> Path | None:
        """The folder of one kind's entries, when it is as private as the root (None: not usable)."""
        if not self._usable_root():
            return None
        folder = self.root / kind
        if create:
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                pass
        return folder if _private(folder, folder=True) else None

    def get(self, kind: str, key: str) -> dict[str, bytes] | None:
        """The entry's files by name, or None (absent, incomplete or changed). An entry that is
        not whole is removed, so that the next `put` makes it again."""
        try:
            folder = self._kind_folder(kind, create=False)
            if folder is None:
                return None
            entry = folder / _entry_name(key)
            if not os.path.lexists(entry):
                return None
            if not _private(entry, folder=True):
                _remove(entry)
                return None
            files = _read_entry(entry)
        except (OSError, ValueError):
            log.debug("cache %s/%s not read", kind, key, exc_info=True)
            return None
        if files is None:
            log.debug("cache entry %s/%s incomplete or changed; removed", kind, key)
            _remove(entry)
            return None
        try:
            os.utime(entry)  # recently used: pruned last
        except OSError:
            pass
        return files

    def put(self, kind: str, key: str, files: dict[str, bytes]) -> None:
        """Keep `files` under `key` (a whole entry already there is left as it is)."""
        try:
            folder = self._kind_folder(kind, create=True)
            if folder is None:
                return
            entry = folder / _entry_name(key)
            tmp = folder / f".{_entry_name(key)}.{secrets.token_hex(6)}.tmp"
        except (OSError, ValueError):
            log.debug("cache %s/%s not kept", kind, key, exc_info=True)
            return
        try:
            if os.path.lexists(entry):
                if _private(entry, folder=True) and _read_entry(entry) is not None:
                    return
                _remove(entry)  # not whole (a power cut after the rename): made again
            tmp.mkdir(mode=0o700)
            manifest = {}
            for name, data in files.items():
                with open(tmp / _plain_name(name), "xb", opener=_private_opener) as fh:
                    fh.write(data)
                manifest[name] = hashlib.sha256(data).hexdigest()
            with open(tmp / MANIFEST, "x", encoding="utf-8", opener=_private_opener) as fh:
                json.dump(manifest, fh, sort_keys=True)
            os.rename(tmp, entry)
        except (OSError, ValueError):
            log.debug("cache entry %s/%s not kept", kind, key, exc_info=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._prune(folder)

    def _prune(self, folder: Path) -> None:
        """The least recently used entries beyond MAX_ENTRIES, and what killed runs left. Only
        names gaopin gives are removed: a folder chosen as cache_dir may hold other things."""
        try:
            entries, stale = [], []
            now = time.time()
            for p in folder.iterdir():
                if _ENTRY.fullmatch(p.name):
                    entries.append((p.lstat().st_mtime_ns, p))
                elif _TMP.fullmatch(p.name) and now - p.lstat().st_mtime > STALE_TMP_S:
                    stale.append(p)  # left by a run that was killed while writing it
        except OSError:
            return
        entries.sort(reverse=True)
        for old in [p for _, p in entries[MAX_ENTRIES:]] + stale:
            _remove(old)


_ENTRY = re.compile(r"[0-9a-f]{64}")
_TMP = re.compile(r"\.[0-9a-f]{64}\.[0-9a-f]{12}\.tmp")


def _entry_name(key: str) -> str:
    if not _ENTRY.fullmatch(key):
        raise ValueError(f"not a cache key: {key!r}")
    return key


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)


def _not_private(st: os.stat_result, folder: bool) -> str | None:
    """Why a folder or file of the cache is not only the user's (None: it is)."""
    if folder and not stat.S_ISDIR(st.st_mode):
        return "不是文件夹"
    if not folder and not stat.S_ISREG(st.st_mode):
        return "不是普通文件"
    if not hasattr(os, "getuid"):
        # Windows: no owners or mode bits here; the user's own profile folder's rights apply
        # (as to the store, docs/security.md).
        return None
    if st.st_uid != os.getuid():
        return "属于别的用户"
    if st.st_mode & 0o022:
        return "别人也可以写入"
    return None


def _private(path: Path, folder: bool) -> bool:
    try:
        return _not_private(os.lstat(path), folder) is None
    except OSError:
        return False


def _read_entry(entry: Path) -> dict[str, bytes] | None:
    """The files of a whole entry (each the user's own regular file, as its manifest says), or None."""
    try:
        manifest = json.loads(_read_private(entry / MANIFEST).decode("utf-8"))
        if not isinstance(manifest, dict):
            return None
        files = {}
        for name, sha in manifest.items():
            data = _read_private(entry / _plain_name(name))
            if hashlib.sha256(data).hexdigest() != sha:
                return None
            files[name] = data
        return files
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _read_private(path: Path) -> bytes:
    """A file of the cache, not followed through a link nor waited on (a named pipe)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        why = _not_private(os.fstat(fd), folder=False)
        if why is not None:
            raise ValueError(f"{path}: {why}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def _plain_name(name: str) -> str:
    """A file name of an entry: no folder parts, nothing hidden, not the manifest."""
    if not isinstance(name, str) or not name or name != os.path.basename(name) or name.startswith(".") or name == MANIFEST:
        raise ValueError(f"not a cache file name: {name!r}")
    return name
