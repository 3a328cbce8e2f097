"""The `gaopin` command line: thin commands over the library.

Only this package touches typer and rich. Heavy libraries (pandas, matplotlib) are
imported inside the commands that need them so that `gaopin --help` starts fast.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import threading

import typer

from gaopin import __version__
from gaopin.cli import doctor_cmd, load_cmds, report_cmd, sample_cmd, sends_cmd, store_cmds, warn_cmd
from gaopin.cli.common import Terminated, guard_output, keep_results, terminate
from gaopin.errors import ExitCode, GaopinError

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
    # A command is one bounded piece of work and the process ends with it: the cyclic
    # collector stays off throughout. Its passes walked the big results between the library's
    # own pauses (a report's ledger while its summary is printed, a district year's warnings
    # after they are turned into JSON: 0.1-0.25 s of 3 s, docs/performance.md); reference
    # counting still frees what holds no cycle, and a command's few cycles go with the process.
    gc.disable()
    keep_freed_memory()
    # SIGTERM ends a run as Ctrl-C does (cleaned up, logged, exit 143) instead of killing it outright.
    signal.signal(signal.SIGTERM, terminate)
    _replace_unprintable()
    guard_output()
    keep_results()
    sys.unraisablehook = _logged_not_shown
    try:
        code = _run()
    except Terminated:  # before or after a command ran
        code = int(ExitCode.TERMINATED)
    except KeyboardInterrupt:  # before or after a command ran (a command says so itself)
        print("已中断。", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    finally:
        # Frozen, whatever is still alive is not walked at exit either (0.3 s of a 3.7 s `warn`
        # once). Outputs are closed by then; atexit handlers still run.
        gc.freeze()
    end(code)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> None:
    """Where the C library is glibc, memory freed by numpy's arrays stays with the process for the
    next ones instead of going back to the kernel and being faulted in again: blocks up to 32 MB
    (glibc's largest threshold on 64 bits) come from the heap, which is not trimmed. A command is
    short, and its memory goes back when it ends. `warn` on a district year: 10 runs each, medians
    2.60 s -> 2.555 s, page faults 410,000 -> 375,000 (docs/performance.md). Elsewhere, nothing."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):  # not glibc (Windows has no confstr, macOS not this name)
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)


def end(code: int) -> None:
    """End the process with `code` once the command's output is out and the exit handlers
    (logging's, multiprocessing's, temporary folders') have run, without Python's own
    finalisation: it freed what the command kept (`keep_to_exit`) and every module one object
    at a time, 0.04-0.05 s after a district year's `warn` had printed everything, where the
    system frees the whole process at once. The last of the output not written (a full disk) is
    told as any error is, with its exit code. Where the rest cannot be done quietly (a stream
    that is not a file, a thread still running), Python ends as usual."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except GaopinError as exc:  # (common.PipeSafeStream: stdout on a full disk)
        from gaopin.cli.common import tell_error

        tell_error(exc)
        code = int(exc.exit_code)
    except (OSError, ValueError, AttributeError):
        sys.exit(code)  # Python then reports what it could not write, as it always did
    if threading.active_count() > 1 + _reading_ahead():
        sys.exit(code)  # Python's own end waits for it
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - the handlers' last words; the command's output was out above
        pass
    os._exit(code)


def _reading_ahead() -> int:
    """The threads reading a CSV ahead (`gaopin.io.ahead`) still running: a command that ended
    before it took the file's body. They only read, and need not be waited for."""
    ahead = sys.modules.get("gaopin.io.ahead")
    return 0 if ahead is None else sum(t.name == ahead.THREAD_NAME for t in threading.enumerate())


def _logged_not_shown(unraisable) -> None:
    """An error Python cannot raise (a Ctrl-C landing in a finalizer, such as a database
    cursor's) goes to the log, not to the terminal as "Exception ignored … Traceback"."""
    import logging

    logging.getLogger("gaopin.cli").info("ignored in %s: %r", getattr(unraisable.object, "__qualname__", type(unraisable.object).__name__), unraisable.exc_value)


def _replace_unprintable() -> None:
    """Output to a terminal or file whose encoding lacks some characters (ASCII; GBK lacks 䶮
    and ✓) shows them as ? instead of ending the run with an encoding error. Error lines
    already print such characters as \\u escapes."""
    import codecs

    encoding = getattr(sys.stdout, "encoding", None)
    try:
        utf8 = encoding is None or codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    if not utf8 and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")


def _run() -> int:
    """The command's exit code; the parser's own errors told as gaopin tells every other error."""
    from gaopin.cli.common import stderr, tell_error
    from gaopin.cli.usage import command_path, exit_code_of, is_usage_error, usage_lines
    from gaopin.privacy import mask_phones_in_text

    try:
        code = app(prog_name="gaopin", standalone_mode=False)
    except GaopinError as exc:  # outside any command: --version or the help not written (a full disk)
        tell_error(exc)
        return int(exc.exit_code)
    except typer.Abort:  # a confirmation prompt answered with Ctrl-C or end of input
        stderr("已取消。")
        return 1
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" or not is_usage_error(exc):
            exc.show()  # `gaopin` alone prints the commands, as before
            return exit_code_of(exc)
        try:
            message, hint = usage_lines(exc, command_path(typer.main.get_command(app), sys.argv[1:]))
        except Exception:  # the parser's own words rather than a traceback
            exc.show()
            return exit_code_of(exc)
        # The message may quote what was typed, a phone number among it.
        stderr(f"错误：{mask_phones_in_text(message)}")
        stderr(f"提示：{hint}")
        return exit_code_of(exc)
    return code if isinstance(code, int) else 0
