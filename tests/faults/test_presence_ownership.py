"""Presence ids belong to one connection: spoofs are ignored, reconnects take theirs back."""

from __future__ import annotations

import time

import pycrdt
import pytest

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.faults.proxy import FaultProxy
from tests.support.client import TestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


async def test_client_reconnecting_before_its_old_connection_died_keeps_its_presence() -> None:
    # Keepalive off: only the ownership probe can find the stalled old connection.
    config = ServerConfig(port=0, ping_interval=None, ping_timeout=None)
    async with RelayServer(config) as srv, FaultProxy("127.0.0.1", srv.port) as proxy:
        async with TestClient(f"{srv.url}/laptop") as observer:
            old_doc: pycrdt.Doc = pycrdt.Doc(client_id=4242)
            old = TestClient(f"{proxy.url}/laptop", doc=old_doc)
            async with old:
                await old.set_presence({"user": {"name": "Jiwoo", "color": "#00897b"}})
                await wait_until(lambda: 4242 in observer.awareness.states, "seen")
                (link,) = proxy.connections
                link.stall()  # Wi-Fi switched: the old TCP connection just goes silent
                # The laptop reconnects with the same Yjs client id and the same state.
                new_doc: pycrdt.Doc = pycrdt.Doc(client_id=4242)
                new_doc.apply_update(old_doc.get_update())
                async with TestClient(f"{srv.url}/laptop", doc=new_doc) as new:
                    new.awareness.apply_awareness_update(
                        old.awareness.encode_awareness_update([4242]), "copy"
                    )
                    started = time.monotonic()
                    await new.set_presence({"user": {"name": "Jiwoo", "color": "#00897b"}})
                    # The stalled connection is probed, closed, and the id passes over.
                    await wait_until(
                        lambda: srv.metrics.errors_by_kind["probe_timeout"] == 1,
                        "old connection probed and dropped",
                        within=6,
                    )
                    room = srv.registry.get("laptop")
                    assert room is not None
                    await wait_until(
                        lambda: room.presence_client_ids() == [4242] and len(room.peers) == 2,
                        "presence handed to the new connection",
                    )
                    assert 4242 in observer.awareness.states
                    assert time.monotonic() - started < 5
                # Leaving now removes it for real.
                await wait_until(lambda: 4242 not in observer.awareness.states, "removed on leave")
                link.drop()
