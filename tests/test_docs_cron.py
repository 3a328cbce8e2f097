"""docs/cron.md stays in step with the program: its command lines use real flags, and every
exit code is explained."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from gaopin.cli import app
from gaopin.errors import ExitCode

DOC = Path(__file__).resolve().parent.parent / "docs" / "cron.md"


def command_lines() -> list[list[str]]:
    """The gaopin invocations in the page's code blocks (crontab, shell, schtasks), as argument lists."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^\s*```[a-z]*\n(.*?)^\s*```", text, re.MULTILINE | re.DOTALL)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#") or line.startswith("rem "):
                continue
            for match in re.finditer(r"(?:bin/gaopin|gaopin\.exe\"?|gaopin\.cmd|^gaopin)\s+([a-z][^\"\n]*)", line):
                args = shlex.split(match.group(1).split(" 2>")[0])
                if args and args[0] != "%*":
                    lines.append(args)
    return lines


def test_the_examples_are_there():
    commands = [args[0] for args in command_lines()]
    assert commands.count("warn") >= 3 and commands.count("report") >= 4


@pytest.mark.parametrize("args", command_lines(), ids=lambda a: " ".join(a))
def test_every_example_parses(args):
    root = get_command(app)
    command = root.commands[args[0]]
    ctx = command.make_context(f"gaopin {args[0]}", list(args[1:]), resilient_parsing=False)
    ctx.close()


def test_every_exit_code_is_explained():
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## 5.", 1)[1].split("## 6.", 1)[0]
    for code in ExitCode:
        assert f"| `{int(code)}` |" in table, code
