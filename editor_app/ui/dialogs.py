"""Small dialogs: open a link, insert a link, resolve a conflict, about.

None of them uses ``exec()``: a nested Qt event loop inside a qasync coroutine is fragile
(and blocks tests), so each dialog is shown with ``open()`` and reports through a signal or
an awaitable.
"""

from __future__ import annotations

import asyncio
from enum import Enum

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.links import EXPECTED_LINK, LinkError, parse_document_link


class OpenLinkDialog(QDialog):
    """Asks for a document link; OK is enabled only while the text is a valid link."""

    linkChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, initial: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open link")
        self.setObjectName("openLinkDialog")
        self.edit = QLineEdit(initial)
        self.edit.setObjectName("linkEdit")
        self.edit.setPlaceholderText("ws://host:port/document-name")
        self.edit.setMinimumWidth(420)
        self.error = QLabel("")
        self.error.setObjectName("linkError")
        self.error.setStyleSheet("color: #d93025")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Paste the link someone shared with you:"))
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(self._validate)
        self._validate(initial)

    def _validate(self, text: str) -> None:
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        if not text.strip():
            self.error.setText("")
            ok_button.setEnabled(False)
            return
        try:
            parse_document_link(text)
        except LinkError as exc:
            self.error.setText(str(exc))
            ok_button.setEnabled(False)
        else:
            self.error.setText("")
            ok_button.setEnabled(True)

    def accept(self) -> None:
        try:
            link = parse_document_link(self.edit.text())
        except LinkError as exc:
            self.error.setText(str(exc) or EXPECTED_LINK)
            return
        super().accept()
        self.linkChosen.emit(link.url)


class LinkDialog(QDialog):
    """Insert or edit a hyperlink on the selection; an empty URL removes the link."""

    urlChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, current: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Link")
        self.edit = QLineEdit(current)
        self.edit.setObjectName("urlEdit")
        self.edit.setPlaceholderText("https://example.org (empty removes the link)")
        self.edit.setMinimumWidth(380)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Link to:"))
        layout.addWidget(self.edit)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def accept(self) -> None:
        super().accept()
        self.urlChosen.emit(self.edit.text().strip())


class ConflictChoice(Enum):
    KEEP_COPY = "keep-copy"  # keep my version as a new document
    DISCARD = "discard"  # discard my offline changes, take the server's document
    UNDECIDED = "undecided"  # dialog dismissed: stay disconnected, ask again later


KEEP_COPY_TEXT = "Keep my version as a new document"
DISCARD_TEXT = "Discard my offline changes"


def hbox(*parts: QWidget | int | None) -> QHBoxLayout:
    """A horizontal row: widgets in order, ``None`` a stretch, an int that much space."""
    layout = QHBoxLayout()
    for part in parts:
        if part is None:
            layout.addStretch(1)
        elif isinstance(part, int):
            layout.addSpacing(part)
        else:
            layout.addWidget(part)
    return layout


def message_box(
    parent: QWidget | None,
    name: str,
    title: str,
    text: str,
    informative: str,
    icon: QMessageBox.Icon | None = None,
) -> QMessageBox:
    """A message box, not shown yet: object ``name`` (what tests find it by), window
    ``title``, the main ``text`` and the ``informative`` text under it."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    if icon is not None:
        box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(informative)
    return box


def conflict_box(parent: QWidget | None, name: str) -> QMessageBox:
    """The conflict question. Never merges silently: the server's document is a different
    document now (it was deleted and re-created), so merging would resurrect deleted text."""
    box = message_box(
        parent,
        "conflictDialog",
        "This document changed on the server",
        f"The document “{name}” was deleted and re-created on the server.",
        "Your copy on this computer has changes the new document does not know about. "
        "What should happen to them?",
        QMessageBox.Icon.Warning,
    )
    keep = box.addButton(KEEP_COPY_TEXT, QMessageBox.ButtonRole.AcceptRole)
    keep.setObjectName("keepCopyButton")
    discard = box.addButton(DISCARD_TEXT, QMessageBox.ButtonRole.DestructiveRole)
    discard.setObjectName("discardButton")
    later = box.addButton("Decide later", QMessageBox.ButtonRole.RejectRole)
    later.setObjectName("laterButton")
    box.setDefaultButton(keep)
    return box


async def ask_conflict_choice(parent: QWidget | None, name: str) -> ConflictChoice:
    """Show :func:`conflict_box` window-modally and wait for the user's answer."""
    box = conflict_box(parent, name)
    answered: asyncio.Future[ConflictChoice] = asyncio.get_running_loop().create_future()

    def finished(_result: int) -> None:
        clicked = box.clickedButton()
        choice = ConflictChoice.UNDECIDED
        if clicked is not None and clicked.objectName() == "keepCopyButton":
            choice = ConflictChoice.KEEP_COPY
        elif clicked is not None and clicked.objectName() == "discardButton":
            choice = ConflictChoice.DISCARD
        if not answered.done():
            answered.set_result(choice)

    box.finished.connect(finished)
    box.open()
    try:
        return await answered
    finally:
        box.deleteLater()


def about_box(parent: QWidget | None) -> QMessageBox:
    return message_box(
        parent,
        "aboutDialog",
        "About Coscribe",
        "<b>Coscribe</b>",
        "Write together in real time, online or offline.<br>"
        "Documents sync through a self-hosted relay speaking the Yjs protocol, and a copy "
        "of every document you open stays on this computer.",
    )
