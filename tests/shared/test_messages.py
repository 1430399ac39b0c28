"""The message catalogue: round trips, byte-exact pycrdt compatibility, malformed input.

Byte-exactness against pycrdt's helpers matters because stock Yjs clients are the
interop oracle: if our framing drifted from y-protocols, they would mis-parse us.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import (
    Awareness,
    Doc,
    Map,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    write_var_uint,
)

from shared.access import Role
from shared.errors import (
    AwarenessRejected,
    CloseCode,
    DecodeError,
    ProtocolError,
    UnknownMessageType,
)
from shared.lib0 import Lib0Reader, encode_var_string, encode_var_uint
from shared.limits import MAX_VAR_UINT, ProtocolLimits
from shared.messages import (
    EMPTY_UPDATE,
    Ack,
    AuthPermissionDenied,
    AwarenessEntry,
    AwarenessUpdate,
    Hello,
    Message,
    MessageType,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    parse_awareness_payload,
)
from tests.shared.helpers import doc_with_text


def _awareness_payload(*entries: tuple[int, int, str]) -> bytes:
    return AwarenessUpdate.from_entries(tuple(AwarenessEntry(*e) for e in entries)).payload


# ----------------------------------------------------------------------------- round trips

ROUND_TRIP: list[Message] = [
    SyncStep1(b""),
    SyncStep1(doc_with_text("abc").get_state()),
    SyncStep2(EMPTY_UPDATE),
    SyncStep2(doc_with_text("한국어 😀").get_update()),
    SyncUpdate(doc_with_text("x" * 300).get_update()),  # length prefix > 127: 2-byte varint
    AwarenessUpdate.from_entries(()),
    AwarenessUpdate.from_entries(
        (
            AwarenessEntry(1, 0, '{"user":{"name":"Ana","color":"#f00"}}'),
            AwarenessEntry(2**53 - 1, 7, "null"),
            AwarenessEntry(3, 1, '{"user":{"name":"김민지"}}'),  # raw UTF-8, not \u-escaped
        )
    ),
    AuthPermissionDenied(""),
    AuthPermissionDenied("권한이 없습니다 — read only"),
    QueryAwareness(),
    Hello("3f2a-incarnation", "editor", "coscribe"),
    Hello("i", "viewer", ""),
    Ack(0),
    Ack(1),
    Ack(2**40),
]


@pytest.mark.parametrize("message", ROUND_TRIP, ids=lambda m: type(m).__name__)
def test_round_trip(message: Message) -> None:
    encoded = message.encode()
    assert decode_message(encoded, extensions=True) == message
    # Encoding is a function of the value: decode then encode gives the same bytes.
    assert decode_message(encoded, extensions=True).encode() == encoded


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_decode_accepts_buffer_types(kind: type) -> None:
    encoded = SyncUpdate(EMPTY_UPDATE).encode()
    assert decode_message(kind(encoded)) == SyncUpdate(EMPTY_UPDATE)


def test_message_type_numbers_are_the_y_protocols_ones() -> None:
    assert [int(t) for t in MessageType] == [0, 1, 2, 3, 100, 101]


def test_awareness_entry_state() -> None:
    assert AwarenessEntry(1, 0, '{"a":1}').state() == {"a": 1}
    assert AwarenessEntry(1, 0, "null").state() is None
    assert AwarenessEntry(1, 0, "null").removed
    assert AwarenessEntry(1, 0, "").removed
    assert not AwarenessEntry(1, 0, "{}").removed


# ----------------------------------------------------------------------------- pycrdt compat


def test_step1_matches_create_sync_message() -> None:
    doc = doc_with_text("hello é 😀")
    assert SyncStep1(doc.get_state()).encode() == create_sync_message(doc)
    assert decode_message(create_sync_message(doc)) == SyncStep1(doc.get_state())


def test_step2_matches_handle_sync_message() -> None:
    """pycrdt's reply to a step 1 decodes as our step 2 and applies to the asker."""
    a = doc_with_text("from a")
    b = doc_with_text("from b")
    step1 = create_sync_message(a)
    reply = handle_sync_message(step1[1:], b)
    assert reply is not None
    decoded = decode_message(reply)
    assert isinstance(decoded, SyncStep2)
    assert decoded.encode() == reply
    assert decoded.update == b.get_update(a.get_state())


