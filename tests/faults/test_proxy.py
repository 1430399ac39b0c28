"""The fault proxy itself: each fault does what it says, against a real echo server and
against the real relay (a dropped or stalled peer is noticed by the server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.faults.proxy import FaultProxy, ProxyConnection
from tests.support.client import TestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio

DEADLINE = 5.0


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest_asyncio.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def read_exactly(reader: asyncio.StreamReader, n: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(n), DEADLINE)


async def connect_through(
    proxy: FaultProxy,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, ProxyConnection]:
    """A connection through ``proxy`` (its only one), once accepted: our streams and the
    proxy's side, to inject faults into."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    await wait_until(lambda: len(proxy.connections) == 1, "accepted", within=DEADLINE)
    return reader, writer, proxy.connections[0]


async def test_forwards_both_ways_and_passes_fin_on(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        payload = bytes(range(256)) * 1000
        writer.write(payload)
        await writer.drain()
        assert await read_exactly(reader, len(payload)) == payload
        writer.write_eof()  # half-close: the echo server sees EOF and closes its side
        assert await asyncio.wait_for(reader.read(), DEADLINE) == b""
        writer.close()
        await wait_until(lambda: not proxy.connections, "connection gone", within=DEADLINE)
        assert len(proxy.accepted) == 1 and proxy.refused == 0


async def test_latency_and_throttle_slow_traffic_down(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer, conn = await connect_through(proxy)
        conn.faults.latency = 0.1
        started = time.monotonic()
        writer.write(b"ping")
        assert await read_exactly(reader, 4) == b"ping"
        assert time.monotonic() - started >= 0.2  # 0.1 s each way
        conn.faults.latency = 0.0
        conn.faults.throttle = 100_000  # bytes/s, each direction
        started = time.monotonic()
        writer.write(b"x" * 20_000)
        await read_exactly(reader, 20_000)
        assert time.monotonic() - started >= 0.15
        writer.close()


async def test_stall_holds_bytes_without_closing_and_resume_delivers(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer, conn = await connect_through(proxy)
        conn.stall()
        writer.write(b"held")
        await writer.drain()
        with pytest.raises(TimeoutError):  # bounded negative check: nothing comes back
            await asyncio.wait_for(reader.read(4), 0.3)
        assert not conn.closed.is_set() and conn.bytes_up == 0
        conn.resume()
        assert await read_exactly(reader, 4) == b"held"
        writer.close()


async def test_cut_after_n_bytes_resets_mid_stream(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer, conn = await connect_through(proxy)
        conn.cut_after(10)  # 6 up + 4 down
        writer.write(b"abcdef")
        received = b""
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            received = await read_exactly(reader, 6)
        assert received == b""
        assert conn.bytes_up == 6 and conn.bytes_down == 4
        await wait_until(lambda: not proxy.connections, "connection gone", within=DEADLINE)
        writer.close()


@pytest.mark.parametrize("rst", [True, False])
async def test_drop_resets_or_closes_both_sides(echo_port: int, rst: bool) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer, conn = await connect_through(proxy)
        conn.drop(rst=rst)
        if rst:
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(reader.read(1), DEADLINE)
        else:
            assert await asyncio.wait_for(reader.read(1), DEADLINE) == b""
        writer.close()
        await wait_until(lambda: not proxy.connections, "connection gone", within=DEADLINE)


async def test_refusing_and_a_dead_target_reset_new_connections(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        proxy.accepting = False
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), DEADLINE)
        writer.close()
        proxy.heal()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"ok")
        assert await read_exactly(reader, 2) == b"ok"
        writer.close()
    async with FaultProxy("127.0.0.1", 1) as dead:  # nothing listens on port 1
        reader, writer = await asyncio.open_connection("127.0.0.1", dead.port)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), DEADLINE)
        writer.close()
        assert dead.refused == 1


async def test_shutdown_with_live_connections_ends_every_task(echo_port: int) -> None:
    before = len(asyncio.all_tasks())
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        streams = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(5)]
        await wait_until(lambda: len(proxy.connections) == 5, "accepted", within=DEADLINE)
        proxy.connections[0].stall()
        proxy.connections[1].faults.latency = 10.0
        streams[1][1].write(b"in flight")
    for reader, writer in streams:  # every client side was reset by the shutdown
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), DEADLINE)
        writer.close()
    assert len(asyncio.all_tasks()) == before


async def test_relay_notices_reset_at_once_and_stall_by_keepalive() -> None:
    # A stall is noticed after ping_interval + ping_timeout, and the connection is gone
    # close_timeout later (the server waits that long for a closing handshake).
    config = ServerConfig(port=0, ping_interval=0.2, ping_timeout=0.2, close_timeout=0.2)
    async with RelayServer(config) as srv, FaultProxy("127.0.0.1", srv.port) as proxy:
        async with TestClient(proxy.url + "/p") as a, TestClient(proxy.url + "/p") as b:
            await wait_until(lambda: a.synced and b.synced, "synced", within=DEADLINE)
            room = srv.registry.get("p")
            assert room is not None and len(room.peers) == 2
            first, second = proxy.connections
            first.drop()
            await wait_until(lambda: len(room.peers) == 1, "reset noticed", within=1.0)
            second.stall()
            await wait_until(lambda: not room.peers, "stall noticed by keepalive", within=2.0)
            second.drop()  # the client's side is still stalled; do not wait out its close
