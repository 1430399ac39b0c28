"""Outbound memory: every byte waiting to be sent is bounded, per peer and for the server.

A relay writes straight into each connection's transport (see ``connection.py``), so the
transport's write buffer is the peer's outbound queue. Three rules bound it:

* per peer, checked on every write: a peer with more than ``max_outbound_bytes`` waiting
  is closed (4429, slow consumer);
* per peer, on a timer: a peer that drained nothing for ``stall_timeout`` seconds while
  bytes were waiting is closed (4429) even if nothing else is ever written to it. A peer
  that asks for a big document and never reads would otherwise pin that memory forever:
  WebSocket keepalive cannot notice, because its ping waits behind the unsent bytes;
* for the whole server: when the sum over all peers passes ``max_total_outbound_bytes``,
  the peers with the most waiting are closed first until it is below again, and a large
  message (a whole-document sync) is refused up front (1013, try again later) while the
  estimate is over.

The monitor is sans-I/O: it sees peers through :class:`Backlogged` and time through the
``now`` passed to :meth:`OutboundMonitor.sweep`; the server calls ``sweep`` every second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from shared.errors import CloseCode


class Backlogged(Protocol):
    """A peer as the monitor sees it."""

    label: str
    #: Bytes handed to the transport since the connection opened.
    written: int

    def buffered(self) -> int:
        """Bytes waiting in the transport now."""

    def kick(self, code: CloseCode, reason: str) -> None:
        """Close the peer (without waiting for its buffer to drain)."""


@dataclass(slots=True)
class _Watch:
    size: int  # buffered at the last sweep
    written: int  # peer.written at the last sweep
    idle: float  # seconds with bytes waiting and none drained


class OutboundMonitor:
    """Tracks peers with bytes waiting; closes stalled ones and keeps the total bounded."""

    __slots__ = (
        "_last_sweep",
        "_watched",
        "_written_since_sweep",
        "max_total",
        "stall_timeout",
        "stalled",
        "total",
        "trimmed",
    )

    def __init__(self, *, stall_timeout: float, max_total: int) -> None:
        self.stall_timeout = stall_timeout
        self.max_total = max_total
        self._watched: dict[Backlogged, _Watch] = {}
        self._last_sweep: float | None = None
        #: Bytes waiting at the last sweep, over all watched peers.
        self.total = 0
        self._written_since_sweep = 0
        #: Peers closed for stalling / to bring the total down (for metrics and tests).
        self.stalled = 0
        self.trimmed = 0

    def wrote(self, peer: Backlogged, size: int, buffered: int) -> None:
        """``peer`` was handed ``size`` bytes and now has ``buffered`` waiting."""
        self._written_since_sweep += size
        if buffered and peer not in self._watched:
            self._watched[peer] = _Watch(buffered, peer.written, 0.0)

    def forget(self, peer: Backlogged) -> None:
        self._watched.pop(peer, None)

    def estimate(self) -> int:
        """An upper bound of the bytes waiting now (last sweep plus writes since)."""
        return self.total + self._written_since_sweep

    def admits(self, size: int) -> bool:
        """Whether a message of ``size`` bytes may be queued without passing the total."""
        return self.estimate() + size <= self.max_total

    def __len__(self) -> int:
        return len(self._watched)

    def sweep(self, now: float) -> None:
        """Measure every watched peer; close stalled ones, then the largest if over total."""
        elapsed = 0.0 if self._last_sweep is None else max(0.0, now - self._last_sweep)
        self._last_sweep = now
        total = 0
        sizes: list[tuple[int, Backlogged]] = []
        for peer, watch in list(self._watched.items()):
            size = peer.buffered()
            if size == 0:
                del self._watched[peer]
                continue
            drained = watch.size + (peer.written - watch.written) - size
            watch.idle = watch.idle + elapsed if drained <= 0 else 0.0
            watch.size, watch.written = size, peer.written
            if watch.idle >= self.stall_timeout:
                self.stalled += 1
                del self._watched[peer]
                peer.kick(CloseCode.SLOW_CONSUMER, "peer stopped reading")
                continue
            total += size
            sizes.append((size, peer))
        self._written_since_sweep = 0
        if total > self.max_total:
            for size, peer in sorted(sizes, key=lambda sp: sp[0], reverse=True):
                if total <= self.max_total:
                    break
                self.trimmed += 1
                total -= size
                self._watched.pop(peer, None)
                peer.kick(CloseCode.SLOW_CONSUMER, "server outbound memory limit reached")
        self.total = total

    def peers(self) -> Iterator[Backlogged]:
        return iter(list(self._watched))
