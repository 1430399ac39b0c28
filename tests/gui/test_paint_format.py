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
