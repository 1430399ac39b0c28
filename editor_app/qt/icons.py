"""Icons: the application's (files in :mod:`editor_app.resources`) and drawn toolbar icons."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

from editor_app.resources import icon_files


def app_icon() -> QIcon:
    """The application icon with every available size (Qt picks the best per context).

    PNGs rather than the SVG: they need no Qt SVG image-format plugin at run time.
    """
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon


def align_icon(align: str | None, color: str = "#80868b", size: int = 18) -> QIcon:
    """Four lines aligned like a paragraph with ``align`` (None = left), drawn (no font
    needed: arrow glyphs are missing from many fonts)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    try:
        pen = QPen(QColor(color), 2.0)
        painter.setPen(pen)
        full, short = size - 4.0, (size - 4.0) * 0.6
        for i, width in enumerate((full, short, full, short)):
            if align == "justify":
                width = full
            y = 3.5 + i * (size - 7) / 3
            if align == "center":
                x = (size - width) / 2
            elif align == "right":
                x = size - 2 - width
            else:
                x = 2.0
            painter.drawLine(QPointF(x, y), QPointF(x + width, y))
    finally:
        painter.end()
    return QIcon(pixmap)
