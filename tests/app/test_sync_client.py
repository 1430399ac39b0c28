"""SyncClient against the real relay server (port 0, real WebSockets, real SQLite).

Waits are conditions with deadlines (``wait_until``); nothing sleeps hoping work is done.
"""

from __future__ import annotations

import asyncio
import http
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from editor_app.core.backoff import Backoff
from editor_app.core.offsets import TextIndex
from editor_app.core.schema import content
from editor_app.core.sync_client import ClientStatus, Status, SyncClient
from editor_app.core.text_ops import EditOp, apply_local_change, delta_to_ops
from shared import SUBPROTOCOL, CloseCode, Origin, Side, SyncSession
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.waiting import stays, wait_until


def fast_backoff() -> Backoff:
    return Backoff(base=0.02, cap=0.2)


class Editor:
    """A headless editor: doc + awareness + SyncClient, with a recorded status history."""

    def __init__(self, url: str, *, incarnation: str | None = None, **kwargs: Any) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = content(self.doc)
        self.index = TextIndex()
        self.awareness = pycrdt.Awareness(self.doc)
        kwargs.setdefault("backoff", fast_backoff())
        self.client = SyncClient(url, self.doc, self.awareness, incarnation=incarnation, **kwargs)
        self.history: list[ClientStatus] = [self.client.status]
        self.client.add_listener(self.history.append)
        self.task: asyncio.Task[None] | None = None

    def start(self, tg: asyncio.TaskGroup) -> None:
        self.task = tg.create_task(self.client.run())

    def type(self, pos16: int, s: str) -> None:
        self.index = TextIndex(str(self.text))  # remote edits may have arrived
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_change(self.text, self.index, pos16, 0, s)

    @property
    def status(self) -> Status:
        return self.client.status.status

    def statuses(self) -> list[Status]:
        out: list[Status] = []
        for s in self.history:
            if not out or out[-1] is not s.status:
                out.append(s.status)
        return out


@asynccontextmanager
async def relay(tmp_path: Path | None = None, port: int = 0) -> AsyncIterator[RelayServer]:
    async with RelayServer(ServerConfig(host="127.0.0.1", port=port, data_dir=tmp_path)) as srv:
        yield srv


@pytest.mark.asyncio
async def test_status_goes_connecting_saving_saved() -> None:
    async with relay() as server, asyncio.TaskGroup() as tg:
        ed = Editor(f"{server.url}/status-doc")
        assert ed.status is Status.CONNECTING
        ed.start(tg)
        await wait_until(lambda: ed.status is Status.SAVED, "saved after first sync")
        assert ed.statuses()[:3] == [Status.CONNECTING, Status.SAVING, Status.SAVED]
        assert ed.client.incarnation is not None
        ed.history.clear()
        ed.type(0, "héllo 😀")
        assert ed.status is Status.SAVING  # sent, not yet acknowledged
        await wait_until(lambda: ed.status is Status.SAVED, "saved after an edit")
        await ed.client.close()
        await ed.client.close()  # idempotent
        assert ed.status is Status.CLOSED


@pytest.mark.asyncio
async def test_two_clients_converge_and_see_each_other() -> None:
    async with relay() as server, asyncio.TaskGroup() as tg:
        a, b = Editor(f"{server.url}/pair"), Editor(f"{server.url}/pair")
        a.awareness.set_local_state({"user": {"name": "Ann", "color": "#f00"}})
        b.awareness.set_local_state({"user": {"name": "김민수", "color": "#00f"}})
        a.start(tg)
        b.start(tg)
        await wait_until(lambda: a.status is b.status is Status.SAVED, "both saved")
        a.type(0, "한국어 😀 ")
        await wait_until(lambda: str(b.text) == "한국어 😀 ", "b sees a's text")
        b.type(7, "e\u0301中")
        await wait_until(lambda: str(a.text) == str(b.text) == "한국어 😀 e\u0301中", "converge")
        await wait_until(lambda: b.awareness.client_id in a.awareness.states, "a sees b's presence")
        assert a.awareness.states[b.awareness.client_id]["user"]["name"] == "김민수"
        await b.client.close()
        await wait_until(
            lambda: b.awareness.client_id not in a.awareness.states, "b's presence withdrawn"
        )
        await a.client.close()


