"""A real y-websocket client for tests: ``shared.SyncSession`` over a real WebSocket.

It owns one reader task (in its own TaskGroup) that feeds every incoming message to the
session and flushes replies, records events and close codes, and lets tests wait on a
condition with a deadline instead of sleeping.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pycrdt import Awareness, Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shared import (
    DEFAULT_LIMITS,
    SUBPROTOCOL,
    CloseCode,
    Origin,
    Side,
    SyncSession,
    document_url,
    origin_matches,
)
from shared.session import Event
from tests.support import waiting
from tests.support.tasks import TaskGroupOwner
from tests.support.waiting import DEADLINE

#: Name of the shared Y.Text every kind of client edits (the Node ``client.mjs`` too).
TEXT_NAME = "content"


def cp_to_utf8(s: str, cp: int) -> int:
    """Code-point index in ``s`` -> pycrdt's UTF-8 byte offset."""
    return len(s[:cp].encode("utf-8"))


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units: Yjs' index unit."""
    return len(s.encode("utf-16-le")) // 2


class TestClient(TaskGroupOwner):
    """``async with TestClient(url) as c:`` — connects, syncs in the background."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        url: str,
        *,
        extensions: bool = True,
        doc: Doc[Any] | None = None,
        user: dict[str, Any] | None = None,
        incarnation: str | None = None,
        read: bool = True,
        **connect_kwargs: Any,
    ) -> None:
        super().__init__()
        self.url = url
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.awareness = Awareness(self.doc)
        if user is not None:
            self.awareness.set_local_state({"user": user})
        else:
            self.awareness.set_local_state(None)
        self._want_ext = extensions
        self._incarnation = incarnation
        self._read = read
        self._connect_kwargs = connect_kwargs
        self.events: list[Event] = []
        self.raw_received: list[bytes] = []
        self.ws: ClientConnection | None = None
        self.session: SyncSession | None = None
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._sub: Any = None

    async def _start(self) -> None:
        kwargs: dict[str, Any] = {"max_size": 64 * 1024 * 1024, **self._connect_kwargs}
        if self._want_ext:
            kwargs["subprotocols"] = [SUBPROTOCOL]
        self.ws = await connect(self.url, **kwargs)
        self.session = SyncSession(
            self.doc,
            Side.CLIENT,
            extensions=self.ws.subprotocol == SUBPROTOCOL,
            incarnation=self._incarnation,
            awareness=self.awareness,
        )
        self._sub = self.doc.observe(self._on_doc_change)
        self.session.start()
        await self.flush()
        if self._read:
            self._tg.create_task(self._reader())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def _stop(self) -> None:
        await self.close()

    def _on_doc_change(self, event: TransactionEvent) -> None:
        origin = event.transaction.origin()
        if origin_matches(origin, Origin.REMOTE):
            return
        assert self.session is not None
        if not self.session.closed:
            self.session.send_update(event.update)

    async def flush(self) -> None:
        assert self.ws is not None and self.session is not None
        for message in self.session.data_to_send():
            await self.ws.send(message)

    async def _reader(self) -> None:
        assert self.ws is not None and self.session is not None
        try:
            async for message in self.ws:
                assert isinstance(message, bytes)
                self.raw_received.append(message)
                self.session.receive_data(message)
                self.events.extend(self.session.events_received())
                if self.session.closed:  # e.g. incarnation mismatch: stop, merge nothing
                    await self.ws.close(CloseCode.INCARNATION_MISMATCH, "incarnation mismatch")
                    break
                await self.flush()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason or ""

    # -------------------------------------------------------------- edits

    def edit(self, fn: Callable[[Text], object]) -> None:
        """Apply a local edit (origin LOCAL_EDIT); the update is queued for sending."""
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            fn(self.text)

    def _span(self, index: int, length: int) -> tuple[int, int]:
        """Code-point ``index``/``length`` -> pycrdt's UTF-8 byte offsets (stack-notes §3)."""
        current = self.value
        return cp_to_utf8(current, index), cp_to_utf8(current, index + length)

    async def insert(self, index: int, s: str, attrs: dict[str, Any] | None = None) -> None:
        """Insert ``s`` at code-point ``index`` (with ``attrs``) and send the update."""
        at, _ = self._span(index, 0)
        self.edit(lambda t: t.insert(at, s, attrs))
        await self.flush()

    async def delete(self, index: int, length: int) -> None:
        """Delete ``length`` code points at code-point ``index`` and send the update."""
        start, stop = self._span(index, length)
        self.edit(lambda t: t.__delitem__(slice(start, stop)))
        await self.flush()

    async def format(self, index: int, length: int, attrs: dict[str, Any]) -> None:
        """Apply attributes to ``length`` code points at ``index`` and send the update."""
        start, stop = self._span(index, length)
        self.edit(lambda t: t.format(start, stop, attrs))
        await self.flush()

    async def append(self, s: str) -> None:
        self.edit(lambda t: t.__iadd__(s))
        await self.flush()

    async def set_presence(self, state: dict[str, Any] | None) -> None:
        """Publish our presence (None = 'I left')."""
        assert self.session is not None
        self.awareness.set_local_state(state)
        self.session.send_awareness(self.awareness.encode_awareness_update([self.doc.client_id]))
        await self.flush()

    # -------------------------------------------------------------- state

    @property
    def value(self) -> str:
        return str(self.text)

    def diff(self) -> list[tuple[Any, dict[str, Any] | None]]:
        return self.text.diff()

    def awareness_states(self) -> dict[int, dict[str, Any]]:
        return dict(self.awareness.states)

    async def wait_synced(self, within: float = DEADLINE) -> None:
        await waiting.wait_until(lambda: self.synced, "the python client to sync", within=within)

    async def wait_text(self, expected: str, within: float = DEADLINE) -> None:
        await waiting.wait_until(
            lambda: self.value == expected,
            lambda: f"python text == {expected!r} (have {self.value!r})",
            within=within,
        )

    @property
    def synced(self) -> bool:
        return self.session is not None and self.session.state.value == "synced"

    @property
    def saved(self) -> bool:
        return self.session is not None and self.session.all_acknowledged

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    def __str__(self) -> str:
        return str(self.text)


def py_client(server_url: str, room: str, *, coscribe_v1: bool = False) -> TestClient:
    """A plain y-websocket peer on ``room`` of ``server_url`` (``async with``), as the
    interop tests want it: no presence until a test sets one, the protocol's message limit,
    and, with ``coscribe_v1``, the subprotocol offered (extensions iff the server picks it)."""
    return TestClient(
        document_url(server_url, room),
        extensions=coscribe_v1,
        max_size=DEFAULT_LIMITS.max_message_size,
        open_timeout=DEADLINE,
    )


@contextlib.asynccontextmanager
async def synced_client(url: str, **kwargs: Any) -> AsyncIterator[TestClient]:
    """``async with TestClient(url, **kwargs)``, once it has synced."""
    async with TestClient(url, **kwargs) as client:
        await client.wait_synced()
        yield client


async def refused(url: str, **kwargs: Any) -> tuple[int, str]:
    """Open a WebSocket to ``url`` that the server must refuse at the handshake: its HTTP
    status and body (fails the test if the connection opens)."""
    try:
        async with connect(url, **kwargs):
            pass
    except InvalidStatus as refusal:
        response = refusal.response
        return response.status_code, response.body.decode() if response.body else ""
    raise AssertionError(f"the handshake to {url} was accepted")
