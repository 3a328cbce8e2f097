"""The `gaopin` command line: thin commands over the library.

Only this package touches typer and rich. Heavy libraries (pandas, matplotlib) are
imported inside the commands that need them so that `gaopin --help` starts fast.
"""

from __future__ import annotations

import gc

import typer

from gaopin import __version__
from gaopin.cli import doctor_cmd, load_cmds, report_cmd, sample_cmd, sends_cmd, store_cmds, warn_cmd

app = typer.Typer(
    name="gaopin",
    help="高频（gaopin）：12345 接诉即办工单的提早预警、高频诉求台账和月度考核报告。",
    no_args_is_help=True,
    add_completion=False,
    # Help texts name config sections like [store]; they are not Rich markup.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"gaopin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="显示版本号", callback=_version, is_eager=True),
) -> None:
    """高频（gaopin）：12345 接诉即办工单的提早预警、高频诉求台账和月度考核报告。"""


load_cmds.register(app)
warn_cmd.register(app)
store_cmds.register(app)
report_cmd.register(app)
sample_cmd.register(app)
sends_cmd.register(app)
doctor_cmd.register(app)


def main() -> None:
    try:
        app(prog_name="gaopin")
    finally:
        # Whatever is still alive goes with the process. Frozen, it is not walked by the
        # collector's passes at exit, which after a district year's tickets took 0.3 s of a
        # 3.7 s `warn` (docs/performance.md). Outputs are closed by then; objects are still
        # freed by reference counting, and atexit handlers still run.
        gc.freeze()
