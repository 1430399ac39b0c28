"""SyncSession: the sans-I/O core of one y-websocket connection, for either end.

Bytes in (:meth:`SyncSession.receive_data`), bytes out (:meth:`SyncSession.data_to_send`)
and typed events out (:meth:`SyncSession.events_received`). There is no asyncio,
websockets or Qt in here, so the relay server, the editor's sync client and the tests all
drive this same object (the way ``websockets`` and ``h11`` separate protocol from I/O).

What the session does by itself, per y-websocket:

* answers SYNC step 1 with step 2 computed from its ``doc``;
* applies step 2 and updates to its ``doc`` inside a transaction tagged with ``origin``
  (after validating the update, so garbage never reaches the CRDT). A server session
  is given the room's :class:`~shared.update_gate.UpdateGate`: an update reaches the
  document only if it integrates completely; one that builds on structs that have not
  arrived yet is held (bounded) and retried after the peer's next update;
* on a client with an ``awareness``, applies remote awareness and answers QUERY_AWARENESS.

And, on a ``coscribe.v1`` connection (``extensions=True``):

* a server session sends HELLO (document incarnation and the peer's role) first, and sends
  ACK(n) when told through :meth:`acknowledge` that the peer's first n document messages
  are durably stored;
* a client session waits for HELLO before it sends any document state, refuses to sync
  with a different incarnation than the one its local copy came from, and counts sent
  versus acknowledged document messages (:attr:`all_acknowledged`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt
from pycrdt import Awareness, Doc

from .access import Role
from .errors import (
    DocumentPoisoned,
    InvalidState,
    InvalidUpdate,
    ProtocolError,
    UnknownMessageType,
    crdt_errors,
)
from .limits import DEFAULT_LIMITS, ProtocolLimits
from .messages import (
    EMPTY_UPDATE,
    Ack,
    AuthPermissionDenied,
    AwarenessUpdate,
    Hello,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
)
from .origins import Origin
from .states import SessionState, Side, check_transition
from .update_gate import Admitted, MissingDependencies, UpdateGate

#: A state vector that names no client: the asker wants the whole document.
EMPTY_STATE_VECTOR = b"\x00"

# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class HelloReceived:
    """Client: the server's HELLO, incarnation accepted."""

    incarnation: str
    role: Role


@dataclass(frozen=True, slots=True)
class Synced:
    """Client: the server's step 2 was applied; the local doc has everything the server had."""


@dataclass(frozen=True, slots=True)
class RemoteUpdate:
    """A document update from the peer was applied to ``doc``.

    ``index`` is the 1-based number of this document message on this connection (step 2
    replies and updates both count); a server acknowledges durability by index.
    ``update`` is the Yjs update for relaying and storage: as received, or, with a gate,
    without the clocks the document already had (see ``Admitted.gained``).
    """

    update: bytes
    index: int

    @property
    def empty(self) -> bool:
        return self.update == EMPTY_UPDATE


@dataclass(frozen=True, slots=True)
class UpdateRejected:
    """Server: a read-only peer sent a document update; it was dropped."""

    index: int


@dataclass(frozen=True, slots=True)
class UpdateHeld:
    """Server: an update builds on structs the document lacks; held until they arrive."""

    index: int


@dataclass(frozen=True, slots=True)
class HeldUpdateRefused:
    """Server: a held update turned out to be invalid once what it built on arrived.

    It was dropped; the caller closes the connection (after handling the other events of
    the same message, which may include an update that was applied).
    """

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class AwarenessReceived:
    """The peer sent an awareness update (already applied on a client with awareness)."""

    update: AwarenessUpdate


@dataclass(frozen=True, slots=True)
class StateRequested:
    """Server: the peer sent step 1 and was answered with ``size`` bytes of step 2."""

    size: int


@dataclass(frozen=True, slots=True)
class AwarenessQueried:
    """Server: the peer asked for every awareness state."""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """Client: the server has durably stored our first ``count`` document messages."""

    count: int


@dataclass(frozen=True, slots=True)
class PermissionDeniedReceived:
    """Client: the server refused access (y-websocket auth message)."""

    reason: str


@dataclass(frozen=True, slots=True)
class IncarnationMismatched:
    """Client: the server's document is another incarnation; nothing was merged."""

    local: str
    remote: str


Event = (
    HelloReceived
    | Synced
    | RemoteUpdate
    | UpdateRejected
    | UpdateHeld
    | HeldUpdateRefused
    | AwarenessReceived
    | AwarenessQueried
    | StateRequested
    | Acknowledged
    | PermissionDeniedReceived
    | IncarnationMismatched
)


