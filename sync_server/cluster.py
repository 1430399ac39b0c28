"""Cross-node fan-out over Redis pub/sub: several relay nodes serve one document.

Each node that has a document loaded subscribes to the document's channel
(``coscribe:doc:<name>``) and publishes there, tagged with its node id and a per-document
sequence number:

* ``UPDATE``: the coalesced update of one relay batch (what its own peers sent);
* ``AWARENESS``: an awareness message of one of its peers, verbatim (including the
  removals it sends when a peer disconnects);
* ``SYNC_REQUEST``: "here is my state vector": every other node answers with an
  ``UPDATE`` holding what the asker lacks and an ``AWARENESS`` with its own peers'
  presence (and, if asked, its own ``SYNC_REQUEST``, so one round syncs both ways).

A node applies updates from other nodes to its room's document, appends them to its
store and relays them to its peers; it never publishes them again. Appending them is
what makes an ACK trustworthy in a cluster: every node's in-memory document is always
covered by its storage plus its own append queue, so when a node acknowledges a client's
message (after its append committed), everything that client could have seen is durable,
even if the node the content came from was killed before its own commit.

Redis pub/sub is fire-and-forget, so a node that misses messages recovers by itself:
after the subscription is re-established (Redis restart, network blip, or the node's own
heartbeats stop coming back), after a failed publish, and on a gap in a sender's sequence
numbers, it reloads each affected room from the shared store, merges it (CRDT merges are
idempotent), relays what was new to its peers and sends a two-way ``SYNC_REQUEST`` so that
updates still in other nodes' commit queues arrive too. A room that is loaded sends a
``SYNC_REQUEST`` right after its load, having subscribed *before* reading the store.

Presence: the room keeps remote clients' presence owned by a :class:`RemoteNode`. Every
node publishes a heartbeat on ``coscribe:nodes`` every ``heartbeat`` seconds and a ``BYE``
when it stops; a node silent for ``ttl`` seconds is dead and every other node removes its
clients' presence (and tells its own peers). While a node's own Redis link is down it
declares nobody dead.

The wire format is in ``sync_server.cluster_wire``. Nothing here runs per message when no
Redis URL is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from types import TracebackType
from typing import Any, Self

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from shared.errors import CollabError
from shared.messages import EMPTY_UPDATE, AwarenessUpdate, decode_message

from .cluster_wire import ASK_BACK, ClusterStats, Kind, RemoteNode, decode, encode
from .room import Room
from .store import DocumentStore

log = logging.getLogger("coscribe.cluster")

#: Messages kept for publishing while Redis is unreachable; beyond it they are dropped
#: (the resync after reconnecting brings everything back).
MAX_OUTBOX = 10_000


class RedisFanout:
    """The cluster link of one node: ``async with RedisFanout(url, store) as fanout``.

    Implements the registry's ``ClusterHooks`` (and the room's ``RoomBus``).

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS).
        store: the node's (shared) document store, for resyncs.
        node_id: stable name of this node in logs; random if None.
        heartbeat: seconds between heartbeats; ``ttl`` defaults to 4 of them.
        prefix: channel name prefix, to share one Redis between clusters.
    """

    def __init__(
        self,
        url: str,
        store: DocumentStore,
        *,
        node_id: str | None = None,
        heartbeat: float = 1.0,
        ttl: float | None = None,
        prefix: str = "coscribe:",
    ) -> None:
        self.stats = ClusterStats()
        self.node_name = node_id or uuid.uuid4().hex[:12]
        self.node = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.node_name}/{uuid.uuid4()}").bytes
        self._url = url
        self._store = store
        self._heartbeat = heartbeat
        self._ttl = ttl if ttl is not None else 4 * heartbeat
        self._prefix = prefix
        self._nodes_channel = f"{prefix}nodes"
        self._redis: Redis | None = None
        self._pubsub: Any = None
        self._tg = asyncio.TaskGroup()
        self._closing = False
        self.connected = False
        self._rooms: dict[str, Room] = {}
        self._seq: dict[str, int] = {}
        self._last_seq: dict[tuple[str, bytes], int] = {}
        self._remote: dict[bytes, RemoteNode] = {}
        self._subscribed: set[str] = set()
        self._sub_waiters: dict[str, asyncio.Event] = {}
        self._own_seen = 0.0
        # (channel, message, room or "", the room's `_heard` count when it was queued)
        self._outbox: list[tuple[str, bytes, str, int]] = []
        # Rooms no other node has loaded: PUBLISH reached only us, and nothing was heard
        # from another node on the channel since. Their updates are not published: a node
        # that loads the room later sends a SYNC_REQUEST, and our answer carries them.
        self._alone: set[str] = set()
        self._heard: dict[str, int] = {}  # room -> messages from other nodes on its channel
        self._outbox_ready = asyncio.Event()
        self._resync: dict[str, int] = {}  # room -> SYNC_REQUEST flags
        self._resync_ready = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._redis = Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),  # failures must reach us: we resync after them
            socket_connect_timeout=2.0,
            socket_keepalive=True,
            health_check_interval=max(1, int(self._heartbeat * 2)),
        )
        await self._tg.__aenter__()
        self._loops = [
            self._tg.create_task(self._subscriber(), name="cluster-subscriber"),
            self._tg.create_task(self._publisher(), name="cluster-publisher"),
            self._tg.create_task(self._heartbeats(), name="cluster-heartbeat"),
            self._tg.create_task(self._resyncer(), name="cluster-resync"),
        ]
        log.info("cluster node started", extra={"fields": {"node": self.node_name}})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Say BYE (so others drop our presence at once), then stop every task."""
        if self._closing:
            return
        self._closing = True
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._redis.publish(self._nodes_channel, encode(Kind.BYE, self.node, 0))
        for task in self._loops:
            task.cancel()  # they loop until cancelled; the TaskGroup awaits them
        self._outbox_ready.set()
        self._resync_ready.set()
        try:
            await self._tg.__aexit__(exc_type, exc, tb)
        finally:
            if self._redis is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.aclose()

    # ------------------------------------------------------------------ registry hooks

    async def before_load(self, name: str) -> None:
        """Subscribe to the document's channel before its state is read from storage."""
        channel = self._channel(name)
        event = self._sub_waiters.setdefault(channel, asyncio.Event())
        pubsub = self._pubsub
        if pubsub is None or not self.connected:
            # Redis down: load now. The subscriber subscribes to this channel when it
            # reconnects, and the confirmation triggers a resync of the room (_dispatch).
            return
        with contextlib.suppress(RedisError, OSError):
            await pubsub.subscribe(channel)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):  # a lost link: same as above
                await event.wait()

    def loaded(self, room: Room) -> None:
        self._rooms[room.name] = room
        self._seq[room.name] = 0
        self._heard[room.name] = 0
        self._send_sync_request(room, 0)

    def unloaded(self, room: Room) -> None:
        if self._rooms.get(room.name) is not room:
            return
        del self._rooms[room.name]
        self._seq.pop(room.name, None)
        self._heard.pop(room.name, None)
        self._alone.discard(room.name)
        for key in [k for k in self._last_seq if k[0] == room.name]:
            del self._last_seq[key]
        channel = self._channel(room.name)
        self._sub_waiters.pop(channel, None)
        self._subscribed.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None and self.connected and not self._closing:
            self._tg.create_task(self._unsubscribe(pubsub, channel), name=f"unsub {room.name}")

    async def _unsubscribe(self, pubsub: Any, channel: str) -> None:
        with contextlib.suppress(RedisError, OSError):
            await pubsub.unsubscribe(channel)

    # ------------------------------------------------------------------ room bus

    def publish_update(self, room: str, update: bytes) -> None:
        self._publish_doc(room, Kind.UPDATE, update)

    def publish_awareness(self, room: str, message: bytes) -> None:
        self._publish_doc(room, Kind.AWARENESS, message)

    def request_resync(self, room: str) -> None:
        self._want_resync(room, ASK_BACK)

    def _publish_doc(self, room: str, kind: Kind, payload: bytes) -> None:
        if room not in self._seq:
            return  # not (or no longer) a loaded room of ours
        if room in self._alone and kind is not Kind.SYNC_REQUEST:
            self.stats.skipped += 1
            return
        seq = self._seq[room] + 1
        self._seq[room] = seq
        data = encode(kind, self.node, seq, payload)
        self._enqueue(self._channel(room), data, room, self._heard[room])

    def _enqueue(self, channel: str, data: bytes, room: str = "", heard: int = 0) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            self.stats.dropped += len(self._outbox)
            self._outbox.clear()
            self._want_resync_all(ASK_BACK)
        self._outbox.append((channel, data, room, heard))
        self._outbox_ready.set()

    def _note_receivers(self, batch: list[tuple[str, bytes, str, int]], counts: list[Any]) -> None:
        """PUBLISH returns how many subscribers got the message; 1 means only us (if we
        are subscribed: otherwise the reconnect's resync repairs any wrong guess)."""
        for (channel, _, room, heard), count in zip(batch, counts, strict=True):
            if room and count == 1 and self._heard.get(room) == heard:
                if self.connected and channel in self._subscribed:
                    self._alone.add(room)

    def _send_sync_request(self, room: Room, flags: int) -> None:
        payload = bytes([flags]) + room.doc.get_state()
        self._publish_doc(room.name, Kind.SYNC_REQUEST, payload)

    # ------------------------------------------------------------------ tasks

    async def _publisher(self) -> None:
        assert self._redis is not None
        backoff = 0.05
        broken = False
        while not self._closing:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            if not self._outbox:
                continue
            batch, self._outbox = self._outbox, []
            try:
                if len(batch) == 1:
                    counts: list[Any] = [await self._redis.publish(*batch[0][:2])]
                else:
                    pipe = self._redis.pipeline(transaction=False)
                    for channel, data, _, _ in batch:
                        pipe.publish(channel, data)
                    counts = await pipe.execute()
            except (RedisError, OSError) as exc:
                self.stats.publish_failures += 1
                self.stats.dropped += len(batch)
                if not broken:
                    log.warning("cluster publish failed: %s", exc, extra={"fields": {}})
                broken = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                self._outbox_ready.set()
                continue
            self.stats.published += len(batch)
            self._note_receivers(batch, counts)
            backoff = 0.05
            if broken:
                broken = False
                log.info("cluster publishing again", extra={"fields": {}})
                self._want_resync_all(ASK_BACK)

    async def _subscriber(self) -> None:
        assert self._redis is not None
        backoff = 0.05
        first = True
        while not self._closing:
            pubsub = self._redis.pubsub()
            try:
                self._subscribed.clear()
                channels = self._wanted_channels()
                await pubsub.subscribe(*channels)
                # Rooms that started loading during that await: no await from here until
                # `connected` is set, so every later load subscribes by itself.
                late = self._wanted_channels() - channels
                if late:
                    await pubsub.subscribe(*late)
                self._pubsub = pubsub
                self.connected = True
                self._alone.clear()
                self.stats.reconnects += 1
                now = time.monotonic()
                self._own_seen = now
                for node in self._remote.values():
                    node.last_seen = now  # we could not hear them: give them a fresh TTL
                if not first:
                    log.info("cluster subscription restored; resyncing rooms")
                first = False
                backoff = 0.05
                self._want_resync_all(ASK_BACK)
                while not self._closing:
                    msg = await pubsub.get_message(timeout=self._heartbeat)
                    if time.monotonic() - self._own_seen > self._ttl:
                        raise ConnectionError("own heartbeats stopped coming back")
                    if msg is not None:
                        self._handle(msg)
            except (RedisError, OSError) as exc:
                if not self._closing:
                    log.warning("cluster subscription lost: %s", exc, extra={"fields": {}})
            finally:
                self.connected = False
                self._pubsub = None
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if not self._closing:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    def _wanted_channels(self) -> set[str]:
        rooms = {self._channel(name) for name in self._rooms}
        return {self._nodes_channel, *rooms, *self._sub_waiters}

    async def _heartbeats(self) -> None:
        beat = encode(Kind.HEARTBEAT, self.node, 0)
        while not self._closing:
            self._enqueue(self._nodes_channel, beat)
            await asyncio.sleep(self._heartbeat)
            if self.connected and time.monotonic() - self._own_seen <= self._ttl:
                self._expire_nodes()

    def _expire_nodes(self) -> None:
        now = time.monotonic()
        for node_id, node in list(self._remote.items()):
            if now - node.last_seen > self._ttl:
                self._forget_node(node_id, "no heartbeat")

    def _forget_node(self, node_id: bytes, why: str) -> None:
        node = self._remote.pop(node_id, None)
        if node is None:
            return
        self.stats.nodes_expired += 1
        log.info("cluster node gone", extra={"fields": {"node": node_id.hex()[:8], "why": why}})
        for room in list(self._rooms.values()):
            room.drop_presence_of(node)
        for key in [k for k in self._last_seq if k[1] == node_id]:
            del self._last_seq[key]

    async def _resyncer(self) -> None:
        while not self._closing:
            await self._resync_ready.wait()
            self._resync_ready.clear()
            while self._resync and not self._closing:
                name, flags = self._resync.popitem()
                room = self._rooms.get(name)
                if room is None or room.closed:
                    continue
                try:
                    stored = await self._store.load(name)
                except CollabError as exc:
                    log.warning("cluster resync of %r failed: %s; retrying", name, exc)
                    self._resync[name] = flags
                    await asyncio.sleep(0.5)
                    continue
                if room.closed or self._rooms.get(name) is not room:
                    continue
                if stored.incarnation != room.incarnation:
                    log.warning(
                        "document was deleted and re-created on another node",
                        extra={"fields": {"room": name}},
                    )
                    continue
                self.stats.resyncs += 1
                room.merge_stored(stored.updates)
                self._send_sync_request(room, flags)

    def _want_resync_all(self, flags: int) -> None:
        for name in self._rooms:
            self._want_resync(name, flags)

    def _want_resync(self, name: str, flags: int) -> None:
        self._resync[name] = self._resync.get(name, 0) | flags
        self._resync_ready.set()

    # ------------------------------------------------------------------ incoming

    def _handle(self, msg: dict[str, Any]) -> None:
        """Dispatch one message; a bad one is counted and logged, never fatal."""
        try:
            self._dispatch(msg)
        except Exception:
            self.stats.bad_messages += 1
            log.exception("cluster message could not be handled")
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":  # pyo3: a BaseException
                raise
            self.stats.bad_messages += 1
            log.error("a cluster update made the CRDT panic; ignored")

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind_name = msg.get("type")
        channel = msg["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        if kind_name == "subscribe":
            self._subscribed.add(channel)
            waiter = self._sub_waiters.pop(channel, None)
            if waiter is not None:
                waiter.set()
            name = channel.removeprefix(f"{self._prefix}doc:")
            if name in self._rooms and waiter is not None:
                # Subscribed only after the room loaded (Redis was slow or down): what was
                # published meanwhile, including answers to its sync request, is lost.
                self._want_resync(name, 0)
            return
        if kind_name != "message":
            return
        try:
            kind, node, seq, payload = decode(msg["data"])
        except ValueError:
            self.stats.bad_messages += 1
            return
        if node == self.node:
            if kind is Kind.HEARTBEAT:
                self._own_seen = time.monotonic()
            return
        self.stats.received += 1
        now = time.monotonic()
        remote = self._remote.get(node)
        if remote is None:
            if kind is Kind.BYE:
                return
            remote = self._remote[node] = RemoteNode(node, now)
        remote.last_seen = now
        if channel == self._nodes_channel:
            if kind is Kind.BYE:
                self._forget_node(node, "said bye")
            return
        name = channel.removeprefix(f"{self._prefix}doc:")
        room = self._rooms.get(name)
        if room is None or room.closed:
            return
        self._heard[name] = self._heard.get(name, 0) + 1
        self._alone.discard(name)
        key = (name, node)
        last = self._last_seq.get(key)
        self._last_seq[key] = seq
        if last is not None and seq != 1 and seq != last + 1:
            self.stats.gaps += 1
            log.info("cluster sequence gap", extra={"fields": {"room": name, "seq": seq}})
            self._want_resync(name, ASK_BACK)
        try:
            if kind is Kind.UPDATE:
                room.apply_remote_update(payload)
            elif kind is Kind.AWARENESS:
                update = decode_message(payload)
                if isinstance(update, AwarenessUpdate):
                    room.apply_remote_awareness(remote, update, payload)
            elif kind is Kind.SYNC_REQUEST:
                self._answer_sync_request(room, payload)
        except (CollabError, ValueError, RuntimeError) as exc:
            self.stats.bad_messages += 1
            log.warning("bad cluster message: %r", exc, extra={"fields": {"room": name}})

    def _answer_sync_request(self, room: Room, payload: bytes) -> None:
        flags, state_vector = payload[0], payload[1:]
        diff = room.doc.get_update(state_vector)
        if diff != EMPTY_UPDATE:
            self.publish_update(room.name, diff)
        presence = room.local_presence_message()
        if presence is not None:
            self.publish_awareness(room.name, presence)
        if flags & ASK_BACK:
            self._send_sync_request(room, 0)

    # ------------------------------------------------------------------ misc

    def _channel(self, name: str) -> str:
        return f"{self._prefix}doc:{name}"

    def render_metrics(self) -> str:
        return self.stats.render(self.connected, len(self._remote))
