"""``--workers N``: every core of one host, each document served by exactly one process.

One Python process runs on one core. With ``--workers N`` (N > 1) the process started
becomes a **dispatcher**: it holds the data directory's lock, listens on the port, starts N
**worker** processes (ordinary servers that do not listen themselves) and, for each
accepted socket, reads the HTTP request line, takes the document name from its path
(the same ``document_name_from_path`` the workers use), and hands the socket, with the
bytes it read, to worker ``crc32(name) % N`` over a Unix socket (``SCM_RIGHTS``). The
worker then serves the connection as if it had accepted it (the descriptor guard, the
handshake, everything). So all connections to one document land on one process: its
room, its presence and its durable log have one owner, as with a single process.

* ``/healthz``, ``/readyz``, ``/metrics`` go to worker 0 (its metrics only).
* ``/`` (multi-document ``coscribe.v2`` sessions and long polling) is answered
  ``501`` with an ``X-Coscribe`` header: a session carries documents of every worker.
  The Coscribe editor then uses one WebSocket per document (its ``LEGACY`` mode), which
  is routed by name like every stock y-websocket client.
* TLS cannot be combined with ``--workers`` (the dispatcher must read the path):
  terminate TLS in a reverse proxy (docs/deploy.md).
* Storage: every worker opens the **same** SQLite file (WAL, ``synchronous=FULL``). Each
  document is written by one process only (its worker), so the per-document rules of
  the store (group commit, acknowledged = committed, compaction that deletes exactly
  the rows it folded) hold as with one process; SQLite serialises the workers' commits
  with its write lock (busy timeout), and group commit keeps them few. One file for all
  workers also means that changing N moves documents between workers without moving
  data. Workers start one after another (migrations run once).
* A worker that dies is started again (after a second); its documents are unavailable
  meanwhile. SIGTERM/SIGINT to the dispatcher stops every worker gracefully.

The dispatcher keeps the guarantees of docs/security.md for the sockets it holds while
it waits for a request line: the descriptor reserve (503), at most
``max_handshakes_per_ip`` such sockets per address (reset), and ``open_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from shared.docnames import document_name_from_path
from shared.errors import InvalidDocumentName

from .config import ServerConfig
from .sockets import (
    BUSY_RESPONSE,
    LISTEN_QUEUE,
    MAX_HEAD,
    READY,
    WORKER_ENV,
    SocketGuard,
    accept_batch,
    answer_busy,
    bind_listening,
    raise_fd_limit,
    reset,
)

log = logging.getLogger("coscribe.server")

#: Paths answered by worker 0 rather than routed by document name.
_SERVICE_PATHS = {"/healthz", "/readyz", "/metrics"}
_NOT_HERE = (
    b"HTTP/1.1 501 Not Implemented\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"X-Coscribe: workers\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 71\r\n\r\n"
    b"multi-document sessions are off with --workers: one WebSocket per doc\n"
)
_TOO_LONG = b"HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
#: Seconds between two starts of the same worker.
RESTART_DELAY = 1.0
#: Seconds a worker may take to open its store and say it is ready.
READY_TIMEOUT = 60.0


def worker_of(name: str, workers: int) -> int:
    """The worker serving document ``name`` (stable across processes and restarts)."""
    return zlib.crc32(name.encode("utf-8", "surrogatepass")) % workers


def route(request_line: bytes, workers: int) -> int | None:
    """The worker for a request line (``GET /name?token=… HTTP/1.1``); None for ``/``."""
    parts = request_line.split(b" ")
    target = parts[1].decode("latin-1") if len(parts) >= 2 else "/"
    path = urlsplit(target).path or "/"  # absolute form (through a proxy) included
    if path == "/":
        return None
    if path in _SERVICE_PATHS:
        return 0
    try:
        name = document_name_from_path(path)
    except InvalidDocumentName:
        name = path  # refused by the worker (400); any worker will do, consistently
    return worker_of(name, workers)


def worker_argv(argv: Sequence[str]) -> list[str]:
    """The server's own arguments without ``--workers``, for the worker processes."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


