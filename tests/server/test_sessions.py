"""coscribe.v2 sessions on the real relay: many documents over one connection, WebSocket or
HTTP long polling, with the same admission, limits and closing rules as a WebSocket peer.

Raw HTTP requests check the polling endpoint's answers byte for byte; the editor's own
``ServerConnection`` + ``SyncClient`` check whole behaviours (a polling session closed by
revocation, expiry, shutdown...).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from editor_app.core.net import Endpoint, HttpConnection, HttpResponse
from editor_app.core.schema import content
from editor_app.core.server_connection import ServerConnection, Transport
from editor_app.core.sync_client import Status
from shared.errors import CloseCode
from shared.mux import CloseDocument, OpenDocument, decode_control, decode_payload, name_prefix
from shared.polling import PollQuery
from shared.reliable import CloseFrame, DataFrame, SessionParams, decode_frame
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token, token_id_of
from sync_server.config import ServerConfig
from tests.support.client import TestClient
from tests.support.editors import HeadlessEditor
from tests.support.waiting import wait_until

SECRET = b"sessions-secret-0123456789"


@asynccontextmanager
async def relay(**options: Any) -> AsyncIterator[RelayServer]:
    config = ServerConfig(host="127.0.0.1", port=0, **options)
    async with RelayServer(config) as server:
        yield server


@asynccontextmanager
async def http_to(server: RelayServer) -> AsyncIterator[HttpConnection]:
    http = HttpConnection(Endpoint.parse(server.url), proxy=None)
    try:
        yield http
    finally:
        await http.close()


async def poll(
    http: HttpConnection,
    method: str = "GET",
    *,
    sid: str | None = None,
    ack: int = 0,
    token: str | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    target = "/?" + PollQuery(sid, ack).encode()
    return await http.request(method, target, headers=all_headers, body=body, timeout=10)


def open_frame(response: HttpResponse) -> SessionParams:
    assert response.status == 200, (response.status, response.text())
    frame = decode_frame(response.body)
    assert isinstance(frame, SessionParams)
    return frame


@pytest.mark.asyncio
async def test_polling_admission_is_the_websocket_admission() -> None:
    token = mint_token(SECRET, "notes", Role.EDITOR)
    async with relay(secret=SECRET, poll_hold=0.2, max_connections_per_ip=2) as server:
        async with http_to(server) as http:
            refused = await poll(http)
            assert refused.status == 401 and refused.headers["x-coscribe-refusal"] == "no_token"
            forged = await poll(http, token=token[:-3] + "abc")
            assert forged.status == 401 and "signature" in forged.text()
            browser = await poll(http, token=token, headers={"Origin": "https://evil.example"})
            assert browser.status == 403 and browser.headers["x-coscribe-refusal"] == "origin"

            params = open_frame(await poll(http, token=token))
            assert len(params.sid) >= 24 and params.hold == 0.2
            # The session is bound to the token it was opened with.
            assert (await poll(http, sid=params.sid)).status == 404
            other = mint_token(SECRET, "notes", Role.EDITOR)
            assert (await poll(http, sid=params.sid, token=other)).status == 404
            assert (await poll(http, sid="n0.guessed", token=token)).status == 404
            heartbeat = await poll(http, sid=params.sid, token=token)
            assert decode_frame(heartbeat.body) == DataFrame(0, 1, ())

            # A revoked link opens no session.
            await server.revoke_token(token_id_of(token) or "")
            revoked = await poll(http, token=token)
            assert revoked.status == 403 and revoked.headers["x-coscribe-refusal"] == "revoked"

            # Per-address limits count sessions like connections.
            open_frame(await poll(http, token=other))
            over = await poll(http, token=other)
            assert over.status == 429 and over.headers["retry-after"] == "5"

            # A malformed request closes the session with a protocol error.
            bad = await poll(http, "POST", sid=params.sid, token=token, body=b"\x00\x05")
            assert bad.status == 400
            after = decode_frame((await poll(http, sid=params.sid, token=token)).body)
            assert isinstance(after, CloseFrame) and after.code == CloseCode.PROTOCOL_ERROR


def after_reason(response: HttpResponse) -> str:
    frame = decode_frame(response.body)
    assert isinstance(frame, CloseFrame)
    return frame.reason


@pytest.mark.asyncio
async def test_documents_share_one_polling_session_each_with_its_own_token() -> None:
    tokens = {name: mint_token(SECRET, name, Role.EDITOR) for name in ("alpha", "beta")}
    short = mint_token(SECRET, "gamma", Role.EDITOR, expires_in=2)
    async with relay(secret=SECRET) as server, asyncio.TaskGroup() as tg:
        conn = ServerConnection(server.url, start_with_polling=True, probe_delays=())
        tg.create_task(conn.run())
        alpha = HeadlessEditor(f"{server.url}/alpha", connection=conn, token=tokens["alpha"])
        beta = HeadlessEditor(f"{server.url}/beta", connection=conn, token=tokens["beta"])
        gamma = HeadlessEditor(f"{server.url}/gamma", connection=conn, token=short)
        # not delta's token:
        stranger = HeadlessEditor(f"{server.url}/delta", connection=conn, token=tokens["alpha"])
        for ed in (alpha, beta, gamma, stranger):
            tg.create_task(ed.client.run())
        await wait_until(
            lambda: (alpha.status, beta.status, gamma.status) == (Status.SAVED,) * 3,
            "three documents saved",
        )
        await wait_until(lambda: stranger.status is Status.DENIED, "delta refused")
        assert "delta" in stranger.client.status.detail
        assert conn.info.transport is Transport.POLLING
        assert len(server.sessions.sessions) == 1 and server.connection_count == 3

        # Revocation closes one document of a polling session, within a second.
        started = time.monotonic()
        await server.revoke_token(token_id_of(tokens["beta"]) or "")
        await wait_until(lambda: beta.status is Status.DENIED, "beta revoked", within=1.0)
        assert "revoked" in beta.client.status.detail
        assert time.monotonic() - started < 1.0
        alpha.type("still here")
        await wait_until(lambda: alpha.status is Status.SAVED, "alpha unaffected")
        # Expiry of gamma's link closes gamma only (4408).
        await wait_until(lambda: gamma.status is Status.DENIED, "gamma expired", within=4.0)
        assert "expired" in gamma.client.status.detail
        assert alpha.status is Status.SAVED and len(server.sessions.sessions) == 1
        assert conn.sessions_opened == 1
        for ed in (alpha, beta, gamma, stranger):
            await ed.client.close()
        await conn.close()


@pytest.mark.asyncio
async def test_a_session_nobody_polls_expires_and_frees_its_address() -> None:
    async with relay(poll_hold=0.2, session_timeout=0.4, max_connections_per_ip=1) as server:
        async with http_to(server) as http:
            params = open_frame(await poll(http))
            assert (await poll(http)).status == 429
            await wait_until(
                lambda: not server.sessions.sessions, "the session expired", within=3.0
            )
            late = await poll(http, sid=params.sid)
            assert after_reason(late) == "session expired"
            open_frame(await poll(http))  # the address may open a session again


@pytest.mark.asyncio
async def test_a_polling_client_that_stops_reading_is_closed_as_slow() -> None:
    async with relay(max_outbound_bytes=4000, poll_hold=0.2) as server:
        async with http_to(server) as http:
            params = open_frame(await poll(http))
            sid = params.sid
            opening = DataFrame(0, 1, (name_prefix("slow") + OpenDocument("").encode(),))
            answer = await poll(http, "POST", sid=sid, body=opening.encode())
            assert decode_frame(answer.body) == DataFrame(1, 1, ())
            first = decode_frame((await poll(http, sid=sid)).body)
            assert isinstance(first, DataFrame) and first.payloads  # HELLO, step 1
            # ...and then never polls again, while someone writes a lot.
            [session] = server.sessions.sessions.values()
            async with TestClient(f"{server.url}/slow") as writer:
                for _ in range(20):
                    before = session.link.unacked_bytes
                    await writer.insert(0, "x" * 1000)
                    await wait_until(
                        lambda b=before: session.closed or session.link.unacked_bytes > b,
                        "the update relayed to the session",
                    )
                    if session.closed:
                        break
            assert session.close_code is CloseCode.SLOW_CONSUMER
            assert session.link.unacked_bytes <= 4000 + 1100  # checked before each write
            frame = decode_frame((await poll(http, sid=sid, ack=len(first.payloads))).body)
            assert frame == CloseFrame(int(CloseCode.SLOW_CONSUMER), after_reason_of(frame))


def after_reason_of(frame: object) -> str:
    assert isinstance(frame, CloseFrame)
    return frame.reason


@pytest.mark.asyncio
async def test_shutdown_answers_held_polls_with_its_close_code() -> None:
    async with relay(poll_hold=30.0) as server:
        async with http_to(server) as http:
            params = open_frame(await poll(http))
            held = asyncio.ensure_future(poll(http, sid=params.sid))
            await wait_until(
                lambda: any(s.polling.holding for s in server.sessions.sessions.values()),
                "the condition",
            )
            await server.aclose(CloseCode.SERVICE_RESTART)
            answer = await asyncio.wait_for(held, 5)
            frame = decode_frame(answer.body)
            assert isinstance(frame, CloseFrame) and frame.code == CloseCode.SERVICE_RESTART


@pytest.mark.asyncio
async def test_ten_documents_one_websocket_and_close_document_round_trip() -> None:
    async with relay() as server, asyncio.TaskGroup() as tg:
        conn = ServerConnection(server.url)
        tg.create_task(conn.run())
        editors = [HeadlessEditor(f"{server.url}/doc-{i}", connection=conn) for i in range(10)]
        for ed in editors:
            tg.create_task(ed.client.run())
        await wait_until(lambda: all(e.status is Status.SAVED for e in editors), "saved")
        assert conn.info.transport is Transport.WEBSOCKET
        metrics = server.sessions.render_metrics()
        assert 'coscribe_sessions{transport="websocket"} 1' in metrics
        assert server.connection_count == 10 and len(server.registry) == 10
        await editors[0].client.close()
        await wait_until(lambda: server.connection_count == 9, "doc-0 left")
        # The same document again on the same session (the server confirmed the close).
        again = HeadlessEditor(f"{server.url}/doc-0", connection=conn)
        tg.create_task(again.client.run())
        await wait_until(lambda: again.status is Status.SAVED, "doc-0 reopened")
        assert conn.sessions_opened == 1
        for ed in [*editors[1:], again]:
            await ed.client.close()
        await conn.close()


@pytest.mark.asyncio
async def test_a_websocket_session_outlives_its_timeout_and_the_server_stays_live() -> None:
    """Found by hand: 25 s (``--session-timeout``) after an editor's session moved onto a
    WebSocket, the session's timer loop spun without yielding and the whole server stopped
    answering (100 % CPU). With a short timeout: well past it, an edit still goes through
    and the server answers HTTP."""
    async with relay(session_timeout=0.2) as server, asyncio.TaskGroup() as tg:
        conn = ServerConnection(server.url)
        tg.create_task(conn.run())
        ed = HeadlessEditor(f"{server.url}/long-lived", connection=conn)
        tg.create_task(ed.client.run())
        await wait_until(lambda: ed.status is Status.SAVED, "saved")
        assert conn.info.transport is Transport.WEBSOCKET
        for i in range(4):  # four timeouts pass while the WebSocket carries the session
            await asyncio.sleep(0.2)  # the time under test, not a wait for something
            ed.type(f"[{i}]")
            await wait_until(lambda: ed.status is Status.SAVED, f"edit {i} saved")
        async with http_to(server) as http:
            response = await http.request("GET", "/healthz")
            assert response.status == 200
        assert conn.sessions_opened == 1
        await ed.client.close()
        await conn.close()


@pytest.mark.asyncio
async def test_polling_over_tls(tmp_path: Path, self_signed_certificate: tuple[Path, Path]) -> None:
    import ssl

    cert, key = self_signed_certificate
    async with relay(tls_cert=cert, tls_key=key) as server, asyncio.TaskGroup() as tg:
        ctx = ssl.create_default_context(cafile=str(cert))
        conn = ServerConnection(server.url, ssl=ctx, start_with_polling=True, probe_delays=())
        tg.create_task(conn.run())
        ed = HeadlessEditor(f"{server.url}/secret-notes", connection=conn)
        tg.create_task(ed.client.run())
        ed.type("über TLS")
        await wait_until(lambda: ed.status is Status.SAVED, "saved over polling + TLS")
        assert conn.info.transport is Transport.POLLING and server.url.startswith("wss://")
        await ed.client.close()
        await conn.close()


def test_channel_messages_from_the_server_decode() -> None:
    payload = name_prefix("x#2") + CloseDocument(4403, "no").encode()
    key, message = decode_payload(payload)
    assert key == "x#2" and decode_control(message) == CloseDocument(4403, "no")


def test_polling_on_uvloop() -> None:
    # The server runs on uvloop where it is installed (``python -m sync_server``); its
    # transports are not ``asyncio.Transport`` instances, and the polling front once
    # asserted they were: every poll was answered with a closed connection there.
    import uvloop

    async def scenario() -> None:
        async with relay(poll_hold=0.2) as server:
            conn = ServerConnection(server.url, start_with_polling=True, probe_delays=())
            ed = HeadlessEditor(f"{server.url}/on-uvloop", connection=conn)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(conn.run())
                tg.create_task(ed.client.run())
                ed.type("polled on uvloop")
                await wait_until(lambda: ed.status is Status.SAVED, "saved over polling")
                assert conn.info.transport is Transport.POLLING
                room = server.registry.get("on-uvloop")
                assert room is not None and str(content(room.doc)) == "polled on uvloop"
                await ed.client.close()
                await conn.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


@pytest.mark.asyncio
async def test_held_polls_do_not_count_as_unfinished_handshakes() -> None:
    # The socket guard resets an address's new connections while it has
    # max_handshakes_per_ip sockets "in the handshake". A fresh connection whose first
    # request is a held poll of a live session is a client's, not a handshake: it once
    # counted as one until its poll was answered (20 s), so 32 idle polling editors
    # behind one address locked the others out (found by the fallback bench).
    async with relay(poll_hold=5.0, max_handshakes_per_ip=2) as server:
        opened = []
        for _ in range(3):
            async with http_to(server) as http:
                opened.append(open_frame(await poll(http)))
        connections = [HttpConnection(Endpoint.parse(server.url), proxy=None) for _ in range(3)]
        try:
            async with asyncio.TaskGroup() as tg:
                held = []
                for n, (http, params) in enumerate(zip(connections, opened, strict=True)):
                    held.append(tg.create_task(poll(http, sid=params.sid)))
                    await wait_until(
                        lambda n=n: (
                            sum(len(s._polls) for s in server.sessions.sessions.values()) == n + 1
                        ),
                        f"poll {n + 1} held",
                    )
                async with http_to(server) as another:  # a fourth connection gets through
                    open_frame(await poll(another))
                server.sessions.close_all(CloseCode.GOING_AWAY, "test over")
            for task in held:
                assert task.result().status == 200
        finally:
            for http in connections:
                await http.close()
