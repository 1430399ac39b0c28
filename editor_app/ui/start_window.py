"""The window ``coscribe`` shows when started without a link: recent documents, New, Open.

It only emits requests; the application decides what opening a document means.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor_app.ui.dialogs import OpenLinkDialog

URL_ROLE = Qt.ItemDataRole.UserRole


def _when(value: Any) -> str:
    """Format a last-opened time given as datetime, POSIX seconds or ISO text."""
    when: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, int | float):
        when = dt.datetime.fromtimestamp(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if when is None:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    if when.date() == dt.date.today():
        return when.strftime("today %H:%M")
    return when.strftime("%d %b %Y")


class StartWindow(QWidget):
    newDocumentRequested = Signal()
    openRequested = Signal(str)  # a document URL
    closed = Signal()

    def __init__(self, recent: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Coscribe")
        self.setObjectName("startWindow")
        self.resize(560, 460)

        heading = QLabel("Coscribe")
        font = QFont(heading.font())
        font.setPointSize(font.pointSize() * 2)
        font.setBold(True)
        heading.setFont(font)

        self.new_button = QPushButton("New document")
        self.new_button.setObjectName("newDocumentButton")
        self.new_button.setDefault(True)
        self.open_button = QPushButton("Open link…")
        self.open_button.setObjectName("openLinkButton")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)

        self.recent_list = QListWidget()
        self.recent_list.setObjectName("recentList")
        self.empty_label = QLabel("No recent documents yet. Create one, or open a shared link.")
        self.empty_label.setStyleSheet("color: #5f6368")

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(buttons)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Recent documents"))
        layout.addWidget(self.recent_list, 1)
        layout.addWidget(self.empty_label)

        # Zero-argument lambdas: qasync's asyncSlot must not be used on `clicked` (#177).
        self.new_button.clicked.connect(lambda *_: self.newDocumentRequested.emit())
        self.open_button.clicked.connect(lambda *_: self.show_open_link())
        self.recent_list.itemActivated.connect(self._open_item)
        self.set_recent(recent)

    def set_recent(self, recent: Sequence[Any]) -> None:
        self.recent_list.clear()
        for entry in recent:
            url = str(entry.url)
            title = str(getattr(entry, "title", "") or "") or url.rsplit("/", 1)[-1]
            when = _when(getattr(entry, "last_opened", None))
            item = QListWidgetItem()
            item.setData(URL_ROLE, url)
            item.setToolTip(url)
            label = QLabel(
                f"<b>{html.escape(title)}</b><br><span style='color:#5f6368'>"
                f"{html.escape(url)}{'  ·  ' + when if when else ''}</span>"
            )
            label.setContentsMargins(8, 6, 8, 6)
            item.setSizeHint(label.sizeHint())
            self.recent_list.addItem(item)
            self.recent_list.setItemWidget(item, label)
        self.empty_label.setVisible(self.recent_list.count() == 0)

    def recent_urls(self) -> list[str]:
        return [
            str(self.recent_list.item(i).data(URL_ROLE)) for i in range(self.recent_list.count())
        ]

    def show_open_link(self) -> OpenLinkDialog:
        dialog = OpenLinkDialog(self)
        dialog.linkChosen.connect(self.openRequested.emit)
        dialog.open()
        return dialog

    def _open_item(self, item: QListWidgetItem) -> None:
        self.openRequested.emit(str(item.data(URL_ROLE)))

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()
