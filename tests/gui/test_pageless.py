"""View ▸ Pageless: the document as one continuous sheet (no page breaks, no desk between
sheets, "Page x of y" hidden), switched on and off without moving the caret or the view,
remembered for the next window; typing still reaches collaborators."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from editor_app.qt.settings import Settings
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.word_count import PageIndicator
from tests.e2e.harness import editor_app, relay, type_text
from tests.gui.test_pages import first_on_page, long_text, pages_of, shown_editor
from tests.support.client import TestClient
from tests.support.waiting import wait_until


def gap_above(editor: EditorWidget, position: int) -> float:
    """Viewport pixels between the line holding ``position`` (put mid-view) and the
    bottom of the line before it."""
    cursor = editor.textCursor()
    cursor.setPosition(position)
    editor.setTextCursor(cursor)
    editor.centerCursor()
    editor.viewport().grab()  # the paint lays out what it shows

    def lines(block_position: int) -> list[tuple[float, float]]:
        block = editor.document().findBlock(block_position)
        top = editor.blockBoundingGeometry(block).translated(editor.contentOffset()).top()
        layout = block.layout()
        return [
            (top + layout.lineAt(i).y(), top + layout.lineAt(i).y() + layout.lineAt(i).height())
            for i in range(layout.lineCount())
        ]

    block = editor.document().findBlock(position)
    here = lines(block.position())
    index = block.layout().lineForTextPosition(position - block.position()).lineNumber()
    above = here[index - 1] if index > 0 else lines(block.previous().position())[-1]
    return here[index][0] - above[1]


def test_pageless_pushes_no_line_to_a_page_start(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(40))
    pages = pages_of(editor)
    starts = [first_on_page(editor, page) for page in (1, 2, 3)]
    margins = pages.bottom + pages.gap + pages.top
    # On pages: each of these lines begins a sheet, a bottom and top margin below the last.
    assert all(gap_above(editor, start) > margins for start in starts)
    editor.set_pageless(True)
    line = editor.fontMetrics().height()
    assert all(gap_above(editor, start) < line for start in starts)  # one continuous text
    # No desk anywhere in the view: the sheet runs on past where the pages ended.
    image = editor.viewport().grab().toImage()
    column = {image.pixelColor(image.width() // 2, y).name() for y in range(image.height())}
    assert "#f1f3f4" not in column
    editor.set_pageless(False)
    assert all(gap_above(editor, start) > margins for start in starts)  # pages again


def test_switching_keeps_the_caret_and_the_view_and_hides_the_page_indicator(
    qtbot: QtBot,
) -> None:
    editor = shown_editor(qtbot, long_text(60))
    label = PageIndicator(editor)
    qtbot.addWidget(label)
    count = editor.page_count()
    line = editor.fontMetrics().height()
    cursor = editor.textCursor()
    cursor.setPosition(first_on_page(editor, 2) + 5)  # the top of page 3: a desk above
    editor.setTextCursor(cursor)
    editor.centerCursor()
    editor.viewport().grab()
    qtbot.waitUntil(lambda: label.text() == f"Page 3 of {count}")
    position, caret = editor.textCursor().position(), editor.cursorRect().top()
    for on in (True, False, True, False):
        editor.set_pageless(on)
        editor.viewport().grab()
        assert editor.textCursor().position() == position
        assert abs(editor.cursorRect().top() - caret) <= line  # the caret's line stays put
        assert label.isHidden() == on
        assert editor.page_status() == ((1, 1) if on else (3, count))
    assert label.text() == f"Page 3 of {count}"
    # With the caret out of view, the first line shown stays first.
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    editor.verticalScrollBar().setValue(editor.verticalScrollBar().maximum() // 2)
    editor.viewport().grab()
    first = editor.firstVisibleBlock().blockNumber()
    for on in (True, False):
        editor.set_pageless(on)
        editor.viewport().grab()
        assert editor.firstVisibleBlock().blockNumber() == first
        assert editor.textCursor().position() == 0


@pytest.mark.asyncio
async def test_pageless_is_remembered_and_typing_still_syncs(tmp_path: Path) -> None:
    async with relay(tmp_path / "srv") as server:
        async with editor_app(tmp_path / "me", "Ada") as app:
            opened = app.open_document(f"{server.url}/pageless")
            window, editor = opened.window, opened.editor
            action = window.actions_by_name["pageless"]
            assert not action.isChecked() and not editor.pageless
            assert window.page_indicator.isVisibleTo(window)
            action.trigger()
            assert editor.pageless and not window.page_indicator.isVisibleTo(window)
            assert Settings(tmp_path / "me").pageless
            async with TestClient(f"{server.url}/pageless") as other:
                editor.setFocus()
                type_text(editor, "Pageless\nno breaks")
                await other.wait_text("Pageless\nno breaks")
                await other.insert(0, "Hi ")
                await wait_until(
                    lambda: editor.toPlainText().startswith("Hi Pageless"), "the peer's edit"
                )
        # A new window (the next start) opens pageless, and switches back.
        async with editor_app(tmp_path / "me", "Ada") as app:
            opened = app.open_document(f"{server.url}/pageless")
            window, editor = opened.window, opened.editor
            action = window.actions_by_name["pageless"]
            assert action.isChecked() and editor.pageless
            assert not window.page_indicator.isVisibleTo(window)
            action.trigger()
            assert not editor.pageless and window.page_indicator.isVisibleTo(window)
            assert not Settings(tmp_path / "me").pageless
