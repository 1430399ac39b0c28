"""Dragging a selection of text to another place in the same editor (issue 13): the
drop moves it with :meth:`EditorWidget.move_selection`, one CRDT transaction that
deletes the selection and inserts it once, and one undo step.

Qt's own internal move was one edit block reported as ONE change from the source to the
drop point: the words in between were deleted and re-inserted, so a collaborator's
concurrent edit there landed elsewhere, their cursors jumped and the update grew with the
distance. Qt's drag loop needs a real display (tests/gui/test_selection_move_xvfb.py drags
with the mouse on Xvfb); what a drop does is tested here with the real editor and its
pycrdt document."""

from __future__ import annotations

from typing import Any

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_image_move import WIDE, delta, with_picture
from tests.gui.test_image_resize import picture_url
from tests.gui.test_images import remote, shown

SENTENCE = "the quick brown fox jumps\n"
BROWN = SENTENCE.index("brown")  # "brown " is [BROWN, BROWN + 6)
JUMPS = SENTENCE.index("jumps")
BOLD = {"bold": True}


def sentence() -> pycrdt.Doc[Any]:
    """ "the quick brown fox jumps" with "ro" of "brown" in bold."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    text.insert(0, SENTENCE, {})
    text.format(BROWN + 1, BROWN + 3, BOLD)
    return doc


def recorded(doc: pycrdt.Doc[Any]) -> tuple[list[bytes], Any]:
    """The updates ``doc`` commits from now on, and the subscription (to unobserve)."""
    updates: list[bytes] = []
    return updates, doc.observe(lambda event: updates.append(event.update))


def selected(editor: EditorWidget) -> str:
    return editor.textCursor().selectedText()


def ctrl_z(editor: EditorWidget) -> None:
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def test_moving_brown_before_jumps_is_one_small_update_and_one_undo_step(qtbot: QtBot) -> None:
    doc = sentence()
    editor = shown(qtbot, doc)
    original = delta(doc)
    updates, sub = recorded(doc)
    assert editor.move_selection(BROWN, BROWN + len("brown "), JUMPS)
    doc.unobserve(sub)
    assert delta(doc) == [
        ("the quick fox b", None),
        ("ro", BOLD),  # the bold inside the moved text is kept
        ("wn jumps\n", None),
    ]
    assert editor.toPlainText() == "the quick fox brown jumps\n"
    assert selected(editor) == "brown "  # the moved text is selected where it landed
    assert len(updates) == 1  # one transaction: collaborators get the move in one piece
    # The words between the source and the drop point are neither deleted nor inserted.
    assert b"fox" not in updates[0] and b"wn " in updates[0]  # "b", "ro", "wn " (formats)
    ctrl_z(editor)
    assert delta(doc) == original
    assert not editor.model.can_undo()  # that was the only step


def test_the_update_does_not_grow_with_the_distance(qtbot: QtBot) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    middle = "lazy dog " * 500
    content(doc).insert(0, f"the quick brown {middle}jumps\n", {})
    editor = shown(qtbot, doc)
    updates, sub = recorded(doc)
    to = len("the quick brown ") + len(middle)
    assert editor.move_selection(BROWN, BROWN + len("brown "), to)
    doc.unobserve(sub)
    assert str(content(doc)) == f"the quick {middle}brown jumps\n"
    assert len(updates) == 1
    assert len(updates[0]) < 200, len(updates[0])  # the distance is 4,500 characters


def test_a_collaborators_words_between_source_and_drop_stay_where_they_were(
    qtbot: QtBot,
) -> None:
    doc = sentence()
    editor = shown(qtbot, doc)
    # Typed by a collaborator before the move, between "brown " and "jumps".
    remote(doc, lambda text: text.insert(BROWN + len("brown fox "), "red "))
    assert editor.toPlainText() == "the quick brown fox red jumps\n"
    text = content(doc)
    # A collaborator's caret before the "x" of "fox" (a sticky index, as awareness has it).
    caret = text.sticky_index(SENTENCE.index("x"), pycrdt.Assoc.AFTER)
    # A collaborator who has not seen the move yet types "very " before "fox".
    peer: pycrdt.Doc[Any] = pycrdt.Doc()
    peer.apply_update(doc.get_update())
    updates, sub = recorded(doc)
    assert editor.move_selection(BROWN, BROWN + len("brown "), len("the quick brown fox red "))
    doc.unobserve(sub)
    assert str(text) == "the quick fox red brown jumps\n"
    assert b"red" not in updates[0] and b"fox" not in updates[0]
    assert caret.get_index() == "the quick fox".index("x")  # the caret stays on its letter
    before = peer.get_state()
    content(peer).insert(BROWN + len("brown "), "very ")
    peer.apply_update(updates[0])
    doc.apply_update(peer.get_update(before))
    assert str(text) == str(content(peer)) == "the quick very fox red brown jumps\n"
    assert editor.toPlainText() == str(text)


def test_a_move_backwards(qtbot: QtBot) -> None:
    doc = sentence()
    editor = shown(qtbot, doc)
    original = delta(doc)
    updates, sub = recorded(doc)
    fox = SENTENCE.index("fox ")
    assert editor.move_selection(fox, fox + len("fox "), SENTENCE.index("quick"))
    doc.unobserve(sub)
    assert delta(doc) == [("the fox quick b", None), ("ro", BOLD), ("wn jumps\n", None)]
    assert selected(editor) == "fox "
    assert len(updates) == 1
    assert b"quick" not in updates[0] and b"wn" not in updates[0]
    ctrl_z(editor)
    assert delta(doc) == original


def test_a_selection_with_a_picture_keeps_its_width(qtbot: QtBot) -> None:
    doc = with_picture()  # "Look [picture] here: one two" / "Second line"
    editor = shown(qtbot, doc)
    original = delta(doc)
    updates, sub = recorded(doc)
    to = len("Look \ufffc here: one ")
    assert editor.move_selection(0, len("Look \ufffc "), to)
    doc.unobserve(sub)
    assert delta(doc) == [
        ("here: one Look ", None),
        ("IMAGE", WIDE),
        (" two\nSecond line\n", None),
    ]
    ((chunk, attrs),) = [(c, a) for c, a in content(doc).diff() if isinstance(c, dict)]
    assert chunk == {"image": picture_url((300, 200))} and attrs == WIDE
    where = editor.toPlainText().index("\ufffc")
    rect = editor.image_rect(where)
    assert rect is not None and round(rect.width()) == 120
    assert len(updates) == 1 and b"here" not in updates[0]
    ctrl_z(editor)
    assert delta(doc) == original


def test_no_move_into_itself_and_none_for_a_viewer(qtbot: QtBot) -> None:
    doc = sentence()
    editor = shown(qtbot, doc)
    updates, sub = recorded(doc)
    end = BROWN + len("brown ")
    for to in (BROWN, BROWN + 2, end):  # inside the selection or at either end
        assert not editor.move_selection(BROWN, end, to)
    assert not editor.move_selection(BROWN, BROWN, JUMPS)  # nothing selected
    editor.model.read_only = True
    assert not editor.move_selection(BROWN, end, JUMPS)
    doc.unobserve(sub)
    assert updates == []
    assert str(content(doc)) == SENTENCE
