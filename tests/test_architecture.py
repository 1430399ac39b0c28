"""Layering rules, checked on the source (what import-linter contracts would enforce).

* ``shared`` is pure: no asyncio, websockets, Qt, or the other two packages.
* ``sync_server`` never imports the editor or Qt.
* ``editor_app``'s Qt-free core (sync client, text mapping, stores, presence) never imports
  Qt or qasync, so it runs and is tested without a display; ``editor_app`` never imports the
  server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

QT = ("PySide6", "qasync", "shiboken6")
QT_FREE_EDITOR_MODULES = [
    "backoff", "local_store", "offsets", "paths", "presence", "relative_position",
    "schema", "sync_client", "text_ops",
]  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for name in imported_modules(path):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_shared_is_pure() -> None:
    files = sorted((ROOT / "shared").rglob("*.py"))
    assert files
    forbidden = ("asyncio", "websockets", "editor_app", "sync_server", "trio", "anyio", *QT)
    assert violations(files, forbidden) == []


def test_server_never_imports_the_editor_or_qt() -> None:
    files = sorted((ROOT / "sync_server").rglob("*.py"))
    assert violations(files, ("editor_app", *QT)) == []


@pytest.mark.parametrize("module", QT_FREE_EDITOR_MODULES)
def test_editor_core_is_qt_free(module: str) -> None:
    path = ROOT / "editor_app" / f"{module}.py"
    assert path.exists(), f"{path} moved: update this contract"
    assert violations([path], QT) == []


def test_editor_never_imports_the_server() -> None:
    files = sorted((ROOT / "editor_app").rglob("*.py"))
    assert violations(files, ("sync_server",)) == []
