"""Writing for people: text stays text, never a formula, and files appear whole or not at all."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.config import render_default_toml
from gaopin.errors import ConfigError, ExitCode, InputError
from gaopin.io import write
from gaopin.io.write import Sheet, atomic_path, cell_value, csv_safe, display_width, write_csv, write_default_config, write_xlsx

DANGEROUS = ["=1+2", "+8613812345678", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "＝1+2", "＋1", "－1", "＠x", '=HYPERLINK("http://x","点我")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_safe_escapes_formula_starts(text):
    assert csv_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "13812345678", "a=b", " =1", "2024-08-03", ""])
def test_csv_safe_leaves_plain_text(text):
    assert csv_safe(text) == text


@given(st.text())
def test_csv_safe_never_starts_with_a_formula_character(text):
    assert not csv_safe(text).startswith(write.FORMULA_STARTS)


def test_cell_value():
    assert cell_value(pd.NA) is None and cell_value(pd.NaT) is None and cell_value(None) is None
    assert cell_value(float("nan")) is None
    assert cell_value(pd.Timestamp("2024-08-03 14:05:09")) == "2024-08-03 14:05:09"
    assert cell_value(dt.datetime(2024, 8, 3, 14, 5)) == "2024-08-03 14:05:00"
    assert cell_value(dt.date(2024, 8, 3)) == "2024-08-03"
    assert cell_value(["a", "b"]) == "a、b"
    assert cell_value(3) == 3 and cell_value("x") == "x"


def test_display_width():
    assert display_width("abc") == 3
    assert display_width("工单") == 4
    assert display_width("ＡＢ") == 4


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": pd.Series(["000123", "A2", "A3"], dtype="str"),
            "received_at": pd.Series(pd.to_datetime(["2024-08-03 14:05:09", None, "2024-08-04"], format="ISO8601"), dtype="datetime64[s]"),
            "content": pd.Series(DANGEROUS[:2] + ["第一行\n第二行，含\"引号\""], dtype="str"),
            "count": [1, 2, 3],
            "note": pd.Series([None, "", "@x"], dtype="str"),
        }
    )


def test_write_csv(tmp_path):
    path = write_csv(_frame(), tmp_path / "out" / "clean.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["ticket_id", "received_at", "content", "count", "note"],
        ["000123", "2024-08-03 14:05:09", "'=1+2", "1", ""],
        ["A2", "", "'+8613812345678", "2", ""],
        ["A3", "2024-08-04 00:00:00", '第一行\n第二行，含"引号"', "3", "'@x"],
    ]
    assert list(tmp_path.glob("out/.*.tmp")) == []


def test_write_csv_headers_are_escaped_too(tmp_path):
    path = write_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "h.csv", headers=["=cmd"])
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == "'=cmd"


def test_write_xlsx_keeps_text_as_text(tmp_path):
    frame = pd.DataFrame({"text": pd.Series(DANGEROUS + ["http://example.org", "00123", "1E5"], dtype="str")})
    path = write_xlsx(tmp_path / "x.xlsx", [Sheet("工单", frame)])
    ws = openpyxl.load_workbook(path)["工单"]
    cells = [ws.cell(row=r, column=1) for r in range(2, len(frame) + 2)]
    # A carriage return is stored as Excel's escape _x000D_ (as Excel and xlsxwriter store it), which openpyxl leaves as is.
    assert [c.value.replace("_x000D_", "\r") for c in cells] == list(frame["text"])
    assert all(c.data_type == "s" for c in cells)
    assert not ws.parent.defined_names and not any(c.hyperlink for c in cells)


def test_write_xlsx_values_and_layout(tmp_path):
    frame = _frame().assign(flag=[True, False, None])
    path = write_xlsx(
        tmp_path / "x.xlsx",
        [
            Sheet("工单/明细:8月", frame, headers=["编号", "时间", "内容", "数量", "备注", "标记"], title="新村街道工单", row_colors=["#FFC7CE", None, None], number_formats={"count": "0.00"}),
            Sheet("空表", frame.iloc[:0]),
        ],
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["工单_明细_8月", "空表"]
    ws = wb["工单_明细_8月"]
    assert ws["A1"].value == "新村街道工单"
    assert [c.value for c in ws[2]] == ["编号", "时间", "内容", "数量", "备注", "标记"]
    assert [c.value for c in ws[3]] == ["000123", "2024-08-03 14:05:09", "=1+2", 1, None, "是"]
    assert [c.value for c in ws[4]] == ["A2", None, "+8613812345678", 2, None, "否"]
    assert ws["A3"].data_type == "s" and ws["C3"].data_type == "s"
    assert ws["D3"].number_format == "0.00"
    assert ws["A3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:F5"
    assert wb["空表"].max_row == 1


def test_write_xlsx_refuses_too_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(write, "XLSX_MAX_ROWS", 2)
    with pytest.raises(InputError, match="行数上限") as err:
        write_xlsx(tmp_path / "x.xlsx", [Sheet("工单", _frame())])
    assert ".csv" in err.value.hint
    assert not (tmp_path / "x.xlsx").exists()


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "clean.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["clean.csv"]


def test_atomic_path_reports_a_locked_target(tmp_path, monkeypatch):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    def locked(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(InputError, match="正在被 Excel/WPS 打开") as err:
        write_csv(_frame(), tmp_path / "clean.csv")
    assert "关闭" in err.value.hint
    assert list(tmp_path.iterdir()) == []


def test_init_does_not_overwrite_without_force(tmp_path):
    tmp_path = tmp_path / "base"
    tmp_path.mkdir()
    path = tmp_path / "gaopin.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="已存在"):
        write_default_config(path)
    assert path.read_text(encoding="utf-8") == "# mine\n"
    write_default_config(path, force=True)
    assert path.read_text(encoding="utf-8") == render_default_toml()
    assert [p.name for p in tmp_path.iterdir()] == ["gaopin.toml"]


def test_init_onto_a_folder_is_refused_and_leaves_nothing(tmp_path):
    tmp_path = tmp_path / "base"
    folder = tmp_path / "conf"
    (folder / "sub").mkdir(parents=True)
    for force in (False, True):
        with pytest.raises(InputError, match="已有同名的文件夹") as err:
            write_default_config(folder, force=force)
        assert err.value.exit_code == ExitCode.INPUT
    assert [p.name for p in tmp_path.iterdir()] == ["conf"]
    assert [p.name for p in folder.iterdir()] == ["sub"]


def test_output_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="无法创建输出目录"):
        write_csv(_frame(), blocker / "sub" / "clean.csv")
    with pytest.raises(InputError, match="路径中有同名的文件"):
        write_csv(_frame(), blocker / "clean.csv")


def test_output_path_that_is_a_folder(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "clean.csv").mkdir()
    with pytest.raises(InputError, match="无法写入"):
        write_csv(_frame(), tmp_path / "clean.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["clean.csv"]


def test_sheet_names_are_made_valid():
    assert write._sheet_name("a[b]c:d*e?f/g\\h") == "a_b_c_d_e_f_g_h"
    assert write._sheet_name("") == "Sheet1"
    assert len(write._sheet_name("长" * 40)) == 31


def test_path_objects_are_returned(tmp_path):
    assert write_csv(_frame(), tmp_path / "a.csv") == tmp_path / "a.csv"
    assert isinstance(write_xlsx(tmp_path / "a.xlsx", [Sheet("s", _frame())]), Path)


def test_temporary_file_that_cannot_be_made(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(write.tempfile, "mkdtemp", refuse)
    with pytest.raises(InputError, match="无法在"):
        write_csv(_frame(), tmp_path / "clean.csv")


def test_write_xlsx_gives_the_same_bytes_for_the_same_content_on_another_day(tmp_path, monkeypatch):
    """xlsxwriter wrote the clock's time into docProps/core.xml: the same report differed. Nothing
    of the workbook (its properties, the dates of its zip entries) may come from the clock."""
    import time
    import zipfile

    frame = pd.DataFrame({"工单编号": ["A1", "A2"], "件数": [3, 4]})
    first = write_xlsx(tmp_path / "a.xlsx", [Sheet("工单", frame)]).read_bytes()
    later = time.time() + 5 * 365 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "localtime", lambda secs=None: time.gmtime(later if secs is None else secs))
    second = write_xlsx(tmp_path / "b.xlsx", [Sheet("工单", frame)])
    assert second.read_bytes() == first
    with zipfile.ZipFile(second) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "2000-01-01T00:00:00Z" in zf.read("docProps/core.xml").decode("utf-8")


# --- interrupted runs, killed runs, a full disk: nothing left beside the output -------------------

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

# `gaopin ARGS` whose process sends itself SIGNAL while the workbook is written: at the 2000th
# column of rows rendered ("rows"), or as the workbook's other parts are added once its sheet is
# written ("packing"). The signal comes from outside the write, as a
# Ctrl-C, a timeout's SIGTERM or a kill -9 would, at a point that does not depend on timing.
_SIGNALLED_RUN = """
import os, signal, sys, zipfile
import gaopin.io.xlsx
from gaopin.cli import main
calls = 0
def signalled(write, at):
    def write_and_signal(self, *args):
        global calls
        calls += 1
        if calls == at:
            os.kill(os.getpid(), signal.{name})
        return write(self, *args)
    return write_and_signal
