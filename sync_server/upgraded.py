"""An upgraded WebSocket: the socket's protocol once websockets finished the handshake.

websockets does the opening handshake (sync_server/sockets.py holds every byte after the
HTTP request back from it); then the relay moves the transport to an
:class:`UpgradedSocket` (``transport.set_protocol``) and the websockets connection object,
its handler task, its reader and its message queue are dropped. What stays per connection
is this object, a :class:`~sync_server.frames.FrameReader` and the transport: about half
the memory of an idle connection, and a message reaches the room straight from
``data_received`` with no generator, frame object or queue in between.

The closing handshake is RFC 6455's, server side: a close frame from the peer is answered
with one carrying the same code and the server closes the TCP connection; after the
server sent its close frame it discards data frames and waits for the peer's (the
:class:`~sync_server.connection.Connection` aborts the TCP connection if none comes
within the close timeout). A framing error closes with its code and stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
from collections.abc import Callable
from typing import Protocol, cast

from shared.errors import CloseCode

from .frames import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameReader,
    close_payload,
    frame_head,
)


class SocketState(enum.Enum):
    OPEN = enum.auto()
    CLOSING = enum.auto()  # a close frame was sent (and maybe received): no data frames
    CLOSED = enum.auto()  # the TCP connection is gone


class SocketHandler(Protocol):
    """What an :class:`UpgradedSocket` reports to (the relay's ``Connection``)."""

    def on_message(self, data: bytes, text: bool) -> None: ...

    def on_failure(self, code: CloseCode, reason: str) -> None: ...

    def on_lost(self) -> None: ...


class SocketClosed(ConnectionError):
    """The connection ended before a pong came back."""


class UpgradedSocket(asyncio.Protocol):
    """One upgraded WebSocket (see module docstring). Create it with :meth:`adopt`."""

    __slots__ = (
        "_pings",
        "_reader",
        "_release",
        "close_rcvd",
        "close_sent",
        "handler",
        "keepalive_ping",
        "state",
        "transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        handler: SocketHandler,
        max_size: int,
        release: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.handler = handler
        self.state = SocketState.OPEN
        self._reader: FrameReader | None = FrameReader(self, max_size)
        self._release: Callable[[], None] | None = release
        self._pings: dict[bytes, asyncio.Future[None]] | None = None
        #: Code of the close frame sent / received (None: none yet).
        self.close_sent: int | None = None
        self.close_rcvd: int | None = None
        #: The keepalive's last ping: (its data, or b"" once answered; when it was sent).
        self.keepalive_ping: tuple[bytes, float] | None = None

    @classmethod
    def adopt(
        cls,
        transport: asyncio.Transport,
        handler: SocketHandler,
        *,
        max_size: int,
        release: Callable[[], None],
    ) -> UpgradedSocket:
        """Become ``transport``'s protocol (bytes that came before are the caller's to
        pass to :meth:`data_received`)."""
        sock = cls(transport, handler, max_size, release)
        transport.set_protocol(sock)
        return sock

    # ----------------------------------------------------------------- reading

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        if reader is None:
            return
        try:
            reader.feed(data)
        except FrameError as exc:
            self._reader = None  # the stream cannot be read past a framing error
            self.handler.on_failure(exc.code, exc.reason)

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = SocketState.CLOSED
        self._reader = None
        pings, self._pings = self._pings, None
        for waiter in (pings or {}).values():
            if not waiter.done():
                waiter.set_exception(SocketClosed("connection closed before the pong"))
        release, self._release = self._release, None
        if release is not None:
            release()
        self.handler.on_lost()

    def pause_writing(self) -> None:
        """Nothing waits for the buffer to drain: its size is checked on every write and
        by the server's outbound monitor (sync_server/outbound.py)."""

    def resume_writing(self) -> None:
        pass

    # FrameSink

    def on_message(self, data: bytes, text: bool) -> None:
        if self.state is SocketState.OPEN:  # after our close frame, data is discarded
            self.handler.on_message(data, text)

    def on_ping(self, data: bytes) -> None:
        if self.state is SocketState.OPEN:
            self.transport.writelines((frame_head(OP_PONG, len(data)), data))

    def on_pong(self, data: bytes) -> None:
        ping = self.keepalive_ping
        if ping is not None and ping[0] == data:
            self.keepalive_ping = (b"", ping[1])
        pings = self._pings
        if pings:
            waiter = pings.pop(data, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def on_close(self, code: int, reason: str) -> None:
        self.close_rcvd = code
        self._reader = None
        if self.state is SocketState.OPEN:
            self._write_close(code, "")
        self.transport.close()  # the server closes the TCP connection first (RFC 6455 7.1.1)

    # ----------------------------------------------------------------- writing

    @property
    def is_open(self) -> bool:
        return self.state is SocketState.OPEN

    def send_close(self, code: int, reason: str) -> bool:
        """Write a close frame now if none was sent (True); no data frame follows it."""
        if self.state is not SocketState.OPEN:
            return False
        self._write_close(code, reason)
        return True

    def _write_close(self, code: int, reason: str) -> None:
        payload = close_payload(code, reason)
        self.state = SocketState.CLOSING
        self.close_sent = code
        with contextlib.suppress(Exception):  # a broken transport: connection_lost follows
            self.transport.writelines((frame_head(OP_CLOSE, len(payload)), payload))

    def send_ping(self, data: bytes) -> None:
        if self.state is SocketState.OPEN:
            self.transport.writelines((frame_head(OP_PING, len(data)), data))

    def ping(self, data: bytes) -> asyncio.Future[None]:
        """Send a ping; the future completes when its pong arrives (SocketClosed if the
        connection ends first)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.state is SocketState.CLOSED:
            waiter.set_exception(SocketClosed("connection closed"))
            return waiter
        if self._pings is None:
            self._pings = {}
        self._pings[data] = waiter
        self.send_ping(data)
        return waiter

    def drop(self, code: int, reason: str) -> None:
        """Close frame, then close the TCP connection at once, dropping what is unsent (a
        silent peer would not answer a closing handshake)."""
        self.send_close(code, reason)
        self.transport.abort()

    def abort(self) -> None:
        """Abort with a TCP reset: the kernel drops what it still holds for the peer, too
        (a plain close would leave an orphaned socket probing a peer that never reads)."""
        reset(self.transport)


def reset(transport: asyncio.BaseTransport) -> None:
    """Abort ``transport`` with a TCP reset (SO_LINGER 0)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cast(asyncio.Transport, transport).abort()