class _Worker:
    """One worker process and the dispatcher's end of its channel."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None
        self.ready = False


class Dispatcher:
    """Accepts, reads request lines, hands sockets to workers (see module docstring)."""

    def __init__(self, config: ServerConfig, argv: Sequence[str]) -> None:
        self.config = config
        self._argv = worker_argv(argv)
        self._workers = [_Worker(i) for i in range(config.workers)]
        soft, _ = raise_fd_limit()
        self._guard = SocketGuard(
            max_handshakes_per_ip=config.max_handshakes_per_ip,
            fd_limit=soft,
            fd_reserve=config.fd_reserve,
            on_refuse=self._refused,
        )
        self._listening: list[socket.socket] = []
        self._pending: dict[int, tuple[socket.socket, str, bytearray, asyncio.TimerHandle]] = {}
        self._stopping = asyncio.Event()
        self._logged_at = -1e9

    # ------------------------------------------------------------------ processes

    def _start_worker(self, worker: _Worker) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listening = self._listening[0]
        env = {
            **os.environ,
            WORKER_ENV: f"{theirs.fileno()},{listening.fileno()}",
            "COSCRIBE_WORKER_INDEX": str(worker.index),
        }
        env.pop("COSCRIBE_WORKERS", None)
        try:
            worker.proc = subprocess.Popen(
                [sys.executable, "-m", "sync_server", *self._argv],
                env=env,
                pass_fds=(theirs.fileno(), listening.fileno()),
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        worker.channel = ours
        worker.ready = False

    async def _wait_ready(self, worker: _Worker) -> None:
        assert worker.channel is not None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(READY_TIMEOUT):
            answer = await loop.sock_recv(worker.channel, 64)
        if answer != READY:
            raise RuntimeError(f"worker {worker.index} did not start (exit {self._code(worker)})")
        worker.ready = True
        log.info("worker ready", extra={"fields": {"worker": worker.index}})

    @staticmethod
    def _code(worker: _Worker) -> int | None:
        return worker.proc.poll() if worker.proc is not None else None

    async def _supervise(self, worker: _Worker) -> None:
        """Restart the worker whenever it ends, until the dispatcher stops."""
        loop = asyncio.get_running_loop()
        while True:
            assert worker.proc is not None
            proc = worker.proc
            code = await loop.run_in_executor(None, proc.wait)
            if self._stopping.is_set():
                return
            worker.ready = False
            log.error(
                "worker ended; starting it again",
                extra={"fields": {"worker": worker.index, "exit": code}},
            )
            if worker.channel is not None:
                worker.channel.close()
                worker.channel = None
            await asyncio.sleep(RESTART_DELAY)  # a worker that fails at once is not spun
            if self._stopping.is_set():
                return
            self._start_worker(worker)
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                await self._wait_ready(worker)

    def _stop_workers(self) -> None:
        for worker in self._workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)

    def _reap(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            if worker.proc is None:
                continue
            try:
                worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()

    # ------------------------------------------------------------------ sockets

    def _refused(self, why: str) -> None:
        now = time.monotonic()
        if now - self._logged_at >= 10.0:
            self._logged_at = now
            if why == "busy":
                log.warning("out of descriptors: refusing new connections with 503")
            else:
                log.warning("too many unfinished handshakes from one address; resetting")

    def _accept_failed(self, exc: OSError) -> None:
        self._guard.refuse("busy")
        log.warning("accept failed: %s", exc)

    def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        for sock, address in accept_batch(listening, self._accept_failed):
            ip = str(address[0]) if isinstance(address, tuple) else "?"
            why = self._guard.accept(ip)
            if why == "busy":
                answer_busy(sock)
                continue
            if why is not None:
                reset(sock)
                continue
            sock.setblocking(False)
            fd = sock.fileno()
            timer = loop.call_later(self.config.open_timeout, self._expire, fd)
            self._pending[fd] = (sock, ip, bytearray(), timer)
            loop.add_reader(fd, self._read_head, fd)

    def _forget(self, fd: int) -> tuple[socket.socket, str, bytearray] | None:
        entry = self._pending.pop(fd, None)
        if entry is None:
            return None
        sock, ip, head, timer = entry
        timer.cancel()
        asyncio.get_running_loop().remove_reader(fd)
        self._guard.closed(ip, upgraded=False)
        return sock, ip, head

    def _expire(self, fd: int) -> None:
        entry = self._forget(fd)
        if entry is not None:
            entry[0].close()

    def _read_head(self, fd: int) -> None:
        sock, _, head, _ = self._pending[fd]
        try:
            chunk = sock.recv(MAX_HEAD)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._expire(fd)
            return
        head += chunk
        end = head.find(b"\r\n")
        if end < 0:
            if len(head) >= MAX_HEAD:
                self._answer(fd, _TOO_LONG)
            return
        index = route(bytes(head[:end]), len(self._workers))
        if index is None:
            self._answer(fd, _NOT_HERE)
            return
        entry = self._forget(fd)
        assert entry is not None
        worker = self._workers[index]
        try:
            if worker.channel is None or not worker.ready:
                raise BlockingIOError
            socket.send_fds(worker.channel, [bytes(head)], [fd])
        except OSError:  # the worker is restarting, or not keeping up
            with contextlib.suppress(OSError):
                sock.send(BUSY_RESPONSE)
        sock.close()  # the worker has its own descriptor now

    def _answer(self, fd: int, response: bytes) -> None:
        entry = self._forget(fd)
        if entry is not None:
            with contextlib.suppress(OSError):
                entry[0].send(response)
            entry[0].close()

    # ------------------------------------------------------------------ running

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        c = self.config
        self._listening = bind_listening(c.host, c.port)
        for sock in self._listening:
            sock.setblocking(False)
            sock.listen(LISTEN_QUEUE)
        try:
            for worker in self._workers:  # one after another: the first one migrates
                self._start_worker(worker)
                await self._wait_ready(worker)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stopping.set)
            for sock in self._listening:
                loop.add_reader(sock.fileno(), self._accept, sock)
            port = self._listening[0].getsockname()[1]
            host = f"[{c.host}]" if ":" in c.host else c.host
            log.info("dispatching", extra={"fields": {"workers": len(self._workers)}})
            print(f"coscribe-server listening on ws://{host}:{port}", flush=True)
            async with asyncio.TaskGroup() as tg:
                for worker in self._workers:
                    tg.create_task(self._supervise(worker))
                await self._stopping.wait()
                print("coscribe-server: stopping the workers", file=sys.stderr, flush=True)
                for sock in self._listening:
                    loop.remove_reader(sock.fileno())
                for fd in list(self._pending):
                    self._expire(fd)
                self._stop_workers()
            return 0
        finally:
            self._stopping.set()
            for sock in self._listening:
                sock.close()
            self._stop_workers()
            await loop.run_in_executor(None, self._reap, c.shutdown_timeout + 5.0)
            for worker in self._workers:
                if worker.channel is not None:
                    worker.channel.close()
