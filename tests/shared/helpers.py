"""Test harness over real ``SyncSession`` objects: no sockets, no mocks, no sleeps.

* :class:`Link` is one WebSocket connection: a client-role and a server-role session and
  the two in-flight message queues between them. Messages move only when a test says so,
  so any interleaving (and any loss, by disconnecting with messages in flight) can be
  produced deterministically.
* :class:`ClientPeer` is an editor: its own ``Doc`` with a root ``Text`` named
  ``content``. Local edits happen in ``Origin.LOCAL_EDIT`` transactions and are forwarded
  to the current session the way ``editor_app.sync_client`` does (by observing the doc).
* :class:`SessionPair` is one client and one server doc over one link (h11's
  ``ConnectionPair`` idea).
* :class:`FakeRelay` is the relay server's behaviour in miniature: one shared server
  ``Doc`` and one server-role session per connected client. Every update a session
  applies is relayed to every *other* open session (never back to the sender) and
  acknowledged at once (the in-memory "store" is durable as soon as it is written).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Decoder, Doc, Text, TransactionEvent

from shared.messages import decode_message
from shared.origins import Origin, origin_matches
from shared.session import (
    AwarenessReceived,
    Event,
    IncarnationMismatched,
    RemoteUpdate,
    SyncSession,
)
from shared.states import SessionState, Side

TEXT_NAME = "content"


# --------------------------------------------------------------------------- text offsets


def doc_with_text(s: str) -> Doc[Any]:
    """A fresh document whose shared text (``TEXT_NAME``) holds ``s``."""
    doc: Doc[Any] = Doc()
    doc.get(TEXT_NAME, type=Text).insert(0, s)
    return doc


def byte_offset(s: str, code_points: int) -> int:
    """pycrdt Text positions are UTF-8 byte offsets: convert a code point index."""
    return len(s[:code_points].encode("utf-8"))


def transaction_origin(event: TransactionEvent) -> Any:
    """The origin of a ``Doc.observe`` event: ``hash(origin)`` or None (see shared.origins).

    pycrdt 0.14's type stubs do not declare ``TransactionEvent.transaction``; it exists.
    """
    return event.transaction.origin()  # type: ignore[attr-defined]


def state_vector(doc: Doc[Any]) -> dict[int, int]:
    """The doc's state vector as {client id: clock}.

    Compare these, not ``get_state()`` bytes: yrs writes the entries in hash-map order,
    so two docs with the same state can encode it differently.
    """
    decoder = Decoder(doc.get_state())
    count = decoder.read_var_uint()
    pairs = [(decoder.read_var_uint(), decoder.read_var_uint()) for _ in range(count)]
    return dict(pairs)


def state_of(session: SyncSession) -> SessionState:
    """The session's state, through a call so that type checkers do not narrow it."""
    return session.state


# --------------------------------------------------------------------------- peers


class ClientPeer:
    """An editor process: a doc, its text, and the session of its current connection."""

    def __init__(
        self, name: str, *, incarnation: str | None = None, client_id: int | None = None
    ) -> None:
        self.name = name
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.session: SyncSession | None = None
        #: The incarnation the local copy belongs to (learned from the first HELLO).
        self.incarnation = incarnation
        self._sub = self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        # Forward local edits only: remote updates are tagged Origin.REMOTE by the session.
        session = self.session
        if session is None or session.closed:
            return
        if origin_matches(transaction_origin(event), Origin.LOCAL_EDIT):
            session.send_update(event.update)

    def insert(self, code_point: int, s: str) -> None:
        current = str(self.text)
        code_point = min(code_point, len(current))
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(byte_offset(current, code_point), s)

    def _byte_span(self, start: int, length: int) -> tuple[int, int] | None:
        """Byte offsets of ``length`` code points from code point ``start``, clamped to the
        text; None when that is empty."""
        current = str(self.text)
        start = min(start, len(current))
        end = min(start + length, len(current))
        if start == end:
            return None
        return byte_offset(current, start), byte_offset(current, end)

    def delete(self, start: int, length: int) -> None:
        """Delete ``length`` code points from code point ``start`` (clamped to the text)."""
        span = self._byte_span(start, length)
        if span is not None:
            with self.doc.transaction(origin=Origin.LOCAL_EDIT):
                del self.text[span[0] : span[1]]

    def format(self, start: int, length: int, attributes: dict[str, Any]) -> None:
        """Format ``length`` code points from code point ``start`` (clamped to the text)."""
        span = self._byte_span(start, length)
        if span is not None:
            with self.doc.transaction(origin=Origin.LOCAL_EDIT):
                self.text.format(*span, attributes)

    def __str__(self) -> str:
        return str(self.text)


