"""Memory and dead peers.

* The server process's RSS (``/proc/<pid>/status``) after 1,000 connect/disconnect cycles
  (each syncs, publishes presence, makes an edit and waits for its acknowledgement) is
  within 10 % of its RSS after a warm-up of the same cycles.
* A client that dies without closing has its presence removed for the others: at once
  after a TCP reset, and within 1 s of the server's keepalive noticing a silent stall.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.faults.harness import RestartableServer, rss_kib
from tests.faults.proxy import FaultProxy
from tests.support.client import TestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio

WARMUP = 300
CYCLES = 1000
CONCURRENCY = 10
DOCUMENTS = 10


async def cycle(url: str, n: int) -> None:
    async with TestClient(f"{url}/mem-{n % DOCUMENTS}") as c:
        await wait_until(lambda: c.synced, "synced", within=10)
        await c.set_presence({"user": {"name": f"cycle {n}"}, "cursor": n})
        await c.append(f"{n % 10}")
        await wait_until(lambda: c.saved, "saved", within=10)


async def cycles(url: str, start: int, count: int) -> None:
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> None:
        async with sem:
            await cycle(url, n)

    async with asyncio.TaskGroup() as tg:
        for n in range(start, start + count):
            tg.create_task(one(n))


async def test_rss_returns_to_baseline_after_a_thousand_connect_cycles(tmp_path: Path) -> None:
    # Rooms unload 0.2 s after their last peer left, so loading/unloading is exercised too.
    server = RestartableServer(tmp_path / "data", "--room-idle", "0.2")
    await server.start()
    try:
        await cycles(server.url, 0, WARMUP)
        baseline = rss_kib(server.pid)
        started = time.monotonic()
        await cycles(server.url, WARMUP, CYCLES)
        elapsed = time.monotonic() - started
        peak = rss_kib(server.pid)
        bound = baseline * 1.10
        settle = time.monotonic()
        # Rooms unload and the store compacts in the background: allow them to settle.
        await wait_until(lambda: rss_kib(server.pid) <= bound, "RSS back within 10 %", within=10)
        after = rss_kib(server.pid)
        print(
            f"\nserver RSS: baseline {baseline / 1024:.1f} MiB after {WARMUP} warm-up cycles; "
            f"{CYCLES} cycles in {elapsed:.1f} s; right after {peak / 1024:.1f} MiB; "
            f"settled {after / 1024:.1f} MiB ({(after / baseline - 1) * 100:+.1f} %) "
            f"in {time.monotonic() - settle:.2f} s"
        )
    finally:
        server.stop()


async def _dead_presence_removed(config: ServerConfig, *, stall: bool, limit: float) -> float:
    """Seconds from the death of a client to its presence vanishing at another client."""
    async with RelayServer(config) as srv, FaultProxy("127.0.0.1", srv.port) as proxy:
        async with (
            TestClient(f"{srv.url}/ghost") as observer,
            TestClient(f"{proxy.url}/ghost") as doomed,
        ):
            await wait_until(lambda: observer.synced and doomed.synced, "synced", within=5)
            await doomed.set_presence({"user": {"name": "doomed"}})
            dead_id = doomed.doc.client_id
            await wait_until(
                lambda: dead_id in observer.awareness.states,
                "presence seen by the observer",
                within=5,
            )
            (conn,) = proxy.connections
            died = time.monotonic()
            try:
                if stall:
                    conn.stall()  # silence: no FIN, no RST; only keepalive can tell
                else:
                    conn.drop(rst=True)
                await wait_until(
                    lambda: dead_id not in observer.awareness.states, "ghost removed", within=limit
                )
                return time.monotonic() - died
            finally:
                conn.drop()  # let the doomed client's own close finish at once


async def test_presence_of_a_reset_client_is_removed_within_a_second() -> None:
    gone = await _dead_presence_removed(ServerConfig(port=0), stall=False, limit=1.0)
    print(f"\npresence removed {gone * 1000:.0f} ms after the TCP reset")


PING = 0.3  # ping_interval and ping_timeout in these tests: noticed after ~0.6 s


async def test_presence_of_a_stalled_client_is_removed_soon_after_keepalive_notices() -> None:
    # With close_timeout 0.5 s, the handler exits 0.5 s after the keepalive failed.
    config = ServerConfig(port=0, ping_interval=PING, ping_timeout=PING, close_timeout=0.5)
    gone = await _dead_presence_removed(config, stall=True, limit=2 * PING + 1.0)
    print(f"\npresence removed {gone:.2f} s after the stall (keepalive {2 * PING:.1f} s)")


async def test_presence_of_a_stalled_client_with_default_close_timeout() -> None:
    config = ServerConfig(port=0, ping_interval=PING, ping_timeout=PING)
    await _dead_presence_removed(config, stall=True, limit=2 * PING + 1.0)
