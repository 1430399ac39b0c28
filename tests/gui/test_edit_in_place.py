"""A keystroke repaints its paragraph, not the whole view (PageLayout.documentChanged).

Qt's plain layout asked for a repaint of everything shown at every keystroke (its own
line height is never the page's), which cost each editor 1.5-2 ms of painting per key.
An edit inside one paragraph is now laid out the page's way at once and only that
paragraph is repainted when its height is unchanged. What could go wrong is a stale
picture: a line, a list marker, a caret or a centred word left as it was. So each test
compares what is on the screen after typing (the window's backing store, which keeps
whatever was not repainted) with a full repaint of the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pycrdt
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QTextCursor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import make_editor, remote_edit

LONG = "Paragraph that wraps " * 9
LINES = ["Title line", "centred words", LONG.strip(), "bullet item", "한글 🙂 e\u0301 after"]


@contextmanager
def steady_caret() -> Iterator[None]:
    """No caret blinking: two grabs of the same state then show the same caret."""
    flash = QApplication.cursorFlashTime()
    QApplication.setCursorFlashTime(0)
    try:
        yield
    finally:
        QApplication.setCursorFlashTime(flash)


def shown(qtbot: QtBot, *, pageless: bool) -> EditorWidget:
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "\n".join(LINES) + "\n", {})
    editor = make_editor(qtbot, doc)
    editor.resize(700, 520)
    editor.set_pageless(pageless)
    editor.show()
    qtbot.waitExposed(editor)
    ends = []
    pos = 0
    for line in LINES:
        pos += len(line.encode())
        ends.append(pos)
        pos += 1
    remote_edit(doc, lambda t: t.format(ends[0], ends[0] + 1, {"header": 1}))
    remote_edit(doc, lambda t: t.format(ends[1], ends[1] + 1, {"align": "center"}))
    remote_edit(doc, lambda t: t.format(ends[3], ends[3] + 1, {"list": "bullet"}))
    # Spell checking on (as in the app): a key in a misspelled word restyles its block in
    # the same change as the key.
    spell = editor.spell
    qtbot.waitUntil(lambda: spell is None or not spell.spelling.loading, timeout=30_000)
    settle()
    return editor


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def on_screen(editor: EditorWidget) -> QImage:
    """What the window shows: its backing store (not a fresh render, as grab() is)."""
    screen = editor.screen()
    return screen.grabWindow(editor.winId()).toImage()


def repainted(editor: EditorWidget) -> QImage:
    editor.viewport().update()
    editor.update()
    settle()
    return on_screen(editor)


def caret_in(editor: EditorWidget, line: int, column: int) -> None:
    cursor = QTextCursor(editor.document().findBlockByNumber(line))
    cursor.movePosition(QTextCursor.MoveOperation.Right, n=column)
    editor.setTextCursor(cursor)


@pytest.mark.parametrize("pageless", [False, True])
def test_typing_in_a_paragraph_repaints_it_alone_and_shows_what_a_full_repaint_shows(
    qtbot: QtBot, pageless: bool
) -> None:
    with steady_caret():
        editor = shown(qtbot, pageless=pageless)
        editor.setFocus()
        before = editor.page_layout.in_place
        for line, column, keys in ((1, 7, "more "), (4, 3, "ab"), (3, 0, "x"), (1, 0, "qzx")):
            caret_in(editor, line, column)
            # Placed to the end (as when typing starts after a pause): an edit then takes
            # the short path (with a walk still pending above, Qt's path is taken).
            qtbot.waitUntil(lambda: editor.page_layout.is_paginated or pageless)
            settle()
            for key in keys:
                qtbot.keyClicks(editor, key)
                settle()
                assert on_screen(editor) == repainted(editor), f"stale after {key!r}"
        assert editor.page_layout.in_place - before == 11  # every key took the short path
        spell = editor.spell
        if spell is not None and spell.spelling.checker is not None:
            assert spell.misspelled(editor.document().findBlockByNumber(1))  # "qzx..." marked


@pytest.mark.parametrize("pageless", [False, True])
def test_a_key_that_wraps_or_unwraps_a_line_moves_what_follows(
    qtbot: QtBot, pageless: bool
) -> None:
    with steady_caret():
        editor = shown(qtbot, pageless=pageless)
        editor.setFocus()
        lines_before = editor.document().findBlockByNumber(2).layout().lineCount()
        caret_in(editor, 2, 5)
        typed = 0
        while editor.document().findBlockByNumber(2).layout().lineCount() == lines_before:
            qtbot.keyClicks(editor, "w")
            typed += 1
            settle()
            assert typed < 200, "the paragraph never wrapped"
        assert on_screen(editor) == repainted(editor)  # the lines below moved down
        for _ in range(typed):
            qtbot.keyClick(editor, Qt.Key.Key_Backspace)
        settle()
        assert editor.document().findBlockByNumber(2).layout().lineCount() == lines_before
        assert on_screen(editor) == repainted(editor)  # and back up


def test_a_collaborators_keystroke_is_shown_in_place(qtbot: QtBot) -> None:
    with steady_caret():
        editor = shown(qtbot, pageless=False)
        before = editor.page_layout.in_place
        text = editor.model.text
        at = len(str(text).split("\n")[0].encode()) + 1 + 3  # in "centred words"
        for ch in "XYZ":
            remote_edit(editor.model.doc, lambda t, ch=ch: t.insert(at, ch))
            settle()
            assert on_screen(editor) == repainted(editor)
        assert editor.page_layout.in_place - before == 3
        assert "cenXYZtred" in editor.toPlainText() or "cenZYXtred" in editor.toPlainText()
