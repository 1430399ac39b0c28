"""Accepted sockets, counted before any HTTP is read: descriptors are a server resource too.

websockets reads the HTTP request only after accepting the TCP connection, and holds the
socket for up to ``open_timeout`` while it waits. A client that opens a thousand sockets
and never sends a request would otherwise use every file descriptor the process has and
lock honest clients out ("Too many open files"). So :class:`GuardedConnection` asks the
server's :class:`SocketGuard` on ``connection_made``, before anything is read:

* at most ``max_handshakes_per_ip`` sockets per address may be in the opening handshake
  (no WebSocket yet, or a plain HTTP request in progress); over that, the socket is reset;
* the process keeps ``fd_reserve`` descriptors free (for the store, logs and the listening
  socket): past that, new sockets get ``503 Service Unavailable`` and are closed.

asyncio accepts up to ``backlog`` sockets per loop turn before any of them reaches
``connection_made``, so the server listens with a small accept batch
(:data:`ACCEPT_BATCH`) and then widens the kernel's queue of pending connections
(:func:`widen_listen_queue`): bursts the guard cannot see stay far below the reserve, and
a restart storm still queues in the kernel instead of being dropped.

:func:`raise_fd_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections import Counter
from collections.abc import Callable, Iterable

from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, Frame, Opcode
from websockets.protocol import Event

log = logging.getLogger("coscribe.server")

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 42\r\n\r\n"
    b"server is at its connection limit; retry\r\n\r\n"
)


#: Sockets asyncio accepts per loop turn (its ``backlog`` argument).
ACCEPT_BATCH = 32
#: Pending connections the kernel queues for the listening socket.
LISTEN_QUEUE = 1024


def widen_listen_queue(sockets: Iterable[socket.socket]) -> None:
    """Listen again with :data:`LISTEN_QUEUE` (asyncio used the accept batch for both)."""
    for ts in sockets:
        raw = socket.socket(fileno=ts.fileno())
        try:
            raw.listen(LISTEN_QUEUE)
        finally:
            raw.detach()  # the server still owns the descriptor


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft descriptor limit to the hard one; return (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the descriptor limit: %s", exc)
        else:
            log.info(
                "descriptor limit raised",
                extra={"fields": {"from": soft, "to": target, "hard": hard}},
            )
            soft = target
    return soft, hard


class SocketGuard:
    """Counts open sockets per address and in all; decides on each new one."""

    __slots__ = (
        "_handshaking",
        "_on_refuse",
        "fd_limit",
        "fd_reserve",
        "max_handshakes_per_ip",
        "open",
    )

    def __init__(
        self,
        *,
        max_handshakes_per_ip: int,
        fd_limit: int,
        fd_reserve: int,
        on_refuse: Callable[[str], None] = lambda why: None,
    ) -> None:
        self.max_handshakes_per_ip = max_handshakes_per_ip
        self.fd_limit = fd_limit
        self.fd_reserve = fd_reserve
        self._on_refuse = on_refuse
        self._handshaking: Counter[str] = Counter()
        self.open = 0

    def accept(self, ip: str) -> str | None:
        """Register a new socket from ``ip``; None, or why it must be refused."""
        if self.open >= self.fd_limit - self.fd_reserve:
            self._on_refuse("busy")
            return "busy"
        cap = self.max_handshakes_per_ip
        if cap and self._handshaking[ip] >= cap:
            self._on_refuse("handshakes")
            return "handshakes"
        self.open += 1
        self._handshaking[ip] += 1
        return None

    def upgraded(self, ip: str) -> None:
        """The socket's WebSocket handshake completed: it no longer counts as opening."""
        self._release(ip)

    def closed(self, ip: str, *, upgraded: bool) -> None:
        self.open -= 1
        if not upgraded:
            self._release(ip)

    def handshaking(self, ip: str) -> int:
        return self._handshaking[ip]

    def _release(self, ip: str) -> None:
        n = self._handshaking[ip] - 1
        if n > 0:
            self._handshaking[ip] = n
        else:
            del self._handshaking[ip]


#: Receives each complete data message: (payload, whether it came in text frames).
Deliver = Callable[[bytes, bool], None]


class GuardedConnection(ServerConnection):
    """A websockets server connection that asks the :class:`SocketGuard` first.

    It can also hand each complete message to a callback (:meth:`deliver_directly`) as
    soon as its last frame is parsed, instead of queueing it for ``recv()``: no task
    switch, future or queue per message. websockets still parses and checks every frame
    (masking, sizes, control frames, closing handshake).
    """

    #: Set by the server (class attribute of a per-server subclass).
    guard: SocketGuard

    _accepted = False
    upgraded = False
    peer_ip = "?"
    _deliver: Deliver | None = None
    _fragments: list[bytes] | None = None
    _fragments_text = False

    def deliver_directly(self, deliver: Deliver) -> bool:
        """From now on, pass every complete message to ``deliver``; False if messages are
        still queued for ``recv()`` (read them first, then call again)."""
        frames = getattr(self.recv_messages, "frames", None)
        if frames is None or len(frames):
            return False
        self._deliver = deliver
        return True

    def process_event(self, event: Event) -> None:
        deliver = self._deliver
        if deliver is None or not isinstance(event, Frame) or event.opcode not in DATA_OPCODES:
            super().process_event(event)
            return
        data = bytes(event.data)
        if event.opcode is Opcode.CONT:
            if self._fragments is None:  # websockets' parser refuses this already
                return
            self._fragments.append(data)
            if not event.fin:
                return
            data, text = b"".join(self._fragments), self._fragments_text
            self._fragments = None
        else:
            text = event.opcode is Opcode.TEXT
            if not event.fin:
                self._fragments, self._fragments_text = [data], text
                return
        deliver(data, text)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peername = transport.get_extra_info("peername")
        self.peer_ip = str(peername[0]) if peername else "?"
        why = self.guard.accept(self.peer_ip)
        if why is None:
            self._accepted = True
            return
        assert isinstance(transport, asyncio.Transport)
        if why == "busy":
            transport.write(_BUSY)
            transport.close()
        else:
            transport.abort()

    def mark_upgraded(self) -> None:
        if self._accepted and not self.upgraded:
            self.upgraded = True
            self.guard.upgraded(self.peer_ip)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._accepted:
            self._accepted = False
            self.guard.closed(self.peer_ip, upgraded=self.upgraded)
        super().connection_lost(exc)


def guarded_connection_class(guard: SocketGuard) -> type[GuardedConnection]:
    """A GuardedConnection subclass bound to ``guard`` (websockets takes a class)."""
    return type("CoscribeConnection", (GuardedConnection,), {"guard": guard})
