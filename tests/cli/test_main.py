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
