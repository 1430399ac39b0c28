"""The page's vertical scroll bar, at the window's right edge, as in Google Docs.

The page is the editor widget itself (a ``QPlainTextEdit`` at most a sheet wide, its
frame the sheet's margins), so its own scroll bar sat inside the sheet, a margin's width
from its edge. The main window hides that bar and puts this one at the right edge of
the desk. It mirrors the editor's bar both ways (range, steps, value): the editor keeps
scrolling itself exactly as before (the caret, Ctrl+End, its page-layout corrections of
Qt's range), and the user's actions here are reported to the editor as its own bar's
(``user_scrolled``), so it stops following the caret as it does when its bar is used.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollBar, QWidget


class DeskScrollBar(QScrollBar):
    """A vertical scroll bar that mirrors ``inner`` (see module docstring)."""

    def __init__(
        self,
        inner: QScrollBar,
        user_scrolled: Callable[[int], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setObjectName("deskScrollBar")
        self._inner = inner
        inner.rangeChanged.connect(self._follow_range)
        inner.valueChanged.connect(self.setValue)
        self.valueChanged.connect(inner.setValue)  # equal values end the exchange
        self.actionTriggered.connect(user_scrolled)
        self._follow_range(inner.minimum(), inner.maximum())
        self.setValue(inner.value())

    def _follow_range(self, low: int, high: int) -> None:
        self.setSingleStep(self._inner.singleStep())
        self.setPageStep(self._inner.pageStep())
        self.setRange(low, high)
        self.setVisible(high > low)  # as the editor's own bar would be (as needed)

    def forward_wheel(self, watched: QWidget) -> None:
        """Scroll the page with the wheel over ``watched`` (the grey desk beside it)."""
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(event, QWheelEvent)
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and self.isVisible()
        ):
            QApplication.sendEvent(self, event)
            return True
        return super().eventFilter(watched, event)
