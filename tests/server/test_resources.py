"""Nothing a peer does pins the server: outbound memory, descriptors, shutdown, odd tokens.

Each test attacks a real in-process RelayServer (or a real server process) the way issue 9
found it broken, and checks the documented bound (docs/security.md, "Resource limits"):

* a peer that asks for a big document and never reads is closed (4429) on a timer;
* the bytes waiting for all peers together stay under ``max_total_outbound_bytes``;
* repeated whole-document sync requests are limited (1008) and encoded once per version;
* sockets still in the opening handshake are capped per address before any HTTP is read,
  and the process answers 503 before it runs out of file descriptors;
* a graceful shutdown ends within ``shutdown_timeout`` even with stalled peers;
* a token with non-ASCII bytes is a 401 with one log line, not a 500 with a traceback;
* closes for cause (1009, 4429) are logged as warnings with their code; ACKs are counted.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shared.errors import CloseCode
from shared.limits import ProtocolLimits
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.server.processes import ServerProcess
from tests.support.client import TestClient
from tests.support.waiting import wait_until

#: SYNC step 1 with an empty state vector: "send me the whole document".
FULL_SYNC_REQUEST = bytes([0, 0, 1, 0])
SECRET = b"resource-tests-secret-0123456789"
TCP_ESTABLISHED = 1  # linux/tcp_states.h


def frame(payload: bytes) -> bytes:
    """A masked binary WebSocket frame (mask key 0: the payload goes as is)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x82, 0x80 | n])
    elif n < 65536:
        head = bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


def upgrade_request(path: str, extra: bytes = b"") -> bytes:
    return (
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
        ).encode()
        + extra
        + b"\r\n"
    )


def stalled_reader(port: int, path: str, *, source: str = "127.0.0.1") -> socket.socket:
    """A WebSocket peer that completes the handshake, asks for the document, never reads.

    Its receive buffer is made tiny so the server's send buffer is what fills up.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_request(path))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "server closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.sendall(frame(FULL_SYNC_REQUEST))
    return sock


def is_closed_by_server(sock: socket.socket) -> bool:
    """True once the server reset or closed ``sock``, seen WITHOUT reading from it (a read
    would make a stalled reader a reading one): the kernel's TCP state leaves ESTABLISHED."""
    tcp_info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return tcp_info[0] != TCP_ESTABLISHED


@asynccontextmanager
async def server_with_document(size: int, **config: object) -> AsyncIterator[RelayServer]:
    """A server whose document ``big`` holds ``size`` characters."""
    async with RelayServer(ServerConfig(port=0, **config)) as srv:  # type: ignore[arg-type]
        async with TestClient(srv.url + "/big", max_size=None) as writer:
            await wait_until(lambda: writer.synced, "writer synced")
            await writer.append("x" * size)
            await wait_until(lambda: writer.saved, "document saved")
        yield srv


