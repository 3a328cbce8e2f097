"""Which run left a temporary file: only those of ended processes of this computer are removed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gaopin.processes import host_name, process_alive, sweep_ended


def test_the_computer_name_fits_in_a_file_name():
    assert re.fullmatch(r"[A-Za-z0-9-]{1,32}", host_name())


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


@pytest.mark.parametrize("suffix", [".new", ".new-journal"])
def test_only_what_ended_processes_of_this_computer_left_is_removed(tmp_path, suffix):
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
        sweep_ended(folder, ".g.db.", (".new", ".new-journal"))
        assert sorted(os.listdir(folder)) == sorted(v for k, v in names.items() if k != "ended")
    finally:
        child.stdin.close()
        child.wait(timeout=60)


def test_a_folder_that_cannot_be_read_is_left_alone(tmp_path):
    sweep_ended(tmp_path / "missing", ".g.db.", (".new",))  # nothing raised
