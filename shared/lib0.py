"""The one bounds-checked reader of lib0, Yjs's binary encoding.

Three places read lib0 that no pycrdt API reads for them: the wire messages
(:mod:`shared.messages`), the structs of an update the gate checks before yrs sees it
(:mod:`shared.yjs_structs`), and the state vectors and relative positions the editor
inspects (:mod:`editor_app.core.lib0`). Bytes from a peer are hostile, so every read
checks the end of the buffer and the size of every number, and raises a typed error
instead of an ``IndexError`` from the middle of a loop or an integer no Yjs peer can hold.
Each caller says which error that is (``DecodeError`` for a message, ``InvalidUpdate``
for an update, the editor's ``UnreadableEncoding`` for pycrdt's own output), so a bad
byte maps to the right close code with no translation layer on the hot path.

Formats (lib0 ``encoding.js``): a varUint is little-endian base-128, 7 bits per byte, the
high bit set on every byte but the last; Yjs numbers are JavaScript doubles, so a client
id or clock is at most 2^53 - 1 (8 bytes). A varUint8Array is a varUint length and the
bytes; a varString is a varUint8Array of UTF-8; a varInt keeps the sign in the first byte;
an "any" value is a tag byte and its payload.
"""

from __future__ import annotations

__all__ = [
    "MAX_ANY_DEPTH",
    "MAX_VAR_UINT",
    "Lib0Reader",
    "encode_var_int",
    "encode_var_string",
    "encode_var_uint",
]

#: The largest number a Yjs peer can hold (``Number.MAX_SAFE_INTEGER``).
MAX_VAR_UINT = 2**53 - 1
_MAX_VAR_UINT_BYTES = 8  # 8 x 7 = 56 bits >= 53
#: Nesting of lib0 "any" values (arrays, objects) a reader follows before refusing.
MAX_ANY_DEPTH = 64


def encode_var_uint(n: int) -> bytes:
    """lib0 ``writeVarUint`` (what pycrdt's ``write_var_uint`` writes), without the range
    check a reader makes: tests forge numbers no honest peer writes.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0x80:
        if n < 0:
            raise ValueError(f"var_uint of a negative number: {n}")
        return bytes((n,))
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_var_int(n: int) -> bytes:
    """lib0 ``writeVarInt``: a continue bit, the sign and 6 bits in the first byte, then 7
    bits a byte (like a varUint)."""
    negative, n = n < 0, abs(n)
    out = bytearray([(0x80 if n > 0x3F else 0) | (0x40 if negative else 0) | (n & 0x3F)])
    n >>= 6
    while n > 0:
        out.append((0x80 if n > 0x7F else 0) | (n & 0x7F))
        n >>= 7
    return bytes(out)


def encode_var_string(text: str) -> bytes:
    """lib0 ``writeVarString``: the UTF-8 byte length, then the bytes (pycrdt's
    ``Encoder.write_var_string`` writes the length in characters: wrong beyond ASCII)."""
    data = text.encode("utf-8")
    return encode_var_uint(len(data)) + data


class Lib0Reader:
    """Reads lib0 values from ``data`` front to back.

    Args:
        data: the encoded bytes.
        error: the exception type raised (with a message) for anything that is not lib0:
            a value running past the end, a number beyond :data:`MAX_VAR_UINT`, invalid
            UTF-8, an unknown "any" tag, nesting deeper than :data:`MAX_ANY_DEPTH`.
    """

    __slots__ = ("_buf", "_end", "_error", "_pos")

    def __init__(self, data: bytes, error: type[Exception]) -> None:
        self._buf = data
        self._pos = 0
        self._end = len(data)
        self._error = error

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return self._end - self._pos

    @property
    def position(self) -> int:
        """Bytes read so far."""
        return self._pos

    def byte(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise self._error(f"truncated: no byte at offset {pos}")
        self._pos = pos + 1
        return self._buf[pos]

    def var_uint(self) -> int:
        buf, pos, end = self._buf, self._pos, self._end
        if pos >= end:
            raise self._error(f"truncated varint at offset {pos}")
        b = buf[pos]
        if b < 0x80:  # the common case: one byte
            self._pos = pos + 1
            return b
        start, value, shift = pos, 0, 0
        while True:
            if pos >= end:
                raise self._error(f"truncated varint at offset {start}")
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if pos - start >= _MAX_VAR_UINT_BYTES:
                raise self._error(f"varint longer than 53 bits ({_MAX_VAR_UINT_BYTES} bytes)")
        if value > MAX_VAR_UINT:
            raise self._error(f"varint {value} beyond 2^53 - 1")
        self._pos = pos
        return value

    def count(self) -> int:
        """A count of things that each take at least one byte: bounded by what is left, so
        a forged count cannot make a caller loop (or allocate) beyond the message."""
        n = self.var_uint()
        if n > self._end - self._pos:
            raise self._error(f"count {n} exceeds the {self._end - self._pos} bytes left")
        return n

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        pos = self._pos
        if length > self._end - pos:
            raise self._error(f"length {length} exceeds the {self._end - pos} bytes left")
        self._pos = pos + length
        return bytes(self._buf[pos : pos + length])

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise self._error("string is not valid UTF-8") from None

    def skip(self, n: int) -> None:
        if n > self._end - self._pos:
            raise self._error(f"truncated: {n} bytes wanted, {self._end - self._pos} left")
        self._pos += n

    def id(self) -> tuple[int, int]:
        """A Yjs id: client, then clock."""
        client = self.var_uint()
        return client, self.var_uint()

    def var_int(self) -> int:
        """A lib0 varInt (sign in the first byte), at most 8 bytes (6 + 7 x 7 = 55 bits)."""
        b = self.byte()
        value, shift, negative = b & 0x3F, 6, bool(b & 0x40)
        while b & 0x80:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if shift > 60:
                raise self._error("varInt longer than 53 bits")
        return -value if negative else value

    def skip_var_int(self) -> None:
        """Skip a lib0 varInt (sign in the first byte)."""
        b = self.byte()
        n = 0
        while b & 0x80:
            b = self.byte()
            n += 1
            if n > _MAX_VAR_UINT_BYTES:
                raise self._error(f"varint longer than 53 bits ({_MAX_VAR_UINT_BYTES} bytes)")

    def skip_any(self, depth: int = 0) -> None:
        """Skip one lib0 "any" value (what Yjs's ContentAny and map values hold)."""
        if depth > MAX_ANY_DEPTH:
            raise self._error("value nested too deeply")
        tag = self.byte()
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if tag == 125:
            self.skip_var_int()
        elif tag == 124:  # float32
            self.skip(4)
        elif tag in (123, 122):  # float64, bigint64
            self.skip(8)
        elif tag == 119:
            self.var_string()
        elif tag == 118:  # object
            for _ in range(self.count()):
                self.var_string()
                self.skip_any(depth + 1)
        elif tag == 117:  # array
            for _ in range(self.count()):
                self.skip_any(depth + 1)
        elif tag == 116:  # Uint8Array
            self.var_bytes()
        else:
            raise self._error(f"unknown value type {tag}")

    def end(self) -> None:
        """Check that everything was read."""
        if self._pos != self._end:
            raise self._error(f"{self._end - self._pos} unexpected trailing bytes")