def test_our_messages_are_handled_by_pycrdt() -> None:
    a = doc_with_text("abc")
    b: Doc[Any] = Doc()
    reply = handle_sync_message(SyncStep1(b.get_state()).encode()[1:], a)
    assert reply is not None
    assert handle_sync_message(reply[1:], b) is None
    assert str(b.get("content", type=Text)) == "abc"
    c: Doc[Any] = Doc()
    assert handle_sync_message(SyncUpdate(a.get_update()).encode()[1:], c) is None
    assert str(c.get("content", type=Text)) == "abc"


def test_update_matches_create_update_message() -> None:
    doc: Doc[Any] = Doc()
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    doc.get("content", type=Text).insert(0, "한글")
    doc.get("meta", type=Map)["title"] = "T"
    doc.unobserve(sub)
    assert len(updates) == 2
    for update in updates:
        assert SyncUpdate(update).encode() == create_update_message(update)
        assert decode_message(create_update_message(update)) == SyncUpdate(update)


def test_awareness_matches_pycrdt() -> None:
    doc = doc_with_text("")
    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": "김민지", "color": "#30bced"}, "cursor": None})
    payload = awareness.encode_awareness_update([awareness.client_id])
    message = create_awareness_message(payload)
    decoded = decode_message(message)
    assert isinstance(decoded, AwarenessUpdate)
    assert decoded.encode() == message
    assert AwarenessUpdate(payload, ()).encode() == message
    (entry,) = decoded.entries
    assert entry.client_id == awareness.client_id
    assert entry.clock == awareness.meta[awareness.client_id]["clock"]
    assert entry.state() == awareness.get_local_state()
    # And our from_entries builds the very bytes pycrdt builds.
    assert AwarenessUpdate.from_entries(decoded.entries).payload == payload


def test_awareness_from_entries_is_applied_by_pycrdt() -> None:
    """Non-ASCII states framed with the UTF-8 byte length (the gap we fill) apply cleanly."""
    awareness = Awareness(Doc())
    update = AwarenessUpdate.from_entries((AwarenessEntry(42, 1, '{"user":{"name":"김"}}'),))
    awareness.apply_awareness_update(update.payload, "test")
    assert awareness.states[42] == {"user": {"name": "김"}}


def test_auth_message_uses_utf8_byte_length() -> None:
    reason = "거부"  # 2 characters, 6 bytes
    assert AuthPermissionDenied(reason).encode() == b"\x02\x00\x06" + reason.encode()


def test_hello_and_ack_wire_format() -> None:
    body = '{"incarnation":"abc","role":"viewer","server":"coscribe"}'
    assert Hello("abc", "viewer").encode() == b"\x64" + encode_var_string(body)
    assert Ack(300).encode() == b"\x65\xac\x02"


def test_hello_defaults_for_missing_optional_fields() -> None:
    message = b"\x64" + encode_var_string('{"incarnation":"x"}')
    assert decode_message(message, extensions=True) == Hello("x", "editor", "")


# ----------------------------------------------------------------------------- malformed

LIMITS = ProtocolLimits(max_awareness_state_size=64, max_awareness_entries=3)

