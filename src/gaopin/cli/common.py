"""What every command shares: options, settings, and the one place errors become exit codes."""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from gaopin.errors import ExitCode, GaopinError, InputError, os_reason


class Terminated(BaseException):
    """SIGTERM (a timeout, a shutdown, `kill`): raised in the main thread by the handler that
    `gaopin` installs, so that the run ends like a Ctrl-C: cleaned up, logged, exit 143.
    A BaseException, as KeyboardInterrupt is: no `except Exception` swallows it."""


def terminate(signum: int, frame: Any) -> None:
    raise Terminated()


class Format(str, Enum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="配置文件 gaopin.toml 的路径（默认：当前目录，再到用户配置目录）", show_default=False),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="出错时显示完整的调用栈（给开发者看）")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="输出格式：text（表格）或 json")]
ShowPhonesOpt = Annotated[bool, typer.Option("--show-phones", help="显示完整电话号码（默认隐藏中间四位）")]
FilesArg = Annotated[
    Optional[list[Path]],
    typer.Argument(help="12345 导出文件（.xlsx/.xls/.csv），可以给多个；不给时使用工单库", show_default=False),
]
DbOpt = Annotated[
    Optional[Path],
    typer.Option("--db", help="工单库文件（默认：环境变量 GAOPIN_DB，再到配置 [store] path，再到用户数据目录）", show_default=False),
]
TodayOpt = Annotated[
    Optional[str],
    typer.Option("--today", help="把哪一天当作“今天”（YYYY-MM-DD，不能晚于今天），用于回放过去的月份；默认是北京时间的今天", show_default=False),
]
EmailOpt = Annotated[bool, typer.Option("--email", help="用 [mail] 配置的 SMTP 发邮件；同样的内容只发一次（见 docs/cron.md）")]
NotifyOpt = Annotated[bool, typer.Option("--notify", help="推送到 [notify] 配置的群机器人（企业微信/钉钉）；同样的内容只推送一次")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="演练：不发送、不记录，把邮件写成 .eml、群消息写成 .json")]
ForceSendOpt = Annotated[bool, typer.Option("--force", help="已发送过或上次结果不确定的，也重新发送")]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="配合 --email/--notify：在标准输出显示结果和发送情况（默认不输出，便于定时运行）"),
]


def delivery_channels(email: bool, notify: bool, dry_run: bool, force: bool, dry_run_dir: Path | None) -> list[str]:
    """The channels asked for; --dry-run/--force/--dry-run-dir alone are usage errors."""
    from gaopin.errors import UsageError

    channels = [name for name, on in (("email", email), ("notify", notify)) if on]
    if not channels:
        given = [flag for flag, on in (("--dry-run", dry_run), ("--force", force), ("--dry-run-dir", dry_run_dir is not None)) if on]
        if given:
            raise UsageError(f"{'、'.join(given)} 要与 --email 或 --notify 一起使用", "例如 gaopin warn --date today --notify --dry-run")
    elif dry_run_dir is not None and not dry_run:
        raise UsageError("--dry-run-dir 只在 --dry-run 时有效", "请加 --dry-run")
    return channels


def tell_error(exc: GaopinError) -> None:
    """An error's lines on stderr, and in the log."""
    _log_error(exc)
    stderr(f"错误：{exc.message}")
    if exc.hint:
        stderr(f"提示：{exc.hint}")


def delivered(run: Callable[[], Any]) -> tuple[Any, GaopinError | None]:
    """A delivery run's result, and the error it ends with (exit 7 or 9) when it sent what it
    could first: the command writes and shows the result, then raises the error."""
    try:
        return run(), None
    except GaopinError as exc:
        if exc.result is None:
            raise
        return exc.result, exc


def delivery_notices(lines: list[str]) -> None:
    """What a quiet delivery run did, for a person at a terminal (stderr only when it is one)."""
    if sys.stderr.isatty():
        for line in lines:
            stderr(line)


def stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def reader_gone(exc: OSError) -> bool:
    """A write failed because the pipe's reader has gone: EPIPE, or on Windows EINVAL, which is
    what writing to a closed pipe gives there."""
    return isinstance(exc, BrokenPipeError) or (os.name == "nt" and exc.errno == errno.EINVAL)


