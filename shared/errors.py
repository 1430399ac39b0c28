"""One typed error tree for Coscribe, and the WebSocket close codes we use.

Hierarchy (every class is importable from ``shared``). Like websockets and h11, the tree
separates what the *other side* did from what went wrong on *our* side::

    CollabError                      base of everything Coscribe raises on purpose
    ├── RemoteError                  the other side: its input or its answer
    │   ├── ProtocolError            the peer broke the wire protocol
    │   │   ├── DecodeError          bytes that do not parse as a y-websocket message
    │   │   ├── UnknownMessageType   a well-formed message of a type we do not speak
    │   │   ├── InvalidUpdate        a Yjs update that cannot integrate completely
    │   │   │   └── MissingDependencies  builds on what has not arrived (may be held)
    │   │   └── AwarenessRejected    awareness over the size limit or malformed
    │   └── PermissionDenied         the server refused us (auth message or HTTP 401/403)
    ├── InvalidDocumentName (also ValueError)  a name outside ``[A-Za-z0-9._-]{1,N}``
    └── LocalError                   our side: configuration, storage, our own bugs
        ├── StorageError             the document store failed
        ├── DocumentPoisoned         an admitted update failed inside the CRDT: reload
        └── InvalidState (also AssertionError)  the API was misused (a bug in the caller)

(``MissingDependencies`` lives in ``shared.update_gate``; the server's ``ConfigError`` and
the editor's errors derive from these classes.) Each protocol error carries the
:class:`CloseCode` that the connection should be closed with, so I/O adapters never have
to map exceptions to codes themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from types import TracebackType


class CloseCode(IntEnum):
    """WebSocket close codes (RFC 6455 range plus our 4000-4999 application range)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down for good, or client navigating away
    PROTOCOL_ERROR = 1002  # malformed framing of a y-websocket message
    UNSUPPORTED_DATA = 1003  # unknown message type
    INVALID_PAYLOAD = 1007  # a Yjs update or awareness payload that does not decode
    POLICY_VIOLATION = 1008  # rate limits, slow consumer, forbidden awareness ids
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # server restarting: reconnect soon
    TRY_AGAIN_LATER = 1013  # server overloaded (room limit reached)
    # Application codes (4000-4999).
    UNAUTHORIZED = 4401  # no, invalid or expired credentials: do not retry with the same ones
    FORBIDDEN = 4403  # credentials valid but not for this document
    DOCUMENT_DELETED = 4404  # the document was deleted while the peer was connected
    TOKEN_EXPIRED = 4408  # token expired mid-session: ask the user for a new link
    TOKEN_REVOKED = 4410  # the link was revoked by its owner: ask for a new one
    SLOW_CONSUMER = 4429  # the peer did not read fast enough; its outbound queue overflowed
    INCARNATION_MISMATCH = 4409  # client refused to merge into a re-created document

    @property
    def retryable(self) -> bool:
        """Whether a client should reconnect after the server closed with this code."""
        return self not in _NOT_RETRYABLE


_NOT_RETRYABLE = frozenset(
    {
        CloseCode.UNAUTHORIZED,
        CloseCode.FORBIDDEN,
        CloseCode.TOKEN_EXPIRED,
        CloseCode.TOKEN_REVOKED,
        CloseCode.DOCUMENT_DELETED,
        CloseCode.INCARNATION_MISMATCH,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_PAYLOAD,
        CloseCode.MESSAGE_TOO_BIG,
    }
)


class CollabError(Exception):
    """Base class of every error Coscribe raises deliberately."""


class RemoteError(CollabError):
    """Something the other side sent or decided (never a bug of ours)."""


class LocalError(CollabError):
    """Something on our side: configuration, storage, or a bug of ours."""


class ProtocolError(RemoteError):
    """The peer violated the wire protocol. ``close_code`` says how to close the connection."""

    close_code: CloseCode = CloseCode.PROTOCOL_ERROR


class DecodeError(ProtocolError):
    """Bytes that are not a well-formed y-websocket message (truncated, bad varint...)."""

    close_code = CloseCode.PROTOCOL_ERROR


class UnknownMessageType(ProtocolError):
    """A message type (or sync sub-type) that this connection does not accept."""

    close_code = CloseCode.UNSUPPORTED_DATA


class InvalidUpdate(ProtocolError):
    """A Yjs update that does not decode or that the CRDT refused to integrate."""

    close_code = CloseCode.INVALID_PAYLOAD


class AwarenessRejected(ProtocolError):
    """An awareness update that is too large or claims another connection's client ids."""

    close_code = CloseCode.POLICY_VIOLATION


class PermissionDenied(RemoteError):
    """The server refused access. ``reason`` is the server's human-readable explanation."""

    def __init__(self, reason: str, close_code: CloseCode = CloseCode.FORBIDDEN) -> None:
        super().__init__(reason)
        self.reason = reason
        self.close_code = close_code


class InvalidDocumentName(CollabError, ValueError):
    """A document name that is empty, too long or has characters outside ``[A-Za-z0-9._-]``."""


class StorageError(LocalError):
    """The document store could not read or write."""


class DocumentPoisoned(LocalError):
    """An update that passed the update gate still failed inside the CRDT.

    yrs may have integrated part of it, so the live document may no longer equal its
    durable log. Its owner must stop using that document and reload it from storage
    (``sync_server.room`` does, closing the room's peers so they resync). This is a bug in
    ``shared.update_gate`` if it ever happens; the fuzzer in tests/ hunts for it.
    """


class InvalidState(LocalError, AssertionError):
    """An API was called in a state where it is not allowed: a bug in the caller."""


def is_pycrdt_panic(exc: BaseException) -> bool:
    """True for pycrdt's ``PanicException`` (a Rust panic surfaced by pyo3).

    It derives from BaseException, so ``except Exception`` does not catch it, and it is not
    importable by name; every place that must contain it checks with this function.
    """
    return type(exc).__name__ == "PanicException"


class crdt_errors:  # noqa: N801 - used like the function it was: ``with crdt_errors(X):``
    """Turn what pycrdt raises on input it cannot take into ``raise_as(message)``.

    yrs reports bad input as ValueError or RuntimeError, and a Rust panic as pyo3's
    ``PanicException``, which derives from BaseException (see :func:`is_pycrdt_panic`).
    Every other BaseException (CancelledError, KeyboardInterrupt...) passes through. This
    is the one place that catches BaseException for pycrdt's sake.

    A class, not a ``@contextmanager`` generator: it wraps every update the relay applies,
    and entering a generator-based manager costs ~2 µs, this ~0.3 µs.
    """

    __slots__ = ("_raise_as",)

    def __init__(self, raise_as: Callable[[str], BaseException]) -> None:
        self._raise_as = raise_as

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        if isinstance(exc, ValueError | RuntimeError):
            raise self._raise_as(str(exc) or type(exc).__name__) from None
        if is_pycrdt_panic(exc):
            raise self._raise_as(f"the CRDT panicked: {exc}") from None
