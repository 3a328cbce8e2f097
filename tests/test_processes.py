"""Which run left a temporary file: only those of ended processes of this computer are removed."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest

import gaopin.processes as processes
from gaopin.processes import create_held, host_name, let_go, process_alive, sweep_ended


def test_the_computer_name_fits_in_a_file_name():
    assert re.fullmatch(r"[A-Za-z0-9-]{1,32}", host_name())


def test_computers_whose_names_lose_characters_keep_names_of_their_own(monkeypatch):
    names = {}
    for whole in ("pc1.example.org", "张三的电脑", "李四的电脑", "财务-PC", "x" * 40, "x" * 41):
        monkeypatch.setattr(processes.socket, "gethostname", lambda whole=whole: whole)
        names[whole] = host_name()
        assert re.fullmatch(r"[A-Za-z0-9-]{1,32}", names[whole]), whole
    assert names["pc1.example.org"] == "pc1"
    assert len(set(names.values())) == len(names)


def test_a_process_is_alive_while_it_runs_and_not_once_it_ended():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert process_alive(child.pid)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    assert not process_alive(child.pid)
    assert process_alive(os.getpid())
    assert process_alive(0) and process_alive(-1)  # never "the whole process group": in doubt, alive


def test_only_what_ended_processes_of_this_computer_left_is_removed(tmp_path):
    suffix = ".new"
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=60)
    host = host_name()
    folder = tmp_path / "store"
    folder.mkdir()
    try:
        names = {
            "ended": f".g.db.{host}.{ended.pid}.7{suffix}",
            "running": f".g.db.{host}.{child.pid}.7{suffix}",
            "this run": f".g.db.{host}.{os.getpid()}{suffix}",
            "other computer": f".g.db.anotherpc-{host}.{ended.pid}{suffix}",
            "other store": f".g.db2.{host}.{ended.pid}{suffix}",
            "not ours": f".g.db.{host}.{ended.pid}.abc{suffix}",
            "old form": f".g.db.{ended.pid}.7{suffix}",
        }
        for name in names.values():
            (folder / name).write_bytes(b"13812345678")
        sweep_ended(folder, ".g.db.", ".new")
        assert sorted(os.listdir(folder)) == sorted(v for k, v in names.items() if k != "ended")
    finally:
        child.stdin.close()
        child.wait(timeout=60)


@pytest.mark.skipif(os.name == "nt", reason="POSIX locks")
def test_a_file_its_writer_still_holds_is_kept_though_its_name_says_ended(tmp_path, monkeypatch):
    """A writer in a container with its own process numbers looks ended from here (and one on
    another computer of the same name): its lock on the file keeps it."""
    monkeypatch.setattr(processes, "process_alive", lambda pid: False)
    written, left = tmp_path / f".g.db.{host_name()}.12345.1.new", tmp_path / f".g.db.{host_name()}.12346.1.new"
    left.write_bytes(b"13812345678")
    script = "import sys; from pathlib import Path; from gaopin.processes import create_held\nfd = create_held(Path(sys.argv[1])); print(fd is not None, flush=True); sys.stdin.read()"
    writer = subprocess.Popen([sys.executable, "-c", script, str(written)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "True"
        sweep_ended(tmp_path, ".g.db.", ".new")
        assert written.exists() and not left.exists()
    finally:
        writer.stdin.close()
        writer.wait(timeout=60)
    sweep_ended(tmp_path, ".g.db.", ".new")  # its writer gone, and its lock with it
    assert not written.exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX locks")
def test_a_held_file_is_private_from_its_first_moment_and_kept_until_let_go(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "process_alive", lambda pid: False)
    folder = tmp_path / "store"
    folder.mkdir()
    path = folder / f".g.db.{host_name()}.12345.1.new"
    held = create_held(path)  # in this process too: another open file is another holder
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and os.listdir(folder) == [path.name]
        sweep_ended(folder, ".g.db.", ".new")
        assert path.exists()
    finally:
        let_go(held)
    sweep_ended(folder, ".g.db.", ".new")
    assert not path.exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX locks")
def test_where_the_file_system_has_no_locks_files_are_still_made_and_nothing_is_removed(tmp_path, monkeypatch):
    """Some network drives have no locks: a live writer cannot be told from a leftover there, so
    the purge removes such leftovers, not a sweep; the writer's file is still made, private."""
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(processes, "process_alive", lambda pid: False)
    folder = tmp_path / "store"
    folder.mkdir()
    left = folder / f".g.db.{host_name()}.12345.1.new"
    left.write_bytes(b"13812345678")
    made = folder / f".g.db.{host_name()}.12346.1.new"
    let_go(create_held(made))
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    sweep_ended(folder, ".g.db.", ".new")
    assert sorted(os.listdir(folder)) == sorted([left.name, made.name])


@pytest.mark.skipif(os.name == "nt", reason="named pipes and links")
def test_what_only_looks_like_a_leftover_is_left_alone(tmp_path):
    """A named pipe under a leftover's name is not waited on, nor is a link followed; neither is removed."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(timeout=60)
    pipe, link = tmp_path / f".g.db.{host_name()}.{ended.pid}.1.new", tmp_path / f".g.db.{host_name()}.{ended.pid}.2.new"
    os.mkfifo(pipe)
    (tmp_path / "target").write_bytes(b"x")
    link.symlink_to(tmp_path / "target")
    sweep_ended(tmp_path, ".g.db.", ".new")
    assert pipe.exists() and link.is_symlink() and (tmp_path / "target").exists()


def test_a_folder_that_cannot_be_read_is_left_alone(tmp_path):
    sweep_ended(tmp_path / "missing", ".g.db.", ".new")  # nothing raised
