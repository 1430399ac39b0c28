"""Integration tests of the relay against a real server on port 0 with real WebSocket clients."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket

import pytest
from pycrdt import Doc, Map, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from shared import CloseCode, Origin
from shared.messages import Ack, AwarenessUpdate, Hello, decode_message
from shared.session import Acknowledged, HelloReceived, IncarnationMismatched
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import TestClient, synced_client
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


def http_get(server: RelayServer, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


async def async_http_get(server: RelayServer, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(http_get, server, path)


async def test_two_clients_sync_both_ways_without_echo(memory_server: RelayServer) -> None:
    url = memory_server.url + "/notes"
    async with TestClient(url) as a, TestClient(url) as b:
        await wait_until(lambda: a.synced and b.synced, "both synced")
        await a.append("hello 안녕하세요 😀 e\u0301")
        await wait_until(lambda: str(b) == "hello 안녕하세요 😀 e\u0301", "b sees a")
        await b.insert(0, "[b] ")
        await wait_until(lambda: str(a) == str(b) == "[b] hello 안녕하세요 😀 e\u0301", "a sees b")
        await wait_until(lambda: a.saved and b.saved, "acks")
        # Never echoed: a received exactly one update message (b's), b exactly one (a's).
        updates_a = [m for m in a.raw_received if m[:2] == b"\x00\x02"]
        updates_b = [m for m in b.raw_received if m[:2] == b"\x00\x02"]
        assert len(updates_a) == 1 and len(updates_b) == 1


async def test_late_joiner_gets_document_and_ack_counts(memory_server: RelayServer) -> None:
    url = memory_server.url + "/late"
    async with TestClient(url) as a:
        for i in range(20):
            await a.append(f"line {i}\n")
        await wait_until(lambda: a.saved, "all acked")
        acks = [e for e in a.events if isinstance(e, Acknowledged)]
        assert acks and acks[-1].count == a.session.sent_document_messages  # type: ignore[union-attr]
        async with synced_client(url) as late:
            assert str(late) == str(a)


async def test_stock_client_never_sees_extension_messages(memory_server: RelayServer) -> None:
    url = memory_server.url + "/mixed"
    async with TestClient(url, extensions=False) as stock, TestClient(url) as ext:
        await wait_until(lambda: stock.synced and ext.synced, "synced")
        await ext.append("from ext")
        await stock.append("from stock ")
        await wait_until(lambda: str(stock) == str(ext) and len(str(stock)) == 19, "converge")
        await wait_until(lambda: ext.saved, "ext acked")
        for raw in stock.raw_received:
            msg = decode_message(raw, extensions=True)
            assert not isinstance(msg, Hello | Ack), msg
        assert any(isinstance(e, HelloReceived) for e in ext.events)
        assert stock.session is not None and not stock.session.extensions


async def test_awareness_relayed_and_removed_when_peer_disconnects(
    memory_server: RelayServer,
) -> None:
    url = memory_server.url + "/presence"
    async with synced_client(url) as watcher:
        other = TestClient(url, user={"name": "김민준", "color": "#e91e63"})
        async with other:
            await wait_until(lambda: other.doc.client_id in watcher.awareness.states, "seen")
            state = watcher.awareness.states[other.doc.client_id]
            assert state["user"]["name"] == "김민준"
            # A late joiner gets the current presence in its opening messages.
            async with TestClient(url) as late:
                await wait_until(
                    lambda: other.doc.client_id in late.awareness.states, "late sees presence"
                )
        # `other` closed: its state must vanish at once (no ghost cursor).
        await wait_until(
            lambda: other.doc.client_id not in watcher.awareness.states, "removed", within=2
        )
        room = memory_server.registry.get("presence")
        assert room is not None and room.presence_client_ids() == []


async def test_malformed_message_closes_only_that_connection(memory_server: RelayServer) -> None:
    url = memory_server.url + "/robust"
    async with TestClient(url) as good:
        await good.append("precious")
        await wait_until(lambda: good.saved, "saved")
        before = memory_server.registry.get("robust").doc.get_update()  # type: ignore[union-attr]
        cases = [
            (b"\x00\x02\x05\x01\x02", CloseCode.PROTOCOL_ERROR),  # length beyond buffer
            (b"\x07", CloseCode.UNSUPPORTED_DATA),  # unknown message type
            (b"\x00\x02\x03\xff\xff\xff", CloseCode.INVALID_PAYLOAD),  # undecodable update
            (b"\x00\x09\x00", CloseCode.UNSUPPORTED_DATA),  # unknown sync sub-type
            (b"\x01\x05\x01\x01\x01\x01{", CloseCode.PROTOCOL_ERROR),  # broken awareness JSON
        ]
        for payload, code in cases:
            async with connect(url) as bad:
                await bad.send(payload)
                with pytest.raises(ConnectionClosedError):
                    while True:
                        await asyncio.wait_for(bad.recv(), 5)
                assert bad.close_code == code, (payload, bad.close_code)
        async with connect(url) as bad:
            await bad.send("text frames are not allowed")
            with pytest.raises(ConnectionClosedError):
                while True:
                    await asyncio.wait_for(bad.recv(), 5)
            assert bad.close_code == CloseCode.PROTOCOL_ERROR
        assert memory_server.registry.get("robust").doc.get_update() == before  # type: ignore[union-attr]
        await good.append(" still works")
        await wait_until(lambda: good.saved, "good peer unaffected")
        assert not good.closed


async def test_oversized_message_closes_with_1009() -> None:
    config = ServerConfig(port=0, limits=ServerConfig().limits.__class__(max_message_size=4096))
    async with RelayServer(config) as srv, synced_client(srv.url + "/big") as c:
        await c.append("x" * 10_000)
        await wait_until(lambda: c.closed, "closed")
        assert c.close_code == CloseCode.MESSAGE_TOO_BIG


async def test_multi_megabyte_document_syncs(memory_server: RelayServer) -> None:
    url = memory_server.url + "/huge"
    big = "가나다라마바사 emoji 😀 " * 200_000  # ~6 MB of UTF-8
    async with TestClient(url) as a:
        await a.append(big)
        await wait_until(lambda: a.saved, "big update acked", within=30)
        async with TestClient(url) as b:
            await wait_until(lambda: b.synced, "full sync of a big doc", within=30)
            assert str(b) == big


async def test_invalid_document_names_refused_at_handshake(memory_server: RelayServer) -> None:
    for path in [
        "/",
        "/a%2Fb",
        "/../etc",
        "/has%20space",
        "/%C3%A9t%C3%A9",
        "/" + "x" * 200,
        "/a/b",
    ]:
        with pytest.raises(InvalidStatus) as info:
            async with connect(memory_server.url + path):
                pass
        assert info.value.response.status_code == 400, path


async def test_health_ready_metrics(memory_server: RelayServer) -> None:
    assert await async_http_get(memory_server, "/healthz") == (200, "ok\n")
    assert (await async_http_get(memory_server, "/readyz"))[0] == 200
    async with TestClient(memory_server.url + "/m") as c:
        await c.append("x")
        await wait_until(lambda: c.saved, "saved")
        status, body = await async_http_get(memory_server, "/metrics")
    assert status == 200
    metrics = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }
    assert metrics["coscribe_connections_opened_total"] >= 1
    assert metrics["coscribe_updates_received_total"] >= 1
    assert metrics["coscribe_rooms"] == 1
    assert "coscribe_store_commit_seconds_max" in metrics


async def test_concurrent_first_joins_load_room_once(memory_server: RelayServer) -> None:
    url = memory_server.url + "/stampede"
    clients = [TestClient(url) for _ in range(30)]
    async with asyncio.TaskGroup() as tg:
        for c in clients:
            tg.create_task(c.__aenter__())
    try:
        await wait_until(lambda: all(c.synced for c in clients), "all synced")
        assert memory_server.metrics.rooms_loaded_total == 1
        await clients[0].append("one")
        await wait_until(lambda: all(str(c) == "one" for c in clients), "fan-out")
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)


async def test_slow_consumer_is_dropped_and_room_unaffected() -> None:
    config = ServerConfig(port=0, max_outbound_bytes=64 * 1024, close_timeout=0.5)
    async with RelayServer(config) as srv:
        url = srv.url + "/slow"
        # The slow peer never reads, through a tiny socket receive buffer.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        slow = TestClient(url, read=False, max_queue=1, sock=sock, close_timeout=0.2)
        async with slow, TestClient(url) as fast, TestClient(url) as writer:
            await wait_until(lambda: fast.synced and writer.synced, "synced")
            chunk = "z" * 50_000
            blobs = writer.doc.get("blobs", type=Map)
            for i in range(400):  # Map sets: cheap for pycrdt, unlike appends to a long Text
                with writer.doc.transaction(origin=Origin.LOCAL_EDIT):
                    blobs[str(i)] = chunk
                await writer.flush()
                if srv.metrics.slow_consumers:
                    break
            await wait_until(lambda: srv.metrics.slow_consumers >= 1, "slow peer dropped")
            await wait_until(
                lambda: fast.doc.get_state() == writer.doc.get_state(), "fast converges", within=30
            )
            await wait_until(lambda: writer.saved, "writer saved", within=30)
            assert srv.metrics.closes_by_code[CloseCode.SLOW_CONSUMER] == 1
            assert not fast.closed and not writer.closed


async def test_room_unloads_when_idle_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = ServerConfig(port=0, room_idle_seconds=0.05)
    async with RelayServer(config) as srv:
        url = srv.url + "/idle"
        async with TestClient(url) as c:
            await c.append("persisted in memory store")
            await wait_until(lambda: c.saved, "saved")
        await wait_until(lambda: srv.registry.get("idle") is None, "unloaded")
        async with synced_client(url) as c2:
            assert str(c2) == "persisted in memory store"
        assert srv.metrics.rooms_loaded_total == 2


async def test_deleted_document_gets_new_incarnation_and_client_refuses_to_merge(
    memory_server: RelayServer,
) -> None:
    url = memory_server.url + "/reborn"
    async with TestClient(url) as a:
        await a.append("old life")
        await wait_until(lambda: a.saved, "saved")
        old_incarnation = a.session.incarnation  # type: ignore[union-attr]
        offline_doc = Doc()
        offline_doc.apply_update(a.doc.get_update())
        assert await memory_server.delete_document("reborn")
        await wait_until(lambda: a.closed, "closed on delete")
        assert a.close_code == CloseCode.DOCUMENT_DELETED
    async with TestClient(url) as fresh:
        await fresh.append("new life")
        await wait_until(lambda: fresh.saved, "saved")
        # A client whose local copy came from the old incarnation must not merge.
        async with TestClient(url, doc=offline_doc, incarnation=old_incarnation) as stale:
            await wait_until(
                lambda: any(isinstance(e, IncarnationMismatched) for e in stale.events),
                "mismatch reported",
            )
            assert str(stale) == "old life"
        assert str(memory_server.registry.get("reborn").doc.get("content", type=Text)) == "new life"  # type: ignore[union-attr]


async def test_shutdown_closes_peers_and_is_idempotent() -> None:
    srv = RelayServer(ServerConfig(port=0))
    await srv.__aenter__()
    async with synced_client(srv.url + "/bye") as c:
        await srv.aclose(CloseCode.SERVICE_RESTART)
        await srv.aclose()
        await wait_until(lambda: c.closed, "closed")
        assert c.close_code == CloseCode.SERVICE_RESTART


async def test_awareness_over_size_limit_closes_with_policy_violation(
    memory_server: RelayServer,
) -> None:
    url = memory_server.url + "/aw"
    async with synced_client(url) as c:
        payload = AwarenessUpdate.from_entries(()).payload  # valid empty update
        big_state = json.dumps({"user": {"name": "x" * 100_000}})
        from shared.messages import AwarenessEntry

        payload = AwarenessUpdate.from_entries((AwarenessEntry(1, 1, big_state),)).payload
        assert c.ws is not None
        await c.ws.send(AwarenessUpdate(payload, ()).encode())
        await wait_until(lambda: c.closed, "closed")
        assert c.close_code == CloseCode.POLICY_VIOLATION


async def test_endpoint_names_are_still_valid_documents(memory_server: RelayServer) -> None:
    for name in ["healthz", "metrics"]:
        async with TestClient(f"{memory_server.url}/{name}") as c:
            await c.append(name)
            await wait_until(lambda c=c: c.saved, f"document {name} saved")
    assert await async_http_get(memory_server, "/healthz") == (200, "ok\n")
    status, body = await async_http_get(memory_server, "/some-doc")
    assert status == 426 and "WebSocket" in body