if "{when}" == "rows":
    gaopin.io.xlsx._cells = signalled(gaopin.io.xlsx._cells, 5)
else:
    zipfile.ZipFile.writestr = signalled(zipfile.ZipFile.writestr, 3)
sys.argv[0] = "gaopin"
main()
"""


def _signalled_clean(tmp_path: Path, name: str, out: Path, when: str = "rows"):
    import subprocess
    import sys

    from tests.delivery_data import python_env

    env = python_env(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return subprocess.run(
        [sys.executable, "-c", _SIGNALLED_RUN.format(name=name, when=when), "clean", str(SAMPLE / "tickets.csv"), "-o", str(out)],
        capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip


def _old_output(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "工单.xlsx"
    out.parent.mkdir()
    out.write_bytes(b"the earlier file")
    return out


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("name, code, said", [("SIGINT", 130, "已中断"), ("SIGTERM", 143, "已终止")])
@pytest.mark.parametrize("when", ["rows", "packing"])
def test_a_workbook_write_stopped_by_ctrl_c_or_sigterm_leaves_only_the_earlier_file(tmp_path, name, code, said, when):
    """xlsxwriter's temporary files (constant_memory: several the size of the workbook) were
    left beside the output after an orderly Ctrl-C or SIGTERM; nor may a half-written workbook be."""
    out = _old_output(tmp_path)
    done = _signalled_clean(tmp_path, name, out, when)
    assert done.returncode == code, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(out.parent) == ["工单.xlsx"]
    assert out.read_bytes() == b"the earlier file"


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_what_a_killed_write_left_is_removed_by_the_next_write_into_the_folder(tmp_path):
    out = _old_output(tmp_path)
    done = _signalled_clean(tmp_path, "SIGKILL", out, "packing")
    assert done.returncode == -9
    left = [name for name in os.listdir(out.parent) if name != "工单.xlsx"]
    assert len(left) == 1 and left[0].startswith(write.STAGING_PREFIX)  # hidden, all in one place
    assert out.read_bytes() == b"the earlier file"
    write_csv(_frame(), out.parent / "other.csv")
    assert sorted(os.listdir(out.parent)) == ["other.csv", "工单.xlsx"]


def test_a_staging_folder_of_a_running_process_or_of_another_computer_is_kept(tmp_path):
    import subprocess
    import sys

    from tests.delivery_data import python_env

    folder = tmp_path / "out"
    # A real second process that made its staging folder and is still writing (waiting here).
    script = "import sys; from pathlib import Path; from gaopin.io.write import staging_dir\nprint(staging_dir(Path(sys.argv[1])).name, flush=True)\nsys.stdin.read()"
    other = subprocess.Popen([sys.executable, "-c", script, str(folder / "a.xlsx")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=python_env())
    running = other.stdout.readline().strip()
    pid = running.split(".")[3]
    elsewhere = f"{write.STAGING_PREFIX}.anotherpc.{pid}.abcd1234"  # a shared folder: its process is not ours to judge
    (folder / elsewhere).mkdir()
    write_csv(_frame(), folder / "b.csv")
    assert sorted(os.listdir(folder)) == sorted(["b.csv", running, elsewhere])
    other.stdin.close()
    assert other.wait(timeout=60) == 0  # it ended without removing its folder, as a killed one would
    write_csv(_frame(), folder / "b.csv")
    assert sorted(os.listdir(folder)) == sorted(["b.csv", elsewhere])


@pytest.fixture(scope="module")
def enospc(tmp_path_factory) -> Path:
    """The LD_PRELOAD shim of tests/data/enospc.c, built with the system's C compiler."""
    import shutil
    import subprocess
    import sys

    compiler = shutil.which("cc") or shutil.which("gcc")
    if not sys.platform.startswith("linux") or compiler is None:
        pytest.skip("the full-disk shim needs Linux and a C compiler")
    shim = tmp_path_factory.mktemp("shim") / "enospc.so"
    source = Path(__file__).resolve().parents[1] / "data" / "enospc.c"
    built = subprocess.run([compiler, "-shared", "-fPIC", "-o", str(shim), str(source), "-ldl"], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"the full-disk shim did not build: {built.stderr[-300:]}")
    return shim


