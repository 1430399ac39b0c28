"""Moving a picture by dragging it (issue 13), as in Google Docs: a click selects it, a
drag of its body takes it elsewhere in the text, and one Ctrl+Z puts it back.

Qt's drag loop needs a real display (tests/gui/test_image_move_xvfb.py drags with the
mouse on Xvfb). What is tested here without it: the move a drop in the same editor makes
(:meth:`EditorWidget.move_image`: exact deltas, ONE update, one undo step, the picture
selected and its size kept), a viewer refused, a press and a short move still only
selecting, and a drop from another Coscribe window copying the picture with its size
(Qt drag events sent to the viewport, as a drag over it delivers them).

Everything is real: the editor widget, its pycrdt document, Qt events."""

from __future__ import annotations

from typing import Any

import pycrdt
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.ui.editor_widget import EMBEDS_MIME, EditorWidget
from tests.gui.test_image_resize import picture_url
from tests.gui.test_images import embeds, remote, shown

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
WIDE = {"width": "120", "alt": "a red square"}
#: "Look [picture] here: one two" / "Second line".
BEFORE = "Look "
AFTER = " here: one two\nSecond line\n"
PICTURE = len(BEFORE)
#: Between "one " and "two".
BETWEEN = len(BEFORE) + 1 + len(" here: one ")


