"""A test-side writer (and reader) of raw Yjs update v1 bytes, for forging hostile updates.

Why it exists: pycrdt can only produce updates that yrs itself would make, so it cannot
produce the updates an attacker (or a buggy peer) sends: a parent that is a string item,
an origin in the middle of an emoji, a struct that leaves a gap, a clock near 2^32. This
module writes any such struct byte for byte, in the lib0 encoding Yjs uses
(``UpdateEncoderV1`` and ``Item.write`` in yjs/src; ``Update::decode`` in yrs/src/update.rs).

Layout of an update (v1)::

    update      = varUint(#clients) clientStructs* deleteSet
    clientStructs = varUint(#structs) varUint(client) varUint(firstClock) struct*
    struct      = info:uint8 ...
        info & 0x1F == 0   GC    varUint(len)
        info & 0x1F == 10  Skip  varUint(len)
        otherwise          Item  [origin ID if info&0x80] [rightOrigin ID if info&0x40]
                                 [if neither: varUint(parentInfo)
                                              (1: varString(root name), else: parent ID)
                                              [varString(parentSub) if info&0x20]]
                                 content (by ref = info & 0x1F)
    ID          = varUint(client) varUint(clock)
    deleteSet   = varUint(#clients)
                  (varUint(client) varUint(#ranges) (varUint(clock) varUint(len))*)*

Content refs: 1 Deleted(len), 2 JSON(len, varString*), 3 Binary(varUint8Array),
4 String(varString), 5 Embed(varString JSON), 6 Format(varString key, varString JSON),
7 Type(varUint typeRef [varString name for XmlElement(3)/XmlHook(5)]), 8 Any(len, any*),
9 Doc(varString guid, any opts). Strings are UTF-8 with a byte-length prefix (pycrdt's
``Encoder.write_var_string`` writes a character count, wrong for non-ASCII, so it is not
used). Clock lengths count UTF-16 code units for strings (an emoji is 2 clocks).

Known places where yrs (pycrdt 0.14.13) reads these bytes differently from Yjs, all of
which matter to a validator that must agree with what yrs will do:

* JSON content: yrs reads ``len + 1`` strings (``while remaining >= 0``) but writes
  ``len``; Yjs reads and writes ``len``. So a JSON item yrs accepts has a declared count
  one below its string count, and yrs cannot decode its own encoding of that item.
* Content refs: yrs masks ``info & 0x0F`` (refs 16-25 alias 0-9), Yjs ``info & 0x1F``.
  GC and Skip are matched on the whole info byte by yrs, on ``info & 0x1F`` by Yjs.
* Type refs: yrs reads the type ref as one byte, reads no name for XmlHook (5), and also
  accepts 9 (sub-document) and 15 (undefined); Yjs knows 0-6 and reads a hook name.
* A zero-length item (``String("")``, ``Deleted(0)``, ``AnyContent(())``) is dropped by yrs
  and does not advance the clock.

:func:`decode_update` reads the Yjs layout (refs masked with 0x1F, JSON with ``len``
strings), which is also what yrs *writes*; it is used to model a document's structs and to
compare two documents struct by struct (:func:`units`).
"""

from __future__ import annotations

import math
import struct as _struct
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from shared.lib0 import encode_var_int as var_int
from shared.lib0 import encode_var_uint as var_uint

# --------------------------------------------------------------------------- constants

INFO_ORIGIN = 0x80
INFO_RIGHT_ORIGIN = 0x40
INFO_PARENT_SUB = 0x20
REF_MASK = 0x1F

REF_GC = 0
REF_DELETED = 1
REF_JSON = 2
REF_BINARY = 3
REF_STRING = 4
REF_EMBED = 5
REF_FORMAT = 6
REF_TYPE = 7
REF_ANY = 8
REF_DOC = 9
REF_SKIP = 10

TYPE_ARRAY = 0
TYPE_MAP = 1
TYPE_TEXT = 2
TYPE_XML_ELEMENT = 3
TYPE_XML_FRAGMENT = 4
TYPE_XML_HOOK = 5
TYPE_XML_TEXT = 6
#: Type refs whose content carries a name (Yjs writes ``writeKey(nodeName / hookName)``).
NAMED_TYPE_REFS = frozenset({TYPE_XML_ELEMENT, TYPE_XML_HOOK})