@contextmanager
def closing_all(socks: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield socks
    finally:
        for s in socks:
            s.close()


@pytest.mark.asyncio
async def test_stalled_readers_are_closed_on_a_timer_and_free_their_memory() -> None:
    async with server_with_document(4_000_000, stall_timeout=1.0) as srv:
        loop = asyncio.get_running_loop()
        with closing_all(
            [await loop.run_in_executor(None, stalled_reader, srv.port, "/big") for _ in range(10)]
        ) as readers:
            await wait_until(lambda: srv.outbound_bytes > 10_000_000, "bytes pile up")
            started = time.monotonic()
            await wait_until(
                lambda: all(is_closed_by_server(s) for s in readers), "stalled peers closed"
            )
            assert time.monotonic() - started < 5
            await wait_until(lambda: srv.outbound_bytes == 0, "outbound memory freed")
            assert srv.metrics.closes_by_code[CloseCode.SLOW_CONSUMER] >= 10
            # The document is still served to someone who reads.
            async with TestClient(srv.url + "/big", max_size=None) as reader:
                await wait_until(lambda: len(str(reader)) == 4_000_000, "honest sync")


@pytest.mark.asyncio
async def test_all_peers_together_stay_under_the_outbound_limit() -> None:
    limit = 8_000_000
    config = {"stall_timeout": 60.0, "max_total_outbound_bytes": limit}
    async with server_with_document(4_000_000, **config) as srv:
        loop = asyncio.get_running_loop()
        readers = []
        with closing_all(readers):
            for _ in range(8):
                readers.append(await loop.run_in_executor(None, stalled_reader, srv.port, "/big"))
            await wait_until(
                lambda: (
                    srv.metrics.closes_by_code[CloseCode.SLOW_CONSUMER]
                    + srv.metrics.closes_by_code[CloseCode.TRY_AGAIN_LATER]
                    >= 4
                ),
                "peers over the total closed or refused",
            )
            await wait_until(lambda: 0 < srv.outbound_bytes <= limit, "total under limit")


@pytest.mark.asyncio
async def test_repeated_full_sync_requests_are_limited_and_encoded_once() -> None:
    config = {"sync_request_rate": 0.1, "sync_request_burst": 3}
    async with server_with_document(200_000, **config) as srv:
        encodes = srv.metrics.full_state_encodes
        async with connect(srv.url + "/big", max_size=None) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(50):
                    await ws.send(FULL_SYNC_REQUEST)
                async for _ in ws:
                    pass
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == CloseCode.POLICY_VIOLATION
        assert srv.metrics.full_state_encodes - encodes <= 1  # same version every time
        async with TestClient(srv.url + "/big", max_size=None) as other:  # others unaffected
            await wait_until(lambda: len(str(other)) == 200_000, "other peer synced")


@pytest.mark.asyncio
async def test_half_open_handshakes_are_capped_per_address_before_any_request() -> None:
    async with RelayServer(ServerConfig(port=0, max_handshakes_per_ip=5)) as srv:
        loop = asyncio.get_running_loop()
        socks: list[socket.socket] = []
        with closing_all(socks):
            for _ in range(40):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                await loop.sock_connect(s, ("127.0.0.1", srv.port))
                socks.append(s)
            await wait_until(
                lambda: sum(is_closed_by_server(s) for s in socks) >= 35,
                "sockets over the per-address cap reset",
            )
            assert srv.metrics.errors_by_kind["refused_socket_handshakes"] >= 35
            # Another address is not affected while the 5 half-open ones wait.
            async with TestClient(srv.url + "/doc") as honest:
                await wait_until(lambda: honest.synced, "honest client synced")


def test_the_server_answers_503_before_it_runs_out_of_descriptors(tmp_path: Path) -> None:
    """A real server process with 400 descriptors, flooded with half-open sockets from many
    addresses (each under its per-address cap): it refuses with 503 near the limit, never
    fails with "Too many open files", and serves again once the flood is gone."""
    server = ServerProcess(
        "--port", "0", "--data-dir", str(tmp_path), wrapper=("prlimit", "--nofile=400:400")
    ).start()  # fmt: skip
    flood: list[socket.socket] = []
    try:
        busy = 0
        for i in range(600):
            s = socket.socket()
            s.bind((f"127.0.1.{i % 30 + 1}", 0))
            s.connect(("127.0.0.1", server.port))
            flood.append(s)
        for s in flood:
            s.settimeout(0.01)
            try:
                if s.recv(64).startswith(b"HTTP/1.1 503"):
                    busy += 1
            except (TimeoutError, ConnectionResetError):
                pass
        assert busy > 0, "no 503 near the descriptor limit"
    finally:
        for s in flood:
            s.close()
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", server.port)) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    break
            assert time.monotonic() < deadline, "server did not recover"
    finally:
        assert server.terminate() == 0
        assert server.proc is not None and server.proc.stderr is not None
        errors = server.proc.stderr.read()
        server.stop()
    assert "Too many open files" not in errors
    assert "out of descriptors" in errors


@pytest.mark.asyncio
async def test_graceful_shutdown_is_bounded_with_stalled_peers() -> None:
    srv_cm = server_with_document(4_000_000, stall_timeout=600.0, shutdown_timeout=1.5)
    srv = await srv_cm.__aenter__()
    loop = asyncio.get_running_loop()
    readers = [await loop.run_in_executor(None, stalled_reader, srv.port, "/big") for _ in range(5)]
    with closing_all(readers):
        await wait_until(lambda: srv.outbound_bytes > 2_000_000, "bytes pile up")
        started = time.monotonic()
        await srv_cm.__aexit__(None, None, None)
        assert time.monotonic() - started < 4
        assert all(is_closed_by_server(s) for s in readers)


@pytest.mark.asyncio
async def test_a_token_with_non_ascii_bytes_is_a_401_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with RelayServer(ServerConfig(port=0, secret=SECRET)) as srv:
        loop = asyncio.get_running_loop()
        for request in (
            upgrade_request("/doc?token=v1.%C3%A9.xyz"),
            upgrade_request("/doc", b"Authorization: Bearer v1.\xc3\xa9.xyz\r\n"),
        ):
            with socket.create_connection(("127.0.0.1", srv.port)) as s:
                s.setblocking(False)
                await loop.sock_sendall(s, request)
                answer = await asyncio.wait_for(loop.sock_recv(s, 4096), 5)
                assert answer.startswith(b"HTTP/1.1 401"), answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.asyncio
async def test_closes_for_cause_are_warnings_with_their_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coscribe.connection")
    config = ServerConfig(port=0, limits=ProtocolLimits(max_message_size=64 * 1024))
    async with RelayServer(config) as srv:
        limit = config.limits.max_message_size
        async with connect(srv.url + "/doc", max_size=None) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.send(b"\x00\x02" + b"\x00" * (limit + 10))
                async for _ in ws:
                    pass
        await wait_until(
            lambda: any("message_too_big" in r.getMessage() for r in caplog.records), "1009 logged"
        )
    record = next(r for r in caplog.records if "message_too_big" in r.getMessage())
    assert record.levelno == logging.WARNING
    assert record.fields["code"] == 1009  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_acknowledgements_are_counted() -> None:
    async with RelayServer(ServerConfig(port=0)) as srv:
        async with TestClient(srv.url + "/acks") as c:
            await wait_until(lambda: c.synced, "synced")
            for i in range(3):
                await c.append(str(i))
                await wait_until(lambda: c.saved, "saved")
        acks = srv.metrics.acks_sent
        assert acks >= 3
        rendered = srv.metrics.render(active_connections=0, rooms=0, store=srv.store.stats)
        assert f"coscribe_acks_sent_total {acks}\n" in rendered