def with_picture() -> pycrdt.Doc[Any]:
    """A document as opened: text, a picture with Quill's width and alt, more text."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    text.insert(0, BEFORE, {})
    text.insert_embed(PICTURE, {"image": picture_url((300, 200))}, dict(WIDE))
    text.insert(PICTURE + 1, AFTER, {})
    return doc


def delta(doc: pycrdt.Doc[Any]) -> list[tuple[Any, dict[str, Any] | None]]:
    """The shared text as Quill ops: (text or "IMAGE", attributes), neighbouring text of
    the same attributes joined (as a Quill delta has it)."""
    ops: list[tuple[Any, dict[str, Any] | None]] = []
    for chunk, attrs in content(doc).diff():
        if isinstance(chunk, str) and ops and isinstance(ops[-1][0], str) and ops[-1][0] != "IMAGE":
            if (ops[-1][1] or None) == (attrs or None):
                ops[-1] = (ops[-1][0] + chunk, ops[-1][1])
                continue
        ops.append(("IMAGE" if isinstance(chunk, dict) else chunk, attrs))
    return ops


def image_at(doc: pycrdt.Doc[Any], index: int) -> None:
    """The only picture is at ``index`` (UTF-16), with its width and alt."""
    ((where, value, attrs),) = embeds(content(doc))
    assert where == index
    assert value == {"image": picture_url((300, 200))}
    assert attrs == WIDE


def ctrl_z(editor: EditorWidget) -> None:
    QTest.keyClick(editor, Qt.Key.Key_Z, CTRL)


def test_a_move_between_two_words_is_one_update_and_one_undo_step(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    original = delta(doc)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    assert editor.move_image(PICTURE, BETWEEN)
    doc.unobserve(sub)
    assert delta(doc) == [
        ("Look  here: one ", None),
        ("IMAGE", WIDE),
        ("two\nSecond line\n", None),
    ]
    assert len(updates) == 1  # one transaction: collaborators get the move in one piece
    # Only the picture was deleted and inserted, not the words between (a collaborator
    # typing in them keeps their edit): the update holds the image once, no words.
    assert b"here" not in updates[0]
    assert editor.toPlainText() == "Look  here: one \ufffctwo\nSecond line\n"
    assert editor.selected_image() == BETWEEN - 1  # the moved picture stays selected
    assert editor.image_rect(BETWEEN - 1) is not None
    ctrl_z(editor)
    assert delta(doc) == original
    image_at(doc, PICTURE)
    assert not editor.model.can_undo()  # that was the only step


def test_a_move_backwards_and_to_another_line_keep_its_size(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    second = len(BEFORE) + 1 + len(" here: one two\n") + len("Second ")
    assert editor.move_image(PICTURE, second)
    image_at(doc, second - 1)
    assert str(content(doc)) == "Look  here: one two\nSecond line\n"
    assert editor.move_image(second - 1, 0)  # back to the very start
    image_at(doc, 0)
    assert delta(doc)[0] == ("IMAGE", WIDE)
    rect = editor.image_rect(0)
    assert rect is not None and round(rect.width()) == 120
    ctrl_z(editor)
    image_at(doc, second - 1)
    ctrl_z(editor)
    image_at(doc, PICTURE)


def test_a_move_after_typing_is_an_undo_step_of_its_own(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    cursor = editor.textCursor()
    cursor.setPosition(editor.document().characterCount() - 1)
    editor.setTextCursor(cursor)
    QTest.keyClicks(editor, "xyz")
    typed = delta(doc)
    assert editor.move_image(PICTURE, BETWEEN)
    ctrl_z(editor)
    assert delta(doc) == typed  # the move only; the typing is still there
    ctrl_z(editor)
    assert "xyz" not in str(content(doc))


def test_no_move_onto_itself_nor_of_what_is_not_a_picture(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    assert not editor.move_image(PICTURE, PICTURE)
    assert not editor.move_image(PICTURE, PICTURE + 1)
    assert not editor.move_image(0, BETWEEN)  # "L" is no picture
    doc.unobserve(sub)
    assert updates == []
    image_at(doc, PICTURE)


def test_a_viewer_cannot_move_a_picture(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    editor.model.read_only = True
    assert not editor.move_image(PICTURE, BETWEEN)
    image_at(doc, PICTURE)
    # No selection, no drag: a press on it is Qt's (read-only text), nothing moves.
    rect = editor.image_rect(PICTURE)
    assert rect is not None
    viewport = editor.viewport()
    QTest.mousePress(viewport, LEFT, NONE, rect.center().toPoint())
    QTest.mouseMove(viewport, rect.center().toPoint() + QPoint(3, 1))
    QTest.mouseRelease(viewport, LEFT, NONE, rect.center().toPoint() + QPoint(3, 1))
    assert editor.image_handles() == {}
    image_at(doc, PICTURE)


def test_a_press_and_a_move_shorter_than_the_drag_distance_only_select(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    rect = editor.image_rect(PICTURE)
    assert rect is not None
    viewport = editor.viewport()
    start = rect.center().toPoint()
    short = QPoint(max(0, QApplication.startDragDistance() - 2), 0)
    QTest.mousePress(viewport, LEFT, NONE, start)
    QTest.mouseMove(viewport, start + short)
    QTest.mouseRelease(viewport, LEFT, NONE, start + short)
    assert editor.selected_image() == PICTURE
    assert set(editor.image_handles()) == {"top-left", "top-right", "bottom-left", "bottom-right"}
    image_at(doc, PICTURE)


def test_a_collaborators_edit_before_the_picture_leaves_the_move_on_it(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    remote(doc, lambda text: text.insert(0, "Oh. "))
    assert editor.toPlainText().index("\ufffc") == PICTURE + 4
    assert editor.move_image(PICTURE + 4, BETWEEN + 4)
    image_at(doc, BETWEEN + 3)
    ctrl_z(editor)
    image_at(doc, PICTURE + 4)
    assert str(content(doc)).startswith("Oh. Look ")


def drop_from_elsewhere(target: EditorWidget, mime: Any, at: QPointF) -> QDropEvent:
    """What a drag from another window delivers over ``target``'s page: enter, move,
    drop, the move proposed (no source: it is not this editor's drag)."""
    actions = Qt.DropAction.MoveAction | Qt.DropAction.CopyAction
    viewport = target.viewport()
    enter = QDragEnterEvent(at.toPoint(), actions, mime, LEFT, NONE)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    assert enter.dropAction() == Qt.DropAction.CopyAction
    over = QDragMoveEvent(at.toPoint(), actions, mime, LEFT, NONE)
    QApplication.sendEvent(viewport, over)
    assert over.isAccepted() and over.dropAction() == Qt.DropAction.CopyAction
    drop = QDropEvent(at, actions, mime, LEFT, NONE)
    QApplication.sendEvent(viewport, drop)
    return drop


def test_a_picture_dropped_on_another_window_is_copied_with_its_size(qtbot: QtBot) -> None:
    source_doc = with_picture()
    source = shown(qtbot, source_doc)
    cursor = source.textCursor()
    cursor.setPosition(PICTURE)
    cursor.setPosition(PICTURE + 1, cursor.MoveMode.KeepAnchor)
    source.setTextCursor(cursor)
    mime = source.createMimeDataFromSelection()  # what the picture's drag carries
    assert mime.hasFormat(EMBEDS_MIME)
    target_doc: pycrdt.Doc[Any] = pycrdt.Doc()
    content(target_doc).insert(0, "one two\n", {})
    target = shown(qtbot, target_doc)
    caret = target.textCursor()
    caret.setPosition(len("one "))
    at = QPointF(target.cursorRect(caret).center())
    drop = drop_from_elsewhere(target, mime, at)
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    image_at(target_doc, len("one "))
    assert str(content(target_doc)) == "one two\n"
    image_at(source_doc, PICTURE)  # the other window keeps its picture
    ctrl_z(target)
    assert embeds(content(target_doc)) == []
