"""The architecture, checked: each module imports only from layers below it."""

import ast
import subprocess
import sys
from pathlib import Path

import gaopin

ROOT = Path(gaopin.__file__).parent
LAYERS = [
    {"errors"},
    {"config", "periods", "numbers", "cache", "processes"},
    {"schema", "privacy"},
    {"io"},
    {"rules", "sample"},
    {"store"},
    {"ledger", "metrics"},
    {"charts"},
    {"reports"},
    {"deliver"},
    {"cli"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
ONLY = {"typer": {"cli"}, "rich": {"cli"}, "matplotlib": {"charts"}, "smtplib": {"deliver"}, "urllib": {"deliver"}, "http": {"deliver"}, "click": set()}


def top(module_path: Path) -> str:
    rel = module_path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        name = top(path)
        if name in ("__init__", "__main__"):
            continue
        yield path, name


def test_every_module_has_a_layer():
    assert {name for _, name in modules()} <= set(LAYER_OF)


def test_modules_import_only_from_lower_layers():
    bad = []
    for path, name in modules():
        for imported in imports(path):
            parts = imported.split(".")
            if parts[0] == "gaopin" and len(parts) > 1 and parts[1] not in ("__init__",):
                target = parts[1]
                if target == name:
                    continue
                if LAYER_OF[target] >= LAYER_OF[name]:
                    bad.append(f"{path.relative_to(ROOT)} imports gaopin.{target}")
            lib = parts[0]
            if lib in ONLY and name not in ONLY[lib]:
                bad.append(f"{path.relative_to(ROOT)} imports {lib}")
    assert bad == []


def test_the_package_root_does_not_pull_in_the_cli():
    assert "cli" not in (ROOT / "__init__.py").read_text(encoding="utf-8")


def test_help_does_not_import_heavy_libraries():
    code = "import sys; from gaopin.cli import app; print(sorted(m for m in ('pandas', 'matplotlib', 'pyarrow', 'openpyxl', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
