"""A small fault-injecting TCP proxy for tests: it sits between clients and the relay.

``async with FaultProxy("127.0.0.1", server_port) as proxy`` listens on 127.0.0.1 port 0
(``proxy.port``) and forwards each accepted connection to the target. Every connection is
a :class:`ProxyConnection` whose faults can be switched at run time, while traffic flows:

* ``latency``: seconds added to every chunk, in both directions (pipelined: bytes are
  delayed, not serialised behind each other, as on a long link);
* ``throttle``: bytes per second per direction (a slow link);
* ``stall()`` / ``resume()``: stop forwarding and stop reading, without closing (a dead
  Wi-Fi: nothing arrives, nothing is refused; only keepalive can notice);
* ``cut_after(n)``: forward ``n`` more bytes (both directions together), then reset the
  connection, usually in the middle of a WebSocket frame;
* ``drop(rst=True)``: reset (RST) or close (FIN) both sides now.

``proxy.accepting = False`` refuses new connections (accept then reset: a partition),
``proxy.default_faults`` applies to connections accepted later, and ``proxy.heal()``
clears every fault. ``proxy.accepted`` records the accept time of every connection (the
restart-storm test measures reconnect spread with it).

Why a proxy and not socket tricks in the clients: the code under test (the editor's real
``SyncClient`` and the server process) stays unmodified, and a fault hits exactly what a
real network hits: bytes in flight.

Every task belongs to the proxy's TaskGroup (one handler per connection, which owns its two
pump tasks in its own TaskGroup); leaving the ``async with`` stops accepting, resets every
connection and waits for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import time
from dataclasses import dataclass, field, replace

from tests.support.tasks import TaskGroupOwner

CHUNK = 65536


@dataclass(slots=True)
class Faults:
    """The faults one connection has. Mutable on purpose: pumps read it on every chunk."""

    latency: float = 0.0
    throttle: float | None = None  # bytes per second, per direction
    stalled: bool = False
    cut_after: int | None = None  # bytes left to forward before the connection is reset

    def clear(self) -> None:
        self.latency = 0.0
        self.throttle = None
        self.stalled = False
        self.cut_after = None


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST: SO_LINGER 0 makes the kernel send a reset instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class ProxyConnection:
    """One proxied connection: client side, upstream side, and its switchable faults."""

    id: int
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    faults: Faults
    accepted_at: float
    bytes_up: int = 0  # client -> server, forwarded
    bytes_down: int = 0  # server -> client, forwarded
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _flowing: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if not self.faults.stalled:
            self._flowing.set()

    # --------------------------------------------------------------- faults

    def stall(self) -> None:
        """Stop forwarding (and reading) in both directions; the sockets stay open."""
        self.faults.stalled = True
        self._flowing.clear()

    def resume(self) -> None:
        self.faults.stalled = False
        self._flowing.set()

    def cut_after(self, n: int) -> None:
        """Forward ``n`` more bytes (both directions together), then reset."""
        self.faults.cut_after = n
        if n <= 0:
            self.drop()

    def heal(self) -> None:
        self.faults.clear()
        self._flowing.set()

    def drop(self, *, rst: bool = True) -> None:
        """Reset (or, with ``rst=False``, close with FIN) both sides now. Idempotent."""
        if self.closed.is_set():
            return
        self.closed.set()
        for writer in (self.client, self.upstream):
            if rst:
                _reset(writer)
            else:
                writer.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()  # wakes pumps that sleep (latency) or wait (stall)

    # --------------------------------------------------------------- pumping

    async def run(
        self, client_reader: asyncio.StreamReader, up_reader: asyncio.StreamReader
    ) -> None:
        graceful = False
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(client_reader, self.upstream, up=True))
                tg.create_task(self._pump(up_reader, self.client, up=False))
            graceful = True  # both sides sent FIN and everything was forwarded
        except* (ConnectionError, OSError):
            pass  # a side reset or broke: the connection is over, reset the other side too
        finally:
            self.drop(rst=not graceful)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        """Forward one direction with the current faults; a FIN is passed on as a FIN."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # the injected latency itself
                while data:
                    await self._flowing.wait()
                    rate = self.faults.throttle
                    piece = data if not rate else data[: max(1, int(rate / 20))]
                    data = data[len(piece) :]
                    if rate:
                        await asyncio.sleep(len(piece) / rate)  # the injected slowness itself
                    piece = self._spend(piece)
                    writer.write(piece)
                    await writer.drain()
                    if up:
                        self.bytes_up += len(piece)
                    else:
                        self.bytes_down += len(piece)
                    if self.faults.cut_after == 0:
                        self.drop()
                        return

        async with asyncio.TaskGroup() as tg:
            tg.create_task(deliver())
            while True:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                queue.put_nowait((loop.time() + self.faults.latency, data))
                if not data:
                    return

    def _spend(self, data: bytes) -> bytes:
        budget = self.faults.cut_after
        if budget is None:
            return data
        data = data[:budget]
        self.faults.cut_after = budget - len(data)
        return data


class FaultProxy(TaskGroupOwner):
    """``async with FaultProxy(host, port) as proxy``: a TCP proxy with switchable faults."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__()
        self.target_host = target_host
        self.target_port = target_port
        self.default_faults = Faults()
        self.accepting = True
        #: Monotonic accept time of every connection ever accepted (refused ones too).
        self.accepted: list[float] = []
        #: How many connections were refused (``accepting`` False or target down).
        self.refused = 0
        self._ids = itertools.count(1)
        self._live: dict[int, ProxyConnection] = {}
        self._server: asyncio.Server | None = None

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()

    async def _stopped(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None, "proxy not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def connections(self) -> list[ProxyConnection]:
        """The live connections, oldest first."""
        return list(self._live.values())

    def drop_all(self, *, rst: bool = True) -> None:
        for conn in self.connections:
            conn.drop(rst=rst)

    def heal(self) -> None:
        """Clear every fault: live connections, the defaults, and refusal."""
        self.default_faults.clear()
        self.accepting = True
        for conn in self.connections:
            conn.heal()

    # --------------------------------------------------------------- accepting

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback (not a coroutine), so that asyncio does not own the handler
        # task: it goes into the proxy's TaskGroup.
        self.accepted.append(time.monotonic())
        self._tg.create_task(self._serve(reader, writer))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self.refused += 1  # target down: the client sees a reset, as with no server
            _reset(writer)
            return
        conn = ProxyConnection(
            next(self._ids), writer, up_writer, replace(self.default_faults), time.monotonic()
        )
        conn._task = asyncio.current_task()
        self._live[conn.id] = conn
        try:
            await conn.run(reader, up_reader)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            if not conn.closed.is_set() or task.cancelling() > 1:
                raise  # cancelled from outside: propagate
            task.uncancel()  # cancelled by conn.drop(): the connection ended as asked
        finally:
            self._live.pop(conn.id, None)
            conn.drop()
