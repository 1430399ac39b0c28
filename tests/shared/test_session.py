"""SyncSession behaviour, driven through the SessionPair harness (real sessions, real docs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import (
    Awareness,
    Doc,
    Text,
    TransactionEvent,
    create_sync_message,
    handle_sync_message,
    read_message,
)

from shared.errors import (
    InvalidState,
    InvalidUpdate,
    ProtocolError,
    UnknownMessageType,
)
from shared.messages import (
    Ack,
    AuthPermissionDenied,
    Hello,
    QueryAwareness,
    SyncStep1,
    SyncUpdate,
    parse_awareness_payload,
)
from shared.origins import Origin, origin_matches
from shared.session import (
    Acknowledged,
    AwarenessQueried,
    AwarenessReceived,
    HelloReceived,
    IncarnationMismatched,
    PermissionDeniedReceived,
    RemoteUpdate,
    Synced,
    SyncSession,
    UpdateRejected,
)
from shared.states import SessionState, Side
from tests.shared.helpers import (
    TEXT_NAME,
    SessionPair,
    doc_with_text,
    message_types,
    state_of,
    transaction_origin,
)


def _event_types(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


# ----------------------------------------------------------------------------- handshakes


def test_stock_handshake_exchanges_state_both_ways() -> None:
    pair = SessionPair(start=False, server_doc=doc_with_text("server "))
    pair.peer.insert(0, "client")  # offline edit before connecting
    pair.server.start()
    pair.client.start()
    assert pair.client.state is SessionState.SYNCING
    assert message_types(pair.server.data_to_send(), extensions=False) == ["SyncStep1"]
    assert message_types(pair.client.data_to_send(), extensions=False) == ["SyncStep1"]


def test_stock_mode_converges_and_never_sees_extension_bytes() -> None:
    pair = SessionPair(server_doc=doc_with_text("server "))
    pair.peer.insert(0, "client ")
    pair.run()
    assert str(pair.peer) == str(pair.server_text)
    assert "client" in str(pair.peer) and "server" in str(pair.peer)
    assert pair.client.state is SessionState.SYNCED
    assert _event_types(pair.link.client_events) == ["RemoteUpdate", "Synced"]
    # The server sent step 1 only; the server never acks or greets a stock client.
    pair.peer.insert(0, "more ")
    pair.run()
    assert str(pair.peer) == str(pair.server_text)
    assert not pair.client.all_acknowledged  # stock mode has no ACKs to wait for


def test_stock_mode_wire_contains_only_y_websocket_types() -> None:
    pair = SessionPair(start=False, server_doc=doc_with_text("abc"))
    pair.server.start()
    pair.client.start()
    sent_down: list[bytes] = []
    sent_up: list[bytes] = []
    for _ in range(5):
        down, up = pair.server.data_to_send(), pair.client.data_to_send()
        sent_down += down
        sent_up += up
        for m in down:
            pair.client.receive_data(m)
        for m in up:
            pair.server.receive_data(m)
        pair.server.acknowledge(pair.server.received_document_messages)
    assert set(message_types(sent_down, extensions=False)) == {"SyncStep1", "SyncStep2"}
    assert set(message_types(sent_up, extensions=False)) == {"SyncStep1", "SyncStep2"}


def test_extension_handshake_hello_first_and_client_waits() -> None:
    awareness = Awareness(Doc())
    awareness.set_local_state({"user": {"name": "A", "color": "#000"}})
    pair = SessionPair(
        extensions=True,
        start=False,
        server_doc=doc_with_text("srv"),
        client_kwargs={"awareness": awareness},
    )
    pair.server.start()
    pair.client.start()
    down = pair.server.data_to_send()
    assert message_types(down) == ["Hello", "SyncStep1"]
    assert pair.client.state is SessionState.CONNECTING
    assert pair.client.data_to_send() == []  # nothing before HELLO
    pair.peer.insert(0, "|typed while connecting|")
    assert pair.client.data_to_send() == []  # still nothing: it goes out in step 2

    pair.client.receive_data(down[0])
    assert pair.client.events_received() == [HelloReceived("inc-1", "editor")]
    assert state_of(pair.client) is SessionState.SYNCING
    assert pair.client.incarnation == "inc-1"
    assert message_types(pair.client.data_to_send()) == ["SyncStep1", "AwarenessUpdate"]

    pair.client.receive_data(down[1])
    up = pair.client.data_to_send()
    assert message_types(up) == ["SyncStep2"]
    assert pair.client.sent_document_messages == 1
    pair.server.receive_data(up[0])
    assert sorted(str(pair.server_text).split("|")) == ["", "srv", "typed while connecting"]


def test_extension_pair_converges_and_acks() -> None:
    pair = SessionPair(extensions=True, server_doc=doc_with_text("srv"))
    pair.peer.insert(0, "cli")
    pair.run()
    assert str(pair.peer) == str(pair.server_text)
    assert sorted([str(pair.peer)[:3], str(pair.peer)[3:]]) == ["cli", "srv"]
    assert pair.client.state is SessionState.SYNCED
    assert pair.client.all_acknowledged
    assert Synced() in pair.link.client_events


def test_client_with_same_incarnation_syncs() -> None:
    pair = SessionPair(extensions=True, client_incarnation="inc-1")
    pair.run()
    assert pair.client.state is SessionState.SYNCED
    assert HelloReceived("inc-1", "editor") in pair.link.client_events


# ----------------------------------------------------------------------------- updates


def test_updates_flow_both_ways_after_sync() -> None:
    pair = SessionPair(extensions=True)
    pair.run()
    pair.peer.insert(0, "héllo 😀")
    pair.run()
    assert str(pair.server_text) == "héllo 😀"
    server_updates: list[bytes] = []
    sub = pair.server_doc.observe(lambda e: server_updates.append(e.update))
    pair.server_text.insert(0, "> ")
    pair.server_doc.unobserve(sub)
    for update in server_updates:
        pair.server.send_update(update)
    pair.run()
    assert str(pair.peer) == "> héllo 😀"


def test_remote_updates_are_applied_with_the_session_origin() -> None:
    pair = SessionPair()
    pair.run()
    origins: list[Any] = []

    def record(event: TransactionEvent) -> None:
        origins.append(transaction_origin(event))

    sub = pair.server_doc.observe(record)
    pair.peer.insert(0, "x")
    pair.run()
    pair.server_doc.unobserve(sub)
    assert origins and all(origin_matches(o, Origin.REMOTE) for o in origins)


def test_server_numbers_document_messages() -> None:
    pair = SessionPair(extensions=True, auto_ack=False)
    pair.run()
    pair.peer.insert(0, "a")
    pair.peer.insert(1, "b")
    pair.run()
    indexes = [e.index for e in pair.link.server_events if isinstance(e, RemoteUpdate)]
    assert indexes == [1, 2, 3]  # the client's step 2, then two updates
    assert pair.server.received_document_messages == 3
    empty = [e for e in pair.link.server_events if isinstance(e, RemoteUpdate)][0]
    assert empty.empty  # both docs started empty: step 2 carried nothing


def test_invalid_update_is_rejected_and_doc_unchanged() -> None:
    pair = SessionPair(server_doc=doc_with_text("keep"))
    pair.run()
    before = pair.server_doc.get_update()
    with pytest.raises(InvalidUpdate) as info:
        pair.server.receive_data(SyncUpdate(b"\x01\x02\x03").encode())
    assert info.value.close_code == 1007
    assert pair.server_doc.get_update() == before


def test_invalid_state_vector_is_rejected() -> None:
    pair = SessionPair()
    with pytest.raises(InvalidUpdate):
        pair.server.receive_data(SyncStep1(b"\x05\x01").encode())


# ----------------------------------------------------------------------------- acks


def test_all_acknowledged_only_after_every_document_message() -> None:
    pair = SessionPair(extensions=True, auto_ack=False)
    pair.run()
    assert pair.client.sent_document_messages == 1  # the step 2 reply
    assert not pair.client.all_acknowledged
    pair.server.acknowledge(1)
    pair.run()
    assert pair.client.all_acknowledged
    assert Acknowledged(1) in pair.link.client_events

    pair.peer.insert(0, "a")
    pair.peer.insert(1, "b")
    assert pair.client.sent_document_messages == 3
    assert not pair.client.all_acknowledged
    pair.run()
    pair.server.acknowledge(2)
    pair.run()
    assert pair.client.acknowledged_document_messages == 2
    assert not pair.client.all_acknowledged
    pair.server.acknowledge(3)
    pair.run()
    assert pair.client.all_acknowledged


def test_acknowledge_is_monotonic_and_bounded() -> None:
    pair = SessionPair(extensions=True, auto_ack=False)
    pair.run()
    with pytest.raises(InvalidState):
        pair.server.acknowledge(2)  # only one message received so far
    pair.server.acknowledge(1)
    pair.server.acknowledge(1)  # repeated: nothing more is sent
    pair.server.acknowledge(0)
    assert message_types(pair.server.data_to_send()) == ["Ack"]


def test_stock_server_never_sends_ack() -> None:
    pair = SessionPair(auto_ack=False)
    pair.run()
    pair.server.acknowledge(1)
    assert pair.server.data_to_send() == []


def test_client_rejects_ack_beyond_what_it_sent() -> None:
    pair = SessionPair(extensions=True, auto_ack=False)
    pair.run()
    with pytest.raises(ProtocolError):
        pair.client.receive_data(Ack(5).encode())


def test_acknowledge_on_client_is_invalid() -> None:
    pair = SessionPair(extensions=True)
    with pytest.raises(InvalidState):
        pair.client.acknowledge(0)


# ----------------------------------------------------------------------------- incarnations


def test_incarnation_mismatch_exchanges_no_state() -> None:
    pair = SessionPair(
        extensions=True,
        client_incarnation="old",
        server_incarnation="new",
        start=False,
        server_doc=doc_with_text("re-created document"),
    )
    pair.peer.insert(0, "offline edit for the old document")
    server_before = pair.server_doc.get_update()
    client_before = pair.peer.doc.get_update()
    pair.start()
    pair.run()
    assert IncarnationMismatched("old", "new") in pair.link.client_events
    assert pair.client.closed
    assert pair.client.incarnation == "old"
    assert not any(isinstance(e, RemoteUpdate) for e in pair.link.server_events)
    assert pair.server_doc.get_update() == server_before
    assert pair.peer.doc.get_update() == client_before
    assert str(pair.server_text) == "re-created document"


def test_closed_client_refuses_further_data() -> None:
    """After a mismatch the adapter must stop feeding the session (it raises InvalidState)."""
    pair = SessionPair(extensions=True, client_incarnation="old", start=False)
    pair.server.start()
    pair.client.start()
    hello, step1 = pair.server.data_to_send()
    pair.client.receive_data(hello)
    assert pair.client.closed
    with pytest.raises(InvalidState):
        pair.client.receive_data(step1)


# ----------------------------------------------------------------------------- read-only


def test_read_only_peer_updates_are_dropped() -> None:
    pair = SessionPair(extensions=True, writable=False, server_doc=doc_with_text("read me"))
    pair.peer.insert(0, "sneaky ")
    before = pair.server_doc.get_update()
    pair.run()
    assert pair.client.server_role == "viewer"
    assert HelloReceived("inc-1", "viewer") in pair.link.client_events
    assert "sneaky " in str(pair.peer) and "read me" in str(pair.peer)  # viewers get the doc
    pair.peer.insert(0, "more ")
    pair.run()
    assert pair.server_doc.get_update() == before
    rejected = [e for e in pair.link.server_events if isinstance(e, UpdateRejected)]
    assert rejected == [UpdateRejected(1), UpdateRejected(2)]
    assert not any(isinstance(e, RemoteUpdate) for e in pair.link.server_events)
    assert pair.client.all_acknowledged  # a synced viewer is up to date, never "saving"


# ----------------------------------------------------------------------------- awareness


def _awareness_payload(name: str) -> tuple[Awareness, bytes]:
    other = Awareness(Doc())
    other.set_local_state({"user": {"name": name, "color": "#123456"}})
    return other, other.encode_awareness_update([other.client_id])


def test_awareness_is_applied_on_the_client() -> None:
    awareness = Awareness(Doc())
    pair = SessionPair(extensions=True, client_kwargs={"awareness": awareness})
    pair.run()
    other, payload = _awareness_payload("김민지")
    pair.server.send_awareness(payload)
    pair.run()
    assert awareness.states[other.client_id] == {"user": {"name": "김민지", "color": "#123456"}}
    received = [e for e in pair.link.client_events if isinstance(e, AwarenessReceived)]
    assert [e.update.entries[0].client_id for e in received] == [other.client_id]


def test_server_reports_awareness_without_applying() -> None:
    pair = SessionPair()
    pair.run()
    other, payload = _awareness_payload("B")
    pair.client.send_awareness(payload)
    events = pair.to_server()
    assert isinstance(events[0], AwarenessReceived)
    assert events[0].update.entries[0].state() == {"user": {"name": "B", "color": "#123456"}}


def test_stock_client_sends_awareness_at_start() -> None:
    awareness = Awareness(Doc())
    awareness.set_local_state({"user": {"name": "A"}})
    pair = SessionPair(start=False, client_kwargs={"awareness": awareness})
    pair.client.start()
    assert message_types(pair.client.data_to_send(), extensions=False) == [
        "SyncStep1",
        "AwarenessUpdate",
    ]


def test_awareness_before_hello_is_not_sent() -> None:
    pair = SessionPair(extensions=True)
    _, payload = _awareness_payload("A")
    pair.client.send_awareness(payload)
    assert pair.client.data_to_send() == []


def test_query_awareness() -> None:
    awareness = Awareness(Doc())
    awareness.set_local_state(None)  # pycrdt starts every Awareness with state {}
    pair = SessionPair(client_kwargs={"awareness": awareness})
    pair.run()
    pair.server.send_raw(QueryAwareness().encode())
    pair.to_client()
    assert not pair.link.to_server  # no local state: nothing to answer
    awareness.set_local_state({"user": {"name": "A"}})
    pair.server.send_raw(QueryAwareness().encode())
    pair.to_client()
    reply = pair.link.to_server.popleft()
    assert not pair.link.to_server
    assert message_types([reply], extensions=False) == ["AwarenessUpdate"]
    assert parse_awareness_payload(read_message(reply[1:])).entries[0].state() == {
        "user": {"name": "A"}
    }
    pair.client.send_raw(QueryAwareness().encode())
    assert pair.to_server() == [AwarenessQueried()]


def test_permission_denied_is_an_event_on_the_client() -> None:
    pair = SessionPair()
    pair.server.send_raw(AuthPermissionDenied("no access").encode())
    pair.run()
    assert PermissionDeniedReceived("no access") in pair.link.client_events


# ----------------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    "message",
    [Hello("x").encode(), Ack(0).encode(), AuthPermissionDenied("x").encode()],
    ids=["hello", "ack", "auth"],
)
def test_server_rejects_server_only_messages(message: bytes) -> None:
    pair = SessionPair(extensions=True)
    with pytest.raises(UnknownMessageType):
        pair.server.receive_data(message)


def test_client_rejects_document_state_before_hello() -> None:
    for message in [SyncStep1(b"\x00").encode(), SyncUpdate(b"\x00\x00").encode()]:
        pair = SessionPair(extensions=True)
        with pytest.raises(ProtocolError):
            pair.client.receive_data(message)


def test_client_rejects_duplicate_hello() -> None:
    pair = SessionPair(extensions=True)
    pair.run()
    with pytest.raises(ProtocolError):
        pair.client.receive_data(Hello("inc-1").encode())


def test_illegal_calls_raise_invalid_state() -> None:
    doc: Doc[Any] = Doc()
    with pytest.raises(InvalidState):
        SyncSession(doc, Side.SERVER, extensions=True)  # no incarnation
    session = SyncSession(doc, Side.SERVER)
    with pytest.raises(InvalidState):
        session.receive_data(SyncStep1(b"\x00").encode())  # not started
    with pytest.raises(InvalidState):
        session.send_update(b"\x00\x00")
    session.start()
    with pytest.raises(InvalidState):
        session.start()
    session.close()
    session.close()  # idempotent
    assert session.closed
    calls: list[Callable[[], None]] = [
        lambda: session.receive_data(SyncStep1(b"\x00").encode()),
        lambda: session.send_update(b"\x00\x00"),
        lambda: session.send_awareness(b"\x00"),
        lambda: session.send_raw(b"\x03"),
    ]
    for call in calls:
        with pytest.raises(InvalidState):
            call()
    assert isinstance(InvalidState("x"), AssertionError)


def test_state_transitions_of_a_client() -> None:
    pair = SessionPair(extensions=True, start=False)
    seen = [pair.client.state]
    pair.start()
    pair.to_client()  # hello
    seen.append(pair.client.state)
    pair.run()
    seen.append(pair.client.state)
    pair.client.close()
    seen.append(pair.client.state)
    assert seen == [
        SessionState.CONNECTING,
        SessionState.SYNCING,
        SessionState.SYNCED,
        SessionState.CLOSED,
    ]


def test_server_session_starts_syncing() -> None:
    session = SyncSession(Doc(), Side.SERVER)
    assert session.state is SessionState.CONNECTING
    session.start()
    assert state_of(session) is SessionState.SYNCING


def test_server_session_talks_to_pycrdt_helpers_as_a_stock_client() -> None:
    """pycrdt's own y-websocket helpers stand in for a stock client: no extension bytes."""
    server_doc = doc_with_text("server text ")
    server = SyncSession(server_doc, Side.SERVER)
    server.start()
    stock: Doc[Any] = Doc()
    stock.get(TEXT_NAME, type=Text).insert(0, "stock text")
    to_stock = server.data_to_send()
    to_server = [create_sync_message(stock)]
    for message in to_stock:
        reply = handle_sync_message(message[1:], stock)
        if reply is not None:
            to_server.append(reply)
    for message in to_server:
        server.receive_data(message)
    for message in server.data_to_send():
        assert handle_sync_message(message[1:], stock) is None
    assert str(stock.get(TEXT_NAME, type=Text)) == str(server_doc.get(TEXT_NAME, type=Text))
    assert len(str(stock.get(TEXT_NAME, type=Text))) == len("server text stock text")