class PipeSafeStream:
    """stdout (or its byte layer) whose reader may go away: `gaopin import a b c | head -1`, a
    pager quit early. From then on output goes to the null device and the command carries on to
    its end and its own exit code: an import stopped by a closed pipe lost the files after it,
    and `warn --fail-on-alert | head` ended with 0. Everything else is the stream's own.

    Output that cannot be written for another reason (stdout redirected to a full disk) goes to
    the null device too, and, where it is `reported` (stdout), ends the command as an output file
    that cannot be written does: one line and exit 5, not a traceback. stderr's own failures
    cannot be told anywhere: it is silenced and the command carries on."""

    def __init__(self, stream: Any, fd: int, reported: bool = True) -> None:
        self._stream = stream
        self._fd = fd
        self._reported = reported

    def _silence(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._fd)
        finally:
            os.close(null)

    def _failed(self, exc: OSError) -> None:
        self._silence()  # what is still buffered goes nowhere, and the process's end flushes without error
        if self._reported and not reader_gone(exc):
            raise InputError(f"无法写出结果：{os_reason(exc)}", "请检查输出重定向到的文件所在的磁盘（是否已满）或设备，然后重新运行") from None

    def write(self, data: Any) -> int:
        try:
            return self._stream.write(data)
        except OSError as exc:
            if not data:  # nothing lost (click probes a stream with an empty write, which /dev/full refuses)
                return 0
            self._failed(exc)
            return self._stream.write(data)  # into the null device now, keeping the layers' state sound

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)
            self._stream.flush()

    @property
    def buffer(self) -> "PipeSafeStream":
        return PipeSafeStream(self._stream.buffer, self._fd, self._reported)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# What commands keep until the process ends (see `keep_to_exit`): a list once `gaopin.cli.main`
# runs, None where commands run one after another in one process (CliRunner), which keeps nothing.
_KEPT: list[Any] | None = None


def keep_results() -> None:
    """From now on, `keep_to_exit` keeps what it is given (the process ends with the command)."""
    global _KEPT
    _KEPT = []


def keep_to_exit(*results: Any) -> None:
    """Keep a command's results alive until the process ends (`gaopin.cli.end`), which frees
    them with the rest at once: freed when the command returned, one object at a time, a
    district year's warnings took 0.035 s after they had been printed."""
    if _KEPT is not None:
        _KEPT.extend(results)


