"""`gaopin.cli.main`, the entry of the command-line process."""

import subprocess
import sys

import pytest


def test_the_command_line_process_runs_without_the_cyclic_collector_and_freezes_at_exit():
    """`main` (the process's entry) leaves the collector off for the whole command; the app as
    tests call it keeps it. The command here records what it saw."""
    code = (
        "import atexit, gc, sys, typer\n"
        "from gaopin.cli import app, main\n"
        "seen = []\n"
        "app.command('probe')(lambda: seen.append(gc.isenabled()))\n"
        "atexit.register(lambda: print(seen, gc.get_freeze_count() > 0))\n"
        "sys.argv = ['gaopin', 'probe']\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[False]", "True"], out.stderr


# A command for the tests of the process's end: prints `lines` lines, may leave some text unflushed,
# keeps an object that says when it is freed (os.write: it may be freed while Python shuts down),
# may leave a thread writing a file, and ends with `code`.
_ENDING = """
import atexit, os, sys, threading, time, typer
from gaopin.cli import app, main
from gaopin.cli.common import keep_to_exit

class Said:
    def __del__(self):
        os.write(2, b"freed\\n")

def later(path):
    time.sleep(0.3)
    with open(path, "w") as fh:
        fh.write("done")

@app.command("probe")
def probe(lines: int = 0, code: int = 0, thread: str = "", unflushed: bool = False):
    for i in range(lines):
        print(f"line {i}")
    if unflushed:
        sys.stdout.write("left in the buffer")
    keep_to_exit(Said())
    if thread:
        threading.Thread(target=later, args=(thread,)).start()
    raise typer.Exit(code)

atexit.register(lambda: os.write(2, b"exit handlers ran\\n"))
sys.argv = ["gaopin", "probe", *sys.argv[1:]]
main()
"""


def test_the_process_ends_with_the_commands_code_after_its_output_and_exit_handlers_without_freeing_what_it_kept():
    """`gaopin.cli.end`: the output (more than a pipe holds) is all there, the exit handlers ran,
    and what the command kept was not freed one object at a time (the system frees it)."""
    out = subprocess.run([sys.executable, "-c", _ENDING, "--lines", "20000", "--code", "3"], capture_output=True, text=True)
    assert out.returncode == 3, out.stderr
    assert out.stdout.splitlines() == [f"line {i}" for i in range(20000)]
    assert out.stderr.splitlines() == ["exit handlers ran"]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["warn", "--help"], ["warn", "SAMPLE", "--format", "json"], ["warn", "SAMPLE"]])
def test_output_to_a_full_disk_is_one_error_line_and_exit_5(args):
    """stdout redirected to a full disk (/dev/full): a traceback (--version, --help) or an
    "internal error" (exit 1) before; now the reason and a hint, exit 5, as for an output file."""
    import os
    from pathlib import Path

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    sample = str(Path(__file__).resolve().parents[2] / "sample_data" / "tickets.csv")
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "gaopin", *[sample if a == "SAMPLE" else a for a in args]], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (out.returncode, out.stderr.splitlines()) == (5, ["错误：无法写出结果：磁盘已满", "提示：请检查输出重定向到的文件所在的磁盘（是否已满）或设备，然后重新运行"])


def test_output_left_in_the_buffer_for_a_full_disk_is_told_as_the_process_ends():
    """The last of the output is written when the process ends: a full disk then is one error
    line and exit 5, not Python's "Exception ignored" and exit 120."""
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    told = ["错误：无法写出结果：磁盘已满", "提示：请检查输出重定向到的文件所在的磁盘（是否已满）或设备，然后重新运行"]
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-c", _ENDING, "--unflushed"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (out.returncode, out.stderr.splitlines()) == (5, [*told, "exit handlers ran"])


def test_the_end_tells_output_its_last_flush_could_not_write(monkeypatch, capsys):
    """What is still buffered when the process ends (click flushes what commands print, so
    `end` itself is given a stream that fails as stdout on a full disk does)."""
    import atexit
    import os
    import threading

    from gaopin import cli
    from gaopin.errors import InputError

    class Full:
        def write(self, data):
            return len(data)

        def flush(self):
            raise InputError("无法写出结果：磁盘已满", "请腾出空间")

    ended = []
    monkeypatch.setattr(sys, "stdout", Full())
    monkeypatch.setattr(os, "_exit", ended.append)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: None)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    cli.end(0)
    assert ended == [5]
    assert capsys.readouterr().err.splitlines() == ["错误：无法写出结果：磁盘已满", "提示：请腾出空间"]


