"""A coscribe.v1 Python client and a stock Yjs client on one document (our relay only).

The relay speaks Coscribe's extensions (HELLO, ACK) only on connections that negotiated
the ``coscribe.v1`` subprotocol. A stock y-websocket client offers no subprotocol and would
log "Unable to compute message" (or worse) on an unknown message type, so it must never
receive one, even while it shares a document with an extension-speaking client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from shared.messages import EMPTY_UPDATE, Hello, SyncStep1, SyncStep2
from shared.session import Acknowledged, HelloReceived
from tests.support.client import py_client
from tests.support.waiting import wait_until, wait_until_async

from .conftest import SpawnNode
from .node_client import NodeClient
from .servers import Relay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

#: The message types of plain y-websocket: sync, awareness, auth, query-awareness.
STOCK_MESSAGE_TYPES = {0, 1, 2, 3}


async def test_extension_client_and_stock_client_share_a_document(
    coscribe: Relay, room: str, node_clients: SpawnNode
) -> None:
    async with coscribe.serve() as url:
        js = await node_clients(url, room)
        async with py_client(url, room, coscribe_v1=True) as py:
            assert py.ws.subprotocol == "coscribe.v1"
            assert py.session.extensions
            await py.wait_synced()
            assert any(isinstance(e, HelloReceived) for e in py.events)

            # Edits and presence both ways, while the extension client gets ACKs.
            await js.insert(0, "안녕 from node 😀")
            await py.wait_text("안녕 from node 😀")
            await py.insert(2, ", 김민준")
            await js.wait_text("안녕, 김민준 from node 😀")
            await py.format(0, 2, {"bold": True})
            await py.set_presence({"user": {"name": "김민준", "color": "#00897b"}})
            js_id = await js.set_presence({"user": {"name": "node", "color": "#5e35b1"}})
            await wait_until(lambda: js_id in py.awareness_states(), "python sees node presence")
            await wait_until(
                lambda: py.session.all_acknowledged,
                "the relay to acknowledge every update the python client sent",
            )
            assert any(isinstance(e, Acknowledged) for e in py.events)
            # One more round trip after the ACKs, so whatever the relay sent around them has
            # reached the stock client before its message types are counted.
            await js.insert(0, "!")
            await py.wait_text("!안녕, 김민준 from node 😀")

            received = await js.received_types()
            assert set(received) <= STOCK_MESSAGE_TYPES, f"stock client got {received}"
            assert received.get(0, 0) > 0 and received.get(1, 0) > 0
            assert js.stderr_text() == ""
        assert set(await js.received_types()) <= STOCK_MESSAGE_TYPES
        assert js.stderr_text() == ""


async def test_stock_client_joining_an_extension_client_gets_no_extension_messages(
    coscribe: Relay, room: str, node_clients: SpawnNode
) -> None:
    """The opposite order: the coscribe.v1 client is there first and has sent updates."""
    async with coscribe.serve() as url, py_client(url, room, coscribe_v1=True) as py:
        await py.wait_synced()
        await py.insert(0, "e\u0301\u1100\u1161 中文")
        await wait_until(lambda: py.session.all_acknowledged, "ACK for the python update")
        js = await node_clients(url, room)
        await js.wait_text("e\u0301\u1100\u1161 中文")
        await js.insert(0, ">")
        await py.wait_text(">e\u0301\u1100\u1161 中文")
        assert set(await js.received_types()) <= STOCK_MESSAGE_TYPES
        assert js.stderr_text() == ""


async def test_harness_sees_an_extension_message_reaching_a_stock_client(
    node_executable: str, room: str, tmp_path: Path
) -> None:
    """The oracle itself: a server that wrongly sends HELLO to a stock client is caught,
    both by the message-type tally and by y-websocket's complaint on stderr."""

    async def misbehaving(ws: ServerConnection) -> None:
        await ws.send(SyncStep1(b"\x00").encode())
        await ws.send(SyncStep2(EMPTY_UPDATE).encode())
        await ws.send(Hello("incarnation-1").encode())
        await ws.wait_closed()

    async with serve(misbehaving, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        js = await NodeClient.start(
            node_executable, f"ws://127.0.0.1:{port}", room, tmp_path / "stderr"
        )
        try:
            await js.wait_synced()

            async def tallied() -> bool:
                return 100 in await js.received_types()

            await wait_until_async(tallied, "the HELLO to be tallied")
            await wait_until(
                lambda: "Unable to compute message" in js.stderr_text(),
                "y-websocket to complain on stderr",
            )
        finally:
            await js.aclose()
