"""The connection to one document, as the UI sees it: its link, status text and details.

:class:`ConnectionModel` is a thin QObject adapter over the Qt-free ``SyncClient`` status
listener: it re-emits :func:`~editor_app.core.status_text.status_text` (the one vocabulary
of status texts) as signals, and holds no network code and no widgets. Links are parsed by
:mod:`editor_app.core.links`. With the server's shared
:class:`~editor_app.core.server_connection.ServerConnection` it also gives the network
note ("A proxy or firewall blocks live connections — using compatibility mode"), the
"Connection details" rows and the "Test connection" action.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from editor_app.core.links import DocumentLink
from editor_app.core.server_connection import ConnectionInfo, ServerConnection, Transport
from editor_app.core.status_text import TEXT_COMPATIBILITY, status_text

if TYPE_CHECKING:
    from editor_app.core.diagnose import CheckResult
    from editor_app.core.sync_client import ClientStatus, SyncClient

#: "All changes saved" takes the place of "Saving…" once the document has stayed saved for
#: this long. While someone types, every keystroke is "Saving…" and then, a few ms later,
#: acknowledged: shown as it happens, the status flickered at typing speed. Google Docs
#: also keeps "Saving…" while you type and says "saved" when you pause.
SAVED_SETTLE_MS = 500

TRANSPORT_NAMES = {
    Transport.WEBSOCKET: "WebSocket (live connection)",
    Transport.POLLING: "HTTP long polling (compatibility mode)",
    Transport.LEGACY: "one WebSocket per document (this server does not share connections)",
    Transport.NONE: "not connected",
}


class ConnectionModel(QObject):
    """Qt signals for one SyncClient's status. Holds no network code and no widgets."""

    statusChanged = Signal(str, str)  # text, kind
    readOnlyChanged = Signal(bool)
    canCommentChanged = Signal(bool)
    conflictDetected = Signal(str)  # detail; emitted once per conflict episode
    noteChanged = Signal(str)  # the network note ("" when there is nothing to say)
    detailsChanged = Signal()

    def __init__(
        self,
        client: SyncClient,
        link: DocumentLink,
        parent: QObject | None = None,
        *,
        connection: ServerConnection | None = None,
        tester: Callable[[], Awaitable[CheckResult]] | None = None,
    ):
        super().__init__(parent)
        self.client = client
        self.link = link
        self.connection = connection
        self._tester = tester
        self._note = ""
        self._conn_unsubscribe: Callable[[], None] | None = None
        if connection is not None:
            self._conn_unsubscribe = connection.add_listener(self._on_connection)
            self._note = _note_of(connection.info)
        self._text, self._kind = status_text(client.status)
        self._read_only = bool(client.status.read_only)
        self._can_comment = bool(client.status.can_comment)
        self._retry_in: float | None = client.status.retry_in
        self._saved_later: tuple[str, str] | None = None
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SAVED_SETTLE_MS)
        self._settle.timeout.connect(self._show_saved)
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
    def can_comment(self) -> bool:
        """Whether this link may write comments (editors, owners and commenters)."""
        return self._can_comment

    @property
    def note(self) -> str:
        """What the network is doing that a person should know (or "")."""
        return self._note

    def details(self) -> list[tuple[str, str]]:
        """The rows of "Connection details": server, transport, proxy, round trip, last
        error, since when."""
        conn = self.connection
        if conn is None:
            return [
                ("Server", self.link.server),
                ("Transport", "WebSocket for this document"),
                ("Status", self._text),
            ]
        info = conn.details()
        rtt = "—" if info.rtt is None else f"{info.rtt * 1000:.0f} ms"
        state = "connected" if info.up else "not connected"
        return [
            ("Server", info.server),
            ("Transport", TRANSPORT_NAMES[info.transport]),
            ("Proxy", info.proxy),
            ("Round trip", rtt),
            ("Last error", info.last_error or "—"),
            ("Since", f"{state} since {time.strftime('%H:%M:%S', time.localtime(info.since))}"),
            ("Status", self._text),
        ]

    async def check_connection(self) -> CheckResult:
        """Try every way to the server once ("Test connection")."""
        if self._tester is None:
            from editor_app.core.diagnose import CheckResult

            return CheckResult(False, "Nothing to test: no server connection")
        return await self._tester()

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
        self._settle.stop()
        self._saved_later = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._conn_unsubscribe is not None:
            self._conn_unsubscribe()
            self._conn_unsubscribe = None

    def _on_connection(self, info: ConnectionInfo) -> None:
        note = _note_of(info)
        if note != self._note:
            self._note = note
            self.noteChanged.emit(note)
        self.detailsChanged.emit()

    def _on_status(self, status: ClientStatus) -> None:
        text, kind = status_text(status)
        self._retry_in = status.retry_in
        was_conflict = self._kind == "conflict"
        if kind == "saved" and self._kind == "saving":
            self._saved_later = (text, kind)  # shown if nothing changes for a moment
            self._settle.start()
        else:
            self._settle.stop()
            self._saved_later = None
            self._show(text, kind)
        if bool(status.read_only) != self._read_only:
            self._read_only = bool(status.read_only)
            self.readOnlyChanged.emit(self._read_only)
        if bool(status.can_comment) != self._can_comment:
            self._can_comment = bool(status.can_comment)
            self.canCommentChanged.emit(self._can_comment)
        if kind == "conflict" and not was_conflict:
            self.conflictDetected.emit(status.detail)

    def _show_saved(self) -> None:
        if self._saved_later is not None:
            text, kind = self._saved_later
            self._saved_later = None
            self._show(text, kind)

    def _show(self, text: str, kind: str) -> None:
        if (text, kind) != (self._text, self._kind):
            self._text, self._kind = text, kind
            self.statusChanged.emit(text, kind)


def _note_of(info: ConnectionInfo) -> str:
    if info.up and info.transport is Transport.POLLING:
        return TEXT_COMPATIBILITY
    return ""
