"""Issue 13: the first keystroke at the end of a long document that was just opened or
pasted does not lay out every block above the view (it took ~2 s on 1 MB). The view is
placed at an estimate; the background pagination then puts every block where it goes,
and the pages are right (no line split, "Page n of n" at the end)."""

from __future__ import annotations

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import make_editor, type_text
from tests.gui.test_pages import assert_no_line_split

LINES = 2500
#: Far more than a view's blocks (and the 64 blocks a paint may walk), far fewer than LINES.
FEW = 300


def long_text() -> str:
    return "".join(f"line {i} of a long document, with a few words\n" for i in range(LINES))


def shown(qtbot: QtBot, text: str = "") -> EditorWidget:
    doc = pycrdt.Doc()
    if text:
        doc.get("content", type=pycrdt.Text).insert(0, text, {})
    editor = make_editor(qtbot, doc)
    editor.resize(820, 600)
    editor.show()
    qtbot.waitExposed(editor)
    editor.viewport().grab()  # a paint at the top: the view knows its pages
    editor.setFocus()
    return editor


def type_at_the_end_and_check(qtbot: QtBot, editor: EditorWidget) -> None:
    layout = editor.page_layout
    before = layout.placements
    QTest.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    type_text(editor, "typed")
    editor.viewport().grab()  # the paint that shows the end
    assert layout.placements - before < FEW, "the blocks above the view were laid out"
    assert str(editor.model.text).endswith("with a few wordstyped\n")
    assert not layout.is_paginated  # the rest is left to the background pagination
    # ... which places every block where it goes, the view's too.
    qtbot.waitUntil(lambda: layout.is_paginated, timeout=20_000)
    editor.viewport().grab()
    count = editor.page_count()
    assert count > 10
    assert editor.page_status() == (count, count)
    assert_no_line_split(editor)


def test_first_keystroke_after_opening_lays_out_only_the_view(qtbot: QtBot) -> None:
    editor = shown(qtbot, long_text())
    type_at_the_end_and_check(qtbot, editor)


def test_first_keystroke_after_a_paste_lays_out_only_the_view(qtbot: QtBot) -> None:
    editor = shown(qtbot, "\n")
    cursor = editor.textCursor()
    cursor.setPosition(0)
    cursor.insertText(long_text().removesuffix("\n"))  # as Paste without formatting does
    editor.viewport().grab()  # the paste painted with the view still at the top
    type_at_the_end_and_check(qtbot, editor)
