"""The desk between two sheets, painted twice: by the viewport (its rows, over the text)
and by the editor's frame beside and above it (so the grey runs the page's whole width).

The frame must not paint under the viewport. The viewport does not fill its background,
so a band the frame left there showed through, and after the view scrolled (Qt moves the
viewport's pixels; the frame under it is not repainted) it sat in a sheet's margin or
across a line of text: found by hand under Xvfb after pasting 3,000 lines and scrolling
with the wheel (issue 13).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPainter, QRegion
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import DESK_COLORS
from tests.gui.test_pages import long_text, shown_editor


def frame_only(widget: QWidget) -> QImage:
    """What the widget itself paints, without its children (the viewport, scroll bars)."""
    image = QImage(widget.size(), QImage.Format.Format_ARGB32)
    image.fill(QColor("#ff00ff"))
    painter = QPainter(image)
    try:
        widget.render(painter, QPoint(), QRegion(), QWidget.RenderFlag.DrawWindowBackground)
    finally:
        painter.end()
    return image


def test_the_frame_paints_the_desk_beside_the_viewport_never_under_it(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(60))
    desk = QColor(DESK_COLORS[False][0]).rgb()
    bar = editor.verticalScrollBar()
    shown_desk = False
    for value in range(0, min(bar.maximum(), 60), 3):  # scroll until a desk row is in view
        bar.setValue(value)
        editor.viewport().grab()  # a paint at this scroll position: the rows are current
        image = frame_only(editor)
        viewport = editor.viewport().geometry()
        for y in range(viewport.top(), viewport.bottom() + 1):
            inside = image.pixel(viewport.left() + viewport.width() // 2, y)
            assert inside != desk, f"the frame painted the desk under the viewport at y={y}"
            if image.pixel(max(0, viewport.left() - 1), y) == desk:
                shown_desk = True  # beside the viewport the frame does paint it
    assert shown_desk, "no desk row came into view: the test scrolled past nothing"