@pytest.mark.asyncio
async def test_offline_edits_merge_after_server_restart(tmp_path: Path) -> None:
    async with asyncio.TaskGroup() as tg:
        async with relay(tmp_path) as server:
            port = server.port
            a, b = Editor(f"{server.url}/restart"), Editor(f"{server.url}/restart")
            a.start(tg)
            b.start(tg)
            a.type(0, "base\n")
            await wait_until(lambda: str(b.text) == "base\n", "b got the base text")
            await wait_until(lambda: a.status is b.status is Status.SAVED, "saved")
        await wait_until(lambda: a.status is b.status is Status.OFFLINE, "both offline")
        assert a.client.status.retry_in is not None
        a.type(0, "A😀 ")
        b.type(5, "B한")
        assert a.status is Status.OFFLINE  # an edit offline does not pretend to save
        async with relay(tmp_path, port=port):
            await wait_until(lambda: a.status is b.status is Status.SAVED, "saved again", within=15)
            await wait_until(lambda: str(a.text) == str(b.text), "converged")
            merged = str(a.text)
            assert sorted(merged) == sorted("A😀 base\nB한"), merged  # nothing lost or doubled
            assert a.client.connections >= 2 and b.client.connections >= 2
            await a.client.close()
            await b.client.close()


@pytest.mark.asyncio
async def test_reconnect_uses_backoff_while_the_server_is_down() -> None:
    async with relay() as server:
        url = f"{server.url}/nobody"
    async with asyncio.TaskGroup() as tg:  # the port is closed now
        ed = Editor(url)
        ed.start(tg)
        await wait_until(
            lambda: sum(s.status is Status.OFFLINE for s in ed.history) >= 3, "several retries"
        )
        delays = [s.retry_in for s in ed.history if s.status is Status.OFFLINE]
        assert all(d is not None and 0 <= d <= 0.2 for d in delays)
        assert ed.client.backoff.attempt >= 3
        await ed.client.close()


@asynccontextmanager
async def refusing_server(status: http.HTTPStatus, calls: list[Request]) -> AsyncIterator[str]:
    def process_request(conn: ServerConnection, request: Request) -> Response:
        calls.append(request)
        return conn.respond(status, "go away\n")

    async def handler(ws: ServerConnection) -> None:
        raise AssertionError("the handshake should have been refused")

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/doc"


@pytest.mark.asyncio
async def test_http_403_is_denied_without_retries() -> None:
    calls: list[Request] = []
    async with refusing_server(http.HTTPStatus.FORBIDDEN, calls) as url:
        async with asyncio.TaskGroup() as tg:
            ed = Editor(url, token="s3cret")
            ed.start(tg)
            await wait_until(lambda: ed.status is Status.DENIED, "denied")
            assert "403" in ed.client.status.detail
            assert calls[0].headers["Authorization"] == "Bearer s3cret"
            await stays(lambda: len(calls) == 1, "no retry after a refusal", within=0.3)
            ed.client.reconnect_now()  # the user asks: one more attempt
            await wait_until(lambda: len(calls) == 2, "a second attempt")
            await ed.client.close()


@pytest.mark.asyncio
async def test_incarnation_conflict_is_not_merged(tmp_path: Path) -> None:
    async with relay(tmp_path) as server, asyncio.TaskGroup() as tg:
        first = Editor(f"{server.url}/reborn")
        first.start(tg)
        first.type(0, "old life")
        await wait_until(lambda: first.status is Status.SAVED, "saved")
        old = first.client.incarnation
        await first.client.close()
        assert await server.delete_document("reborn")

        again = Editor(f"{server.url}/reborn", incarnation=old)
        again.type(0, "offline edit of the old life")
        adopted: list[str] = []
        again.client.on_incarnation = adopted.append
        again.start(tg)
        await wait_until(lambda: again.status is Status.CONFLICT, "conflict")
        assert old in again.client.status.detail
        assert adopted == []

        fresh = Editor(f"{server.url}/reborn")
        fresh.client.on_incarnation = adopted.append
        fresh.start(tg)
        await wait_until(lambda: fresh.status is Status.SAVED, "fresh client saved")
        assert str(fresh.text) == ""  # the stale offline edit was not merged
        assert adopted and adopted[0] != old
        await stays(lambda: again.status is Status.CONFLICT, "conflict is not retried", within=0.2)
        await again.client.close()
        await fresh.client.close()


