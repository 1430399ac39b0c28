"""The cluster's pub/sub wire format, its presence owners and its counters.

One message: ``version (1) | kind (1) | node id (16) | seq (8, big endian) | payload``.
See ``sync_server.cluster`` for what each kind means.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from .metrics import Row, render_rows

VERSION = 1
_HEADER = struct.Struct(">BB16sQ")
#: SYNC_REQUEST flag: the receivers should send their own SYNC_REQUEST back.
ASK_BACK = 1


class Kind(IntEnum):
    UPDATE = 1
    AWARENESS = 2
    SYNC_REQUEST = 3
    HEARTBEAT = 4
    BYE = 5


class RemoteNode:
    """Owner of the presence entries that came from another node."""

    __slots__ = ("node_id", "last_seen")

    def __init__(self, node_id: bytes, now: float) -> None:
        self.node_id = node_id
        self.last_seen = now

    def __repr__(self) -> str:
        return f"<RemoteNode {self.node_id.hex()[:8]}>"


def encode(kind: Kind, node: bytes, seq: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(VERSION, kind, node, seq) + payload


def decode(data: bytes) -> tuple[Kind, bytes, int, bytes]:
    """Raises ValueError on anything that is not one of our messages."""
    if len(data) < _HEADER.size:
        raise ValueError("short cluster message")
    version, kind, node, seq = _HEADER.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"cluster message version {version}")
    return Kind(kind), node, seq, data[_HEADER.size :]


class ClusterStats:
    """Counters rendered on /metrics (``coscribe_cluster_*``)."""

    def __init__(self) -> None:
        self.published = 0
        self.received = 0
        self.publish_failures = 0
        self.dropped = 0
        self.resyncs = 0
        self.gaps = 0
        self.reconnects = 0
        self.nodes_expired = 0
        self.bad_messages = 0
        self.skipped = 0

    def render(self, connected: bool, nodes: int) -> str:
        c, g = "counter", "gauge"
        rows: list[Row] = [
            ("connected", g, "1 while the Redis subscription is up.", int(connected), ""),
            ("nodes", g, "Other nodes heard from within the TTL.", nodes, ""),
            ("published_total", c, "Messages published.", self.published, ""),
            ("received_total", c, "Messages from other nodes.", self.received, ""),
            ("publish_failures_total", c, "Failed publish batches.", self.publish_failures, ""),
            ("dropped_total", c, "Messages dropped while Redis was down.", self.dropped, ""),
            ("resyncs_total", c, "Room resyncs from storage and peers.", self.resyncs, ""),
            ("gaps_total", c, "Sequence gaps detected.", self.gaps, ""),
            ("reconnects_total", c, "Redis subscription (re)connects.", self.reconnects, ""),
            ("nodes_expired_total", c, "Nodes declared dead.", self.nodes_expired, ""),
            ("bad_messages_total", c, "Undecodable messages.", self.bad_messages, ""),
            ("skipped_total", c, "Not published: no other node has the room.", self.skipped, ""),
        ]
        return render_rows("coscribe_cluster_", rows)
