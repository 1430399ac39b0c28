"""Tools ▸ Word count: words, characters (with and without spaces), pages; for the
selection too when there is one. And the status bar's "Page 2 of 5" (hidden when
pageless)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from editor_app.core.counts import Counts, count
from editor_app.ui.page_layout import PageLayout


class Paged(Protocol):
    """What :class:`PageIndicator` follows (an EditorWidget)."""

    @property
    def pageChanged(self) -> SignalInstance: ...  # noqa: N802 (Qt's name)

    @property
    def pagelessChanged(self) -> SignalInstance: ...  # noqa: N802 (Qt's name)

    @property
    def pageless(self) -> bool: ...

    def page_status(self) -> tuple[int, int]: ...


def page_text(current: int, total: int) -> str:
    return f"Page {current} of {total}"


class PageIndicator(QLabel):
    """ "Page 2 of 5": the page holding the caret, of how many (next to the word count);
    hidden while the editor is pageless (there are no pages)."""

    def __init__(self, editor: Paged, parent: QWidget | None = None) -> None:
        super().__init__(page_text(*editor.page_status()), parent)
        self.setObjectName("pageIndicator")
        editor.pageChanged.connect(self._show)
        editor.pagelessChanged.connect(self._follow_pageless)
        self._follow_pageless(editor.pageless)

    def _follow_pageless(self, pageless: bool) -> None:
        self.setHidden(pageless)

    def _show(self, current: int, total: int) -> None:
        self.setText(page_text(current, total))


class WordCountDialog(QDialog):
    def __init__(self, text: str, cursor: QTextCursor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wordCountDialog")
        self.setWindowTitle("Word count")
        self.document_counts = count(text)
        layout = cursor.document().documentLayout() if cursor.document() else None
        if isinstance(layout, PageLayout) and layout.pages is not None:
            # The pages the editor shows (the sheets Print uses), not an estimate.
            counts = self.document_counts
            self.document_counts = Counts(
                counts.words, counts.characters, counts.characters_no_spaces, layout.page_count()
            )
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
        layout_box = QVBoxLayout(self)
        layout_box.addLayout(form)
        layout_box.addWidget(buttons)
