"""The message catalogue of the y-websocket protocol plus Coscribe's extensions.

Each message is a frozen dataclass with ``encode()``; :func:`decode_message` turns one
WebSocket message into one of them or raises a :class:`~shared.errors.ProtocolError`.

Framing (y-protocols notation, see docs/protocol.md)::

    message      = varUint(type) payload
    SYNC      0  = varUint(0) varUint8Array(stateVector)     step 1
                 | varUint(1) varUint8Array(update)          step 2
                 | varUint(2) varUint8Array(update)          update
    AWARENESS 1  = varUint8Array(awarenessUpdate)
    AUTH      2  = varUint(0) varString(reason)              permission denied
    QUERY_AW  3  = (empty)
    HELLO   100  = varString(json)      extension, only with subprotocol coscribe.v1
    ACK     101  = varUint(count)       extension, only with subprotocol coscribe.v1

Encoding uses pycrdt's helpers (``create_sync_step1_message`` & co.). Two gaps are filled
here and documented in docs/protocol.md:

* pycrdt's ``Decoder`` does no bounds checking (a truncated varint raises IndexError, a
  length prefix beyond the buffer silently yields a short slice), so the bounds-checked
  :class:`shared.lib0.Lib0Reader` reads the bytes itself and turns every such case into
  :class:`DecodeError`.
* pycrdt's ``Encoder.write_var_string`` writes the length in characters, not bytes, so
  non-ASCII strings (a Korean reason, say) would be mis-framed;
  :func:`shared.lib0.encode_var_string` writes the UTF-8 byte length as y-protocols does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pycrdt import (
    YMessageType,
    YSyncMessageType,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from .access import Role
from .errors import AwarenessRejected, DecodeError, UnknownMessageType
from .lib0 import Lib0Reader, encode_var_string, encode_var_uint
from .limits import DEFAULT_LIMITS, ProtocolLimits


class MessageType(IntEnum):
    """Top-level message types. 0-3 are y-websocket's; 100+ are Coscribe extensions."""

    SYNC = int(YMessageType.SYNC)
    AWARENESS = int(YMessageType.AWARENESS)
    AUTH = 2
    QUERY_AWARENESS = 3
    HELLO = 100
    ACK = 101


EXTENSION_TYPES = frozenset({MessageType.HELLO, MessageType.ACK})

#: The encoding of an update that changes nothing (no structs, empty delete set).
EMPTY_UPDATE = b"\x00\x00"


@dataclass(frozen=True, slots=True)
class SyncStep1:
    """'Here is my state vector; send me what I am missing.'"""

    state_vector: bytes

    def encode(self) -> bytes:
        return create_sync_step1_message(self.state_vector)


@dataclass(frozen=True, slots=True)
class SyncStep2:
    """Reply to step 1: every struct and deletion the asker is missing, as one update."""

    update: bytes

    def encode(self) -> bytes:
        return create_sync_step2_message(self.update)


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """An incremental document update."""

    update: bytes

    def encode(self) -> bytes:
        # = pycrdt's create_update_message, without its Python Encoder (a hot path).
        return b"\x00\x02" + encode_var_uint(len(self.update)) + self.update


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's presence inside an awareness update. ``state`` None means 'gone'."""

    client_id: int
    clock: int
    state_json: str

    @property
    def removed(self) -> bool:
        return self.state_json in ("null", "")

    def state(self) -> dict[str, Any] | None:
        value = json.loads(self.state_json) if self.state_json else None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    """A y-protocols awareness update, kept as its original bytes plus parsed entries."""

    payload: bytes
    entries: tuple[AwarenessEntry, ...]

    def encode(self) -> bytes:
        # = pycrdt's create_awareness_message, without its Python Encoder (a hot path).
        return b"\x01" + encode_var_uint(len(self.payload)) + self.payload

    @classmethod
    def from_entries(cls, entries: tuple[AwarenessEntry, ...]) -> AwarenessUpdate:
        parts = [encode_var_uint(len(entries))]
        for e in entries:
            parts += [
                encode_var_uint(e.client_id),
                encode_var_uint(e.clock),
                encode_var_string(e.state_json),
            ]
        return cls(b"".join(parts), entries)


@dataclass(frozen=True, slots=True)
class AuthPermissionDenied:
    """The y-websocket auth message: the server refuses this client, with a reason."""

    reason: str

    def encode(self) -> bytes:
        return bytes([MessageType.AUTH, 0]) + encode_var_string(self.reason)


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """'Send me every awareness state you know.'"""

    def encode(self) -> bytes:
        return bytes([MessageType.QUERY_AWARENESS])


@dataclass(frozen=True, slots=True)
class Hello:
    """Extension: the server's first message on a coscribe.v1 connection.

    ``incarnation`` identifies this life of the document: it changes when the document
    is deleted and re-created, so a client can refuse to merge stale offline state.
    ``role`` is what the token allows (a viewer's updates are dropped); a role this
    version does not know decodes as VIEWER (:meth:`shared.access.Role.from_wire`).
    """

    incarnation: str
    role: Role = Role.EDITOR
    server: str = "coscribe"

    def encode(self) -> bytes:
        body = json.dumps(
            {"incarnation": self.incarnation, "role": self.role, "server": self.server},
            separators=(",", ":"),
        )
        return bytes([MessageType.HELLO]) + encode_var_string(body)


