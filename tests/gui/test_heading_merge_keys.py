"""Joining a heading and a plain line with the keyboard (Backspace at a line's start,
Delete at a line's end), locally: the CRDT, Qt's look and one Ctrl+Z must agree.

A remote merge and the undo of a pasted heading once left the merged line heading-sized
in Qt while plain in the CRDT (test_rich_paste.py); these are the same merges made by
this user's own keys, which Qt performs itself and the binding then mirrors.

Which line's format the merged line keeps: Qt keeps the FIRST line's block format (the
SECOND's when the first line is empty), and the binding writes what Qt shows into the
CRDT. Stock Quill 2 (``modules/keyboard.ts``): Backspace at the start of a line deletes
the previous line's ``"\\n"`` and then formats the merged line with the previous line's
formats unless that line is an empty plain paragraph, so Backspace gives the same result
as Coscribe; Delete at the end of a line deletes that line's ``"\\n"`` and its follow-up
format is a no-op (it diffs the line's formats against themselves), so in Quill the
merged line keeps the SECOND line's attributes: the opposite of Coscribe for a heading
and a plain line (see :data:`CASES`).

Real pycrdt documents and real EditorWidgets (offscreen); keys are real Qt key events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCharFormat, QTextFormat
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.qt import formats
from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, content, make_editor, qt_text, type_text

#: A line: its text and its heading level (None: a plain paragraph).
Line = tuple[str, int | None]


@dataclass(frozen=True)
class Merge:
    lines: tuple[Line, Line]
    key: Qt.Key
    #: The merged line's heading level in Coscribe (Qt's rule, written to the CRDT).
    header: int | None
    #: What stock Quill 2's keyboard module makes of the same key (documentation: where
    #: it differs from ``header``, Coscribe follows Qt, as the binding's docstring says).
    quill_header: int | None


CASES = {
    # The brief's three cases.
    "backspace joins a heading to the plain line above": Merge(
        (("body", None), ("Title", 1)), Qt.Key.Key_Backspace, None, None
    ),
    "backspace joins a plain line to the heading above": Merge(
        (("Title", 1), ("body", None)), Qt.Key.Key_Backspace, 1, 1
    ),
    "delete at the end of a heading joins the plain line below": Merge(
        (("Title", 1), ("body", None)), Qt.Key.Key_Delete, 1, None
    ),
    # The same with the lines swapped, and with an empty first line (Qt then keeps the
    # second line's block format, but kept the first line's block char format).
    "delete at the end of a plain line joins the heading below": Merge(
        (("body", None), ("Title", 1)), Qt.Key.Key_Delete, None, 1
    ),
    "backspace joins a heading to the empty line above": Merge(
        (("", None), ("Title", 1)), Qt.Key.Key_Backspace, 1, 1
    ),
    "backspace joins a plain line to the empty heading above": Merge(
        (("", 1), ("body", None)), Qt.Key.Key_Backspace, None, 1
    ),
}


def lines_delta(lines: list[Line]) -> list[tuple[str, dict[str, Any]]]:
    """The CRDT delta (:func:`crdt_delta` shape) of ``lines``, each ended by a ``"\\n"``."""
    runs: list[tuple[str, dict[str, Any]]] = []
    for text, level in lines:
        if text:
            runs.append((text, {}))
        runs.append(("\n", {"header": level} if level else {}))
    return runs


def editor_with(qtbot: QtBot, lines: list[Line]) -> EditorWidget:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    text.insert(0, "".join(line + "\n" for line, _ in lines), {})
    at = 0
    for line, level in lines:
        at += len(line.encode())
        if level:
            text.format(at, at + 1, {"header": level})
        at += 1
    editor = make_editor(qtbot, doc)
    editor.show()
    assert crdt_delta(text.diff()) == lines_delta(lines)
    return editor


def press_merge_key(editor: EditorWidget, merge: Merge) -> None:
    """Backspace at the start of the second line, or Delete at the end of the first."""
    first = merge.lines[0][0]
    place_cursor(editor, len(first) + 1 if merge.key == Qt.Key.Key_Backspace else len(first))
    QTest.keyClick(editor, merge.key)


def look(fmt: QTextCharFormat) -> tuple[float | None, int]:
    """What the eye sees of a char format's heading styling: point size (None: the
    document's body size) and weight."""
    size = fmt.fontPointSize() if fmt.hasProperty(QTextFormat.Property.FontPointSize) else None
    return size, fmt.fontWeight()


