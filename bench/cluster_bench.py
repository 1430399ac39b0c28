"""Two relay nodes versus one, same load, same run: fan-out latency and updates per second.

Starts a throwaway PostgreSQL and Redis (system packages, free loopback ports, as the
cluster tests do) and relay nodes as processes. Clients are plain y-websocket clients
(``shared.SyncSession`` over ``websockets``) in rooms of ``--room-size``; every client sets
its key in a shared Y.Map to the send time ``--rate`` times per second, and every other
client of the room records the delay until it sees the change.

* **one node**: every client on node A.
* **two nodes**: the same clients per room split across A and B (half each), so each
  room's traffic crosses Redis; delays are reported separately for receivers on the
  sender's node ("same node") and on the other node ("cross-node"). The cross-node hop is
  the difference of the two, measured in the same run.

It then sweeps the number of connections (``--sweep``) on one and on two nodes and reports
p99 and delivered updates/s for each, to read off how many connections each setup carries
at a given p99.

    .venv/bin/python bench/cluster_bench.py [--clients 40] [--seconds 5] [--sweep 20,40,80]

Needs ``pip install -e '.[cluster]'`` and ``apt-get install redis-server postgresql``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, MapEvent, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import Origin, Side, SyncSession, origin_matches  # noqa: E402
from tests.cluster.services import Node, PostgresServer, RedisServer  # noqa: E402


@dataclass
class Samples:
    same: list[float] = field(default_factory=list)
    cross: list[float] = field(default_factory=list)
    sent: int = 0


class BenchClient:
    def __init__(self, url: str, node: int, key: str, samples: Samples) -> None:
        self.url, self.node, self.key, self.samples = url, node, key, samples
        self.doc: Doc[Any] = Doc()
        self.map = self.doc.get("m", type=Map)
        self.session = SyncSession(self.doc, Side.CLIENT)
        self.ws: ClientConnection | None = None
        self.measuring = False
        self.doc.observe(self._on_change)
        self.map.observe(self._on_map)

    def _on_change(self, event: TransactionEvent) -> None:
        if not origin_matches(event.transaction.origin(), Origin.REMOTE):
            self.session.send_update(event.update)

    def _on_map(self, event: MapEvent) -> None:
        if not self.measuring:
            return
        now = time.perf_counter()
        for key in event.keys:
            if key == self.key:
                continue
            value = self.map.get(key)
            if isinstance(value, list):
                node, sent = int(value[0]), float(value[1])
                (self.samples.same if node == self.node else self.samples.cross).append(now - sent)

    async def flush(self) -> None:
        assert self.ws is not None
        for message in self.session.data_to_send():
            await self.ws.send(message)

    async def run(self, synced: asyncio.Event, stop: asyncio.Event, rate: float) -> None:
        async with connect(self.url, max_size=2**26, compression=None) as ws:
            self.ws = ws
            self.session.start()
            await self.flush()
            reader = asyncio.ensure_future(self._read())
            try:
                await synced.wait()
                period = 1.0 / rate
                next_at = time.perf_counter() + period * (hash(self.key) % 100) / 100
                while not stop.is_set():
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += period
                    with self.doc.transaction(origin=Origin.LOCAL_EDIT):
                        self.map[self.key] = [self.node, time.perf_counter()]
                    if self.measuring:
                        self.samples.sent += 1
                    await self.flush()
            finally:
                reader.cancel()
                await asyncio.wait([reader])  # reaps it without raising its cancellation

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                assert isinstance(message, bytes)
                self.session.receive_data(message)
                self.session.events_received()
                await self.flush()
        except ConnectionClosed:
            pass


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_load(
    urls: list[str],
    clients: int,
    room_size: int,
    rate: float,
    seconds: float,
    tag: str,
    split: bool = True,
) -> dict[str, float]:
    samples = Samples()
    bench: list[BenchClient] = []
    for i in range(clients):
        room = f"bench-{tag}-{i // room_size}"
        # split: each room spans every node (worst case: every update crosses Redis);
        # spread: each room lives on one node (what a document-hashing balancer gives).
        node = (i % room_size) % len(urls) if split else (i // room_size) % len(urls)
        bench.append(BenchClient(f"{urls[node]}/{room}", node, f"c{i}", samples))
    synced, stop = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        for c in bench:
            tg.create_task(c.run(synced, stop, rate))
        await asyncio.sleep(1.0)  # connect + initial sync + cluster subscriptions
        synced.set()
        await asyncio.sleep(1.0)  # warm-up
        for c in bench:
            c.measuring = True
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        for c in bench:
            c.measuring = False
        elapsed = time.perf_counter() - started
        stop.set()
    delivered = len(samples.same) + len(samples.cross)
    expected = samples.sent * (room_size - 1)
    return {
        "clients": clients,
        "sent_per_s": samples.sent / elapsed,
        "delivered_per_s": delivered / elapsed,
        "delivered_ratio": delivered / expected if expected else float("nan"),
        "same_p50": pct(samples.same, 0.50),
        "same_p99": pct(samples.same, 0.99),
        "cross_p50": pct(samples.cross, 0.50),
        "cross_p99": pct(samples.cross, 0.99),
        "all_p99": pct(samples.same + samples.cross, 0.99),
    }


def row(label: str, r: dict[str, float]) -> str:
    return (
        f"{label:<10} {int(r['clients']):>5} {r['sent_per_s']:>9.0f} {r['delivered_per_s']:>10.0f}"
        f" {r['delivered_ratio']:>6.2f} {r['same_p50']:>8.2f} {r['same_p99']:>8.2f}"
        f" {r['cross_p50']:>8.2f} {r['cross_p99']:>8.2f} {r['all_p99']:>8.2f}"
    )


HEADER = (
    f"{'setup':<10} {'conns':>5} {'sent/s':>9} {'deliv/s':>10} {'ratio':>6} {'same50':>8}"
    f" {'same99':>8} {'cross50':>8} {'cross99':>8} {'all99':>8}   (latencies in ms)"
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--room-size", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="updates/s per client")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sweep", default="", help="e.g. 20,40,80: also sweep connections")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="coscribe-bench-"))
    pg = PostgresServer().start()
    redis = RedisServer(workdir).start()
    nodes: list[Node] = []
    try:
        for i in range(2):
            node = Node(pg.url(), redis.url, workdir, f"bench{i}")
            node.args[node.args.index("--log-level") + 1] = "error"
            nodes.append(node.start())
        urls = [n.url for n in nodes]
        print(
            f"load: rooms of {args.room_size}, {args.rate:g} updates/s per client, "
            f"{args.seconds:g}s measured; PostgreSQL + Redis on loopback"
        )
        print(HEADER)
        one = await run_load(urls[:1], args.clients, args.room_size, args.rate, args.seconds, "a")
        print(row("one node", one))
        two = await run_load(urls, args.clients, args.room_size, args.rate, args.seconds, "b")
        print(row("two nodes", two))
        hop = two["cross_p99"] - two["same_p99"]
        print(
            f"cross-node hop (two nodes, same run): +{hop:.2f} ms at p99, "
            f"+{two['cross_p50'] - two['same_p50']:.2f} ms at p50 (target: < 2 ms p99)"
        )
        if args.sweep:
            print("\nsweep (connections per setup, same per-client load; 'split' = every")
            print("room spans both nodes, 'spread' = each room on one node):")
            print(HEADER)
            for n, count in enumerate(int(x) for x in args.sweep.split(",")):
                load = (count, args.room_size, args.rate, args.seconds)
                print(row("one node", await run_load(urls[:1], *load, f"s1{n}")))
                print(row("2 spread", await run_load(urls, *load, f"s2{n}", split=False)))
                print(row("2 split", await run_load(urls, *load, f"s3{n}")))
    finally:
        for node in nodes:
            node.stop()
        redis.stop()
        pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
