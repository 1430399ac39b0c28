"""Find and replace (Ctrl+F / Ctrl+H): a small tool window over the editor.

It drives only EditorWidget's public search API (``find``, ``replace_selection``,
``replace_all``), so every replacement goes through the CRDT binding like typing does and
undo takes it back as the user's own edit.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)


class Searchable(Protocol):
    """The part of EditorWidget this dialog uses."""

    def find(self, text: str, *, case_sensitive: bool = False, backward: bool = False) -> bool: ...
    def replace_selection(self, text: str) -> None: ...
    def replace_all(self, find: str, replace: str, *, case_sensitive: bool = False) -> int: ...
    def textCursor(self) -> QTextCursor: ...  # noqa: N802 (Qt's name)


class FindReplaceDialog(QDialog):
    def __init__(self, editor: Searchable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findReplaceDialog")
        self.setWindowTitle("Find and replace")
        self.setModal(False)
        self.editor = editor
        self.find_edit = QLineEdit()
        self.find_edit.setObjectName("findEdit")
        self.replace_edit = QLineEdit()
        self.replace_edit.setObjectName("replaceEdit")
        self.case_box = QCheckBox("Match case")
        self.message = QLabel("")
        self.message.setObjectName("findResult")
        self.next_button = QPushButton("Next")
        self.prev_button = QPushButton("Previous")
        self.replace_button = QPushButton("Replace")
        self.replace_all_button = QPushButton("Replace all")
        self.next_button.setDefault(True)

        grid = QGridLayout(self)
        grid.addWidget(QLabel("Find"), 0, 0)
        grid.addWidget(self.find_edit, 0, 1)
        grid.addWidget(QLabel("Replace with"), 1, 0)
        grid.addWidget(self.replace_edit, 1, 1)
        grid.addWidget(self.case_box, 2, 1)
        row = QHBoxLayout()
        for button in (
            self.prev_button,
            self.next_button,
            self.replace_button,
            self.replace_all_button,
        ):
            row.addWidget(button)
        grid.addLayout(row, 3, 0, 1, 2)
        grid.addWidget(self.message, 4, 0, 1, 2, Qt.AlignmentFlag.AlignLeft)

        self.next_button.clicked.connect(lambda *_: self.find_next())
        self.prev_button.clicked.connect(lambda *_: self.find_previous())
        self.replace_button.clicked.connect(lambda *_: self.replace())
        self.replace_all_button.clicked.connect(lambda *_: self.replace_all())
        self.find_edit.returnPressed.connect(self.find_next)

    @property
    def case_sensitive(self) -> bool:
        return self.case_box.isChecked()

    def show_for(self, *, replace: bool) -> None:
        """Show the dialog, focused on the find field (Ctrl+F) or the replace field (Ctrl+H)."""
        selected = self.editor.textCursor().selectedText()
        if selected and "\n" not in selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.show()
        self.raise_()
        target = self.replace_edit if replace and self.find_edit.text() else self.find_edit
        target.setFocus()
        target.selectAll()

    def find_next(self) -> bool:
        return self._find(backward=False)

    def find_previous(self) -> bool:
        return self._find(backward=True)

    def _find(self, *, backward: bool) -> bool:
        needle = self.find_edit.text()
        if not needle:
            self.message.setText("")
            return False
        found = self.editor.find(needle, case_sensitive=self.case_sensitive, backward=backward)
        self.message.setText("" if found else f"“{needle}” not found")
        return found

    def _selection_matches(self) -> bool:
        selected, needle = self.editor.textCursor().selectedText(), self.find_edit.text()
        if self.case_sensitive:
            return selected == needle
        return selected.casefold() == needle.casefold()

    def replace(self) -> bool:
        """Replace the current match (if the selection is one), then go to the next match."""
        if not self.find_edit.text():
            return False
        replaced = False
        if self._selection_matches():
            self.editor.replace_selection(self.replace_edit.text())
            replaced = True
        self.find_next()
        return replaced

    def replace_all(self) -> int:
        needle = self.find_edit.text()
        if not needle:
            return 0
        count = self.editor.replace_all(
            needle, self.replace_edit.text(), case_sensitive=self.case_sensitive
        )
        self.message.setText(f"Replaced {count} occurrence" + ("" if count == 1 else "s"))
        return count
