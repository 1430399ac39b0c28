"""A format command is an undo step of its own, as in Google Docs: the undo manager joins
edits less than 0.5 s apart, and a keyboard user who types, selects with Shift+Ctrl+Left
and presses Ctrl+B within that time got both undone by one Ctrl+Z."""

from __future__ import annotations

from typing import Any

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.gui.test_binding import content, make_editor

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def bold_in(doc: pycrdt.Doc[Any]) -> bool:
    return any((attrs or {}).get("bold") for _, attrs in content(doc).diff())


def test_bold_right_after_typing_is_undone_on_its_own(qtbot: QtBot) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    editor.show()
    QTest.keyClicks(editor, "hello world")
    QTest.keyClick(editor, Qt.Key.Key_Left, CTRL | SHIFT)  # select "world"
    QTest.keyClick(editor, Qt.Key.Key_B, CTRL)
    assert str(content(doc)) == "hello world"
    assert bold_in(doc)
    QTest.keyClick(editor, Qt.Key.Key_Z, CTRL)  # the bold only
    assert str(content(doc)) == "hello world"
    assert not bold_in(doc)
    QTest.keyClick(editor, Qt.Key.Key_Z, CTRL)  # then the typing
    assert "hello" not in str(content(doc))


def test_a_heading_then_typing_are_two_steps(qtbot: QtBot) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    editor.show()
    QTest.keyClicks(editor, "Title")
    editor.set_heading(2)  # Format ▸ Heading 2 (Ctrl+Alt+2 in the window)
    QTest.keyClicks(editor, "!")
    QTest.keyClick(editor, Qt.Key.Key_Z, CTRL)  # the "!"
    assert str(content(doc)).startswith("Title\n")
    assert editor.current_format().get("header") == 2
    QTest.keyClick(editor, Qt.Key.Key_Z, CTRL)  # the heading
    assert str(content(doc)).startswith("Title")
    assert editor.current_format().get("header") is None
