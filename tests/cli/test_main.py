"""`gaopin.cli.main`, the entry of the command-line process."""

import subprocess
import sys


def test_the_command_line_process_runs_without_the_cyclic_collector_and_freezes_at_exit():
    """`main` (the process's entry) leaves the collector off for the whole command; the app as
    tests call it keeps it. The command here records what it saw."""
    code = (
        "import gc, sys, typer\n"
        "from gaopin.cli import app, main\n"
        "seen = []\n"
        "app.command('probe')(lambda: seen.append(gc.isenabled()))\n"
        "sys.argv = ['gaopin', 'probe']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(seen, gc.get_freeze_count() > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[False]", "True"], out.stderr


def test_a_reader_that_goes_away_ends_a_table_command_with_exit_0(tmp_path):
    """`gaopin warn … | head -1`: the tables are printed by rich, whose own handling of a closed
    pipe exits with 1 (a defect, by gaopin's exit codes); gaopin ends with 0 and says nothing.
    A real pipe, cut to one page so that the output outgrows it."""
    import fcntl
    import os
    from pathlib import Path

    import pytest

    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        pytest.skip("setting a pipe's size needs Linux")
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "tickets.xlsx"
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gaopin", "warn", str(sample), "--limit", "0"], stdout=write_end, stderr=subprocess.PIPE, cwd=tmp_path, env=env
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()
    _, err = proc.communicate(timeout=120)
    assert "提早预警".encode() in first
    assert proc.returncode == 0, err.decode()
    assert err == b""
