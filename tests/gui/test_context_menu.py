"""The editor's right-click menu (issue 13 QA): Undo and Redo there act as Ctrl+Z and
Ctrl+Y (they were Qt's, on an undo stack the editor does not keep: always greyed out),
and "Paste without formatting" follows Paste, as in Google Docs.

Real parts: real pycrdt documents, the real editor widget (offscreen) and its real menu,
the real clipboard (Qt's offscreen one).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import assert_mirrors, make_editor, type_text
from tests.gui.test_list_autofill import delta


def shown(qtbot: QtBot) -> EditorWidget:
    editor = make_editor(qtbot)
    editor.resize(600, 400)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def menu_of(editor: EditorWidget) -> QMenu:
    """The menu a right click at the caret opens."""
    return editor.context_menu(editor.cursorRect().center())


def action(menu: QMenu, name: str) -> QAction:
    found = [a for a in menu.actions() if a.objectName() == name]
    assert found, f"no {name} in {[a.objectName() for a in menu.actions()]}"
    return found[0]


def test_undo_and_redo_in_the_menu_are_the_editors(qtbot: QtBot) -> None:
    editor = shown(qtbot)
    type_text(editor, "안녕 hello 🦊")
    qtbot.waitUntil(editor.model.can_undo)
    menu = menu_of(editor)
    undo = action(menu, "edit-undo")
    assert undo.isEnabled() and not action(menu, "edit-redo").isEnabled()
    undo.trigger()
    assert str(editor.model.text) == ""
    qtbot.waitUntil(editor.model.can_redo)
    redo = action(menu_of(editor), "edit-redo")
    assert redo.isEnabled()
    redo.trigger()
    assert str(editor.model.text) == "안녕 hello 🦊"
    assert_mirrors(editor)

    editor.model.read_only = True  # a viewer's menu has no edit actions (Qt's, as before)
    assert "edit-undo" not in [a.objectName() for a in menu_of(editor).actions()]


def test_paste_without_formatting_follows_paste(qtbot: QtBot) -> None:
    editor = shown(qtbot)
    data = QMimeData()
    data.setHtml("<b>굵은 bold</b> <i>text</i>")
    data.setText("굵은 bold text")
    QApplication.clipboard().setMimeData(data)
    menu = menu_of(editor)
    names = [a.objectName() for a in menu.actions()]
    assert names.index("edit-paste-plain") == names.index("edit-paste") + 1
    plain = action(menu, "edit-paste-plain")
    assert plain.isEnabled()
    plain.trigger()
    assert delta(editor.model.doc) == [("굵은 bold text", {})]
    assert_mirrors(editor)