MAX_SAFE_INTEGER = 2**53 - 1  # largest client id a JS peer can represent exactly
CLOCK_LIMIT = 2**32  # yrs keeps clocks in u32


# --------------------------------------------------------------------------- lib0 primitives


def var_bytes(data: bytes) -> bytes:
    """lib0 ``writeVarUint8Array``: byte length, then the bytes."""
    return var_uint(len(data)) + data


def var_string(text: str) -> bytes:
    """lib0 ``writeVarString``: the UTF-8 BYTE length, then the UTF-8 bytes.

    ``surrogatepass`` lets a test write a lone surrogate (invalid UTF-8, as a buggy JS
    peer could produce with a half emoji).
    """
    return var_bytes(text.encode("utf-8", "surrogatepass"))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what a Yjs clock counts for a string."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------- lib0 any


@dataclass(frozen=True, slots=True)
class Undefined:
    """JavaScript ``undefined`` (any type 127)."""


@dataclass(frozen=True, slots=True)
class Float32:
    """Force a float32 (any type 124) instead of a float64."""

    value: float


@dataclass(frozen=True, slots=True)
class BigInt:
    """Force a 64-bit BigInt (any type 122)."""

    value: int


AnyValue: TypeAlias = Any  # None, bool, int, float, str, bytes, list, dict and the above


def write_any(value: AnyValue) -> bytes:
    """lib0 ``writeAny`` (encoding.js): one type byte, then the value."""
    if isinstance(value, Undefined):
        return b"\x7f"
    if value is None:
        return b"\x7e"
    if value is True:
        return b"\x78"
    if value is False:
        return b"\x79"
    if isinstance(value, Float32):
        return b"\x7c" + _struct.pack(">f", value.value)
    if isinstance(value, BigInt):
        return b"\x7a" + _struct.pack(">q", value.value)
    if isinstance(value, int):
        if abs(value) <= 0x7FFFFFFF:
            return b"\x7d" + var_int(value)
        if -(2**63) <= value < 2**63:
            return b"\x7a" + _struct.pack(">q", value)
        return b"\x7b" + _struct.pack(">d", float(value))
    if isinstance(value, float):
        if math.isfinite(value) and _struct.unpack(">f", _struct.pack(">f", value))[0] == value:
            return b"\x7c" + _struct.pack(">f", value)
        return b"\x7b" + _struct.pack(">d", value)
    if isinstance(value, str):
        return b"\x77" + var_string(value)
    if isinstance(value, bytes | bytearray):
        return b"\x74" + var_bytes(bytes(value))
    if isinstance(value, list | tuple):
        return b"\x75" + var_uint(len(value)) + b"".join(write_any(v) for v in value)
    if isinstance(value, Mapping):
        parts = [b"\x76", var_uint(len(value))]
        for k, v in value.items():
            parts += [var_string(str(k)), write_any(v)]
        return b"".join(parts)
    raise TypeError(f"no lib0 any encoding for {type(value).__name__}")


# --------------------------------------------------------------------------- ids and content


@dataclass(frozen=True, slots=True, order=True)
class ID:
    """A Yjs item id: (client, clock)."""

    client: int
    clock: int

    def encode(self) -> bytes:
        return var_uint(self.client) + var_uint(self.clock)

    def __str__(self) -> str:
        return f"<{self.client}#{self.clock}>"


@dataclass(frozen=True, slots=True)
class Deleted:
    """Content of a deleted item: only its length survives (ref 1)."""

    length: int
    ref = REF_DELETED

    def encode(self) -> bytes:
        return var_uint(self.length)

    def clocks(self) -> int:
        return self.length


