"""Every format survives every export/import pair (issue 13, bug 5).

A document holding each inline attribute alone and in every pair (italic + underline was
written ``*_x*_`` by Qt's Markdown writer), each heading level and each list kind is
built in the CRDT, shown in a real EditorWidget, exported, imported into a fresh editor
(through its binding, as File > Import does) and compared as Quill deltas.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from pytestqt.qtbot import QtBot

from editor_app.core.markdown import to_markdown
from editor_app.qt import export
from editor_app.qt.formats import crdt_delta
from tests.gui.test_binding import make_editor

INLINE: list[dict[str, Any]] = [
    {"bold": True},
    {"italic": True},
    {"underline": True},
    {"strike": True},
    {"link": "https://example.org/a?b=1"},
]
BLOCKS: list[dict[str, Any]] = [
    {"header": 1},
    {"header": 2},
    {"header": 3},
    {"list": "bullet"},
    {"list": "bullet"},
    {"list": "ordered"},
    {"list": "ordered"},
    {},
]


def rich_document() -> pycrdt.Doc:
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    combos = [a for a in INLINE] + [{**a, **b} for a, b in itertools.combinations(INLINE, 2)]
    combos.append({k: v for a in INLINE for k, v in a.items()})
    for i, attrs in enumerate(combos):
        text.insert(len(text), f"w{i} 한글😀e\u0301 ", {})  # plain, spaces outside
        text.insert(len(text), f"fmt{i}", attrs)
        text.insert(len(text), " end\n", {})
    for i, attrs in enumerate(BLOCKS):
        text.insert(len(text), f"line {i} 안녕", {})
        text.insert(len(text), "\n", attrs)
    return doc


def normalized(delta: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Drop trailing plain line breaks (an import may end with an empty last line)."""
    out = list(delta)
    while out and out[-1] == ("\n", {}):
        out.pop()
    return out


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_every_format_round_trips(qtbot: QtBot, tmp_path: Path, fmt: str) -> None:
    source = make_editor(qtbot, rich_document())
    path = export.export_document(source.document(), tmp_path / "doc", fmt, "Doc")
    target = make_editor(qtbot)
    export.import_into_editor(path, target)
    expected = normalized(crdt_delta(source.model.text.diff()))
    got = normalized(crdt_delta(target.model.text.diff()))
    if fmt == "txt":  # plain text keeps the text, nothing else
        expected = [(t, {}) for t, _ in expected]
        got = [(t, {}) for t, _ in got]
        assert "".join(t for t, _ in got) == "".join(t for t, _ in expected)
        return
    assert got == expected


def test_markdown_nests_italic_and_underline() -> None:
    md = to_markdown([("x", {"italic": True, "underline": True}), ("\n", {})])
    assert md == "<u><em>x</em></u>\n"
    assert "*_" not in md
