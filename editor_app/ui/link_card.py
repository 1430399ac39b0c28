"""The card under a link the caret is in, as Google Docs shows one: the address (click
it to open the page), Edit and Remove; Ctrl+click on a link opens it too.

Only the widget: the editor decides when it shows, where, and what opening means
(``EditorWidget.linkRequested``, which only ever carries an address
:func:`editor_app.core.autolink.openable` allows).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, Qt, Signal, SignalInstance
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

#: The longest address shown in full; longer ones are cut in the middle.
SHOWN_CHARS = 60


def shown_address(href: str, limit: int = SHOWN_CHARS) -> str:
    """``href`` cut in the middle to ``limit`` characters (its start and end are what
    tell one address from another)."""
    if len(href) <= limit:
        return href
    half = (limit - 1) // 2
    return f"{href[:half]}…{href[-(limit - 1 - half) :]}"


class LinkCard(QFrame):
    """Address + Edit + Remove, floating over the editor's viewport.

    Signals:
        openRequested(str): the address was clicked.
        editRequested(): Edit was clicked.
        removeRequested(): Remove was clicked.
    """

    openRequested = Signal(str)
    editRequested = Signal()
    removeRequested = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("linkCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the caret stays in the text
        self.href = ""
        self.address = QLabel(self)
        self.address.setObjectName("linkCardAddress")
        self.address.setTextFormat(Qt.TextFormat.RichText)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.address.linkActivated.connect(self._open)
        self.edit = self._button("Edit", "linkCardEdit", self.editRequested)
        self.remove = self._button("Remove", "linkCardRemove", self.removeRequested)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.address)
        row.addWidget(self.edit)
        row.addWidget(self.remove)
        self.hide()

    def _button(self, text: str, name: str, clicked: SignalInstance) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(clicked)
        return button

    def _open(self, _shown: str) -> None:
        self.openRequested.emit(self.href)  # the link's own address, not the label's copy

    def show_for(self, href: str, at: QPoint, *, can_open: bool, can_edit: bool) -> None:
        """Show ``href`` with its top-left at ``at`` (kept inside the parent)."""
        self.href = href
        text = html.escape(shown_address(href))
        if can_open:
            self.address.setText(f'<a href="{html.escape(href, quote=True)}">{text}</a>')
            self.address.setToolTip("Open the link (or Ctrl+click it in the text)")
        else:  # shown, never opened: file:, javascript:, an app's scheme ...
            self.address.setText(f"{text} <i>(not opened: not a web address)</i>")
            self.address.setToolTip("")
        self.edit.setVisible(can_edit)
        self.remove.setVisible(can_edit)
        self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            x = max(0, min(at.x(), parent.width() - self.width()))
            y = min(at.y(), max(0, parent.height() - self.height()))
            at = QPoint(x, y)
        self.move(at)
        self.show()
        self.raise_()
