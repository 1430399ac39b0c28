"""A real y-websocket client for tests: ``shared.SyncSession`` over a real WebSocket.

It owns one reader task (in its own TaskGroup) that feeds every incoming message to the
session and flushes replies, records events and close codes, and lets tests wait on a
condition with a deadline instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from pycrdt import Awareness, Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from shared import SUBPROTOCOL, CloseCode, Origin, Role, SyncSession, origin_matches
from shared.session import Event

TIMEOUT = 10.0


async def wait_until(
    predicate: Callable[[], bool],
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    what: str = "",
) -> None:
    """Poll ``predicate`` until true; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.005)


class TestClient:
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
        self.url = url
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.text = self.doc.get("content", type=Text)
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
        self._tg = asyncio.TaskGroup()
        self._sub: Any = None

    async def __aenter__(self) -> Self:
        await self._tg.__aenter__()
        kwargs: dict[str, Any] = {"max_size": 64 * 1024 * 1024, **self._connect_kwargs}
        if self._want_ext:
            kwargs["subprotocols"] = [SUBPROTOCOL]
        self.ws = await connect(self.url, **kwargs)
        self.session = SyncSession(
            self.doc,
            Role.CLIENT,
            extensions=self.ws.subprotocol == SUBPROTOCOL,
            incarnation=self._incarnation,
            awareness=self.awareness,
        )
        self._sub = self.doc.observe(self._on_doc_change)
        self.session.start()
        await self.flush()
        if self._read:
            self._tg.create_task(self._reader())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
        await self._tg.__aexit__(exc_type, exc, tb)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

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

    # -------------------------------------------------------------- helpers

    def edit(self, fn: Callable[[Text], None]) -> None:
        """Apply a local edit (origin LOCAL_EDIT); the update is queued for sending."""
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            fn(self.text)

    async def insert(self, index: int, s: str) -> None:
        self.edit(lambda t: t.insert(index, s))
        await self.flush()

    async def append(self, s: str) -> None:
        self.edit(lambda t: t.__iadd__(s))
        await self.flush()

    async def set_presence(self, state: dict[str, Any] | None) -> None:
        assert self.session is not None
        self.awareness.set_local_state(state)
        self.session.send_awareness(self.awareness.encode_awareness_update([self.doc.client_id]))
        await self.flush()

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
