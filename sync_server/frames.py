"""WebSocket frames after the opening handshake (RFC 6455 section 5), sans I/O.

Why not websockets' own reader: after the handshake a relay connection only ever carries
small binary messages, and websockets' generator-based reader, its frame objects and its
asyncio connection cost about 30 µs and 8 KB of every connection. The relay lets
websockets do the opening handshake (HTTP parsing, headers, subprotocol, origins) and
then hands the socket to :class:`~sync_server.upgraded.UpgradedSocket`, which reads frames
with :class:`FrameReader`: bytes in, complete messages and control frames out through a
:class:`FrameSink`; no asyncio inside. The server negotiates no extension (compression is
off), so any reserved bit is a protocol error.

What it checks, as websockets does for a server: every client frame is masked; control
frames are final and at most 125 bytes; continuation frames continue a message; a
message (all its fragments) is at most ``max_size`` bytes, refused as soon as a frame
header says it would be larger, before its payload is buffered; a close frame's code and
UTF-8 reason are valid (websockets' ``Close.parse``). A violation raises
:class:`FrameError` carrying the close code; the caller closes the connection with it and
reads nothing more.
"""

from __future__ import annotations

from typing import Protocol

from websockets.exceptions import ProtocolError as WsProtocolError
from websockets.frames import Close

from shared.errors import CloseCode

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the wheel ships the C extension
    from websockets.utils import apply_mask

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA = (OP_CONT, OP_TEXT, OP_BINARY)
_CONTROL = (OP_CLOSE, OP_PING, OP_PONG)


class FrameError(Exception):
    """The peer broke the framing rules: close with :attr:`code` and stop reading."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FrameSink(Protocol):
    """Where a :class:`FrameReader` puts what it read."""

    def on_message(self, data: bytes, text: bool) -> None: ...

    def on_ping(self, data: bytes) -> None: ...

    def on_pong(self, data: bytes) -> None: ...

    def on_close(self, code: int, reason: str) -> None: ...


class FrameReader:
    """Parses client-to-server frames from a byte stream (see module docstring)."""

    __slots__ = ("_buffer", "_fragments", "_fragments_size", "_need", "_text", "max_size", "sink")

    def __init__(self, sink: FrameSink, max_size: int) -> None:
        self.sink = sink
        self.max_size = max_size
        self._buffer = bytearray()
        self._need = 0  # bytes the buffer must hold before parsing is worth trying
        self._fragments: list[bytes] | None = None
        self._fragments_size = 0
        self._text = False

    def feed(self, data: bytes) -> None:
        """Parse what ``data`` completes; keep the rest. Raises :class:`FrameError`."""
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._need:
                return
            consumed = self._parse(buffer)
            del buffer[:consumed]
        else:
            consumed = self._parse(data)
            if consumed < len(data):
                buffer += data[consumed:]

    def _parse(self, buf: bytes | bytearray) -> int:
        """Read every complete frame at the start of ``buf``; return the bytes used."""
        end = len(buf)
        pos = 0
        sink = self.sink
        self._need = 0
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = pos + 2
            if length == 126:
                if end - head < 2:
                    break
                length = int.from_bytes(buf[head : head + 2], "big")
                head += 2
            elif length == 127:
                if end - head < 8:
                    break
                length = int.from_bytes(buf[head : head + 8], "big")
                head += 8
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            self._check(b0, b1, opcode, fin, length)
            stop = head + 4 + length
            if stop > end:
                self._need = stop - pos
                break
            payload = apply_mask(buf[head + 4 : stop], buf[head : head + 4])
            pos = stop
            if opcode == OP_BINARY and fin and self._fragments is None:  # the usual case
                sink.on_message(payload, False)
            elif opcode in _DATA:
                self._data(opcode, fin, payload)
            elif opcode == OP_PING:
                sink.on_ping(payload)
            elif opcode == OP_PONG:
                sink.on_pong(payload)
            else:
                try:
                    close = Close.parse(payload)
                except (WsProtocolError, UnicodeDecodeError) as exc:
                    code = CloseCode.INVALID_PAYLOAD
                    if isinstance(exc, WsProtocolError):
                        code = CloseCode.PROTOCOL_ERROR
                    raise FrameError(code, f"bad close frame: {exc}") from None
                sink.on_close(close.code, close.reason)
                return pos  # nothing after a close frame is read
        return pos

    def _check(self, b0: int, b1: int, opcode: int, fin: int, length: int) -> None:
        if b0 & 0x70:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits must be 0")
        if not b1 & 0x80:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "incorrect masking")
        if opcode in _CONTROL:
            if not fin:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
            if length > 125:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "control frame too long")
        elif opcode not in _DATA:
            raise FrameError(CloseCode.PROTOCOL_ERROR, f"invalid opcode: {opcode}")
        elif opcode == OP_CONT:
            if self._fragments is None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
            if self._fragments_size + length > self.max_size:
                raise FrameError(CloseCode.MESSAGE_TOO_BIG, "message too big")
        else:
            if self._fragments is not None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "expected a continuation frame")
            if length > self.max_size:
                raise FrameError(
                    CloseCode.MESSAGE_TOO_BIG,
                    f"frame with {length} bytes exceeds limit of {self.max_size} bytes",
                )

    def _data(self, opcode: int, fin: int, payload: bytes) -> None:
        if opcode != OP_CONT:  # the first frame of a message (_check saw no message open)
            if fin:
                self.sink.on_message(payload, opcode == OP_TEXT)
                return
            self._fragments, self._fragments_size = [payload], len(payload)
            self._text = opcode == OP_TEXT
            return
        fragments = self._fragments
        assert fragments is not None  # _check refused a continuation without a message
        fragments.append(payload)
        self._fragments_size += len(payload)
        if fin:
            self._fragments, self._fragments_size = None, 0
            self.sink.on_message(b"".join(fragments), self._text)


#: Headers of final binary frames with payloads under 126 bytes, by size (keystrokes and
#: cursor updates are that small; the relay writes one header per message per peer).
_SMALL_BINARY_HEADS = tuple(bytes((0x80 | OP_BINARY, n)) for n in range(126))


def binary_frame_head(size: int) -> bytes:
    """The header of one final, unmasked binary frame of ``size`` payload bytes."""
    if size < 126:
        return _SMALL_BINARY_HEADS[size]
    if size < 65536:
        return bytes((0x80 | OP_BINARY, 126, size >> 8, size & 0xFF))
    return frame_head(OP_BINARY, size)


def frame_head(opcode: int, size: int) -> bytes:
    """The header of one final, unmasked server frame of ``size`` payload bytes."""
    first = 0x80 | opcode
    if size < 126:
        return bytes((first, size))
    if size < 65536:
        return bytes((first, 126)) + size.to_bytes(2, "big")
    return bytes((first, 127)) + size.to_bytes(8, "big")


def close_payload(code: int, reason: str) -> bytes:
    """A close frame's payload: the code and the reason cut to fit 125 bytes (whole
    characters); 1005 (no code given) is sent as an empty payload, as RFC 6455 says."""
    if code == 1005:
        return b""
    data = reason.encode("utf-8")
    if len(data) > 123:
        data = data[:123].decode("utf-8", "ignore").encode("utf-8")
    return code.to_bytes(2, "big") + data
