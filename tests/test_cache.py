"""gaopin.cache: entries come back as they went in, or not at all."""

import os
import stat
import time

import pytest

from gaopin import cache as cache_module
from gaopin.cache import Cache, digest, file_identity

K, K1, K2, K3 = (digest(str(i)) for i in range(4))


def test_an_entry_comes_back_as_kept(tmp_path):
    c = Cache(tmp_path / "c")
    assert c.get("charts", K1) is None
    c.put("charts", K1, {"a.png": b"\x89PNG a", "b.png": b""})
    assert c.get("charts", K1) == {"a.png": b"\x89PNG a", "b.png": b""}
    assert c.get("charts", K2) is None
    assert c.get("fonts", K1) is None


def test_entries_are_private(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("fonts", K, {"subset.otf": b"x"})
    entry = tmp_path / "c" / "fonts" / K
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in entry.iterdir()} == {0o600}


def test_a_changed_file_makes_a_miss_and_the_entry_goes(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    (tmp_path / "c" / "charts" / K / "a.png").write_bytes(b"another picture")
    assert c.get("charts", K) is None
    assert not (tmp_path / "c" / "charts" / K).exists()
    c.put("charts", K, {"a.png": b"picture"})  # made again
    assert c.get("charts", K) == {"a.png": b"picture"}


@pytest.mark.parametrize("damage", ["manifest", "missing file", "bad json"])
def test_an_incomplete_entry_is_a_miss(tmp_path, damage):
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    entry = tmp_path / "c" / "charts" / K
    if damage == "manifest":
        (entry / "manifest.json").unlink()
    elif damage == "missing file":
        (entry / "a.png").unlink()
    else:
        (entry / "manifest.json").write_text('{"a.png": ', encoding="utf-8")
    assert c.get("charts", K) is None


def test_a_manifest_naming_a_file_outside_the_entry_is_a_miss(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    (tmp_path / "secret").write_bytes(b"s")
    import hashlib
    import json

    (tmp_path / "c" / "charts" / K / "manifest.json").write_text(json.dumps({"../../../secret": hashlib.sha256(b"s").hexdigest()}))
    assert c.get("charts", K) is None


def test_a_folder_others_may_write_is_not_used(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    c = Cache(root)
    c.put("charts", K, {"a.png": b"picture"})
    assert not (root / "charts").exists()
    os.chmod(root, 0o700)
    (root / "charts" / K).mkdir(parents=True)
    os.chmod(root, 0o777)
    assert c.get("charts", K) is None


def test_a_cache_that_cannot_be_written_is_only_a_miss(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    c = Cache(blocker / "c")
    c.put("charts", K, {"a.png": b"picture"})  # no error
    assert c.get("charts", K) is None
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o700)
    Cache(ro).put("fonts", K, {"subset.otf": b"x"})
    os.chmod(ro / "fonts", 0o500)
    try:
        if os.access(ro / "fonts", os.W_OK):
            pytest.skip("running as a user who writes anywhere")
        Cache(ro).put("fonts", K2, {"subset.otf": b"y"})
        assert Cache(ro).get("fonts", K2) is None
        assert Cache(ro).get("fonts", K) == {"subset.otf": b"x"}
    finally:
        os.chmod(ro / "fonts", 0o700)


def test_names_outside_the_entry_are_refused_when_kept(tmp_path):
    c = Cache(tmp_path / "c")
    for bad in ("../x.png", "manifest.json", ".hidden", "a/b.png", ""):
        c.put("charts", digest(bad), {bad: b"x"})
        assert c.get("charts", digest(bad)) is None
    assert not (tmp_path / "c" / "x.png").exists()
    assert [p.name for p in (tmp_path / "c" / "charts").iterdir()] == []  # nothing half-written


def test_the_least_recently_used_entries_go_first(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 3)
    c = Cache(tmp_path / "c")
    folder = tmp_path / "c" / "fonts"
    for i in range(3):
        c.put("fonts", (K, K1, K2)[i], {"subset.otf": bytes([i])})
        os.utime(folder / (K, K1, K2)[i], ns=(i * 10**9, i * 10**9))
    assert c.get("fonts", K) == {"subset.otf": b"\x00"}  # used now: the newest
    c.put("fonts", K3, {"subset.otf": b"\x03"})
    assert sorted(p.name for p in folder.iterdir()) == sorted([K, K2, K3])


def test_what_a_killed_run_left_is_removed_once_old(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("fonts", K, {"subset.otf": b"x"})
    folder = tmp_path / "c" / "fonts"
    old, new = folder / f".{K1}.{'a' * 12}.tmp", folder / f".{K2}.{'b' * 12}.tmp"
    old.mkdir()
    new.mkdir()
    an_hour_ago = time.time() - cache_module.STALE_TMP_S - 60
    os.utime(old, (an_hour_ago, an_hour_ago))
    c.put("fonts", K3, {"subset.otf": b"y"})
    assert not old.exists() and new.exists()  # a run may still be writing the new one


def test_keys_tell_their_parts_apart(tmp_path):
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a", b"b") == digest(b"a", "b")
    font = tmp_path / "f.otf"
    font.write_bytes(b"12")
    os.utime(font, ns=(10**9, 10**9))
    first = file_identity(font)
    os.utime(font, ns=(2 * 10**9, 2 * 10**9))
    assert file_identity(font) == first  # touched, the same bytes: the same file to the cache
    font.write_bytes(b"13")
    os.utime(font, ns=(10**9, 10**9))  # same size, time put back (cp -p of an update)
    assert file_identity(font) != first
    other = tmp_path / "copy.otf"
    other.write_bytes(b"12")
    assert file_identity(other) == first


def test_only_what_gaopin_named_is_ever_pruned(tmp_path, monkeypatch):
    """cache_dir may name a folder that holds other things (review G: 2023-01… and .git went)."""
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 1)
    folder = tmp_path / "c" / "charts"
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path / "c", 0o700)
    mine = [folder / "2023-01", folder / ".git", folder / f".{K}.notes.tmp"]
    for p in mine:
        p.mkdir()
        os.utime(p, (0, 0))  # old, and least recently used
    c = Cache(tmp_path / "c")
    c.put("charts", K1, {"a.png": b"1"})
    c.put("charts", K2, {"a.png": b"2"})
    assert all(p.exists() for p in mine)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name != "2023-01") == [K2]


@pytest.mark.parametrize("where", ["kind folder", "entry"])
def test_a_folder_inside_that_others_may_write_is_not_used(tmp_path, where):
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    target = tmp_path / "c" / "charts" if where == "kind folder" else tmp_path / "c" / "charts" / K
    os.chmod(target, 0o777)
    assert c.get("charts", K) is None
    c.put("charts", K1, {"a.png": b"other"})
    assert c.get("charts", K1) is None or where == "entry"


def test_an_entry_another_user_planted_is_not_used(tmp_path):
    if not hasattr(os, "getuid") or os.getuid() != 0:
        pytest.skip("needs root to give a file to another user")
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    entry = tmp_path / "c" / "charts" / K
    os.chown(entry / "a.png", 65534, 65534)
    assert c.get("charts", K) is None
    c.put("charts", K, {"a.png": b"picture"})
    os.chown(entry, 65534, 65534)
    assert c.get("charts", K) is None


def test_a_linked_file_or_a_pipe_in_an_entry_is_a_miss_without_waiting(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", K, {"a.png": b"picture"})
    entry = tmp_path / "c" / "charts" / K
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"picture")  # the same bytes: the digest alone would match
    (entry / "a.png").unlink()
    (entry / "a.png").symlink_to(outside)
    assert c.get("charts", K) is None
    assert outside.read_bytes() == b"picture"  # the link removed, not what it points to
    if hasattr(os, "mkfifo"):
        c.put("charts", K1, {"a.png": b"picture"})
        entry = tmp_path / "c" / "charts" / K1
        (entry / "a.png").unlink()
        os.mkfifo(entry / "a.png", 0o600)
        assert c.get("charts", K1) is None  # returns: a pipe is not waited on


def test_an_entry_left_incomplete_is_made_again(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("fonts", K, {"subset.otf": b"x"})
    (tmp_path / "c" / "fonts" / K / "manifest.json").write_bytes(b"")  # a power cut after the rename
    c.put("fonts", K, {"subset.otf": b"x"})
    assert c.get("fonts", K) == {"subset.otf": b"x"}
    (tmp_path / "c" / "fonts" / K / "manifest.json").write_bytes(b"")
    assert c.get("fonts", K) is None
    assert not (tmp_path / "c" / "fonts" / K).exists()  # removed: the next report keeps it again


def test_keys_are_digests(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", "../../x", {"a.png": b"1"})
    assert c.get("charts", "../../x") is None
    assert not (tmp_path / "x").exists()
