"""Real PostgreSQL, Redis and relay-node processes on free loopback ports, for the tests.

PostgreSQL refuses to run as root, so as root the throwaway cluster is created and run as
the ``postgres`` user in a directory that user owns; otherwise as ourselves.
Everything is started with a deadline and stopped by process id.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"coscribe-server listening on (ws://\S+)")


class ServiceMissing(RuntimeError):
    """A system package the cluster tests need is not installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s")


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class RedisServer:
    """``redis-server`` without persistence on one fixed port (so it can be restarted)."""

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise ServiceMissing("redis-server not found (apt-get install redis-server)")
        self.exe = exe
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.workdir), "--loglevel", "warning"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "redis-server")
        return self

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        _stop(self.proc)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if found:
        return found[-1]
    exe = shutil.which(name)
    if exe is None:
        raise ServiceMissing(f"PostgreSQL's {name} not found (apt-get install postgresql)")
    return exe


def _version_key(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb into a temp dir, trust auth on loopback."""

    def __init__(self) -> None:
        self.initdb = _pg_bin("initdb")
        self.postgres = _pg_bin("postgres")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServiceMissing("no 'postgres' user to run PostgreSQL as (as root)") from None
        self.dir = Path(tempfile.mkdtemp(prefix="coscribe-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.user = "coscribe"

    def _owner(self) -> dict[str, Any]:
        """Popen arguments that run a program as the postgres user when we are root.

        Not through ``runuser``: a wrapper would get our signals and leave postgres behind.
        """
        if not self.as_root:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def start(self) -> PostgresServer:
        data, sock = self.dir / "data", self.dir / "sock"
        sock.mkdir()
        if self.as_root:
            shutil.chown(self.dir, "postgres")
            shutil.chown(sock, "postgres")
        subprocess.run(
            [self.initdb, "-D", str(data), "-U", self.user, "--auth=trust", "-E", "UTF8"]
            + ["--no-instructions"],
            check=True,
            capture_output=True,
            cwd=self.dir,
            **self._owner(),
        )
        log = open(self.dir / "postgres.log", "wb")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [self.postgres, "-D", str(data), "-k", str(sock), "-p", str(self.port)]
            + ["-h", "127.0.0.1", "-c", "max_connections=200", "-c", "fsync=on"],
            stdout=log,
            stderr=log,
            cwd=self.dir,
            **self._owner(),
        )
        log.close()
        wait_port(self.port, self.proc, "postgres")
        self._wait_accepting()
        return self

    def _wait_accepting(self, timeout: float = 30.0) -> None:
        """The port opens before recovery ends ("the database system is starting up")."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        _stop(self.proc, signal.SIGQUIT)  # immediate: no shutdown checkpoint, dir goes anyway
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    """A relay node: ``python -m sync_server`` with Postgres + Redis, logs to a file."""

    def __init__(self, database_url: str, redis_url: str, workdir: Path, name: str) -> None:
        self.args = [
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--node-id",
            name,
            "--cluster-heartbeat",
            "0.25",
            "--room-idle",
            "60",
            "--message-rate",
            "0",
            "--connection-rate",
            "0",
            "--max-connections-per-ip",
            "0",
            "--log-level",
            "warning",
        ]
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 20.0) -> Node:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync_server", *self.args],
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
        )
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            match = READY.search(line)
            if match:
                self.url = match.group(1)
                return self
        raise RuntimeError(f"node {self.name} did not start: {self.log_path.read_text()}")

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)

    def terminate(self) -> int | None:
        _stop(self.proc)
        return None if self.proc is None else self.proc.returncode

    def stop(self) -> None:
        _stop(self.proc)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