def test_the_end_does_not_wait_for_a_read_ahead_that_was_not_taken(monkeypatch):
    """A command that failed before it took the CSV's body read ahead (its output was its input)
    ends at once, as any other: the thread only reads. Another thread still running is waited for."""
    import atexit
    import os
    import threading

    from gaopin import cli
    from gaopin.io.ahead import THREAD_NAME

    ended = []
    monkeypatch.setattr(os, "_exit", ended.append)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: None)
    release = threading.Event()
    reading = threading.Thread(target=release.wait, name=THREAD_NAME, daemon=True)
    reading.start()
    try:
        cli.end(2)
        assert ended == [2]
        other = threading.Thread(target=release.wait, daemon=True)
        other.start()
        with pytest.raises(SystemExit):
            cli.end(2)
    finally:
        release.set()


def test_an_error_with_stderr_on_a_full_disk_still_ends_with_its_code(tmp_path):
    """Nothing can be told there: the run ends with the error's own code, without a traceback
    written anywhere else."""
    import os

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "gaopin", "warn", str(tmp_path / "none.csv")], stdout=subprocess.PIPE, stderr=full, text=True)
    assert (out.returncode, out.stdout) == (5, "")


# Ten times three numpy arrays of 24 MB made and dropped inside a command: freed memory given back
# to the kernel (glibc's own thresholds, or `keep_freed_memory` replaced by nothing) is faulted in
# again; kept, it is reused. Page faults, not time.
_CHURN = """
import resource, sys
import gaopin.cli as cli
from gaopin.cli import app, main
if sys.argv[1] == "as-glibc-does":
    cli.keep_freed_memory = lambda: None

@app.command("probe")
def probe():
    import numpy as np
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        a = np.ones(3_000_000); b = np.ones(3_000_000); c = np.ones(3_000_000)
        del c, b, a
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

sys.argv = ["gaopin", "probe"]
main()
"""


