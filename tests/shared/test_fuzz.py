"""Property tests: hostile bytes only ever produce documented ProtocolErrors.

A relay's pump closes a connection with ``exc.close_code`` on ProtocolError; anything
else (IndexError, RecursionError, pyo3's PanicException, which is a BaseException)
would kill the pump or the whole room. And a rejected message must leave the document
exactly as it was, or a half-applied update would be relayed to nobody and diverge.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pycrdt import Awareness, Doc, Map, Text, write_var_uint

from shared import messages as m
from shared.errors import InvalidUpdate, ProtocolError
from shared.session import HeldUpdateRefused, RemoteUpdate, SyncSession, UpdateHeld
from shared.states import Side
from shared.update_gate import UpdateGate
from tests.shared.helpers import TEXT_NAME

#: Raise for a deeper hunt, e.g. ``COSCRIBE_FUZZ_EXAMPLES=20000 pytest tests/shared/test_fuzz.py``.
FUZZ_EXAMPLES = int(os.environ.get("COSCRIBE_FUZZ_EXAMPLES", "300"))

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _sample_updates() -> list[bytes]:
    """Real updates of several shapes: inserts, deletes, formatting, maps, non-BMP text."""
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    text = doc.get(TEXT_NAME, type=Text)
    meta = doc.get("meta", type=Map)
    text.insert(0, "Hello 한국어 😀 e\u0301\n")
    text.format(0, 5, {"bold": True})
    del text[1:3]
    meta["title"] = "Notes"
    text.insert(2, "\n", {"header": 1})
    doc.unobserve(sub)
    return updates + [doc.get_update(), m.EMPTY_UPDATE]


UPDATES = _sample_updates()
_other: Doc[Any] = Doc()
_other.get(TEXT_NAME, type=Text).insert(0, "x")
STATE_VECTORS = [b"\x00", Doc().get_state(), _other.get_state()]


def _awareness_payload() -> bytes:
    awareness = Awareness(Doc())
    awareness.set_local_state({"user": {"name": "김", "color": "#abcdef"}, "cursor": None})
    return awareness.encode_awareness_update([awareness.client_id])


VALID_MESSAGES: list[bytes] = (
    [m.SyncStep1(sv).encode() for sv in STATE_VECTORS]
    + [m.SyncStep2(u).encode() for u in UPDATES]
    + [m.SyncUpdate(u).encode() for u in UPDATES]
    + [
        m.AwarenessUpdate(_awareness_payload(), ()).encode(),
        m.AuthPermissionDenied("denied").encode(),
        m.QueryAwareness().encode(),
        m.Hello("inc").encode(),
        m.Ack(1).encode(),
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message with a few byte-level mutations (flip, insert, delete, cut, splice)."""
    data = bytearray(draw(st.sampled_from(VALID_MESSAGES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "append"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 4))]
        elif op == "truncate":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


hostile = st.one_of(st.binary(max_size=64), mutated(), st.sampled_from(VALID_MESSAGES))


# ----------------------------------------------------------------------------- decoder


@FUZZ
@given(data=hostile, extensions=st.booleans())
@example(data=b"\x00\x00\x80\x00", extensions=False)
def test_decode_raises_only_protocol_errors(data: bytes, extensions: bool) -> None:
    try:
        message = m.decode_message(data, extensions=extensions)
    except ProtocolError:
        return
    # Whatever decodes re-encodes to a message that decodes to the same value. (Not
    # always the same bytes: overlong varints such as b"\x80\x00" for 0 are accepted,
    # as lib0's decoder accepts them.)
    assert m.decode_message(message.encode(), extensions=extensions) == message


# ----------------------------------------------------------------------------- session


def _server_session(extensions: bool, writable: bool) -> tuple[Doc[Any], SyncSession]:
    doc: Doc[Any] = Doc()
    doc.get(TEXT_NAME, type=Text).insert(0, "existing 텍스트 😀")
    session = SyncSession(
        doc, Side.SERVER, extensions=extensions, incarnation="inc", writable=writable
    )
    session.start()
    session.data_to_send()
    return doc, session


def _feed(session: SyncSession, doc: Doc[Any], messages: list[bytes]) -> None:
    """Feed messages until one is rejected; a rejection must leave the doc untouched."""
    text = doc.get(TEXT_NAME, type=Text)
    for message in messages:
        if session.closed:
            return
        before_update, before_text = doc.get_update(), str(text)
        try:
            session.receive_data(message)
        except ProtocolError:
            assert doc.get_update() == before_update
            assert str(text) == before_text
            return
        session.data_to_send()
        session.events_received()


@FUZZ
@given(messages=st.lists(hostile, min_size=1, max_size=6), extensions=st.booleans())
def test_server_session_raises_only_protocol_errors(
    messages: list[bytes], extensions: bool
) -> None:
    doc, session = _server_session(extensions, writable=True)
    _feed(session, doc, messages)


@FUZZ
@given(messages=st.lists(hostile, min_size=1, max_size=4))
def test_read_only_server_session_never_changes_the_doc(messages: list[bytes]) -> None:
    doc, session = _server_session(True, writable=False)
    before = doc.get_update()
    _feed(session, doc, messages)
    assert doc.get_update() == before


