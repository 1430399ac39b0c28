"""Accepted sockets, counted before any HTTP is read: descriptors are a server resource too.

websockets reads the HTTP request only after accepting the TCP connection, and holds the
socket for up to ``open_timeout`` while it waits. A client that opens a thousand sockets
and never sends a request would otherwise use every file descriptor the process has and
lock honest clients out ("Too many open files"). So the server accepts its sockets itself
(:class:`Listener`) and asks its :class:`SocketGuard` about each one as it comes out of
``accept()``, before the event loop or websockets sees it:

* at most ``max_handshakes_per_ip`` sockets per address may be in the opening handshake
  (no WebSocket yet, or a plain HTTP request in progress); over that, the socket is reset;
* the process keeps ``fd_reserve`` descriptors free (for the store, logs and the listening
  socket): past that, new sockets get ``503 Service Unavailable`` and are closed.

Why not the event loop's own ``create_server``: asyncio accepts up to ``backlog`` sockets
per loop turn before any reaches ``connection_made``, and uvloop (libuv) accepts *every*
pending socket in one go, so a flood of pending connections ran the process out of
descriptors before the guard had counted one. :class:`Listener` accepts at most
:data:`ACCEPT_BATCH` sockets per loop turn and counts each at once, on either loop; the
kernel queues up to :data:`LISTEN_QUEUE` pending connections meanwhile, so a restart storm
waits instead of being dropped.

:func:`raise_fd_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at start-up.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import os
import resource
import signal
import socket
import ssl
import struct
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, cast

from websockets.asyncio.server import Server, ServerConnection
from websockets.protocol import State

log = logging.getLogger("coscribe.server")

BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 42\r\n\r\n"
    b"server is at its connection limit; retry\r\n\r\n"
)


#: Sockets the :class:`Listener` accepts per loop turn (and per listening socket).
ACCEPT_BATCH = 32
#: Seconds the :class:`Listener` stops accepting after the process ran out of descriptors.
ACCEPT_PAUSE = 0.1
#: Pending connections the kernel queues for the listening socket.
LISTEN_QUEUE = 1024


def accept_batch(
    listening: socket.socket, failed: Callable[[OSError], None]
) -> Iterator[tuple[socket.socket, Any]]:
    """The sockets (and addresses) waiting on ``listening``, up to :data:`ACCEPT_BATCH` (one
    loop turn). Stops when none is left, or after handing any other failure to ``failed``;
    one that was aborted before it was accepted is passed over."""
    for _ in range(ACCEPT_BATCH):
        try:
            sock, address = listening.accept()
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionAbortedError:
            continue
        except OSError as exc:
            failed(exc)
            return
        yield sock, address


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
        "_handed",
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
        # descriptor -> (address, bytes already read): counted, not yet adopted
        self._handed: dict[int, tuple[str, bytes]] = {}
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

    def refuse(self, why: str) -> None:
        """Count a refusal decided elsewhere (the process ran out of descriptors)."""
        self._on_refuse(why)

    def hand_over(self, fd: int, ip: str, head: bytes = b"") -> None:
        """A socket accepted (and counted) by the :class:`Listener` goes to the loop;
        ``head``: what a dispatcher already read from it (see sync_server/workers.py)."""
        self._handed[fd] = (ip, head)

    def adopt(self, fd: int) -> tuple[str, bytes] | None:
        """(address, bytes read) of a handed-over socket, now owned by its connection."""
        return self._handed.pop(fd, None)

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
#: Bytes held back after the handshake request before reading pauses (until the hand-over).
MAX_HELD = 1024 * 1024


class HandedOver:
    """Stands in for the socket in a websockets connection that gave it away (to the
    polling front, or to an :class:`~sync_server.upgraded.UpgradedSocket`)."""

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


class GuardedConnection(ServerConnection):
    """A websockets server connection that asks the :class:`SocketGuard` first, and that
    websockets only uses for the opening handshake when the relay serves a document.

    Every byte after the HTTP request (the first frames) is held back from websockets'
    reader: :meth:`hand_over` gives them, with the socket, to an
    :class:`~sync_server.upgraded.UpgradedSocket`, so the hand-over never falls in the
    middle of a frame websockets had begun to parse. :meth:`release_held` gives them to
    websockets instead (coscribe.v2 sessions, refusals), which then reads on as usual.
    """

    #: Set by the server (class attribute of a per-server subclass).
    guard: SocketGuard

    _accepted = False
    upgraded = False
    peer_ip = "?"
    _tail = b""  # the last bytes of an unfinished request head
    _held: bytearray | None = None  # bytes after the request head, not given to websockets
    _paused = False
    _handed_over = False

    def data_received(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            held += data
            if len(held) > MAX_HELD and not self._paused:
                self._paused = True
                self.transport.pause_reading()
            return
        if self._handed_over:
            return
        if self.request is not None:  # released: websockets reads the frames
            super().data_received(data)
            return
        joined = self._tail + data
        end = joined.find(b"\r\n\r\n")
        if end < 0:
            self._tail = joined[-3:]
            super().data_received(data)
            return
        cut = end + 4 - len(self._tail)
        self._tail = b""
        self._held = bytearray(data[cut:])
        super().data_received(data[:cut])

    def release_held(self) -> None:
        """Let websockets read the held bytes and everything after them."""
        held, self._held = self._held, None
        if held:
            super().data_received(bytes(held))
        self._resume()

    def take_over(self) -> tuple[asyncio.Transport, bytes, Callable[[], None]] | None:
        """For a new owner of the socket: its transport, the held bytes and the guard's
        release (call it when the connection ends). None if the connection is already
        closing or gone. websockets' connection is done with the socket afterwards."""
        if self.protocol.state is not State.OPEN or self.transport.is_closing():
            self.release_held()
            return None
        transport = self.transport
        held, self._held = self._held, None
        self._handed_over = True
        guard, ip, accepted, upgraded = self.guard, self.peer_ip, self._accepted, self.upgraded
        self._accepted = False

        def release() -> None:
            if accepted:
                guard.closed(ip, upgraded=upgraded)

        self._resume(transport)
        self.transport = HandedOver()  # type: ignore[assignment]
        return transport, bytes(held or b""), release

    def _resume(self, transport: asyncio.Transport | None = None) -> None:
        if self._paused:
            self._paused = False
            (transport or self.transport).resume_reading()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """websockets' close (it reads the held bytes first: the peer's close frame may be
        among them); nothing once the socket was handed over."""
        if not self._handed_over:
            self.release_held()
            await super().close(code, reason)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        handed = self.guard.adopt(sock.fileno()) if sock is not None else None
        if handed is not None:  # accepted and counted by the Listener
            self.peer_ip, head = handed
            self._accepted = True
            if head:  # the request's first bytes, read by the dispatcher: they come first
                self.data_received(head)
            return
        peername = transport.get_extra_info("peername")
        self.peer_ip = str(peername[0]) if peername else "?"
        why = self.guard.accept(self.peer_ip)
        if why is None:
            self._accepted = True
            return
        # Not isinstance(transport, asyncio.Transport): uvloop's transports do not derive
        # from asyncio's classes.
        if why == "busy":
            cast(asyncio.Transport, transport).write(BUSY_RESPONSE)
            cast(asyncio.Transport, transport).close()
        else:
            cast(asyncio.Transport, transport).abort()

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


