"""`gaopin report` as the terminal shows it."""

from __future__ import annotations

from typer.testing import CliRunner

from gaopin.cli import app
from tests.builders import halves_rows, write_csv

COLUMNS = {
    "ticket_id": "工单编号", "received_at": "来电时间", "community": "村/社区", "category": "问题分类", "unit": "主办单位",
    "dispatch": "派单方式", "valid_callback": "是否有效回访", "contacted": "是否联系", "resolved": "是否解决",
    "satisfied": "是否满意", "street": "被反映街乡镇",
}


def test_the_terminal_rounds_rates_and_scores_as_the_workbook_shows_them(tmp_path):
    rows = [{**r, "ticket_id": f"R{i:03d}"} for i, r in enumerate(halves_rows())]
    export = write_csv(tmp_path / "tickets.csv", [list(COLUMNS.values())] + [[r[k] for k in COLUMNS] for r in rows])
    done = CliRunner().invoke(app, ["report", "--month", "8", "--year", "2024", str(export), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    table = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]] for line in done.stdout.splitlines() if line.count("│") == 4}
    # 满意率 0.9725: report.xlsx shows 97.3% (Python's f-string gave 97.2%).
    assert table["满意率"] == ["97.3%", "97.5%"]
    assert table["响应率"] == ["98.8%", "100.0%"]
    assert table["综合成绩"] == ["97.53", "97.75"]
    assert "满意率 97.3%" in done.stdout.replace("\n", "")