@pytest.mark.parametrize(
    "only_the_workbook, room",
    [
        (False, 1000),  # anything written in the folder fails (xlsxwriter wrote temporary files there first)
        (True, 0),  # on the workbook's first byte, as the rows are packed into it
        (True, 50_000),  # in the middle of packing them
    ],
)
def test_a_full_disk_while_writing_a_workbook_is_one_line_exit_5_and_leaves_only_the_earlier_file(tmp_path, enospc, only_the_workbook, room):
    """It was an internal error (FileCreateError) with a traceback of the zip writer
    ("Exception ignored in ZipFile.__del__") and xlsxwriter's temporary files left behind."""
    import subprocess
    import sys

    from tests.delivery_data import python_env

    out = _old_output(tmp_path)
    env = python_env(
        LD_PRELOAD=str(enospc), FULL_PREFIX=str(out.parent), FULL_BYTES=str(room),
        **({"FULL_INFIX": out.name} if only_the_workbook else {}),  # its temporary name, not xlsxwriter's
        XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "gaopin", "clean", str(SAMPLE / "tickets.csv"), "-o", str(out)],
        capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == ExitCode.INPUT, done.stderr
    assert done.stderr == f"错误：无法写入 {out}：磁盘已满\n提示：请换一个可写的位置或文件名\n"
    assert os.listdir(out.parent) == ["工单.xlsx"]
    assert out.read_bytes() == b"the earlier file"