def bind_listening(host: str | None, port: int) -> list[socket.socket]:
    """Bound (not yet listening) TCP sockets for ``host`` (all addresses if empty)."""
    infos = socket.getaddrinfo(
        host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    seen: set[tuple[Any, ...]] = set()
    made: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


#: Environment variable naming a worker's inherited descriptors: "<channel>,<listening>".
WORKER_ENV = "COSCRIBE_WORKER_FDS"
#: What a worker sends on its channel once it accepts sockets.
READY = b"ready"
#: Most bytes a dispatcher reads (and forwards) before it knows where a request goes.
MAX_HEAD = 8192


def worker_channel() -> tuple[socket.socket, socket.socket] | None:
    """(channel to the dispatcher, the dispatcher's listening socket) in a worker process."""
    value = os.environ.get(WORKER_ENV)
    if not value:
        return None
    channel_fd, listening_fd = (int(x) for x in value.split(","))
    return socket.socket(fileno=channel_fd), socket.socket(fileno=listening_fd)


Spawn = Callable[[Coroutine[Any, Any, None], str], object]


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset (no FIN, nothing kept for the peer)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def answer_busy(sock: socket.socket) -> None:
    """Answer 503 on a fresh socket (the reply fits its empty send buffer) and close it."""
    try:
        sock.setblocking(False)
        sock.send(BUSY_RESPONSE)
    except OSError:
        pass
    sock.close()


def _protocol_factory(ws: Server) -> Callable[[], ServerConnection]:
    """websockets' own protocol factory (the one ``serve`` gives the event loop)."""
    factory = inspect.getclosurevars(ws.create_server).nonlocals.get("protocol_factory")
    if not callable(factory):  # pragma: no cover - only if websockets changes its serve()
        raise RuntimeError("websockets.asyncio.server.serve no longer has a protocol_factory")
    return cast(Callable[[], ServerConnection], factory)


class Listener:
    """The server's listening sockets, accepted by the server itself (see module docstring).

    :meth:`install` takes the place of the event loop's server in a websockets ``serve``
    object (not yet awaited): awaiting that object then binds, listens and starts accepting
    here, and websockets' ``close``/``wait_closed``/``is_serving`` reach this object.
    Each accepted socket is counted by the guard before it is handed to the loop
    (``connect_accepted_socket``, in a task started with ``spawn``).
    """

    def __init__(
        self,
        *,
        guard: SocketGuard,
        host: str | None,
        port: int,
        spawn: Spawn,
        ssl_context: ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        sockets: list[socket.socket] | None = None,
        channel: socket.socket | None = None,
    ) -> None:
        if channel is None and sockets is None:
            inherited = worker_channel()
            if inherited is not None:
                channel, listening = inherited
                sockets = [listening]
        self.guard = guard
        self._channel = channel
        self._host = host
        self._port = port
        self._spawn = spawn
        self._ssl = ssl_context
        self._ssl_timeout = ssl_handshake_timeout
        self._sockets: list[socket.socket] = list(sockets or [])
        self._factory: Callable[[], ServerConnection] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serving = False
        self._resume: list[asyncio.TimerHandle] = []
        self._closed = asyncio.Event()

    def install(self, ws: Server) -> Server:
        """Make ``ws`` (from ``serve(...)``, not awaited) listen through this object."""
        self._factory = _protocol_factory(ws)

        async def create_server() -> asyncio.Server:
            self._start()
            return cast(asyncio.Server, self)

        ws.create_server = create_server
        return ws

    # ------------------------------------------------------------ accepting

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._serving = True
        if self._channel is not None:  # a worker: sockets come from the dispatcher
            self._channel.setblocking(False)
            self._loop.add_reader(self._channel.fileno(), self._receive, self._channel)
            self._channel.send(READY)
            return
        if not self._sockets:
            self._sockets = bind_listening(self._host, self._port)
        for sock in self._sockets:
            sock.setblocking(False)
            sock.listen(LISTEN_QUEUE)
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _receive(self, channel: socket.socket) -> None:
        """Sockets handed over by the dispatcher (with the bytes it read), a batch a turn."""
        for _ in range(ACCEPT_BATCH):
            try:
                head, fds, _, _ = socket.recv_fds(channel, MAX_HEAD, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                head, fds = b"", []
                log.warning("dispatcher channel failed: %s", exc)
            if not head and not fds:  # the dispatcher is gone: shut down like on SIGTERM
                assert self._loop is not None
                self._loop.remove_reader(channel.fileno())
                log.warning("the dispatcher closed its channel; stopping")
                os.kill(os.getpid(), signal.SIGTERM)
                return
            for fd in fds:
                self._admit(socket.socket(fileno=fd), head)

    def _accept(self, listening: socket.socket) -> None:
        """Accept up to ACCEPT_BATCH sockets (one loop turn), each counted at once."""

        def failed(exc: OSError) -> None:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.guard.refuse("busy")  # only if something else used the reserve
                self._pause(listening)
            else:
                log.warning("accept failed: %s", exc)

        for sock, address in accept_batch(listening, failed):
            self._admit(sock, b"", address)

    def _admit(self, sock: socket.socket, head: bytes, address: Any = None) -> None:
        """Ask the guard about a new socket; hand it to the loop, or refuse it."""
        if address is None:
            try:
                address = sock.getpeername()
            except OSError:  # already gone
                sock.close()
                return
        ip = str(address[0]) if isinstance(address, tuple) else "?"
        why = self.guard.accept(ip)
        if why == "busy":
            answer_busy(sock)
        elif why is not None:
            reset(sock)
        else:
            fd = sock.fileno()
            self.guard.hand_over(fd, ip, head)
            try:
                self._spawn(self._connect(sock, fd, ip), "accept")
            except Exception:  # the server is closing: this socket is not served
                self._release(fd, ip)
                sock.close()

    def _pause(self, listening: socket.socket) -> None:
        assert self._loop is not None
        self._loop.remove_reader(listening.fileno())

        def resume() -> None:
            if self._serving:
                assert self._loop is not None
                self._loop.add_reader(listening.fileno(), self._accept, listening)

        self._resume.append(self._loop.call_later(ACCEPT_PAUSE, resume))

    def _release(self, fd: int, ip: str) -> None:
        if self.guard.adopt(fd) is not None:  # no connection took it: uncount it
            self.guard.closed(ip, upgraded=False)

    async def _connect(self, sock: socket.socket, fd: int, ip: str) -> None:
        assert self._loop is not None and self._factory is not None
        try:
            if self._ssl is not None:
                await self._loop.connect_accepted_socket(
                    self._factory,
                    sock,
                    ssl=self._ssl,
                    ssl_handshake_timeout=self._ssl_timeout,
                )
            else:
                await self._loop.connect_accepted_socket(self._factory, sock)
        except BaseException as exc:
            # A failed TLS handshake, or the server closing. The loop's transport owned the
            # socket (and closed it); only the guard's count is ours to undo.
            self._release(fd, ip)
            if not isinstance(exc, Exception):
                raise
            log.debug("accepted socket not served: %s", exc)

    # ---------------------------------------------- what websockets asks of its server

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def is_serving(self) -> bool:
        return self._serving

    def get_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    async def start_serving(self) -> None:
        pass

    def close(self) -> None:
        """Stop accepting and close the listening sockets (open connections stay)."""
        if not self._serving:
            return
        self._serving = False
        for handle in self._resume:
            handle.cancel()
        self._resume.clear()
        assert self._loop is not None
        if self._channel is not None:
            if self._channel.fileno() >= 0:
                self._loop.remove_reader(self._channel.fileno())
            self._channel.close()
        else:
            for sock in self._sockets:
                self._loop.remove_reader(sock.fileno())
        for sock in self._sockets:
            sock.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def serve_forever(self) -> None:
        await self._closed.wait()
