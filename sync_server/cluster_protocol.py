"""The cluster protocol of one node, sans I/O: messages and events in, actions out.

Several relay nodes serve one document by publishing on a pub/sub channel per document
(``<prefix>doc:<name>``), each message tagged with the sender's node id and a per-document
sequence number (format in ``sync_server.cluster_wire``):

* ``UPDATE``: the coalesced update of one relay batch (what its own peers sent);
* ``AWARENESS``: an awareness message of one of its peers, verbatim (including the
  removals it sends when a peer disconnects);
* ``SYNC_REQUEST``: "here is my state vector": every other node answers with an
  ``UPDATE`` holding what the asker lacks and an ``AWARENESS`` with its own peers'
  presence (and, if asked, its own ``SYNC_REQUEST``, so one round syncs both ways).

A node applies updates from other nodes to its room (which stores and relays them; it
never publishes them again). Pub/sub is fire-and-forget, so a node that may have missed
messages resyncs the room: it reloads it from the shared store, merges it (CRDT merges are
idempotent) and sends a two-way ``SYNC_REQUEST`` so that updates still in other nodes'
commit queues arrive too. That happens after the subscription is (re-)established, after a
failed or dropped publish, on a gap in a sender's sequence numbers, when a room's
subscription was confirmed only after it loaded, and when a room asks for it (an update
that builds on something it never received). A room that loads sends a ``SYNC_REQUEST``
right away, having subscribed *before* reading the store.

Liveness: every node publishes a heartbeat on ``<prefix>nodes`` at each :meth:`tick` and a
``BYE`` when it stops. A node silent for ``ttl`` seconds is dead: its clients' presence
(owned in each room by its :class:`~sync_server.cluster_wire.RemoteNode`) is dropped. While
our own heartbeats do not come back we declare nobody dead and ask for a relink.

Publish skipping: a document message that reached only us (PUBLISH's receiver count is 1),
with nothing heard from another node on the channel since it was queued, means no other
node has the room; its updates are then not published at all until another node is heard
there (that node's load sends a ``SYNC_REQUEST``, and our answer carries everything).

No asyncio, no Redis, no clock: time comes in as ``now`` arguments, so tests drive several
instances over an in-memory bus. ``sync_server.cluster`` is the Redis adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.errors import CollabError
from shared.messages import EMPTY_UPDATE, AwarenessUpdate, decode_message

from .cluster_actions import (
    Action,
    AnswerSync,
    ApplyAwareness,
    ApplyUpdate,
    BadMessage,
    DropPresence,
    NodeGone,
    Publish,
    Relink,
    ResyncDue,
    ResyncJob,
    SequenceGap,
    Subscribe,
    Unsubscribe,
)
from .cluster_wire import ASK_BACK, ClusterStats, Kind, RemoteNode, decode, encode


@dataclass(slots=True)
class _RoomLink:
    """What the protocol tracks for one loaded room."""

    seq: int = 0  # the last sequence number we published
    heard: int = 0  # messages from other nodes on its channel
    alone: bool = False  # no other node has it: do not publish (see the module docstring)
    last_seq: dict[bytes, int] = field(default_factory=dict)  # per sending node


class ClusterProtocol:
    """The cluster state machine of one node.

    Args:
        node: this node's 16-byte id (random per process: a restarted node is a new node).
        ttl: seconds of silence after which another node is dead.
        prefix: channel name prefix, to share one Redis between clusters.
    """

    def __init__(self, node: bytes, *, ttl: float, prefix: str = "coscribe:") -> None:
        if len(node) != 16:
            raise ValueError("a node id is 16 bytes")
        self.node = node
        self.ttl = ttl
        self.stats = ClusterStats()
        self.nodes_channel = f"{prefix}nodes"
        self._doc_prefix = f"{prefix}doc:"
        self.linked = False  # the subscription is up
        self._own_seen = 0.0  # when our own heartbeat last came back
        self._remote: dict[bytes, RemoteNode] = {}
        self._rooms: dict[str, _RoomLink] = {}
        self._pending: set[str] = set()  # channels of loading rooms, not confirmed yet
        self._subscribed: set[str] = set()  # confirmed on the current link
        self._resync: dict[str, int] = {}  # room -> SYNC_REQUEST flags
        self._publish_broken = False
        self._heartbeat = encode(Kind.HEARTBEAT, node, 0)

    # ------------------------------------------------------------------ queries

    def channel(self, room: str) -> str:
        return f"{self._doc_prefix}{room}"

    def wanted_channels(self) -> set[str]:
        """Every channel the subscription must hold (on each (re)connect)."""
        rooms = {self.channel(name) for name in self._rooms}
        return {self.nodes_channel, *rooms, *self._pending}

    @property
    def nodes_alive(self) -> int:
        """Other nodes heard from within the TTL."""
        return len(self._remote)

    def is_alone(self, room: str) -> bool:
        link = self._rooms.get(room)
        return link is not None and link.alone

    # ------------------------------------------------------------------ the link

    def link_up(self, now: float) -> list[Action]:
        """The subscription to :meth:`wanted_channels` is (re-)established."""
        self.linked = True
        self._subscribed.clear()
        self.stats.reconnects += 1
        self._own_seen = now
        for remote in self._remote.values():
            remote.last_seen = now  # we could not hear them: give them a fresh TTL
        for link in self._rooms.values():
            link.alone = False
        return self._resync_all(ASK_BACK)

    def link_down(self) -> None:
        self.linked = False
        self._subscribed.clear()

    def subscribed(self, channel: str) -> list[Action]:
        """The pub/sub confirmed a subscription."""
        self._subscribed.add(channel)
        if channel not in self._pending:
            return []
        self._pending.discard(channel)
        # Confirmed only after the room loaded (the link was slow or down): what was
        # published meanwhile, including answers to its sync request, is lost.
        return self._want_resync(self._room_of(channel), 0)

    def tick(self, now: float) -> list[Action]:
        """The heartbeat timer: expire silent nodes, then publish our heartbeat."""
        actions: list[Action] = []
        if self.linked:
            if now - self._own_seen > self.ttl:
                actions.append(Relink())
            else:
                for node_id, remote in list(self._remote.items()):
                    if now - remote.last_seen > self.ttl:
                        actions += self._forget_node(node_id, "no heartbeat")
        actions.append(Publish(self.nodes_channel, self._heartbeat))
        return actions

    def goodbye(self) -> Publish:
        """The last message of a node that stops: the others drop its presence at once."""
        return Publish(self.nodes_channel, encode(Kind.BYE, self.node, 0))

    # ------------------------------------------------------------------ incoming

    def received(self, channel: str, data: bytes, now: float) -> list[Action]:
        """One pub/sub message; anything malformed is counted and reported, never raised."""
        try:
            kind, node, seq, payload = decode(data)
        except ValueError as exc:
            self.stats.bad_messages += 1
            return [BadMessage(None, str(exc))]
        if node == self.node:
            if kind is Kind.HEARTBEAT:
                self._own_seen = now
            return []
        self.stats.received += 1
        remote = self._remote.get(node)
        if remote is None:
            if kind is Kind.BYE:
                return []
            remote = self._remote[node] = RemoteNode(node, now)
        remote.last_seen = now
        if channel == self.nodes_channel:
            return self._forget_node(node, "said bye") if kind is Kind.BYE else []
        name = self._room_of(channel)
        link = self._rooms.get(name)
        if link is None:
            return []
        link.heard += 1
        link.alone = False
        actions: list[Action] = []
        last = link.last_seq.get(node)
        link.last_seq[node] = seq
        if last is not None and seq != 1 and seq != last + 1:  # 1: it reloaded the room
            self.stats.gaps += 1
            actions.append(SequenceGap(name, node, seq, last + 1))
            actions += self._want_resync(name, ASK_BACK)
        if kind is Kind.UPDATE:
            actions.append(ApplyUpdate(name, payload))
        elif kind is Kind.AWARENESS:
            try:
                update = decode_message(payload)
            except (CollabError, ValueError) as exc:
                self.stats.bad_messages += 1
                actions.append(BadMessage(name, f"awareness: {exc}"))
            else:
                if isinstance(update, AwarenessUpdate):
                    actions.append(ApplyAwareness(name, remote, update, payload))
        elif kind is Kind.SYNC_REQUEST:
            if payload:
                actions.append(AnswerSync(name, payload[1:], bool(payload[0] & ASK_BACK)))
            else:
                self.stats.bad_messages += 1
                actions.append(BadMessage(name, "empty sync request"))
        return actions

    def sync_answered(
        self, room: str, diff: bytes, presence: bytes | None, state_vector: bytes | None
    ) -> list[Action]:
        """The room's answer to :class:`AnswerSync`: what the asker lacks, the presence of the
        room's own peers, and the room's state vector if the asker wants ours back."""
        actions: list[Action] = []
        if diff != EMPTY_UPDATE:
            actions += self.publish_update(room, diff)
        if presence is not None:
            actions += self.publish_awareness(room, presence)
        if state_vector is not None:
            actions += self._sync_request(room, 0, state_vector)
        return actions

    # ------------------------------------------------------------------ rooms

    def room_loading(self, room: str) -> list[Action]:
        """A room is about to be read from the store: subscribe first (if linked; if not,
        the next link subscribes it and the late confirmation triggers a resync)."""
        channel = self.channel(room)
        self._pending.add(channel)
        return [Subscribe(channel)] if self.linked else []

    def room_loaded(self, room: str, state_vector: bytes) -> list[Action]:
        self._rooms[room] = _RoomLink()
        return self._sync_request(room, 0, state_vector)

    def room_unloaded(self, room: str) -> list[Action]:
        self._rooms.pop(room, None)
        self._resync.pop(room, None)
        channel = self.channel(room)
        self._pending.discard(channel)
        self._subscribed.discard(channel)
        return [Unsubscribe(channel)] if self.linked else []

    def publish_update(self, room: str, update: bytes) -> list[Action]:
        """A relay batch of the room's own peers."""
        return self._publish_doc(room, Kind.UPDATE, update)

    def publish_awareness(self, room: str, message: bytes) -> list[Action]:
        """A presence message of one of the room's own peers."""
        return self._publish_doc(room, Kind.AWARENESS, message)

    def request_resync(self, room: str) -> list[Action]:
        """The room got an update that builds on something it never received."""
        return self._want_resync(room, ASK_BACK)

    # ------------------------------------------------------------------ publishing

    def published(self, batch: list[Publish], receivers: list[int]) -> list[Action]:
        """A batch went out; ``receivers[i]`` subscribers got ``batch[i]``."""
        self.stats.published += len(batch)
        for message, count in zip(batch, receivers, strict=True):
            link = self._rooms.get(message.room) if message.room is not None else None
            if link is None or count != 1 or link.heard != message.heard:
                continue
            # 1 is only us if we are subscribed (if not, the next link's resync repairs it).
            if self.linked and message.channel in self._subscribed:
                link.alone = True
        if self._publish_broken:
            self._publish_broken = False
            return self._resync_all(ASK_BACK)
        return []

    def publish_failed(self, batch: list[Publish]) -> None:
        """A batch was lost; once publishing works again every room resyncs."""
        self.stats.publish_failures += 1
        self.stats.dropped += len(batch)
        self._publish_broken = True

    def publishes_dropped(self, count: int) -> list[Action]:
        """The adapter dropped ``count`` queued messages (its queue overflowed)."""
        self.stats.dropped += count
        return self._resync_all(ASK_BACK)

    # ------------------------------------------------------------------ resyncs

    def take_resync(self) -> ResyncJob | None:
        """The next scheduled resync of a loaded room, or None."""
        while self._resync:
            room, flags = self._resync.popitem()
            if room in self._rooms:
                return ResyncJob(room, bool(flags & ASK_BACK))
        return None

    def resynced(self, job: ResyncJob, state_vector: bytes) -> list[Action]:
        """The stored document was merged into the room: now ask the other nodes."""
        if job.room not in self._rooms:
            return []
        self.stats.resyncs += 1
        return self._sync_request(job.room, ASK_BACK if job.ask_back else 0, state_vector)

    def resync_failed(self, job: ResyncJob) -> None:
        """The store could not be read: schedule the job again (merged with newer ones)."""
        if job.room in self._rooms:
            flags = ASK_BACK if job.ask_back else 0
            self._resync[job.room] = self._resync.get(job.room, 0) | flags

    # ------------------------------------------------------------------ internals

    def _room_of(self, channel: str) -> str:
        return channel.removeprefix(self._doc_prefix)

    def _publish_doc(self, room: str, kind: Kind, payload: bytes) -> list[Action]:
        link = self._rooms.get(room)
        if link is None:
            return []  # not (or no longer) a loaded room of ours
        if link.alone and kind is not Kind.SYNC_REQUEST:
            self.stats.skipped += 1
            return []
        link.seq += 1
        data = encode(kind, self.node, link.seq, payload)
        return [Publish(self.channel(room), data, room, link.heard)]

    def _sync_request(self, room: str, flags: int, state_vector: bytes) -> list[Action]:
        return self._publish_doc(room, Kind.SYNC_REQUEST, bytes([flags]) + state_vector)

    def _want_resync(self, room: str, flags: int) -> list[Action]:
        if room not in self._rooms:
            return []
        self._resync[room] = self._resync.get(room, 0) | flags
        return [ResyncDue(room)]

    def _resync_all(self, flags: int) -> list[Action]:
        actions: list[Action] = []
        for room in self._rooms:
            actions += self._want_resync(room, flags)
        return actions

    def _forget_node(self, node_id: bytes, why: str) -> list[Action]:
        remote = self._remote.pop(node_id, None)
        if remote is None:
            return []
        self.stats.nodes_expired += 1
        actions: list[Action] = [NodeGone(node_id, why)]
        for name, link in self._rooms.items():
            link.last_seq.pop(node_id, None)
            actions.append(DropPresence(name, remote))
        return actions