@dataclass(frozen=True, slots=True)
class Ack:
    """Extension: the first ``count`` document messages this client sent are durably stored."""

    count: int

    def encode(self) -> bytes:
        return bytes([MessageType.ACK]) + encode_var_uint(self.count)


Message = (
    SyncStep1
    | SyncStep2
    | SyncUpdate
    | AwarenessUpdate
    | AuthPermissionDenied
    | QueryAwareness
    | Hello
    | Ack
)


#: Awareness states recently found valid (JSON objects), so that a client republishing the
#: same state (a cursor's relative position does not move while its owner types) is not
#: parsed again. Bounded: cleared when full.
_VALID_STATES: dict[str, None] = {}
_VALID_STATES_MAX = 4096


def _check_state_json(state_json: str) -> None:
    if state_json in _VALID_STATES:
        return
    try:
        value = json.loads(state_json)
    except (ValueError, RecursionError):
        # RecursionError: deeply nested JSON ("[" * 20000) fits under the size limit.
        raise DecodeError("awareness state is not valid JSON") from None
    if value is not None and not isinstance(value, dict):
        raise DecodeError("awareness state must be a JSON object or null")
    if len(_VALID_STATES) >= _VALID_STATES_MAX:
        _VALID_STATES.clear()
    _VALID_STATES[state_json] = None


def parse_awareness_payload(
    payload: bytes, limits: ProtocolLimits = DEFAULT_LIMITS
) -> AwarenessUpdate:
    """Parse and validate an awareness update payload (the bytes inside the message)."""
    r = Lib0Reader(payload, DecodeError)
    count = r.var_uint()
    if count > limits.max_awareness_entries:
        raise AwarenessRejected(f"awareness update with {count} entries")
    entries = []
    for _ in range(count):
        client_id = r.var_uint()
        clock = r.var_uint()
        raw = r.var_bytes()
        try:
            state_json = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("string is not valid UTF-8") from None
        if len(raw) > limits.max_awareness_state_size:
            limit = limits.max_awareness_state_size
            raise AwarenessRejected(f"awareness state of {len(raw)} bytes exceeds {limit}")
        if state_json:
            _check_state_json(state_json)
        entries.append(AwarenessEntry(client_id, clock, state_json))
    r.end()
    return AwarenessUpdate(payload, tuple(entries))


def decode_message(
    data: bytes, *, extensions: bool = False, limits: ProtocolLimits = DEFAULT_LIMITS
) -> Message:
    """Decode one WebSocket message.

    Args:
        data: the binary WebSocket message.
        extensions: accept Coscribe's extension types (only on coscribe.v1 connections).
        limits: size limits for awareness states.

    Raises:
        DecodeError: the bytes are malformed (truncated, trailing garbage, bad UTF-8/JSON).
        UnknownMessageType: a type or sync sub-type this connection does not speak.
        AwarenessRejected: an awareness update over the size limits.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("text frames are not part of the protocol; send binary messages")
    data = bytes(data)
    # The hot path: a document update (type 0, sub-type 2) or an awareness update (type 1)
    # whose length takes one or two bytes and covers exactly the rest of the message.
    # Anything else, including every malformed message, takes the general reader below.
    kind = data[0] if data else 0x80
    if kind <= 1:
        at = 2 - kind  # the length's offset: after type and sub-type, or after type
        if kind == 0 and (len(data) < 2 or data[1] != YSyncMessageType.SYNC_UPDATE):
            at = 0
        if at and len(data) > at:
            n = data[at]
            if n >= 0x80:
                if len(data) > at + 1 and data[at + 1] < 0x80:
                    n = (n & 0x7F) | (data[at + 1] << 7)
                    at += 1
                else:
                    n = -1  # three bytes or more: the general reader
            if n >= 0 and len(data) == at + 1 + n:
                body = data[at + 1 :]
                if kind == 0:
                    return SyncUpdate(body)
                return parse_awareness_payload(body, limits)
    r = Lib0Reader(data, DecodeError)
    kind = r.var_uint()
    msg: Message
    if kind == MessageType.SYNC:
        sub = r.var_uint()
        body = r.var_bytes()
        if sub == YSyncMessageType.SYNC_STEP1:
            msg = SyncStep1(body)
        elif sub == YSyncMessageType.SYNC_STEP2:
            msg = SyncStep2(body)
        elif sub == YSyncMessageType.SYNC_UPDATE:
            msg = SyncUpdate(body)
        else:
            raise UnknownMessageType(f"unknown sync message sub-type {sub}")
    elif kind == MessageType.AWARENESS:
        msg = parse_awareness_payload(r.var_bytes(), limits)
    elif kind == MessageType.AUTH:
        sub = r.var_uint()
        if sub != 0:
            raise UnknownMessageType(f"unknown auth message sub-type {sub}")
        msg = AuthPermissionDenied(r.var_string())
    elif kind == MessageType.QUERY_AWARENESS:
        msg = QueryAwareness()
    elif extensions and kind == MessageType.HELLO:
        try:
            fields = json.loads(r.var_string())
            msg = Hello(
                str(fields["incarnation"]),
                Role.from_wire(fields.get("role", "editor")),
                str(fields.get("server", "")),
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            raise DecodeError("malformed hello message") from None
    elif extensions and kind == MessageType.ACK:
        msg = Ack(r.var_uint())
    else:
        raise UnknownMessageType(f"unknown message type {kind}")
    r.end()
    return msg
