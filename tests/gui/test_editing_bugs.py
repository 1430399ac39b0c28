"""Editing behaviour a word-processor user expects (issue 13, bugs 4, 7, 8).

Real pycrdt documents and real EditorWidgets (offscreen); keys are real Qt key events.
"""

from __future__ import annotations

import pycrdt
from pytestqt.qtbot import QtBot

from editor_app.qt.formats import crdt_delta
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, qt_text, remote_edit, type_text


def test_enter_enter_leaves_a_list_without_a_stray_empty_line(qtbot: QtBot) -> None:
    """Bug 4: Enter on an empty last list item leaves the list; what is typed next is the
    last line of the document (no empty paragraph after it)."""
    editor = make_editor(qtbot)
    type_text(editor, "one")
    editor.toggle_list("bullet")
    type_text(editor, "\ntwo\n\nafter")
    assert qt_text(editor) == "one\ntwo\nafter"
    assert crdt_delta(editor.model.text.diff()) == [
        ("one", {}),
        ("\n", {"list": "bullet"}),
        ("two", {}),
        ("\n", {"list": "bullet"}),
        ("after", {}),
    ]
    assert_mirrors(editor)


def test_enter_after_a_last_heading_goes_to_the_blank_last_line(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "Title")
    editor.set_heading(1)
    type_text(editor, "\nbody")
    assert qt_text(editor) == "Title\nbody"
    assert crdt_delta(editor.model.text.diff()) == [
        ("Title", {}),
        ("\n", {"header": 1}),
        ("body", {}),
    ]
    assert_mirrors(editor)


def test_enter_in_a_list_in_the_middle_still_leaves_the_list(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "item\nnext\n", {})
    doc.get("content", type=pycrdt.Text).format(4, 5, {"list": "ordered"})
    editor = make_editor(qtbot, doc)
    place_cursor(editor, 4)
    type_text(editor, "\n\nx")
    assert qt_text(editor) == "item\nx\nnext\n"
    assert_mirrors(editor)


def test_a_collaborator_typing_at_my_caret_does_not_drag_it(qtbot: QtBot) -> None:
    """Bug 7: both carets at the end; their new line arrives first; my next key lands in my
    own line, not at the end of theirs."""
    editor = make_editor(qtbot)
    type_text(editor, "mine")
    remote_edit(editor.model.doc, lambda t: t.insert(len(t), "\ntheirs"))
    assert editor.textCursor().position() == 4
    type_text(editor, " too")
    assert qt_text(editor) == "mine too\ntheirs"
    remote_edit(editor.model.doc, lambda t: t.insert(0, "😀 "))
    assert editor.textCursor().position() == 11  # inserts before it still push it
    assert_mirrors(editor)


def test_a_collaborator_typing_inside_my_selection_edges(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "abcdef")
    place_cursor(editor, 2, 4)
    remote_edit(editor.model.doc, lambda t: t.insert(4, "XY"))
    assert editor.textCursor().selectedText() == "cd"
