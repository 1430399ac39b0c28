"""lib0 reads of bytes pycrdt hands the editor, with the editor's error.

The editor reads a few things out of pycrdt's encodings that pycrdt has no API for: a
document's state vector, the origins of a one-item update, the ranges of a delete set
(:mod:`editor_app.core.relative_position`). The reading itself is the one bounds-checked
reader of :mod:`shared.lib0`; here, bytes that are not what they should be raise
:class:`~editor_app.core.errors.UnreadableEncoding` (ours: pycrdt's own output that does
not decode is a bug or a pycrdt we do not know, not a peer's fault).
"""

from __future__ import annotations

from shared import lib0

from .errors import UnreadableEncoding

__all__ = ["MAX_VAR_UINT", "Lib0Reader", "read_state_vector"]

MAX_VAR_UINT = lib0.MAX_VAR_UINT


class Lib0Reader(lib0.Lib0Reader):
    """:class:`shared.lib0.Lib0Reader` raising :class:`UnreadableEncoding`."""

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        super().__init__(data, UnreadableEncoding)


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
