"""First start: "What's your name?" — asked once, with the OS account as the default."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget


class NameDialog(QDialog):
    """Asks for the name collaborators will see; ``nameChosen`` carries it (OK only)."""

    nameChosen = Signal(str)

    def __init__(self, default: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("nameDialog")
        self.setWindowTitle("Welcome to Coscribe")
        self.edit = QLineEdit(default)
        self.edit.setObjectName("nameEdit")
        self.edit.selectAll()
        self.edit.setMinimumWidth(320)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What name should people you write with see?"))
        layout.addWidget(self.edit)
        hint = QLabel("You can change it later in File › Preferences.")
        hint.setStyleSheet("color: palette(mid)")
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.edit.textChanged.connect(
            lambda text: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
                bool(text.strip())
            )
        )

    def accept(self) -> None:
        name = self.edit.text().strip()
        if not name:
            return
        super().accept()
        self.nameChosen.emit(name)
