"""What the cluster protocol asks its I/O adapter to do, and what it reports: plain data.

:class:`~sync_server.cluster_protocol.ClusterProtocol` never touches Redis, a room or the
store. Each of its inputs returns a list of these; the adapter (``sync_server.cluster``
against Redis, ``tests/cluster/memory_bus.py`` in memory) carries them out in order:

* transport: :class:`Publish`, :class:`Subscribe`, :class:`Unsubscribe`, :class:`Relink`;
* rooms: :class:`ApplyUpdate`, :class:`ApplyAwareness`, :class:`DropPresence`,
  :class:`AnswerSync`, and :class:`ResyncDue` (take the job with
  ``ClusterProtocol.take_resync``, load the room from storage, merge it, report back);
* for the logs only: :class:`NodeGone`, :class:`SequenceGap`, :class:`BadMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.messages import AwarenessUpdate

from .cluster_wire import RemoteNode

# --------------------------------------------------------------------------- transport


@dataclass(frozen=True, slots=True)
class Publish:
    """Publish ``data`` on ``channel``, then report how many subscribers got it.

    For a document message, ``room`` names the room and ``heard`` is how many messages from
    other nodes the room had heard when this was queued: a publish that reached only us,
    with nothing heard since, means no other node has the room (``ClusterProtocol.published``).
    """

    channel: str
    data: bytes
    room: str | None = None
    heard: int = 0


@dataclass(frozen=True, slots=True)
class Subscribe:
    channel: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str


@dataclass(frozen=True, slots=True)
class Relink:
    """Our own heartbeats stopped coming back: drop the subscription and reconnect."""


# --------------------------------------------------------------------------- rooms


@dataclass(frozen=True, slots=True)
class ApplyUpdate:
    """``Room.apply_remote_update(update)``."""

    room: str
    update: bytes


@dataclass(frozen=True, slots=True)
class ApplyAwareness:
    """``Room.apply_remote_awareness(owner, update, raw)``: presence owned by another node."""

    room: str
    owner: RemoteNode
    update: AwarenessUpdate
    raw: bytes


@dataclass(frozen=True, slots=True)
class DropPresence:
    """``Room.drop_presence_of(owner)``: that node is gone."""

    room: str
    owner: RemoteNode


@dataclass(frozen=True, slots=True)
class AnswerSync:
    """Another node sent its state vector: report ``room.doc.get_update(state_vector)``, the
    room's own peers' presence and (if ``ask_back``) the room's state vector through
    ``ClusterProtocol.sync_answered``."""

    room: str
    state_vector: bytes
    ask_back: bool


@dataclass(frozen=True, slots=True)
class ResyncDue:
    """A resync of ``room`` was scheduled: wake the resync worker."""

    room: str


@dataclass(frozen=True, slots=True)
class ResyncJob:
    """One resync to run (``ClusterProtocol.take_resync``): merge the stored document into
    the room, then ``ClusterProtocol.resynced``. ``ask_back``: the other nodes should send
    their own SYNC_REQUEST back (we may have missed their updates, not just they ours)."""

    room: str
    ask_back: bool


# --------------------------------------------------------------------------- for the logs


@dataclass(frozen=True, slots=True)
class NodeGone:
    node: bytes
    why: str


@dataclass(frozen=True, slots=True)
class SequenceGap:
    room: str
    node: bytes
    seq: int
    expected: int


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message that could not be decoded (already counted in ``ClusterStats``)."""

    room: str | None
    reason: str


#: What the adapter carries out on a loaded room.
RoomAction = ApplyUpdate | ApplyAwareness | DropPresence | AnswerSync

Action = (
    Publish
    | Subscribe
    | Unsubscribe
    | Relink
    | RoomAction
    | ResyncDue
    | NodeGone
    | SequenceGap
    | BadMessage
)
