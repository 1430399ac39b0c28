"""Line commands over the whole document (Ctrl+A, then a heading, list or alignment key).

Ctrl+A selects to the end, into the empty block Qt keeps after the document's final
"\\n", which is no line of a Quill document. Counted as a plain line, it made "take the
bullets off" on a bulleted document bullet everything again; and asserting the lines'
formats into the CRDT line by line cost two pycrdt calls per line (~26 s for 13,000
lines), now one call per stretch of lines that end in the same state.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from pytestqt.qtbot import QtBot

from editor_app.qt import formats
from editor_app.qt.formats import crdt_delta
from tests.gui.test_binding import assert_mirrors, content, make_editor

LINES = 2000


def bulleted(kind: str | None, lines: int = LINES) -> pycrdt.Doc[Any]:
    """``lines`` lines, each a list item of ``kind`` (None: plain paragraphs)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    for i in reversed(range(lines)):  # last to first: yrs walks from the start
        text.insert(0, "\n", {"list": kind} if kind else {})
        text.insert(0, f"item {i} with some words")
    return doc


@pytest.mark.parametrize("kind", ["bullet", "ordered", "unchecked"])
def test_select_all_then_the_list_key_takes_the_list_off(qtbot: QtBot, kind: str) -> None:
    editor = make_editor(qtbot, bulleted(kind))
    editor.selectAll()
    before = editor.model.index.conversions
    editor.toggle_list(kind)
    cost = editor.model.index.conversions - before
    delta = crdt_delta(editor.model.text.diff())
    assert [attrs for piece, attrs in delta if piece == "\n"] == [{}] * LINES
    assert all(formats.text_list(b) is None for b in _blocks(editor))
    assert_mirrors(editor)
    # One format call per stretch of equal lines, not two per line (8,000 conversions).
    assert cost < 100, cost
    before = editor.model.index.conversions
    editor.toggle_list(kind)  # and on again, every line, no extra line at the end
    # One format call per line (its "\n"), not two (the text runs' inline attributes did
    # not change: each call walks the text in yrs, 20.8 -> 8.0 s over 13,000 lines).
    cost = editor.model.index.conversions - before
    assert cost <= 4 * (LINES + 10), cost  # a call converts its two ends both ways
    delta = crdt_delta(editor.model.text.diff())
    assert [attrs for piece, attrs in delta if piece == "\n"] == [{"list": kind}] * LINES
    assert_mirrors(editor)


def test_select_all_then_a_heading_adds_no_line(qtbot: QtBot) -> None:
    editor = make_editor(qtbot, bulleted(None, 3))
    editor.selectAll()
    editor.set_heading(2)
    delta = crdt_delta(editor.model.text.diff())
    assert [attrs for piece, attrs in delta if piece == "\n"] == [{"header": 2}] * 3
    assert editor.document().blockCount() == 4  # three lines and Qt's block after the last
    assert_mirrors(editor)


def _blocks(editor: Any) -> list[Any]:
    out, block = [], editor.document().firstBlock()
    while block.isValid() and block != editor.document().lastBlock():
        out.append(block)
        block = block.next()
    return out
