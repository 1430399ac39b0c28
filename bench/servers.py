"""Start, identify and measure the servers under test, each in its own process.

Every server is started fresh for every scenario, so one server falling behind (pycrdt-
websocket at N=500 keeps working for minutes) cannot steal CPU from the next scenario,
and the memory scenario starts from a clean process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
NODE_DIR = BENCH_DIR / "peers" / "node"
NODE_SERVER = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
HOCUSPOCUS_SERVER = NODE_DIR / "hocuspocus_server.mjs"
HOCUSPOCUS_MODULE = NODE_DIR / "node_modules" / "@hocuspocus" / "server"

#: Variants of our server, each with extra arguments: what one change buys, in one run.
VARIANTS = {
    "ours-asyncio": "--event-loop asyncio",  # without uvloop
    "ours-ci0": "--commit-interval 0",  # a group commit as soon as the previous one ended
    "ours-w2": "--workers 2",  # two worker processes behind the dispatcher
    "ours-mem": "--data-dir :memory:",  # no durable store (like the peers): its price
}
SERVER_NAMES = ("ours", *VARIANTS, "before", "node", "hocuspocus", "pycrdt", "raw")
#: A checkout of an earlier Coscribe (``git worktree add /tmp/before <commit>``) run as the
#: "before" column, for before/after figures in one run.
BEFORE_REPO = os.environ.get("COSCRIBE_BENCH_BEFORE")
LABELS = {
    "ours": "ours",
    "ours-asyncio": "ours, asyncio loop",
    "ours-ci0": "ours, commit interval 0",
    "ours-w2": "ours, 2 workers",
    "ours-mem": "ours, in memory",
    "before": "ours before",
    "node": "@y/websocket-server",
    "hocuspocus": "Hocuspocus",
    "pycrdt": "pycrdt-websocket",
    "raw": "raw relay",
    "url": "--url",
}
#: Our server's abuse limits (per-IP connection rate and count, per-connection message
#: rate) exist to stop one misbehaving client; every bench client comes from 127.0.0.1
#: and the writer floods by design, so they are switched off. The peers have none.
OURS_BENCH_ARGS = (
    "--connection-rate 0 --max-connections-per-ip 0 --max-handshakes-per-ip 0 --message-rate 0"
)

#: Servers that hold a CRDT document and therefore answer sync step 1.
CRDT_SERVERS = {"ours", *VARIANTS, "before", "node", "hocuspocus", "pycrdt", "url"}
#: Servers whose frames carry the document name first, after an auth message (Hocuspocus).
FRAMED_SERVERS = {"hocuspocus"}
#: Servers the original scenarios (fanout, rate, trace, cold, memory) can drive.
PLAIN_SERVERS = {"ours", *VARIANTS, "before", "node", "pycrdt", "raw", "url"}


@dataclass(frozen=True, slots=True)
class Running:
    """A server under test: where to connect and, if we started it, which pid to watch."""

    name: str
    url: str
    pid: int | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def availability(name: str) -> str | None:
    """None if ``name`` can be started here, else why not."""
    if name == "node" and not NODE_SERVER.exists():
        return f"run `npm install` in {NODE_DIR}"
    if name == "before" and not (BEFORE_REPO and Path(BEFORE_REPO, "sync_server").is_dir()):
        return "set COSCRIBE_BENCH_BEFORE to a checkout (git worktree) of the earlier commit"
    if name == "hocuspocus" and not HOCUSPOCUS_MODULE.exists():
        return f"run `npm install` in {NODE_DIR}"
    if name.startswith("ours") and not (REPO_DIR / "sync_server" / "app.py").exists():
        return "sync_server/app.py does not exist yet"
    return None


def _command(name: str, data_dir: Path, ours_args: str) -> tuple[list[str], dict[str, str], str]:
    env = dict(os.environ)
    if name in ("ours", "before", *VARIANTS):
        cmd = [sys.executable, "-m", "sync_server", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--data-dir", str(data_dir), *shlex.split(ours_args)]
        cmd += shlex.split(VARIANTS.get(name, ""))
        if name == "before":
            assert BEFORE_REPO is not None
            env["PYTHONPATH"] = BEFORE_REPO
        return cmd, env, r"listening on (ws://\S+)"
    if name == "node":
        port = free_port()
        env.update(HOST="127.0.0.1", PORT=str(port))
        return ["node", str(NODE_SERVER)], env, rf"running at .* on port ({port})"
    if name == "hocuspocus":
        return ["node", str(HOCUSPOCUS_SERVER)], env, r"listening on (ws://\S+)"
    if name == "pycrdt":
        cmd = [sys.executable, str(BENCH_DIR / "peers" / "pycrdt_server.py"), "--port", "0"]
        return cmd, env, r"listening on (ws://\S+)"
    if name == "raw":
        cmd = [sys.executable, str(BENCH_DIR / "peers" / "raw_relay.py"), "--port", "0"]
        return cmd, env, r"listening on (ws://\S+)"
    raise ValueError(f"unknown server {name!r}")


@contextlib.contextmanager
def started(
    name: str, log_dir: Path, ours_args: str = OURS_BENCH_ARGS, ready_timeout: float = 30.0
) -> Iterator[Running]:
    """Run server ``name`` until the block ends; SIGTERM it, then SIGKILL after 10 s."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as data_dir:
        cmd, env, pattern = _command(name, Path(data_dir), ours_args)
        log_path = log_dir / f"{name}-{time.time_ns()}.log"
        with log_path.open("wb") as log:
            cwd = BEFORE_REPO if name == "before" and BEFORE_REPO else REPO_DIR
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
            try:
                url = _wait_ready(proc, log_path, pattern, ready_timeout)
                if name == "node":
                    url = f"ws://127.0.0.1:{url}"
                yield Running(name, url, proc.pid)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        match = regex.search(log.read_text(errors="replace"))
        if match:
            return match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"server did not become ready ({' '.join(proc.args)}):\n{tail}")  # type: ignore[arg-type]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server with --workers is several processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` and its descendants (VmRSS), in bytes."""
    total = 0
    for p in process_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(x.split()[1]) * 1024 for x in lines if x.startswith("VmRSS:"))
    if not total:
        raise RuntimeError(f"no VmRSS for pid {pid}")
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat.

    The bench shares its 2 cores with whatever else runs; busy time not spent by the
    server or the load generator is reported as foreign load, so a disturbed run shows.
    """
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait_s: float, busy_cores: float = 0.3) -> float:
    """Wait (bounded) until the machine is nearly idle; return the last 1-s busy level.

    Other people's test runs share these 2 cores; starting a case while they run makes
    the figure meaningless, so each case first waits for a quiet second.
    """
    end = time.monotonic() + max_wait_s
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy <= busy_cores or time.monotonic() > end:
            return round(busy, 2)


def settled_rss(pid: int, deadline_s: float = 10.0, window_s: float = 1.0) -> int:
    """RSS once it stops moving (readings over ``window_s`` within 1 %), or the last
    reading at the deadline. After connections close, use a longer window: a server may
    finish its closing handshakes (and free memory) a moment after the clients are done."""
    end = time.monotonic() + deadline_s
    need = max(2, int(window_s / 0.25) + 1)
    readings = [rss_bytes(pid)]
    while time.monotonic() < end:
        time.sleep(0.25)
        readings.append(rss_bytes(pid))
        window = readings[-need:]
        if len(window) == need and max(window) - min(window) <= 0.01 * max(window):
            break
    return readings[-1]