@dataclass(frozen=True, slots=True)
class JSON:
    """Legacy JSON content (ref 2): a count, then that many JSON strings.

    ``count`` defaults to ``len(values)`` (the Yjs layout). yrs reads ``count + 1``
    strings, so ``JSON.for_yrs(values)`` writes ``len(values) - 1``: the form yrs accepts.
    """

    values: tuple[str, ...]
    count: int | None = None
    ref = REF_JSON

    @classmethod
    def for_yrs(cls, values: Sequence[str]) -> JSON:
        return cls(tuple(values), max(len(values) - 1, 0))

    def encode(self) -> bytes:
        count = len(self.values) if self.count is None else self.count
        return var_uint(count) + b"".join(var_string(v) for v in self.values)

    def clocks(self) -> int:
        """Clocks as yrs counts them: one per string it reads (= strings written)."""
        return len(self.values)


@dataclass(frozen=True, slots=True)
class Binary:
    """A byte array (ref 3); one clock."""

    data: bytes
    ref = REF_BINARY

    def encode(self) -> bytes:
        return var_bytes(self.data)

    def clocks(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class String:
    """Text (ref 4). ``raw`` overrides the UTF-8 bytes (invalid UTF-8, lone surrogates)."""

    text: str
    raw: bytes | None = None
    ref = REF_STRING

    def encode(self) -> bytes:
        return var_bytes(self.raw) if self.raw is not None else var_string(self.text)

    def clocks(self) -> int:
        return utf16_len(self.text)


@dataclass(frozen=True, slots=True)
class Embed:
    """An embedded object in text (ref 5), as a JSON string; one clock."""

    json: str
    ref = REF_EMBED

    def encode(self) -> bytes:
        return var_string(self.json)

    def clocks(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class Format:
    """A formatting mark in text (ref 6): key and JSON value (``"null"`` ends it)."""

    key: str
    json: str
    ref = REF_FORMAT

    def encode(self) -> bytes:
        return var_string(self.key) + var_string(self.json)

    def clocks(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class Type:
    """A nested shared type (ref 7). ``name`` for XmlElement (3) and XmlHook (5).

    ``name`` is written whenever it is not None, whatever the type ref, so tests can also
    forge a name where none belongs (or omit it where Yjs expects one).
    """

    type_ref: int
    name: str | None = None
    ref = REF_TYPE

    def encode(self) -> bytes:
        return var_uint(self.type_ref) + (b"" if self.name is None else var_string(self.name))

    def clocks(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class AnyContent:
    """lib0 ``any`` values (ref 8), one clock each: what Y.Array/Y.Map hold."""

    values: tuple[AnyValue, ...]
    ref = REF_ANY

    def encode(self) -> bytes:
        return var_uint(len(self.values)) + b"".join(write_any(v) for v in self.values)

    def clocks(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True)
class SubDoc:
    """A sub-document (ref 9): guid and an options object; one clock."""

    guid: str
    opts: AnyValue = field(default_factory=dict)
    ref = REF_DOC

    def encode(self) -> bytes:
        return var_string(self.guid) + write_any(self.opts)

    def clocks(self) -> int:
        return 1


@dataclass(frozen=True, slots=True)
class Unknown:
    """A content ref neither Yjs nor yrs defines (11-31), followed by arbitrary bytes."""

    ref: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return self.payload

    def clocks(self) -> int:
        return 1


Content: TypeAlias = (
    Deleted | JSON | Binary | String | Embed | Format | Type | AnyContent | SubDoc | Unknown
)

Parent: TypeAlias = str | ID  # a root type's name, or the id of a type item


# --------------------------------------------------------------------------- structs


@dataclass(frozen=True, slots=True)
class GC:
    """A garbage-collected range (ref 0): nothing but a length."""

    length: int
    info: int = REF_GC

    def encode(self) -> bytes:
        return bytes([self.info]) + var_uint(self.length)

    def clocks(self) -> int:
        return self.length


@dataclass(frozen=True, slots=True)
class Skip:
    """A hole in a client's clocks (ref 10): 'these clocks are not in this update'."""

    length: int
    info: int = REF_SKIP

    def encode(self) -> bytes:
        return bytes([self.info]) + var_uint(self.length)

    def clocks(self) -> int:
        return self.length


@dataclass(frozen=True, slots=True)
class Item:
    """An item with content. Which fields are written follows the info byte, as in Yjs:

    origin if set, right origin if set; only when both are None the parent (root name or
    item id) and then ``parent_sub`` (map key) are written. ``extra_info`` is OR-ed into
    the info byte (e.g. 0x20 with an origin: a parentSub flag readers ignore);
    ``parent_info`` overrides the varUint before the parent (1 = root name, 0 = id; yrs
    treats anything but 1 as an id).
    """

    content: Content
    origin: ID | None = None
    right_origin: ID | None = None
    parent: Parent | None = None
    parent_sub: str | None = None
    extra_info: int = 0
    parent_info: int | None = None

    @property
    def info(self) -> int:
        return (
            (self.content.ref & REF_MASK)
            | (INFO_ORIGIN if self.origin is not None else 0)
            | (INFO_RIGHT_ORIGIN if self.right_origin is not None else 0)
            | (INFO_PARENT_SUB if self.parent_sub is not None else 0)
            | self.extra_info
        ) & 0xFF

    def encode(self) -> bytes:
        parts = [bytes([self.info])]
        if self.origin is not None:
            parts.append(self.origin.encode())
        if self.right_origin is not None:
            parts.append(self.right_origin.encode())
        if self.origin is None and self.right_origin is None:
            if self.parent is None:
                raise ValueError("an item without origins must name its parent")
            if isinstance(self.parent, str):
                info = 1 if self.parent_info is None else self.parent_info
                parts += [var_uint(info), var_string(self.parent)]
            else:
                info = 0 if self.parent_info is None else self.parent_info
                parts += [var_uint(info), self.parent.encode()]
            if self.parent_sub is not None:
                parts.append(var_string(self.parent_sub))
        parts.append(self.content.encode())
        return b"".join(parts)

    def clocks(self) -> int:
        return self.content.clocks()


@dataclass(frozen=True, slots=True)
class RawStruct:
    """Arbitrary bytes in place of a struct; ``length`` is what the forger believes it is."""

    data: bytes
    length: int = 1

    def encode(self) -> bytes:
        return self.data

    def clocks(self) -> int:
        return self.length


Struct: TypeAlias = GC | Skip | Item | RawStruct


@dataclass(frozen=True, slots=True)
class ClientStructs:
    """The structs of one client in an update, starting at ``clock``.

    ``count`` overrides the declared number of structs (to lie about it).
    """

    client: int
    clock: int
    structs: tuple[Struct, ...]
    count: int | None = None

    def encode(self) -> bytes:
        count = len(self.structs) if self.count is None else self.count
        return (
            var_uint(count)
            + var_uint(self.client)
            + var_uint(self.clock)
            + b"".join(s.encode() for s in self.structs)
        )

    def ids(self) -> Iterator[tuple[ID, Struct]]:
        """(first id, struct) of each struct, clocks advancing as yrs advances them."""
        clock = self.clock
        for s in self.structs:
            yield ID(self.client, clock), s
            clock += s.clocks()


DeleteSet: TypeAlias = tuple[tuple[int, tuple[tuple[int, int], ...]], ...]


@dataclass(frozen=True, slots=True)
class Update:
    """A whole v1 update: client struct groups, a delete set, and optional trailing bytes."""

    clients: tuple[ClientStructs, ...] = ()
    deletes: DeleteSet = ()
    trailer: bytes = b""

    def encode(self) -> bytes:
        parts = [var_uint(len(self.clients))]
        parts += [c.encode() for c in self.clients]
        parts.append(encode_delete_set(self.deletes))
        parts.append(self.trailer)
        return b"".join(parts)


def encode_delete_set(deletes: DeleteSet) -> bytes:
    """``writeDeleteSet`` (DeleteSet.js), v1: clients, then (clock, len) ranges."""
    parts = [var_uint(len(deletes))]
    for client, ranges in deletes:
        parts += [var_uint(client), var_uint(len(ranges))]
        parts += [var_uint(clock) + var_uint(length) for clock, length in ranges]
    return b"".join(parts)


def update(*groups: ClientStructs, deletes: DeleteSet = ()) -> bytes:
    """Shorthand: the encoded update of ``groups`` and ``deletes``."""
    return Update(tuple(groups), deletes).encode()


def sync_update_message(payload: bytes) -> bytes:
    """A y-websocket SYNC update message (type 0, sub-type 2) carrying ``payload``."""
    return b"\x00\x02" + var_bytes(payload)


def sync_step2_message(payload: bytes) -> bytes:
    """A y-websocket SYNC step 2 message (type 0, sub-type 1) carrying ``payload``."""
    return b"\x00\x01" + var_bytes(payload)


# --------------------------------------------------------------------------- reader


class ForgeDecodeError(ValueError):
    """The bytes are not a well-formed v1 update in the Yjs layout."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise ForgeDecodeError("unexpected end of update")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def var_uint(self) -> int:
        pos = self.pos
        if pos < len(self.data) and self.data[pos] < 0x80:  # the common one-byte case
            self.pos = pos + 1
            return self.data[pos]
        shift = n = 0
        while True:
            b = self.u8()
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n
            if shift > 70:
                raise ForgeDecodeError("varint too long")

    def var_int(self) -> int:
        b = self.u8()
        negative = bool(b & 0x40)
        n, shift = b & 0x3F, 6
        while b & 0x80:
            b = self.u8()
            n |= (b & 0x7F) << shift
            shift += 7
            if shift > 70:
                raise ForgeDecodeError("varint too long")
        return -n if negative else n

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ForgeDecodeError("length prefix beyond the end of the update")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def var_bytes(self) -> bytes:
        return self.take(self.var_uint())

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ForgeDecodeError("string is not UTF-8") from exc

    def id(self) -> ID:
        return ID(self.var_uint(), self.var_uint())

    def any(self, depth: int = 0) -> AnyValue:
        if depth > 100:
            raise ForgeDecodeError("any nested too deeply")
        t = self.u8()
        if t == 127:
            return Undefined()
        if t == 126:
            return None
        if t == 125:
            return self.var_int()
        if t == 124:
            return Float32(_struct.unpack(">f", self.take(4))[0])
        if t == 123:
            return _struct.unpack(">d", self.take(8))[0]
        if t == 122:
            return BigInt(_struct.unpack(">q", self.take(8))[0])
        if t in (120, 121):
            return t == 120
        if t == 119:
            return self.var_string()
        if t == 118:
            return {self.var_string(): self.any(depth + 1) for _ in range(self.var_uint())}
        if t == 117:
            return [self.any(depth + 1) for _ in range(self.var_uint())]
        if t == 116:
            return self.var_bytes()
        raise ForgeDecodeError(f"unknown any type {t}")

    def content(self, ref: int) -> Content:
        if ref == REF_DELETED:
            return Deleted(self.var_uint())
        if ref == REF_JSON:
            return JSON(tuple(self.var_string() for _ in range(self.var_uint())))
        if ref == REF_BINARY:
            return Binary(self.var_bytes())
        if ref == REF_STRING:
            return String(self.var_string())
        if ref == REF_EMBED:
            return Embed(self.var_string())
        if ref == REF_FORMAT:
            return Format(self.var_string(), self.var_string())
        if ref == REF_TYPE:
            type_ref = self.var_uint()
            name = self.var_string() if type_ref in NAMED_TYPE_REFS else None
            return Type(type_ref, name)
        if ref == REF_ANY:
            return AnyContent(tuple(self.any() for _ in range(self.var_uint())))
        if ref == REF_DOC:
            return SubDoc(self.var_string(), self.any())
        raise ForgeDecodeError(f"unknown content ref {ref}")

    def struct(self) -> Struct:
        info = self.u8()
        ref = info & REF_MASK
        if ref == REF_GC:
            return GC(self.var_uint(), info)
        if ref == REF_SKIP:
            return Skip(self.var_uint(), info)
        origin = self.id() if info & INFO_ORIGIN else None
        right = self.id() if info & INFO_RIGHT_ORIGIN else None
        parent: Parent | None = None
        sub: str | None = None
        if origin is None and right is None:
            parent = self.var_string() if self.var_uint() == 1 else self.id()
            if info & INFO_PARENT_SUB:
                sub = self.var_string()
        extra = info & INFO_PARENT_SUB if sub is None else 0
        return Item(self.content(ref), origin, right, parent, sub, extra)


def decode_update(data: bytes) -> Update:
    """Parse a v1 update in the Yjs layout; raises ForgeDecodeError on malformed bytes."""
    r = _Reader(data)
    groups = []
    for _ in range(r.var_uint()):
        count = r.var_uint()
        client = r.var_uint()
        clock = r.var_uint()
        groups.append(ClientStructs(client, clock, tuple(r.struct() for _ in range(count))))
    deletes = []
    for _ in range(r.var_uint()):
        client = r.var_uint()
        deletes.append((client, tuple((r.var_uint(), r.var_uint()) for _ in range(r.var_uint()))))
    return Update(tuple(groups), tuple(deletes), data[r.pos :])


def decode_state_vector(data: bytes) -> dict[int, int]:
    """A v1 state vector (``Doc.get_state()``) as {client: next clock}."""
    r = _Reader(data)
    return {r.var_uint(): r.var_uint() for _ in range(r.var_uint())}


# --------------------------------------------------------------------------- canonical form

Unit: TypeAlias = tuple[Any, ...]


def _canonical(value: AnyValue) -> Any:
    """An order-free form of a lib0 any value: yrs re-encodes objects in its own key order."""
    if isinstance(value, Mapping):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canonical(v) for v in value))
    return repr(value)


def _content_units(content: Content) -> list[Any]:
    """One value per clock of ``content`` (a string yields its UTF-16 code units)."""
    if isinstance(content, String):
        b = content.text.encode("utf-16-le", "surrogatepass")
        return [("s", int.from_bytes(b[i : i + 2], "little")) for i in range(0, len(b), 2)]
    if isinstance(content, AnyContent):
        return [("a", _canonical(v)) for v in content.values]
    if isinstance(content, JSON):
        return [("j", v) for v in content.values]
    if isinstance(content, Deleted):
        return [("d",)] * content.length
    return [(type(content).__name__, repr(content))]


def units(data: bytes) -> dict[ID, Unit]:
    """Expand a full-state update into one canonical record per clock.

    Two documents hold the same structs iff their ``units`` are equal, however yrs split
    or squashed the items: unit k > 0 of an item has origin (client, clock + k - 1) and
    the item's right origin, exactly what a split would write. Deleted clocks (in the
    delete set, GC, or Deleted content) collapse to ``("deleted",)`` because whether the
    content was collected yet may differ between two equal documents.
    """
    upd = decode_update(data)
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for client, ranges in upd.deletes:
        merged: list[list[int]] = []
        for lo, hi in sorted((c, c + n) for c, n in ranges):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        starts[client] = [r[0] for r in merged]
        ends[client] = [r[1] for r in merged]

    def is_deleted(client: int, clock: int) -> bool:
        s = starts.get(client)
        if s is None:
            return False
        i = bisect_right(s, clock) - 1
        return i >= 0 and clock < ends[client][i]

    out: dict[ID, Unit] = {}
    for group in upd.clients:
        for first, s in group.ids():
            if isinstance(s, Skip):
                continue
            if isinstance(s, GC | RawStruct):
                for k in range(s.clocks()):
                    out[ID(first.client, first.clock + k)] = ("deleted",)
                continue
            for k, value in enumerate(_content_units(s.content)):
                uid = ID(first.client, first.clock + k)
                if isinstance(s.content, Deleted) or is_deleted(uid.client, uid.clock):
                    out[uid] = ("deleted",)
                    continue
                origin = s.origin if k == 0 else ID(first.client, first.clock + k - 1)
                where = (s.parent, s.parent_sub) if k == 0 and s.origin is None else None
                if s.right_origin is not None:
                    where = None
                out[uid] = (value, origin, s.right_origin, where)
    return out


def root_names(data: bytes) -> set[str]:
    """Names of the root types that the structs of an update name as parents."""
    return {
        s.parent
        for g in decode_update(data).clients
        for s in g.structs
        if isinstance(s, Item) and isinstance(s.parent, str)
    }


def iter_items(data: bytes) -> Iterable[tuple[ID, Item]]:
    """(first id, item) of every item of an update."""
    for group in decode_update(data).clients:
        for first, s in group.ids():
            if isinstance(s, Item):
                yield first, s
