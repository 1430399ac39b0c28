"""Right-to-left lines (Quill 2's ``direction: "rtl"``), found missing by the browser test:
a collaborator's RTL line is laid out right to left, and Format > Align & indent >
Right-to-left text writes what Quill writes.

Real parts: real pycrdt documents, the real editor widget (shown offscreen, its real page
layout), Quill's attributes as a web Quill stores them.
"""

from __future__ import annotations

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, remote_edit
from tests.gui.test_one_line_format import line_attrs

HEBREW = "שלום עולם"


def shown(qtbot: QtBot, doc: pycrdt.Doc) -> EditorWidget:
    editor = make_editor(qtbot, doc)
    editor.resize(700, 400)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def direction(block: QTextBlock) -> Qt.LayoutDirection:
    return block.layout().textOption().textDirection()


def starts_at_the_right(qtbot: QtBot, editor: EditorWidget) -> bool:
    """Whether the first line's text ends at the right edge (once laid out again)."""
    layout = editor.document().firstBlock().layout()
    qtbot.waitUntil(lambda: layout.lineCount() > 0)
    line = layout.lineAt(0)
    return bool(line.naturalTextRect().right() > line.x() + line.width() - 2)


def test_a_collaborators_right_to_left_line_is_laid_out_so(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = shown(qtbot, doc)
    remote_edit(doc, lambda t: t.insert(0, f"{HEBREW}\nleft\n"))
    remote_edit(
        doc,
        lambda t: t.format(len(HEBREW.encode()), len(HEBREW.encode()) + 1, {"direction": "rtl"}),
    )
    qtbot.waitUntil(
        lambda: direction(editor.document().firstBlock()) == Qt.LayoutDirection.RightToLeft
    )
    second = editor.document().firstBlock().next()
    assert direction(second) != Qt.LayoutDirection.RightToLeft
    assert starts_at_the_right(qtbot, editor)  # no alignment: its start, as in a browser
    assert_mirrors(editor)


def test_the_command_writes_quills_direction_and_takes_it_off(qtbot: QtBot) -> None:
    editor = shown(qtbot, pycrdt.Doc())
    remote_edit(editor.model.doc, lambda t: t.insert(0, f"{HEBREW}\nend"))
    place_cursor(editor, 1)
    editor.toggle_direction()
    assert line_attrs(editor) == [{"direction": "rtl"}]
    editor.set_align("right")  # CSS's right: the right edge, not mirrored
    assert starts_at_the_right(qtbot, editor)
    editor.toggle_direction()
    assert line_attrs(editor) == [{"align": "right"}]
    assert_mirrors(editor)
