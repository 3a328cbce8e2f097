"""The corpus of bad inputs (tests/data/bad/) through the real command line.

Every file is given to `gaopin inspect` and `gaopin warn` in a child process, exactly as a
cron job would run them. A refusal must be exit code 5 (INPUT, docs/data-format.md) with a
one- or two-line message and no traceback; a file that is merely awkward must be read right.
Each child's peak memory is measured (os.wait4), and each child runs under an address-space
limit so that a missing protection fails the test instead of the machine.

The last tests show that the protections matter: without the pre-check, python-calamine
aborts the whole process on the dense ranges, and the zip bomb costs several times the memory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from gaopin.config import LimitSettings
from gaopin.errors import ExitCode, InputError
from gaopin.io.precheck import check_xls, check_xlsx

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
SRC = Path(__file__).resolve().parents[2] / "src"
POSIX = hasattr(os, "wait4")
ADDRESS_SPACE_MB = 3072  # a child never gets more, whatever the file does
MEMORY_BOUND_MB = 300  # gaopin itself is ~130 MB resident; a refusal must not read the file
PRECHECK_SECONDS = 0.5


def _corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# --- running gaopin in a child ------------------------------------------------------------

# Runs `python -m gaopin ARGS` after limiting the address space; with PRECHECK=off the
# pre-checks are replaced by no-ops first (only the tests at the end do that).
_CHILD = """
import atexit, os, runpy, sys


def _report_peak():
    # VmHWM is this program's own peak; ru_maxrss would include the forking parent's
    # (Linux keeps the high-water mark across exec), which grows as the test session does.
    try:
        with open("/proc/self/status") as fh:
            peak = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
        with open(os.environ["GAOPIN_TEST_PEAK_FILE"], "w") as out:
            out.write(peak)
    except (OSError, StopIteration, KeyError):
        pass