def guard_output() -> None:
    """Make sys.stdout and sys.stderr PipeSafeStreams where they are real file descriptors (not a
    test's capture): `gaopin import … 2>&1 | head -1` still ends with the command's own code."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:  # started with the descriptor closed (`>&-`): nothing to read it
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - the process's own
            continue
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            continue
        setattr(sys, name, PipeSafeStream(stream, fd, reported=name == "stdout"))


def _stopped(what: str, exc: BaseException) -> str:
    """One line for a run stopped from outside, with what the library noted was already done."""
    notes = getattr(exc, "__notes__", None)
    return f"{what}：{'；'.join(notes)}。" if notes else f"{what}。"


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one or two stderr lines and a documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug")) or os.environ.get("GAOPIN_DEBUG") == "1"
        try:
            result = fn(*args, **kwargs)
        except typer.Exit as exc:
            _log_done(fn.__name__.rstrip("_"), exc.exit_code)
            raise
        except GaopinError as exc:
            if debug:
                traceback.print_exc()
            tell_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt as exc:
            stderr(_stopped("已中断", exc))
            _log_interrupted(fn.__name__.rstrip("_"), ExitCode.INTERRUPTED, "Ctrl-C")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated as exc:
            stderr(_stopped("已终止（收到 SIGTERM）", exc))
            _log_interrupted(fn.__name__.rstrip("_"), ExitCode.TERMINATED, "SIGTERM")
            raise typer.Exit(int(ExitCode.TERMINATED)) from None
        except MemoryError:
            stderr("错误：内存不足，文件太大无法处理。")
            stderr("提示：请分月导出后分别处理，或在内存更大的电脑上运行。")
            raise typer.Exit(int(ExitCode.INPUT)) from None
        except BaseException as exc:
            # Any other exception is a bug, including a panic in a Rust extension (pyo3's
            # PanicException is not an Exception). SystemExit and GeneratorExit pass through.
            if isinstance(exc, (SystemExit, GeneratorExit)) or debug:
                raise
            from gaopin.privacy import mask_phones_in_text

            _log_error(exc)
            # The text of an exception can quote a cell of the export: mask what it holds.
            stderr(f"内部错误：{type(exc).__name__}: {mask_phones_in_text(str(exc))[:200]}")
            stderr("提示：这是 gaopin 的缺陷，请加 --debug 重新运行，把输出发给维护人员。")
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        _log_done(fn.__name__.rstrip("_"), 0)
        return result

    return wrapper


def _log_done(command: str, code: int) -> None:
    from gaopin.cli import logs

    try:
        logs.log_done(command, code)
    except Exception:  # logging must never change the outcome
        pass


def _log_interrupted(command: str, code: int, how: str) -> None:
    from gaopin.cli import logs

    try:
        logs.log_interrupted(command, code, how)
    except Exception:  # logging must never change the outcome
        pass


def _default_error_logger(exc: BaseException) -> None:
    from gaopin.cli import logs

    logs.log_error(exc)


_error_logger: Callable[[BaseException], None] | None = _default_error_logger


def set_error_logger(fn: Callable[[BaseException], None] | None) -> None:
    global _error_logger
    _error_logger = fn


def _log_error(exc: BaseException) -> None:
    if _error_logger is not None:
        try:
            _error_logger(exc)
        except Exception:  # logging must never hide the real error
            pass


# How the files of a command are read, as [load] in gaopin.toml sets it (a flag wins).
EncodingOpt = Annotated[Optional[str], typer.Option("--encoding", help="CSV 编码（默认先试 utf-8-sig 再试 gb18030）", show_default=False)]
SheetOpt = Annotated[Optional[str], typer.Option("--sheet", help="工作表名称或序号（从 1 起）；默认读每一张有工单表头的可见工作表", show_default=False)]
HeaderRowOpt = Annotated[Optional[int], typer.Option("--header-row", help="表头所在行（从 1 起）；默认自动识别", show_default=False)]


def load_overrides(encoding: str | None, sheet: str | None, header_row: int | None) -> dict:
    return {"load.encoding": encoding, "load.sheet": sheet, "load.header_row": header_row}


def settings_from(config: Path | None, overrides: dict[str, Any] | None = None):
    """Settings from the file and environment, then the command's flags (dotted keys).

    A flag value that the settings refuse is a usage error (exit 2) naming the flag's
    setting, not a config error: there is nothing to fix in gaopin.toml.
    """
    from gaopin.cli import logs
    from gaopin.config import load_settings
    from gaopin.errors import ConfigError, UsageError

    try:
        settings = load_settings(config)
    except ConfigError:
        logs.configure(None)  # the default log, so that the configuration error is logged
        raise
    logs.configure(settings)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not flags:
        return settings
    try:
        return settings.with_values(flags)
    except ConfigError as exc:
        given = "、".join(f"--{k.rsplit('.', 1)[-1].replace('_', '-')} {v}" for k, v in flags.items())
        raise UsageError(f"命令行参数无效：{exc.message}", f"请检查 {given}" + (f"；{exc.hint}" if exc.hint else "")) from None


def print_json(data: Any, dataclasses: bool = False) -> None:
    """`data` as JSON on stdout: indented for a person at a terminal, compact into a pipe or file.

    orjson writes a district year's warnings (26 MB) about 7× faster than `json`. It is made to
    give the values `json.dumps(data, default=str)` gives: datetimes and dataclasses go to
    `str`, float subclasses (numpy's) stay numbers, named tuples become lists, non-text keys
    become text. Differences left: NaN becomes null (json writes NaN, which is not JSON) and an
    Enum its value; what orjson cannot write (an integer beyond 64 bits) goes to `json`.
    `dataclasses`: written field by field instead, with dates and times in ISO 8601
    (`isoformat()`, as `to_dict` methods write them), as a `json_ready` result asks: for
    dataclasses of their fields only (no attributes set beside them, no field named with a
    leading `_`, which orjson and `json` would treat apart).
    """
    import orjson

    option = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    if not dataclasses:
        option |= orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    tty = sys.stdout.isatty()
    if tty:
        option |= orjson.OPT_INDENT_2
    default = _iso_default if dataclasses else _json_default
    try:
        text = orjson.dumps(data, default=default, option=option)
    except orjson.JSONEncodeError:
        import dataclasses as dc
        import json

        def fallback(value: Any) -> Any:
            if dataclasses and dc.is_dataclass(value):
                return dc.asdict(value)
            return str(default(value))

        text = (json.dumps(data, ensure_ascii=False, indent=2 if tty else None, default=fallback) + "\n").encode("utf-8")
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None and (sys.stdout.encoding or "").lower().replace("-", "") == "utf8":
        sys.stdout.flush()  # whatever was written as text goes first
        buffer.write(text)
        buffer.flush()
    else:  # e.g. a Windows pipe in the local code page: encoded by the text layer, as before
        sys.stdout.write(text.decode("utf-8"))


def _iso_default(value: Any) -> Any:
    """`_json_default`, but a date or time orjson does not write itself (pandas' Timestamp, a
    subclass) in ISO 8601 as orjson writes the others (print_json's `dataclasses`)."""
    from datetime import date, time

    if isinstance(value, (date, time)):
        return value.isoformat()
    return _json_default(value)


def _json_default(value: Any) -> Any:
    """What `json` does with values orjson leaves to `default`."""
    if isinstance(value, float):  # numpy.float64 and other float subclasses
        return float(value)
    if isinstance(value, tuple):  # named tuples
        return list(value)
    return str(value)


def today_option(value: str | None):
    """--today: a day up to Beijing's today (default: today). A later one is refused: the ledger
    would count itself brought up to that day, and every real day after would be a look back
    that saves nothing."""
    from gaopin.config import today_local
    from gaopin.errors import UsageError

    real = today_local()
    day = parse_date_option(value, "--today") or real
    if day > real:
        raise UsageError(f"--today {day.isoformat()} 晚于今天（{real.isoformat()}）", "--today 用来回看以前的日子，请写今天或以前的日期")
    return day


def parse_date_option(value: str | None, name: str):
    """`YYYY-MM-DD` or `today` (Beijing time) as a date; None stays None."""
    from datetime import date

    from gaopin.config import today_local
    from gaopin.errors import UsageError

    if value is None:
        return None
    if value.strip().lower() in ("today", "今天"):
        return today_local()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{name} 的日期“{value}”无法识别", "请写成 YYYY-MM-DD，例如 2024-08-03，或写 today") from None
