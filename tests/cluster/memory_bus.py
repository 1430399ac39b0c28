"""Cluster nodes in memory: ``ClusterProtocol`` instances over a fake pub/sub and a fake clock.

* :class:`MemoryBus` is the pub/sub. ``publish`` counts the subscribers (like Redis's
  PUBLISH) and puts one delivery per subscriber in flight; tests decide what happens to
  deliveries: ``drop`` (lost), ``hold`` (delayed until ``release``), ``shuffle``
  (reordered). :meth:`MemoryBus.settle` runs every node until nothing moves.
* :class:`MemoryNode` is one node's adapter: it carries out the protocol's actions against
  :class:`FakeRoom` documents (a real pycrdt ``Doc`` and a presence table keyed by owner)
  and a :class:`SharedStore` (the PostgreSQL every node shares, with an optional commit
  queue), the way ``sync_server.cluster.RedisFanout`` does against Redis and real rooms.

Nothing here sleeps: time is :class:`FakeClock`, and delivery happens when a test says so.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Text, merge_updates

from shared.messages import AwarenessEntry, AwarenessUpdate
from sync_server.cluster_actions import (
    Action,
    AnswerSync,
    ApplyAwareness,
    ApplyUpdate,
    DropPresence,
    Publish,
    Relink,
    Subscribe,
    Unsubscribe,
)
from sync_server.cluster_protocol import ClusterProtocol

LOCAL = "local"  # owner of a FakeRoom's own clients' presence


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --------------------------------------------------------------------------- store, rooms


@dataclass
class Stored:
    incarnation: str
    updates: list[bytes]


class SharedStore:
    """The shared database: an append-only log per document.

    ``queue_commits``: appends wait in a commit queue until :meth:`commit` (what a node has
    applied but not committed yet; only a SYNC_REQUEST can bring it to another node).
    """

    def __init__(self) -> None:
        self.logs: dict[str, list[bytes]] = defaultdict(list)
        self.queue_commits = False
        self.queued: list[tuple[str, bytes]] = []
        self.loads = 0

    def append(self, name: str, update: bytes) -> None:
        if self.queue_commits:
            self.queued.append((name, update))
        else:
            self.logs[name].append(update)

    def commit(self) -> None:
        for name, update in self.queued:
            self.logs[name].append(update)
        self.queued.clear()

    def read(self, name: str) -> list[bytes]:
        """The stored updates (compacted into one, as the real stores do now and then)."""
        self.loads += 1
        log = self.logs[name]
        if len(log) > 1:
            log[:] = [merge_updates(*log)]
        return list(log)

    async def load(self, name: str) -> Stored:
        """``DocumentStore.load`` for the Redis adapter."""
        return Stored("inc-1", self.read(name))


@dataclass
class Presence:
    clock: int
    state_json: str
    owner: object


class FakeRoom:
    """What the cluster needs of ``sync_server.room.Room``, over a real pycrdt document."""

    def __init__(self, name: str, store: SharedStore, incarnation: str = "inc-1") -> None:
        self.name = name
        self.incarnation = incarnation
        self.closed = False
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("content", type=Text)
        self.store = store
        self.presence: dict[int, Presence] = {}
        self.remote_updates: list[bytes] = []
        self.merges = 0
        for update in store.read(name):
            self.doc.apply_update(update)

    def __str__(self) -> str:
        return str(self.text)

    # what the node's own peers do
    def edit(self, text: str) -> bytes:
        before = self.doc.get_state()
        self.text += text
        update = self.doc.get_update(before)
        self.store.append(self.name, update)
        return update

    def set_presence(self, client_id: int, state_json: str) -> bytes:
        current = self.presence.get(client_id)
        clock = current.clock + 1 if current else 1
        if state_json == "null":
            self.presence.pop(client_id, None)
        else:
            self.presence[client_id] = Presence(clock, state_json, LOCAL)
        entry = AwarenessEntry(client_id, clock, state_json)
        return AwarenessUpdate.from_entries((entry,)).encode()

    # the Room interface the cluster uses
    def apply_remote_update(self, update: bytes) -> None:
        self.remote_updates.append(update)
        self.doc.apply_update(update)
        self.store.append(self.name, update)

    def merge_stored(self, updates: list[bytes]) -> None:
        self.merges += 1
        for update in updates:
            self.doc.apply_update(update)

    def apply_remote_awareness(self, owner: object, update: AwarenessUpdate, raw: bytes) -> None:
        for e in update.entries:
            current = self.presence.get(e.client_id)
            if current is None:
                if not e.removed:
                    self.presence[e.client_id] = Presence(e.clock, e.state_json, owner)
            elif e.clock > current.clock or (e.clock == current.clock and e.removed):
                if e.removed:
                    del self.presence[e.client_id]
                else:
                    self.presence[e.client_id] = Presence(e.clock, e.state_json, owner)

    def drop_presence_of(self, owner: object) -> None:
        for cid in [cid for cid, p in self.presence.items() if p.owner is owner]:
            del self.presence[cid]

    def local_presence_message(self) -> bytes | None:
        entries = tuple(
            AwarenessEntry(cid, p.clock, p.state_json)
            for cid, p in self.presence.items()
            if p.owner == LOCAL
        )
        return AwarenessUpdate.from_entries(entries).encode() if entries else None

    def owners(self) -> dict[int, object]:
        return {cid: p.owner for cid, p in self.presence.items()}


# --------------------------------------------------------------------------- the bus


@dataclass
class Delivery:
    target: MemoryNode
    channel: str
    data: bytes | None  # None: a subscription confirmation


@dataclass
class MemoryBus:
    """A pub/sub with fault injection; see the module docstring."""

    clock: FakeClock = field(default_factory=FakeClock)
    nodes: list[MemoryNode] = field(default_factory=list)
    subscribers: dict[str, list[MemoryNode]] = field(default_factory=lambda: defaultdict(list))
    in_flight: list[Delivery] = field(default_factory=list)
    held: list[Delivery] = field(default_factory=list)
    drop: Callable[[Delivery], bool] = lambda d: False
    hold: Callable[[Delivery], bool] = lambda d: False
    dropped: int = 0

    def subscribe(self, node: MemoryNode, channel: str) -> None:
        if node not in self.subscribers[channel]:
            self.subscribers[channel].append(node)
        self._send(Delivery(node, channel, None))

    def unsubscribe(self, node: MemoryNode, channel: str) -> None:
        if node in self.subscribers[channel]:
            self.subscribers[channel].remove(node)

    def cut(self, node: MemoryNode) -> None:
        """The node's connection is gone: its subscriptions and undelivered messages too."""
        for subscribers in self.subscribers.values():
            if node in subscribers:
                subscribers.remove(node)
        self.in_flight = [d for d in self.in_flight if d.target is not node]
        self.held = [d for d in self.held if d.target is not node]

    def publish(self, channel: str, data: bytes) -> int:
        targets = list(self.subscribers[channel])
        for target in targets:
            self._send(Delivery(target, channel, data))
        return len(targets)

    def _send(self, delivery: Delivery) -> None:
        if self.drop(delivery):
            self.dropped += 1
        elif self.hold(delivery):
            self.held.append(delivery)
        else:
            self.in_flight.append(delivery)

    def release(self) -> None:
        """Held deliveries go out now, after everything already in flight."""
        self.in_flight += self.held
        self.held = []

    def shuffle(self, rng: random.Random) -> None:
        rng.shuffle(self.in_flight)

    def deliver(self) -> int:
        """Deliver what is in flight now (not what that causes); how many."""
        batch, self.in_flight = self.in_flight, []
        for d in batch:
            d.target.receive(d)
        return len(batch)

    def settle(self, max_rounds: int = 200) -> None:
        """Flush, deliver and resync on every node until nothing moves."""
        for _ in range(max_rounds):
            moved = sum(node.flush() for node in self.nodes)
            moved += self.deliver()
            moved += sum(node.run_resyncs() for node in self.nodes)
            if not moved:
                return
        raise AssertionError(f"the cluster did not settle in {max_rounds} rounds")

    def tick(self) -> None:
        for node in self.nodes:
            node.tick()