@asynccontextmanager
async def plain_y_websocket_server(doc: pycrdt.Doc[Any]) -> AsyncIterator[str]:
    """A stock y-websocket peer (no coscribe.v1, no HELLO, no ACK) over the real session."""

    async def handler(ws: ServerConnection) -> None:
        session = SyncSession(doc, Side.SERVER)
        session.start()
        for m in session.data_to_send():
            await ws.send(m)
        async for message in ws:
            session.receive_data(message)  # type: ignore[arg-type]
            session.events_received()
            for m in session.data_to_send():
                await ws.send(m)

    async with serve(handler, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/doc"


@pytest.mark.asyncio
async def test_server_without_extensions_is_synced_not_saved() -> None:
    server_doc: pycrdt.Doc[Any] = pycrdt.Doc()
    async with plain_y_websocket_server(server_doc) as url, asyncio.TaskGroup() as tg:
        ed = Editor(url)
        ed.type(0, "written offline")
        ed.start(tg)
        await wait_until(lambda: ed.status is Status.SYNCED, "synced")
        assert "cannot confirm" in ed.client.status.detail
        await wait_until(lambda: str(content(server_doc)) == "written offline", "server has it")
        assert Status.SAVED not in ed.statuses()
        await ed.client.close()


@pytest.mark.asyncio
async def test_close_before_run_and_run_after_close() -> None:
    ed = Editor("ws://127.0.0.1:9/never")
    await ed.client.close()
    assert ed.status is Status.CLOSED
    await asyncio.wait_for(ed.client.run(), 1)  # returns at once


def test_backoff_is_full_jitter_capped_and_resets() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(1))
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        assert 0 <= backoff.next_delay() <= ceilings[-1]
    assert ceilings == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    backoff.reset()
    assert backoff.ceiling() == 0.5
    with pytest.raises(ValueError):
        Backoff(base=0)


@asynccontextmanager
async def closing_server(codes: list[int], seen: list[int]) -> AsyncIterator[str]:
    """Accepts coscribe.v1 and closes connection n with ``codes[n]`` (the last one repeats)."""

    async def handler(ws: ServerConnection) -> None:
        seen.append(len(seen))
        code = codes[min(len(seen) - 1, len(codes) - 1)]
        await ws.close(code, f"closing with {code}")

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol(SUBPROTOCOL)]) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/doc"


@pytest.mark.asyncio
async def test_non_retryable_close_code_is_denied() -> None:
    seen: list[int] = []
    async with closing_server([int(CloseCode.FORBIDDEN)], seen) as url, asyncio.TaskGroup() as tg:
        ed = Editor(url)
        ed.start(tg)
        await wait_until(lambda: ed.status is Status.DENIED, "denied")
        assert ed.client.status.detail == "closing with 4403"
        await stays(lambda: len(seen) == 1, "no retry after 4403", within=0.3)
        await ed.client.close()


@pytest.mark.asyncio
async def test_retryable_close_code_reconnects() -> None:
    seen: list[int] = []
    codes = [int(CloseCode.SERVICE_RESTART)]
    async with closing_server(codes, seen) as url, asyncio.TaskGroup() as tg:
        ed = Editor(url)
        ed.start(tg)
        await wait_until(lambda: len(seen) >= 3, "reconnects after 1012")
        assert Status.DENIED not in ed.statuses()
        await ed.client.close()


