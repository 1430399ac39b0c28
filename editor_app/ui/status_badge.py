"""The connection status in the status bar: a colored dot, the honest text, "Retry", the
network note (compatibility mode) and "Details…" (the Connection details dialog).

It renders :class:`~editor_app.qt.connection_model.ConnectionModel` and nothing else, so the
words come from one place (the model) and the badge only decides colors.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from editor_app.qt.connection_model import ConnectionModel
from editor_app.ui.connection_details import ConnectionDetailsDialog

KIND_COLORS = {
    "connecting": "#f9ab00",
    "offline": "#9aa0a6",
    "saving": "#1a73e8",
    "saved": "#188038",
    "synced": "#188038",
    "denied": "#d93025",
    "proxy_auth": "#d93025",
    "conflict": "#d93025",
    "closed": "#9aa0a6",
}


def _link_button(text: str, name: str) -> QPushButton:
    """A flat button in link blue (the badge's actions read like links)."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setFlat(True)
    button.setStyleSheet("color: #1a73e8")
    return button


class StatusBadge(QWidget):
    def __init__(self, connection: ConnectionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBadge")
        self.connection = connection
        self.dot = QLabel("●")
        self.label = QLabel()
        self.label.setObjectName("statusText")
        self.retry_button = _link_button("Retry now", "retryButton")
        self.resolve_button = _link_button("Resolve…", "resolveButton")
        self.note = QLabel("")
        self.note.setObjectName("networkNote")
        self.note.setStyleSheet("color: #b06000")
        self.details_button = _link_button("Details…", "detailsButton")
        self.details_dialog: ConnectionDetailsDialog | None = None
        self.view_only = QLabel("· View only")
        self.view_only.setObjectName("viewOnly")
        self.view_only.setStyleSheet("color: #5f6368")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.resolve_button)
        layout.addWidget(self.view_only)
        layout.addWidget(self.note)
        layout.addWidget(self.details_button)
        self.details_button.clicked.connect(lambda *_: self.show_details())
        connection.noteChanged.connect(self.show_note)
        self.show_note(connection.note)
        self.retry_button.clicked.connect(lambda *_: connection.retry_now())
        self.resolve_button.clicked.connect(lambda *_: connection.request_resolution())
        connection.statusChanged.connect(self.show_status)
        connection.readOnlyChanged.connect(
            lambda _ro: self.show_status(connection.text, connection.kind)
        )
        self.show_status(connection.text, connection.kind)

    @property
    def text(self) -> str:
        return self.label.text()

    def show_note(self, note: str) -> None:
        self.note.setText(f"· {note}" if note else "")
        self.note.setVisible(bool(note))

    def show_details(self) -> ConnectionDetailsDialog:
        """Open (or raise) the Connection details dialog."""
        if self.details_dialog is None:
            self.details_dialog = ConnectionDetailsDialog(self.connection, self.window())
            self.details_dialog.finished.connect(self._details_closed)
        self.details_dialog.show()
        self.details_dialog.raise_()
        return self.details_dialog

    def _details_closed(self, _result: int) -> None:
        dialog, self.details_dialog = self.details_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def show_status(self, text: str, kind: str) -> None:
        self.label.setText(text)
        style = f"color: {KIND_COLORS.get(kind, '#9aa0a6')}"
        if self.dot.styleSheet() != style:  # a style sheet re-polishes the widget: ~0.3 ms
            self.dot.setStyleSheet(style)  # on every "Saving…" / "All changes saved"
        self.retry_button.setVisible(kind == "offline")
        self.resolve_button.setVisible(kind == "conflict")
        self.view_only.setVisible(self.connection.read_only)
        tip = text
        retry = self.connection.retry_in
        if kind == "offline" and retry is not None:
            tip += f"\nNext attempt in {retry:.0f} s."
        if kind == "offline":
            tip += "\nYour edits are kept and will be sent when the connection returns."
        if self.connection.read_only:
            tip += "\nYou can view this document but not edit it."
        self.setToolTip(tip)
