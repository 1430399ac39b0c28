"""Restart storm: 200 editors lose the server at the same instant and all come back.

200 real SyncClients (default reconnect schedule: full jitter, first ceiling 0.5 s) on 4
documents; the server process is restarted (SIGTERM: every client is closed with 1012 at
once, the worst case for a thundering herd), and comes back on the same port. A passive
fault proxy in front records when every connection attempt arrives, so the spread is
measured where the server would see it. Prints p50/p99 time to resync and the spread.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import pytest

from editor_app.core.backoff import Backoff
from editor_app.core.sync_client import ClientStatus, Status
from shared import Origin
from tests.faults.harness import RestartableServer
from tests.faults.proxy import FaultProxy
from tests.support.editors import HeadlessEditor
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio

CLIENTS = 200
DOCUMENTS = 4
WINDOW = 0.05  # s: "not all within 50 ms"


class StormEditor(HeadlessEditor):
    def __init__(self, n: int, url: str) -> None:
        self.n = n
        # The editor's default schedule, seeded for reproducibility.
        super().__init__(url, user=f"storm {n}", backoff=Backoff(rng=random.Random(n)))
        self.saved_at: list[float] = []
        self.scheduled: list[float] = []  # when the backoff said to try again
        self.client.add_listener(self._on_status)

    def _on_status(self, status: ClientStatus) -> None:
        if status.status is Status.SAVED:
            self.saved_at.append(time.monotonic())
        elif status.status is Status.OFFLINE and status.retry_in is not None:
            self.scheduled.append(time.monotonic() + status.retry_in)

    def saved_since(self, t: float) -> float | None:
        return next((s for s in self.saved_at if s > t), None)


def densest_window(times: list[float]) -> int:
    """The most events in any WINDOW-long interval."""
    return max(sum(1 for b in times if a <= b < a + WINDOW) for a in times)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def test_two_hundred_clients_spread_their_reconnects_and_all_resync(tmp_path: Path) -> None:
    server = RestartableServer(tmp_path / "data")
    await server.start()
    try:
        async with FaultProxy("127.0.0.1", server.port) as proxy, asyncio.TaskGroup() as tg:
            editors = [StormEditor(n, f"{proxy.url}/storm-{n % DOCUMENTS}") for n in range(CLIENTS)]
            for ed in editors:
                tg.create_task(ed.client.run())
            await wait_until(
                lambda: all(ed.saved_at for ed in editors), "all 200 connected and saved", within=60
            )
            for ed in editors:
                with ed.doc.transaction(origin=Origin.LOCAL_EDIT):
                    ed.text.insert(0, f"[{ed.n}]")
            await wait_until(
                lambda: all(ed.client.status.status is Status.SAVED for ed in editors),
                "every edit saved",
                within=60,
            )
            connections_before = [ed.client.connections for ed in editors]
            attempts_before = len(proxy.accepted)

            down = time.monotonic()
            await server.terminate()  # closes all 200 with 1012 at once
            await server.start()
            up = time.monotonic()

            def resynced() -> bool:
                return all(
                    ed.client.connections > before and ed.saved_since(down) is not None
                    for ed, before in zip(editors, connections_before, strict=True)
                )

            await wait_until(resynced, "all 200 resynced", within=90)
            # Resynced for real: an edit made now reaches every editor of its document.
            for d in range(DOCUMENTS):
                with editors[d].doc.transaction(origin=Origin.LOCAL_EDIT):
                    editors[d].text.insert(0, f"<after {d}>")
            await wait_until(
                lambda: all(f"<after {ed.n % DOCUMENTS}>" in str(ed.text) for ed in editors),
                "post-restart edits everywhere",
                within=30,
            )
            for d in range(DOCUMENTS):
                peers = [str(ed.text) for ed in editors if ed.n % DOCUMENTS == d]
                assert len(set(peers)) == 1
                assert all(f"[{n}]" in peers[0] for n in range(d, CLIENTS, DOCUMENTS))

            attempts = [t - down for t in proxy.accepted[attempts_before:]]
            since_down = [ed.saved_since(down) - down for ed in editors]  # type: ignore[operator]
            since_up = [max(0.0, s - (up - down)) for s in since_down]
            densest = densest_window(attempts)
            planned = [t - down for ed in editors for t in ed.scheduled if t > down]
            spread = max(attempts) - min(attempts)
            print(
                f"\nrestart storm: {CLIENTS} clients, {DOCUMENTS} documents, server down "
                f"{up - down:.2f} s\n"
                f"  time to resync after the drop: p50 {statistics.median(since_down):.2f} s, "
                f"p99 {percentile(since_down, 99):.2f} s, max {max(since_down):.2f} s\n"
                f"  time to resync after the server was back: p50 "
                f"{statistics.median(since_up):.2f} s, p99 {percentile(since_up, 99):.2f} s\n"
                f"  reconnect attempts: {len(attempts)} ({proxy.refused} refused while down), "
                f"spread over {spread:.2f} s, at most {densest} in any {WINDOW * 1000:.0f} ms "
                f"(as scheduled by the backoff: at most {densest_window(planned)})"
            )
            assert len(attempts) >= CLIENTS
            assert spread > 0.3, "reconnects were not spread out"
            # The jitter itself: at most a quarter of the clients planned to retry within any
            # 50 ms (without jitter all 200 would). Actual arrivals bunch up more when this
            # one process (200 clients and the proxy on one core) is busy and timers fire
            # late together (121 seen once), so for them the bound is "not all at once".
            assert densest_window(planned) < CLIENTS / 4
            assert densest < CLIENTS, f"{densest} attempts within {WINDOW * 1000:.0f} ms"
            for ed in editors:
                await ed.client.close()
    finally:
        server.stop()
