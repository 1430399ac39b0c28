"""Paint format: the formats at the caret go onto the next selection (issue 13, part B)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from editor_app.qt.formats import crdt_delta
from tests.e2e.harness import place_cursor, solo_document, type_text


@pytest.mark.asyncio
async def test_paint_format_copies_formats_to_the_next_selection(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "paint") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "source target")
        place_cursor(editor, 0, 6)
        editor.toggle_bold()
        editor.set_inline("color", "#e60000")
        place_cursor(editor, 3)
        window.actions_by_name["paintFormat"].trigger()
        assert window.actions_by_name["paintFormat"].isChecked()
        place_cursor(editor, 7, 13)
        QTest.mouseRelease(
            editor.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            QPoint(5, 5),
        )
        assert not window.actions_by_name["paintFormat"].isChecked()
        runs = crdt_delta(opened.model.text.diff())
        assert runs == [
            ("source", {"bold": True, "color": "#e60000"}),
            (" ", {}),
            ("target", {"bold": True, "color": "#e60000"}),
        ]


@pytest.mark.asyncio
async def test_copy_formatting_then_paste_it_on_several_selections(tmp_path: Path) -> None:
    """Google Docs' Ctrl+Alt+C / Ctrl+Alt+V: the formats at the caret are kept (unlike
    paint format's, used once) and pasted on each selection, one undo step each."""
    async with solo_document(tmp_path, "copy-format") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "원본 one two")
        place_cursor(editor, 0, 2)
        editor.toggle_italic()
        editor.set_inline("background", "#ffff00")
        place_cursor(editor, 1)
        window.actions_by_name["copyFormat"].trigger()
        for start, end in ((3, 6), (7, 10)):
            place_cursor(editor, start, end)
            window.actions_by_name["pasteFormat"].trigger()
        marked = {"italic": True, "background": "#ffff00"}
        expected = [("원본", marked), (" ", {}), ("one", marked), (" ", {}), ("two", marked)]
        assert crdt_delta(opened.model.text.diff()) == expected
        editor.model.undo()  # the last paste only
        assert crdt_delta(opened.model.text.diff())[-1] == (" two", {})
        assert window.actions_by_name["copyFormat"].shortcut().toString() == "Ctrl+Alt+C"
        assert window.actions_by_name["pasteFormat"].shortcut().toString() == "Ctrl+Alt+V"
