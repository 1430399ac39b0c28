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
  length prefix beyond the buffer silently yields a short slice), so :class:`_Reader`
  wraps it and turns every such case into :class:`DecodeError`.
* pycrdt's ``Encoder.write_var_string`` writes the length in characters, not bytes, so
  non-ASCII strings (a Korean reason, say) would be mis-framed; :func:`_var_string`
  writes the UTF-8 byte length as y-protocols does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pycrdt import (
    Decoder,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_update_message,
    write_var_uint,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from .errors import AwarenessRejected, DecodeError, UnknownMessageType
from .limits import DEFAULT_LIMITS, MAX_VAR_UINT, ProtocolLimits


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
        return create_update_message(self.update)


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
        return create_awareness_message(self.payload)

    @classmethod
    def from_entries(cls, entries: tuple[AwarenessEntry, ...]) -> AwarenessUpdate:
        parts = [write_var_uint(len(entries))]
        for e in entries:
            parts += [
                write_var_uint(e.client_id),
                write_var_uint(e.clock),
                _var_string(e.state_json),
            ]
        return cls(b"".join(parts), entries)


@dataclass(frozen=True, slots=True)
class AuthPermissionDenied:
    """The y-websocket auth message: the server refuses this client, with a reason."""

    reason: str

    def encode(self) -> bytes:
        return bytes([MessageType.AUTH, 0]) + _var_string(self.reason)


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
    ``role`` is ``"editor"`` or ``"viewer"``; a viewer's updates are dropped.
    """

    incarnation: str
    role: str = "editor"
    server: str = "coscribe"

    def encode(self) -> bytes:
        body = json.dumps(
            {"incarnation": self.incarnation, "role": self.role, "server": self.server},
            separators=(",", ":"),
        )
        return bytes([MessageType.HELLO]) + _var_string(body)


@dataclass(frozen=True, slots=True)
class Ack:
    """Extension: the first ``count`` document messages this client sent are durably stored."""

    count: int

    def encode(self) -> bytes:
        return bytes([MessageType.ACK]) + write_var_uint(self.count)


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


def _var_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return write_var_uint(len(data)) + data


class _Reader:
    """pycrdt's Decoder with the bounds checks it lacks (see module docstring)."""

    def __init__(self, data: bytes) -> None:
        self._decoder = Decoder(data)

    def var_uint(self) -> int:
        d = self._decoder
        start = d.i0
        try:
            value = d.read_var_uint()
        except (IndexError, RuntimeError):
            raise DecodeError("truncated varint") from None
        if d.i0 - start > 8 or value > MAX_VAR_UINT:
            raise DecodeError("varint out of range")
        return value

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        if length > self._decoder.length:
            raise DecodeError(
                f"length prefix {length} exceeds the {self._decoder.length} bytes left"
            )
        d = self._decoder
        data = d.stream[d.i0 : d.i0 + length]
        d.i0 += length
        d.length -= length
        return bytes(data)

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("string is not valid UTF-8") from None

    @property
    def remaining(self) -> int:
        return self._decoder.length

    def end(self) -> None:
        if self._decoder.length != 0:
            raise DecodeError(f"{self._decoder.length} unexpected trailing bytes")


def parse_awareness_payload(
    payload: bytes, limits: ProtocolLimits = DEFAULT_LIMITS
) -> AwarenessUpdate:
    """Parse and validate an awareness update payload (the bytes inside the message)."""
    r = _Reader(payload)
    count = r.var_uint()
    if count > limits.max_awareness_entries:
        raise AwarenessRejected(f"awareness update with {count} entries")
    entries = []
    for _ in range(count):
        client_id = r.var_uint()
        clock = r.var_uint()
        state_json = r.var_string()
        state_size = len(state_json.encode("utf-8"))
        if state_size > limits.max_awareness_state_size:
            limit = limits.max_awareness_state_size
            raise AwarenessRejected(f"awareness state of {state_size} bytes exceeds {limit}")
        if state_json:
            try:
                value = json.loads(state_json)
            except (ValueError, RecursionError):
                # RecursionError: deeply nested JSON ("[" * 20000) fits under the size limit.
                raise DecodeError("awareness state is not valid JSON") from None
            if value is not None and not isinstance(value, dict):
                raise DecodeError("awareness state must be a JSON object or null")
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
    r = _Reader(bytes(data))
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
                str(fields.get("role", "editor")),
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
