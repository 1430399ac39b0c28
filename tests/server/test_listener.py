"""The server accepts its own sockets (sync_server/sockets.py ``Listener``), on either loop.

uvloop accepts every pending socket before any ``connection_made``; the Listener counts each
socket as it leaves ``accept()``. These tests run real server processes on both event loops
and check what the guard promises there, plus a TLS handshake that fails: its socket must
not stay counted against its address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from pathlib import Path

import pytest

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.server.processes import ServerProcess
from tests.support.client import TestClient


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_half_open_sockets_are_capped_per_address_on_both_loops(tmp_path: Path, loop: str) -> None:
    """10 sockets that never send a request, cap 4: 6 are reset, an HTTP probe still works
    once they are gone, and the server says which loop it runs."""
    server = ServerProcess(
        "--port", "0", "--data-dir", str(tmp_path), "--event-loop", loop,
        "--max-handshakes-per-ip", "4",
    ).start()  # fmt: skip
    held: list[socket.socket] = []
    try:
        for _ in range(10):
            held.append(socket.create_connection(("127.0.0.1", server.port)))
        reset = 0
        for s in held:
            s.settimeout(2.0)
            try:
                if s.recv(1) == b"":
                    reset += 1
            except ConnectionResetError:
                reset += 1
            except TimeoutError:
                pass  # held open by the server: one of the 4 allowed
        assert reset == 6
        for s in held:
            s.close()
        held.clear()
        deadline = time.monotonic() + 10  # until the server has seen the closes
        while True:
            with socket.create_connection(("127.0.0.1", server.port)) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    if probe.recv(64).startswith(b"HTTP/1.1 200"):
                        break
                except ConnectionResetError:
                    pass
            assert time.monotonic() < deadline, "the address stayed locked out"
    finally:
        for s in held:
            s.close()
        assert server.terminate() == 0
        assert server.proc is not None and server.proc.stderr is not None
        errors = server.proc.stderr.read()
        server.stop()
    assert f"loop={loop}" in errors


@pytest.mark.asyncio
async def test_failed_tls_handshakes_do_not_stay_counted(
    self_signed_certificate: tuple[Path, Path],
) -> None:
    """With 2 opening handshakes allowed per address, 6 failed TLS handshakes in a row must
    not lock the address out: each failure gives its place back."""
    cert, key = self_signed_certificate
    config = ServerConfig(port=0, tls_cert=cert, tls_key=key, max_handshakes_per_ip=2)
    async with RelayServer(config) as srv:
        loop = asyncio.get_running_loop()
        for _ in range(6):
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(b"this is not a TLS client hello\r\n\r\n" * 4)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 10) is not None  # server closes
            writer.close()
        trusting = ssl.create_default_context(cafile=str(cert))
        async with TestClient(srv.url + "/secure", ssl=trusting) as c:
            await c.wait_synced()
        assert loop.is_running()
