"""Counters and gauges of one server, rendered in the Prometheus text format on /metrics.

Plain attributes instead of a metrics library: the hot path does ``metrics.x += 1`` and
nothing else, and the server has no dependency beyond websockets and pycrdt. Every metric
is declared once, in a table (name, kind, help, value); :func:`render_rows` writes any such
table, so the server's and the cluster's metrics share one renderer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .store import StoreStats

#: One metric sample: (name without prefix, "counter" or "gauge", help, value, labels).
Row = tuple[str, str, str, float, str]


def render_rows(prefix: str, rows: Iterable[Row]) -> str:
    """Prometheus text for ``rows``; samples of one name share one HELP/TYPE header."""
    lines: list[str] = []
    seen: set[str] = set()
    for name, kind, help_, value, labels in rows:
        full = prefix + name
        if full not in seen:
            seen.add(full)
            lines += [f"# HELP {full} {help_}", f"# TYPE {full} {kind}"]
        lines.append(f"{full}{labels} {value}")
    return "\n".join(lines) + "\n"


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
    updates_held: int = 0
    relay_batches: int = 0
    awareness_in: int = 0
    acks_sent: int = 0
    full_state_encodes: int = 0
    rooms_loaded_total: int = 0
    rooms_unloaded_total: int = 0
    slow_consumers: int = 0
    memory_trims: int = 0
    closes_by_code: Counter[int] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)

    def rows(
        self, *, active_connections: int, rooms: int, outbound_bytes: int, store: StoreStats
    ) -> list[Row]:
        c, g = "counter", "gauge"
        rows: list[Row] = [
            ("connections", g, "Open WebSocket connections.", active_connections, ""),
            ("connections_opened_total", c, "Connections accepted.", self.connections_opened, ""),
            (
                "connections_rejected_total",
                c,
                "Handshakes refused (bad path, limits).",
                self.connections_rejected,
                "",
            ),
            ("outbound_bytes", g, "Bytes queued to be sent, all peers.", outbound_bytes, ""),
            ("rooms", g, "Documents loaded in memory.", rooms, ""),
            ("rooms_loaded_total", c, "Room loads.", self.rooms_loaded_total, ""),
            ("rooms_unloaded_total", c, "Room unloads.", self.rooms_unloaded_total, ""),
            ("messages_received_total", c, "WebSocket messages received.", self.messages_in, ""),
            ("messages_sent_total", c, "WebSocket messages sent.", self.messages_out, ""),
            ("bytes_received_total", c, "Bytes received in messages.", self.bytes_in, ""),
            ("bytes_sent_total", c, "Bytes sent in messages.", self.bytes_out, ""),
            ("updates_received_total", c, "Document updates applied.", self.updates_in, ""),
            (
                "updates_rejected_total",
                c,
                "Updates dropped from read-only peers.",
                self.updates_rejected,
                "",
            ),
            (
                "updates_held_total",
                c,
                "Updates held until what they build on arrived.",
                self.updates_held,
                "",
            ),
            (
                "full_state_encodes_total",
                c,
                "Whole-document encodings (once per document version).",
                self.full_state_encodes,
                "",
            ),
            ("relay_batches_total", c, "Coalesced relay batches.", self.relay_batches, ""),
            ("awareness_received_total", c, "Awareness updates received.", self.awareness_in, ""),
            ("acks_sent_total", c, "Durability acknowledgements sent.", self.acks_sent, ""),
            (
                "memory_trims_total",
                c,
                "Times freed memory was handed back to the OS.",
                self.memory_trims,
                "",
            ),
            ("slow_consumers_total", c, "Peers dropped for not reading.", self.slow_consumers, ""),
        ]
        for code, n in sorted(self.closes_by_code.items()):
            rows.append(
                (
                    "closes_total",
                    c,
                    "Connections closed by the server, by code.",
                    n,
                    f'{{code="{code}"}}',
                )
            )
        for kind, n in sorted(self.errors_by_kind.items()):
            rows.append(("errors_total", c, "Errors by kind.", n, f'{{kind="{kind}"}}'))
        rows += [
            ("store_commits_total", c, "Store transactions committed.", store.commits, ""),
            ("store_updates_written_total", c, "Updates written.", store.updates_written, ""),
            ("store_bytes_written_total", c, "Bytes written.", store.bytes_written, ""),
            (
                "store_commit_seconds_total",
                c,
                "Time spent committing.",
                round(store.commit_seconds_total, 6),
                "",
            ),
            (
                "store_commit_seconds_max",
                g,
                "Slowest commit.",
                round(store.commit_seconds_max, 6),
                "",
            ),
            ("store_compactions_total", c, "Log compactions.", store.compactions, ""),
            ("store_errors_total", c, "Store failures.", store.errors, ""),
            ("store_queue_depth", g, "Updates waiting for commit.", store.queue_depth, ""),
        ]
        return rows

    def render(
        self,
        *,
        active_connections: int,
        rooms: int,
        store: StoreStats,
        outbound_bytes: int = 0,
    ) -> str:
        return render_rows(
            "coscribe_",
            self.rows(
                active_connections=active_connections,
                rooms=rooms,
                outbound_bytes=outbound_bytes,
                store=store,
            ),
        )
