"""Reading Yjs updates (encoding v1) struct by struct, with every length checked.

pycrdt decodes updates only into a document; the update gate (``shared.update_gate``) must
look at an update *before* it reaches a document, so this module reads the lib0 encoding
itself: per client a run of structs (GC, Skip, or an Item with its origin, right origin,
parent or parent key, and content kind and length) and the delete set. It never trusts a
count or a length: each is bounded by the bytes left, varints by 2^53, clocks by 2^32.
It raises only :class:`~shared.errors.InvalidUpdate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidUpdate
from .lib0 import MAX_VAR_UINT, Lib0Reader

#: yrs keeps clocks in 32 bits; Yjs would go to 2**53, but no honest client gets near.
CLOCK_LIMIT = 2**32 - 1
#: Largest client id (Yjs numbers are doubles; yrs keeps 53 bits of a larger one).
CLIENT_LIMIT = MAX_VAR_UINT

# Struct kinds (the low 5 bits of the info byte), as Yjs numbers them.
GC, DELETED, JSON, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC = range(10)
SKIP = 10
# Info byte flags.
_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20
# Shared type refs.
ARRAY_TYPE, MAP_TYPE, TEXT_TYPE, XML_ELEMENT, XML_FRAGMENT, XML_HOOK, XML_TEXT = range(7)
#: Shared type refs accepted. Not XmlHook: Yjs writes its name, yrs does not read it.
TYPE_REFS = frozenset({ARRAY_TYPE, MAP_TYPE, TEXT_TYPE, XML_ELEMENT, XML_FRAGMENT, XML_TEXT})

ID = tuple[int, int]  # (client, clock)


@dataclass(slots=True)
class Struct:
    """One struct as encoded. ``parent`` is an item id, ``root`` a root type's name: at
    most one is set, and only when the struct has neither origin (encoders leave the parent
    out when a neighbour implies it); ``sub`` is the map key then."""

    client: int
    clock: int
    length: int
    kind: int
    origin: ID | None = None
    right: ID | None = None
    parent: ID | None = None
    root: str | None = None
    sub: str | None = None
    type_ref: int | None = None  # for TYPE content
    lows: tuple[int, ...] = ()  # offsets (from clock) of low surrogates in string content


def _low_surrogate_offsets(text: str) -> tuple[int, tuple[int, ...]]:
    """(UTF-16 length, offsets of the low surrogates) of ``text``."""
    n16 = len(text.encode("utf-16-le")) >> 1
    if n16 == len(text):
        return n16, ()
    lows = []
    at = 0
    for ch in text:
        if ord(ch) > 0xFFFF:
            lows.append(at + 1)
            at += 2
        else:
            at += 1
    return n16, tuple(lows)


def _read_item(r: Lib0Reader, info: int, client: int, clock: int, yrs_layout: bool) -> Struct:
    kind = info & 0x1F
    s = Struct(client, clock, 0, kind)
    if info & _HAS_ORIGIN:
        s.origin = (r.var_uint(), r.var_uint())
    if info & _HAS_RIGHT_ORIGIN:
        s.right = (r.var_uint(), r.var_uint())
        if s.right == s.origin:
            raise InvalidUpdate("origin and right origin are the same item")
    if not info & (_HAS_ORIGIN | _HAS_RIGHT_ORIGIN):
        if r.var_uint() == 1:
            s.root = r.var_string()
        else:
            s.parent = (r.var_uint(), r.var_uint())
        if info & _HAS_PARENT_SUB:
            s.sub = r.var_string()
    if kind == STRING:
        s.length, s.lows = _low_surrogate_offsets(r.var_string())
    elif kind == DELETED:
        s.length = r.var_uint()
    elif kind == JSON:
        if not yrs_layout:
            raise InvalidUpdate("legacy JSON content is not accepted (Yjs writes Any content)")
        s.length = r.count() + 1  # yrs writes (and reads) one string more than the count
        for _ in range(s.length):
            r.var_bytes()
    elif kind == ANY:
        s.length = r.count()
        for _ in range(s.length):
            r.skip_any()
    elif kind == FORMAT:
        r.var_bytes()
        r.var_bytes()
        s.length = 1
    elif kind in (EMBED, BINARY):
        r.var_bytes()
        s.length = 1
    elif kind == TYPE:
        ref = r.var_uint()
        if ref not in TYPE_REFS and not (yrs_layout and ref == XML_HOOK):
            raise InvalidUpdate(f"shared type {ref} is not accepted")
        if ref == XML_ELEMENT:
            r.var_bytes()
        s.type_ref = ref
        s.length = 1
    elif kind == DOC:
        raise InvalidUpdate("subdocuments are not supported")
    else:
        raise InvalidUpdate(f"unknown struct kind {kind}")
    return s


def decode_structs(
    update: bytes, *, yrs_layout: bool = False
) -> tuple[list[list[Struct]], list[tuple[int, int, int]]]:
    """Decode an update into per-client struct runs and delete ranges (client, clock, len).

    ``yrs_layout``: the bytes come from yrs (``doc.get_update()``), which lays JSON items
    and XmlHook types out its own way; accept those as yrs wrote them.

    Raises:
        InvalidUpdate: the bytes are not a complete, well-formed Yjs v1 update.
    """
    r = Lib0Reader(update, InvalidUpdate)
    runs: list[list[Struct]] = []
    seen: set[int] = set()
    for _ in range(r.count()):
        n = r.count()
        client = r.var_uint()
        clock = r.var_uint()
        if client in seen:
            raise InvalidUpdate(f"client {client} appears twice")
        seen.add(client)
        run: list[Struct] = []
        for _ in range(n):
            info = r.byte()
            kind = info & 0x1F
            if kind == SKIP or kind == GC:
                s = Struct(client, clock, r.var_uint(), kind)
            else:
                s = _read_item(r, info, client, clock, yrs_layout)
            if s.length <= 0:
                raise InvalidUpdate("empty struct")
            clock += s.length
            if clock > CLOCK_LIMIT:
                raise InvalidUpdate("clock beyond 2^32")
            run.append(s)
        if run:
            runs.append(run)
    deletes: list[tuple[int, int, int]] = []
    for _ in range(r.count()):
        client = r.var_uint()
        for _ in range(r.count()):
            start, length = r.var_uint(), r.var_uint()
            if length <= 0:
                raise InvalidUpdate("empty deleted range")
            if start + length > CLOCK_LIMIT:
                raise InvalidUpdate("deleted range beyond 2^32")
            deletes.append((client, start, length))
    r.end()
    return runs, deletes


def encode_state_vector(state: dict[int, int]) -> bytes:
    out = bytearray()
    for value in (len(state), *(x for item in state.items() for x in item)):
        while value > 0x7F:
            out.append(0x80 | (value & 0x7F))
            value >>= 7
        out.append(value)
    return bytes(out)


def decode_state_vector(sv: bytes) -> dict[int, int]:
    """A Yjs state vector as {client: next clock}.

    Raises:
        InvalidUpdate: the bytes do not decode.
    """
    r = Lib0Reader(sv, InvalidUpdate)
    out = {}
    for _ in range(r.count()):
        client = r.var_uint()
        out[client] = r.var_uint()
    r.end()
    return out
