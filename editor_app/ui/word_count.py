"""Tools ▸ Word count: words, characters (with and without spaces), pages; for the
selection too when there is one."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from editor_app.core.counts import Counts, count


class WordCountDialog(QDialog):
    def __init__(self, text: str, cursor: QTextCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wordCountDialog")
        self.setWindowTitle("Word count")
        self.document_counts = count(text)
        selected = cursor.selectedText() if cursor.hasSelection() else ""
        self.selection_counts: Counts | None = count(selected) if selected else None
        form = QFormLayout()
        figures = (
            ("Pages", "pages"),
            ("Words", "words"),
            ("Characters", "characters"),
            ("Characters excluding spaces", "characters_no_spaces"),
        )
        for label, attr in figures:
            value = f"{getattr(self.document_counts, attr):,}"
            if self.selection_counts is not None and attr != "pages":
                value = f"{getattr(self.selection_counts, attr):,} of {value}"
            form.addRow(label, QLabel(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
