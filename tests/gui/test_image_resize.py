"""Resizing a picture with its corner handles (issue 13), as in Google Docs: a click
selects it (frame and four handles, drawn by the editor), Escape or a click elsewhere
deselects it, the pointer becomes a diagonal arrow over a handle, and dragging a corner
shows the new size live and writes Quill's ``width`` onto the embed on release, in one
transaction (one Ctrl+Z), at 100 % whatever the zoom, kept between a minimum and the
text column. A viewer gets no handles; a collaborator sees the new size.

Everything is real: the editor widget, its pycrdt document, Qt mouse events on the
viewport (QTest press, moves and release), a relay between two editors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.qt import images
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.image_handles import FRAME_COLOR, MIN_SIDE, Corner
from tests.e2e.harness import alice_and_bob, place_cursor
from tests.gui.test_images import embeds, remote, shown
from tests.support.waiting import wait_until

RED = "#d93025"
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
BEFORE = "A picture: "


def picture_url(size: tuple[int, int] = (300, 200), color: str = RED) -> str:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    return images.prepare_qimage(image).data_url


def with_picture(
    attrs: dict[str, Any] | None = None, size: tuple[int, int] = (300, 200)
) -> pycrdt.Doc[Any]:
    """A document with a line of text, a picture in it, and text after: as opened (the
    picture is not this user's edit, so undo has nothing of it)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    text.insert(0, BEFORE)
    text.insert_embed(len(BEFORE), {"image": picture_url(size)}, attrs or {})
    text.insert(len(BEFORE) + 1, " and after.\nSecond line\n")
    return doc


def stored(doc: pycrdt.Doc[Any]) -> dict[str, Any]:
    """The attributes of the document's only image embed."""
    ((_, _, attrs),) = embeds(content(doc))
    return dict(attrs or {})


def point(p: QPointF) -> QPoint:
    return p.toPoint()


def click(editor: EditorWidget, at: QPointF) -> None:
    QTest.mouseClick(editor.viewport(), LEFT, NONE, point(at))


def drag(editor: EditorWidget, start: QPointF, dx: int, dy: int) -> QRectF | None:
    """Press at ``start``, move there by ``dx``/``dy`` in three steps, release; returns
    the outline shown just before the release."""
    viewport = editor.viewport()
    QTest.mousePress(viewport, LEFT, NONE, point(start))
    for step in (1, 2, 3):
        QTest.mouseMove(viewport, point(start) + QPoint(dx * step // 3, dy * step // 3))
    shape = editor.resize_outline()
    QTest.mouseRelease(viewport, LEFT, NONE, point(start) + QPoint(dx, dy))
    return shape


def picture_rect(editor: EditorWidget) -> QRectF:
    rect = editor.image_rect(len(BEFORE))
    assert rect is not None
    return rect


def select_picture(editor: EditorWidget) -> dict[Corner, QRectF]:
    click(editor, picture_rect(editor).center())
    assert editor.selected_image() == len(BEFORE)
    return dict(editor.image_handles())


def color_at(editor: EditorWidget, at: QPointF) -> str:
    return str(editor.viewport().grab().toImage().pixelColor(point(at)).name())


# ------------------------------------------------------------------------ selecting


def test_a_click_selects_the_picture_with_a_frame_and_four_corner_handles(
    qtbot: QtBot,
) -> None:
    editor = shown(qtbot, with_picture())
    rect = picture_rect(editor)
    assert (rect.width(), rect.height()) == (300, 200)
    # image_rect is where Qt drew the picture: red just inside, white just outside.
    assert color_at(editor, rect.center()) == RED
    assert color_at(editor, QPointF(rect.left() - 3, rect.center().y())) == "#ffffff"
    assert editor.selected_image() is None and editor.image_handles() == {}
    handles = select_picture(editor)
    assert set(handles) == {"top-left", "top-right", "bottom-left", "bottom-right"}
    corners: dict[Corner, QPointF] = {
        "top-left": rect.topLeft(),
        "top-right": rect.topRight(),
        "bottom-left": rect.bottomLeft(),
        "bottom-right": rect.bottomRight(),
    }
    for corner, point_ in corners.items():
        assert handles[corner].center() == point_
        assert color_at(editor, handles[corner].center()) == FRAME_COLOR  # drawn
    # Selected is the picture itself: Qt's selection is that one character, and the
    # picture keeps its colours (no selection tint over it).
    cursor = editor.textCursor()
    assert (cursor.selectionStart(), cursor.selectionEnd()) == (len(BEFORE), len(BEFORE) + 1)
    assert color_at(editor, rect.center()) == RED
    # The pointer: a diagonal resize arrow over a handle, the text beam elsewhere.
    viewport = editor.viewport()
    QTest.mouseMove(viewport, point(handles["bottom-right"].center()))
    assert viewport.cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    QTest.mouseMove(viewport, point(handles["top-right"].center()))
    assert viewport.cursor().shape() == Qt.CursorShape.SizeBDiagCursor
    QTest.mouseMove(viewport, point(rect.center()))
    assert viewport.cursor().shape() == Qt.CursorShape.IBeamCursor
    # Escape deselects (the caret after the picture), and the handles are gone.
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert editor.selected_image() is None and editor.image_handles() == {}
    assert editor.textCursor().position() == len(BEFORE) + 1
    assert color_at(editor, handles["top-right"].center()) != FRAME_COLOR
    # A click elsewhere deselects too.
    select_picture(editor)
    click(editor, QPointF(rect.right() + 40, rect.bottom() - 5))  # the text after it
    assert editor.selected_image() is None and not editor.textCursor().hasSelection()


def test_a_selected_picture_is_copied_and_deleted_like_a_selected_character(
    qtbot: QtBot,
) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    rect = picture_rect(editor)
    QTest.mouseDClick(editor.viewport(), LEFT, NONE, point(rect.center()))
    assert editor.selected_image() == len(BEFORE)  # a double click too (not a word)
    QTest.keyClick(editor, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().mimeData().hasImage()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    assert embeds(content(doc)) == [] and str(content(doc)).startswith(BEFORE + " and")
    assert editor.selected_image() is None and editor.image_handles() == {}


# ------------------------------------------------------------------------ resizing


def test_dragging_the_bottom_right_corner_keeps_the_ratio_and_one_ctrl_z_undoes_it(
    qtbot: QtBot,
) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    handles = select_picture(editor)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    viewport = editor.viewport()
    start = handles["bottom-right"].center()
    QTest.mousePress(viewport, LEFT, NONE, point(start))
    QTest.mouseMove(viewport, point(start) + QPoint(-50, 20))
    QTest.mouseMove(viewport, point(start) + QPoint(-100, 37))
    # Live: the outline has the new size, ratio kept, top-left in place; nothing sent yet.
    shape = editor.resize_outline()
    assert shape is not None
    assert (shape.width(), round(shape.height(), 2)) == (200, 133.33)
    assert shape.topLeft() == picture_rect(editor).topLeft()
    assert updates == [] and stored(doc) == {}
    QTest.mouseRelease(viewport, LEFT, NONE, point(start) + QPoint(-100, 37))
    doc.unobserve(sub)
    # Quill's width, a string of CSS pixels; no height (a stock Quill keeps the ratio).
    assert stored(doc) == {"width": "200"}
    assert len(updates) == 1  # one transaction
    assert editor.resize_outline() is None
    rect = picture_rect(editor)
    assert (rect.width(), round(rect.height())) == (200, 133)
    assert editor.selected_image() == len(BEFORE)  # still selected, handles on it
    assert editor.image_handles()["bottom-right"].center() == rect.bottomRight()
    assert str(content(doc)) == BEFORE + " and after.\nSecond line\n"
    # One Ctrl+Z takes it back, and that was the only step.
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored(doc) == {}
    assert (picture_rect(editor).width(), picture_rect(editor).height()) == (300, 200)
    assert not editor.model.can_undo()


def test_the_other_corners_at_150_percent_zoom_store_the_size_at_100_percent(
    qtbot: QtBot,
) -> None:
    doc = with_picture({"width": "240", "height": "160"})
    editor = shown(qtbot, doc)
    editor.set_zoom(150)
    rect = picture_rect(editor)
    assert (rect.width(), rect.height()) == (360, 240)
    handles = select_picture(editor)
    # The top-left corner dragged 60 view pixels left: 60 wider on screen, 40 stored.
    drag(editor, handles["top-left"].center(), -60, 0)
    # The embed had a height: it is kept in the ratio.
    assert stored(doc) == {"width": "280", "height": "187"}
    assert picture_rect(editor).width() == 420
    handles = dict(editor.image_handles())
    drag(editor, handles["bottom-left"].center(), 120, 5)  # to the right: narrower
    assert stored(doc) == {"width": "200", "height": "134"}  # 300 x 200.4 view px


def test_the_size_is_kept_within_the_text_column_and_a_minimum(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    handles = select_picture(editor)
    column = editor.images.width_source()
    outline = drag(editor, handles["bottom-right"].center(), 3000, 0)
    assert outline is not None and outline.width() == column
    assert stored(doc) == {"width": str(round(column))}
    assert picture_rect(editor).width() == pytest.approx(column, abs=1)
    handles = dict(editor.image_handles())
    drag(editor, handles["bottom-right"].center(), -3000, 0)
    # The shorter side (the height, 2:3) is the minimum: 16 px, so 24 px wide.
    assert stored(doc) == {"width": str(MIN_SIDE * 3 // 2)}
    assert picture_rect(editor).height() == MIN_SIDE


def test_a_viewer_gets_no_handles_and_cannot_resize(qtbot: QtBot) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    select_picture(editor)
    editor.model.read_only = True  # the link turned out to be a viewer's
    rect = picture_rect(editor)
    assert editor.image_handles() == {}
    assert color_at(editor, rect.bottomRight()) != FRAME_COLOR
    place_cursor(editor, 0)
    click(editor, rect.center())
    assert editor.image_handles() == {}
    assert color_at(editor, rect.bottomRight()) != FRAME_COLOR
    # Even with the picture selected (by keyboard, say), its corner drags nothing.
    place_cursor(editor, len(BEFORE), len(BEFORE) + 1)
    assert editor.image_handles() == {}
    before = doc.get_state()
    drag(editor, rect.bottomRight(), -100, 0)
    assert stored(doc) == {} and doc.get_state() == before
    assert editor.resize_outline() is None
    assert editor.viewport().cursor().shape() != Qt.CursorShape.SizeFDiagCursor


def test_a_collaborators_edit_during_the_drag_leaves_it_on_the_same_picture(
    qtbot: QtBot,
) -> None:
    doc = with_picture()
    editor = shown(qtbot, doc)
    handles = select_picture(editor)
    viewport = editor.viewport()
    start = handles["bottom-right"].center()
    QTest.mousePress(viewport, LEFT, NONE, point(start))
    QTest.mouseMove(viewport, point(start) + QPoint(-150, 0))
    remote(doc, lambda text: text.insert(0, "New first line\n"))
    QTest.mouseRelease(viewport, LEFT, NONE, point(start) + QPoint(-150, 0))
    assert stored(doc) == {"width": "150"}
    assert str(content(doc)).startswith("New first line\n" + BEFORE)


# ------------------------------------------------------------------------ two editors


@pytest.mark.asyncio
async def test_a_collaborator_sees_the_new_size(tmp_path: Path) -> None:
    async with alice_and_bob(tmp_path, "resize") as two:
        alice, bob = two.alice.editor, two.bob.editor
        alice.textCursor().insertText(BEFORE + " and after.\n")
        place_cursor(alice, len(BEFORE))
        assert alice.insert_image(picture_url((320, 160)))
        await wait_until(lambda: bob.image_rect(len(BEFORE)) is not None, "the picture at Bob")
        await wait_until(lambda: picture_rect(alice).width() == 320, "the picture laid out")
        click(alice, picture_rect(alice).center())
        handles = alice.image_handles()
        assert handles
        drag(alice, handles["bottom-right"].center(), -160, 0)
        assert stored(alice.model.doc) == {"width": "160"}
        await wait_until(
            lambda: stored(bob.model.doc) == {"width": "160"}, "the width in Bob's Y.Text"
        )

        def bob_size() -> tuple[float, float]:
            rect = bob.image_rect(len(BEFORE))
            return (-1.0, -1.0) if rect is None else (rect.width(), rect.height())

        await wait_until(lambda: bob_size() == (160, 80), lambda: f"Bob shows {bob_size()}")


def test_a_resize_right_after_typing_is_an_undo_step_of_its_own(qtbot: QtBot) -> None:
    """Typing is grouped into one undo step when the keys come less than 0.5 s apart;
    a resize right after typing (or typing right after a resize) must not join that
    step: Ctrl+Z first takes back the size, then the typing."""
    doc = with_picture()
    editor = shown(qtbot, doc)
    cursor = editor.textCursor()
    cursor.setPosition(len(BEFORE) + 1)  # after the picture
    editor.setTextCursor(cursor)
    QTest.keyClicks(editor, "xyz")
    typed = str(content(doc))
    handles = select_picture(editor)
    drag(editor, handles["bottom-right"].center(), -100, 37)
    assert stored(doc) == {"width": "200"}
    editor.textCursor().clearSelection()
    cursor = editor.textCursor()
    cursor.setPosition(len(BEFORE) + 1)
    editor.setTextCursor(cursor)
    QTest.keyClicks(editor, "!")  # typing right after the resize: its own step too
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert str(content(doc)) == typed and stored(doc) == {"width": "200"}
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert str(content(doc)) == typed and stored(doc) == {}
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "xyz" not in str(content(doc))
