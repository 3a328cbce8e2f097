"""docs/data-format.md stays in step with the schema and the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gaopin.errors import ExitCode
from gaopin.schema import CANONICAL_COLUMNS, CATEGORY_LEVEL_ALIASES, FIELDS

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-format.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _field_row(doc: str, name: str) -> str:
    """The row of `name` in the fields table (section 1)."""
    section = doc.split("\n## 1.", 1)[1].split("\n## 2.", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, name
    return rows[0]


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_every_alias_is_documented_in_priority_order(doc, field):
    row = _field_row(doc, field.name)
    assert field.label in row
    positions = [row.find(f"`{alias}`") for alias in field.aliases]
    assert all(p >= 0 for p in positions), (field.name, field.aliases)
    assert positions == sorted(positions), f"{field.name}: aliases out of priority order"


def test_every_alias_appears_in_backticks(doc):
    for field in FIELDS:
        for alias in field.aliases:
            assert f"`{alias}`" in doc, alias
    for level in CATEGORY_LEVEL_ALIASES:
        for alias in level:
            assert f"`{alias}`" in doc, alias


def test_every_canonical_column_has_a_row(doc):
    for name in CANONICAL_COLUMNS:
        _field_row(doc, name)


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda c: c.name)
def test_every_exit_code_is_documented(doc, code):
    assert re.search(rf"^\| `{int(code)}` \| `{code.name}` \| \S", doc, re.MULTILINE), code
