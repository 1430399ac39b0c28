"""Through any network (issue 11): the cost of the HTTP long-polling fallback and of
multiplexing, on loopback, with the editor's own connection code.

    .venv/bin/python bench/fallback_bench.py            # everything, about a minute
    .venv/bin/python bench/fallback_bench.py --quick    # smoke run, a few seconds

The relay is a fresh ``python -m sync_server`` process per part (its CPU and memory are
read from ``/proc``); the clients are the editor's ``ServerConnection`` + ``SyncClient`` in
this process, exactly as the editor runs them.

1. **Keystroke -> other editor.** Two editors on one document, both on the same transport
   (WebSocket, or HTTP long polling as behind a proxy that drops the Upgrade). One types a
   character every ``--interval`` ms; per keystroke: the time until the other editor's
   document has it. p50/p99 (target for polling: p99 < 150 ms). Also the relay's CPU per
   update (its CPU time over the typing, polls and acknowledgements included, / keystrokes).
2. **WebSocket blocked -> first sync.** From the moment an editor starts connecting
   through a network that blocks WebSockets until its document is synced over polling:
   behind real nginx without the Upgrade headers (426 at once), and behind a front that
   swallows the upgrade and never answers (the client's WebSocket open timeout).
   Target < 3 s. Median of ``--repeat``.
3. **Idle sessions.** ``--idle`` editors, each with one document open (the same one, so
   the room is counted once), idle: the relay's RSS growth per session, polling vs
   WebSocket, and its sockets.
4. **Ten documents.** ``--clients`` editors with 10 documents open each: sockets at the
   relay and its RSS growth per editor, multiplexed (one coscribe.v2 connection per
   editor) vs one coscribe.v1 WebSocket per document.

Benchmarks are not tests; ``tests/bench/test_fallback_bench.py`` only checks that
``--quick`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from editor_app.core.backoff import Backoff  # noqa: E402
from editor_app.core.server_connection import ServerConnection, Transport  # noqa: E402
from editor_app.core.sync_client import Status  # noqa: E402
from tests.support.editors import HeadlessEditor  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- the relay process


@dataclass
class Relay:
    proc: subprocess.Popen[bytes]
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def sockets(self) -> int:
        """Established TCP connections the relay has accepted (from /proc/net/tcp*)."""
        port = f"{self.port:04X}"
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError):
                for line in Path(table).read_text().splitlines()[1:]:
                    parts = line.split()
                    if parts[1].endswith(":" + port) and parts[3] == "01":
                        count += 1
        return count

    async def settled_rss(self, window: float = 1.0, deadline: float = 15.0) -> int:
        """RSS once it moved less than 1 % over ``window`` s (bounded by ``deadline``)."""
        end = time.monotonic() + deadline
        last = self.rss()
        while True:
            await asyncio.sleep(window)
            now = self.rss()
            if abs(now - last) <= last * 0.01 or time.monotonic() > end:
                return now
            last = now


@contextlib.contextmanager
def relay(*args: str) -> Iterator[Relay]:
    with tempfile.TemporaryDirectory(prefix="fallback-bench-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sync_server", "--port", "0", "--data-dir", tmp, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            match = re.search(r"listening on (ws://\S+)", line)
            if match is None:
                raise RuntimeError(f"the relay did not start: {line!r}")
            yield Relay(proc, match.group(1))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------- editors


def editor(url: str, conn: ServerConnection | None) -> HeadlessEditor:
    """One document of an editor: a SyncClient, on a shared connection or its own socket."""
    return HeadlessEditor(url, connection=conn, backoff=Backoff(base=0.05, cap=0.5))


def connection(url: str, polling: bool, **options: Any) -> ServerConnection:
    return ServerConnection(
        url,
        start_with_polling=polling,
        probe_delays=(),
        backoff=Backoff(base=0.05, cap=0.5),
        **options,
    )


@contextlib.asynccontextmanager
async def running(
    conns: list[ServerConnection], editors: list[HeadlessEditor]
) -> AsyncIterator[asyncio.TaskGroup]:
    async with asyncio.TaskGroup() as tg:
        for conn in conns:
            tg.create_task(conn.run())
        for ed in editors:
            tg.create_task(ed.client.run())
        try:
            yield tg
        finally:
            for ed in editors:
                await ed.client.close()
            for conn in conns:
                await conn.close()


def synced(editors: list[HeadlessEditor]) -> bool:
    return all(ed.status in (Status.SAVED, Status.SYNCED) for ed in editors)


# ---------------------------------------------------------------------- 1. keystrokes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def keystrokes(polling: bool, n: int, interval: float) -> dict[str, float]:
    with relay() as server:
        conns = [connection(server.url, polling), connection(server.url, polling)]
        writer = editor(f"{server.url}/typing", conns[0])
        reader = editor(f"{server.url}/typing", conns[1])
        arrived: list[float] = []

        def on_change(event: Any) -> None:
            now = time.perf_counter()
            for op in event.delta:
                inserted = op.get("insert")
                if isinstance(inserted, str):
                    arrived.extend([now] * len(inserted))

        async with running(conns, [writer, reader]):
            await wait_until(lambda: synced([writer, reader]), "both synced", within=60)
            expected = Transport.POLLING if polling else Transport.WEBSOCKET
            assert all(c.info.transport is expected for c in conns), [c.info for c in conns]
            reader.text.observe(on_change)
            sent: list[float] = []
            cpu0 = server.cpu()
            for _ in range(n):
                sent.append(time.perf_counter())
                writer.type("x")
                await asyncio.sleep(interval)
            await wait_until(lambda: len(arrived) >= n, "every keystroke arrived", within=60)
            await wait_until(lambda: writer.status is Status.SAVED, "writer saved", within=60)
            cpu = server.cpu() - cpu0
        latencies = [(a - s) * 1000 for s, a in zip(sent, arrived, strict=False)]
        return {
            "p50_ms": pct(latencies, 0.5),
            "p99_ms": pct(latencies, 0.99),
            "max_ms": max(latencies),
            "cpu_us_per_update": cpu / n * 1e6,
        }


# ---------------------------------------------------------------------- 2. blocked -> sync


async def first_sync(url: str) -> float:
    started = time.perf_counter()
    conn = connection(url, polling=False)
    ed = editor(f"{url}/blocked-{time.monotonic_ns()}", conn)
    async with running([conn], [ed]):
        await wait_until(lambda: synced([ed]), "first sync", within=30)
        elapsed = time.perf_counter() - started
        assert conn.info.transport is Transport.POLLING and conn.info.websocket_blocked
    return elapsed


async def blocked_to_sync(repeat: int, work: Path) -> dict[str, float]:
    from tests.e2e.network_processes import missing_network_tools, nginx_without_upgrade
    from tests.faults.http_front import HttpFront

    results: dict[str, float] = {}
    with relay() as server:
        if not missing_network_tools():
            with nginx_without_upgrade(server.port, work / "nginx") as url:
                times = [await first_sync(url) for _ in range(repeat)]
            results["nginx_426_s"] = statistics.median(times)
        async with HttpFront(server.port, "hang") as front:
            times = [await first_sync(front.url) for _ in range(repeat)]
        results["no_answer_s"] = statistics.median(times)
    return results


# ---------------------------------------------------------------------- 3. idle sessions


async def idle_sessions(polling: bool, count: int) -> dict[str, float]:
    with relay() as server:
        warm_conn = connection(server.url, polling)
        warm = editor(f"{server.url}/idle", warm_conn)
        async with running([warm_conn], [warm]):  # the room exists before measuring
            await wait_until(lambda: synced([warm]), "warm-up synced", within=60)
            before = await server.settled_rss()
            sockets0 = server.sockets()
            conns = [connection(server.url, polling) for _ in range(count)]
            editors = [editor(f"{server.url}/idle", c) for c in conns]
            async with running(conns, editors):
                await wait_until(
                    lambda: synced(editors), f"{count} idle editors synced", within=120
                )
                after = await server.settled_rss()
                sockets = server.sockets() - sockets0
        return {
            "kb_per_session": (after - before) / count / 1024,
            "sockets_per_session": sockets / count,
        }


# ---------------------------------------------------------------------- 4. ten documents


async def ten_documents(multiplexed: bool, clients: int) -> dict[str, float]:
    with relay() as server:
        warm = [editor(f"{server.url}/ten-{d}", None) for d in range(10)]
        async with running([], warm):  # the ten rooms exist before measuring
            await wait_until(lambda: synced(warm), "rooms loaded", within=60)
            before = await server.settled_rss()
            sockets0 = server.sockets()
            conns: list[ServerConnection] = []
            editors: list[HeadlessEditor] = []
            for _ in range(clients):
                conn = connection(server.url, polling=False) if multiplexed else None
                if conn is not None:
                    conns.append(conn)
                editors += [editor(f"{server.url}/ten-{d}", conn) for d in range(10)]
            async with running(conns, editors):
                await wait_until(lambda: synced(editors), "every document synced", within=120)
                after = await server.settled_rss()
                sockets = server.sockets() - sockets0
        return {
            "sockets_per_client": sockets / clients,
            "kb_per_client": (after - before) / clients / 1024,
        }


# ---------------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> None:
    quick = args.quick
    parts = {int(p) for p in args.parts.split(",")}
    n = 30 if quick else args.keystrokes
    print(f"# loopback, relay = python -m sync_server (fresh process per part); {time.ctime()}")
    if 1 in parts:
        await part_keystrokes(n, args.interval / 1000)
    if 2 in parts:
        await part_blocked(1 if quick else args.repeat)
    if 3 in parts:
        await part_idle(10 if quick else args.idle)
    if 4 in parts:
        await part_ten(3 if quick else args.clients)


# ---------------------------------------------------------------------- the report


def table_head(title: str, *columns: str) -> None:
    """Print a section title and the head of its markdown table."""
    print(f"\n## {title}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))


def table_row(*cells: str) -> None:
    print("| " + " | ".join(cells) + " |", flush=True)


def transport(polling: bool) -> str:
    return "HTTP long polling" if polling else "WebSocket (coscribe.v2)"


async def part_keystrokes(n: int, interval: float) -> None:
    table_head(
        "1. Keystroke -> other editor",
        *("transport", "keystrokes", "p50 ms", "p99 ms", "max ms", "relay CPU µs/update"),
    )
    for polling in (False, True):
        r = await keystrokes(polling, n, interval)
        cells = [f"{r[k]:.1f}" for k in ("p50_ms", "p99_ms", "max_ms")]
        table_row(transport(polling), str(n), *cells, f"{r['cpu_us_per_update']:.0f}")


async def part_blocked(repeat: int) -> None:
    print("\n## 2. WebSocket blocked -> first sync (median)")
    with tempfile.TemporaryDirectory(prefix="fallback-bench-net-") as work:
        r2 = await blocked_to_sync(repeat, Path(work))
    for key, label in (
        ("nginx_426_s", "nginx without Upgrade headers (426)"),
        ("no_answer_s", "upgrade never answered"),
    ):
        if key in r2:
            print(f"- {label}: {r2[key]:.2f} s")


async def part_idle(idle: int) -> None:
    table_head(
        f"3. Idle editors ({idle}, one document each)",
        *("transport", "relay KB per session", "relay sockets per session"),
    )
    for polling in (False, True):
        r = await idle_sessions(polling, idle)
        table_row(
            transport(polling), f"{r['kb_per_session']:.1f}", f"{r['sockets_per_session']:.1f}"
        )


async def part_ten(clients: int) -> None:
    table_head(
        f"4. Editors with 10 documents open ({clients} editors)",
        *("connections", "relay sockets per editor", "relay KB per editor"),
    )
    for multiplexed in (True, False):
        r = await ten_documents(multiplexed, clients)
        name = "one coscribe.v2 connection" if multiplexed else "one WebSocket per document"
        table_row(name, f"{r['sockets_per_client']:.1f}", f"{r['kb_per_client']:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    parser.add_argument("--keystrokes", type=int, default=500)
    parser.add_argument("--interval", type=float, default=20.0, help="ms between keystrokes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--parts", default="1,2,3,4", help="which parts to run (1-4)")
    asyncio.run(main(parser.parse_args()))
