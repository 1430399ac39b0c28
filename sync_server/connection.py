"""The per-connection pump: a WebSocket on one side, a room (and the peer's session) on the other.

websockets does the opening handshake; :func:`serve_connection` then moves the socket to
an :class:`~sync_server.upgraded.UpgradedSocket` whose handler is a :class:`Connection`,
and returns: an idle connection holds no task, coroutine or websockets object, only the
socket, its frame reader, this pump and its session.

Deliberately thin. Everything protocol-shaped happens in ``shared.session.SyncSession``
(driven through the room); this module moves bytes, bounds the outbound buffer, maps
errors to close codes and logs.

Outbound messages are written straight into the connection's transport (what
``websockets.broadcast`` does) instead of through a per-peer queue and writer task: the
transport buffer IS the per-peer queue. The frames written to one peer during one event-loop
turn leave in ONE transport write (one ``send`` system call) at the start of the next turn
(:class:`_Coalescer`): a keystroke relayed as an update and a cursor update costs each other
peer one system call, not two. Frames are built here (header + the shared payload, handed
to the transport as a list, so uvloop writes them with one ``writev`` and no copy). It is
bounded by checking its size before the first write of each loop turn (the buffer only
grows at the turn's flush; over ``max_outbound_bytes``: close 4429)
and, on a timer, by the server's :class:`~sync_server.outbound.OutboundMonitor` (a peer
that stopped reading, or the server's total over its limit). The room and its other peers
never wait for a slow peer.

Closing never waits for the peer either: :meth:`Connection.kick` writes the close frame
and aborts the TCP connection if the closing handshake is not done within the close
timeout. (websockets' own ``close()`` first waits for the send buffer to drain, which a
peer that stopped reading never lets happen.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from shared.errors import CloseCode, DecodeError, ProtocolError
from shared.limits import SUBPROTOCOL
from shared.session import SyncSession

from .auth import Principal
from .config import ServerConfig
from .frames import binary_frame_head
from .metrics import Metrics
from .outbound import OutboundMonitor
from .ratelimit import TokenBucket
from .registry import RoomRefused, RoomRegistry
from .room import Peer, Room
from .sockets import GuardedConnection
from .upgraded import SocketClosed, SocketState, UpgradedSocket

log = logging.getLogger("coscribe.connection")

#: Seconds a probed peer has to answer a ping (see Room._on_awareness) before it is closed.
PROBE_TIMEOUT = 2.0

#: Messages at least this big are refused (1013) while the server's outbound total is over
#: its limit, instead of being queued (whole-document syncs, mostly).
LARGE_MESSAGE = 64 * 1024

#: Close codes that mean the peer misbehaved or was dropped: logged as warnings.
_WARN_CODES = frozenset(
    {
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_PAYLOAD,
        CloseCode.POLICY_VIOLATION,
        CloseCode.MESSAGE_TOO_BIG,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SLOW_CONSUMER,
    }
)


class _Coalescer:
    """The connections written to during this loop turn; flushed once, at the next turn."""

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[Connection] = []
        self._scheduled = False

    def mark(self, conn: Connection) -> None:
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


#: Starts a task in the server's task group (``Resource.spawn``): a probe outlives nothing.
Spawn = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]

_coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Coalescer] = (
    weakref.WeakKeyDictionary()
)


def _coalescer() -> _Coalescer:
    loop = asyncio.get_running_loop()
    found = _coalescers.get(loop)
    if found is None:
        found = _coalescers[loop] = _Coalescer(loop)
    return found


def refuse(
    peer: Peer,
    exc: ProtocolError,
    *,
    metrics: Metrics,
    fields: dict[str, object],
    logger: logging.Logger,
) -> None:
    """Close ``peer`` for a message it sent that the protocol refuses (one log line)."""
    metrics.errors_by_kind[type(exc).__name__] += 1
    logger.info(
        "refusing a message: %s: %s",
        type(exc).__name__,
        exc,
        extra={"fields": {**fields, "code": int(exc.close_code)}},
    )
    peer.kick(exc.close_code, type(exc).__name__)


def expiry_timer(
    principal: Principal, kick: Callable[[CloseCode, str], None]
) -> asyncio.TimerHandle | None:
    """Close with TOKEN_EXPIRED when ``principal``'s access token expires (None: never)."""
    expires_at = principal.expires_at
    if expires_at is None:
        return None
    loop = asyncio.get_running_loop()
    return loop.call_at(
        loop.time() + max(0.0, expires_at - time.time()),
        kick,
        CloseCode.TOKEN_EXPIRED,
        "access token expired",
    )


