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
