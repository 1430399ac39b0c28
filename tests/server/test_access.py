"""Access control and abuse limits, against a real server with real clients."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from shared import CloseCode
from shared.errors import PermissionDenied
from sync_server.admission import ConfigError
from sync_server.app import RelayServer
from sync_server.auth import Role, authorize, mint_token, parse_duration, verify_token
from sync_server.config import ServerConfig
from tests.server.access_links import SECRET, secured
from tests.server.processes import run_cli
from tests.support.client import TestClient, refused
from tests.support.waiting import wait_until

# ---------------------------------------------------------------- tokens (pure)


def test_token_round_trip_prefix_and_expiry() -> None:
    token = mint_token(SECRET, "team-*", Role.VIEWER, expires_in=60, now=1000)
    principal = verify_token(SECRET, token, now=1010)
    assert principal.role is Role.VIEWER and principal.expires_at == 1060
    authorize(principal, "team-notes")
    with pytest.raises(PermissionDenied) as wrong_doc:
        authorize(principal, "other")
    assert wrong_doc.value.close_code == CloseCode.FORBIDDEN
    with pytest.raises(PermissionDenied) as expired:
        verify_token(SECRET, token, now=1060)
    assert expired.value.close_code == CloseCode.TOKEN_EXPIRED
    with pytest.raises(PermissionDenied) as forged:
        verify_token(b"another-secret-0123456789", token, now=1010)
    assert forged.value.close_code == CloseCode.UNAUTHORIZED
    tampered = token.replace(token.split(".")[1], token.split(".")[1][:-2] + "xx")
    with pytest.raises(PermissionDenied):
        verify_token(SECRET, tampered, now=1010)
    for junk in ["", "v1", "v2.a.b", "v1.!!!.x"]:
        with pytest.raises(PermissionDenied):
            verify_token(SECRET, junk)
    assert parse_duration("7d") == 7 * 86400 and parse_duration("30m") == 1800
    with pytest.raises(ValueError):
        parse_duration("soon")


# ---------------------------------------------------------------- server with a secret


@pytest.mark.asyncio
async def test_handshake_refusals_carry_reasons() -> None:
    async with RelayServer(secured()) as srv:
        url = srv.url + "/plans"
        status, body = await refused(url)
        assert status == 401 and "access link" in body
        other = mint_token(SECRET, "other", Role.EDITOR)
        status, body = await refused(url, additional_headers={"Authorization": f"Bearer {other}"})
        assert status == 403 and "plans" in body
        expired = mint_token(SECRET, "plans", Role.EDITOR, expires_in=10, now=time.time() - 60)
        status, body = await refused(url + f"?token={expired}")
        assert status == 401 and "expired" in body
        status, _ = await refused(url, additional_headers={"Authorization": "Bearer v1.x.y"})
        assert status == 401
        assert srv.metrics.connections_rejected == 4


@pytest.mark.asyncio
async def test_editor_by_header_and_by_query_parameter() -> None:
    async with RelayServer(secured()) as srv:
        token = mint_token(SECRET, "plans", Role.EDITOR)
        url = srv.url + "/plans"
        async with (
            TestClient(url, additional_headers={"Authorization": f"Bearer {token}"}) as a,
            TestClient(f"{url}?token={token}") as b,
        ):
            await a.append("edited by a")
            await wait_until(lambda: str(b) == "edited by a" and a.saved, "synced")


@pytest.mark.asyncio
async def test_viewer_reads_and_shows_presence_but_cannot_change_anything() -> None:
    async with RelayServer(secured()) as srv:
        url = srv.url + "/report"
        editor = f"{url}?token={mint_token(SECRET, 'report', Role.EDITOR)}"
        viewer = f"{url}?token={mint_token(SECRET, 'report*', Role.VIEWER)}"
        async with TestClient(editor) as e:
            await e.append("final numbers")
            await wait_until(lambda: e.saved, "saved")
            async with TestClient(viewer, user={"name": "Viewer", "color": "#123456"}) as v:
                await wait_until(lambda: str(v) == "final numbers", "viewer reads")
                assert v.session is not None and v.session.server_role == "viewer"
                await wait_until(
                    lambda: v.doc.client_id in e.awareness.states, "viewer presence shown"
                )
                await v.insert(0, "VANDALISM ")
                await wait_until(lambda: srv.metrics.updates_rejected >= 1, "viewer update dropped")
                await e.append("!")
                await wait_until(lambda: str(v).endswith("!"), "viewer still receives")
            room = srv.registry.get("report")
            assert room is not None
            assert str(room.doc.get("content", type=type(e.text))) == "final numbers!"
            assert str(e) == "final numbers!"


@pytest.mark.asyncio
async def test_token_expiring_mid_session_closes_with_documented_code() -> None:
    async with RelayServer(secured()) as srv:
        token = mint_token(SECRET, "brief", Role.EDITOR, expires_in=1)
        async with TestClient(f"{srv.url}/brief?token={token}") as c:
            await wait_until(lambda: c.synced, "synced")
            await wait_until(lambda: c.closed, "closed at expiry", within=5)
            assert c.close_code == CloseCode.TOKEN_EXPIRED
            assert not CloseCode(c.close_code).retryable


def test_open_mode_is_loopback_only() -> None:
    with pytest.raises(ConfigError, match="without access control"):
        RelayServer(ServerConfig(host="0.0.0.0", port=0))
    RelayServer(ServerConfig(host="0.0.0.0", port=0, insecure_open=True))  # allowed, loudly
    RelayServer(ServerConfig(host="0.0.0.0", port=0, secret=SECRET))
    RelayServer(ServerConfig(host="::1", port=0))


@pytest.mark.asyncio
async def test_browser_origins_must_be_allowed() -> None:
    config = ServerConfig(port=0, allowed_origins=frozenset({"https://docs.example.com"}))
    async with RelayServer(config) as srv:
        url = srv.url + "/o"
        status, body = await refused(url, origin="https://evil.example.net")
        assert status == 403 and "evil.example.net" in body
        async with TestClient(url, origin="https://docs.example.com") as ok:
            await wait_until(lambda: ok.synced, "allowed origin")
        async with TestClient(url) as no_origin:  # native clients send no Origin
            await wait_until(lambda: no_origin.synced, "no origin")


@pytest.mark.asyncio
async def test_tls_with_a_certificate_made_at_test_time(
    tls_relay: tuple[RelayServer, Path],
) -> None:
    srv, cert = tls_relay
    assert srv.url.startswith("wss://")
    trusting = ssl.create_default_context(cafile=str(cert))
    async with TestClient(srv.url + "/secure", ssl=trusting) as c:
        await c.append("over TLS")
        await wait_until(lambda: c.saved, "saved over TLS")
    with pytest.raises(ssl.SSLCertVerificationError):
        async with connect(srv.url + "/secure", ssl=ssl.create_default_context()):
            pass


# ---------------------------------------------------------------- abuse limits


@pytest.mark.asyncio
async def test_concurrent_connections_per_ip_are_capped() -> None:
    async with RelayServer(ServerConfig(port=0, max_connections_per_ip=3)) as srv:
        url = srv.url + "/cap"
        clients = [TestClient(url) for _ in range(3)]
        for c in clients:
            await c.__aenter__()
        try:
            await wait_until(lambda: all(c.synced for c in clients), "3 synced")
            status, body = await refused(url)
            assert status == 429 and "too many connections" in body
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)
        async with TestClient(url) as again:  # the slots are free again
            await wait_until(lambda: again.synced, "slot freed")


@pytest.mark.asyncio
async def test_connection_rate_per_ip() -> None:
    config = ServerConfig(port=0, connection_rate_per_ip=0.01, connection_burst_per_ip=2)
    async with RelayServer(config) as srv:
        url = srv.url + "/rate"
        for _ in range(2):
            async with connect(url):
                pass
        status, _ = await refused(url)
        assert status == 429
        assert srv.metrics.errors_by_kind["refused_ip_rate"] == 1


@pytest.mark.asyncio
async def test_message_flood_closes_only_the_offender() -> None:
    async with RelayServer(ServerConfig(port=0, message_rate=10, message_burst=20)) as srv:
        url = srv.url + "/flood"
        async with TestClient(url) as calm, TestClient(url) as flooder:
            await wait_until(lambda: calm.synced and flooder.synced, "synced")
            for i in range(100):
                if flooder.closed:
                    break
                try:
                    await flooder.append(str(i % 10))
                except Exception:
                    break
            await wait_until(lambda: flooder.closed, "flooder closed")
            assert flooder.close_code == CloseCode.POLICY_VIOLATION
            assert srv.metrics.errors_by_kind["message_rate"] == 1
            await calm.append("still here")
            await wait_until(lambda: calm.saved and not calm.closed, "calm unaffected")


@pytest.mark.asyncio
async def test_silent_sockets_are_dropped_by_the_handshake_deadline_and_keepalive() -> None:
    config = ServerConfig(port=0, open_timeout=0.5, ping_interval=0.3, ping_timeout=0.3)
    async with RelayServer(config) as srv:
        loop = asyncio.get_running_loop()
        # 1. Connects and never completes the HTTP handshake: dropped after open_timeout.
        silent = socket.create_connection(("127.0.0.1", srv.port))
        silent.setblocking(False)
        started = time.monotonic()
        while await asyncio.wait_for(loop.sock_recv(silent, 1024), 5):
            pass  # whatever the server says before closing, it must then close
        silent.close()
        assert time.monotonic() - started < 3, "half-open handshake not dropped"
        # 2. Completes the handshake, then never answers pings.
        raw = socket.create_connection(("127.0.0.1", srv.port))
        raw.sendall(
            b"GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        raw.setblocking(False)
        started = time.monotonic()
        received = b""
        while True:
            chunk = await asyncio.wait_for(loop.sock_recv(raw, 65536), 5)
            if not chunk:
                break
            received += chunk
        raw.close()
        assert received.startswith(b"HTTP/1.1 101")
        assert time.monotonic() - started < 5, "dead peer not dropped by keepalive"


# ---------------------------------------------------------------- CLI


def test_token_command_and_secret_errors(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.key"
    secret_file.write_bytes(SECRET)
    result = run_cli("token", "--doc", "plans", "--role", "viewer", "--expires", "7d",
                     "--secret-file", str(secret_file), "--url", "ws://127.0.0.1:1234")  # fmt: skip
    assert result.returncode == 0, result.stderr
    token, link = result.stdout.split()
    principal = verify_token(SECRET, token)
    assert principal.role is Role.VIEWER and principal.allows("plans")
    assert link == f"ws://127.0.0.1:1234/plans?token={token}"
    result = run_cli("token", "--doc", "plans", env={"COSCRIBE_SECRET": ""})
    assert result.returncode == 2 and "no secret configured" in result.stderr
    (tmp_path / "short").write_text("abc")
    result = run_cli(
        "--port", "0", "--secret-file", str(tmp_path / "short"), "--data-dir", ":memory:"
    )
    assert result.returncode == 2 and "too short" in result.stderr
    result = run_cli("--host", "0.0.0.0", "--port", "0", "--data-dir", ":memory:")
    assert result.returncode == 2 and "--insecure-open" in result.stderr
    assert "Traceback" not in result.stderr
