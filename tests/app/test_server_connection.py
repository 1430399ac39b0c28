"""The editor's one connection per server: WebSocket, fallback to long polling, the switch
back, faults on the way, proxies from the environment, and what the user is told.

Real relay on port 0, real sockets; the misbehaving networks are ``HttpFront`` (a reverse
proxy that drops or swallows the Upgrade, or answers everything with one status) and
``FaultProxy`` (cuts connections mid-response). "Nothing lost or repeated" is checked the
strong way: the document stays on ONE session and ONE channel (no resync could repair a
loss), and reaches "All changes saved", which needs the server to acknowledge exactly as
many document messages as the client sent (one more on the server and the client's
session raises a protocol error, one less and the ACK never comes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pycrdt
import pytest

from editor_app.core.backoff import Backoff
from editor_app.core.connection_manager import ConnectionManager
from editor_app.core.diagnose import check_connection
from editor_app.core.proxy import (
    Proxy,
    ProxyMode,
    bypasses,
    make_resolver,
    parse_proxy_url,
    proxy_from_environment,
)
from editor_app.core.schema import content
from editor_app.core.server_connection import ServerConnection, Transport
from editor_app.core.status_text import (
    TEXT_BLOCKED,
    TEXT_EXPIRED,
    TEXT_OFFLINE,
    TEXT_PROXY_AUTH,
    TEXT_REVOKED,
    status_text,
)
from editor_app.core.sync_client import ClientStatus, Status, SyncClient
from shared import Origin
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token, token_id_of
from sync_server.config import ServerConfig
from sync_server.memory_store import MemoryDatabase, MemoryStore
from tests.faults.http_front import HttpFront
from tests.faults.proxy import FaultProxy
from tests.support.client import TestClient
from tests.support.waiting import wait_until


@asynccontextmanager
async def relay(**options: Any) -> AsyncIterator[RelayServer]:
    async with RelayServer(ServerConfig(host="127.0.0.1", port=0, **options)) as server:
        yield server


class Editor:
    def __init__(self, conn: ServerConnection | None, url: str, **kwargs: Any) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = content(self.doc)
        kwargs.setdefault("backoff", Backoff(base=0.05, cap=0.2))
        self.client = SyncClient(url, self.doc, pycrdt.Awareness(self.doc), connection=conn,
                                 **kwargs)  # fmt: skip
        self.typed = ""

    @property
    def status(self) -> Status:
        return self.client.status.status

    @property
    def text_shown(self) -> str:
        return status_text(self.client.status)[0]

    def type(self, s: str) -> None:
        self.typed += s
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(len(str(self.text).encode()), s)


def connection(url: str, **kwargs: Any) -> ServerConnection:
    kwargs.setdefault("backoff", Backoff(base=0.05, cap=0.2))
    return ServerConnection(url, **kwargs)


#: Connection options: polling from the start, and no probing for a WebSocket.
POLLING_ONLY: dict[str, Any] = {"start_with_polling": True, "probe_delays": ()}


@asynccontextmanager
async def running_editor(
    url: str, name: str, **options: Any
) -> AsyncIterator[tuple[ServerConnection, Editor]]:
    """An editor on document ``name`` at ``url`` over its own connection (``options``),
    both running in a task group; both are closed at the end of the block."""
    async with asyncio.TaskGroup() as tg:
        conn = connection(url, **options)
        ed = Editor(conn, f"{url}/{name}")
        tg.create_task(conn.run())
        tg.create_task(ed.client.run())
        yield conn, ed
        await ed.client.close()
        await conn.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["strip", "hang"])
async def test_a_blocked_websocket_falls_back_to_polling_at_once(mode: str) -> None:
    async with (
        relay() as server,
        HttpFront(server.port, mode) as front,
        running_editor(front.url, "notes", ws_open_timeout=0.5, probe_delays=()) as (conn, ed),
    ):
        started = time.monotonic()
        ed.type("through the fallback")
        await wait_until(lambda: ed.status is Status.SAVED, "saved over polling")
        elapsed = time.monotonic() - started
        assert conn.info.transport is Transport.POLLING and conn.info.websocket_blocked
        assert elapsed < 3.0, elapsed  # 426 at once; no answer: the 0.5 s open timeout
        room = server.registry.get("notes")
        assert room is not None and str(content(room.doc)) == "through the fallback"
        # Stock and coscribe.v1 clients directly on the relay are not affected.
        async with TestClient(f"{server.url}/notes", extensions=False) as stock:
            await wait_until(lambda: str(stock.text) == "through the fallback", "the condition")
            await stock.insert(0, ">")
        await wait_until(lambda: str(ed.text).startswith(">"), "stock edit arrives")


@pytest.mark.asyncio
@pytest.mark.parametrize("polling", [True, False], ids=["polls", "websockets"])
async def test_connections_cut_mid_message_lose_and_repeat_nothing(polling: bool) -> None:
    async with relay(poll_hold=0.3) as server, FaultProxy("127.0.0.1", server.port) as proxy:
        async with running_editor(
            proxy.url, "cuts", start_with_polling=polling, probe_delays=()
        ) as (conn, ed):
            await wait_until(lambda: ed.status is Status.SAVED, "first sync")
            async with TestClient(f"{server.url}/cuts") as other:
                for i in range(40):
                    ed.type(f"a{i};")
                    await other.insert(0, f"b{i};")
                    if i % 4 == 0:
                        for c in proxy.connections:
                            c.cut_after(3 + i)  # a few bytes more, then RST mid-response
                    await asyncio.sleep(0.01)
                await wait_until(lambda: ed.status is Status.SAVED, "all acknowledged")
                await wait_until(lambda: str(ed.text) == str(other.text), "converged")
                for i in range(40):
                    assert str(ed.text).count(f"a{i};") == 1 and str(ed.text).count(f"b{i};") == 1
            assert conn.sessions_opened == 1 and ed.client.connections == 1  # never resynced
            assert len(proxy.accepted) > 4  # the cuts did cost connections (polls repeated)


@pytest.mark.asyncio
async def test_poll_answers_cut_half_way_lose_and_repeat_nothing() -> None:
    # Every cut is in the middle of a poll answer's body (the frame half delivered, then a
    # reset), while both sides type: the server resends what the next poll's ack says is
    # missing, and nothing arrives twice.
    async with relay(poll_hold=0.3) as server:
        async with (
            HttpFront(server.port, "strip") as front,
            running_editor(front.url, "halves", **POLLING_ONLY) as (conn, ed),
        ):
            await wait_until(lambda: ed.status is Status.SAVED, "first sync")
            front.mode = "cut-polls:12"
            front.cut_all()  # the open keep-alive connections: from now on one per poll
            async with TestClient(f"{server.url}/halves") as other:
                for i in range(40):
                    ed.type(f"a{i};")
                    await other.insert(0, f"b{i};")
                    await asyncio.sleep(0.02)
                await wait_until(lambda: front.responses_cut == 12, "twelve answers cut")
                await wait_until(lambda: ed.status is Status.SAVED, "all acknowledged")
                await wait_until(lambda: str(ed.text) == str(other.text), "converged")
                for i in range(40):
                    assert str(ed.text).count(f"a{i};") == 1 and str(ed.text).count(f"b{i};") == 1
            assert conn.sessions_opened == 1 and ed.client.connections == 1  # never resynced


@pytest.mark.asyncio
async def test_switch_from_polling_to_websocket_in_the_middle_of_typing() -> None:
    # 30 ms each way on every connection: polls and POSTs are in flight when it switches.
    async with relay(poll_hold=0.5) as server, FaultProxy("127.0.0.1", server.port) as proxy:
        proxy.default_faults.latency = 0.03
        async with running_editor(
            proxy.url, "switch", start_with_polling=True, probe_delays=(0.4,)
        ) as (conn, ed):
            await wait_until(lambda: ed.status is Status.SAVED, "synced over polling")
            assert conn.info.transport is Transport.POLLING
            async with TestClient(f"{server.url}/switch") as other:
                i = 0
                while conn.info.transport is not Transport.WEBSOCKET or i < 80:
                    ed.type(f"<{i}>")
                    if i % 2 == 0:
                        await other.insert(0, f"({i})")
                    i += 1
                    await asyncio.sleep(0.005)
                    assert i < 2000, "never switched"
                await wait_until(lambda: ed.status is Status.SAVED, "saved after the switch")
                await wait_until(lambda: str(other.text) == str(ed.text), "converged")
                shown = str(ed.text)
                for n in range(i):
                    assert shown.count(f"<{n}>") == 1
            assert conn.info.transport is Transport.WEBSOCKET
            assert conn.sessions_opened == 1 and ed.client.connections == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("polling", [True, False], ids=["polling", "websocket"])
async def test_closing_ends_the_session_on_the_server(polling: bool) -> None:
    # Without the CLOSE frame a WebSocket session outlived the editor on the server,
    # waiting for its carrier to come back (found by the Xvfb network test).
    async with relay() as server:
        async with running_editor(
            server.url, "bye", start_with_polling=polling, probe_delays=()
        ) as (conn, ed):
            await wait_until(lambda: ed.status is Status.SAVED, "synced")
            expected = Transport.POLLING if polling else Transport.WEBSOCKET
            assert conn.info.transport is expected
            assert len(server.sessions.sessions) == 1
        await wait_until(lambda: not server.sessions.sessions, "the session ended")
        assert server.metrics.closes_by_code[1000] == 1


@pytest.mark.asyncio
async def test_a_session_whose_node_is_gone_is_replaced_after_its_timeout() -> None:
    # Behind a balancer that routes by session id, the requests of a session whose node
    # died get 502 forever, never "unknown session": after the session's timeout (the
    # server would have expired it anyway) the editor opens a new one elsewhere.
    database = MemoryDatabase()  # the nodes share their storage, as a cluster's do

    def node(name: str) -> RelayServer:
        config = ServerConfig(
            host="127.0.0.1", port=0, node_id=name, poll_hold=0.2, session_timeout=1.0
        )
        return RelayServer(config, store=MemoryStore(database))

    async with node("a") as first, node("b") as second:
        async with (
            HttpFront(first.port, "strip") as front,
            running_editor(front.url, "moved", **POLLING_ONLY) as (conn, ed),
        ):
            ed.type("before")
            await wait_until(lambda: ed.status is Status.SAVED, "saved on the first node")
            front.mode, front.target_port = "gone:a", second.port
            front.cut_all()
            ed.type(" after")
            await wait_until(lambda: ed.status is Status.SAVED, "saved on the second", within=10.0)
            room = second.registry.get("moved")
            assert room is not None and str(content(room.doc)) == "before after"
            assert conn.sessions_opened == 2 and conn.info.transport is Transport.POLLING


@pytest.mark.asyncio
async def test_what_a_lost_carrier_left_unsent_goes_on_the_next_one() -> None:
    # The POSTs that open the document are reset until the carrier counts as lost; nobody
    # types afterwards. The opening must still reach the server on the next carrier (it
    # once waited for the next local message, forever for an idle editor: found by the
    # fallback bench with 200 idle editors).
    async with relay(poll_hold=0.3) as server:
        async with (
            HttpFront(server.port, "reset-posts:3") as front,  # POLL_RETRIES + 1: carrier lost
            running_editor(front.url, "idle", **POLLING_ONLY) as (conn, ed),
        ):
            await wait_until(lambda: ed.status is Status.SAVED, "the document opened")
            assert front.posts_reset == 3 and conn.carriers >= 2 and conn.sessions_opened == 1


class Memory:
    """The editor's settings as ``NetworkMemory`` sees them (the real one is QSettings)."""

    def __init__(self) -> None:
        self.blocked: set[str] = set()

    def websocket_blocked(self, server: str) -> bool:
        return server in self.blocked

    def set_websocket_blocked(self, server: str, blocked: bool) -> None:
        if blocked:
            self.blocked.add(server)
        else:
            self.blocked.discard(server)


