"""Ctrl+V keeps the formats of what was copied in Coscribe, as Google Docs does (found by
hand: a copied bold or red word came back plain, because Qt's plain-text paste takes the
caret's format); Ctrl+Shift+V still pastes plain text, and a copy from another program
still pastes its text."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import QByteArray, QMimeData
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import COPY_MIME, EditorWidget
from tests.gui.test_binding import Recorder, content, make_editor
from tests.gui.test_paste_many_lines import doc_with

RUNS: list[tuple[str, dict[str, Any]]] = [
    ("plain ", {}),
    ("bold", {"bold": True}),
    (" red", {"color": "#ff0000"}),
    (" link", {"link": "https://example.org/"}),
    (" 한국어 😀 e\u0301nd\n", {}),
]


def document() -> pycrdt.Doc[Any]:
    return doc_with(RUNS)


def select(editor: EditorWidget, start: int, end: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)


def caret_at_end(editor: EditorWidget) -> None:
    """At the end of the last line (before the document's final newline)."""
    cursor = editor.textCursor()
    cursor.setPosition(editor.document().characterCount() - 2)
    editor.setTextCursor(cursor)


def runs(doc: pycrdt.Doc[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(str(piece), dict(attrs or {})) for piece, attrs in content(doc).diff()]


def test_ctrl_v_keeps_the_formats_of_a_copy_made_here(qtbot: QtBot) -> None:
    doc = document()
    editor = make_editor(qtbot, doc)
    select(editor, len("plain "), len("plain bold red link"))
    editor.copy()
    caret_at_end(editor)
    rec = Recorder(doc)
    editor.paste()
    assert runs(doc) == [
        ("plain ", {}),
        ("bold", {"bold": True}),
        (" red", {"color": "#ff0000"}),
        (" link", {"link": "https://example.org/"}),
        (" 한국어 😀 e\u0301nd", {}),
        ("bold", {"bold": True}),
        (" red", {"color": "#ff0000"}),
        (" link", {"link": "https://example.org/"}),
        ("\n", {}),
    ]
    assert len(rec.updates) == 1  # one transaction
    assert editor.model.undo()  # one undo step takes it out
    assert runs(doc) == [(p, a) for p, a in RUNS]


def test_a_copy_pastes_with_its_formats_into_another_document_of_this_program(
    qtbot: QtBot,
) -> None:
    source = make_editor(qtbot, document())
    select(source, 0, len("plain bold red"))
    source.copy()
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    content(doc).insert(0, "\n", {})
    target = make_editor(qtbot, doc)
    target.paste()
    assert runs(doc) == [
        ("plain ", {}),
        ("bold", {"bold": True}),
        (" red", {"color": "#ff0000"}),
        ("\n", {}),
    ]


def test_paste_without_formatting_and_other_programs_paste_plain_text(qtbot: QtBot) -> None:
    doc = document()
    editor = make_editor(qtbot, doc)
    select(editor, len("plain "), len("plain bold"))
    editor.copy()
    caret_at_end(editor)
    editor.paste_plain()  # Ctrl+Shift+V
    assert runs(doc)[-1] == (" 한국어 😀 e\u0301ndbold\n", {})
    # Another program's copy (or another Coscribe process: an unknown token) is its text.
    other = QMimeData()
    other.setText("pasted")
    other.setData(COPY_MIME, QByteArray(b"not-this-programs-copy"))
    QApplication.clipboard().setMimeData(other)
    editor.paste()
    assert runs(doc)[-1] == (" 한국어 😀 e\u0301ndboldpasted\n", {})


def heading_then_body() -> pycrdt.Doc[Any]:
    return doc_with([("Title", {}), ("\n", {"header": 1}), ("body text\n\n", {})])


def typed_size(editor: EditorWidget) -> float:
    return float(editor.textCursor().charFormat().font().pointSizeF())


def test_a_copied_heading_line_pasted_into_an_empty_line_stays_a_heading(qtbot: QtBot) -> None:
    """Quill's line rule: the line pasted into takes the first pasted line's format (Qt's
    fragment insert kept the empty line's, so the pasted heading came back plain)."""
    doc = heading_then_body()
    editor = make_editor(qtbot, doc)
    select(editor, 0, len("Title\nbody text"))
    editor.copy()
    caret_at_end(editor)  # the empty last line
    editor.paste()
    assert runs(doc) == [
        ("Title", {}),
        ("\n", {"header": 1}),
        ("body text\nTitle", {}),
        ("\n", {"header": 1}),
        ("body text\n", {}),
    ]


@pytest.mark.parametrize("how", ["copy here", "html"])
def test_undoing_a_pasted_heading_leaves_the_line_looking_plain(qtbot: QtBot, how: str) -> None:
    """Found by hand: after undoing a paste that began with a heading on an empty line, the
    line kept the heading's size in Qt (what was typed there looked like a heading while
    the document held plain text)."""
    doc = heading_then_body()
    editor = make_editor(qtbot, doc)
    caret_at_end(editor)
    plain = typed_size(editor)
    if how == "copy here":
        select(editor, 0, len("Title\nbody text"))
        editor.copy()
        caret_at_end(editor)
        editor.paste()
    else:
        mime = QMimeData()
        mime.setHtml("<h1>Title</h1><p>body text</p>")
        mime.setText("Title\nbody text")
        editor.insertFromMimeData(mime)
    assert runs(doc)[-2:] == [("\n", {"header": 1}), ("body text\n", {})]
    assert editor.model.undo()
    assert runs(doc) == [("Title", {}), ("\n", {"header": 1}), ("body text\n\n", {})]
    qtbot.keyClicks(editor, "x")
    assert runs(doc)[-1] == ("body text\nx\n", {})
    assert typed_size(editor) == plain