atexit.register(_report_peak)
try:
    import resource
    limit = int(os.environ["GAOPIN_TEST_AS_MB"]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
except (ImportError, AttributeError, ValueError):
    pass  # Windows: no address-space limit
if os.environ.get("GAOPIN_TEST_PRECHECK") == "off":
    import gaopin.io.readers as readers
    from gaopin.io.precheck import PrecheckResult
    readers.check_xlsx = lambda path, limits: PrecheckResult()
    readers.check_xls = lambda path, limits: None
sys.argv = ["gaopin", *sys.argv[1:]]
runpy.run_module("gaopin", run_name="__main__")
"""


@dataclass
class Child:
    code: int
    stdout: str
    stderr: str
    max_rss_mb: float | None  # None where the OS cannot say


def run_child(args: list[str], precheck: bool = True, address_space_mb: int = ADDRESS_SPACE_MB, code: str = _CHILD) -> Child:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "GAOPIN_TEST_AS_MB": str(address_space_mb),
        "GAOPIN_TEST_PRECHECK": "on" if precheck else "off",
        "NO_COLOR": "1",
        "RUST_BACKTRACE": "0",
    }
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        peak_file = Path(tmp) / "peak"
        env["GAOPIN_TEST_PEAK_FILE"] = str(peak_file)
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, env=env)
        if POSIX:
            # wait4 gives this one child's peak memory (RUSAGE_CHILDREN would mix all of them).
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
            if peak_file.exists() and peak_file.read_text().strip():
                rss = int(peak_file.read_text()) / 1024  # Linux: the child's own peak (kB)
        else:  # pragma: no cover - Windows
            proc.wait(timeout=120)
            rss = None
        out.seek(0)
        err.seek(0)
        return Child(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), rss)


# --- what each file must do ------------------------------------------------------------------

REFUSED = {
    "truncated.xlsx": "已损坏（压缩包结构不完整",
    "corrupt_member.xlsx": "已损坏（xl/worksheets/sheet1.xml 无法解压",
    "zip_bomb.xlsx": "疑似压缩炸弹",
    "zip_declared_huge.xlsx": "解压后有 2049 MB（压缩包声明），超过上限 2048 MB",
    "dense_range.xlsx": "的工作表“工单”的数据区域达 1048576 行 × 16384 列",  # the far cell, not its <dimension>
    "far_cell.xlsx": "数据区域达 1048576 行 × 16384 列",
    "implicit_far_cells.xlsx": "数据区域达 1048576 行 × 16384 列",
    "far_cell.xls": "第 65536 列，超过上限 16384 列",
    "forged_dimensions.xls": "声明了 2147483647 行 × 5 列",
    "shared_strings_count.xlsx": "xl/sharedStrings.xml 声明了 4294967295 个不同的字符串",
    "billion_laughs.xlsx": "xl/sharedStrings.xml 含有 DTD/实体声明",
    "xxe.xlsx": "的工作表“工单”含有 DTD/实体声明",
    "password.xlsx": "设置了打开密码",
    "login_page.xls": "是网页（HTML），不是表格，里面也没有表格数据",
    "empty.xlsx": "是空文件（0 字节）",
    "empty.csv": "是空文件（0 字节）",
}
PLANTED = ["GD2408030001", "GD2408030002", "GD2408030003"]  # one cat, three callers, one morning


@dataclass
class Readable:
    tickets: list[str]
    rejected: int = 0
    reason: str = ""  # a fragment of every rejection's reason
    problems: tuple[str, ...] = ()  # problem kinds that must be reported
    warns: bool = False  # the planted point_day warning fires


READABLE = {
    "gbk_rare_char.csv": Readable(PLANTED, warns=True),
    "bom.csv": Readable(PLANTED, warns=True),
    "mixed_line_endings.csv": Readable(PLANTED, warns=True),
    "header_only.csv": Readable([]),
    "header_only.xlsx": Readable([]),
    "long_numeric_ids.xlsx": Readable(["GD2408030009"], rejected=3, reason="被存成了数字，超过 15 位后已失真"),
    "formulas_without_values.xlsx": Readable(["GD2408030009"], rejected=3, reason="缺少工单编号", problems=("formula",)),
    "wide_empty_columns.xlsx": Readable(PLANTED, warns=True),
    "legacy_biff.xls": Readable(["240803001", "240803002"]),
}


def test_every_corpus_file_is_covered():
    names = {bad.name for bad in _corpus_module().CORPUS}
    assert names == set(REFUSED) | set(READABLE)
    # Python's bytecode of make_corpus.py (written when it is imported, unless
    # PYTHONDONTWRITEBYTECODE is set) is not a corpus file either.
    assert names == {p.name for p in BAD.iterdir() if p.name not in ("make_corpus.py", "__pycache__")}


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], Child]:
    """inspect and warn on every file, a child per core at a time."""
    jobs = [(name, cmd) for name in sorted(REFUSED) + sorted(READABLE) for cmd in ("inspect", "warn")]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = pool.map(lambda job: run_child([job[1], str(BAD / job[0]), "--format", "json"]), jobs)
        return dict(zip(jobs, results))


def _clean_failure(child: Child) -> None:
    assert "Traceback" not in child.stdout + child.stderr
    assert "panicked" not in child.stderr and "stack backtrace" not in child.stderr


@pytest.mark.parametrize("cmd", ["inspect", "warn"])
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_bad_file_is_refused_clearly(runs, name, cmd):
    child = runs[(name, cmd)]
    assert child.code == ExitCode.INPUT, child.stderr
    _clean_failure(child)
    lines = child.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, lines
    assert lines[0].startswith("错误：") and name in lines[0]
    assert REFUSED[name] in lines[0]
    assert len(lines) == 1 or lines[1].startswith("提示：")
    assert child.stdout == ""
    if child.max_rss_mb is not None:
        assert child.max_rss_mb < MEMORY_BOUND_MB


@pytest.mark.parametrize("name", sorted(READABLE))
def test_an_awkward_file_is_read_right(runs, name):
    expected = READABLE[name]
    inspected, warned = runs[(name, "inspect")], runs[(name, "warn")]
    for child in (inspected, warned):
        assert child.code == ExitCode.OK, child.stderr
        _clean_failure(child)
        assert child.stderr == ""
        if child.max_rss_mb is not None:
            assert child.max_rss_mb < MEMORY_BOUND_MB
    report = json.loads(inspected.stdout)
    assert report["tickets"] == len(expected.tickets)
    assert report["rejected"] == expected.rejected
    rejected = [p for p in report["problems"] if p["kind"] == "rejected"]
    assert len(rejected) == expected.rejected
    assert all(expected.reason in p["message"] and p["row"] for p in rejected)
    assert report["rows_read"] == len(expected.tickets) + expected.rejected
    for kind in expected.problems:
        assert report["problem_counts"].get(kind), report["problem_counts"]
    warnings = json.loads(warned.stdout)["warnings"]
    assert [w["ticket_ids"] for w in warnings] == ([PLANTED] if expected.warns else [])


def test_the_rare_name_and_the_encoding(runs):
    report = json.loads(runs[("gbk_rare_char.csv", "inspect")].stdout)
    assert report["files"][0]["encoding"] == "gb18030"
    first = json.loads(runs[("bom.csv", "inspect")].stdout)["files"][0]["columns"][0]
    assert (first["header"], first["field"]) == ("工单编号", "ticket_id")  # the BOM is not part of the header


def test_the_formula_warning_says_what_to_do(runs):
    report = json.loads(runs[("formulas_without_values.xlsx", "inspect")].stdout)
    formula = [p for p in report["problems"] if p["kind"] == "formula"]
    assert report["problem_counts"]["formula"] == 3
    assert "在 Excel/WPS 中打开并保存一次" in formula[0]["message"]


def test_the_warn_notes_name_the_rows_left_out(runs):
    notes = json.loads(runs[("long_numeric_ids.xlsx", "warn")].stdout)["notes"]
    assert any(n.startswith("3 行被拒收（工单编号被存成数字而失真）") and "gaopin inspect" in n for n in notes), notes


# --- the pre-check is quick -------------------------------------------------------------------

PRECHECKED = sorted(n for n in REFUSED if n.endswith((".xlsx", ".xls")) and n not in ("empty.xlsx", "password.xlsx", "login_page.xls", "truncated.xlsx"))


@pytest.mark.parametrize("name", PRECHECKED)
def test_the_precheck_refuses_in_well_under_a_second(name):
    check = check_xls if name.endswith(".xls") else check_xlsx
    best = float("inf")
    for _ in range(3):  # the best of three: the machines are noisy
        started = time.perf_counter()
        with pytest.raises(InputError):
            check(BAD / name, LimitSettings())
        best = min(best, time.perf_counter() - started)
    assert best < PRECHECK_SECONDS


# --- the corpus is what the script makes ------------------------------------------------------


def _fingerprint(name: str, data: bytes) -> object:
    """The bytes, except that deflated zip members are compared by size and CRC: another zlib
    build may compress the same bombs into different (equally valid) bytes."""
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except zipfile.BadZipFile:
        return data
    if all(i.compress_type == zipfile.ZIP_STORED for i in infos):
        return data
    return [(i.filename, i.compress_type, i.file_size, i.CRC) for i in infos]


def test_openpyxl_parses_with_defusedxml():
    """openpyxl (used to read gaopin's own output back) must refuse entities, as its docs ask."""
    import openpyxl
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML
    from defusedxml import DefusedXmlException

    for name in ("billion_laughs.xlsx", "xxe.xlsx"):
        with pytest.raises(ValueError) as err:
            openpyxl.load_workbook(BAD / name)
        causes = [err.value]
        while causes[-1].__cause__ or causes[-1].__context__:
            causes.append(causes[-1].__cause__ or causes[-1].__context__)
        assert any(isinstance(c, DefusedXmlException) for c in causes), causes


def test_the_committed_corpus_is_what_the_script_makes():
    fresh = _corpus_module().build()
    for name, data in fresh.items():
        committed = (BAD / name).read_bytes()
        assert _fingerprint(name, committed) == _fingerprint(name, data), f"{name}: run tests/data/bad/make_corpus.py"
    assert sum(map(len, fresh.values())) < 2 * 1024 * 1024  # small enough to commit


# --- damaged files: nothing but a clear refusal -------------------------------------------------

_DAMAGE = """
import io, json, random, struct, sys, tempfile, zipfile
from pathlib import Path
from gaopin.config import Settings
from gaopin.errors import GaopinError
from gaopin.io.load import load
from gaopin.io.precheck import _ole_stream

bad, data = Path(sys.argv[1]), Path(sys.argv[2])
stored = (bad / "long_numeric_ids.xlsx").read_bytes()
book = zipfile.ZipFile(io.BytesIO(stored))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for info in book.infolist():
        z.writestr(info.filename, book.read(info))
xls = (data / "legacy_export.xls").read_bytes()
cases = []
rnd = random.Random(20241128)
for name, base in (("stored.xlsx", stored), ("deflated.xlsx", buf.getvalue()), ("biff.xls", xls)):
    for _ in range(int(sys.argv[3])):
        damaged = bytearray(base)
        for _ in range(rnd.randint(1, 4)):
            damaged[rnd.randrange(len(damaged))] = rnd.choice([0, 1, 8, 14, 99, 0x7F, 0x80, 0xFF, rnd.randrange(256)])
        cases.append((name, bytes(damaged)))
# Every 16- and 32-bit field at the start of every BIFF record set to its largest value.
stream = _ole_stream(xls, ("Workbook",))
at = xls.find(stream[:64])
pos = 0
while pos + 4 <= len(stream):
    kind, size = struct.unpack_from("<HH", stream, pos)
    for off in range(0, min(size, 16) - 1, 2):
        for fmt, value in (("<H", 0xFFFF), ("<I", 0x7FFFFFFF)):
            if off + struct.calcsize(fmt) <= size:
                damaged = bytearray(xls)
                struct.pack_into(fmt, damaged, at + pos + 4 + off, value)
                cases.append(("biff.xls", bytes(damaged)))
    pos += 4 + size
outcome = {"loaded": 0, "refused": 0, "unexpected": []}
folder = Path(tempfile.mkdtemp())
for n, (name, damaged) in enumerate(cases):
    path = folder / name
    path.write_bytes(damaged)
    print(f"case {n} {name}", flush=True)  # the last line names the case if the process dies
    try:
        load([path], Settings())
        outcome["loaded"] += 1
    except GaopinError:
        outcome["refused"] += 1
    except Exception as exc:
        outcome["unexpected"].append(f"case {n} {name}: {type(exc).__name__}: {exc}"[:300])
print("RESULT " + json.dumps(outcome))
"""


@pytest.mark.skipif(not POSIX, reason="needs os.wait4 and RLIMIT_AS")
def test_damaged_workbooks_are_refused_and_never_crash_the_process():
    """Random damage to an xlsx (stored and deflated) and an .xls, and every leading field of every
    BIFF record set to its largest value: a GaopinError or a result, never another exception, never
    an abort. (Before the fixes: calamine aborted on a forged DIMENSIONS record, panics and the zip
    module's NotImplementedError, RuntimeError, OSError and IndexError escaped as internal errors.)"""
    code = "import os, resource, sys\nlimit = 3072 << 20\nresource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n" + _DAMAGE
    child = run_child([str(BAD), str(BAD.parent), "150"], code=code)
    last = child.stdout.strip().splitlines()[-1] if child.stdout.strip() else ""
    assert child.code == 0 and last.startswith("RESULT "), (child.code, last, child.stderr[-500:])
    outcome = json.loads(last[len("RESULT ") :])
    assert outcome["unexpected"] == []
    assert outcome["refused"] > 300 and outcome["loaded"] > 100, outcome


# --- without the pre-check --------------------------------------------------------------------

_CALAMINE = """
import os, resource, sys
limit = int(os.environ["GAOPIN_TEST_AS_MB"]) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import python_calamine
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
print(len(rows))
"""


@pytest.mark.skipif(not POSIX, reason="needs os.wait4 and RLIMIT_AS")
@pytest.mark.parametrize(
    "name", ["dense_range.xlsx", "far_cell.xlsx", "implicit_far_cells.xlsx", "shared_strings_count.xlsx", "far_cell.xls", "forged_dimensions.xls"]
)
def test_calamine_alone_aborts_the_process_on_what_the_precheck_refuses(name):
    """What the pre-check is for: the reader kills the whole process, uncatchably."""
    control = run_child([str(BAD / "legacy_biff.xls" if name.endswith(".xls") else BAD / "header_only.xlsx")], code=_CALAMINE, address_space_mb=2048)
    assert control.code == 0, control.stderr
    child = run_child([str(BAD / name)], code=_CALAMINE, address_space_mb=2048)
    assert child.code == -signal.SIGABRT, (child.code, child.stderr[-300:])
    assert "memory allocation of" in child.stderr


@pytest.mark.skipif(not POSIX, reason="needs os.wait4 and RLIMIT_AS")
def test_gaopin_without_the_precheck_falls_over_on_a_dense_range():
    args = ["inspect", str(BAD / "far_cell.xlsx")]
    protected = run_child(args)
    assert protected.code == ExitCode.INPUT
    unprotected = run_child(args, precheck=False)
    assert unprotected.code == -signal.SIGABRT  # the whole cron job gone, no message of gaopin's
    assert "错误：" not in unprotected.stderr


@pytest.mark.skipif(not POSIX, reason="needs os.wait4 and RLIMIT_AS")
def test_gaopin_without_the_precheck_inflates_the_zip_bomb():
    args = ["inspect", str(BAD / "zip_bomb.xlsx")]
    protected = run_child(args)
    unprotected = run_child(args, precheck=False)
    assert protected.code == ExitCode.INPUT and "压缩炸弹" in protected.stderr
    assert protected.max_rss_mb < MEMORY_BOUND_MB
    # 6.5 million cells held by calamine and then by Python: hundreds of MB for a 200 KB file.
    assert unprotected.max_rss_mb > protected.max_rss_mb + 250, (protected.max_rss_mb, unprotected.max_rss_mb)
