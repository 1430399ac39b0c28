"""A bounds-checked reader for lib0, Yjs's binary encoding, over bytes pycrdt hands us.

The editor reads a few things out of pycrdt's encodings that pycrdt has no API for: a
document's state vector, the origins of a one-item update, the ranges of a delete set
(:mod:`editor_app.core.relative_position`). Every read here checks the buffer's end and
the size of each number, so bytes that are not what they should be raise
:class:`~editor_app.core.errors.UnreadableEncoding` instead of an ``IndexError`` from the
middle of a loop or an integer too large for any Yjs peer.

Formats (lib0 ``encoding.js``): a varUint is little-endian base-128, 7 bits per byte, the
high bit set on every byte but the last; Yjs numbers are JavaScript doubles, so a client id
or clock is at most 2^53 - 1 (8 bytes). A varUint8Array is a varUint length and the bytes;
a varString is a varUint8Array of UTF-8.
"""

from __future__ import annotations

from .errors import UnreadableEncoding

__all__ = ["MAX_VAR_UINT", "Lib0Reader", "read_state_vector"]

#: The largest number a Yjs peer can hold (``Number.MAX_SAFE_INTEGER``).
MAX_VAR_UINT = 2**53 - 1
_MAX_VAR_UINT_BYTES = 8  # 8 x 7 = 56 bits >= 53


class Lib0Reader:
    """Reads lib0 values from ``data`` front to back.

    Raises (every method):
        UnreadableEncoding: the value runs past the end of ``data``, or a number is beyond
            :data:`MAX_VAR_UINT`.
    """

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._end = len(data)

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return self._end - self._pos

    def byte(self) -> int:
        if self._pos >= self._end:
            raise UnreadableEncoding(f"truncated: no byte at offset {self._pos}")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def var_uint(self) -> int:
        data, pos, end = self._data, self._pos, self._end
        value = shift = 0
        for _ in range(_MAX_VAR_UINT_BYTES):
            if pos >= end:
                raise UnreadableEncoding(f"truncated varUint at offset {self._pos}")
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                if value > MAX_VAR_UINT:
                    raise UnreadableEncoding(f"varUint {value} beyond 2^53 - 1")
                self._pos = pos
                return value
            shift += 7
        raise UnreadableEncoding(f"varUint longer than {_MAX_VAR_UINT_BYTES} bytes")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        if length > self.remaining:
            raise UnreadableEncoding(f"length {length} exceeds the {self.remaining} bytes left")
        start = self._pos
        self._pos += length
        return bytes(self._data[start : self._pos])

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableEncoding("varString is not UTF-8") from None

    def id(self) -> tuple[int, int]:
        """A Yjs id: client, then clock."""
        client = self.var_uint()
        return client, self.var_uint()

    def end(self) -> None:
        """Check that everything was read."""
        if self._pos != self._end:
            raise UnreadableEncoding(f"{self._end - self._pos} unexpected trailing bytes")


def read_state_vector(data: bytes) -> dict[int, int]:
    """A Yjs state vector (``Doc.get_state()``) as {client: next clock}.

    Raises:
        UnreadableEncoding: ``data`` is not exactly one state vector.
    """
    r = Lib0Reader(data)
    out: dict[int, int] = {}
    for _ in range(r.var_uint()):
        client, clock = r.id()
        out[client] = clock
    r.end()
    return out
