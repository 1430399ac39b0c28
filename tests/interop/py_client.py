"""A small asyncio Coscribe client for the interop tests: websockets + ``shared.SyncSession``.

It is deliberately the thinnest possible pump around the sans-I/O session (receive ->
``receive_data`` -> flush ``data_to_send``), so that what the tests exercise is the shared
protocol core and the relay, not a second protocol implementation.

Text positions in this API are Python string indexes (code points). pycrdt counts UTF-8
bytes and Yjs counts UTF-16 units; :func:`cp_to_utf8` and :func:`utf16_len` convert.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pycrdt import Awareness, Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from shared import (
    DEFAULT_LIMITS,
    SUBPROTOCOL,
    Origin,
    Role,
    SessionState,
    SyncSession,
    document_url,
    origin_matches,
)
from shared.session import Event

from .waiting import DEADLINE, wait_until

#: Name of the shared Y.Text both kinds of client edit (``client.mjs`` defaults to it too).
TEXT_NAME = "content"


def cp_to_utf8(s: str, cp: int) -> int:
    """Code-point index in ``s`` -> pycrdt's UTF-8 byte offset."""
    return len(s[:cp].encode("utf-8"))


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units: Yjs' index unit."""
    return len(s.encode("utf-16-le")) // 2


class PyClient:
    """One connected Python peer. Create with :func:`py_client`."""

    def __init__(self, ws: ClientConnection, session: SyncSession, awareness: Awareness) -> None:
        self.ws = ws
        self.session = session
        self.doc = session.doc
        self.text: Text = self.doc.get(TEXT_NAME, type=Text)
        self.awareness = awareness
        #: Every event the session produced, in order (HELLO, Synced, ACKs...).
        self.events: list[Event] = []
        self._send_lock = asyncio.Lock()
        self._subscription = self.doc.observe(self._on_transaction)

    # ------------------------------------------------------------------ pumping

    def _on_transaction(self, event: TransactionEvent) -> None:
        # Forward local changes only; what the session applied from the wire is REMOTE.
        # pycrdt 0.14 sets ``transaction`` on TransactionEvent at runtime but its stubs omit it.
        origin = event.transaction.origin()  # type: ignore[attr-defined]
        if origin_matches(origin, Origin.REMOTE):
            return
        if not self.session.closed:
            self.session.send_update(event.update)

    async def flush(self) -> None:
        """Send everything the session has queued, in order."""
        async with self._send_lock:
            for message in self.session.data_to_send():
                await self.ws.send(message)

    async def pump(self) -> None:
        """Feed every incoming message to the session until the connection closes."""
        try:
            async for message in self.ws:
                assert isinstance(message, bytes), f"text frame from server: {message!r}"
                self.session.receive_data(message)
                self.events.extend(self.session.events_received())
                await self.flush()
        finally:
            self.session.close()
            self.doc.unobserve(self._subscription)

    # ------------------------------------------------------------------ state

    @property
    def synced(self) -> bool:
        return self.session.state is SessionState.SYNCED

    @property
    def value(self) -> str:
        return str(self.text)

    def diff(self) -> list[tuple[Any, dict[str, Any] | None]]:
        return self.text.diff()

    def awareness_states(self) -> dict[int, dict[str, Any]]:
        return dict(self.awareness.states)

    async def wait_synced(self, within: float = DEADLINE) -> None:
        await wait_until(lambda: self.synced, "the python client to sync", within=within)

    async def wait_text(self, expected: str, within: float = DEADLINE) -> None:
        await wait_until(
            lambda: self.value == expected,
            f"python text == {expected!r} (have {self.value!r})",
            within=within,
        )

    # ------------------------------------------------------------------ edits

    async def insert(self, index: int, s: str, attrs: dict[str, Any] | None = None) -> None:
        """Insert ``s`` at code-point ``index`` and send the update."""
        at = cp_to_utf8(self.value, index)
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(at, s, attrs)
        await self.flush()

    async def delete(self, index: int, length: int) -> None:
        """Delete ``length`` code points at code-point ``index`` and send the update."""
        current = self.value
        start, stop = cp_to_utf8(current, index), cp_to_utf8(current, index + length)
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            del self.text[start:stop]
        await self.flush()

    async def format(self, index: int, length: int, attrs: dict[str, Any]) -> None:
        """Apply attributes to ``length`` code points at ``index`` and send the update."""
        current = self.value
        start, stop = cp_to_utf8(current, index), cp_to_utf8(current, index + length)
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.format(start, stop, attrs)
        await self.flush()

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        """Publish our presence (None = 'I left')."""
        self.awareness.set_local_state(state)
        self.session.send_awareness(
            self.awareness.encode_awareness_update([self.awareness.client_id])
        )
        await self.flush()


@asynccontextmanager
async def py_client(
    server_url: str, room: str, *, coscribe_v1: bool = False
) -> AsyncIterator[PyClient]:
    """Connect a Python peer to ``room``; on exit, close the connection (no goodbye message).

    With ``coscribe_v1`` the client offers the ``coscribe.v1`` subprotocol and speaks the
    extensions iff the server selects it.
    """
    subprotocols = [Subprotocol(SUBPROTOCOL)] if coscribe_v1 else None
    async with connect(
        document_url(server_url, room),
        subprotocols=subprotocols,
        max_size=DEFAULT_LIMITS.max_message_size,
        open_timeout=DEADLINE,
    ) as ws:
        doc: Doc[Any] = Doc()
        awareness = Awareness(doc)
        awareness.set_local_state(None)  # publish nothing until a test sets a state
        session = SyncSession(
            doc, Role.CLIENT, extensions=ws.subprotocol == SUBPROTOCOL, awareness=awareness
        )
        client = PyClient(ws, session, awareness)
        session.start()
        await client.flush()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(client.pump())
            try:
                yield client
            finally:
                await ws.close()