@pytest.mark.asyncio
async def test_a_blocked_websocket_is_remembered_for_the_next_start() -> None:
    memory = Memory()
    async with relay() as server, HttpFront(server.port, "hang") as front:
        for start in ("first", "next"):
            manager = ConnectionManager(
                memory=memory, ws_open_timeout=1.0, probe_delays=(), backoff=Backoff(0.05, 0.2)
            )
            async with asyncio.TaskGroup() as tg:
                tg.create_task(manager.run())
                conn = manager.acquire(front.url)
                ed = Editor(conn, f"{front.url}/remembered")
                tg.create_task(ed.client.run())
                started, upgrades = time.monotonic(), front.websocket_requests
                await wait_until(lambda e=ed: e.status is Status.SAVED, f"{start}: synced")
                elapsed = time.monotonic() - started
                if start == "first":  # waited for the upgrade that never came
                    assert elapsed >= 1.0 and front.websocket_requests == upgrades + 1
                    assert memory.blocked == {front.url}
                else:  # straight to polling
                    assert elapsed < 1.0 and front.websocket_requests == upgrades
                await ed.client.close()
                await manager.release(conn)
                await manager.aclose()
        # A WebSocket that works again is remembered too.
        manager = ConnectionManager(memory=memory, probe_delays=(0.1,))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(manager.run())
            memory.blocked.add(server.url)
            conn = manager.acquire(server.url)  # starts with polling, probes at once
            ed = Editor(conn, f"{server.url}/remembered")
            tg.create_task(ed.client.run())
            await wait_until(lambda: conn.info.transport is Transport.WEBSOCKET, "probe")
            assert server.url not in memory.blocked
            await ed.client.close()
            await manager.aclose()


