"""``coscribe-server --workers N``: real processes, each document served by one of them.

A dispatcher process accepts every socket and hands it (SCM_RIGHTS) to the worker chosen by
the document name; the tests find which process holds each client's TCP connection from
/proc (socket inodes), so "served by the same worker" is observed, not assumed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from sync_server.workers import route, worker_argv, worker_of
from tests.server.processes import ServerProcess
from tests.support.client import TestClient

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc and SCM_RIGHTS")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def _socket_inodes(pid: int) -> set[int]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def owner_of(client_port: int, server_port: int, pids: list[int]) -> int:
    """The pid holding the server side of the TCP connection from ``client_port``."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                local, remote = cols[1], cols[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                ):
                    inode = int(cols[9])
    assert inode is not None, "no server-side socket for this client"
    owners = [pid for pid in pids if inode in _socket_inodes(pid)]
    assert len(owners) == 1, f"socket held by {owners}"
    return owners[0]


def names_on_distinct_workers(workers: int) -> tuple[str, str]:
    a = "notes-0"
    for i in range(1, 100):
        b = f"notes-{i}"
        if worker_of(b, workers) != worker_of(a, workers):
            return a, b
    raise AssertionError("no two names on different workers")


def client_port(client: TestClient) -> int:
    assert client.ws is not None
    sock = client.ws.transport.get_extra_info("socket")
    assert isinstance(sock, socket.socket | object)
    port: int = sock.getsockname()[1]
    return port


def test_routing_is_by_document_name_and_stable() -> None:
    assert route(b"GET /notes?token=x HTTP/1.1", 4) == worker_of("notes", 4)
    assert route(b"GET /no%74es HTTP/1.1", 4) == worker_of("notes", 4)  # as the worker reads it
    assert route(b"GET http://proxy.example/notes HTTP/1.1", 4) == worker_of("notes", 4)
    assert route(b"GET / HTTP/1.1", 4) is None
    assert route(b"POST /?transport=polling HTTP/1.1", 4) is None
    assert route(b"GET /healthz HTTP/1.1", 4) == 0
    assert {worker_of(f"d{i}", 3) for i in range(50)} == {0, 1, 2}
    assert worker_argv(["--port", "0", "--workers", "2", "--workers=3", "-v"]) == [
        "--port",
        "0",
        "-v",
    ]


@pytest.mark.asyncio
async def test_one_document_one_worker_and_clients_converge(tmp_path: Path) -> None:
    server = ServerProcess("--port", "0", "--data-dir", str(tmp_path), "--workers", "2").start()
    try:
        assert server.proc is not None
        workers = children(server.proc.pid)
        assert len(workers) == 2
        a, b = names_on_distinct_workers(2)
        async with (
            TestClient(f"{server.url}/{a}") as alice,
            TestClient(f"{server.url}/{a}") as bob,
            TestClient(f"{server.url}/{b}") as carol,
        ):
            for c in (alice, bob, carol):
                await c.wait_synced()
            await alice.insert(0, "hello ")
            await bob.wait_text("hello ")
            await bob.insert(6, "world")
            await carol.insert(0, "elsewhere")
            await alice.wait_text("hello world")
            await bob.wait_text("hello world")
            await carol.wait_text("elsewhere")

            port = server.port
            owner_alice = owner_of(client_port(alice), port, workers)
            owner_bob = owner_of(client_port(bob), port, workers)
            owner_carol = owner_of(client_port(carol), port, workers)
            assert owner_alice == owner_bob == workers[worker_of(a, 2)]
            assert owner_carol == workers[worker_of(b, 2)] != owner_alice
        final_a = alice.value
    finally:
        code = server.terminate()
        assert server.proc is not None and server.proc.stderr is not None
        errors = server.proc.stderr.read()
        server.stop()
    assert code == 0, errors
    assert "Traceback" not in errors
    # One SQLite file for every worker: a single process reads both documents back.
    single = ServerProcess("--port", "0", "--data-dir", str(tmp_path)).start()
    try:
        async with (
            TestClient(f"{single.url}/{a}") as again_a,
            TestClient(f"{single.url}/{b}") as again_b,
        ):
            await again_a.wait_text(final_a)
            await again_b.wait_text("elsewhere")
    finally:
        assert single.terminate() == 0
        single.stop()


def test_multi_document_sessions_are_refused_in_words_the_editor_understands(
    tmp_path: Path,
) -> None:
    server = ServerProcess("--port", "0", "--data-dir", str(tmp_path), "--workers", "2").start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /?transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                assert chunk
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 501")
        assert b"X-Coscribe: workers" in answer
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        assert server.terminate() == 0
        server.stop()


@pytest.mark.asyncio
async def test_a_worker_that_dies_is_started_again_and_serves_its_documents(
    tmp_path: Path,
) -> None:
    server = ServerProcess("--port", "0", "--data-dir", str(tmp_path), "--workers", "2").start()
    try:
        assert server.proc is not None
        workers = children(server.proc.pid)
        name = "notes-0"
        victim = workers[worker_of(name, 2)]
        async with TestClient(f"{server.url}/{name}") as writer:
            await writer.wait_synced()
            await writer.append("kept")
            await _until(lambda: writer.saved, "saved")
            os.kill(victim, signal.SIGKILL)
            await _until(lambda: writer.closed, "the dead worker's client sees the close")
        await _until(
            lambda: (
                len(children(server.proc.pid)) == 2  # type: ignore[union-attr]
                and victim not in children(server.proc.pid)
            ),  # type: ignore[union-attr]
            "a new worker",
            within=20,
        )
        deadline = time.monotonic() + 20
        while True:  # the new worker says ready a moment after it starts
            try:
                async with TestClient(f"{server.url}/{name}") as again:
                    await again.wait_text("kept")
                    break
            except (OSError, InvalidStatus):
                assert time.monotonic() < deadline, "the restarted worker never served"
                await asyncio.sleep(0.05)
    finally:
        code = server.terminate()
        server.stop()
    assert code == 0


async def _until(condition: object, what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
