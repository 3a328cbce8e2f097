"""A real office suite opens gaopin's workbooks: LibreOffice, where the machine has it (the staff
open them in Excel or WPS, which no test machine has); skipped elsewhere."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from gaopin.io.write import Sheet, write_xlsx

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="no LibreOffice on this machine")

# Every sheet to its own CSV (the last field, -1), in UTF-8 (76), each cell as shown (the ninth).
CSV_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1'


def _as_libreoffice_shows(path: Path, tmp_path: Path) -> dict[str, list[list[str]]]:
    out = tmp_path / "csv"
    profile = tmp_path / "profile"
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", CSV_FILTER, "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sheets = {}
    for found in sorted(out.glob(f"{path.stem}*.csv")):
        with found.open(encoding="utf-8", newline="") as fh:
            sheets[found.stem.removeprefix(f"{path.stem}-")] = list(csv.reader(fh))
    return sheets


def test_libreoffice_opens_a_workbook_and_shows_text_as_text_and_numbers_as_formatted(tmp_path):
    frame = pd.DataFrame(
        {
            "id": pd.Series(["000123", "=1+2", "<r><t>x</t></r>"], dtype="str"),
            "title": pd.Series(["漏水 & 噪音", "  前后有空格  ", "@SUM(A1)"], dtype="str"),
            "rate": [0.5, None, 0.125],
            "count": [1, 2, 3],
            "flag": [True, False, None],
        }
    )
    path = write_xlsx(
        tmp_path / "工作簿.xlsx",
        [
            Sheet("台账", frame, headers=["编号", "标题", "比率", "件数", "标记"], title="新村街道 8月", row_colors=["#FFC7CE", None, "#C6EFCE"], number_formats={"rate": "0.0%"}),
            Sheet("空表", frame.iloc[:0]),
        ],
    )
    shown = _as_libreoffice_shows(path, tmp_path)
    assert shown["台账"] == [
        ["新村街道 8月", "", "", "", ""],
        ["编号", "标题", "比率", "件数", "标记"],
        ["000123", "漏水 & 噪音", "50.0%", "1", "是"],
        ["=1+2", "  前后有空格  ", "", "2", "否"],
        ["<r><t>x</t></r>", "@SUM(A1)", "12.5%", "3", ""],
    ]
    assert shown["空表"] == [["id", "title", "rate", "count", "flag"]]