@pytest.mark.parametrize("room", [0, 50_000])
def test_a_workbook_that_failed_on_a_full_disk_says_nothing_more_when_collected(tmp_path, enospc, room):
    """The zip writer left behind by the failed write wrote its closing record again when the
    collector freed it (in a library caller; the command line runs without the collector):
    "Exception ignored in ZipFile.__del__" and a traceback, at some later moment."""
    import subprocess
    import sys

    from tests.delivery_data import python_env

    out = _old_output(tmp_path)
    script = f"""
import gc
import pandas as pd
from gaopin.errors import InputError
from gaopin.io.write import Sheet, write_xlsx
try:
    write_xlsx({str(out)!r}, [Sheet("s", pd.DataFrame({{"a": ["text " * 5] * 20000, "b": range(20000)}}))])
except InputError as exc:
    print(exc.message)
gc.collect()
print("collected")
"""
    env = python_env(LD_PRELOAD=str(enospc), FULL_PREFIX=str(out.parent), FULL_INFIX=out.name, FULL_BYTES=str(room))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, env=env, timeout=300)
    assert (done.stdout, done.stderr) == (f"无法写入 {out}：磁盘已满\ncollected\n", "")
    assert os.listdir(out.parent) == ["工单.xlsx"]


def test_cut_cells_are_counted_in_utf16_units_as_excel_counts_them():
    """20,000 emoji are 40,000 UTF-16 units: cut in the workbook, but not counted, so `clean`
    did not say that it cut them."""
    frame = pd.DataFrame({"a": pd.Series(["😀" * 20_000, "长" * 20_000, "长" * 40_000, None], dtype="str"), "n": [1, 2, 3, 4]})
    assert write.cells_over_xlsx_limit(frame) == 2
