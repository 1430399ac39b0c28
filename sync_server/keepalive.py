"""One keepalive task for every WebSocket connection of the relay.

websockets' own keepalive runs a task per connection (a coroutine, a sleep timer and its
future: about 2 KB of each idle connection's ~18 KB). The relay turns it off and runs this
one instead: every ``tick`` it pings each open connection whose last ping is ``interval``
old, and drops each whose pong has not come back ``timeout`` after its ping (close frame
1011 "keepalive ping timeout", then the TCP connection is aborted: a silent peer will not
answer a closing handshake). The promise is the one websockets makes: a silent peer is
dropped about ``interval + timeout`` after it went silent (docs/server.md,
``--ping-interval``).

Relay connections are upgraded sockets (sync_server/upgraded.py), which match their
pongs themselves; coscribe.v2 sessions' WebSockets stay websockets connections and are
pinged through websockets' own bookkeeping (:class:`WebsocketsPinged`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode
from websockets.protocol import State

#: Attribute kept on each websockets connection (cheaper than a side table per connection).
_SENT = "_coscribe_ping"


class Pinged(Protocol):
    """A connection as the keepalive sees it: an upgraded socket
    (:class:`~sync_server.upgraded.UpgradedSocket`) or a websockets connection
    (:class:`WebsocketsPinged`)."""

    #: The last ping: (its data, or b"" once answered; when it was sent); None: not yet.
    keepalive_ping: tuple[bytes, float] | None

    @property
    def is_open(self) -> bool: ...

    def send_ping(self, data: bytes) -> None: ...

    def drop(self, code: int, reason: str) -> None: ...


class WebsocketsPinged:
    """A websockets connection (a coscribe.v2 session's) seen as :class:`Pinged`: pings go
    through websockets' own bookkeeping (``pending_pings``), so its pong is matched as
    websockets matches the pings it sends and ``latency`` stays meaningful."""

    __slots__ = ("ws",)

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws

    @property
    def keepalive_ping(self) -> tuple[bytes, float] | None:
        sent: tuple[bytes, float] | None = getattr(self.ws, _SENT, None)
        if sent is not None and sent[0] and sent[0] not in self.ws.pending_pings:
            return (b"", sent[1])  # answered
        return sent

    @keepalive_ping.setter
    def keepalive_ping(self, value: tuple[bytes, float] | None) -> None:
        setattr(self.ws, _SENT, value)

    @property
    def is_open(self) -> bool:
        return self.ws.protocol.state is State.OPEN

    def send_ping(self, data: bytes) -> None:
        ws = self.ws
        ws.pending_pings[data] = (ws.loop.create_future(), ws.loop.time())
        ws.protocol.send_ping(data)
        ws.send_data()

    def drop(self, code: int, reason: str) -> None:
        ws = self.ws
        ws.protocol.fail(code, reason)
        ws.send_data()
        ws.transport.abort()


class Keepalive:
    """Pings and drops (see module docstring). ``interval`` > 0; ``timeout`` None = never
    drop (only ping, as websockets does with ``ping_timeout=None``)."""

    def __init__(self, interval: float, timeout: float | None) -> None:
        if interval <= 0:
            raise ValueError("keepalive interval must be positive")
        self.interval = interval
        self.timeout = timeout
        self.tick = min(interval, timeout or interval) / 2
        self.dropped = 0

    def sweep(self, connections: Iterable[Pinged], now: float) -> None:
        """Ping who is due, drop who did not answer in time (one pass, never waits)."""
        for conn in connections:
            if not conn.is_open:
                continue
            sent = conn.keepalive_ping
            if sent is None:  # first seen: its first ping is due an interval from now
                conn.keepalive_ping = (b"", now)
                continue
            data, at = sent
            if data:  # no pong yet
                if self.timeout is not None and now - at >= self.timeout:
                    self.dropped += 1
                    conn.drop(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
                continue
            if now - at >= self.interval:
                data = os.urandom(4)
                conn.keepalive_ping = (data, now)
                conn.send_ping(data)

    async def run(self, connections: Callable[[], Iterable[Pinged]]) -> None:
        """Sweep every ``tick`` until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            self.sweep(list(connections()), loop.time())
