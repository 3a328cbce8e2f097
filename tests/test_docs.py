"""docs/ is checked against the program: --help pages, settings, and every setting documented."""

import importlib.util
from pathlib import Path

from gaopin.config import iter_settings

ROOT = Path(__file__).resolve().parent.parent


def load_tool():
    spec = importlib.util.spec_from_file_location("gaopin_docs_tool", ROOT / "tools" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_current():
    assert load_tool().main(["--check"]) == 0, "run: python tools/docs.py --write"


def test_every_setting_is_documented():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key, _, _ in iter_settings():
        assert f"`{key}`" in text


def test_every_command_has_a_section():
    tool = load_tool()
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path in tool.command_paths():
        assert f"## `gaopin {' '.join(path)}`" in text


def test_every_toml_example_in_the_docs_is_a_valid_gaopin_toml(tmp_path):
    """Users copy these blocks into gaopin.toml: each must load as written (rules.md once showed
    `[filters] exclude = { 工单类型 = … }`, invalid TOML twice over)."""
    import re

    from gaopin.config import load_settings

    blocks = [
        (doc.name, block)
        for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for block in re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    ]
    assert len(blocks) >= 3
    for name, block in blocks:
        path = tmp_path / "gaopin.toml"
        path.write_text(block, encoding="utf-8")
        load_settings(path, environ={})  # raises ConfigError, naming the problem, if not


def test_category_level_is_documented_where_it_applies():
    """It groups the report's categories too (one definition of the problem key), which the
    setting's text, report.md and rules.md did not say (review D6)."""
    doc = next(f.metadata["doc"] for key, f, _ in iter_settings() if key == "rules.category_level")
    assert "月度报告的问题分类" in doc
    assert "`[rules] category_level`" in (ROOT / "docs" / "report.md").read_text(encoding="utf-8").split("## 3.")[1].split("## 4.")[0]
    same_problem = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").split("## 2.")[1].split("## 3.")[0]
    assert "月度报告的问题分类" in same_problem
