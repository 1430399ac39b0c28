"""The page shows paragraph formats: alignment, indents, spacing, quotes, code blocks and
clickable checklists (issue 13, parts B and C), with Qt's fast plain-text layout."""

from __future__ import annotations

from typing import Any

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.remote_cursors import checkbox_rect
from tests.gui.test_binding import make_editor, remote_edit, type_text

LINES = ["plain", "centered", "right", "indented", "quoted", "todo", "Heading", "after"]


def shown(qtbot: QtBot) -> EditorWidget:
    doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "\n".join(LINES) + "\n", {})
    editor = make_editor(qtbot, doc)
    editor.resize(600, 500)
    editor.show()
    qtbot.waitExposed(editor)
    ends = [sum(len(x) + 1 for x in LINES[: i + 1]) - 1 for i in range(len(LINES))]
    for i, attrs in (
        (1, {"align": "center"}),
        (2, {"align": "right"}),
        (3, {"indent": 2}),
        (4, {"blockquote": True}),
        (5, {"list": "unchecked"}),
        (6, {"header": 2}),
    ):
        remote_edit(doc, lambda t, i=i, attrs=attrs: t.format(ends[i], ends[i] + 1, attrs))
    editor.viewport().grab()  # lays the visible blocks out, as a paint does
    return editor


def caret_x(editor: EditorWidget, line: int) -> int:
    cursor = QTextCursor(editor.document().findBlockByNumber(line))
    return editor.cursorRect(cursor).left()


def test_alignment_and_indents_move_the_text(qtbot: QtBot) -> None:
    editor = shown(qtbot)
    left = caret_x(editor, 0)
    assert caret_x(editor, 1) > left + 150  # centered
    assert caret_x(editor, 2) > caret_x(editor, 1) + 100  # right
    assert caret_x(editor, 3) > left + 30  # two indent levels
    assert left < caret_x(editor, 4) < caret_x(editor, 3)  # a quote is padded a little
    # A click lands where the text is drawn (hit testing follows the layout).
    cursor = QTextCursor(editor.document().findBlockByNumber(1))
    cursor.movePosition(QTextCursor.MoveOperation.Right, n=3)
    point = editor.cursorRect(cursor).center()
    assert editor.cursorForPosition(point).position() == cursor.position()


def test_paragraphs_and_headings_have_space_above(qtbot: QtBot) -> None:
    editor = shown(qtbot)
    doc = editor.document()

    def top(n: int) -> float:
        return editor.blockBoundingGeometry(doc.findBlockByNumber(n)).top()

    def text_top(n: int) -> float:
        block = doc.findBlockByNumber(n)
        return top(n) + block.layout().lineAt(0).y()

    line = editor.fontMetrics().height()
    gap = text_top(1) - text_top(0)
    assert gap > line * 1.2  # 1.15 line spacing plus paragraph spacing
    assert (
        text_top(6) - (top(5) + editor.blockBoundingGeometry(doc.findBlockByNumber(5)).height())
        > line * 0.8
    )


def test_clicking_a_checkbox_ticks_it(qtbot: QtBot) -> None:
    editor = shown(qtbot)
    block = editor.document().findBlockByNumber(5)
    box = checkbox_rect(editor, block)
    assert box is not None
    caret = editor.textCursor().position()

    def click_the_box() -> dict[str, Any]:
        """Click the checkbox; the todo line's attributes in the CRDT after it."""
        QTest.mouseClick(
            editor.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            box.center().toPoint(),
        )
        lines = [a for t, a in crdt_delta(editor.model.text.diff()) if t == "\n"]
        return lines[5]

    assert click_the_box() == {"list": "checked"}
    assert editor.textCursor().position() == caret  # the caret did not move
    assert click_the_box() == {"list": "unchecked"}


def test_typing_at_the_bottom_keeps_the_caret_in_view(qtbot: QtBot) -> None:
    """Qt scrolls by its own line heights; the page's lines are taller (spacing), so the
    editor finishes the scroll: the caret is wholly inside the view after each line."""
    editor = make_editor(qtbot)
    editor.resize(500, 300)
    editor.show()
    qtbot.waitExposed(editor)
    for i in range(30):
        type_text(editor, f"line {i}\n")

        def caret_inside() -> bool:
            editor.viewport().grab()  # a paint, as the event loop would do
            rect = editor.cursorRect()
            return rect.top() >= 0 and rect.bottom() <= editor.viewport().height()

        qtbot.waitUntil(caret_inside, timeout=2000)