@FUZZ
@given(
    messages=st.lists(hostile, min_size=1, max_size=6),
    greeted=st.booleans(),
    extensions=st.booleans(),
)
@example(
    messages=[m.AwarenessUpdate(_awareness_payload(), ()).encode()], greeted=True, extensions=True
)
def test_client_session_raises_only_protocol_errors(
    messages: list[bytes], greeted: bool, extensions: bool
) -> None:
    """The client also applies awareness, through pycrdt's (unchecked) decoder."""
    doc: Doc[Any] = Doc()
    doc.get(TEXT_NAME, type=Text).insert(0, "local 😀")
    session = SyncSession(doc, Side.CLIENT, extensions=extensions, awareness=Awareness(doc))
    session.start()
    if extensions and greeted:  # get past HELLO so that document messages are accepted
        session.receive_data(m.Hello("inc").encode())
    _feed(session, doc, messages)


# ----------------------------------------------------------------------------- regressions


def _update_message(update: bytes) -> bytes:
    return b"\x00\x02" + write_var_uint(len(update)) + update


REGRESSIONS: list[bytes] = [
    # Updates whose struct count or lengths run past the end of the payload.
    _update_message(b"\x01\x01\x00\x00"),
    _update_message(b"\x01\xff\xff\x03\x01\x00"),
    _update_message(UPDATES[0][:-1]),
    _update_message(UPDATES[0] + b"\xff"),
]


@pytest.mark.parametrize("message", REGRESSIONS)
def test_regressions_raise_protocol_error_or_apply(message: bytes) -> None:
    doc, session = _server_session(False, writable=True)
    _feed(session, doc, [message])


@pytest.mark.parametrize(("clock", "length"), [(1, 1), (2, 1), (2, 2), (0, 4)])
def test_delete_set_splitting_a_surrogate_pair_does_not_escape(clock: int, length: int) -> None:
    """Yjs clocks count UTF-16 units, so a JS peer can name half of an emoji in a delete set.

    yrs resolves it in its own way (it is a valid update); what matters here is that the
    session neither lets a panic escape nor half-applies it.
    """
    doc: Doc[Any] = Doc(client_id=7)
    doc.get(TEXT_NAME, type=Text).insert(0, "a😀b")
    delete_set = b"\x00\x01\x07\x01" + write_var_uint(clock) + write_var_uint(length)
    session = SyncSession(doc, Side.SERVER)
    session.start()
    _feed(session, doc, [m.SyncUpdate(delete_set).encode()])


def test_deeply_nested_awareness_state_is_a_protocol_error_for_the_session() -> None:
    """Found by review, kept as explicit bytes: 20,000 '[' fit the 64 KiB state limit."""
    state = b"[" * 20_000
    payload = b"\x01\x01\x01" + write_var_uint(len(state)) + state
    message = b"\x01" + write_var_uint(len(payload)) + payload
    doc, session = _server_session(False, writable=True)
    _feed(session, doc, [message])


#: A one-struct update from client 6: the string "x" whose parent is the item <5#0>
#: (a string item, not a shared type). It parses (pycrdt.get_state accepts it), but yrs
#: refuses to integrate it with a RuntimeError, or keeps it pending if <5#0> is unknown.
NON_TYPE_PARENT = bytes.fromhex("0101060004000500017800")


def _doc_of_client_5() -> tuple[Doc[Any], bytes]:
    doc: Doc[Any] = Doc(client_id=5)
    doc.get(TEXT_NAME, type=Text).insert(0, "abc")
    return doc, doc.get_update()


def test_update_with_a_non_type_parent_is_an_invalid_update() -> None:
    doc, before = _doc_of_client_5()
    session = SyncSession(doc, Side.SERVER)
    session.start()
    with pytest.raises(InvalidUpdate):
        session.receive_data(m.SyncUpdate(NON_TYPE_PARENT).encode())
    assert doc.get_update() == before


def test_pending_poison_does_not_break_an_honest_peer() -> None:
    """Peer 1 sends the bad struct before <5#0> exists: without a gate yrs would keep it
    pending and then fail in the middle of the honest update that completes it. With the
    room's gate the bad update is held in peer 1's session only (it never touches the
    document); peer 2's update integrates and is reported; when peer 1 speaks again its
    held update is refused for good."""
    doc: Doc[Any] = Doc(client_id=9)
    gate = UpdateGate()
    attacker = SyncSession(doc, Side.SERVER, gate=gate)
    honest = SyncSession(doc, Side.SERVER, gate=gate)
    attacker.start()
    honest.start()
    attacker.receive_data(m.SyncUpdate(NON_TYPE_PARENT).encode())
    assert [type(e) for e in attacker.events_received()] == [UpdateHeld]
    _, honest_update = _doc_of_client_5()
    honest.receive_data(m.SyncUpdate(honest_update).encode())
    assert [type(e) for e in honest.events_received()] == [RemoteUpdate]
    assert str(doc.get(TEXT_NAME, type=Text)) == "abc"
    attacker.receive_data(m.SyncUpdate(m.EMPTY_UPDATE).encode())
    refused = [e for e in attacker.events_received() if isinstance(e, HeldUpdateRefused)]
    assert len(refused) == 1 and "not a shared type" in refused[0].reason
    assert attacker.held == []
    assert str(doc.get(TEXT_NAME, type=Text)) == "abc"
