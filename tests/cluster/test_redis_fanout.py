"""The Redis adapter (``RedisFanout``) in-process against a real Redis, with fake rooms.

What only real Redis can show: PUBLISH's receiver counts, subscription confirmations,
the BYE on close, a Redis restart. Heartbeats are slow here (TTL 20 s) unless a test needs
them, so anything that happens within a few seconds is not an expiry.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sync_server.cluster import RedisFanout
from sync_server.cluster_wire import RemoteNode
from tests.support.waiting import wait_until

from .memory_bus import FakeRoom, SharedStore
from .services import RedisServer

pytestmark = pytest.mark.asyncio

T = 10.0


async def join(fanout: RedisFanout, name: str, store: SharedStore) -> FakeRoom:
    """What the registry does: subscribe, read the store, announce the room."""
    await fanout.before_load(name)
    room = FakeRoom(name, store)
    fanout.loaded(room)  # type: ignore[arg-type]
    return room


def type_into(fanout: RedisFanout, room: FakeRoom, text: str) -> None:
    fanout.publish_update(room.name, room.edit(text))


@pytest.fixture
def store() -> SharedStore:
    return SharedStore()


def fanout(url: str, store: SharedStore, **kwargs: Any) -> RedisFanout:
    kwargs.setdefault("heartbeat", 5.0)
    return RedisFanout(url, store, prefix=f"t{id(store)}:", **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def linked_pair(
    url: str, store: SharedStore
) -> AsyncIterator[tuple[RedisFanout, RedisFanout]]:
    """Two nodes on one Redis and one store, once both are linked."""
    async with fanout(url, store) as fa, fanout(url, store) as fb:
        await wait_until(lambda: fa.connected and fb.connected, "both linked", within=T)
        yield fa, fb


async def test_updates_and_presence_cross_and_a_bye_removes_the_presence_at_once(
    redis_server: RedisServer, store: SharedStore
) -> None:
    async with linked_pair(redis_server.url, store) as (fa, fb):
        ra = await join(fa, "doc", store)
        rb = await join(fb, "doc", store)
        type_into(fa, ra, "hello")
        fa.publish_awareness("doc", ra.set_presence(7, '{"name":"ann"}'))
        await wait_until(lambda: str(rb) == "hello" and 7 in rb.presence, "relayed", within=T)
        owner = rb.owners()[7]
        assert isinstance(owner, RemoteNode) and owner.node_id == fa.node
        metrics = fb.render_metrics()
        for row in ("connected 1", "nodes 1", "received_total", "skipped_total"):
            assert f"coscribe_cluster_{row}" in metrics
        await fa.aclose()
        await wait_until(lambda: 7 not in rb.presence, "presence gone after BYE", within=3.0)
        assert fb.stats.nodes_expired == 1


async def test_a_node_alone_skips_publishing_until_another_node_loads_the_room(
    redis_server: RedisServer, store: SharedStore
) -> None:
    async with linked_pair(redis_server.url, store) as (fa, fb):
        ra = await join(fa, "solo", store)
        await wait_until(lambda: fa.protocol.is_alone("solo"), "a knows it is alone", within=T)
        published = fa.stats.published
        store.queue_commits = True  # only a sync answer can bring this to b
        type_into(fa, ra, "unshared")
        assert fa.stats.skipped == 1
        rb = await join(fb, "solo", store)
        await wait_until(lambda: str(rb) == "unshared", "b got it from a's sync answer", within=T)
        assert not fa.protocol.is_alone("solo")
        type_into(fa, ra, "!")
        await wait_until(lambda: str(rb) == "unshared!", "published again", within=T)
        assert fa.stats.published > published


async def test_a_redis_restart_relinks_and_resyncs_every_room(store: SharedStore) -> None:
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="coscribe-redis-"))).start()
    try:
        async with fanout(redis.url, store, heartbeat=0.1) as fa:
            ra = await join(fa, "doc", store)
            await wait_until(lambda: fa.connected, "linked", within=T)
            merges = ra.merges
            redis.kill()
            await wait_until(lambda: not fa.connected, "link lost", within=T)
            type_into(fa, ra, "while redis was down")  # fails or is queued: no exception
            redis.start()
            await wait_until(
                lambda: fa.connected and fa.stats.reconnects >= 2, "relinked", within=T
            )
            await wait_until(lambda: ra.merges > merges, "room resynced from the store", within=T)
            assert fa.stats.resyncs >= 1
    finally:
        redis.stop()