# --------------------------------------------------------------------------- one connection


@dataclass
class Link:
    """One connection: a client session, a server session and the messages in flight."""

    client: SyncSession
    server: SyncSession
    to_server: deque[bytes] = field(default_factory=deque)
    to_client: deque[bytes] = field(default_factory=deque)
    client_events: list[Event] = field(default_factory=list)
    server_events: list[Event] = field(default_factory=list)

    def collect(self) -> None:
        """Move queued output into the in-flight queues and events into the logs."""
        self.to_server.extend(self.client.data_to_send())
        self.to_client.extend(self.server.data_to_send())
        self.client_events.extend(self.client.events_received())
        self.server_events.extend(self.server.events_received())

    @property
    def open(self) -> bool:
        return not (self.client.closed or self.server.closed)

    @property
    def idle(self) -> bool:
        self.collect()
        return not self.to_server and not self.to_client

    def _deliver(self, in_flight: deque[bytes], to: SyncSession, log: list[Event]) -> list[Event]:
        """Deliver the oldest message of ``in_flight`` to ``to``; return its new events."""
        self.collect()
        data = in_flight.popleft()
        if to.closed:
            return []
        to.receive_data(data)
        events = to.events_received()
        log.extend(events)
        return events

    def deliver_to_server(self) -> list[Event]:
        """Deliver the oldest client->server message; return the server's new events."""
        events = self._deliver(self.to_server, self.server, self.server_events)
        self.collect()
        return events

    def deliver_to_client(self) -> list[Event]:
        """Deliver the oldest server->client message; return the client's new events."""
        events = self._deliver(self.to_client, self.client, self.client_events)
        if any(isinstance(e, IncarnationMismatched) for e in events):
            # What a real client adapter does: close the socket, drop what is in flight.
            self.server.close()
            self.to_client.clear()
            self.to_server.clear()
        self.collect()
        return events

    def close(self) -> None:
        """Drop the connection: both ends closed, everything in flight lost."""
        self.client.close()
        self.server.close()
        self.to_server.clear()
        self.to_client.clear()


def message_types(messages: list[bytes], *, extensions: bool = True) -> list[str]:
    """Names of the decoded message classes, for asserting on handshake sequences."""
    return [type(decode_message(m, extensions=extensions)).__name__ for m in messages]


# --------------------------------------------------------------------------- a pair


class SessionPair:
    """One client peer and one server doc over one link; the server acks immediately."""

    def __init__(
        self,
        *,
        extensions: bool = False,
        server_incarnation: str = "inc-1",
        client_incarnation: str | None = None,
        writable: bool = True,
        client_kwargs: dict[str, Any] | None = None,
        server_doc: Doc[Any] | None = None,
        auto_ack: bool = True,
        start: bool = True,
    ) -> None:
        self.peer = ClientPeer("client", incarnation=client_incarnation)
        self.server_doc: Doc[Any] = server_doc if server_doc is not None else Doc()
        self.server_text = self.server_doc.get(TEXT_NAME, type=Text)
        self.auto_ack = auto_ack
        client = SyncSession(
            self.peer.doc,
            Side.CLIENT,
            extensions=extensions,
            incarnation=client_incarnation,
            **(client_kwargs or {}),
        )
        server = SyncSession(
            self.server_doc,
            Side.SERVER,
            extensions=extensions,
            incarnation=server_incarnation if extensions else None,
            writable=writable,
        )
        self.client, self.server = client, server
        self.link = Link(client, server)
        if start:
            self.start()

    def start(self) -> None:
        self.server.start()
        self.client.start()
        self.peer.session = self.client  # forward local edits only once started
        self.link.collect()

    def to_server(self) -> list[Event]:
        events = self.link.deliver_to_server()
        if self.auto_ack and not self.server.closed:
            self.server.acknowledge(self.server.received_document_messages)
        return events

    def to_client(self) -> list[Event]:
        return self.link.deliver_to_client()

    def run(self, max_steps: int = 1000) -> None:
        """Deliver in both directions until nothing is in flight."""
        for _ in range(max_steps):
            if self.link.idle:
                return
            if self.link.to_server:
                self.to_server()
            if self.link.to_client:
                self.to_client()
        raise AssertionError("the pair did not quiesce")


