"""Several real relay nodes on one PostgreSQL and one Redis, with real WebSocket clients.

Nodes run as processes (``python -m sync_server --database-url ... --redis-url ...``) with
a 0.25 s heartbeat (a node is dead after 1 s of silence).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import TestClient
from tests.support.waiting import wait_until

from .services import Node, RedisServer

pytestmark = pytest.mark.asyncio

T = 20.0  # generous deadline for anything that crosses nodes


@pytest.fixture
def start_node(
    database_url: str, redis_server: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., Node]]:
    nodes: list[Node] = []

    def start(redis_url: str | None = None) -> Node:
        node = Node(database_url, redis_url or redis_server.url, tmp_path, f"n{len(nodes)}")
        nodes.append(node)
        return node.start()

    yield start
    for node in nodes:
        node.stop()


def presence_ids(client: TestClient) -> set[int]:
    """Client ids of the *other* clients whose presence this client currently sees."""
    states: dict[int, Any] = client.awareness.states
    return {cid for cid, state in states.items() if state and cid != client.doc.client_id}


def tokens(text: str) -> set[int]:
    return {int(t) for t in text.replace(">", "").split("<") if t}


async def type_tokens(client: TestClient, numbers: range) -> dict[int, int]:
    """Append ``<n>`` for each n; returns n -> the document message count that carries it."""
    carried = {}
    for n in numbers:
        await client.append(f"<{n}>")
        assert client.session is not None
        carried[n] = client.session.sent_document_messages
        await asyncio.sleep(0)
    return carried


def acknowledged(client: TestClient, carried: dict[int, int]) -> set[int]:
    assert client.session is not None
    done = client.session.acknowledged_document_messages
    return {n for n, count in carried.items() if count <= done}


async def test_clients_on_different_nodes_converge_with_presence(
    start_node: Callable[..., Node],
) -> None:
    a, b = start_node(), start_node()
    async with (
        TestClient(f"{a.url}/converge", user={"name": "ann"}) as ann,
        TestClient(f"{b.url}/converge", user={"name": "bob"}) as bob,
    ):
        await wait_until(lambda: ann.synced and bob.synced, "both clients synced", within=T)
        await ann.set_presence({"user": {"name": "ann"}, "cursor": 1})
        await bob.set_presence({"user": {"name": "bob"}, "cursor": 2})
        await asyncio.gather(type_tokens(ann, range(0, 60)), type_tokens(bob, range(100, 160)))
        want = set(range(0, 60)) | set(range(100, 160))
        await wait_until(
            lambda: tokens(str(ann)) == want and str(ann) == str(bob), "convergence", within=T
        )
        await wait_until(lambda: ann.saved and bob.saved, "every edit acknowledged", within=T)
        await wait_until(
            lambda: (
                presence_ids(ann) == {bob.doc.client_id}
                and presence_ids(bob) == {ann.doc.client_id}
            ),
            "presence across nodes",
            within=T,
        )
        async with TestClient(f"{b.url}/converge", user={"name": "cy"}) as cy:
            await cy.set_presence({"user": {"name": "cy"}})
            await wait_until(
                lambda: cy.doc.client_id in presence_ids(ann), "cy on node a", within=T
            )
        # cy left node b: node a's client must see cy's presence go.
        await wait_until(lambda: cy.doc.client_id not in presence_ids(ann), "cy removed", within=T)
        assert bob.doc.client_id in presence_ids(ann)


async def test_kill_9_node_clients_fail_over_and_no_acknowledged_edit_is_lost(
    start_node: Callable[..., Node],
) -> None:
    a, b = start_node(), start_node()
    async with (
        TestClient(f"{a.url}/failover") as writer,
        TestClient(f"{a.url}/failover", user={"name": "ghost"}) as ghost,
        TestClient(f"{b.url}/failover", user={"name": "bob"}) as bob,
    ):
        await ghost.set_presence({"user": {"name": "ghost"}})
        await wait_until(lambda: writer.synced and bob.synced, "synced", within=T)
        await wait_until(lambda: ghost.doc.client_id in presence_ids(bob), "ghost seen", within=T)
        carried = await type_tokens(writer, range(0, 150))
        await wait_until(lambda: len(acknowledged(writer, carried)) >= 100, "some acks", within=T)
        more = await type_tokens(writer, range(150, 200))  # in flight when the node dies
        carried.update(more)
        a.kill()
        acked = acknowledged(writer, carried)
        assert len(acked) >= 100
        await wait_until(lambda: writer.closed, "the writer noticed its node died", within=T)

        # The writer fails over to node b with its document (and unsent edits) in hand.
        async with TestClient(
            f"{b.url}/failover",
            doc=writer.doc,
            incarnation=writer.session.incarnation if writer.session else None,
        ) as again:
            await wait_until(lambda: again.synced, "failover sync", within=T)
            carried.update(await type_tokens(again, range(200, 220)))
            await wait_until(lambda: again.saved, "resent edits acknowledged", within=T)
            want = set(range(0, 220))
            await wait_until(lambda: tokens(str(bob)) == want, "bob has every edit", within=T)
            # The dead node's clients' presence is removed by the surviving node.
            await wait_until(
                lambda: ghost.doc.client_id not in presence_ids(bob),
                "ghost presence gone",
                within=T,
            )

        # A node joining late serves the whole document from the shared store.
        c = start_node()
        async with TestClient(f"{c.url}/failover") as late:
            await wait_until(lambda: late.synced, "late joiner synced", within=T)
            assert acked <= tokens(str(late)), "an acknowledged edit was lost"
            assert tokens(str(late)) == set(range(0, 220))


async def test_late_node_serves_current_document_and_joins_the_fan_out(
    start_node: Callable[..., Node],
) -> None:
    a = start_node()
    async with TestClient(f"{a.url}/late") as ann:
        await wait_until(lambda: ann.synced, "synced", within=T)
        await type_tokens(ann, range(0, 40))  # not waiting for acks: may still be queued
        c = start_node()
        async with TestClient(f"{c.url}/late") as cy:
            await wait_until(
                lambda: tokens(str(cy)) == set(range(40)), "current document", within=T
            )
            await type_tokens(ann, range(40, 60))
            await type_tokens(cy, range(100, 110))
            want = set(range(60)) | set(range(100, 110))
            await wait_until(
                lambda: tokens(str(ann)) == want and str(cy) == str(ann), "live fan-out", within=T
            )


async def test_redis_restart_mid_edit_loses_nothing(start_node: Callable[..., Node]) -> None:
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="coscribe-redis-"))).start()
    try:
        a, b = start_node(redis.url), start_node(redis.url)
        async with (
            TestClient(f"{a.url}/restart") as ann,
            TestClient(f"{b.url}/restart") as bob,
        ):
            await wait_until(lambda: ann.synced and bob.synced, "synced", within=T)
            await asyncio.gather(type_tokens(ann, range(0, 30)), type_tokens(bob, range(100, 130)))
            redis.kill()
            # Edits while Redis is down: each node relays locally and stores them.
            await asyncio.gather(type_tokens(ann, range(30, 60)), type_tokens(bob, range(130, 160)))
            await wait_until(
                lambda: ann.saved and bob.saved, "stored while Redis is down", within=T
            )
            redis.start()
            await asyncio.gather(type_tokens(ann, range(60, 70)), type_tokens(bob, range(160, 170)))
            want = set(range(70)) | set(range(100, 170))
            await wait_until(
                lambda: tokens(str(ann)) == want and str(ann) == str(bob), "convergence", within=T
            )
    finally:
        redis.stop()


async def test_garbage_on_a_document_channel_is_counted_and_ignored(
    start_node: Callable[..., Node], redis_server: RedisServer
) -> None:
    import urllib.request

    from redis.asyncio import Redis

    from sync_server.cluster_wire import Kind, encode

    a, b = start_node(), start_node()
    async with (
        TestClient(f"{a.url}/junk") as ann,
        TestClient(f"{b.url}/junk") as bob,
    ):
        await wait_until(lambda: ann.synced and bob.synced, "synced", within=T)
        stranger = b"\x01" * 16
        async with Redis.from_url(redis_server.url) as redis:
            for junk in (
                b"not ours",
                encode(Kind.UPDATE, stranger, 1, b"\xff\xff\xff not a yjs update"),
                encode(Kind.AWARENESS, stranger, 2, b"\x01\x05junk"),
            ):
                await redis.publish("coscribe:doc:junk", junk)
        await type_tokens(ann, range(0, 10))
        await type_tokens(bob, range(100, 110))
        want = set(range(10)) | set(range(100, 110))
        await wait_until(
            lambda: tokens(str(ann)) == want == tokens(str(bob)), "still relays", within=T
        )

    def bad_messages(node: Node) -> float:
        http_url = node.url.replace("ws://", "http://") + "/metrics"
        with urllib.request.urlopen(http_url, timeout=5) as resp:
            body = resp.read().decode()
        return sum(
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith("coscribe_cluster_bad_messages_total")
        )

    assert bad_messages(a) >= 3 and bad_messages(b) >= 3
