"""gaopin.cache: entries come back as they went in, or not at all."""

import os
import stat
import time

import pytest

from gaopin import cache as cache_module
from gaopin.cache import Cache, digest, file_identity


def test_an_entry_comes_back_as_kept(tmp_path):
    c = Cache(tmp_path / "c")
    assert c.get("charts", "k1") is None
    c.put("charts", "k1", {"a.png": b"\x89PNG a", "b.png": b""})
    assert c.get("charts", "k1") == {"a.png": b"\x89PNG a", "b.png": b""}
    assert c.get("charts", "k2") is None
    assert c.get("fonts", "k1") is None


def test_entries_are_private(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("fonts", "k", {"subset.otf": b"x"})
    entry = tmp_path / "c" / "fonts" / "k"
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in entry.iterdir()} == {0o600}


def test_a_changed_file_makes_a_miss_and_the_entry_goes(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", "k", {"a.png": b"picture"})
    (tmp_path / "c" / "charts" / "k" / "a.png").write_bytes(b"another picture")
    assert c.get("charts", "k") is None
    assert not (tmp_path / "c" / "charts" / "k").exists()
    c.put("charts", "k", {"a.png": b"picture"})  # made again
    assert c.get("charts", "k") == {"a.png": b"picture"}


@pytest.mark.parametrize("damage", ["manifest", "missing file", "bad json"])
def test_an_incomplete_entry_is_a_miss(tmp_path, damage):
    c = Cache(tmp_path / "c")
    c.put("charts", "k", {"a.png": b"picture"})
    entry = tmp_path / "c" / "charts" / "k"
    if damage == "manifest":
        (entry / "manifest.json").unlink()
    elif damage == "missing file":
        (entry / "a.png").unlink()
    else:
        (entry / "manifest.json").write_text('{"a.png": ', encoding="utf-8")
    assert c.get("charts", "k") is None


def test_a_manifest_naming_a_file_outside_the_entry_is_a_miss(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("charts", "k", {"a.png": b"picture"})
    (tmp_path / "secret").write_bytes(b"s")
    import hashlib
    import json

    (tmp_path / "c" / "charts" / "k" / "manifest.json").write_text(json.dumps({"../../../secret": hashlib.sha256(b"s").hexdigest()}))
    assert c.get("charts", "k") is None


def test_a_folder_others_may_write_is_not_used(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    c = Cache(root)
    c.put("charts", "k", {"a.png": b"picture"})
    assert not (root / "charts").exists()
    os.chmod(root, 0o700)
    (root / "charts" / "k").mkdir(parents=True)
    os.chmod(root, 0o777)
    assert c.get("charts", "k") is None


def test_a_cache_that_cannot_be_written_is_only_a_miss(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    c = Cache(blocker / "c")
    c.put("charts", "k", {"a.png": b"picture"})  # no error
    assert c.get("charts", "k") is None
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o700)
    Cache(ro).put("fonts", "k", {"subset.otf": b"x"})
    os.chmod(ro / "fonts", 0o500)
    try:
        if os.access(ro / "fonts", os.W_OK):
            pytest.skip("running as a user who writes anywhere")
        Cache(ro).put("fonts", "k2", {"subset.otf": b"y"})
        assert Cache(ro).get("fonts", "k2") is None
        assert Cache(ro).get("fonts", "k") == {"subset.otf": b"x"}
    finally:
        os.chmod(ro / "fonts", 0o700)


def test_names_outside_the_entry_are_refused_when_kept(tmp_path):
    c = Cache(tmp_path / "c")
    for bad in ("../x.png", "manifest.json", ".hidden", "a/b.png", ""):
        c.put("charts", f"k{len(bad)}", {bad: b"x"})
        assert c.get("charts", f"k{len(bad)}") is None
    assert not (tmp_path / "c" / "x.png").exists()
    assert [p.name for p in (tmp_path / "c" / "charts").iterdir()] == []  # nothing half-written


def test_the_least_recently_used_entries_go_first(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "MAX_ENTRIES", 3)
    c = Cache(tmp_path / "c")
    folder = tmp_path / "c" / "fonts"
    for i in range(3):
        c.put("fonts", f"k{i}", {"subset.otf": bytes([i])})
        os.utime(folder / f"k{i}", ns=(i * 10**9, i * 10**9))
    assert c.get("fonts", "k0") == {"subset.otf": b"\x00"}  # used now: the newest
    c.put("fonts", "k3", {"subset.otf": b"\x03"})
    assert sorted(p.name for p in folder.iterdir()) == ["k0", "k2", "k3"]


def test_what_a_killed_run_left_is_removed_once_old(tmp_path):
    c = Cache(tmp_path / "c")
    c.put("fonts", "k", {"subset.otf": b"x"})
    folder = tmp_path / "c" / "fonts"
    old, new = folder / ".k1.abc.tmp", folder / ".k2.def.tmp"
    old.mkdir()
    new.mkdir()
    an_hour_ago = time.time() - cache_module.STALE_TMP_S - 60
    os.utime(old, (an_hour_ago, an_hour_ago))
    c.put("fonts", "k3", {"subset.otf": b"y"})
    assert not old.exists() and new.exists()  # a run may still be writing the new one


def test_keys_tell_their_parts_apart(tmp_path):
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a", b"b") == digest(b"a", "b")
    font = tmp_path / "f.otf"
    font.write_bytes(b"1")
    first = file_identity(font)
    os.utime(font, ns=(10**9, 10**9))
    assert file_identity(font) != first  # touched: another file as far as the cache knows
    second = file_identity(font)
    font.write_bytes(b"12")
    os.utime(font, ns=(10**9, 10**9))
    assert file_identity(font) != second  # same time, other size


def test_without_owners_and_mode_bits_the_folder_is_used(tmp_path, monkeypatch):
    """Windows: os.getuid is absent and every folder shows mode 0o777."""
    root = tmp_path / "c"
    root.mkdir()
    os.chmod(root, 0o777)
    monkeypatch.delattr(os, "getuid")
    c = Cache(root)
    c.put("fonts", "k", {"subset.otf": b"x"})
    assert c.get("fonts", "k") == {"subset.otf": b"x"}
