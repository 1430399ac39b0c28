"""The page's scroll bar is at the window's right edge, as in Google Docs, not inside the
sheet a margin's width from its edge (where the editor's own bar sat). It mirrors the
editor's bar both ways, and the wheel over the grey desk scrolls the page too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QTextCursor, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.e2e.harness import SAVED, Relay, editor_app, wait_until


@pytest.mark.asyncio
async def test_the_page_scrolls_with_a_bar_at_the_windows_right_edge(tmp_path: Path) -> None:
    server = Relay(tmp_path / "server")
    await server.start()
    try:
        async with editor_app(tmp_path / "me", "Ada") as app:
            opened = app.open_document(f"{server.url}/long-page")
            window, editor = opened.window, opened.editor
            window.resize(1000, 700)
            window.show()
            outer, inner = window.page_scroll, editor.verticalScrollBar()
            assert not outer.isVisibleTo(window)  # nothing to scroll yet
            editor.insertPlainText("\n".join(f"Line {i}: 한국어 😀 e\u0301" for i in range(400)))
            await wait_until(lambda: window.status_badge.text == SAVED, "saved")
            await wait_until(lambda: outer.isVisibleTo(window), "the bar shows")
            assert not inner.isVisibleTo(window)  # the one inside the sheet is gone
            # At the right edge of the window's central area, beside the sheet.
            central = window.centralWidget()
            right = outer.mapTo(central, QPoint(outer.width(), 0)).x()
            assert right == central.width()
            assert (
                outer.mapTo(central, QPoint(0, 0)).x()
                >= editor.mapTo(central, QPoint(editor.width(), 0)).x()
            )
            assert (outer.minimum(), outer.maximum()) == (inner.minimum(), inner.maximum())
            # The editor's own scrolling (the caret at the end) moves this bar...
            cursor = editor.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.End)
            editor.setTextCursor(cursor)
            editor.ensureCursorVisible()
            await wait_until(lambda: outer.value() == inner.value() > 0, "followed")
            # ... and this bar scrolls the page.
            outer.setValue(outer.maximum() // 3)
            assert inner.value() == outer.maximum() // 3
            # The wheel over the grey desk beside the sheet scrolls it too.
            desk = editor.parentWidget()
            assert desk is not None
            before = inner.value()
            at = QPointF(5.0, 100.0)  # the desk's left edge, off the sheet
            wheel = QWheelEvent(
                at, QPointF(desk.mapToGlobal(at.toPoint())), QPoint(0, 0), QPoint(0, -120),
                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                Qt.ScrollPhase.NoScrollPhase, False,
            )  # fmt: skip
            QApplication.sendEvent(desk, wheel)
            assert inner.value() > before and outer.value() == inner.value()
            # And over the sheet itself, as before (its own bar is hidden, not gone).
            before = inner.value()
            over_text = QPointF(editor.viewport().width() / 2, 100.0)
            wheel = QWheelEvent(
                over_text, QPointF(editor.viewport().mapToGlobal(over_text.toPoint())),
                QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
            )  # fmt: skip
            QApplication.sendEvent(editor.viewport(), wheel)
            assert inner.value() > before and outer.value() == inner.value()
    finally:
        await server.stop()
