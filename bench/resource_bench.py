"""Resource bounds of a relay under attack (issue 9): memory pinned by stalled readers,
descriptors under a flood of unfinished handshakes.

    .venv/bin/python bench/resource_bench.py                      # ours, this checkout
    .venv/bin/python bench/resource_bench.py --server-dir ../old  # another checkout (before)
    .venv/bin/python bench/resource_bench.py --readers 40 --doc-mb 30 --watch 60

1. **Stalled readers.** A document of ``--doc-mb`` MB is written; ``--readers`` sockets
   complete the WebSocket handshake, send SYNC step 1 (``00 00 01 00``: "send me the whole
   document") and never read (4 KB receive buffers). The server's RSS (VmRSS) is sampled
   every second for ``--watch`` seconds; printed: the peak, when the stalled sockets were
   closed by the server, and the RSS at the end.
2. **Handshake flood.** ``--flood`` sockets from one address (127.0.0.2) connect and send
   nothing. Printed: the server's open descriptors (``/proc/PID/fd``) during the flood and
   how long an honest client from 127.0.0.1 takes to connect and sync meanwhile.

Benchmarks are not tests; the bounds themselves are held by tests/server/test_resources.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, Text
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.messages import SyncStep1, SyncUpdate  # noqa: E402

FULL_SYNC_REQUEST = bytes([0, 0, 1, 0])
TCP_ESTABLISHED = 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def start_server(
    server_dir: Path, data: Path, extra: list[str]
) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_server", "--port", "0", "--data-dir", str(data), *extra],
        cwd=server_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "listening on" in line:
            return proc, line.rsplit(" ", 1)[1].strip()
    raise SystemExit("server did not start")


def frame(payload: bytes) -> bytes:
    n = len(payload)
    head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0xFE]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


def stalled_reader(port: int, path: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    sock.sendall(frame(FULL_SYNC_REQUEST))
    return sock


def closes_line(port: int) -> list[str]:
    """The server's closes by code and outbound gauges, from /metrics."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        body = b""
        while chunk := s.recv(65536):
            body += chunk
    keep = ("coscribe_closes_total", "coscribe_slow_consumers_total", "outbound")
    return [
        line for line in body.decode().splitlines()
        if line.startswith(keep) and not line.startswith("#")
    ]  # fmt: skip


def closed(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] != TCP_ESTABLISHED


async def write_document(url: str, mb: float) -> None:
    doc: Doc = Doc()
    text = doc.get("content", type=Text)
    text += "x" * int(mb * 1024 * 1024)
    async with connect(url, max_size=None) as ws:
        await ws.send(SyncUpdate(doc.get_update()).encode())
        await ws.send(SyncStep1(b"\x00").encode())  # answered after the update is applied
        async for _ in ws:
            break


async def honest_sync_seconds(url: str) -> float:
    started = time.monotonic()
    async with connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(SyncStep1(b"\x00").encode())
        async for message in ws:
            if isinstance(message, bytes) and message[:2] == b"\x00\x01":
                break
    return time.monotonic() - started


def stalled_readers(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.server_dir, Path(tmp), [])
        try:
            asyncio.run(write_document(f"{url}/big", args.doc_mb))
            port = int(url.rsplit(":", 1)[1])
            base = rss_mb(proc.pid)
            readers = [stalled_reader(port, "/big") for _ in range(args.readers)]
            started = time.monotonic()
            peak, all_closed_at = base, None
            samples = []
            while time.monotonic() - started < args.watch:
                time.sleep(1)
                now = rss_mb(proc.pid)
                peak = max(peak, now)
                samples.append(round(now))
                if all_closed_at is None and all(closed(s) for s in readers):
                    all_closed_at = time.monotonic() - started
            print(
                f"stalled readers: {args.readers} x {args.doc_mb} MB document: RSS before "
                f"{base:.0f} MB, peak {peak:.0f} MB (+{peak - base:.0f}), after {args.watch} s "
                f"{rss_mb(proc.pid):.0f} MB; all closed by the server after "
                f"{'never' if all_closed_at is None else f'{all_closed_at:.0f} s'}"
            )
            print(f"  RSS per second (MB): {samples}")
            print("  " + " ".join(closes_line(port)))
            for s in readers:
                s.close()
        finally:
            proc.terminate()
            proc.wait(30)


def handshake_flood(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.server_dir, Path(tmp), [])
        try:
            port = int(url.rsplit(":", 1)[1])
            before = fds(proc.pid)
            flood = []
            for _ in range(args.flood):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.setblocking(False)
                try:
                    s.connect_ex(("127.0.0.1", port))
                except OSError:
                    pass
                flood.append(s)
            time.sleep(1.0)  # a benchmark, not a test: let the accept loop take them all
            during = fds(proc.pid)
            try:
                honest = f"{asyncio.run(honest_sync_seconds(f'{url}/doc')) * 1000:.0f} ms"
            except Exception as exc:  # noqa: BLE001 - reported, it is the measurement
                honest = f"failed ({type(exc).__name__}: {exc})"
            print(
                f"handshake flood: {args.flood} half-open sockets from one address: server "
                f"descriptors {before} -> {during}; honest client connect+sync: {honest}"
            )
            for s in flood:
                s.close()
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-dir", type=Path, default=ROOT)
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--doc-mb", type=float, default=30)
    parser.add_argument("--watch", type=int, default=40)
    parser.add_argument("--flood", type=int, default=1100)
    parser.add_argument("--only", choices=["readers", "flood"])
    args = parser.parse_args()
    print(f"# server: {args.server_dir}")
    if args.only in (None, "readers"):
        stalled_readers(args)
    if args.only in (None, "flood"):
        handshake_flood(args)


if __name__ == "__main__":
    main()
