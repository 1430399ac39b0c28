"""*Rename…* and *Make a copy*: the two questions the document library asks, on the *On
this server* list (:class:`~editor_app.ui.start_window.LibraryPanel`, also in *File ▸
Open…*) and in a document (*File ▸ Make a copy…*).

Each dialog asks for one line (the new title; the copy's name, prefilled
``<name>-copy``), then sends it to the server (docs/api.md, "Documents (the library)")
as an asyncio task, so the window never freezes. When the server refuses, the dialog
stays open and says why in plain words under the line (a name that is taken: "There is
already a document named …"), so the person can change it and try again; when it
worked, the dialog closes and reports the document's new entry through ``answered``.

Shown with ``open()``, never ``exec()`` (a nested loop inside qasync is fragile).
"""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.errors import NotCoscribeV2, ServerRefused
from editor_app.core.library_client import DocumentEntry, LibraryClient, document_link
from editor_app.core.proxy import ProxyResolver
from editor_app.ui.background import BackgroundTasks
from editor_app.ui.version_history import describe_error

ERROR = "color: #d93025"
MUTED = "color: #5f6368"


@dataclass(frozen=True, slots=True)
class ServerAccess:
    """How to reach a server's library: its address, the access token to send, the proxy
    choice and TLS context."""

    server: str
    token: str | None = None
    proxy: ProxyResolver | None = None
    ssl: ssl_module.SSLContext | None = None

    def client(self) -> LibraryClient:
        return LibraryClient(self.server, self.token, proxy=self.proxy, ssl=self.ssl)

    def link(self, name: str) -> str:
        """The link that opens document ``name`` there (with the token, if any)."""
        return document_link(self.server, name, self.token)


def describe_library_error(exc: BaseException) -> str:
    """A failed library request in a person's words (the server's sentence if it refused)."""
    if isinstance(exc, NotCoscribeV2):
        return "This server has no document library (it may be an older Coscribe server)."
    text = describe_error(exc)
    if isinstance(exc, ServerRefused) and exc.status == 401:
        text += " Paste a link with an access token in the server box (ws://host:port?token=…)."
    return text


class LibraryRequestDialog(QDialog):
    """Asks for one line of text, then makes one library request about document ``name``
    of the server ``access`` reaches with it (:meth:`_send`, in subclasses).

    Signals:
        answered(object): the request worked; the :class:`DocumentEntry` the server answered.
    """

    answered = Signal(object)

    def __init__(
        self,
        access: ServerAccess,
        name: str,
        parent: QWidget | None = None,
        *,
        object_name: str,
        title: str,
        prompt: str,
        initial: str,
        action: str,
        note: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWindowTitle(title)
        self.access, self.name = access, name
        self._tasks = BackgroundTasks(on_change=self._update)
        self.edit = QLineEdit(initial)
        self.edit.setObjectName("libraryRequestEdit")
        self.edit.setMinimumWidth(360)
        self.edit.selectAll()
        self.error_label = QLabel()
        self.error_label.setObjectName("libraryRequestError")
        self.error_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button: QPushButton = self.buttons.addButton(
            action, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok_button.setObjectName("libraryRequestButton")
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(lambda *_: self._update())
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(prompt))
        layout.addWidget(self.edit)
        if note:
            hint = QLabel(note)
            hint.setWordWrap(True)
            hint.setStyleSheet(MUTED)
            layout.addWidget(hint)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda *_: self._tasks.cancel())
        self._say("")
        self._update()

    @property
    def busy(self) -> bool:
        """Whether the request is under way."""
        return len(self._tasks) > 0

    @property
    def error(self) -> str:
        """What went wrong, in words ("" while nothing did)."""
        return self.error_label.text()

    def accept(self) -> None:
        """Send the request (the dialog closes once it worked)."""
        if not self.busy and self.ok_button.isEnabled():
            self._tasks.spawn(self._run(self.edit.text()))

    def _accepts(self, text: str) -> bool:
        """Whether ``text`` may be sent (subclasses refuse a blank name)."""
        return True

    async def _send(self, library: LibraryClient, text: str) -> DocumentEntry:
        raise NotImplementedError

    def _describe(self, exc: BaseException, text: str) -> str:
        return describe_library_error(exc)

    async def _run(self, text: str) -> None:
        self._say("")
        try:
            async with self.access.client() as library:
                entry = await self._send(library, text)
        except Exception as exc:  # noqa: BLE001 (every failure is said, in words)
            self._say(self._describe(exc, text))
            self.edit.setFocus()
            return
        super().accept()
        self.answered.emit(entry)

    def _say(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setStyleSheet(ERROR)
        self.error_label.setVisible(bool(text))

    def _update(self) -> None:
        self.ok_button.setEnabled(not self.busy and self._accepts(self.edit.text()))
        self.edit.setReadOnly(self.busy)


class RenameDialog(LibraryRequestDialog):
    """*Rename…*: the new title of document ``name`` (prefilled with ``title``). Renaming is
    an edit of the document: everyone who has it open sees the new title at once."""

    def __init__(
        self,
        access: ServerAccess,
        name: str,
        title: str | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            access,
            name,
            parent,
            object_name="renameDialog",
            title="Rename",
            prompt=f"New title of “{(title or '').strip() or name}”:",
            initial=title or "",
            action="Rename",
            note="Everyone who has it open sees the new title at once.",
        )
        self.edit.setPlaceholderText("Untitled")

    async def _send(self, library: LibraryClient, text: str) -> DocumentEntry:
        return await library.rename(self.name, text)


class MakeCopyDialog(LibraryRequestDialog):
    """*Make a copy*: the name of a new document holding a copy of document ``name`` (on
    the same server; prefilled ``<name>-copy``), titled "Copy of <title>", with a history
    of its own.

    Signals:
        copied(str): the copy's link (with the token, if any), once it was made.
    """

    copied = Signal(str)

    def __init__(
        self,
        access: ServerAccess,
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            access,
            name,
            parent,
            object_name="makeCopyDialog",
            title="Make a copy",
            prompt=f"Name of the copy of “{name}” (its address on the server):",
            initial=f"{name}-copy",
            action="Make a copy",
            note="The copy is titled “Copy of …” and has its own history: changes to one "
            "do not reach the other.",
        )
        self.answered.connect(lambda entry: self.copied.emit(self.access.link(entry.name)))

    def _accepts(self, text: str) -> bool:
        return bool(text.strip())

    async def _send(self, library: LibraryClient, text: str) -> DocumentEntry:
        return await library.duplicate(self.name, text.strip())

    def _describe(self, exc: BaseException, text: str) -> str:
        if isinstance(exc, ServerRefused) and exc.status == 409:
            return (
                f"There is already a document named “{text.strip()}” on this server. "
                "Choose another name."
            )
        return super()._describe(exc, text)