@pytest.mark.asyncio
async def test_what_the_user_is_told_for_each_failure() -> None:
    # Nobody listening: "Can't reach the server".
    async with relay() as gone:
        dead_url = gone.url
    async with running_editor(dead_url, "nowhere") as (conn, ed):
        await wait_until(lambda: ed.status is Status.OFFLINE, "offline")
        assert ed.text_shown == TEXT_OFFLINE and "Can't reach the server" in TEXT_OFFLINE
    async with relay() as server:
        # A 502 or a 426 from something in between is never "Access denied".
        for mode, expected in (("status:502", TEXT_OFFLINE), ("status:426", TEXT_BLOCKED)):
            async with (
                HttpFront(server.port, mode) as front,
                running_editor(front.url, "doc") as (conn, ed),
            ):
                await wait_until(lambda e=ed, x=expected: e.text_shown == x, f"{mode}: {expected}")
                assert ed.status is Status.OFFLINE
                assert front.requests >= 1
    texts = {
        "proxy": ClientStatus(Status.PROXY_AUTH, "the proxy asks for a user name and password"),
        "revoked": ClientStatus(Status.DENIED, "this link was revoked; ask the owner"),
        "expired": ClientStatus(Status.DENIED, "access token expired"),
    }
    assert status_text(texts["proxy"]) == (TEXT_PROXY_AUTH, "proxy_auth")
    assert status_text(texts["revoked"])[0] == TEXT_REVOKED
    assert status_text(texts["expired"])[0].startswith("Access link expired")


