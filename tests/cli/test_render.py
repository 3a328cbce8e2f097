from rich.console import Console

from gaopin.cli.render import table


def test_a_table_narrower_than_its_title_does_not_wrap_it():
    """不纳入考核的工单（0⏎件） and the like: a narrow table wrapped its title mid-word (review D)."""
    title = "新村街道 2024-08 不纳入考核的工单（1 件）"
    out = Console(width=100, record=True, color_system=None)
    out.print(table(title, ["编号"], [["A1"]]))
    lines = out.export_text().splitlines()
    assert lines[0].rstrip() == title
    assert any("A1" in line for line in lines[1:])
