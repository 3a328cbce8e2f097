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
import secrets
import shutil
import stat
import time
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
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
    """A file as a key part: its real path, size and modification time (a changed file is another)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    return f"{real}\0{st.st_size}\0{st.st_mtime_ns}"


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
        if not stat.S_ISDIR(st.st_mode):
            return "不是文件夹"
        if not hasattr(os, "getuid"):
            # Windows: no owners or mode bits here; the user's own profile folder's rights apply
            # (as to the store, docs/security.md).
            return None
        if st.st_uid != os.getuid():
            return "属于别的用户"
        if st.st_mode & 0o022:
            return "别人也可以写入"
        if not os.access(self.root, os.W_OK | os.X_OK):
            return "没有写入权限"
        return None

    def get(self, kind: str, key: str) -> dict[str, bytes] | None:
        """The entry's files by name, or None (absent, incomplete or changed)."""
        entry = self.root / kind / key
        try:
            if not self._usable_root() or not entry.is_dir():
                return None
            manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
            files = {}
            for name, sha in manifest.items():
                data = (entry / _plain_name(name)).read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    log.debug("cache entry %s/%s: %s changed; not used", kind, key, name)
                    shutil.rmtree(entry, ignore_errors=True)
                    return None
                files[name] = data
            os.utime(entry)  # recently used: pruned last
            return files
        except (OSError, ValueError, AttributeError, TypeError):
            log.debug("cache entry %s/%s unreadable", kind, key, exc_info=True)
            return None

    def put(self, kind: str, key: str, files: dict[str, bytes]) -> None:
        """Keep `files` under `key` (an entry already there is left as it is)."""
        folder = self.root / kind
        tmp = folder / f".{key}.{secrets.token_hex(6)}.tmp"
        try:
            if not self._usable_root():
                return
            folder.mkdir(mode=0o700, exist_ok=True)
            if (folder / key).exists():
                return
            tmp.mkdir(mode=0o700)
            manifest = {}
            for name, data in files.items():
                with open(tmp / _plain_name(name), "xb", opener=lambda p, flags: os.open(p, flags, 0o600)) as fh:
                    fh.write(data)
                manifest[name] = hashlib.sha256(data).hexdigest()
            with open(tmp / MANIFEST, "x", encoding="utf-8", opener=lambda p, flags: os.open(p, flags, 0o600)) as fh:
                json.dump(manifest, fh, sort_keys=True)
            os.rename(tmp, folder / key)
        except (OSError, ValueError):
            log.debug("cache entry %s/%s not kept", kind, key, exc_info=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._prune(folder)

    def _prune(self, folder: Path) -> None:
        try:
            entries, stale = [], []
            now = time.time()
            for p in folder.iterdir():
                if not p.name.startswith("."):
                    entries.append((p.stat().st_mtime_ns, p))
                elif now - p.stat().st_mtime > STALE_TMP_S:
                    stale.append(p)  # left by a run that was killed while writing it
        except OSError:
            return
        entries.sort(reverse=True)
        for old in [p for _, p in entries[MAX_ENTRIES:]] + stale:
            shutil.rmtree(old, ignore_errors=True)


def _plain_name(name: str) -> str:
    """A file name of an entry: no folder parts, nothing hidden, not the manifest."""
    if not name or name != os.path.basename(name) or name.startswith(".") or name == MANIFEST or name in ("..",):
        raise ValueError(f"not a cache file name: {name!r}")
    return name