# --------------------------------------------------------------------------- a node


class MemoryNode:
    """One node: its protocol, its rooms, and the adapter between them and the bus."""

    def __init__(self, name: str, bus: MemoryBus, store: SharedStore, *, ttl: float = 1.0):
        self.name = name
        self.bus = bus
        self.store = store
        self.protocol = ClusterProtocol(name.encode().ljust(16, b"\0"), ttl=ttl)
        self.rooms: dict[str, FakeRoom] = {}
        self.outbox: list[Publish] = []
        self.actions: list[Action] = []  # everything carried out, for assertions
        self.up = False
        self.relinks = 0
        bus.nodes.append(self)

    def __repr__(self) -> str:
        return f"<MemoryNode {self.name}>"

    # link
    def connect(self) -> MemoryNode:
        for channel in sorted(self.protocol.wanted_channels()):
            self.bus.subscribe(self, channel)
        self.up = True
        self.execute(self.protocol.link_up(self.bus.clock.now))
        return self

    def disconnect(self) -> None:
        self.bus.cut(self)
        self.up = False
        self.protocol.link_down()

    # rooms
    def load(self, name: str, *, confirm: bool = True) -> FakeRoom:
        """Subscribe, wait for the confirmation (unless ``confirm`` is False: the
        adapter gave up waiting), read the store, announce the room."""
        self.execute(self.protocol.room_loading(name))
        if confirm:
            self.deliver_confirmations()
        room = FakeRoom(name, self.store)
        self.rooms[name] = room
        self.execute(self.protocol.room_loaded(name, room.doc.get_state()))
        return room

    def unload(self, name: str) -> None:
        room = self.rooms.pop(name)
        room.closed = True
        self.execute(self.protocol.room_unloaded(name))

    def deliver_confirmations(self) -> None:
        mine = [d for d in self.bus.in_flight if d.target is self and d.data is None]
        self.bus.in_flight = [d for d in self.bus.in_flight if d not in mine]
        for d in mine:
            self.receive(d)

    def edit(self, name: str, text: str) -> None:
        update = self.rooms[name].edit(text)
        self.execute(self.protocol.publish_update(name, update))

    def set_presence(self, name: str, client_id: int, state_json: str) -> None:
        message = self.rooms[name].set_presence(client_id, state_json)
        self.execute(self.protocol.publish_awareness(name, message))

    # the pump
    def flush(self) -> int:
        """Publish the outbox (a failure if the link is down); how many messages."""
        batch, self.outbox = self.outbox, []
        if not batch:
            return 0
        if not self.up:
            self.protocol.publish_failed(batch)
            return len(batch)
        receivers = [self.bus.publish(p.channel, p.data) for p in batch]
        self.execute(self.protocol.published(batch, receivers))
        return len(batch)

    def receive(self, delivery: Delivery) -> None:
        if delivery.data is None:
            self.execute(self.protocol.subscribed(delivery.channel))
        else:
            now = self.bus.clock.now
            self.execute(self.protocol.received(delivery.channel, delivery.data, now))

    def tick(self) -> None:
        self.execute(self.protocol.tick(self.bus.clock.now))

    def run_resyncs(self) -> int:
        done = 0
        while (job := self.protocol.take_resync()) is not None:
            room = self.rooms[job.room]
            room.merge_stored(self.store.read(job.room))
            self.execute(self.protocol.resynced(job, room.doc.get_state()))
            done += 1
        return done

    def execute(self, actions: list[Action]) -> None:
        for action in actions:
            self.actions.append(action)
            match action:
                case Publish():
                    self.outbox.append(action)
                case Subscribe(channel):
                    if self.up:
                        self.bus.subscribe(self, channel)
                case Unsubscribe(channel):
                    self.bus.unsubscribe(self, channel)
                case Relink():
                    self.relinks += 1
                case ApplyUpdate(room, update):
                    self.rooms[room].apply_remote_update(update)
                case ApplyAwareness(room, owner, update, raw):
                    self.rooms[room].apply_remote_awareness(owner, update, raw)
                case DropPresence(room, owner):
                    self.rooms[room].drop_presence_of(owner)
                case AnswerSync(room, state_vector, ask_back):
                    r = self.rooms[room]
                    own = r.doc.get_state() if ask_back else None
                    diff, presence = r.doc.get_update(state_vector), r.local_presence_message()
                    self.execute(self.protocol.sync_answered(room, diff, presence, own))
                case _:
                    pass  # ResyncDue (run_resyncs takes the jobs) and the log-only events

    def seen(self, kind: type[Any]) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]