SECRET = b"server-connection-secret-0123456789"


@pytest.mark.asyncio
@pytest.mark.parametrize("shared", [True, False], ids=["coscribe.v2", "own-websocket"])
async def test_a_revoked_link_says_this_link_was_revoked(shared: bool) -> None:
    """Live (the server closes the document with 4410) and at the next handshake (403,
    ``X-Coscribe-Refusal: revoked``), on the shared connection and on a document's own
    WebSocket: the person reads "This link was revoked", never a bare "Access denied"."""
    token = mint_token(SECRET, "kept", Role.EDITOR)
    async with relay(secret=SECRET) as server, asyncio.TaskGroup() as tg:
        conns: list[ServerConnection] = []

        def editor() -> Editor:
            conn = connection(server.url, probe_delays=()) if shared else None
            if conn is not None:
                conns.append(conn)
                tg.create_task(conn.run())
            ed = Editor(conn, f"{server.url}/kept", token=token)
            tg.create_task(ed.client.run())
            return ed

        live = editor()
        await wait_until(lambda: live.status is Status.SAVED, "synced")
        await server.revoke_token(token_id_of(token) or "")
        await wait_until(lambda: live.status is Status.DENIED, "closed with 4410")
        assert live.text_shown == TEXT_REVOKED, live.client.status
        assert live.client.status.problem == "revoked"
        later = editor()  # the same link, opened again: refused at the handshake
        await wait_until(lambda: later.status is Status.DENIED, "handshake refused")
        assert later.text_shown == TEXT_REVOKED, later.client.status
        if shared:
            assert conns[-1].info.refusal == "revoked", conns[-1].info
        else:
            assert later.client.status.detail.startswith("HTTP 403"), later.client.status
        for ed in (live, later):
            await ed.client.close()
        for conn in conns:
            await conn.close()


