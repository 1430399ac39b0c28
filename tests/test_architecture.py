"""Layering rules: the import-linter contracts in pyproject.toml, plus two AST checks.

* ``shared`` is pure: no asyncio, websockets, Qt, or the other two packages.
* ``sync_server`` never imports the editor or Qt; ``editor_app`` never imports the server.
* ``editor_app.core`` is Qt-free (so it runs and is tested without a display) and never
  imports ``editor_app.qt`` or ``editor_app.ui``; ``editor_app.qt`` never imports
  ``editor_app.ui``.

import-linter checks all of these transitively (an import through any chain of modules
counts, ``TYPE_CHECKING`` and function-level imports included). What it cannot say is
"``PySide6`` but not ``PySide6.QtWidgets``" (it sees third-party packages only as a
whole), so the widget-free Qt layer is checked here on the source; since that layer may
import only ``core`` and ``shared`` (both Qt-free by contract), a direct check is enough.
The shared-purity AST check stays as a second, dependency-free guard.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QT = ("PySide6", "qasync", "shiboken6")
CONTRACTS = (
    "shared-pure",
    "server-no-editor",
    "editor-no-server",
    "editor-core-qt-free",
    "editor-qt-no-widgets",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for name in sorted(imported_modules(path)):
            if any(name == f or name.startswith(f"{f}.") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_import_linter_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), "import-linter is missing: pip install -e '.[dev]'"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in report, report


def test_every_contract_is_configured() -> None:
    """A contract deleted from pyproject.toml would otherwise pass silently."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ids = [c["id"] for c in config["tool"]["importlinter"]["contracts"]]
    assert sorted(ids) == sorted(CONTRACTS)


def test_shared_is_pure() -> None:
    files = sorted((ROOT / "shared").rglob("*.py"))
    assert files
    forbidden = ("asyncio", "websockets", "editor_app", "sync_server", "trio", "anyio", *QT)
    assert violations(files, forbidden) == []


def test_editor_qt_layer_has_no_widgets() -> None:
    files = sorted((ROOT / "editor_app" / "qt").rglob("*.py"))
    assert files
    assert violations(files, ("PySide6.QtWidgets", "editor_app.ui")) == []


def test_editor_layers_hold_every_module() -> None:
    """Every editor module lives in one layer (or is the entry point or a data package), so
    no new module escapes the contracts by sitting next to them."""
    top = sorted(p.name for p in (ROOT / "editor_app").iterdir() if p.suffix == ".py")
    packages = sorted(
        p.name
        for p in (ROOT / "editor_app").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    )
    assert top == ["__init__.py", "__main__.py"]
    assert packages == ["core", "qt", "resources", "ui"]
