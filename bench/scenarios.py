"""The benchmark scenarios: each runs against one server and returns flat metrics.

A scenario never decodes while it measures (see loadgen.py); it turns the workers' raw
timings into figures afterwards. Every wait is bounded, so a server that falls behind or
drops updates produces a figure ("not converged", "lost 12,345") instead of a hang.
"""

from __future__ import annotations

import array
import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import servers
from workers import Worker

Metrics = dict[str, float | int | str | None]
#: Starts (or points at) a server for one scenario run.
ServerFactory = Callable[[], AbstractAsyncContextManager[servers.Running]]


@dataclass(frozen=True, slots=True)
class Workloads:
    """Files the workers read; generated once per bench run, shared by every server."""

    work_dir: Path
    typing: dict[int, Path]
    trace_messages: Path | None
    trace_full_update: Path | None
    trace_end_text: Path | None
    trace_final_state: Path | None
    trace_edits: int
    #: The join storm's document (a Yjs update of about 50 KB), if that scenario runs.
    join_seed: Path | None = None


def room(kind: str) -> str:
    return f"bench-{kind}-{secrets.token_hex(4)}"


def percentile(sorted_values: array.array[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[index])


@asynccontextmanager
async def workers_running(workers: list[Worker]) -> AsyncIterator[list[Worker]]:
    try:
        for worker in workers:
            await worker.start()
        yield workers
    finally:
        for worker in workers:
            await worker.stop()


class CpuMeter:
    """Server CPU seconds spent inside the block (None when the pid is unknown), and the
    machine's busy seconds, so foreign load = machine - server - load generator."""

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self._start = servers.cpu_seconds(pid) if pid else 0.0
        self._machine_start = servers.machine_busy_seconds()
        self.machine_s = 0.0

    def seconds(self) -> float | None:
        self.machine_s = servers.machine_busy_seconds() - self._machine_start
        return round(servers.cpu_seconds(self._pid) - self._start, 2) if self._pid else None

    def foreign(self, server_s: float | None, client_s: float) -> float:
        return round(max(0.0, self.machine_s - (server_s or 0.0) - client_s), 2)


async def fanout(
    server: servers.Running,
    loads: Workloads,
    readers: int,
    updates: int,
    rate: float,
    reader_procs: int,
    tag: str,
) -> Metrics:
    """One writer, ``readers`` readers in one room; per-update latency and deliveries/s."""
    url = f"{server.url}/{room(f'fanout{readers}')}"
    handshake = server.name in servers.CRDT_SERVERS
    duration = updates / rate if rate else 0.0
    deadline = 180.0 + duration
    procs = max(1, min(reader_procs, readers))
    sends = loads.work_dir / f"{tag}.sends"
    common = {"handshake": handshake, "open_timeout": 60.0, "deadline_s": deadline}
    reader_workers = [
        Worker(
            "read",
            dict(
                common,
                kind="fanout",
                urls=[url] * (readers // procs + (1 if i < readers % procs else 0)),
                expect_msgs=updates,
                idle_s=2.0,
                sends=str(sends),
            ),
            loads.work_dir,
            f"{tag}-reader{i}",
        )
        for i in range(procs)
    ]
    writer = Worker(
        "write",
        dict(common, url=url, messages=str(loads.typing[updates]), rate=rate, sends=str(sends)),
        loads.work_dir,
        f"{tag}-writer",
    )
    async with workers_running([*reader_workers, writer]):
        opened = 0
        for worker in reader_workers:
            opened += int(await worker.expect("READY", 120))
        await writer.expect("READY", 60)
        cpu = CpuMeter(server.pid)
        writer.send("GO")
        await writer.expect("DONE", deadline + 10)
        for worker in reader_workers:
            worker.send("DONE")
        for worker in reader_workers:
            await worker.expect("STOPPED", deadline + 120)
        server_cpu = cpu.seconds()
        results = [await worker.result(600) for worker in reader_workers]
        writer.send("CLOSE")
        written = await writer.result(60)
    sent = int(written["sent"])
    latencies = array.array("q")
    for result in results:
        latencies.frombytes(await asyncio.to_thread(Path(result["latency_file"]).read_bytes))
    delivered = sum(int(r["delivered"]) for r in results)
    last_recv = max(int(r["last_recv_ns"]) for r in results)
    span_s = (last_recv - int(written["first_send_ns"])) / 1e9 if delivered else float("nan")
    ordered = array.array("q", sorted(latencies))
    client_cpu = round(sum(float(r["cpu_run_s"]) for r in results) + float(written["cpu_s"]), 2)
    return {
        "readers": opened,
        "updates": sent,
        "deliveries_per_s": round(delivered / span_s) if delivered else 0,
        "p50_ms": round(percentile(ordered, 0.50) / 1e6, 2),
        "p99_ms": round(percentile(ordered, 0.99) / 1e6, 2),
        "max_ms": round(percentile(ordered, 1.0) / 1e6, 2),
        "lost": sent * opened - delivered,
        "messages": sum(int(r["messages"]) for r in results),
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "foreign_cpu_s": cpu.foreign(server_cpu, client_cpu),
        "wall_s": round(span_s, 2),
        "timed_out": int(any(r["timed_out"] for r in results)),
    }


async def trace_replay(server: servers.Running, loads: Workloads, tag: str) -> Metrics:
    """One writer replays the trace as fast as it can; two readers must converge."""
    assert loads.trace_messages and loads.trace_end_text and loads.trace_final_state
    url = f"{server.url}/{room('trace')}"
    handshake = server.name in servers.CRDT_SERVERS
    deadline = 300.0
    sends = loads.work_dir / f"{tag}.sends"
    common = {"handshake": handshake, "open_timeout": 60.0, "deadline_s": deadline}
    reader = Worker(
        "read",
        dict(
            common,
            kind="trace",
            urls=[url, url],
            expect_msgs=0,
            idle_s=5.0,
            final_state=str(loads.trace_final_state),
            end_text=str(loads.trace_end_text),
        ),
        loads.work_dir,
        f"{tag}-reader",
    )
    writer = Worker(
        "write",
        dict(common, url=url, messages=str(loads.trace_messages), rate=0, sends=str(sends)),
        loads.work_dir,
        f"{tag}-writer",
    )
    async with workers_running([reader, writer]):
        await reader.expect("READY", 60)
        await writer.expect("READY", 60)
        cpu = CpuMeter(server.pid)
        writer.send("GO")
        await writer.expect("DONE", deadline + 10)
        send_done = time.time_ns()
        reader.send("DONE")
        await reader.expect("STOPPED", deadline + 120)
        server_cpu = cpu.seconds()
        result = await reader.result(600)
        writer.send("CLOSE")
        written = await writer.result(60)
    first = int(written["first_send_ns"])
    converged = [int(r["converged_ns"]) for r in result["readers"]]
    ok = all(converged)
    return {
        "edits": int(written["sent"]),
        "converged": "yes" if ok else "no",
        "converge_s": round((max(converged) - first) / 1e9, 2) if ok else None,
        "send_s": round((send_done - first) / 1e9, 2),
        "reader_lengths": "/".join(str(r["final_length"]) for r in result["readers"]),
        "expected_length": int(result["end_length"]),
        "server_cpu_s": server_cpu,
        "foreign_cpu_s": cpu.foreign(
            server_cpu, float(result["cpu_run_s"]) + float(written["cpu_s"])
        ),
    }


async def cold_sync(server: servers.Running, loads: Workloads, reps: int, tag: str) -> Metrics:
    """A fresh client's connect + sync of the whole trace document, median of ``reps``."""
    assert loads.trace_full_update and loads.trace_end_text
    url = f"{server.url}/{room('cold')}"
    worker = Worker(
        "cold",
        {
            "url": url,
            "full_update": str(loads.trace_full_update),
            "end_text": str(loads.trace_end_text),
            "reps": reps,
            "open_timeout": 60.0,
            "deadline_s": 60.0,
        },
        loads.work_dir,
        tag,
    )
    async with workers_running([worker]):
        result = await worker.result(300)
    if "error" in result:
        return {"cold_sync_ms": None, "error": str(result["error"])}
    return {
        "cold_sync_ms": round(float(result["median_s"]) * 1000, 1),
        "cold_sync_max_ms": round(max(result["samples_s"]) * 1000, 1),
        "step2_kb": round(int(result["step2_bytes"]) / 1024, 1),
        "seed_kb": round(int(result["seed_bytes"]) / 1024, 1),
    }


async def idle_memory(
    server: servers.Running, loads: Workloads, conns: int, rooms: int, tag: str
) -> Metrics:
    """Server RSS before, with ``conns`` idle connections over ``rooms`` rooms, and after."""
    names = [room(f"idle{i}") for i in range(rooms)]
    urls = [f"{server.url}/{names[i % rooms]}" for i in range(conns)]
    handshake = server.name in servers.CRDT_SERVERS
    pid = server.pid
    before = await asyncio.to_thread(servers.settled_rss, pid) if pid else None
    worker = Worker(
        "idle",
        {"urls": urls, "handshake": handshake, "open_timeout": 60.0, "deadline_s": 600.0},
        loads.work_dir,
        tag,
    )
    async with workers_running([worker]):
        opened = int(await worker.expect("READY", 300))
        with_conns = await asyncio.to_thread(servers.settled_rss, pid) if pid else None
        worker.send("CLOSE")
        await worker.expect("CLOSED", 120)
        result = await worker.result(60)
    after = await asyncio.to_thread(servers.settled_rss, pid, 20.0, 3.0) if pid else None
    metrics: Metrics = {"connections": opened, "open_s": round(float(result["open_s"]), 2)}
    if before is not None and with_conns is not None and after is not None:
        grown = with_conns - before
        metrics.update(
            rss_before_mb=round(before / 2**20, 1),
            rss_with_mb=round(with_conns / 2**20, 1),
            rss_after_mb=round(after / 2**20, 1),
            kb_per_conn=round(grown / opened / 1024, 1) if opened else None,
            returned_pct=round(100 * (with_conns - after) / grown) if grown > 0 else None,
        )
    return metrics


# --------------------------------------------------------------------------- typing


def room_list(server: servers.Running, rooms: int, kind: str) -> list[dict[str, object]]:
    tag = secrets.token_hex(3)
    names = [f"bench-{kind}-{tag}-{i}" for i in range(rooms)]
    return [{"index": i, "name": n, "url": f"{server.url}/{n}"} for i, n in enumerate(names)]


async def typing(
    server: servers.Running,
    loads: Workloads,
    rooms: int,
    people: int,
    rate: float,
    duration_s: float,
    procs: int,
    tag: str,
    *,
    check: bool = True,
    run_seed: int = 1,
) -> Metrics:
    """R rooms x K people typing (typing_load.py); latency to every other person."""
    framed = server.name in servers.FRAMED_SERVERS
    all_rooms = room_list(server, rooms, "typing")
    procs = max(1, min(procs, rooms))
    common = {
        "people": people,
        "rate": rate,
        "duration_s": duration_s,
        "run_seed": run_seed,
        "framed": framed,
        "open_timeout": 60.0,
        "deadline_s": 120.0 + duration_s,
        "idle_s": 1.5,
        "check": check,
    }
    workers = [
        Worker("type", dict(common, rooms=all_rooms[i::procs]), loads.work_dir, f"{tag}-typer{i}")
        for i in range(procs)
    ]
    async with workers_running(workers):
        opened = 0
        for worker in workers:
            opened += int(await worker.expect("READY", 300))
        cpu = CpuMeter(server.pid)
        started = time.time_ns()
        for worker in workers:
            worker.send("GO")
        for worker in workers:
            await worker.expect("DONE", duration_s + 120)
        for worker in workers:
            await worker.expect("STOPPED", 300)
        server_cpu = cpu.seconds()
        wall = (time.time_ns() - started) / 1e9
        results = [await worker.result(900) for worker in workers]
    latencies = array.array("q")
    for result in results:
        latencies.frombytes(await asyncio.to_thread(Path(result["latency_file"]).read_bytes))
    ordered = array.array("q", sorted(latencies))
    sent = sum(int(r["sent"]) for r in results)
    delivered = sum(int(r["delivered"]) for r in results)
    connect = sorted(ms for r in results for ms in r["connect_ms"])
    client_cpu = round(sum(float(r["cpu_run_s"]) for r in results), 2)
    checked = sum(int(r["rooms_checked"]) for r in results)
    converged = sum(int(r["converged"]) for r in results)
    return {
        "rooms": rooms,
        "people": people,
        "connections": opened,
        "keystrokes": sent,
        "keys_per_s": round(sent / duration_s),
        "deliveries_per_s": round(delivered / duration_s),
        "p50_ms": round(percentile(ordered, 0.50) / 1e6, 2),
        "p99_ms": round(percentile(ordered, 0.99) / 1e6, 2),
        "max_ms": round(percentile(ordered, 1.0) / 1e6, 2),
        "lost": sum(int(r["expected"]) for r in results) - delivered,
        "duplicates": sum(int(r["duplicates"]) for r in results),
        "converged": (f"{converged}/{checked}" if checked else "-"),
        "server_cpu_s": server_cpu,
        "cpu_pct": round(100 * server_cpu / wall, 1) if server_cpu is not None else None,
        "cpu_us_per_key": round(1e6 * server_cpu / sent, 1) if server_cpu and sent else None,
        "connect_p99_ms": round(connect[min(len(connect) - 1, round(0.99 * (len(connect) - 1)))], 1)
        if connect
        else None,
        "client_cpu_s": client_cpu,
        "foreign_cpu_s": cpu.foreign(server_cpu, client_cpu),
        "wall_s": round(wall, 2),
        "timed_out": int(any(r["timed_out"] for r in results)),
    }


def typing_ok(m: Metrics, p99_limit_ms: float = 50.0) -> bool:
    p99 = m.get("p99_ms")
    return (
        isinstance(p99, int | float)
        and p99 < p99_limit_ms
        and m.get("lost") == 0
        and not m.get("timed_out")
    )


async def typing_ramp(
    start: ServerFactory,
    loads: Workloads,
    steps: tuple[int, ...],
    people: int,
    rate: float,
    duration_s: float,
    procs: int,
    tag: str,
) -> Metrics:
    """More and more rooms (a fresh server each step) until p99 >= 50 ms or a loss."""
    best: Metrics | None = None
    failed: Metrics | None = None
    trail = []
    for rooms in steps:
        async with start() as server:
            m = await typing(
                server, loads, rooms, people, rate, duration_s, procs, f"{tag}-{rooms}", check=False
            )
        trail.append(f"{m['keys_per_s']}:{m['p99_ms']}")
        print(f"#   ramp {tag} rooms={rooms} {m}", flush=True)
        if typing_ok(m):
            best = m
        else:
            failed = m
            break
    return {
        "max_keys_per_s": best["keys_per_s"] if best else 0,
        "max_rooms": best["rooms"] if best else 0,
        "p99_at_max_ms": best["p99_ms"] if best else None,
        "cpu_pct_at_max": best["cpu_pct"] if best else None,
        "first_fail_keys_per_s": failed["keys_per_s"] if failed else None,
        "first_fail_p99_ms": failed["p99_ms"] if failed else None,
        "steps": " ".join(trail),
    }


async def join_storm(
    server: servers.Running,
    loads: Workloads,
    clients: int,
    rooms: int,
    spread_s: float,
    procs: int,
    tag: str,
) -> Metrics:
    """``clients`` dial ``rooms`` rooms holding a seeded document within ``spread_s``."""
    assert loads.join_seed is not None
    framed = server.name in servers.FRAMED_SERVERS
    all_rooms = room_list(server, rooms, "join")
    common = {"framed": framed, "open_timeout": 60.0, "deadline_s": 300.0}
    keeper = Worker(
        "keep",
        dict(common, rooms=all_rooms, seed=str(loads.join_seed)),
        loads.work_dir,
        f"{tag}-keep",
    )
    targets = [all_rooms[i % rooms] for i in range(clients)]
    offsets = [spread_s * i / clients for i in range(clients)]
    joiners = [
        Worker(
            "join",
            dict(common, rooms=targets[i::procs], offsets=offsets[i::procs]),
            loads.work_dir,
            f"{tag}-join{i}",
        )
        for i in range(procs)
    ]
    async with workers_running([keeper, *joiners]):
        await keeper.expect("READY", 300)
        for worker in joiners:
            await worker.expect("READY", 60)
        cpu = CpuMeter(server.pid)
        for worker in joiners:
            worker.send("GO")
        for worker in joiners:
            await worker.expect("DONE", 300)
        server_cpu = cpu.seconds()
        for worker in joiners:
            worker.send("CLOSE")
        results = [await worker.result(120) for worker in joiners]
        keeper.send("CLOSE")
        await keeper.result(60)
    samples = sorted(s * 1000 for r in results for s in r["samples_s"])
    sizes = [n for r in results for n in r["sizes"]]
    seed_size = loads.join_seed.stat().st_size
    ordered = array.array("q", (round(s * 1000) for s in samples))  # microseconds
    return {
        "clients": clients,
        "synced": len(samples),
        "complete": sum(1 for n in sizes if n >= seed_size),
        "errors": sum(len(r["errors"]) for r in results),
        "p50_ms": round(percentile(ordered, 0.5) / 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) / 1000, 1),
        "max_ms": round(percentile(ordered, 1.0) / 1000, 1),
        "wall_s": round(max(float(r["wall_s"]) for r in results), 2),
        "doc_kb": round(seed_size / 1024, 1),
        "server_cpu_s": server_cpu,
    }
