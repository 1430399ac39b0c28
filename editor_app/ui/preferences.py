"""Preferences: display name, cursor color, default server for new documents.

Values are written to :class:`~editor_app.qt.settings.Settings` (a file in the data dir) when
the user presses OK; the application then re-announces the new name and color to everyone.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.links import LinkError, parse_document_link
from editor_app.core.presence import PALETTE
from editor_app.qt.settings import Settings


def _palette() -> tuple[str, ...]:
    """The presence palette, so the swatches match the colors cursors are drawn in."""
    return tuple(PALETTE)


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.name_edit = QLineEdit(settings.display_name)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setMaxLength(64)
        self.server_edit = QLineEdit(settings.default_server)
        self.server_edit.setObjectName("serverEdit")
        self.server_edit.setPlaceholderText("ws://host:port")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d93025")
        self._color = settings.color

        swatches = QHBoxLayout()
        self.swatch_buttons: dict[str, QPushButton] = {}
        for color in _palette():
            button = QPushButton()
            button.setFixedSize(24, 24)
            button.setToolTip(color)
            button.clicked.connect(lambda *_, c=color: self.set_color(c))
            swatches.addWidget(button)
            self.swatch_buttons[color] = button
        other = QPushButton("Other…")
        other.clicked.connect(lambda *_: self._pick_color())
        swatches.addWidget(other)
        swatches.addStretch(1)

        form = QFormLayout()
        form.addRow("Your name", self.name_edit)
        form.addRow("Your color", swatches)
        form.addRow("Server for new documents", self.server_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Collaborators see your name and color next to your cursor."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.set_color(self._color)

    @property
    def color(self) -> str:
        return self._color

    def set_color(self, color: str) -> None:
        self._color = QColor(color).name()
        for value, button in self.swatch_buttons.items():
            selected = value.lower() == self._color.lower()
            border = "3px solid #202124" if selected else "1px solid #dadce0"
            button.setStyleSheet(f"background: {value}; border-radius: 12px; border: {border};")

    def _pick_color(self) -> None:
        dialog = QColorDialog(QColor(self._color), self)
        dialog.colorSelected.connect(lambda c: self.set_color(c.name()))
        dialog.open()

    def accept(self) -> None:
        server = self.server_edit.text().strip().rstrip("/")
        try:
            parse_document_link(server + "/probe")
        except LinkError:
            self.error.setText("The server must look like ws://host:port or wss://host")
            return
        if not self.name_edit.text().strip():
            self.error.setText("Please enter a name")
            return
        self.settings.display_name = self.name_edit.text()
        self.settings.color = self._color
        self.settings.default_server = server
        super().accept()
