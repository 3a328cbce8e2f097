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
