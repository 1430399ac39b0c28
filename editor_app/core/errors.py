"""The editor's errors: branches of Coscribe's one error tree (:mod:`shared.errors`).

Everything the editor raises on purpose derives from :class:`shared.errors.CollabError`
(what the user typed sits beside ``InvalidDocumentName``; failures on our side under
``LocalError``). Each class also keeps the built-in base it always had (``ValueError``,
``OSError``, ``AssertionError``), so code that caught those goes on working::

    CollabError (shared.errors)
    ├── NetworkError (also OSError)            the way to the server failed
    │   ├── Unreachable                        no answer: refused, DNS, timeout, reset, 5xx
    │   ├── Blocked                            something in between refuses what we need
    │   │   └── WebSocketBlocked               ... the WebSocket upgrade (polling may work)
    │   ├── ProxyAuthRequired                  the proxy wants (other) credentials (407)
    │   ├── ServerRefused                      the Coscribe server said no (401/403/429...)
    │   ├── UnknownSession                     the server no longer has our session (404)
    │   └── NotCoscribeV2                      the server does not speak coscribe.v2
    ├── LinkError (also ValueError)            not a document link; the message is for the user
    ├── UnsupportedFileType (also ValueError)  an export/import format the editor does not handle
    ├── InvalidColor (also ValueError)         a cursor color that is not ``#rrggbb``
    └── LocalError (shared.errors)
        ├── ExportError (also OSError)         writing an export file failed
        ├── SurrogateSplit (also ValueError)   a UTF-16 range that cuts a surrogate pair
        ├── PositionUnavailable (also ValueError)  no relative position can be computed now
        ├── UnreadableEncoding (also ValueError)   pycrdt bytes that do not decode: a bug
        └── BindingDesync (also AssertionError)  Qt and the text mirror disagree: a bug

Qt-free on purpose: the Qt layer raises some of these (:class:`BindingDesync`,
:class:`ExportError`), but the tree is one module that every layer may import.
"""

from __future__ import annotations

from shared.errors import CollabError, LocalError

__all__ = [
    "BindingDesync",
    "Blocked",
    "NetworkError",
    "NotCoscribeV2",
    "ProxyAuthRequired",
    "ServerRefused",
    "UnknownSession",
    "Unreachable",
    "WebSocketBlocked",
    "ExportError",
    "InvalidColor",
    "LinkError",
    "PositionUnavailable",
    "SurrogateSplit",
    "UnreadableEncoding",
    "UnsupportedFileType",
]


class LinkError(CollabError, ValueError):
    """A string that is not a Coscribe document link; the message is shown to the user."""


class UnsupportedFileType(CollabError, ValueError):
    """An export format or import file type the editor does not handle."""


class InvalidColor(CollabError, ValueError):
    """A cursor color that is not written ``#rrggbb``."""


class ExportError(LocalError, OSError):
    """Writing the export file failed (permissions, full disk, a Qt writer refused)."""


class SurrogateSplit(LocalError, ValueError):
    """A UTF-16 range whose start or end falls between the two halves of a surrogate pair.

    pycrdt counts UTF-8 bytes and cannot express such an edit, and as a Yjs update it would
    make Yjs and yrs diverge (the relay refuses it with 1007), so nothing is changed. The
    Qt binding never asks for one: Qt edits whole code points.
    """


class PositionUnavailable(LocalError, ValueError):
    """No Yjs RelativePosition can be computed right now: pycrdt refuses to read a document
    inside one of its observers. Retry once the transaction is over."""


class UnreadableEncoding(LocalError, ValueError):
    """Bytes from pycrdt (an update, a state vector) that do not decode as lib0 says they
    should: truncated, or a number too large for Yjs. A bug, or a pycrdt we do not know."""


class BindingDesync(LocalError, AssertionError):
    """Qt and the text mirror disagree about the document length: a bug, never user error."""


class NetworkError(CollabError, OSError):
    """The way to the server failed; ``str()`` says how, in words for the details view."""


class Unreachable(NetworkError):
    """No usable answer: connection refused or reset, name not found, timeout, or a 502/503
    from something in front of the server. Retried with backoff ("Can't reach the server")."""


class Blocked(NetworkError):
    """A proxy or firewall refuses the connection (a CONNECT refused for wss://, a proxy's
    403). Retried with backoff, but a person has to know."""


class WebSocketBlocked(Blocked):
    """The WebSocket upgrade was refused, answered with something else, or never answered
    (no 101 within the open timeout): HTTP long polling may still get through. ``status``
    is the HTTP status that came back instead of 101, if any."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ProxyAuthRequired(NetworkError):
    """The proxy answered 407: it needs a user name and password, or refused the ones given.
    Not retried until the settings change ("The proxy needs a password")."""

    def __init__(self, message: str, *, had_credentials: bool) -> None:
        super().__init__(message)
        self.had_credentials = had_credentials


class ServerRefused(NetworkError):
    """The Coscribe server itself refused (its answer carries ``X-Coscribe-Refusal``).

    ``status`` is the HTTP status, ``why`` the server's refusal kind (``token``,
    ``revoked``, ``origin``, ``ip_rate``...), ``str()`` its reason for a person.
    """

    def __init__(self, message: str, *, status: int, why: str) -> None:
        super().__init__(message)
        self.status = status
        self.why = why

    @property
    def retryable(self) -> bool:
        return self.status in (408, 429, 503)


class UnknownSession(NetworkError):
    """The server does not know (or no longer has) the session: open a new one."""


class NotCoscribeV2(NetworkError):
    """The server does not speak coscribe.v2 (a stock y-websocket server, an older Coscribe):
    use one WebSocket per document."""
