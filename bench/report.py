"""Render benchmark results as one markdown table: ours, the peers, ratio ours/Node, target."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from scenarios import Metrics
from servers import LABELS

COLUMNS = (
    "ours",
    "ours-asyncio",
    "ours-ci0",
    "ours-w2",
    "ours-mem",
    "before",
    "node",
    "hocuspocus",
    "pycrdt",
    "raw",
    "url",
)


@dataclass(frozen=True, slots=True)
class Row:
    """One metric of one scenario, and the target it is read against (if any)."""

    metric: str
    label: str
    target: str = ""


# Rows several scenarios report alike.
SERVER_CPU = Row("server_cpu_s", "server CPU s")
MAX_MS = Row("max_ms", "max ms")
P50 = Row("p50_ms", "p50 ms")
P99 = Row("p99_ms", "p99 ms", "<= 1.0x node")
DELIVERIES = Row("deliveries_per_s", "deliveries/s", ">= 1.0x node")
LOST = Row("lost", "lost updates", "0")

FANOUT_FAST = (DELIVERIES, P50, P99, LOST, SERVER_CPU)
FANOUT_RATE = (P50, P99, MAX_MS, DELIVERIES, LOST, SERVER_CPU)
TRACE = (
    Row("converge_s", "s until both readers converge", "<= 1.0x node"),
    Row("converged", "converged", "yes"),
    Row("reader_lengths", "reader doc lengths"),
    Row("expected_length", "expected length"),
    Row("send_s", "writer send s"),
    SERVER_CPU,
)
COLD = (
    Row("cold_sync_ms", "connect+sync ms (median)", "<= 1.0x node"),
    Row("cold_sync_max_ms", "max ms"),
    Row("step2_kb", "step-2 KB"),
)
MEMORY = (
    Row("kb_per_conn", "KB per idle connection", "< 15 KB"),
    Row("returned_pct", "% returned after close", "returned"),
    Row("rss_before_mb", "RSS before MB"),
    Row("rss_with_mb", "RSS with conns MB"),
    Row("rss_after_mb", "RSS after close MB"),
    Row("connections", "connections"),
)


TYPING = (
    Row("keys_per_s", "keystrokes/s"),
    SERVER_CPU,
    Row("cpu_pct", "server CPU % of a core"),
    Row("cpu_us_per_key", "server CPU us per keystroke", "<= 0.7x node"),
    Row("p50_ms", "keystroke -> others p50 ms", "<= 1.0x node"),
    Row("p99_ms", "keystroke -> others p99 ms", "<= 1.0x node"),
    MAX_MS,
    Row("deliveries_per_s", "deliveries/s"),
    Row("lost", "lost keystrokes", "0"),
    Row("converged", "rooms converged", "all"),
    Row("connect_p99_ms", "connect+sync p99 ms"),
)
RAMP = (
    Row("max_keys_per_s", "keystrokes/s with p99 < 50 ms", ">= 1.5x node"),
    Row("max_rooms", "rooms (x5 people) then"),
    Row("p99_at_max_ms", "p99 ms then"),
    Row("cpu_pct_at_max", "server CPU % then"),
    Row("first_fail_keys_per_s", "first failing step keys/s"),
    Row("first_fail_p99_ms", "its p99 ms"),
)
JOIN = (
    Row("p50_ms", "connect+sync p50 ms"),
    Row("p99_ms", "connect+sync p99 ms", "<= 1.0x node"),
    MAX_MS,
    Row("complete", "clients with the whole document"),
    Row("errors", "failed connections", "0"),
    SERVER_CPU,
)


def rows_for(scenario: str) -> tuple[Row, ...]:
    if scenario.startswith("typing"):
        return TYPING
    if scenario == "sustainable rate":
        return RAMP
    if scenario == "join storm":
        return JOIN
    if scenario.startswith("fanout") and scenario.endswith("fast"):
        return FANOUT_FAST
    if scenario.startswith("fanout"):
        return FANOUT_RATE
    return {"trace replay": TRACE, "cold sync": COLD, "idle memory": MEMORY}.get(scenario, ())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(ours: Any, node: Any) -> str:
    if isinstance(ours, int | float) and isinstance(node, int | float) and node:
        return f"{ours / node:.2f}x"
    return ""


def render_markdown(
    title: str, results: dict[str, dict[str, Metrics]], args: dict[str, Any]
) -> str:
    present = [c for c in COLUMNS if any(c in per for per in results.values())]
    head = ["scenario", "metric", *[LABELS[c] for c in present], "ours/node", "target"]
    lines = [
        f"## {title}",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; args: "
        + " ".join(f"{k}={v}" for k, v in sorted(args.items()) if v not in (None, False)),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    errors: list[str] = []
    for scenario, per in results.items():
        for name, metrics in per.items():
            if "error" in metrics:
                errors.append(f"- {scenario} / {LABELS[name]}: {metrics['error']}")
        for row in rows_for(scenario):
            cells = [_fmt(per.get(c, {}).get(row.metric)) for c in present]
            ours = per.get("ours", {}).get(row.metric)
            node = per.get("node", {}).get(row.metric)
            lines.append(
                "| "
                + " | ".join([scenario, row.label, *cells, _ratio(ours, node), row.target])
                + " |"
            )
    if errors:
        lines += ["", "Errors:", *errors]
    return "\n".join(lines) + "\n"
