"""One keepalive task for every WebSocket connection of the relay.

websockets' own keepalive runs a task per connection (a coroutine, a sleep timer and its
future: about 2 KB of each idle connection's ~18 KB). The relay turns it off and runs this
one instead: every ``tick`` it pings each open connection whose last ping is ``interval``
old, and drops each whose pong has not come back ``timeout`` after its ping (close frame
1011 "keepalive ping timeout", then the TCP connection is aborted: a silent peer will not
answer a closing handshake). The promise is the one websockets makes: a silent peer is
dropped about ``interval + timeout`` after it went silent (docs/server.md,
``--ping-interval``).

Pings go through websockets' own bookkeeping (``pending_pings``), so a pong is matched
exactly as websockets matches the pings it sends, and ``ServerConnection.latency`` stays
meaningful.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable, Iterable

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode
from websockets.protocol import State

#: Attribute names kept on each connection (cheaper than a side table per connection).
_SENT = "_coscribe_ping"


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

    def sweep(self, connections: Iterable[ServerConnection], now: float) -> None:
        """Ping who is due, drop who did not answer in time (one pass, never waits)."""
        for ws in connections:
            if ws.protocol.state is not State.OPEN:
                continue
            sent: tuple[bytes, float] | None = getattr(ws, _SENT, None)
            if sent is None:  # first seen: its first ping is due an interval from now
                setattr(ws, _SENT, (b"", now))
                continue
            data, at = sent
            if data and data in ws.pending_pings:  # no pong yet
                if self.timeout is not None and now - at >= self.timeout:
                    self._drop(ws)
                continue
            if now - at >= self.interval:
                self._ping(ws, now)

    def _ping(self, ws: ServerConnection, now: float) -> None:
        data = struct.pack("!I", random.getrandbits(32))
        while data in ws.pending_pings:
            data = struct.pack("!I", random.getrandbits(32))
        ws.pending_pings[data] = (ws.loop.create_future(), now)
        setattr(ws, _SENT, (data, now))
        ws.protocol.send_ping(data)
        ws.send_data()

    def _drop(self, ws: ServerConnection) -> None:
        self.dropped += 1
        ws.protocol.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
        ws.send_data()
        ws.transport.abort()

    async def run(self, connections: Callable[[], Iterable[ServerConnection]]) -> None:
        """Sweep every ``tick`` until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            self.sweep(list(connections()), loop.time())
