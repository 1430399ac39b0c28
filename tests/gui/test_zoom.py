"""Zoom 50-200 %: Ctrl+wheel, Ctrl+= / Ctrl+-, the toolbar; headings scale with the body;
nothing reaches collaborators (issue 13, part C)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.e2e.harness import place_cursor, solo_document, type_text


@pytest.mark.asyncio
async def test_zoom_scales_text_and_sends_nothing(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "zoom") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "Title\nbody")
        place_cursor(editor, 0)
        editor.set_heading(1)
        heading = editor.document().firstBlock().begin().fragment().charFormat()
        size_before = heading.fontPointSize()
        state = opened.doc.get_state()
        window.actions_by_name["zoomIn"].trigger()
        assert editor.zoom == 125
        window.actions_by_name["zoomOut"].trigger()
        window.actions_by_name["zoomOut"].trigger()
        assert editor.zoom == 90
        wheel = QWheelEvent(
            QPointF(10, 10),
            QPointF(editor.viewport().mapToGlobal(QPoint(10, 10))),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.ControlModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        for _ in range(20):
            QApplication.sendEvent(editor.viewport(), wheel)
        assert editor.zoom == 200
        assert window.zoom_combo.currentText() == "200%"
        heading = editor.document().firstBlock().begin().fragment().charFormat()
        assert heading.fontPointSize() == pytest.approx(size_before * 2)
        assert editor.font().pointSizeF() == pytest.approx(22.0)
        assert opened.doc.get_state() == state  # zooming is not an edit
        editor.set_zoom(10)
        assert editor.zoom == 50
