"""Document outline: the headings in a side panel; a click goes to the heading.

The list is rebuilt (throttled) only while the panel is shown: a scan of a 1 MB document
takes tens of milliseconds, which typing must not pay when nobody looks at the outline.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDockWidget, QListWidget, QListWidgetItem, QPlainTextEdit, QWidget

from editor_app.qt.formats import heading_level
from editor_app.qt.timers import single_shot

REFRESH_MS = 400


class OutlinePanel(QDockWidget):
    def __init__(self, editor: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__("Outline", parent)
        self.setObjectName("outlinePanel")
        self._editor = editor
        self.list = QListWidget()
        self.list.setObjectName("outlineList")
        self.setWidget(self.list)
        self.list.itemClicked.connect(self._go)
        self._timer = single_shot(self, self.refresh, REFRESH_MS)
        editor.document().contentsChange.connect(self._changed)
        # Bound methods, not lambdas: Qt drops the connection when the panel is deleted
        # (a lambda would run on a half-destroyed panel as its window is deleted).
        self.visibilityChanged.connect(self._on_visibility)

    def headings(self) -> list[tuple[int, str]]:
        """(level, text) of every heading, in order."""
        return [
            (int(item.data(Qt.ItemDataRole.UserRole + 1)), item.text().strip())
            for item in (self.list.item(i) for i in range(self.list.count()))
            if item is not None
        ]

    def refresh(self) -> None:
        self.list.clear()
        block = self._editor.document().firstBlock()
        while block.isValid():
            level = heading_level(block)
            if level is not None and block.text().strip():
                item = QListWidgetItem("    " * (level - 1) + block.text().strip())
                item.setData(Qt.ItemDataRole.UserRole, block.position())
                item.setData(Qt.ItemDataRole.UserRole + 1, level)
                font = item.font()
                font.setBold(level == 1)
                item.setFont(font)
                self.list.addItem(item)
            block = block.next()
        if self.list.count() == 0:
            empty = QListWidgetItem("Headings you add to the document appear here.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            empty.setData(Qt.ItemDataRole.UserRole + 1, 0)
            self.list.addItem(empty)

    def _on_visibility(self, shown: bool) -> None:
        if shown:
            self.refresh()

    def _changed(self, *_: object) -> None:
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def _go(self, item: QListWidgetItem) -> None:
        position = item.data(Qt.ItemDataRole.UserRole)
        if position is None:
            return
        cursor = self._editor.textCursor()
        cursor.setPosition(min(int(position), self._editor.document().characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
        self._editor.setTextCursor(cursor)
        self._editor.centerCursor()
        self._editor.setFocus()
