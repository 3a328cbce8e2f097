"""Text from tickets never becomes a formula in what gaopin writes (CSV injection, OWASP).

Tickets whose title, content, caller, address, category, community and unit start with
= + - @ tab CR and their full-width forms go through every writer by its real entry point:
clean (csv, xlsx), warn -o (xlsx, csv), ledger -o (xlsx) and report (report.xlsx). Staff
text typed on the command line (ledger assign) and leaders' names from gaopin.toml go the
same way. Every workbook is read back with openpyxl: no cell may be a formula. In every CSV
no cell may start with a character that makes a spreadsheet evaluate it: each such text
must carry the leading apostrophe.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.io.write import FORMULA_STARTS
from tests.builders import write_csv

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "问题分类", "所属社区", "承办单位", "标题", "诉求内容", "是否有效回访", "是否解决", "是否满意"]
CONFIG = """
[rules.point_day]
min_tickets = 3
[ledger.caller]
min_tickets = 2
[ledger.point]
min_tickets = 2
[ledger.issue]
min_tickets = 2
min_persons = 1
[owners]
center_head = "=HYPERLINK(\\"http://x\\")"
[owners.communities]
"=恰海社区" = "@李志强"
"""


def rows() -> list[list[str]]:
    out = [HEADER]
    for i, p in enumerate(DANGEROUS):
        for k in range(3):  # three on one day at one point: a point_day warning, ledger entries
            out.append(
                [
                    f"GD{i:02d}{k}",
                    f"2024-08-{3 + i:02d} 09:0{k}:00",
                    f"{p}张三{i}",
                    f"1380000{i:04d}",
                    f"{p}恰海小区{i}号楼",
                    f"{p}城市管理->动物->流浪猫",
                    f"{p}恰海社区",
                    f"{p}恰海社区居委会",
                    f"{p}1+2 标题{i}",
                    f"{p}cmd|' /C calc'!A0",
                    "是",
                    "否",
                    "不满意",
                ]
            )
    return out


def run(*args) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("inject")
    export = write_csv(root / "export.csv", rows())
    config = root / "gaopin.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db, c = root / "g.db", ["--config", config]
    run("clean", export, "-o", root / "clean.csv", *c)
    run("clean", export, "-o", root / "clean.xlsx", *c)
    run("warn", export, "-o", root / "warn.xlsx", *c)
    run("warn", export, "-o", root / "warn.csv", *c)
    run("import", export, "--db", db, *c)
    run("ledger", "--month", "8", "--year", "2024", "--today", "2024-09-30", "--db", db, *c)
    run("ledger", "assign", "GP-2024-0001", "--owner", "=1+2", "--unit", "-2+3", "--measures", "@SUM(A1)", "--today", "2024-09-30", "--db", db, *c)
    run("ledger", "--month", "8", "--year", "2024", "--today", "2024-09-30", "--db", db, "-o", root / "ledger.xlsx", *c)
    run("report", "--month", "8", "--year", "2024", "--today", "2024-09-30", "--db", db, "--out", root / "report", *c)
    files = sorted(root.glob("*.csv")) + sorted(root.glob("*.xlsx")) + [root / "report" / "report.xlsx"]
    return [f for f in files if f.name != "export.csv"]


def _cells(path: Path) -> list[tuple[str, object, str]]:
    """(where, value, data_type) of every cell of a workbook or CSV written by gaopin."""
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return [(f"{path.name}!{ws.title}!{c.coordinate}", c.value, c.data_type) for ws in wb for row in ws.iter_rows() for c in row]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [(f"{path.name}:{r}", v, "s") for r, row in enumerate(csv.reader(fh), start=1) for v in row]


def test_every_writer_was_run(outputs):
    assert [p.name for p in outputs] == ["clean.csv", "warn.csv", "clean.xlsx", "ledger.xlsx", "warn.xlsx", "report.xlsx"]


@pytest.mark.parametrize("name", ["clean.xlsx", "warn.xlsx", "ledger.xlsx", "report.xlsx"])
def test_no_workbook_cell_is_a_formula(outputs, name):
    cells = _cells(next(p for p in outputs if p.name == name))
    formulas = [(where, value) for where, value, kind in cells if kind == "f"]
    assert formulas == []
    # Not vacuous: the dangerous texts are there, as text.
    texts = [v for _, v, kind in cells if kind == "s" and isinstance(v, str)]
    assert any(v.startswith(("=", "＝")) for v in texts), texts[:20]


@pytest.mark.parametrize("name", ["clean.csv", "warn.csv"])
def test_no_csv_cell_starts_a_formula(outputs, name):
    cells = _cells(next(p for p in outputs if p.name == name))
    bad = [(where, value) for where, value, _ in cells if value.startswith(FORMULA_STARTS)]
    assert bad == []
    escaped = {value[1] for _, value, _ in cells if value.startswith("'") and len(value) > 1}
    assert {"=", "+", "-", "@", "＝", "＋", "－", "＠"} <= escaped, escaped


def test_staff_text_and_leaders_names_stay_text(outputs):
    values = {v for p in outputs if p.suffix == ".xlsx" for _, v, _ in _cells(p)}
    assert {"=1+2", "-2+3", "@SUM(A1)", "@李志强"} <= values
    assert any(isinstance(v, str) and v.startswith("中心负责人：=HYPERLINK(") for v in values)


def test_the_dangerous_starts_cover_the_full_width_forms():
    assert set(DANGEROUS) <= set(FORMULA_STARTS)
