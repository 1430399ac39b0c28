"""The relay's one keepalive task (sync_server/keepalive.py): answering peers stay, a
silent one is dropped after about ping_interval + ping_timeout (the stall itself is tested
through a real proxy in tests/faults/test_proxy.py)."""

from __future__ import annotations

import asyncio

import pytest

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import synced_client
from tests.support.waiting import stays, wait_until

pytestmark = pytest.mark.asyncio


async def test_peers_that_answer_pings_stay_connected() -> None:
    config = ServerConfig(port=0, data_dir=None, ping_interval=0.1, ping_timeout=0.1)
    async with RelayServer(config) as srv, synced_client(srv.url + "/k") as client:
        # Pinged every 0.1 s and dropped 0.1 s after an unanswered ping: if the pongs were
        # not recognised, it would be gone within about 0.3 s.
        await stays(lambda: not client.closed, "the answering peer stays", within=1.0)
        assert srv.connection_count == 1


async def test_a_peer_that_never_answers_is_dropped() -> None:
    config = ServerConfig(port=0, data_dir=None, ping_interval=0.1, ping_timeout=0.1)
    async with RelayServer(config) as srv:
        # A raw TCP peer: it completes the WebSocket handshake, then answers nothing.
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(
            b"GET /k HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        await wait_until(lambda: srv.connection_count == 1, "the silent peer connected")
        await wait_until(lambda: srv.connection_count == 0, "the silent peer dropped", within=2)
        writer.close()
