"""Menus and the title box as in Google Docs (issue 13, bug 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from editor_app.qt.formats import crdt_delta
from editor_app.ui.main_window import MainWindow
from tests.e2e.harness import solo_document, type_text, wait_until


def menu_texts(window: MainWindow, title: str) -> list[str]:
    """Every action text in the menu ``title`` and its submenus."""

    def walk(menu: QMenu) -> list[str]:
        out = []
        for a in menu.actions():
            sub = a.menu()
            if isinstance(sub, QMenu):
                out += walk(sub)
            elif not a.isSeparator():
                out.append(a.text().replace("&", ""))
        return out

    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            menu = action.menu()
            assert isinstance(menu, QMenu)
            return walk(menu)
    raise AssertionError(f"no {title} menu")


@pytest.mark.asyncio
async def test_menus_use_words_and_edit_has_clipboard_commands(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "menus") as opened:
        window = opened.window
        fmt = menu_texts(window, "Format")
        assert {"Bold", "Italic", "Underline", "Strikethrough"} <= set(fmt)
        assert not {"B", "I", "U", "S"} & set(fmt)
        edit = menu_texts(window, "Edit")
        for word in ("Cut", "Copy", "Paste", "Paste without formatting", "Select all"):
            assert word in edit
        # The toolbar still shows the compact letter.
        assert window.actions_by_name["bold"].iconText() == "B"

        type_text(opened.editor, "ab")
        mime = QMimeData()
        mime.setHtml("<b>bold</b>")
        mime.setText("bold")
        QApplication.clipboard().setMimeData(mime)
        window.actions_by_name["pastePlain"].trigger()
        assert str(opened.model.text) == "abbold"
        assert crdt_delta(opened.model.text.diff()) == [("abbold", {})]
        window.actions_by_name["selectAll"].trigger()
        assert opened.editor.textCursor().selectedText() == "abbold"
        window.actions_by_name["cut"].trigger()
        assert str(opened.model.text) == ""
        window.actions_by_name["paste"].trigger()
        assert str(opened.model.text) == "abbold"


@pytest.mark.asyncio
async def test_enter_in_the_title_moves_to_the_page(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "title") as opened:
        window = opened.window
        window.activateWindow()
        window.title_edit.setFocus()
        await wait_until(lambda: window.title_edit.hasFocus(), "title focused")
        QTest.keyClicks(window.title_edit, "Plan")
        QTest.keyClick(window.title_edit, Qt.Key.Key_Return)
        await wait_until(lambda: opened.editor.hasFocus(), "the page has the focus")
        assert opened.model.title() == "Plan"
        type_text(opened.editor, "x")
        assert str(opened.model.text) == "x"