def test_status_words_for_refusals() -> None:
    revoked = ClientStatus(Status.DENIED, "HTTP 403: no longer valid", problem="revoked")
    assert status_text(revoked) == (TEXT_REVOKED, "denied")
    assert TEXT_REVOKED.startswith("This link was revoked")
    expired = ClientStatus(Status.DENIED, "token too old", problem="expired")
    assert status_text(expired) == (TEXT_EXPIRED, "denied")
    # Another refusal whose words happen to mention revocation is still told as it is.
    other = ClientStatus(Status.DENIED, "not for this document", problem="")
    assert status_text(other)[0] == "Access denied — not for this document"
    # A 426 or a 502 from something in between is never "Access denied".
    blocked = ClientStatus(Status.OFFLINE, "HTTP 426", problem="blocked")
    assert status_text(blocked)[0] == TEXT_BLOCKED
    gateway = ClientStatus(Status.OFFLINE, "HTTP 502 from a proxy", problem="unreachable")
    assert status_text(gateway)[0] == TEXT_OFFLINE


@pytest.mark.asyncio
async def test_connection_test_says_which_way_works() -> None:
    async with relay() as server:
        url = server.url
        direct = await check_connection(url, proxy=make_resolver(ProxyMode.NONE))
        assert direct.ok and direct.transport == "WebSocket"
        async with HttpFront(server.port, "strip") as front:
            fallback = await check_connection(front.url, proxy=make_resolver(ProxyMode.NONE))
            assert fallback.ok and fallback.transport == "compatibility mode"
            assert fallback.summary.startswith("A proxy or firewall blocks live connections")
        await wait_until(lambda: not server.sessions.sessions, "test sessions closed")
    gone = await check_connection(url, proxy=make_resolver(ProxyMode.NONE))
    assert not gone.ok and gone.summary.startswith("Can't reach the server")


def test_proxy_from_the_environment() -> None:
    env = {
        "HTTPS_PROXY": "http://user:p%40ss@secure.proxy:3129",
        "http_proxy": "corp.proxy:8080",
        "HTTP_PROXY": "ignored.proxy:1",
        "NO_PROXY": "localhost,.internal.example,10.0.0.0/8,example.org:8443",
    }
    secure = proxy_from_environment("wss://docs.example.com/x", env)
    assert secure == Proxy("secure.proxy", 3129, "user", "p@ss", "HTTPS_PROXY")
    assert secure.authorization() == "Basic dXNlcjpwQHNz"
    plain = proxy_from_environment("ws://docs.example.com:1234/x", env)
    assert plain is not None and (plain.host, plain.port, plain.source) == (
        "corp.proxy",
        8080,
        "http_proxy",  # lower case wins, as in curl and urllib
    )
    for direct_url in (
        "ws://localhost:1234/x",
        "ws://a.internal.example/x",
        "ws://10.2.3.4:1234/x",
        "wss://example.org:8443/x",
    ):
        assert proxy_from_environment(direct_url, env) is None, direct_url
    assert proxy_from_environment("wss://example.org/x", env) is not None  # other port
    assert proxy_from_environment("ws://h/x", {"ALL_PROXY": "http://all:3128"}) == Proxy(
        "all", 3128, None, None, "ALL_PROXY"
    )
    assert proxy_from_environment("ws://h/x", {"ALL_PROXY": "socks5://s:1080"}) is None
    assert bypasses("*", "anything", 1) and not bypasses("", "anything", 1)
    assert parse_proxy_url("") is None


def test_proxy_modes() -> None:
    manual = Proxy("manual.proxy", 3128, "me", "secret", "Preferences")
    system_calls: list[str] = []

    def system(url: str) -> Proxy | None:
        system_calls.append(url)
        return Proxy("system.proxy", 8080, source="system settings")

    env = {"HTTP_PROXY": "http://env.proxy:3128"}
    assert make_resolver(ProxyMode.NONE)("ws://h/x") is None
    assert make_resolver(ProxyMode.MANUAL, manual=manual, environ=env)("ws://h/x") == manual
    auto = make_resolver(ProxyMode.AUTO, system=system, environ=env)
    assert auto("ws://h/x") == Proxy("env.proxy", 3128, None, None, "HTTP_PROXY")
    assert system_calls == []  # the environment decided
    auto_system = make_resolver(ProxyMode.AUTO, system=system, environ={})
    found = auto_system("wss://h/x")
    assert found is not None and found.host == "system.proxy" and system_calls == ["wss://h/x"]
    assert found.describe() == "system.proxy:8080 (system settings)"