def test_the_command_line_process_keeps_freed_memory_for_its_next_arrays():
    import os

    try:
        glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):
        glibc = False
    if not glibc:
        pytest.skip("glibc's malloc only")

    def faults(how: str) -> int:
        out = subprocess.run([sys.executable, "-c", _CHURN, how], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    given_back, kept = faults("as-glibc-does"), faults("kept")
    assert kept * 3 < given_back, (kept, given_back)


def test_a_thread_still_running_when_the_command_returns_ends_as_python_ends(tmp_path):
    """Python's own end waits for the thread (which writes its file); what was kept is then freed
    as everything is."""
    written = tmp_path / "later.txt"
    out = subprocess.run([sys.executable, "-c", _ENDING, "--thread", str(written)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert written.read_text() == "done"
    assert "exit handlers ran" in out.stderr.splitlines()


def test_an_error_in_a_finalizer_is_not_shown_as_a_traceback(tmp_path):
    """A Ctrl-C landing in a database cursor's __del__ printed "Exception ignored in …
    Traceback" to staff; it goes to the log."""
    import os

    code = (
        "import sys\n"
        "from gaopin.cli import app, main\n"
        "from gaopin.cli.common import settings_from\n"
        "class Cursor:\n    def __del__(self):\n        raise KeyboardInterrupt\n"
        "app.command('probe')(lambda: settings_from(None) and Cursor() and None)\n"
        "sys.argv = ['gaopin', 'probe']\n"
        "main()\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    logged = next(tmp_path.rglob("gaopin.log")).read_text(encoding="utf-8")
    assert "ignored in" in logged and "KeyboardInterrupt" in logged


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


def _with_reader_gone(args, tmp_path, stderr_too=False):
    """`gaopin ARGS | head -0` (`2>&1 | head -0` with `stderr_too`): a real pipe whose reader has
    gone before the first line."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gaopin", *args], stdout=write_end, stderr=write_end if stderr_too else subprocess.PIPE, cwd=tmp_path, env=env, timeout=300
        )
    finally:
        os.close(write_end)
    return proc.returncode, (proc.stderr or b"").decode()


def test_a_reader_that_goes_away_does_not_stop_the_work_or_change_the_exit_code(tmp_path):
    """`gaopin import a b c | head -1` imported only the first file and ended with 0; `warn
    --fail-on-alert | head -1` ended with 0 instead of 3."""
    import sqlite3
    from pathlib import Path

    files = []
    for n in range(3):
        path = tmp_path / f"m{n}.csv"
        path.write_text("工单编号,来电时间,小区点位\n" + "".join(f"M{n}-{i},2024-08-0{1 + i} 10:00,恰海小区{i}号楼\n" for i in range(4)), encoding="utf-8")
        files.append(str(path))
    code, err = _with_reader_gone(["import", *files, "--db", str(tmp_path / "g.db")], tmp_path)
    assert (code, err) == (0, "")
    with sqlite3.connect(tmp_path / "g.db") as conn:
        assert conn.execute("SELECT count(*) FROM imports").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (12,)
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "tickets.xlsx"
    assert _with_reader_gone(["warn", str(sample), "--fail-on-alert"], tmp_path) == (3, "")
    # An error written into the closed pipe too: the error's own code, not 1 (a defect).
    assert _with_reader_gone(["import", files[0], str(tmp_path / "missing.xlsx"), "--db", str(tmp_path / "h.db")], tmp_path, stderr_too=True) == (5, "")


@pytest.mark.parametrize("closed", [">&-", "2>&-"])
def test_a_command_started_with_stdout_or_stderr_closed_ends_with_its_own_code(tmp_path, closed):
    """`gaopin warn x.csv >&-` said 内部错误：AttributeError … and ended with 1."""
    import os
    import shlex

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1"}
    command = f"exec {shlex.quote(sys.executable)} -m gaopin warn missing.csv {closed}"
    out = subprocess.run(["sh", "-c", command], capture_output=closed == ">&-", cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 5
    if closed == ">&-":
        assert out.stderr.decode().startswith("错误：")


def _main(monkeypatch, capsys, *args):
    """`gaopin ARGS` through the process's entry, as staff run it (the app as tests call it
    keeps the parser's own English messages)."""
    import gc
    import signal

    from gaopin import cli
    from gaopin.cli import common, main

    monkeypatch.setattr(sys, "argv", ["gaopin", *args])
    # The process's entry ends the process itself, and keeps what commands keep until then: here
    # it raises SystemExit and keeps nothing, as the app does for the other tests.
    monkeypatch.setattr(cli, "end", sys.exit)
    monkeypatch.setattr(common, "_KEPT", None)
    # The process's entry turns the collector off and catches SIGTERM for the rest of the
    # process: given back to the test process afterwards.
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    try:
        with pytest.raises(SystemExit) as done:
            main()
    finally:
        gc.unfreeze()
        gc.enable()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err.splitlines()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["warn", "-f", "yaml", "x.csv"], ["错误：--format 的取值不对：“yaml”不是可选的取值（可选：text、json）", "提示：运行 gaopin warn -h 查看用法"]),
        (["report", "--mnth", "8"], ["错误：gaopin report 没有 --mnth 这个选项", "提示：相近的选项：--month；运行 gaopin report -h 查看用法"]),
        # The parser finds --help close to a short unknown option: not offered as one.
        (["ledger", "--sheet", "x"], ["错误：gaopin ledger 没有 --sheet 这个选项", "提示：运行 gaopin ledger -h 查看用法"]),
        (["ledger", "--hlep"], ["错误：gaopin ledger 没有 --hlep 这个选项", "提示：相近的选项：--help；运行 gaopin ledger -h 查看用法"]),
        (["warn", "-help"], ["错误：gaopin warn 没有 -help 这个选项", "提示：相近的选项：--help；运行 gaopin warn -h 查看用法"]),  # not 没有 -e
        (["report", "--month", "八"], ["错误：--month 的取值不对：“八”不是整数", "提示：运行 gaopin report -h 查看用法"]),
        (["report", "--month"], ["错误：--month 后面要写一个值", "提示：运行 gaopin report -h 查看用法"]),
        (["warn", "-f"], ["错误：-f 后面要写一个值", "提示：运行 gaopin warn -h 查看用法"]),
        (["warn", "--email=yes"], ["错误：--email 是开关，后面不能写值", "提示：写 --email 就是打开它；运行 gaopin warn -h 查看用法"]),
        (["ledger", "unlink", "13900000002", "13812345678"], ["错误：多余的参数：138****5678", "提示：文件名或文字中有空格时，请用英文引号括起来；运行 gaopin ledger unlink -h 查看用法"]),
        (["wran"], ["错误：没有 wran 这个命令", "提示：是不是 gaopin warn？运行 gaopin -h 查看全部命令"]),
        (["ledger", "note"], ["错误：gaopin ledger note 缺少参数 entry_id", "提示：运行 gaopin ledger note -h 查看用法"]),
        (["ledger", "note", "GP-2024-0001", "文字", "多余"], ["错误：多余的参数：多余", "提示：文件名或文字中有空格时，请用英文引号括起来；运行 gaopin ledger note -h 查看用法"]),
    ],
)
def test_the_parsers_errors_are_one_chinese_line_with_a_hint(monkeypatch, capsys, tmp_path, args, said):
    monkeypatch.chdir(tmp_path)
    code, out, err = _main(monkeypatch, capsys, *args)
    assert (code, out, err) == (2, "", said)


def test_the_entry_keeps_the_exit_codes_of_commands_help_and_version(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _main(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("gaopin ")
    code, out, _ = _main(monkeypatch, capsys, "warn", "-h")
    assert code == 0 and "--format" in out
    code, _, err = _main(monkeypatch, capsys, "ledger", "--month", "8", "--db", str(tmp_path / "none.db"))
    assert code == 6 and err[0].startswith("错误：工单库")
    code, _, err = _main(monkeypatch, capsys)  # the commands listed, as before
    assert code == 2


@pytest.mark.parametrize(
    "args",
    [
        ["warn", "--since"], ["warn", "--date", "--email"], ["report", "--last=1"], ["ledger", "assign"], ["ledger", "--month", "x"],
        ["sends", "-n"], ["sends", "--confirm", "a"], ["import", "--force=no"], ["sample", "--rows", "-"], ["--nope"], ["ledger", "wat"],
        ["warn", "--limit", "1.5"], ["report", "--format", "xml"], ["doctor", "x", "y"],
    ],
)  # fmt: skip
def test_no_mistake_on_the_command_line_ends_in_a_traceback(monkeypatch, capsys, tmp_path, args):
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(monkeypatch, capsys, *args)
    assert code == 2 and len(err) == 2 and err[0].startswith("错误：") and err[1].startswith("提示："), err


def test_output_to_an_encoding_without_some_characters_shows_them_as_question_marks(tmp_path):
    """GBK (Chinese Windows, output redirected) has no 䶮: a warning in 恰䶮社区 ended the run
    with an encoding error (exit 1) instead of being printed."""
    from tests.delivery_data import python_env

    rows = "".join(f"A{i},2024-07-29 09:0{i},1381234567{i},恰䶮社区,恰海小区3号楼,城市管理->噪声\n" for i in range(3))
    path = tmp_path / "rare.csv"
    path.write_text("工单编号,受理时间,来电人电话,社区,小区点位,问题分类\n" + rows, encoding="utf-8")
    for encoding in ("gbk", "ascii"):
        out = subprocess.run([sys.executable, "-m", "gaopin", "warn", str(path)], capture_output=True, env=python_env(PYTHONIOENCODING=encoding), cwd=tmp_path)
        assert out.returncode == 0, out.stderr.decode(encoding, "replace")
        text = out.stdout.decode(encoding)
        assert "恰?社区" in text if encoding == "gbk" else "?" in text and "A0" in text


def test_ctrl_c_while_the_command_line_loads_ends_with_130_and_no_traceback(tmp_path):
    """The first ~50 ms import typer and the commands: a Ctrl-C there printed a traceback."""
    from tests.delivery_data import python_env

    code = "import builtins, sys\nreal = builtins.__import__\n" \
        "def interrupted(name, *a, **k):\n    if name == 'typer':\n        raise KeyboardInterrupt\n    return real(name, *a, **k)\n" \
        "builtins.__import__ = interrupted\nfrom gaopin.__main__ import run\nsys.argv = ['gaopin', '--help']\nrun()\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), cwd=tmp_path)
    assert (out.returncode, out.stderr) == (130, "已中断。\n")