class SyncSession:
    """One end of one y-websocket connection over a pycrdt ``Doc``.

    Args:
        doc: the document this connection syncs. A server passes the room's document.
        side: ``Side.CLIENT`` or ``Side.SERVER``.
        extensions: the coscribe.v1 subprotocol was negotiated.
        incarnation: server: the document's incarnation id (sent in HELLO, required with
            extensions); client: the incarnation the local copy came from, or None if it
            never synced.
        writable: server: whether this peer may change the document (False for viewers).
        awareness: client: the local Awareness; remote states are applied to it.
        origin: the transaction origin for updates applied from this peer.
        limits: size limits.
        gate: server: the room's update gate, shared by every session on the document.
            Every update is admitted by it before it touches ``doc`` (see
            ``shared.update_gate``). Without a gate updates are only parsed first.
        full_state: server: returns the step 2 message carrying ``doc``'s whole state,
            cached by the caller per document version, to answer the step 1 of a peer that
            has nothing (one encoding and one copy for any number of such peers).
    """

    # A relay holds one session per connection: slots keep each one small.
    __slots__ = (
        "_acked_sent",
        "_events",
        "_out",
        "_received_doc_messages",
        "_started",
        "acknowledged_document_messages",
        "awareness",
        "doc",
        "extensions",
        "full_state",
        "gate",
        "held",
        "incarnation",
        "limits",
        "origin",
        "role",
        "scope",
        "side",
        "sent_document_messages",
        "server_role",
        "state",
        "writable",
    )

    def __init__(
        self,
        doc: Doc[Any],
        side: Side,
        *,
        extensions: bool = False,
        incarnation: str | None = None,
        writable: bool = True,
        role: Role | None = None,
        awareness: Awareness | None = None,
        origin: Any = Origin.REMOTE,
        limits: ProtocolLimits = DEFAULT_LIMITS,
        gate: UpdateGate | None = None,
        full_state: Callable[[], bytes] | None = None,
    ) -> None:
        if side is Side.SERVER and extensions and incarnation is None:
            raise InvalidState("a server session with extensions needs the document incarnation")
        self.doc = doc
        self.side = side
        self.extensions = extensions
        self.incarnation = incarnation
        if role is None:
            role = Role.EDITOR if writable else Role.VIEWER
        #: Server: what the peer's link allows; its updates may touch only ``scope``.
        self.role = role
        self.writable = role.may_write
        self.scope = role.scope
        self.awareness = awareness
        self.origin = origin
        self.limits = limits
        self.gate = gate
        self.full_state = full_state
        #: Server: (message index, update) held until what they build on arrives.
        self.held: list[tuple[int, bytes]] = []
        self.state = SessionState.CONNECTING
        self.server_role: Role | None = None
        self._started = False
        self._out: list[bytes] = []
        self._events: list[Event] = []
        # Document messages (step 2 and updates) counted per direction, for ACKs.
        self._received_doc_messages = 0
        self._acked_sent = 0  # server: highest ACK sent
        self.sent_document_messages = 0  # client
        self.acknowledged_document_messages = 0  # client

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Queue the opening messages. Call once, right after the connection opened."""
        if self._started:
            raise InvalidState("session already started")
        self._started = True
        if self.side is Side.SERVER:
            if self.extensions:
                assert self.incarnation is not None
                self._out.append(Hello(self.incarnation, self.role).encode())
            self._set_state(SessionState.SYNCING)
            self._out.append(SyncStep1(self.doc.get_state()).encode())
        elif not self.extensions:
            self._begin_client_sync()
        # A client with extensions waits for HELLO in CONNECTING.

    def close(self) -> None:
        """Mark the session closed (idempotent). Nothing is sent or applied afterwards."""
        if self.state is not SessionState.CLOSED:
            self._set_state(SessionState.CLOSED)

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    # ------------------------------------------------------------------ I/O buffers

    def data_to_send(self) -> list[bytes]:
        """Take the messages to send, in order (each is one binary WebSocket message)."""
        out, self._out = self._out, []
        return out

    def events_received(self) -> list[Event]:
        """Take the events produced since the last call, in order."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ outgoing

    def send_update(self, update: bytes) -> None:
        """Queue a local document update for the peer.

        On a client that is still waiting for the server's HELLO the update is not queued:
        it is part of the doc and goes out in the step 2 reply to the server's step 1.
        """
        self._require_open()
        if self.side is Side.CLIENT and self.state is SessionState.CONNECTING:
            return
        self._out.append(SyncUpdate(update).encode())
        if self.side is Side.CLIENT:
            self.sent_document_messages += 1

    def send_awareness(self, payload: bytes) -> None:
        """Queue an awareness update (the payload from ``Awareness.encode_awareness_update``)."""
        self._require_open()
        if self.side is Side.CLIENT and self.state is SessionState.CONNECTING:
            return
        self._out.append(AwarenessUpdate(payload, ()).encode())

    def send_raw(self, message: bytes) -> None:
        """Queue an already-encoded message (used by relays that encode once for many peers)."""
        self._require_open()
        self._out.append(message)

    def acknowledge(self, count: int) -> bool:
        """Server: the peer's first ``count`` document messages are durable; send ACK.

        Never acknowledges past a held update: it is not in the document yet. Returns
        whether an ACK was queued.
        """
        if self.side is not Side.SERVER:
            raise InvalidState("only a server acknowledges")
        if count > self._received_doc_messages:
            raise InvalidState(
                f"cannot acknowledge {count} of {self._received_doc_messages} messages"
            )
        if self.held:
            count = min(count, self.held[0][0] - 1)
        if self.extensions and count > self._acked_sent and not self.closed:
            self._acked_sent = count
            self._out.append(Ack(count).encode())
            return True
        return False

    @property
    def received_document_messages(self) -> int:
        return self._received_doc_messages

    @property
    def all_acknowledged(self) -> bool:
        """Client: synced, and the server confirmed every document message we sent.

        A viewer (the server's HELLO said so) has nothing to confirm: the server drops its
        document messages and stores nothing of theirs, so once synced it is up to date
        (its status must not stay "saving" while it waits for acknowledgements).
        """
        if not (self.extensions and self.state is SessionState.SYNCED):
            return False
        if self.server_role is not None and not self.server_role.may_write:
            return True
        return self.acknowledged_document_messages >= self.sent_document_messages

    # ------------------------------------------------------------------ incoming

    def receive_data(self, data: bytes) -> None:
        """Process one incoming WebSocket message.

        Raises:
            ProtocolError: the message is malformed, of an unknown type, or carries an
                invalid update. The document is unchanged; close the connection with
                ``exc.close_code``.
            InvalidState: the session is closed or not started.
        """
        self._require_open()
        msg = decode_message(data, extensions=self.extensions, limits=self.limits)
        if isinstance(msg, SyncStep1):
            if self.side is Side.CLIENT and self.state is SessionState.CONNECTING:
                raise ProtocolError("server sent sync step 1 before hello")
            if self.full_state is not None and msg.state_vector == EMPTY_STATE_VECTOR:
                reply = self.full_state()  # cached per document version by the caller
            else:
                try:
                    update = self.doc.get_update(msg.state_vector)
                except ValueError:
                    raise InvalidUpdate("sync step 1 carries an invalid state vector") from None
                reply = SyncStep2(update).encode()
            self._out.append(reply)
            if self.side is Side.CLIENT:
                self.sent_document_messages += 1
            else:
                self._events.append(StateRequested(len(reply)))
        elif isinstance(msg, SyncStep2 | SyncUpdate):
            self._receive_update(msg.update, step2=isinstance(msg, SyncStep2))
        elif isinstance(msg, AwarenessUpdate):
            if self.awareness is not None:
                self.awareness.apply_awareness_update(msg.payload, self.origin)
            self._events.append(AwarenessReceived(msg))
        elif isinstance(msg, QueryAwareness):
            if self.side is Side.SERVER:
                self._events.append(AwarenessQueried())
            elif self.awareness is not None and self.awareness.get_local_state() is not None:
                payload = self.awareness.encode_awareness_update([self.awareness.client_id])
                self._out.append(AwarenessUpdate(payload, ()).encode())
        elif isinstance(msg, AuthPermissionDenied):
            if self.side is Side.SERVER:
                raise UnknownMessageType("clients may not send auth messages")
            self._events.append(PermissionDeniedReceived(msg.reason))
        elif isinstance(msg, Hello):
            self._receive_hello(msg)
        elif isinstance(msg, Ack):
            if self.side is Side.SERVER:
                raise UnknownMessageType("clients may not send ack messages")
            if msg.count > self.sent_document_messages:
                raise ProtocolError(
                    f"server acknowledged {msg.count} of {self.sent_document_messages} messages"
                )
            if msg.count > self.acknowledged_document_messages:
                self.acknowledged_document_messages = msg.count
                self._events.append(Acknowledged(msg.count))

    # ------------------------------------------------------------------ internals

    def _receive_update(self, update: bytes, *, step2: bool) -> None:
        if self.side is Side.CLIENT and self.state is SessionState.CONNECTING:
            raise ProtocolError("server sent document state before hello")
        if self.side is Side.SERVER:
            self._received_doc_messages += 1
            index = self._received_doc_messages
            if not self.writable:
                self._events.append(UpdateRejected(index))
                return
        else:
            index = 0
        gate = self.gate
        if update == EMPTY_UPDATE:
            pass
        elif gate is not None:
            try:
                admitted = gate.admit(update, self.scope)
            except MissingDependencies:
                self._hold(index, update)
                return
            self._apply_admitted(gate, admitted)
            update = admitted.gained()
        else:
            self._apply(update)
        self._events.append(RemoteUpdate(update, index))
        if gate is not None and self.held:
            self._retry_held(gate)
        if step2 and self.side is Side.CLIENT and self.state is SessionState.SYNCING:
            self._set_state(SessionState.SYNCED)
            self._events.append(Synced())

    def _hold(self, index: int, update: bytes) -> None:
        limits = self.limits
        held_bytes = sum(len(u) for _, u in self.held) + len(update)
        if len(self.held) >= limits.max_held_updates or held_bytes > limits.max_held_bytes:
            raise MissingDependencies(
                "update builds on structs the document does not have, and too many "
                "such updates are already waiting"
            )
        self.held.append((index, update))
        self._events.append(UpdateHeld(index))

    def _retry_held(self, gate: UpdateGate) -> None:
        """Apply held updates that can now integrate, until none can."""
        progressed = True
        while progressed and self.held:
            progressed = False
            for entry in list(self.held):
                index, update = entry
                try:
                    admitted = gate.admit(update, self.scope)
                    self._apply_admitted(gate, admitted)
                except MissingDependencies:
                    continue
                except InvalidUpdate as exc:
                    # Never raise here: the update that released it is already applied,
                    # and its events must still reach the caller.
                    self.held.remove(entry)
                    self._events.append(HeldUpdateRefused(index, str(exc)))
                    continue
                self.held.remove(entry)
                self._events.append(RemoteUpdate(admitted.gained(), index))
                progressed = True

    def _apply_admitted(self, gate: UpdateGate, admitted: Admitted) -> None:
        try:
            # yrs decodes the whole update before integrating any of it: bytes it cannot
            # decode are refused here, with the document untouched.
            pycrdt.get_state(admitted.update)
        except ValueError:
            raise InvalidUpdate("update does not decode") from None
        with crdt_errors(DocumentPoisoned), self.doc.transaction(origin=self.origin):
            self.doc.apply_update(admitted.update)
        gate.commit(admitted)

    def _apply(self, update: bytes) -> None:
        try:
            pycrdt.get_state(update)  # parses the whole update without touching the doc
        except ValueError:
            raise InvalidUpdate("update does not decode") from None
        # yrs reports structurally impossible updates as RuntimeError("Cannot apply ...").
        with crdt_errors(InvalidUpdate), self.doc.transaction(origin=self.origin):
            self.doc.apply_update(update)

    def _receive_hello(self, hello: Hello) -> None:
        if self.side is Side.SERVER:
            raise UnknownMessageType("clients may not send hello messages")
        if self.state is not SessionState.CONNECTING:
            raise ProtocolError("duplicate hello")
        self.server_role = hello.role
        if self.incarnation is not None and hello.incarnation != self.incarnation:
            self._events.append(IncarnationMismatched(self.incarnation, hello.incarnation))
            self.close()
            return
        self.incarnation = hello.incarnation
        self._events.append(HelloReceived(hello.incarnation, hello.role))
        self._begin_client_sync()

    def _begin_client_sync(self) -> None:
        self._set_state(SessionState.SYNCING)
        self._out.append(SyncStep1(self.doc.get_state()).encode())
        aw = self.awareness
        if aw is not None and aw.get_local_state() is not None:
            payload = aw.encode_awareness_update([aw.client_id])
            self._out.append(AwarenessUpdate(payload, ()).encode())

    def _require_open(self) -> None:
        if not self._started:
            raise InvalidState("session not started; call start() first")
        if self.state is SessionState.CLOSED:
            raise InvalidState("session is closed")

    def _set_state(self, new: SessionState) -> None:
        check_transition(self.state, new)
        self.state = new