# --------------------------------------------------------------------------- a relay


class FakeRelay:
    """The relay's fan-out over real sessions: one server doc, one session per client.

    Args:
        clients: the editor peers (each keeps its own doc across reconnects).
        extensions: connect with the coscribe.v1 extensions.
        incarnation: the server document's incarnation id.
    """

    def __init__(
        self,
        clients: list[ClientPeer],
        *,
        extensions: bool = False,
        incarnation: str = "inc-1",
        client_id: int | None = None,
    ) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.clients = clients
        self.extensions = extensions
        self.incarnation = incarnation
        self.links: list[Link | None] = [None] * len(clients)

    def connect(self, i: int) -> Link:
        """Open a fresh connection (new session pair) for client ``i``."""
        if self.links[i] is not None:
            self.disconnect(i)
        peer = self.clients[i]
        client = SyncSession(
            peer.doc, Side.CLIENT, extensions=self.extensions, incarnation=peer.incarnation
        )
        server = SyncSession(
            self.doc,
            Side.SERVER,
            extensions=self.extensions,
            incarnation=self.incarnation if self.extensions else None,
        )
        link = Link(client, server)
        self.links[i] = link
        server.start()
        client.start()
        peer.session = client
        link.collect()
        return link

    def disconnect(self, i: int) -> None:
        link = self.links[i]
        if link is not None:
            link.close()
        self.links[i] = None
        self.clients[i].session = None

    def connected(self) -> list[int]:
        return [i for i, link in enumerate(self.links) if link is not None]

    def pending(self) -> list[tuple[int, str]]:
        """(client index, "up" | "down") for every queue with a message in flight."""
        out: list[tuple[int, str]] = []
        for i, link in enumerate(self.links):
            if link is None:
                continue
            link.collect()
            if link.to_server:
                out.append((i, "up"))
            if link.to_client:
                out.append((i, "down"))
        return out

    def deliver(self, i: int, direction: str) -> None:
        """Deliver one message on link ``i`` ("up" = client to server)."""
        link = self.links[i]
        assert link is not None
        if direction == "down":
            link.deliver_to_client()
            if link.client.incarnation is not None:
                self.clients[i].incarnation = link.client.incarnation
            return
        for event in link.deliver_to_server():
            self._on_server_event(i, event)
        if not link.server.closed:
            link.server.acknowledge(link.server.received_document_messages)
            link.collect()

    def _on_server_event(self, sender: int, event: Event) -> None:
        message: Callable[[SyncSession], None] | None = None
        if isinstance(event, RemoteUpdate) and not event.empty:
            update = event.update

            def message(s: SyncSession) -> None:
                s.send_update(update)
        elif isinstance(event, AwarenessReceived):
            raw = event.update.encode()

            def message(s: SyncSession) -> None:
                s.send_raw(raw)

        if message is None:
            return
        for j, link in enumerate(self.links):
            if j != sender and link is not None and not link.server.closed:
                message(link.server)
                link.collect()

    def run(self, max_steps: int = 100_000) -> None:
        """Deliver everything in flight (round robin) until every queue is empty."""
        for _ in range(max_steps):
            pending = self.pending()
            if not pending:
                return
            for i, direction in pending:
                self.deliver(i, direction)
        raise AssertionError("the relay did not quiesce")
