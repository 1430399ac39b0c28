"""The relays the interop tests run against.

* ``coscribe``: our relay, in-process (``sync_server.app.RelayServer``, in-memory store). It
  is entered inside the test's own task (``async with``), because an async fixture's setup
  and teardown run in different tasks and a server's task group must not straddle them.
* ``yjs-reference``: the y-websocket reference server (``@y/websocket-server``), a Node
  subprocess started once per session. The same tests passing against both is the evidence
  that a failure is ours and not the test's.
* :class:`ServerProcess` also runs ``python -m sync_server`` as a real process.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import DEADLINE

_URL_RE = re.compile(rb"listening on (ws://127\.0\.0\.1:\d+)")


class ServerProcess:
    """A relay running as a subprocess that prints ``... listening on ws://host:port``.

    Only the banner is read from stdout; stderr (where servers log) goes to ``log_path``, a
    file, so that a chatty server can never block on a full pipe nobody reads.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self._cwd = cwd
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.banner = b""

    def start(self, timeout: float = DEADLINE * 2) -> str:
        """Start the process and return its URL once it printed it.

        Raises:
            AssertionError: it exited or did not announce its URL within ``timeout``.
        """
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                self.argv,
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._process = process
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while (match := _URL_RE.search(self.banner)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self.stop()
                    raise AssertionError(
                        f"{self.argv} did not announce its URL in {timeout} s: "
                        f"{self.banner!r}\n{self.log()}"
                    )
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    code = process.wait()
                    raise AssertionError(
                        f"{self.argv} exited ({code}): {self.banner!r}\n{self.log()}"
                    )
                self.banner += chunk
        self.url = match.group(1).decode()
        return self.url

    def log(self) -> str:
        """What the process wrote to stderr."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers. Returns the exit code. Idempotent."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        return process.returncode


ServeFn = Callable[[], AbstractAsyncContextManager[str]]


@dataclass(frozen=True)
class Relay:
    """A server under test: ``async with relay.serve() as url`` (url = ``ws://host:port``)."""

    name: str
    serve: ServeFn


def coscribe_relay() -> Relay:
    @asynccontextmanager
    async def serve() -> AsyncIterator[str]:
        # Imported here so that the reference-server half of the suite still runs (and the
        # coscribe half fails with a clear ImportError) while the relay is being written.
        from sync_server.app import RelayServer
        from sync_server.config import ServerConfig

        async with RelayServer(ServerConfig(host="127.0.0.1", port=0, data_dir=None)) as server:
            yield str(server.url)

    return Relay("coscribe", serve)


def reference_relay(url: str) -> Relay:
    @asynccontextmanager
    async def serve() -> AsyncIterator[str]:
        yield url

    return Relay("yjs-reference", serve)