@pytest.mark.asyncio
async def test_backoff_resets_after_a_healthy_connection() -> None:
    async with relay() as server:
        port = server.port
    async with asyncio.TaskGroup() as tg:
        ed = Editor(f"ws://127.0.0.1:{port}/healthy", healthy_after=0.0)
        attempts: list[tuple[Status, int]] = []
        ed.client.add_listener(lambda s: attempts.append((s.status, ed.client.backoff.attempt)))
        ed.start(tg)
        await wait_until(lambda: ed.client.backoff.attempt >= 4, "several failed attempts")
        async with relay(port=port):
            await wait_until(lambda: ed.status is Status.SAVED, "saved once the server is up")
            attempts.clear()
        await wait_until(lambda: ed.status is Status.OFFLINE, "offline again")
        assert next(a for s, a in attempts if s is Status.OFFLINE) == 1  # schedule restarted
        await ed.client.close()


class MirroredEditor(Editor):
    """An Editor whose widget is a plain string fed by delta_to_ops (as the Qt binding)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.shadow = ""
        self.text.observe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.transaction.origin == Origin.LOCAL_EDIT:
            return
        for op in delta_to_ops(event.delta, self.index):
            if isinstance(op, EditOp):
                units = self.shadow.encode("utf-16-le")
                a, b = 2 * op.pos, 2 * (op.pos + op.delete)
                self.shadow = (units[:a] + op.insert.encode("utf-16-le") + units[b:]).decode(
                    "utf-16-le"
                )

    def local(self, start_f: float, len_f: float, inserted: str) -> None:
        bounds = [0]
        for ch in self.shadow:
            bounds.append(bounds[-1] + (2 if ord(ch) > 0xFFFF else 1))
        i = int(start_f * (len(bounds) - 1))
        j = i + int(len_f * min(4, len(bounds) - 1 - i))
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_change(self.text, self.index, bounds[i], bounds[j] - bounds[i], inserted)
        units = self.shadow.encode("utf-16-le")
        self.shadow = (
            units[: 2 * bounds[i]] + inserted.encode("utf-16-le") + units[2 * bounds[j] :]
        ).decode("utf-16-le")


EDITS = st.lists(
    st.tuples(
        st.booleans(),
        st.floats(0, 1),
        st.floats(0, 1),
        st.text(alphabet="ab \n한😀e\u0301中", max_size=4),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(EDITS)
def test_random_edits_on_two_editors_through_the_relay_converge(
    script: list[tuple[bool, float, float, str, bool]],
) -> None:
    """Random edits (non-BMP included) on two editors, sometimes concurrent: both
    converge to the same text, and each editor's op-fed shadow equals its CRDT text."""

    async def scenario() -> None:
        async with relay() as server, asyncio.TaskGroup() as tg:
            a, b = MirroredEditor(f"{server.url}/prop"), MirroredEditor(f"{server.url}/prop")
            a.start(tg)
            b.start(tg)
            await wait_until(lambda: a.status is b.status is Status.SAVED, "both saved")
            for by_a, start_f, len_f, inserted, settle in script:
                (a if by_a else b).local(start_f, len_f, inserted)
                if settle:
                    await wait_until(lambda: str(a.text) == str(b.text), "settled")
            await wait_until(
                lambda: a.status is b.status is Status.SAVED and str(a.text) == str(b.text),
                "converged and saved",
            )
            assert a.shadow == str(a.text) == a.index.text
            assert b.shadow == str(b.text) == b.index.text
            await a.client.close()
            await b.client.close()

    asyncio.run(scenario())


class FreezableProxy:
    """A TCP proxy on 127.0.0.1 that can stop forwarding: a network that silently died."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.frozen.is_set():
                continue  # packets vanish; nobody is told
            writer.write(data)
            await writer.drain()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        for a, b in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(a, b))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            server.close()
            await server.wait_closed()


@pytest.mark.asyncio
async def test_a_silently_dead_network_is_noticed_by_the_heartbeat() -> None:
    async with relay() as server:
        proxy = FreezableProxy(server.port)
        async with proxy.running() as port, asyncio.TaskGroup() as tg:
            ed = Editor(f"ws://127.0.0.1:{port}/dead", heartbeat=0.2)
            ed.start(tg)
            await wait_until(lambda: ed.status is Status.SAVED, "saved")
            proxy.frozen.set()
            started = time.monotonic()
            await wait_until(lambda: ed.status is Status.OFFLINE, "offline after missed pongs")
            assert time.monotonic() - started < 0.2 * 8 / 3 + 1.0  # 40 s at the default 15 s
            await ed.client.close()
