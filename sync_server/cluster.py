"""Cross-node fan-out over Redis pub/sub: the Redis adapter of the cluster protocol.

What the nodes say to each other, and when, is decided by
:class:`~sync_server.cluster_protocol.ClusterProtocol` (sans I/O; read its docstring for
the protocol). :class:`RedisFanout` only moves bytes and carries out the protocol's
actions (``sync_server.cluster_actions``):

* one subscriber task: (re)connects the pub/sub with backoff, subscribes every channel
  the protocol wants, feeds it every message and confirmation, relinks when told;
* one publisher task: sends queued messages in pipelined batches, reports each receiver
  count (or the failure) back, and keeps at most :data:`MAX_OUTBOX` queued while Redis is
  unreachable (the resync after reconnecting brings back anything dropped);
* one heartbeat task: calls ``tick(now)`` every ``heartbeat`` seconds;
* one resync task: takes the protocol's resync jobs, loads the room from the store
  (``DocumentStore.load``) and merges it into the room;
* the registry's ``ClusterHooks`` and the rooms' ``RoomBus``, which it turns into
  protocol inputs, and the room actions, which it applies to the registry's rooms.

Appending the updates of other nodes (``Room.apply_remote_update``) is what makes an ACK
trustworthy in a cluster: every node's in-memory document is always covered by its storage
plus its own append queue, so an edit a node acknowledged is durable even if the node the
content came from was killed before its own commit.

Nothing here runs per message when no Redis URL is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any, cast

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from shared.errors import CollabError, InvalidUpdate, crdt_errors

from . import cluster_actions as actions
from .cluster_protocol import ClusterProtocol
from .cluster_wire import ClusterStats
from .lifecycle import Resource
from .room import Room
from .store import DocumentStore

log = logging.getLogger("coscribe.cluster")

#: Messages kept for publishing while Redis is unreachable; beyond it they are dropped
#: (the resync after reconnecting brings everything back).
MAX_OUTBOX = 10_000
#: Seconds ``before_load`` waits for the subscription to be confirmed before reading the
#: store anyway (a late confirmation resyncs the room).
SUBSCRIBE_WAIT = 2.0
#: Seconds the BYE may take when the node stops.
BYE_TIMEOUT = 1.0
#: Seconds before a resync whose store read failed is retried.
RESYNC_RETRY = 0.5


class RedisFanout(Resource):
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
        super().__init__("cluster link")
        self.node_name = node_id or uuid.uuid4().hex[:12]
        node = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.node_name}/{uuid.uuid4()}").bytes
        self.protocol = ClusterProtocol(
            node, ttl=ttl if ttl is not None else 4 * heartbeat, prefix=prefix
        )
        self._url = url
        self._store = store
        self._heartbeat = heartbeat
        self._redis: Redis | None = None
        self._pubsub: Any = None
        self._rooms: dict[str, Room] = {}
        self._sub_waiters: dict[str, asyncio.Event] = {}
        self._outbox: list[actions.Publish] = []
        self._outbox_ready = asyncio.Event()
        self._resync_ready = asyncio.Event()
        self._relink = False

    @property
    def node(self) -> bytes:
        return self.protocol.node

    @property
    def stats(self) -> ClusterStats:
        return self.protocol.stats

    @property
    def connected(self) -> bool:
        return self.protocol.linked

    # ------------------------------------------------------------------ lifecycle

    async def _open(self, stack: AsyncExitStack) -> None:
        redis = Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),  # failures must reach us: we resync after them
            socket_connect_timeout=2.0,
            socket_keepalive=True,
            health_check_interval=max(1, int(self._heartbeat * 2)),
        )
        self._redis = redis
        stack.push_async_callback(self._close_redis, redis)
        self.spawn(self._subscriber(redis), "cluster-subscriber")
        self.spawn(self._publisher(redis), "cluster-publisher")
        self.spawn(self._heartbeats(), "cluster-heartbeat")
        self.spawn(self._resyncer(), "cluster-resync")
        log.info("cluster node started", extra={"fields": {"node": self.node_name}})

    async def _close(self) -> None:
        """Say BYE (so others drop our presence at once); the tasks are cancelled next."""
        if self._redis is None:
            return
        bye = self.protocol.goodbye()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(BYE_TIMEOUT):
                await self._redis.publish(bye.channel, bye.data)

    @staticmethod
    async def _close_redis(redis: Redis) -> None:
        with contextlib.suppress(RedisError, OSError):
            await redis.aclose()

    # ------------------------------------------------------------------ registry hooks

    async def before_load(self, name: str) -> None:
        """Subscribe to the document's channel before its state is read from storage."""
        channel = self.protocol.channel(name)
        event = self._sub_waiters.setdefault(channel, asyncio.Event())
        pubsub = self._pubsub
        if not self.protocol.room_loading(name) or pubsub is None:
            # Redis down: load now. The subscriber subscribes to this channel when it
            # reconnects, and the confirmation triggers a resync of the room.
            return
        with contextlib.suppress(RedisError, OSError):
            await pubsub.subscribe(channel)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBSCRIBE_WAIT):  # a lost link: same as above
                await event.wait()

    def loaded(self, room: Room) -> None:
        self._rooms[room.name] = room
        self._execute(self.protocol.room_loaded(room.name, room.doc.get_state()))

    def unloaded(self, room: Room) -> None:
        if self._rooms.get(room.name) is not room:
            return
        del self._rooms[room.name]
        self._sub_waiters.pop(self.protocol.channel(room.name), None)
        self._execute(self.protocol.room_unloaded(room.name))

    # ------------------------------------------------------------------ room bus

    def publish_update(self, room: str, update: bytes) -> None:
        self._execute(self.protocol.publish_update(room, update))

    def publish_awareness(self, room: str, message: bytes) -> None:
        self._execute(self.protocol.publish_awareness(room, message))

    def request_resync(self, room: str) -> None:
        self._execute(self.protocol.request_resync(room))

    # ------------------------------------------------------------------ actions

    def _execute(self, todo: list[actions.Action]) -> None:
        for action in todo:
            match action:
                case actions.Publish():
                    self._enqueue(action)
                case actions.Subscribe(channel) | actions.Unsubscribe(channel):
                    self._channel_op(action, channel)
                case actions.Relink():
                    self._relink = True
                case actions.ResyncDue():
                    self._resync_ready.set()
                case actions.NodeGone(node, why):
                    log.info(
                        "cluster node gone", extra={"fields": {"node": node.hex()[:8], "why": why}}
                    )
                case actions.SequenceGap(room, _, seq, _):
                    log.info("cluster sequence gap", extra={"fields": {"room": room, "seq": seq}})
                case actions.BadMessage(room, reason):
                    log.warning("bad cluster message: %s", reason, extra={"fields": {"room": room}})
                case _:
                    self._apply_to_room(action)

    def _apply_to_room(self, action: actions.RoomAction) -> None:
        room = self._rooms.get(action.room)
        if room is None or room.closed:
            return
        answer: list[actions.Action] = []
        try:
            with crdt_errors(InvalidUpdate):
                match action:
                    case actions.ApplyUpdate(_, update):
                        room.apply_remote_update(update)
                    case actions.ApplyAwareness(_, owner, update, raw):
                        room.apply_remote_awareness(owner, update, raw)
                    case actions.DropPresence(_, owner):
                        room.drop_presence_of(owner)
                    case actions.AnswerSync(_, state_vector, ask_back):
                        diff = room.doc.get_update(state_vector)
                        presence = room.local_presence_message()
                        own = room.doc.get_state() if ask_back else None
                        answer = self.protocol.sync_answered(room.name, diff, presence, own)
        except CollabError as exc:
            self.stats.bad_messages += 1
            log.warning("bad cluster message: %r", exc, extra={"fields": {"room": room.name}})
        self._execute(answer)

    def _channel_op(self, action: actions.Subscribe | actions.Unsubscribe, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None or not self.is_open:
            return  # the next link subscribes exactly the wanted channels
        if isinstance(action, actions.Subscribe):
            self.spawn(self._quietly(pubsub.subscribe(channel)), f"subscribe {channel}")
        else:
            self.spawn(self._quietly(pubsub.unsubscribe(channel)), f"unsubscribe {channel}")

    @staticmethod
    async def _quietly(op: Any) -> None:
        with contextlib.suppress(RedisError, OSError):
            await op

    # ------------------------------------------------------------------ tasks

    def _enqueue(self, message: actions.Publish) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            dropped = len(self._outbox)
            self._outbox.clear()
            self._execute(self.protocol.publishes_dropped(dropped))
        self._outbox.append(message)
        self._outbox_ready.set()

    async def _publisher(self, redis: Redis) -> None:
        backoff = 0.05
        broken = False
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            if not self._outbox:
                continue
            batch, self._outbox = self._outbox, []
            try:
                if len(batch) == 1:
                    receivers: list[Any] = [await redis.publish(batch[0].channel, batch[0].data)]
                else:
                    pipe = redis.pipeline(transaction=False)
                    for message in batch:
                        pipe.publish(message.channel, message.data)
                    receivers = await pipe.execute()
            except (RedisError, OSError) as exc:
                self.protocol.publish_failed(batch)
                if not broken:
                    log.warning("cluster publish failed: %s", exc, extra={"fields": {}})
                broken = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                self._outbox_ready.set()
                continue
            backoff = 0.05
            if broken:
                broken = False
                log.info("cluster publishing again", extra={"fields": {}})
            self._execute(self.protocol.published(batch, [int(n) for n in receivers]))

    async def _subscriber(self, redis: Redis) -> None:
        backoff = 0.05
        first = True
        while True:
            pubsub = redis.pubsub()
            try:
                asked: set[str] = set()
                # Rooms that start loading during an await are subscribed by the next round;
                # no await from the last round until the link is up, so every later load
                # subscribes by itself.
                while wanted := self.protocol.wanted_channels() - asked:
                    await pubsub.subscribe(*wanted)
                    asked |= wanted
                self._pubsub = pubsub
                self._relink = False
                self._execute(self.protocol.link_up(time.monotonic()))
                if not first:
                    log.info("cluster subscription restored; resyncing rooms")
                first = False
                backoff = 0.05
                while True:
                    msg = await pubsub.get_message(timeout=self._heartbeat)
                    if self._relink:
                        raise ConnectionError("own heartbeats stopped coming back")
                    if msg is not None:
                        self._handle(msg)
            except (RedisError, OSError) as exc:
                log.warning("cluster subscription lost: %s", exc, extra={"fields": {}})
            finally:
                self.protocol.link_down()
                self._pubsub = None
                with contextlib.suppress(RedisError, OSError):
                    # Any: redis < 8.2 leaves aclose untyped, later releases type it.
                    await cast(Any, pubsub).aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def _handle(self, msg: dict[str, Any]) -> None:
        """Feed one pub/sub message to the protocol; a failure is counted, never fatal."""
        try:
            channel = msg["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            kind = msg.get("type")
            if kind == "subscribe":
                waiter = self._sub_waiters.pop(channel, None)
                if waiter is not None:
                    waiter.set()
                self._execute(self.protocol.subscribed(channel))
            elif kind == "message":
                self._execute(self.protocol.received(channel, msg["data"], time.monotonic()))
        except Exception:
            self.stats.bad_messages += 1
            log.exception("cluster message could not be handled")

    async def _heartbeats(self) -> None:
        while True:
            self._execute(self.protocol.tick(time.monotonic()))
            await asyncio.sleep(self._heartbeat)

    async def _resyncer(self) -> None:
        while True:
            await self._resync_ready.wait()
            self._resync_ready.clear()
            while (job := self.protocol.take_resync()) is not None:
                if not await self._resync(job):
                    await asyncio.sleep(RESYNC_RETRY)

    async def _resync(self, job: actions.ResyncJob) -> bool:
        """Merge the stored document into the room; False if the store failed."""
        room = self._rooms.get(job.room)
        if room is None or room.closed:
            return True
        try:
            stored = await self._store.load(job.room)
        except CollabError as exc:
            log.warning("cluster resync of %r failed: %s; retrying", job.room, exc)
            self.protocol.resync_failed(job)
            return False
        if room.closed or self._rooms.get(job.room) is not room:
            return True
        if stored.incarnation != room.incarnation:
            log.warning(
                "document was deleted and re-created on another node",
                extra={"fields": {"room": job.room}},
            )
            return True
        room.merge_stored(stored.updates)
        self._execute(self.protocol.resynced(job, room.doc.get_state()))
        return True

    # ------------------------------------------------------------------ metrics

    def render_metrics(self) -> str:
        return self.stats.render(self.protocol.linked, self.protocol.nodes_alive)
