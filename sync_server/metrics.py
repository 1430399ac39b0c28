"""Counters and gauges of one server, rendered in the Prometheus text format on /metrics.

Plain attributes instead of a metrics library: the hot path does ``metrics.x += 1`` and
nothing else, and the server has no dependency beyond websockets and pycrdt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .store import StoreStats


@dataclass(slots=True)
class Metrics:
    connections_opened: int = 0
    connections_closed: int = 0
    connections_rejected: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    updates_in: int = 0
    updates_rejected: int = 0
    relay_batches: int = 0
    awareness_in: int = 0
    acks_sent: int = 0
    rooms_loaded_total: int = 0
    rooms_unloaded_total: int = 0
    slow_consumers: int = 0
    memory_trims: int = 0
    closes_by_code: Counter[int] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)

    def render(self, *, active_connections: int, rooms: int, store: StoreStats) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, value: float, labels: str = "") -> None:
            if not any(line.startswith(f"# TYPE {name} ") for line in lines):
                lines.append(f"# HELP {name} {help_}")
                lines.append(f"# TYPE {name} {kind}")
            lines.append(f"{name}{labels} {value}")

        p = "coscribe_"
        metric(p + "connections", "gauge", "Open WebSocket connections.", active_connections)
        metric(
            p + "connections_opened_total",
            "counter",
            "Connections accepted.",
            self.connections_opened,
        )
        metric(
            p + "connections_rejected_total",
            "counter",
            "Handshakes refused (bad path, limits).",
            self.connections_rejected,
        )
        metric(p + "rooms", "gauge", "Documents loaded in memory.", rooms)
        metric(p + "rooms_loaded_total", "counter", "Room loads.", self.rooms_loaded_total)
        metric(p + "rooms_unloaded_total", "counter", "Room unloads.", self.rooms_unloaded_total)
        metric(
            p + "messages_received_total",
            "counter",
            "WebSocket messages received.",
            self.messages_in,
        )
        metric(p + "messages_sent_total", "counter", "WebSocket messages sent.", self.messages_out)
        metric(p + "bytes_received_total", "counter", "Bytes received in messages.", self.bytes_in)
        metric(p + "bytes_sent_total", "counter", "Bytes sent in messages.", self.bytes_out)
        metric(
            p + "updates_received_total", "counter", "Document updates applied.", self.updates_in
        )
        metric(
            p + "updates_rejected_total",
            "counter",
            "Updates dropped from read-only peers.",
            self.updates_rejected,
        )
        metric(p + "relay_batches_total", "counter", "Coalesced relay batches.", self.relay_batches)
        metric(
            p + "awareness_received_total",
            "counter",
            "Awareness updates received.",
            self.awareness_in,
        )
        metric(
            p + "acks_sent_total", "counter", "Durability acknowledgements sent.", self.acks_sent
        )
        metric(
            p + "memory_trims_total",
            "counter",
            "Times freed memory was handed back to the OS.",
            self.memory_trims,
        )
        metric(
            p + "slow_consumers_total",
            "counter",
            "Peers dropped for not reading.",
            self.slow_consumers,
        )
        for code, n in sorted(self.closes_by_code.items()):
            metric(
                p + "closes_total",
                "counter",
                "Connections closed by the server, by code.",
                n,
                f'{{code="{code}"}}',
            )
        for kind, n in sorted(self.errors_by_kind.items()):
            metric(p + "errors_total", "counter", "Errors by kind.", n, f'{{kind="{kind}"}}')
        metric(p + "store_commits_total", "counter", "Store transactions committed.", store.commits)
        metric(
            p + "store_updates_written_total",
            "counter",
            "Updates written to the store.",
            store.updates_written,
        )
        metric(
            p + "store_bytes_written_total",
            "counter",
            "Bytes written to the store.",
            store.bytes_written,
        )
        metric(
            p + "store_commit_seconds_total",
            "counter",
            "Time spent committing.",
            round(store.commit_seconds_total, 6),
        )
        metric(
            p + "store_commit_seconds_max",
            "gauge",
            "Slowest commit.",
            round(store.commit_seconds_max, 6),
        )
        metric(p + "store_compactions_total", "counter", "Log compactions.", store.compactions)
        metric(p + "store_errors_total", "counter", "Store failures.", store.errors)
        metric(p + "store_queue_depth", "gauge", "Updates waiting for commit.", store.queue_depth)
        return "\n".join(lines) + "\n"
