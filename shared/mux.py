"""Many documents over one session (coscribe.v2), the way Hocuspocus multiplexes them.

Every payload of a coscribe.v2 session (``shared.reliable``) names its document first;
what follows is either one message of that document's coscribe.v1 conversation (sync,
awareness, HELLO, ACK...: ``shared.messages``, driven by a ``SyncSession`` per document)
or one of two channel messages::

    payload        ::= varString(channel) • channelMessage
    channel        ::= document | document "#" digit{1,6}    -- the same document twice
    channelMessage ::= message                                   -- coscribe.v1, docs/protocol.md §2
                     | varUint(110) • varString(token)           -- OPEN_DOCUMENT   client -> server
                     | varUint(111) • varUint(code) • varString(reason)
                                                                 -- CLOSE_DOCUMENT  either way

A client opens a document with OPEN_DOCUMENT carrying that document's access token (each
document is admitted on its own, as if it had its own connection; an empty token is no
token, enough only on a server in open mode). The channel is the document's name, or the
name with ``#n`` when the client has the same document open twice on one session (with two
different links, say). The server answers with the document's HELLO
(then step 1 and presence, exactly as on a coscribe.v1 WebSocket) or refuses with
CLOSE_DOCUMENT and a close code (4401, 4403, 4410, 1013...). Either side ends a document
with CLOSE_DOCUMENT; each document's channel is closed by exactly one CLOSE_DOCUMENT from
the server (its refusal, its kick, or its answer to the client's close), so a client may
open the same document again once that arrived.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import write_var_uint

from .docnames import validate_document_name
from .errors import DecodeError, InvalidDocumentName
from .lib0 import Lib0Reader, encode_var_string
from .limits import DEFAULT_LIMITS

OPEN_DOCUMENT = 110
CLOSE_DOCUMENT = 111


@dataclass(frozen=True, slots=True)
class OpenDocument:
    """Client -> server: open this payload's document with ``token`` ("" = none)."""

    token: str = ""

    def encode(self) -> bytes:
        return bytes([OPEN_DOCUMENT]) + encode_var_string(self.token)


@dataclass(frozen=True, slots=True)
class CloseDocument:
    """Either way: this payload's document is closed, with a close code and reason."""

    code: int
    reason: str = ""

    def encode(self) -> bytes:
        return bytes([CLOSE_DOCUMENT]) + write_var_uint(self.code) + encode_var_string(self.reason)


Control = OpenDocument | CloseDocument


def name_prefix(name: str) -> bytes:
    """The bytes every payload of document ``name`` starts with (cache it per document)."""
    return encode_var_string(name)


def encode_payload(name: str, message: bytes) -> bytes:
    return encode_var_string(name) + message


def document_of(channel: str) -> str:
    """The document a channel key names (``notes#2`` -> ``notes``)."""
    return channel.partition("#")[0]


def decode_payload(
    payload: bytes, *, max_name_length: int = DEFAULT_LIMITS.max_document_name_length
) -> tuple[str, bytes]:
    """Split a payload into (channel, message); :func:`document_of` gives the document.

    Raises:
        DecodeError: truncated, an invalid channel (document name), or no message.
    """
    r = Lib0Reader(payload, DecodeError)
    name = r.var_string()
    document, sep, number = name.partition("#")
    try:
        validate_document_name(document, max_length=max_name_length)
    except InvalidDocumentName as exc:
        raise DecodeError(f"payload for an invalid document name: {exc}") from None
    if sep and not (number.isascii() and number.isdigit() and len(number) <= 6):
        raise DecodeError("a channel is a document name, optionally with #<number>")
    message = payload[len(payload) - r.remaining :]
    if not message:
        raise DecodeError("payload without a message")
    return name, message


def decode_control(message: bytes) -> Control | None:
    """The channel message in ``message``, or None if it is a coscribe.v1 message.

    Raises:
        DecodeError: a malformed OPEN_DOCUMENT or CLOSE_DOCUMENT.
    """
    if not message or message[0] not in (OPEN_DOCUMENT, CLOSE_DOCUMENT):
        return None
    r = Lib0Reader(message, DecodeError)
    kind = r.var_uint()
    control: Control
    if kind == OPEN_DOCUMENT:
        control = OpenDocument(r.var_string())
    else:
        control = CloseDocument(r.var_uint(), r.var_string())
    r.end()
    return control