#: Bytes ``decode_message`` refuses, by the error it raises and that error's close code.
MALFORMED: list[tuple[type[ProtocolError], CloseCode, dict[str, bytes]]] = [
    (
        DecodeError,
        CloseCode.PROTOCOL_ERROR,
        {
            "empty": b"",
            "truncated type varint": b"\x80",
            "truncated sub-type varint": b"\x00\x81",
            "missing sync body": b"\x00\x00",
            "truncated length varint": b"\x00\x02\xff",
            "length beyond buffer": b"\x00\x02\x05\x00\x00",
            "huge length prefix": b"\x01\xff\xff\xff\xff\x0f",
            "varint too long": b"\x00" + b"\x80" * 9 + b"\x01",
            "varint above 2**53": b"\x65" + write_var_uint(MAX_VAR_UINT + 1),
            "trailing garbage": b"\x00\x02\x02\x00\x00\xff",
            "trailing after query": b"\x03\x00",
            "non-UTF-8 auth reason": b"\x02\x00\x02\xc3\x28",
            "non-UTF-8 awareness state": b"\x01" + write_var_uint(5) + b"\x01\x01\x01\x02\xff\xfe",
            "awareness state not JSON": create_awareness_message(
                _awareness_payload((1, 1, "{nope"))
            ),
            "awareness state a JSON list": create_awareness_message(
                _awareness_payload((1, 1, "[1,2]"))
            ),
            "awareness state a JSON string": create_awareness_message(
                _awareness_payload((1, 1, '"hi"'))
            ),
            "awareness entry count beyond payload": create_awareness_message(
                b"\x02\x01\x01\x04null"
            ),
            "awareness payload trailing garbage": create_awareness_message(
                _awareness_payload((1, 1, "null")) + b"\x00"
            ),
        },
    ),
    (
        UnknownMessageType,
        CloseCode.UNSUPPORTED_DATA,
        {
            "unknown type": b"\x04",
            "unknown big type": b"\xe8\x07",
            "unknown sync sub-type": b"\x00\x03\x00",
            "unknown auth sub-type": b"\x02\x01\x00",
            "hello without extensions": Hello("x").encode(),
            "ack without extensions": Ack(1).encode(),
        },
    ),
    (
        AwarenessRejected,
        CloseCode.POLICY_VIOLATION,
        {
            "awareness state over the size limit": create_awareness_message(
                _awareness_payload((1, 1, json.dumps({"n": "x" * 64})))
            ),
            "too many awareness entries": create_awareness_message(
                _awareness_payload(*[(i, 1, "null") for i in range(4)])
            ),
        },
    ),
]


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        pytest.param(data, error, code, id=name)
        for error, code, cases in MALFORMED
        for name, data in cases.items()
    ],
)
def test_malformed_raises_documented_error(
    request: pytest.FixtureRequest, data: bytes, error: type[ProtocolError], code: CloseCode
) -> None:
    extensions = "without extensions" not in request.node.callspec.id
    with pytest.raises(error) as info:
        decode_message(data, extensions=extensions, limits=LIMITS)
    assert type(info.value) is error
    assert info.value.close_code == code


@pytest.mark.parametrize(
    "body",
    ["{nope", "[]", '"just a string"', "{}", '{"role":"editor"}', "\xff"],
)
def test_malformed_hello(body: str) -> None:
    with pytest.raises(DecodeError):
        decode_message(b"\x64" + encode_var_string(body), extensions=True)


def test_non_utf8_hello() -> None:
    with pytest.raises(DecodeError):
        decode_message(b"\x64\x02\xc3\x28", extensions=True)


def test_text_frames_are_rejected() -> None:
    with pytest.raises(DecodeError):
        decode_message("\x00\x00\x00")  # type: ignore[arg-type]


def test_deeply_nested_awareness_json_is_a_decode_error() -> None:
    """A 20 kB awareness state of '[' is under the size limit but overflows json's stack.

    RecursionError is not a ProtocolError, so a relay's pump would crash instead of
    closing the connection with 1002.
    """
    message = create_awareness_message(_awareness_payload((1, 1, "[" * 20_000)))
    with pytest.raises(DecodeError):
        decode_message(message)


def test_deeply_nested_hello_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_message(b"\x64" + encode_var_string("[" * 20_000), extensions=True)


def test_parse_awareness_payload_direct() -> None:
    payload = _awareness_payload((7, 2, '{"user":{"name":"A"}}'), (8, 3, "null"))
    update = parse_awareness_payload(payload)
    assert [e.client_id for e in update.entries] == [7, 8]
    assert update.payload == payload
    with pytest.raises(DecodeError):
        parse_awareness_payload(b"")


def test_awareness_size_limit_boundary() -> None:
    state = '{"n":"' + "x" * (64 - len('{"n":""}')) + '"}'
    assert len(state) == 64
    payload = _awareness_payload((1, 1, state))
    assert parse_awareness_payload(payload, LIMITS).entries[0].state_json == state


