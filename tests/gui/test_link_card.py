"""Links can be followed (issue 13 QA: a link could be made, never opened): the caret in a
link shows a card with its address, as Google Docs does; clicking the address or
Ctrl+clicking the link asks to open it; only web and mail addresses are ever opened (a
collaborator's ``javascript:`` or ``file:`` link is shown, not opened).

Real parts: real pycrdt documents, the real editor widget (shown offscreen) and its real
card, real mouse events; what opening means is the ``linkRequested`` signal (the main
window hands it to the system browser), so no browser starts here.
"""

from __future__ import annotations

from pathlib import Path

import pycrdt
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.ui.dialogs import LinkDialog
from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor, solo_document, wait_until
from tests.gui.test_autolink_typing import links
from tests.gui.test_binding import assert_mirrors, make_editor, remote_edit, type_text

SITE = "https://example.org/지도"
EVIL = "javascript:alert(1)"


def shown_with_links(qtbot: QtBot) -> EditorWidget:
    """ "see map then evil end": "map" links SITE, "evil" EVIL (a collaborator's)."""
    editor = make_editor(qtbot, pycrdt.Doc())
    editor.resize(600, 300)
    editor.show()
    qtbot.waitExposed(editor)

    def write(text: pycrdt.Text) -> None:
        plain = {"link": None}  # (an insert without attributes takes the text's before it)
        text.insert(0, "see ", plain)
        text.insert(4, "map", {"link": SITE})
        text.insert(7, " then ", plain)
        text.insert(13, "evil", {"link": EVIL})
        text.insert(17, " end", plain)

    remote_edit(editor.model.doc, write)
    return editor


def point_in(editor: EditorWidget, position: int) -> QPoint:
    """The viewport point of the character after ``position``."""
    cursor = editor.textCursor()
    cursor.setPosition(position)
    rect = editor.cursorRect(cursor)
    return QPoint(rect.left() + 3, rect.center().y())


def test_the_caret_in_a_link_shows_its_card_and_the_address_opens_it(qtbot: QtBot) -> None:
    editor = shown_with_links(qtbot)
    card = editor.link_card
    place_cursor(editor, 5)  # inside "map"
    qtbot.waitUntil(card.isVisible)
    assert card.href == SITE and "example.org" in card.address.text()
    assert card.remove.isVisible()
    with qtbot.waitSignal(editor.linkRequested) as opened:
        card.address.linkActivated.emit(card.address.text())
    assert opened.args == [SITE]
    place_cursor(editor, 10)  # in " then "
    qtbot.waitUntil(lambda: not card.isVisible())


def test_ctrl_click_opens_a_web_link_never_a_script_or_file(qtbot: QtBot) -> None:
    editor = shown_with_links(qtbot)
    ctrl = Qt.KeyboardModifier.ControlModifier
    with qtbot.waitSignal(editor.linkRequested) as opened:
        QTest.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, ctrl, point_in(editor, 5))
    assert opened.args == [SITE]
    with qtbot.assertNotEmitted(editor.linkRequested):
        QTest.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, ctrl, point_in(editor, 14))
        place_cursor(editor, 15)  # the card shows it, not as a link to follow
        qtbot.waitUntil(lambda: editor.link_card.href == EVIL)
        assert "not opened" in editor.link_card.address.text()
        editor.link_card.address.linkActivated.emit(EVIL)
    with qtbot.assertNotEmitted(editor.linkRequested):  # a plain click only places the caret
        QTest.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, pos=point_in(editor, 5))


def test_remove_takes_the_link_off_and_a_viewer_cannot(qtbot: QtBot) -> None:
    editor = shown_with_links(qtbot)
    place_cursor(editor, 5)
    qtbot.waitUntil(editor.link_card.isVisible)
    editor.link_card.remove.click()
    assert [href for _piece, href in links(editor.model.doc)] == [EVIL]
    qtbot.waitUntil(lambda: not editor.link_card.isVisible())

    editor.model.read_only = True
    place_cursor(editor, 15)
    qtbot.waitUntil(editor.link_card.isVisible)
    assert not editor.link_card.remove.isVisible()


def test_ctrl_k_without_a_selection_edits_the_link_or_types_one(qtbot: QtBot) -> None:
    """The caret in a link: the whole link gets the new address (it changed nothing
    before: the command needed a selection); outside links: the address is typed there
    as a link, and what is typed after it is not linked."""
    editor = shown_with_links(qtbot)
    place_cursor(editor, 5)  # in "map"
    editor.set_link("https://example.org/new")
    assert links(editor.model.doc)[0] == ("map", "https://example.org/new")
    place_cursor(editor, len("see map then evil end"))
    type_text(editor, " ")
    editor.set_link("https://coscribe.example")
    type_text(editor, " after")
    assert links(editor.model.doc)[-1] == ("https://coscribe.example", "https://coscribe.example")
    assert str(editor.model.text).endswith("end https://coscribe.example after")
    assert_mirrors(editor)
    editor.model.undo()  # " after"
    editor.model.undo()  # the typed link, whole
    assert str(editor.model.text).endswith("evil end ")


@pytest.mark.asyncio
async def test_edit_on_the_card_asks_the_window_for_the_new_address(tmp_path: Path) -> None:
    """The card's Edit opens the window's link dialog (Ctrl+K's), prefilled with the
    link's address; what is chosen there becomes the whole link's address."""
    async with solo_document(tmp_path, "edit-link") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "read the 설명서 now")
        place_cursor(editor, 9, 12)
        editor.set_link("https://old.example")
        place_cursor(editor, 10)
        await wait_until(editor.link_card.isVisible, "the link card")
        asked: list[LinkDialog] = []
        editor.linkEditRequested.connect(lambda: asked.append(window.findChildren(LinkDialog)[-1]))
        editor.link_card.edit.click()
        await wait_until(lambda: bool(asked), "the link dialog")
        dialog = asked[0]
        assert dialog.edit.text() == "https://old.example"
        dialog.edit.setText("https://new.example")
        dialog.accept()
        assert links(opened.model.doc) == [("설명서", "https://new.example")]


def test_a_pointing_hand_over_a_link_while_ctrl_is_held(qtbot: QtBot) -> None:
    editor = shown_with_links(qtbot)
    viewport = editor.viewport()
    ctrl = Qt.KeyboardModifier.ControlModifier
    QTest.mouseMove(viewport, point_in(editor, 5))
    assert viewport.cursor().shape() != Qt.CursorShape.PointingHandCursor  # no Ctrl
    event_at = point_in(editor, 5)
    move = QMouseEvent(
        QEvent.Type.MouseMove, event_at, viewport.mapToGlobal(event_at),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, ctrl,
    )  # fmt: skip
    QApplication.sendEvent(viewport, move)
    assert viewport.cursor().shape() == Qt.CursorShape.PointingHandCursor
    away = point_in(editor, 10)
    QApplication.sendEvent(
        viewport,
        QMouseEvent(
            QEvent.Type.MouseMove,
            away,
            viewport.mapToGlobal(away),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            ctrl,
        ),  # fmt: skip
    )
    assert viewport.cursor().shape() == Qt.CursorShape.IBeamCursor
