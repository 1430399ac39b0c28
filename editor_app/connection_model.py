"""The connection to one document, as the UI sees it: its link, and honest status texts.

:class:`ConnectionModel` is a thin QObject adapter over E1's Qt-free ``SyncClient`` status
listener. It owns the wording of every status the user can see, so that the status bar, the
tests and the user guide agree on one vocabulary, and "All changes saved" is only ever shown
when the sync client says the server acknowledged every local update.

Document links (``ws://host:port/<document>``) are parsed here too, because a link is exactly
"which server, which document" — the two things a connection needs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from PySide6.QtCore import QObject, Signal

from shared import InvalidDocumentName, document_name_from_path, document_url

if TYPE_CHECKING:
    from editor_app.sync_client import ClientStatus, SyncClient

EXPECTED_LINK = "expected ws://host:port/<document> or wss://host/<document>"


class LinkError(ValueError):
    """A string that is not a Coscribe document link; the message is shown to the user."""


@dataclass(frozen=True)
class DocumentLink:
    """A parsed document link. ``url`` is normalised (no trailing slash, no fragment)."""

    url: str
    server: str  # scheme://host[:port]
    name: str  # the validated document name

    @property
    def document_url(self) -> str:
        """The URL without its query: what the sync client connects to."""
        return self.url.split("?", 1)[0]

    @property
    def token(self) -> str | None:
        """The access token a share link carries (``?token=...``), if any.

        The editor sends it in the ``Authorization: Bearer`` header rather than in the URL
        (query strings end up in proxy logs); it stays in ``url`` so that "Copy link"
        hands the same access on.
        """
        query = self.url.split("?", 1)[1] if "?" in self.url else ""
        for key, value in parse_qsl(query, keep_blank_values=False):
            if key == "token":
                return value
        return None


#: ``coscribe://host[:port]/<document>`` links open the installed app from a web page or a
#: chat message (the desktop entry registers the scheme). They mean ``wss://`` (encrypted),
#: except for a server on this computer, which has no TLS: then ``ws://``.
APP_SCHEME = "coscribe"
_LOOPBACK_HOSTS = frozenset({"localhost", "::1"})


def _from_app_link(raw: str) -> str:
    """``coscribe://host:port/doc`` -> ``wss://host:port/doc`` (``ws://`` for loopback)."""
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() != APP_SCHEME:
        return raw
    try:
        host = (urlsplit(raw).hostname or "").lower()
    except ValueError:
        return raw  # reported as "not a document link" below
    loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
    return f"{'ws' if loopback else 'wss'}://{rest}"


def parse_document_link(text: str) -> DocumentLink:
    """Parse ``ws://host:port/<document>`` (or ``wss://``, or a ``coscribe://`` app link,
    see :data:`APP_SCHEME`); raise :class:`LinkError` otherwise.

    The query string (for example ``?token=...``) is kept in ``url``: it is how a share link
    can carry credentials.
    """
    raw = _from_app_link(text.strip())
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise LinkError(f"not a document link: {text!r} ({EXPECTED_LINK})") from exc
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise LinkError(f"not a document link: {text!r} ({EXPECTED_LINK})")
    if parts.path in ("", "/"):
        raise LinkError(f"the link has no document name: {text!r} ({EXPECTED_LINK})")
    try:
        name = document_name_from_path(parts.path)
    except InvalidDocumentName as exc:
        raise LinkError(f"not a valid document name in {text!r}: {exc}") from exc
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" if port is None else f"[{parts.hostname}]:{port}"
    server = f"{parts.scheme}://{netloc}"
    url = document_url(server, name) + (f"?{parts.query}" if parts.query else "")
    return DocumentLink(url=url, server=server, name=name)


_ADJECTIVES = (
    "amber", "bright", "calm", "clever", "cosy", "crisp", "gentle", "golden", "happy",
    "jolly", "lively", "lucky", "mellow", "misty", "quiet", "rapid", "silver", "sunny",
    "swift", "tidy", "vivid", "warm", "wise", "zesty",
)  # fmt: skip
_NOUNS = (
    "badger", "breeze", "brook", "canyon", "cedar", "comet", "falcon", "fern", "harbor",
    "island", "lantern", "meadow", "orchard", "otter", "pebble", "pine", "river", "robin",
    "sparrow", "summit", "thistle", "tulip", "valley", "willow",
)  # fmt: skip


def new_document_name() -> str:
    """A random, readable, hard-to-guess name like ``sunny-otter-4821``.

    About 2^22 combinations: enough that two people pressing "New document" never collide;
    not a secret (links are meant to be shared).
    """
    return (
        f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(9000) + 1000}"
    )


# Exact texts the user sees (the user guide quotes them; tests assert them).
TEXT_CONNECTING = "Connecting…"
TEXT_OFFLINE = "Offline — changes saved on this computer"
TEXT_SAVING = "Saving…"
TEXT_SAVED = "All changes saved"
TEXT_SYNCED = "Connected — this server does not confirm saves"
TEXT_CLOSED = "Closed"


def status_text(status: ClientStatus) -> tuple[str, str]:
    """Map a sync-client status to ``(text, kind)``; ``kind`` is the lower-case status name
    (``connecting``, ``offline``, ``saving``, ``saved``, ``synced``, ``denied``, ``conflict``,
    ``closed``), which the badge uses for its color."""
    kind = status.status.name.lower()
    detail = status.detail.strip()
    if kind == "connecting":
        return TEXT_CONNECTING, kind
    if kind == "offline":
        return TEXT_OFFLINE, kind
    if kind == "saving":
        return TEXT_SAVING, kind
    if kind == "saved":
        return TEXT_SAVED, kind
    if kind == "synced":  # a plain y-websocket server: in sync, but no durable-save acks
        return TEXT_SYNCED, kind
    if kind == "denied":
        if "expired" in detail.lower():
            return "Access link expired — ask for a new link, then use File › Open link…", kind
        return (f"Access denied — {detail}" if detail else "Access denied"), kind
    if kind == "conflict":
        text = "Conflict — the server's copy of this document was re-created"
        return (f"{text} ({detail})" if detail else text), kind
    if kind == "closed":
        return TEXT_CLOSED, kind
    return (f"{status.status.name.title()} — {detail}" if detail else status.status.name), kind


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
