"""The connection to one document, as the UI sees it: its link and its status text.

:class:`ConnectionModel` is a thin QObject adapter over the Qt-free ``SyncClient`` status
listener: it re-emits :func:`~editor_app.core.status_text.status_text` (the one vocabulary
of status texts) as signals, and holds no network code and no widgets. Links are parsed by
:mod:`editor_app.core.links`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from editor_app.core.links import DocumentLink
from editor_app.core.status_text import status_text

if TYPE_CHECKING:
    from editor_app.core.sync_client import ClientStatus, SyncClient


class ConnectionModel(QObject):
    """Qt signals for one SyncClient's status. Holds no network code and no widgets."""

    statusChanged = Signal(str, str)  # text, kind
    readOnlyChanged = Signal(bool)
    conflictDetected = Signal(str)  # detail; emitted once per conflict episode

    def __init__(self, client: SyncClient, link: DocumentLink, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.link = link
        self._text, self._kind = status_text(client.status)
        self._read_only = bool(client.status.read_only)
        self._retry_in: float | None = client.status.retry_in
        self._unsubscribe: Callable[[], None] | None = client.add_listener(self._on_status)

    @property
    def text(self) -> str:
        return self._text

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def retry_in(self) -> float | None:
        """Seconds until the next reconnection attempt while offline (for a tooltip)."""
        return self._retry_in

    def retry_now(self) -> None:
        """The user asked to reconnect immediately (status badge "Retry")."""
        self.client.reconnect_now()

    def request_resolution(self) -> None:
        """Ask the conflict question again (the user chose "Decide later" before)."""
        if self._kind == "conflict":
            self.conflictDetected.emit(self.client.status.detail)

    def detach(self) -> None:
        """Stop listening (the window is closing); idempotent."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_status(self, status: ClientStatus) -> None:
        text, kind = status_text(status)
        self._retry_in = status.retry_in
        was_conflict = self._kind == "conflict"
        if (text, kind) != (self._text, self._kind):
            self._text, self._kind = text, kind
            self.statusChanged.emit(text, kind)
        if bool(status.read_only) != self._read_only:
            self._read_only = bool(status.read_only)
            self.readOnlyChanged.emit(self._read_only)
        if kind == "conflict" and not was_conflict:
            self.conflictDetected.emit(status.detail)
