"""Helpers shared by the fault tests and ``bench/fault_soak.py``.

* :class:`RestartableServer`: the relay as a real process on a FIXED port and data dir, so
  it can be killed with SIGKILL and restarted where the clients (and the proxy) expect it.
* :class:`TokenEditor`: the editor's real :class:`editor_app.core.sync_client.SyncClient` over a
  document whose text is made only of unique tokens (``<c2:17>``), with the bookkeeping to
  check durability: which tokens it inserted, which of them the server has acknowledged.
* :func:`run_chaos`: several editors edit at random while a seeded schedule injects proxy
  faults and kills/restarts the server; then everything heals and the invariants are
  checked. The suite runs a bounded version, the soak a long one.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from editor_app.core.backoff import Backoff
from editor_app.core.sync_client import ClientStatus, Status
from shared import Origin
from tests.faults.proxy import FaultProxy
from tests.server.processes import ServerProcess
from tests.support.client import TestClient
from tests.support.editors import HeadlessEditor
from tests.support.waiting import wait_until

TOKEN = re.compile(r"<c\d+:\d+>")

#: Limits lifted on purpose: the test generates load from one address and must measure the
#: clients' behaviour, not the abuse limits (tests/server/test_access.py covers those).
UNLIMITED = ("--message-rate", "0", "--connection-rate", "0", "--max-connections-per-ip", "0")


def free_port() -> int:
    """A port that was free a moment ago (the server binds it again after each restart)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class RestartableServer:
    """``python -m sync_server`` on one port and data dir, across kills and restarts.

    Logs go at warning level: ServerProcess does not drain stderr, and thousands of
    "peer joined/left" info lines would fill the pipe and block the server.
    """

    def __init__(self, data_dir: Path, *extra: str, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port if port is not None else free_port()
        self.extra = extra
        self.process: ServerProcess | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None and self.process.proc is not None
        return self.process.proc.pid

    async def start(self) -> None:
        """Start (in a thread: ServerProcess.start blocks on the ready line)."""
        args = ["--port", str(self.port), "--data-dir", str(self.data_dir)]
        args += ["--log-level", "warning", *UNLIMITED, *self.extra]
        process = ServerProcess(*args)
        deadline = time.monotonic() + 20
        while True:
            try:
                await asyncio.to_thread(process.start)
                break
            except AssertionError:
                process.stop()
                # The port can stay busy for a moment after a kill; retry, bounded.
                if time.monotonic() > deadline:
                    raise
                process = ServerProcess(*args)
                await asyncio.sleep(0.05)
        self.process = process
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        assert self.process is not None
        self.process.kill()
        self.process.stop()
        self.process = None
        self.kills += 1

    async def terminate(self) -> None:
        assert self.process is not None
        await asyncio.to_thread(self.process.terminate)
        self.process.stop()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


async def read_document(url: str) -> str:
    """The server's document as a fresh client sees it after a full sync."""
    async with TestClient(url) as reader:
        await wait_until(lambda: reader.synced, "fresh reader synced", within=15)
        return str(reader)


class TokenEditor(HeadlessEditor):
    """A headless editor (real SyncClient) whose text is a sequence of unique tokens."""

    def __init__(self, n: int, url: str, rng: random.Random, *, heartbeat: float) -> None:
        self.n = n
        self.rng = rng
        super().__init__(
            url,
            user=f"client {n}",
            backoff=Backoff(base=0.05, cap=0.5, rng=random.Random(rng.random())),
            heartbeat=heartbeat,
            healthy_after=1.0,
        )
        self.inserted: list[str] = []
        #: Tokens up to this index in ``inserted`` are acknowledged (durable on the server).
        self.acked_upto = 0
        self.saved_transitions = 0
        self.client.add_listener(self._on_status)

    def _on_status(self, status: ClientStatus) -> None:
        if status.status is Status.SAVED:
            # SAVED: the server acknowledged every document message this connection sent,
            # and the first message was the step 2 holding everything made offline.
            self.acked_upto = len(self.inserted)
            self.saved_transitions += 1

    def insert(self) -> str:
        token = f"<c{self.n}:{len(self.inserted)}>"
        current = str(self.text)
        # Only at token boundaries (ASCII text: byte offsets are character offsets).
        bounds = [0] + [m.end() for m in TOKEN.finditer(current)]
        pos = self.rng.choice(bounds)
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(pos, token)
        self.inserted.append(token)
        return token

    def delete(self) -> str | None:
        """Delete one whole token (anyone's); returns it, or None if the text is empty."""
        matches = list(TOKEN.finditer(str(self.text)))
        if not matches:
            return None
        m = self.rng.choice(matches)
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            del self.text[m.start() : m.end()]
        return m.group()


@dataclass
class ChaosConfig:
    seed: int = 1
    clients: int = 3
    duration: float = 12.0  # seconds of editing under faults
    kills: int = 2  # kill -9 + restart, spread over the run
    edit_interval: tuple[float, float] = (0.01, 0.05)
    fault_interval: tuple[float, float] = (0.05, 0.3)
    delete_ratio: float = 0.2
    heartbeat: float = 0.5  # client keepalive: a stalled link is noticed in ~1.2 s + close
    heal_deadline: float = 60.0
    log: Callable[[str], None] = field(default=lambda _msg: None)


@dataclass
class ChaosReport:
    ops: int = 0
    inserts: int = 0
    deletes: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    durability_checks: int = 0
    acked_checked: int = 0  # acknowledged tokens verified after kills (sum over kills)
    lost: int = 0
    duplicated: int = 0
    heal_seconds: float = 0.0
    final_length: int = 0
    connections: int = 0
    elapsed: float = 0.0
    kill_restart_seconds: list[float] = field(default_factory=list)

    @property
    def injected(self) -> int:
        """Faults injected, not counting the schedule's repairs (heal, resume)."""
        return sum(self.faults.values()) - self.faults["heal"] - self.faults["resume"]

    def lines(self) -> list[str]:
        restart = statistics.median(self.kill_restart_seconds) if self.kill_restart_seconds else 0
        return [
            f"ops={self.ops} (inserts={self.inserts} deletes={self.deletes}) "
            f"in {self.elapsed:.1f} s",
            f"faults injected={self.injected} (+{self.faults['heal'] + self.faults['resume']} "
            f"repairs) {dict(sorted(self.faults.items()))}",
            f"kills={self.kills} (median kill->restarted {restart:.2f} s), "
            f"client connections={self.connections}",
            f"durability checks after kills={self.durability_checks}, "
            f"acknowledged tokens verified={self.acked_checked}",
            f"time to heal={self.heal_seconds:.2f} s, final text={self.final_length} chars",
            f"lost={self.lost} duplicated={self.duplicated}",
        ]


def check_tokens(
    text: str, expected: set[str], deleted: set[str], report: ChaosReport
) -> list[str]:
    """Problems in ``text``: tokens lost or duplicated, deleted ones back, junk between."""
    problems: list[str] = []
    counts = Counter(TOKEN.findall(text))
    if TOKEN.sub("", text):
        problems.append(f"text holds something other than tokens: {TOKEN.sub('', text)[:80]!r}")
    dup = [t for t, c in counts.items() if c > 1]
    lost = [t for t in expected if t not in deleted and counts[t] != 1]
    back = [t for t in deleted if counts[t]]
    report.duplicated += len(dup)
    report.lost += len(lost)
    if dup:
        problems.append(f"{len(dup)} duplicated tokens, e.g. {dup[:5]}")
    if lost:
        problems.append(f"{len(lost)} lost tokens, e.g. {sorted(lost)[:5]}")
    if back:
        problems.append(f"{len(back)} deleted tokens came back, e.g. {back[:5]}")
    return problems


async def run_chaos(cfg: ChaosConfig, data_dir: Path) -> ChaosReport:
    """Edit under faults and kills, heal, check. Raises AssertionError on any violation."""
    rng = random.Random(cfg.seed)
    report = ChaosReport()
    server = RestartableServer(data_dir)
    await server.start()
    started = time.monotonic()
    try:
        async with FaultProxy("127.0.0.1", server.port) as proxy:
            url = f"{proxy.url}/chaos"
            editors = [
                TokenEditor(n, url, random.Random(rng.random()), heartbeat=cfg.heartbeat)
                for n in range(cfg.clients)
            ]
            deleted: set[str] = set()  # tokens someone deleted (maybe not acknowledged)
            stop = asyncio.Event()
            async with asyncio.TaskGroup() as tg:
                for ed in editors:
                    tg.create_task(ed.client.run())

                async def edit(ed: TokenEditor) -> None:
                    while not stop.is_set():
                        if ed.rng.random() < cfg.delete_ratio:
                            gone = ed.delete()
                            if gone is not None:
                                deleted.add(gone)
                                report.deletes += 1
                        else:
                            ed.insert()
                            report.inserts += 1
                        report.ops += 1
                        await asyncio.sleep(ed.rng.uniform(*cfg.edit_interval))  # typing pace

                async def durability_check() -> None:
                    """After a restart and before any client is let back in."""
                    acked = {t for ed in editors for t in ed.inserted[: ed.acked_upto]}
                    text = await read_document(f"{server.url}/chaos")
                    counts = Counter(TOKEN.findall(text))
                    lost = [t for t in acked if t not in deleted and counts[t] != 1]
                    dup = [t for t, c in counts.items() if c > 1]
                    report.durability_checks += 1
                    report.acked_checked += len(acked - deleted)
                    report.lost += len(lost)
                    report.duplicated += len(dup)
                    assert not lost, f"acknowledged tokens lost by a kill: {sorted(lost)[:5]}"
                    assert not dup, f"tokens duplicated after a kill: {dup[:5]}"

                async def chaos() -> None:
                    end = started + cfg.duration
                    kill_at = sorted(
                        started + cfg.duration * (i + rng.uniform(0.3, 0.7)) / cfg.kills
                        for i in range(cfg.kills)
                    )
                    refuse_until = 0.0
                    while (now := time.monotonic()) < end:
                        await asyncio.sleep(rng.uniform(*cfg.fault_interval))  # the schedule
                        if refuse_until and now > refuse_until:
                            proxy.accepting, refuse_until = True, 0.0
                        if kill_at and now >= kill_at[0]:
                            kill_at.pop(0)
                            t0 = time.monotonic()
                            proxy.accepting = False  # hold clients off until checked
                            server.kill()
                            report.faults["kill -9"] += 1
                            await server.start()
                            report.kill_restart_seconds.append(time.monotonic() - t0)
                            await durability_check()
                            proxy.accepting = True
                            cfg.log(f"kill {server.kills}: restarted and checked")
                            continue
                        inject(rng, proxy, report)
                        if rng.random() < 0.05 and not refuse_until:
                            proxy.accepting = False
                            refuse_until = now + rng.uniform(0.2, 1.0)
                            report.faults["partition"] += 1

                editing = [tg.create_task(edit(ed)) for ed in editors]
                await chaos()
                stop.set()
                for task in editing:
                    await task
                # ------------------------------------------------ heal
                heal_started = time.monotonic()
                proxy.heal()
                expected = {t for ed in editors for t in ed.inserted}

                def healed() -> bool:
                    texts = {str(ed.text) for ed in editors}
                    return len(texts) == 1 and all(ed.status is Status.SAVED for ed in editors)

                try:
                    await wait_until(
                        healed, "every replica saved and equal", within=cfg.heal_deadline
                    )
                except AssertionError:
                    states = [(ed.n, ed.status, len(str(ed.text))) for ed in editors]
                    raise AssertionError(f"not healed: {states}") from None
                report.heal_seconds = time.monotonic() - heal_started
                report.elapsed = time.monotonic() - started
                text = str(editors[0].text)
                report.final_length = len(text)
                report.connections = sum(ed.client.connections for ed in editors)
                server_text = await read_document(f"{server.url}/chaos")
                assert server_text == text, "the server's document differs from the replicas"
                problems = check_tokens(text, expected, deleted, report)
                assert not problems, "; ".join(problems)
                for ed in editors:
                    await ed.client.close()
            # SAVED must mean durable: kill once more and read what is on disk.
            server.kill()
            report.kills = server.kills
            await server.start()
            assert await read_document(f"{server.url}/chaos") == text, "SAVED but not durable"
            await server.terminate()
    finally:
        server.stop()
    return report


def inject(rng: random.Random, proxy: FaultProxy, report: ChaosReport) -> None:
    """One random fault on one random live connection."""
    conns = proxy.connections
    if not conns:
        return
    conn = rng.choice(conns)
    kind = rng.choices(
        ["latency", "throttle", "rst", "fin", "cut", "stall", "resume", "heal"],
        weights=[3, 2, 2, 1, 2, 1, 2, 3],
    )[0]
    if kind == "latency":
        conn.faults.latency = rng.uniform(0.01, 0.2)
    elif kind == "throttle":
        conn.faults.throttle = rng.uniform(2_000, 50_000)
    elif kind == "rst":
        conn.drop(rst=True)
    elif kind == "fin":
        conn.drop(rst=False)
    elif kind == "cut":
        conn.cut_after(rng.randint(1, 3000))
    elif kind == "stall":
        conn.stall()
    elif kind == "resume":
        stalled = [c for c in conns if c.faults.stalled]
        if not stalled:
            return
        rng.choice(stalled).resume()
    else:
        conn.heal()
    report.faults[kind] += 1
