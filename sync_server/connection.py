"""The per-connection pump: a WebSocket on one side, a room (and the peer's session) on the other.

Deliberately thin. Everything protocol-shaped happens in ``shared.session.SyncSession``
(driven through the room); this module moves bytes, bounds the outbound buffer, maps
errors to close codes and logs.

Outbound messages are written straight into the connection's transport (what
``websockets.broadcast`` does) instead of through a per-peer queue and writer task: the
transport buffer IS the per-peer queue, and it is bounded by checking its size before each
write. A peer that lets more than ``max_outbound_bytes`` pile up is closed with
SLOW_CONSUMER; the room and its other peers never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from shared.errors import CloseCode, DecodeError, ProtocolError
from shared.limits import SUBPROTOCOL
from shared.session import SyncSession

from .auth import Principal
from .config import ServerConfig
from .metrics import Metrics
from .ratelimit import TokenBucket
from .registry import RoomRegistry, TooManyRooms

log = logging.getLogger("coscribe.connection")

#: Seconds a probed peer has to answer a ping (see Room._on_awareness) before it is closed.
PROBE_TIMEOUT = 2.0


class Connection:
    """One peer: implements the room's ``Peer`` protocol over a websockets connection."""

    __slots__ = ("_closing", "_max_out", "_metrics", "_probing", "_tg", "_ws", "label", "session")

    session: SyncSession

    def __init__(
        self,
        ws: ServerConnection,
        tg: asyncio.TaskGroup,
        metrics: Metrics,
        max_outbound_bytes: int,
    ) -> None:
        self._ws = ws
        self._tg = tg
        self._metrics = metrics
        self._max_out = max_outbound_bytes
        self._closing = False
        self._probing = False
        host, port = (ws.remote_address or ("?", 0))[:2]
        self.label = f"{host}:{port}"

    def write(self, message: bytes) -> None:
        if self._closing:
            return
        ws = self._ws
        if ws.protocol.state is not State.OPEN:
            return
        if ws.transport.get_write_buffer_size() > self._max_out:
            self._metrics.slow_consumers += 1
            self.kick(CloseCode.SLOW_CONSUMER, "outbound queue overflow: peer reads too slowly")
            return
        try:
            ws.protocol.send_binary(message)
            ws.send_data()
        except Exception as exc:  # the transport broke under us; the recv loop will end
            log.debug("write failed", extra={"fields": {"peer": self.label, "error": repr(exc)}})
            return
        self._metrics.messages_out += 1
        self._metrics.bytes_out += len(message)

    @property
    def closing(self) -> bool:
        return self._closing

    def kick(self, code: CloseCode, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._metrics.closes_by_code[int(code)] += 1
        self._tg.create_task(self._ws.close(int(code), reason), name=f"close {self.label}")

    def probe(self) -> None:
        """Ping now; close the connection if no pong arrives within PROBE_TIMEOUT."""
        if self._closing or self._probing:
            return
        self._probing = True
        self._tg.create_task(self._probe(), name=f"probe {self.label}")

    async def _probe(self) -> None:
        try:
            pong = await self._ws.ping()
            await asyncio.wait_for(pong, PROBE_TIMEOUT)
        except TimeoutError:
            self._metrics.errors_by_kind["probe_timeout"] += 1
            self.kick(CloseCode.GOING_AWAY, "no answer to ping")
        except ConnectionClosed:
            pass
        finally:
            self._probing = False


async def serve_connection(
    ws: ServerConnection,
    name: str,
    principal: Principal,
    registry: RoomRegistry,
    metrics: Metrics,
    config: ServerConfig,
) -> None:
    """Run one admitted WebSocket connection until it closes.

    Never raises for peer misbehaviour: protocol errors, rate limits and expiry close this
    connection only, with a fitting close code.
    """
    extensions = ws.subprotocol == SUBPROTOCOL
    loop = asyncio.get_running_loop()
    metrics.connections_opened += 1
    async with asyncio.TaskGroup() as tg:
        conn = Connection(ws, tg, metrics, config.max_outbound_bytes)
        fields = {"peer": conn.label, "room": name, "ext": extensions, "role": str(principal.role)}
        expiry: asyncio.TimerHandle | None = None
        if principal.expires_at is not None:
            expiry = loop.call_at(
                loop.time() + max(0.0, principal.expires_at - time.time()),
                conn.kick,
                CloseCode.TOKEN_EXPIRED,
                "access token expired",
            )
        rate = TokenBucket(config.message_rate, config.message_burst)
        try:
            room = await registry.acquire(name)
        except TooManyRooms as exc:
            metrics.errors_by_kind["too_many_rooms"] += 1
            log.warning("refused: %s", exc, extra={"fields": fields})
            conn.kick(CloseCode.TRY_AGAIN_LATER, "too many documents open; try again later")
            if expiry is not None:
                expiry.cancel()
            return
        log.debug("peer joined", extra={"fields": fields})
        close_code: int | None = None
        try:
            conn.session = room.new_session(
                conn,
                extensions=extensions,
                writable=principal.role.writable,
                limits=config.limits,
            )
            room.join(conn)
            async for data in ws:
                if conn.closing:
                    # Kicked (protocol error, rate limit, slow consumer, expiry): keep reading
                    # and discarding, or a full inbound queue would stall the close handshake.
                    continue
                metrics.messages_in += 1
                metrics.bytes_in += len(data)
                try:
                    if isinstance(data, str):
                        raise DecodeError("text frame: the protocol uses binary messages")
                    if not rate.take():
                        metrics.errors_by_kind["message_rate"] += 1
                        close_code = CloseCode.POLICY_VIOLATION
                        log.warning("closing peer: message rate limit", extra={"fields": fields})
                        conn.kick(CloseCode.POLICY_VIOLATION, "message rate limit exceeded")
                        continue
                    room.receive(conn, data)
                except ProtocolError as exc:
                    metrics.errors_by_kind[type(exc).__name__] += 1
                    close_code = exc.close_code
                    log.warning(
                        "closing peer: %s: %s",
                        type(exc).__name__,
                        exc,
                        extra={"fields": {**fields, "code": int(exc.close_code)}},
                    )
                    conn.kick(exc.close_code, type(exc).__name__)
        except ConnectionClosed:
            pass
        except Exception:
            metrics.errors_by_kind["internal"] += 1
            close_code = CloseCode.INTERNAL_ERROR
            log.exception("internal error; closing peer", extra={"fields": fields})
            conn.kick(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            if expiry is not None:
                expiry.cancel()
            room.leave(conn)
            registry.release(room)
            metrics.connections_closed += 1
            code = close_code if close_code is not None else ws.close_code
            log.info("peer left", extra={"fields": {**fields, "code": code}})
