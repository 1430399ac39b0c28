"""The relay's per-keystroke CPU on its hot path, in one process, without the network.

``relay_bench.py`` measures the real server against its peers over loopback, with load
generators sharing the machine's two cores, so its CPU figures move by 10-20 % between
runs. This bench drives the same code (``Connection`` → frame reader → room → session →
update gate → yrs → store; outbound frames built and handed to a transport) through fake
transports, so a change to that path can be measured to a few percent:

* R rooms × K people, each keystroke one masked WebSocket frame with a one-character
  ``Y.Text`` insert at the person's own cursor, then one with a y-quill cursor update
  (``bench/typing_load.py`` builds both, as in the relay bench);
* one keystroke per event-loop turn (people typing at human speed rarely share a turn);
* the store is the real one (SQLite with its group commit on its thread, or memory);
* the figure is the process's CPU (every thread) per keystroke: the median of the repeats,
  and the best (least disturbed by other work on a shared machine).

At the end every room's text is checked against what was typed.

    .venv/bin/python bench/hotpath_bench.py [--rooms 50] [--people 5] [--keys 20000]
        [--store sqlite|memory] [--loop uvloop|asyncio] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import typing_load as tl  # noqa: E402
from pycrdt import Text  # noqa: E402

from shared.access import Role  # noqa: E402
from sync_server.auth import Principal  # noqa: E402
from sync_server.config import ServerConfig  # noqa: E402
from sync_server.connection import Connection  # noqa: E402
from sync_server.eventloop import loop_factory  # noqa: E402
from sync_server.memory_store import MemoryStore  # noqa: E402
from sync_server.metrics import Metrics  # noqa: E402
from sync_server.outbound import OutboundMonitor  # noqa: E402
from sync_server.registry import RoomRegistry  # noqa: E402
from sync_server.sqlite_store import SQLiteStore  # noqa: E402
from sync_server.store import DocumentStore  # noqa: E402


class FakeTransport(asyncio.Transport):
    """A transport that counts what the relay writes (no socket, no system call)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.bytes = 0
        self._protocol: asyncio.BaseProtocol | None = None

    def writelines(self, list_of_data: Any) -> None:
        self.writes += 1
        self.bytes += sum(map(len, list_of_data))

    def write(self, data: Any) -> None:
        self.writes += 1
        self.bytes += len(data)

    def get_write_buffer_size(self) -> int:
        return 0

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def masked(payload: bytes) -> bytes:
    """One final binary client frame (masked, as browsers send them)."""
    key = os.urandom(4)
    size = len(payload)
    head = bytes((0x82, 0x80 | size)) if size < 126 else bytes((0x82, 0xFE)) + size.to_bytes(2)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def run_once(args: argparse.Namespace, data_dir: Path | None) -> dict[str, float]:
    """One run: set up rooms and connections, type, return the figures."""
    config = ServerConfig(data_dir=data_dir)
    store: DocumentStore = (
        SQLiteStore(config.database_path, commit_interval=config.commit_interval)
        if data_dir is not None
        else MemoryStore()
    )
    metrics = Metrics()
    monitor = OutboundMonitor(
        stall_timeout=config.stall_timeout, max_total=config.max_total_outbound_bytes
    )
    live: set[Connection] = set()
    principal = Principal(Role.EDITOR, "*")
    transports: list[FakeTransport] = []
    frames: list[list[tuple[bytes, bytes]]] = []
    people: list[Connection] = []
    async with store, RoomRegistry(store, metrics, config) as registry:
        names = [f"hot-{r}" for r in range(args.rooms)]
        seeds = [tl.seed_text(r, args.people) for r in range(args.rooms)]
        per_person = args.keys // (args.rooms * args.people) + 1
        for r, name in enumerate(names):
            ends = tl.paragraph_ends(seeds[r])
            for k in range(args.people):
                room = await registry.acquire(name)
                conn = Connection(
                    lambda coro, label: asyncio.ensure_future(coro),
                    metrics, monitor, config, name, principal, f"p{r}.{k}", {},
                )  # fmt: skip
                conn.session = room.new_session(
                    conn, extensions=False, role=Role.EDITOR, limits=config.limits
                )
                transport = FakeTransport()
                conn.start(
                    room, registry, live, (transport, b"", lambda: None),
                    max_size=config.limits.max_message_size, on_end=lambda: None,
                )  # fmt: skip
                transports.append(transport)
                people.append(conn)
                cid = tl.client_id(7, r, k)
                state = tl.awareness_state(k, ends[k])
                frames.append(
                    [
                        (
                            masked(tl.sync_update_message(update)),
                            masked(tl.awareness_message(cid, i + 1, state)),
                        )
                        for i, update in enumerate(tl.keystrokes(cid, ends[k], per_person))
                    ]
                )
            people[-args.people].socket.data_received(
                masked(tl.sync_update_message(tl.seed_update(seeds[r])))
            )
        await asyncio.sleep(0)
        for room_name in names:
            await (await registry.acquire(room_name)).drain()
        order = [(p, i) for i in range(per_person) for p in range(len(people))][: args.keys]
        for transport in transports:
            transport.writes = transport.bytes = 0  # count the typing only
        profile = cProfile.Profile() if args.profile else None
        sleep = asyncio.sleep
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        for p, i in order:
            update, cursor = frames[p][i]
            sock = people[p].socket
            sock.data_received(update)
            sock.data_received(cursor)
            await sleep(0)
        for room_name in names:
            await (await registry.acquire(room_name)).drain()
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        for r, name in enumerate(names):
            room = await registry.acquire(name)
            typed = str(room.doc.get(tl.TEXT_NAME, type=Text))
            want = sum(1 for p, _ in order if p // args.people == r)
            if len(typed) != len(seeds[r]) + want:
                raise SystemExit(f"room {name}: {len(typed)} characters, wanted more")
        for conn in people:
            conn.socket.connection_lost(None)
    keys = len(order)
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)
    return {
        "cpu_us_per_key": cpu / keys * 1e6,
        "wall_us_per_key": wall / keys * 1e6,
        "writes_per_key": sum(t.writes for t in transports) / keys,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--people", type=int, default=5)
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = parser.parse_args()
    if args.profile:
        args.repeat = 1
    _, factory = loop_factory(args.loop)
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="hotpath-") as tmp:
            data_dir = Path(tmp) if args.store == "sqlite" else None
            with asyncio.Runner(loop_factory=factory) as runner:
                runs.append(runner.run(run_once(args, data_dir)))
    cpu = statistics.median(r["cpu_us_per_key"] for r in runs)
    best = min(r["cpu_us_per_key"] for r in runs)
    wall = statistics.median(r["wall_us_per_key"] for r in runs)
    print(
        f"{args.rooms}x{args.people}, {args.keys} keystrokes, store={args.store}, "
        f"loop={args.loop}: CPU {cpu:.1f} µs per keystroke, best {best:.1f} (runs: "
        + ", ".join(f"{r['cpu_us_per_key']:.1f}" for r in runs)
        + f"), wall {wall:.1f} µs, {runs[0]['writes_per_key']:.1f} transport writes per key"
    )


if __name__ == "__main__":
    main()
