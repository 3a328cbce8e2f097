"""Generated parts of docs/: the --help of every command and the settings table.

    python tools/docs.py --write   # regenerate
    python tools/docs.py --check   # exit 1 if docs/ is out of date (tests do this)

Like sqlite-utils, the reference pages are the tool's own --help, so they cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.config import render_default_toml, render_markdown_table

DOCS = Path(__file__).resolve().parent.parent / "docs"
BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"
ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}


def command_paths() -> list[list[str]]:
    root = get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if prefix:
            paths.append(prefix)
        if subs:
            for name in sorted(subs):
                walk(subs[name], prefix + [name])

    walk(root, [])
    return paths


def help_text(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env=ENV, terminal_width=100, prog_name="gaopin")
    return "\n".join(line.rstrip() for line in result.output.strip().splitlines())


def render_cli() -> str:
    parts = []
    for path in [[]] + command_paths():
        title = "gaopin " + " ".join(path) if path else "gaopin"
        parts.append(f"## `{title.strip()}`\n\n```text\n{help_text(path)}\n```\n")
    return "\n".join(parts)


def render_config() -> str:
    return render_markdown_table() + "\n默认配置文件（`gaopin init` 生成）：\n\n```toml\n" + render_default_toml() + "```\n"


def splice(path: Path, generated: str) -> str:
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


TARGETS = {"cli.md": render_cli, "configuration.md": render_config}


def main(argv: list[str]) -> int:
    stale = []
    for name, render in TARGETS.items():
        path = DOCS / name
        updated = splice(path, render())
        if updated != path.read_text(encoding="utf-8"):
            stale.append(name)
            if "--write" in argv:
                path.write_text(updated, encoding="utf-8")
    if stale and "--write" not in argv:
        print(f"docs out of date: {', '.join(stale)}; run python tools/docs.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