def line_look(editor: EditorWidget, level: int | None) -> tuple[float | None, int]:
    """The look of unformatted text on a line of heading ``level`` (None: plain)."""
    base = formats.base_point_size(editor.document())
    size = base * formats.HEADING_SCALE[level] if level else None
    return size, formats.base_weight(level)


def block_looks(block: QTextBlock) -> list[tuple[str, tuple[float | None, int]]]:
    """Each fragment of ``block`` with its look, then the block char format's (what an
    empty line shows and what is typed there) as ``("<block>", look)``."""
    out = []
    it = block.begin()
    while not it.atEnd():
        frag = it.fragment()
        out.append((frag.text(), look(frag.charFormat())))
        it += 1
    out.append(("<block>", look(block.charFormat())))
    return out


def assert_lines_look_like_their_level(editor: EditorWidget) -> None:
    """Every line but the editor's last (empty, plain) one: its text and its block char
    format look like its own heading level, which the CRDT holds on its ``"\\n"``."""
    block = editor.document().firstBlock()
    for piece, attrs in crdt_delta(editor.model.text.diff()):
        if piece != "\n":
            continue
        expected = line_look(editor, attrs.get("header"))
        assert formats.heading_level(block) == attrs.get("header")
        assert block_looks(block) == [(text, expected) for text, _ in block_looks(block)]
        block = block.next()


@pytest.mark.parametrize("merge", CASES.values(), ids=CASES.keys())
def test_a_merge_key_writes_the_merged_line_and_one_undo_restores_both(
    qtbot: QtBot, merge: Merge
) -> None:
    before = list(merge.lines)
    editor = editor_with(qtbot, before)
    assert_lines_look_like_their_level(editor)
    press_merge_key(editor, merge)
    merged = before[0][0] + before[1][0]
    assert crdt_delta(editor.model.text.diff()) == lines_delta([(merged, merge.header)])
    assert qt_text(editor) == merged + "\n"
    assert formats.heading_level(editor.document().firstBlock()) == merge.header
    assert_mirrors(editor)

    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert crdt_delta(editor.model.text.diff()) == lines_delta(before)
    assert_mirrors(editor)
    assert_lines_look_like_their_level(editor)


@pytest.mark.parametrize("merge", CASES.values(), ids=CASES.keys())
def test_a_merged_line_looks_like_its_heading_level_in_qt(qtbot: QtBot, merge: Merge) -> None:
    editor = editor_with(qtbot, list(merge.lines))
    press_merge_key(editor, merge)
    assert crdt_delta(editor.model.text.diff())[-1] == (
        "\n",
        {"header": merge.header} if merge.header else {},
    )
    assert_lines_look_like_their_level(editor)
    # What is typed at the end of the merged line (after the second line's text) looks
    # like the line, not like the line that text came from.
    QTest.keyClick(editor, Qt.Key.Key_End)
    type_text(editor, "x")
    assert look(editor.textCursor().charFormat()) == line_look(editor, merge.header)
    assert_mirrors(editor)


def test_typing_over_a_selection_across_lines_keeps_each_line_s_look(qtbot: QtBot) -> None:
    """Replacing a selection that joins a heading and a plain line with text of as many
    lines keeps the line count, yet joins lines: the text on each line looks like that
    line's level (Qt makes both lines headings, as a split of the joined heading line; the
    plain line's "dy" kept its body size before)."""
    editor = editor_with(qtbot, [("Title", 1), ("body", None)])
    place_cursor(editor, 2, 8)  # "tle\nbo"
    editor.insertPlainText("X\nY")
    assert qt_text(editor) == "TiX\nYdy\n"
    assert crdt_delta(editor.model.text.diff()) == lines_delta([("TiX", 1), ("Ydy", 1)])
    assert_lines_look_like_their_level(editor)
    assert_mirrors(editor)