def test_awareness_size_limit_counts_utf8_bytes() -> None:
    """The limit bounds memory per state, and AwarenessRejected's message says 'bytes'.

    22 Hangul syllables are 22 characters but 66 bytes: over a 64-byte limit.
    """
    state = '{"n":"' + "한" * 22 + '"}'
    assert len(state) <= 64 < len(state.encode())
    with pytest.raises(AwarenessRejected):
        parse_awareness_payload(_awareness_payload((1, 1, state)), LIMITS)


def test_a_role_this_version_does_not_know_is_taken_as_viewer() -> None:
    """A newer server may announce a role this client has never heard of: it gets the
    least rights (no edits sent as if accepted), and the connection still works."""
    body = '{"incarnation":"abc","role":"commenter-v9","server":"coscribe"}'
    hello = decode_message(b"\x64" + encode_var_string(body), extensions=True)
    assert isinstance(hello, Hello) and hello.role is Role.VIEWER and not hello.role.writable
    known = decode_message(Hello("abc", Role.EDITOR).encode(), extensions=True)
    assert isinstance(known, Hello) and known.role is Role.EDITOR


def _reference_decode(data: bytes) -> tuple[str, bytes] | None:
    """What the y-protocols encoding says ``data`` is, read with the general lib0 reader:
    ("update" | "step1" | "step2" | "awareness", body), None for another type, or raises
    DecodeError."""
    r = Lib0Reader(data, DecodeError)
    kind = r.var_uint()
    if kind == MessageType.SYNC:
        sub = r.var_uint()
        body = r.var_bytes()
        names = {0: "step1", 1: "step2", 2: "update"}
        if sub not in names:
            raise UnknownMessageType(f"sub-type {sub}")
        r.end()
        return names[sub], body
    if kind == MessageType.AWARENESS:
        body = r.var_bytes()
        parse_awareness_payload(body)  # raises what decode_message must raise
        r.end()
        return "awareness", body
    return None


def _decoded(message: Message) -> tuple[str, bytes]:
    if isinstance(message, SyncUpdate):
        return "update", message.update
    if isinstance(message, SyncStep2):
        return "step2", message.update
    if isinstance(message, SyncStep1):
        return "step1", message.state_vector
    assert isinstance(message, AwarenessUpdate)
    return "awareness", message.payload


_AWARENESS_PAYLOAD = b"\x01\x05\x03" + encode_var_string('{"user":{"name":"A"}}')


@settings(max_examples=3000, deadline=None)
@given(
    head=st.sampled_from([b"\x00\x02", b"\x00\x01", b"\x00\x00", b"\x01", b"\x00", b""]),
    body_size=st.sampled_from([0, 1, 5, 127, 128, 129, 300, 16383, 16384, 20000]),
    edits=st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 255), st.sampled_from("sdi")), max_size=3
    ),
    awareness=st.booleans(),
)
def test_decode_fast_path_agrees_with_the_general_reader(
    head: bytes, body_size: int, edits: list[tuple[int, int, str]], awareness: bool
) -> None:
    """decode_message reads short updates and awareness messages without the general
    reader; whatever the first bytes say (lengths of one, two or more bytes, too short,
    too long, another type), it must decode exactly what the general reader decodes, and
    refuse exactly what it refuses."""
    body = _AWARENESS_PAYLOAD if awareness else bytes(range(256)) * (body_size // 256 + 1)
    body = body if awareness else body[:body_size]
    data = bytearray(head + encode_var_uint(len(body)) + body)
    for at, value, op in edits:  # damage the header bytes, where the fast path looks
        at = min(at, len(data))
        if op == "s" and at < len(data):
            data[at] = value
        elif op == "d" and at < len(data):
            del data[at]
        elif op == "i":
            data.insert(at, value)
    try:
        want: tuple[str, bytes] | None | type[ProtocolError] = _reference_decode(bytes(data))
    except ProtocolError as exc:
        want = type(exc)
    if want is None:
        return  # another message type: not the fast path's business
    try:
        got: tuple[str, bytes] | type[ProtocolError] = _decoded(decode_message(bytes(data)))
    except ProtocolError as exc:
        got = type(exc)
    assert got == want