def deliver(
    room: Room,
    peer: Peer,
    data: bytes,
    *,
    rate: TokenBucket,
    metrics: Metrics,
    fields: dict[str, object],
    logger: logging.Logger,
) -> None:
    """One binary message from ``peer`` (a WebSocket, or a document of a coscribe.v2
    session): counted, rate-limited, handed to the room; a refused one closes the peer."""
    metrics.messages_in += 1
    metrics.bytes_in += len(data)
    if not rate.take():
        metrics.errors_by_kind["message_rate"] += 1
        peer.kick(CloseCode.POLICY_VIOLATION, "message rate limit exceeded")
        return
    try:
        room.receive(peer, data)
    except ProtocolError as exc:
        refuse(peer, exc, metrics=metrics, fields=fields, logger=logger)


class Connection:
    """One peer: the room's ``Peer`` over an :class:`~sync_server.upgraded.UpgradedSocket`,
    and that socket's handler (it reports messages, framing errors and the end here)."""

    __slots__ = (
        "_abort_timer",
        "_closing",
        "_coalescer",
        "_expiry",
        "_fields",
        "_grace",
        "_live",
        "_max_out",
        "_metrics",
        "_monitor",
        "_on_end",
        "_out",
        "_probing",
        "_rate",
        "_registry",
        "_spawn",
        "_sync_requests",
        "close_code",
        "label",
        "name",
        "principal",
        "room",
        "session",
        "socket",
        "written",
    )

    session: SyncSession
    socket: UpgradedSocket
    room: Room

    def __init__(
        self,
        spawn: Spawn,
        metrics: Metrics,
        monitor: OutboundMonitor,
        config: ServerConfig,
        name: str,
        principal: Principal,
        label: str,
        fields: dict[str, object],
    ) -> None:
        self.name = name
        self.principal = principal
        self.label = label
        self._fields = fields
        self._spawn = spawn
        self._metrics = metrics
        self._monitor = monitor
        self._max_out = config.max_outbound_bytes
        self._grace = config.close_timeout
        self._sync_requests = TokenBucket(config.sync_request_rate, config.sync_request_burst)
        self._rate = TokenBucket(config.message_rate, config.message_burst)
        self._closing = False
        self._out: list[bytes] | None = None  # frames (header, payload, ...) not yet written
        self._coalescer = _coalescer()
        self._probing = False
        self._abort_timer: asyncio.TimerHandle | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._registry: RoomRegistry | None = None
        self._live: set[Connection] | None = None
        self._on_end: Callable[[], None] | None = None
        self.close_code: CloseCode | None = None
        self.written = 0

    def start(
        self,
        room: Room,
        registry: RoomRegistry,
        live: set[Connection],
        taken: tuple[asyncio.Transport, bytes, Callable[[], None]],
        *,
        max_size: int,
        on_end: Callable[[], None],
    ) -> None:
        """Own the socket websockets handed over, join ``room``, then read the bytes that
        came after the handshake. From here on :meth:`on_lost` does all the clean-up."""
        transport, held, release = taken
        self.room = room
        self._registry = registry
        self._live = live
        self._on_end = on_end
        self.socket = UpgradedSocket.adopt(transport, self, max_size=max_size, release=release)
        live.add(self)
        self._expiry = expiry_timer(self.principal, self.kick)
        room.join(self)
        if held:
            self.socket.data_received(held)

    # ------------------------------------------------------------- SocketHandler

    def on_message(self, data: bytes, text: bool) -> None:
        """One complete message from the peer."""
        if self._closing:
            # Kicked (protocol error, rate limit, slow consumer, expiry): what is still in
            # flight is read and discarded while the close handshake completes.
            return
        metrics, fields = self._metrics, self._fields
        try:
            if text:
                metrics.messages_in += 1
                metrics.bytes_in += len(data)
                refuse(self, DecodeError("text frame: the protocol uses binary messages"),
                       metrics=metrics, fields=fields, logger=log)  # fmt: skip
                return
            deliver(
                self.room, self, data, rate=self._rate, metrics=metrics, fields=fields, logger=log
            )
        except Exception:
            metrics.errors_by_kind["internal"] += 1
            log.exception("internal error; closing peer", extra={"fields": fields})
            self.kick(CloseCode.INTERNAL_ERROR, "internal error")

    def on_failure(self, code: CloseCode, reason: str) -> None:
        """The peer broke the WebSocket framing rules (the socket reads nothing more)."""
        self._metrics.errors_by_kind["framing"] += 1
        log.info(
            "refusing a frame: %s",
            reason,
            extra={"fields": {**self._fields, "code": int(code)}},
        )
        self.kick(code, reason)

    def on_lost(self) -> None:
        """The TCP connection is gone: leave the room and stop watching."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.room.leave(self)
        if self._registry is not None:
            self._registry.release(self.room)
            self._registry = None
        if self._live is not None:
            self._live.discard(self)
        self.finished()
        self._metrics.connections_closed += 1
        _log_left(self, self._fields)
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    # ------------------------------------------------------------- Peer

    def buffered(self) -> int:
        return self.socket.transport.get_write_buffer_size()

    def write(self, message: bytes) -> None:
        out = self._out
        if out is None:
            # The first write of this loop turn. Later ones skip these checks: nothing
            # reaches the transport before the turn's flush (so its buffer stays what was
            # seen here), kick() flushes and clears ``_out``, and flush() checks the
            # socket again before anything leaves.
            if self._closing:
                return
            sock = self.socket
            if sock.state is not SocketState.OPEN:
                return
            if sock.transport.get_write_buffer_size() > self._max_out:
                self._metrics.slow_consumers += 1
                self.kick(CloseCode.SLOW_CONSUMER, "outbound queue overflow: peer reads too slowly")
                return
        size = len(message)
        if size >= LARGE_MESSAGE and not self._monitor.admits(size):
            self._metrics.errors_by_kind["outbound_total"] += 1
            self.kick(CloseCode.TRY_AGAIN_LATER, "server is busy; try again later")
            return
        # One unmasked, final binary frame (no extension is negotiated), built here: the
        # payload goes out without a copy.
        if out is None:
            self._out = [binary_frame_head(size), message]
            self._coalescer.mark(self)
        else:
            out += (binary_frame_head(size), message)
        self.written += size
        metrics = self._metrics
        metrics.messages_out += 1
        metrics.bytes_out += size

    def flush(self) -> None:
        """Hand every frame written since the last flush to the transport in one write."""
        out, self._out = self._out, None
        if not out:
            return
        sock = self.socket
        if sock.state is not SocketState.OPEN:
            return  # a close frame went out: no data frame may follow it
        transport = sock.transport
        try:
            transport.writelines(out)
        except Exception as exc:  # the transport broke under us; the connection will end
            log.debug("write failed", extra={"fields": {"peer": self.label, "error": repr(exc)}})
            return
        buffered = transport.get_write_buffer_size()
        if buffered:
            self._monitor.wrote(self, sum(map(len, out)), buffered)

    @property
    def closing(self) -> bool:
        return self._closing

    def kick(self, code: CloseCode, reason: str) -> None:
        """Close with ``code`` now; abort the TCP connection if the peer does not answer."""
        if self._closing:
            return
        self.flush()  # what was written before the close frame goes out before it
        self._closing = True
        self.close_code = code
        self._metrics.closes_by_code[int(code)] += 1
        self.socket.send_close(int(code), reason)
        self._abort_timer = asyncio.get_running_loop().call_later(self._grace, self._abort)

    def _abort(self) -> None:
        self._abort_timer = None
        if self.socket.state is not SocketState.CLOSED:
            self.socket.abort()

    def finished(self) -> None:
        """The connection ended: stop watching it."""
        self._monitor.forget(self)
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None

    def probe(self) -> None:
        """Ping now; close the connection if no pong arrives within PROBE_TIMEOUT."""
        if self._closing or self._probing:
            return
        self._probing = True
        self._spawn(self._probe(), f"probe {self.label}")

    async def _probe(self) -> None:
        try:
            await asyncio.wait_for(self.socket.ping(os.urandom(4)), PROBE_TIMEOUT)
        except TimeoutError:
            self._metrics.errors_by_kind["probe_timeout"] += 1
            self.kick(CloseCode.GOING_AWAY, "no answer to ping")
        except SocketClosed:
            pass
        finally:
            self._probing = False

    def state_requested(self, size: int) -> None:
        """Sync requests cost a whole-document encoding and send: rate-limited per peer."""
        if not self._sync_requests.take():
            self._metrics.errors_by_kind["sync_request_rate"] += 1
            self.kick(CloseCode.POLICY_VIOLATION, "too many sync requests")


def send_close(
    ws: ServerConnection, code: CloseCode, reason: str, *, logger: logging.Logger, peer: str
) -> bool:
    """Write a close frame to ``ws`` now if it is open (True); a failure is only logged.
    The caller sees to the TCP connection if the peer never answers."""
    if ws.protocol.state is not State.OPEN:
        return False
    try:
        ws.protocol.send_close(int(code), reason)
        ws.send_data()
    except Exception as exc:
        logger.debug("close failed", extra={"fields": {"peer": peer, "err": repr(exc)}})
    return True


async def serve_connection(
    ws: GuardedConnection,
    name: str,
    principal: Principal,
    registry: RoomRegistry,
    metrics: Metrics,
    config: ServerConfig,
    monitor: OutboundMonitor,
    live: set[Connection],
    spawn: Spawn,
    on_end: Callable[[], None],
) -> None:
    """Admit one WebSocket connection to its room and hand its socket over; return.

    websockets did the opening handshake; once the room is loaded the socket moves to an
    :class:`~sync_server.upgraded.UpgradedSocket` driven by a :class:`Connection` (in
    ``live`` until it closes), and websockets' connection and this coroutine end: an
    idle connection keeps no task. ``on_end`` is called once, when the connection is over
    (at once if it never joined). Never raises for peer misbehaviour: protocol errors,
    rate limits and expiry close this connection only, with a fitting close code.
    """
    extensions = ws.subprotocol == SUBPROTOCOL
    metrics.connections_opened += 1
    host, port = (ws.remote_address or ("?", 0))[:2]
    label = f"{host}:{port}"
    fields = {"peer": label, "room": name, "ext": extensions, "role": str(principal.role)}
    handed = False
    try:
        try:
            room = await registry.acquire(name)
        except RoomRefused as exc:
            metrics.errors_by_kind[exc.metric] += 1
            metrics.closes_by_code[int(exc.close_code)] += 1
            log.warning("refused: %s", exc, extra={"fields": fields})
            ws.release_held()
            await ws.close(exc.close_code, exc.reason)
            return
        log.debug("peer joined", extra={"fields": fields})
        conn = Connection(spawn, metrics, monitor, config, name, principal, label, fields)
        try:
            conn.session = room.new_session(
                conn, extensions=extensions, role=principal.role, limits=config.limits
            )
            taken = ws.take_over()
        except BaseException:
            registry.release(room)
            raise
        if taken is None:  # it closed while the room loaded
            registry.release(room)
            metrics.connections_closed += 1
            return
        handed = True
        conn.start(
            room, registry, live, taken, max_size=config.limits.max_message_size, on_end=on_end
        )
    finally:
        if not handed:
            on_end()


def _log_left(conn: Connection, fields: dict[str, object]) -> None:
    """One line per closed peer; a warning when the server closed it for cause."""
    code: int | None = conn.close_code
    if code is None:
        sock = conn.socket
        sent, rcvd = sock.close_sent, sock.close_rcvd
        code = sent if sent is not None else rcvd if rcvd is not None else 1006
    out = {**fields, "code": code}
    if code in _WARN_CODES:
        log.warning("peer closed: %s", CloseCode(code).name.lower(), extra={"fields": out})
    else:
        log.info("peer left", extra={"fields": out})
