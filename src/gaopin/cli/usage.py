"""The command-line parser's own errors in gaopin's words.

Typer's parser (a copy of click) reports a mistyped option or a value of the wrong kind in four
English lines ("Usage: … Error: No such option: --mounth"). Office staff get what every other
error gives them: one Chinese line saying what is wrong, a hint line, and exit code 2.
The exceptions are recognised by their class names and attributes, which click and typer's
copy share, so no private module is imported.
"""

from __future__ import annotations

import re
import sys
from difflib import SequenceMatcher
from typing import Any

from gaopin.errors import ExitCode

# click's messages for the value types gaopin's options use (choices, integers, numbers, flags).
_VALUE_MESSAGES = (
    (re.compile(r"^'(?P<v>.*)' is not one of (?P<choices>.*)\.$", re.S), "“{v}”不是可选的取值（可选：{choices}）"),
    (re.compile(r"^'(?P<v>.*)' is not a valid integer( range)?\.$|^'(?P<w>.*)' is not a valid int\.$", re.S), "“{v}”不是整数"),
    (re.compile(r"^'(?P<v>.*)' is not a valid float\.$", re.S), "“{v}”不是数字"),
    (re.compile(r"^'(?P<v>.*)' is not a valid boolean\.$", re.S), "“{v}”不是 true 或 false"),
)
_EXTRA = re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)$", re.S)
_NEEDS_VALUE = re.compile(r"^Option '(?P<opt>[^']+)' requires an argument\.$")
_TAKES_NO_VALUE = re.compile(r"^Option '(?P<opt>[^']+)' does not take a value\.$")
_NO_COMMAND = re.compile(r"^No such command '(?P<name>[^']+)'\.(?: Did you mean '(?P<like>[^']+)'\?)?$")


def is_usage_error(exc: BaseException) -> bool:
    """The parser's usage errors: an exception with an exit code and a context (click's UsageError)."""
    return hasattr(exc, "ctx") and hasattr(exc, "exit_code") and hasattr(exc, "format_message")


def _option_name(param: Any) -> str:
    if param is None:
        return ""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(getattr(param, "opts", []))
    if getattr(param, "param_type_name", "") == "argument":
        return (getattr(param, "human_readable_name", None) or getattr(param, "name", "") or "").strip("<>").lower()
    return opts[0] if opts else getattr(param, "name", "") or ""


def _value_problem(message: str) -> str:
    for pattern, text in _VALUE_MESSAGES:
        m = pattern.match(message.strip())
        if m:
            values = {k: v for k, v in m.groupdict().items() if v is not None}
            if "w" in values:
                values["v"] = values.pop("w")
            if "choices" in values:
                values["choices"] = "、".join(c.strip().strip("'") for c in values["choices"].split(","))
            return text.format(**values)
    return message.strip()


def command_path(root: Any, args: list[str]) -> str:
    """`gaopin warn` or `gaopin ledger note`: the commands named at the start of `args` (for an
    error the parser raises before it knows the command)."""
    path, group = ["gaopin"], root
    for arg in args:
        commands = getattr(group, "commands", None)
        if not commands or arg not in commands:
            break
        path.append(arg)
        group = commands[arg]
    return " ".join(path)


def usage_lines(exc: Any, command: str = "gaopin") -> tuple[str, str]:
    """(message, hint) for one of the parser's usage errors; `command` where it names none."""
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", "") or command
    help_hint = f"运行 {command} -h 查看用法"
    kind = type(exc).__name__
    message = str(getattr(exc, "message", "") or "")
    if kind == "NoSuchOption":
        # The parser finds --help "close" to nearly anything short (--sheet): a suggestion only
        # for what reads like a mistyped --help (--hlep).
        typed = str(getattr(exc, "option_name", ""))
        similar = sorted(p for p in getattr(exc, "possibilities", None) or [] if p not in ("--help", "-h") or SequenceMatcher(None, typed, p).ratio() >= 0.75)
        if "-help" in sys.argv[1:]:  # read by the parser as -h -e -l -p: "没有 -e 这个选项"
            return f"{command} 没有 -help 这个选项", f"相近的选项：--help；{help_hint}"
        return f"{command} 没有 {exc.option_name} 这个选项", (f"相近的选项：{'、'.join(similar)}；" if similar else "") + help_hint
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        name = _option_name(param)
        what = "参数" if (getattr(exc, "param_type", None) or getattr(param, "param_type_name", "")) == "argument" else "选项"
        return f"{command} 缺少{what} {name}".rstrip(), help_hint
    if kind == "BadParameter":
        name = _option_name(getattr(exc, "param", None)) or str(getattr(exc, "param_hint", "") or "")
        return f"{name} 的取值不对：{_value_problem(message)}", help_hint
    for pattern, text, hint in (
        (_EXTRA, "多余的参数：{args}", "文件名或文字中有空格时，请用英文引号括起来；" + help_hint),
        (_NEEDS_VALUE, "{opt} 后面要写一个值", help_hint),
        (_TAKES_NO_VALUE, "{opt} 是开关，后面不能写值", "写 {opt} 就是打开它；" + help_hint),
        (_NO_COMMAND, "没有 {name} 这个命令", "{like}运行 {command} -h 查看全部命令"),
    ):
        m = pattern.match(message.strip())
        if m:
            found = m.groupdict()
            like = f"是不是 {command} {found['like']}？" if found.get("like") else ""
            return text.format(**found), hint.format(**{**found, "like": like, "command": command})
    return f"命令写法不对：{message.strip()}", help_hint


def exit_code_of(exc: Any) -> int:
    return int(getattr(exc, "exit_code", ExitCode.USAGE) or ExitCode.USAGE)
