"""The update gate: a Yjs update reaches a document only if it integrates completely.

Why this exists. yrs (the CRDT under pycrdt) integrates an update struct by struct. If a
struct half-way through is impossible (a parent that is not a shared type), yrs raises
*after* integrating the structs before it; if a struct's dependencies are unknown, yrs
keeps it *pending* without error and may integrate it much later, when an honest update
fills the gap, and then fail in the middle of that honest update. Either way the relay's
live document would hold something the durable log and the other peers never saw, and a
later acknowledged edit could be lost. So the relay never lets yrs discover a problem:
every update is decoded and checked here first, in pure Python, against what the
document holds, and is applied only if it

* decodes completely (Yjs update encoding v1, every length checked against the buffer);
* uses only content kinds that Yjs writes and yrs reads the same way: no subdocuments, no
  yrs-only "move" items, no legacy JSON items and no XmlHook types (yrs decodes both
  differently from Yjs: a JSON item's count off by one, a hook without its name, so bytes
  the gate reads as one struct would be another struct for yrs); no empty items; client
  ids below 2^53 and clocks below 2^32 (what Yjs and yrs can hold);
* leaves nothing pending: for each client its structs continue the document's state
  without a gap, and every origin, right origin and parent id exists once the structs of
  the update that precede it (in any dependency order) are integrated; every deleted range
  is covered by the document plus the update;
* names as parent (by id) only items that are shared types;
* never splits a UTF-16 surrogate pair (an origin, right origin, deleted range boundary or
  overlap offset between the two halves of an emoji): Yjs replaces both halves with
  U+FFFD while yrs keeps the character whole, so the peers would diverge;
* does not name the same item as its origin and its right origin (an item cannot be both
  left and right of the new one; yrs would place it differently live and on replay).

Facts (types, surrogates) are taken only from the part of each struct that is new to the
document: yrs drops the part it already has, whatever the update claims it holds.

The checks use a :class:`DocumentFacts` table (per client the next clock, the ids of
shared-type items, the clocks of low surrogates) that the gate keeps in step with the
document: build it from the document once, then :meth:`UpdateGate.admit` each update,
apply it, and :meth:`UpdateGate.commit` the :class:`Admitted` result. Updates whose only
fault is a dependency that has not arrived yet raise :class:`MissingDependencies` (a
subclass of :class:`~shared.errors.InvalidUpdate`), so a caller may hold them and retry.

Cost: one pass over the update's bytes in Python (about 10 µs for a keystroke), and one
pass over the whole document when the facts are built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from .errors import InvalidUpdate

#: yrs keeps clocks in 32 bits; Yjs would go to 2**53, but no honest client gets near.
CLOCK_LIMIT = 2**32 - 1

#: Nesting limit for lib0 "any" values (objects in arrays in objects...).
MAX_ANY_DEPTH = 64

# Struct kinds (the low 5 bits of the info byte), as Yjs numbers them.
_GC, _DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC = range(10)
_SKIP = 10
# Info byte flags.
_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20
#: Shared type refs accepted: Array, Map, Text, XmlElement, XmlFragment, XmlText. Not
#: XmlHook (5): Yjs writes its name, yrs does not read it.
_TYPE_REFS = frozenset({0, 1, 2, 3, 4, 6})
_XML_ELEMENT = 3  # carries a tag name
_XML_HOOK = 5
#: Largest client id (Yjs numbers are doubles; yrs keeps 53 bits of a larger one).
CLIENT_LIMIT = 2**53 - 1

ID = tuple[int, int]  # (client, clock)


class MissingDependencies(InvalidUpdate):
    """The update depends on structs or deletions the document does not have (yet).

    Unlike other invalid updates this may be honest: a stock y-websocket client can send an
    edit made right after reconnecting before its sync step 2 that carries what the edit
    builds on. A caller may hold such an update and retry it after the peer's next one.
    """


class _Truncated(Exception):
    pass


@dataclass(slots=True)
class DocumentFacts:
    """What the gate needs to know about a document, kept in step with it.

    Attributes:
        state: per client, the next clock (what ``Doc.get_state`` says).
        types: ids of items whose content is a shared type (valid parents).
        low_surrogates: per client, clocks that hold the second half of a surrogate pair.
        pending_structs: structs of the document's encoding beyond its clocks: yrs keeps
            pending structs and includes them in ``get_update()``; a document stored before
            the gate existed may have some (they never integrate).
    """

    state: dict[int, int] = field(default_factory=dict)
    types: set[ID] = field(default_factory=set)
    low_surrogates: dict[int, set[int]] = field(default_factory=dict)
    pending_structs: int = 0

    @classmethod
    def of_document(cls, full_state: bytes, state_vector: bytes) -> DocumentFacts:
        """The facts of a document from ``doc.get_update()`` and ``doc.get_state()``.

        Trusts the document (it was built from our own storage): the clocks come from its
        state vector, types and surrogates from one scan of its structs. Costs about
        0.1 s for a document with a long history (the automerge-paper trace); callers run
        it off the event loop.

        Raises:
            InvalidUpdate: the state does not decode.
        """
        facts = cls(state=decode_state_vector(state_vector))
        runs, _ = decode_structs(full_state, yrs_layout=True)
        for run in runs:
            have = facts.state.get(run[0].client, 0)
            for s in run:
                if s.clock >= have and s.kind != _SKIP:
                    facts.pending_structs += 1
                if s.kind == _TYPE:
                    facts.types.add((s.client, s.clock))
                elif s.lows:
                    lows = facts.low_surrogates.setdefault(s.client, set())
                    lows.update(s.clock + o for o in s.lows)
        return facts

    def splits_pair(self, client: int, clock: int) -> bool:
        """True if a boundary just before ``clock`` cuts an emoji in two."""
        lows = self.low_surrogates.get(client)
        return lows is not None and clock in lows


@dataclass(frozen=True, slots=True)
class Admitted:
    """An update that passed the gate, with the facts it adds once applied.

    ``overlap_state``: when some structs repeat clocks the document already has, the
    state vector (encoded) of the document before the update, for the update's clients.
    yrs drops repeated clocks whatever they hold, so what the document really gained is
    ``pycrdt.get_update(update, overlap_state)`` (see :meth:`gained`); relaying or storing
    the update as sent would spread a second version of those clocks.
    """

    update: bytes
    state: dict[int, int]
    types: frozenset[ID]
    low_surrogates: dict[int, frozenset[int]]
    empty: bool
    overlap_state: bytes | None = None

    def gained(self) -> bytes:
        """The update without the clocks the document already had."""
        if self.overlap_state is None:
            return self.update
        return pycrdt.get_update(self.update, self.overlap_state)


@dataclass(slots=True)
class _Struct:
    client: int
    clock: int
    length: int
    kind: int
    origin: ID | None = None
    right: ID | None = None
    parent: ID | None = None
    lows: tuple[int, ...] = ()  # offsets (from clock) of low surrogates in string content


class _Reader:
    """A bounds-checked lib0 reader over one update (raises _Truncated at the end)."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0
        self.end = len(buf)

    def byte(self) -> int:
        if self.pos >= self.end:
            raise _Truncated
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uint(self) -> int:
        buf, pos, end = self.buf, self.pos, self.end
        if pos >= end:
            raise _Truncated
        b = buf[pos]
        pos += 1
        if b < 0x80:
            self.pos = pos
            return b
        value = b & 0x7F
        shift = 7
        while True:
            if pos >= end:
                raise _Truncated
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift > 49:
                raise InvalidUpdate("varint longer than 53 bits")
        if value > CLIENT_LIMIT:
            raise InvalidUpdate("varint beyond 2^53")
        self.pos = pos
        return value

    def count(self) -> int:
        """A count of things that each take at least one byte: bounded by what is left."""
        n = self.uint()
        if n > self.end - self.pos:
            raise InvalidUpdate(f"count {n} exceeds the {self.end - self.pos} bytes left")
        return n

    def raw(self) -> bytes:
        n = self.uint()
        start = self.pos
        if n > self.end - start:
            raise _Truncated
        self.pos = start + n
        return self.buf[start : start + n]

    def skip(self, n: int) -> None:
        if n > self.end - self.pos:
            raise _Truncated
        self.pos += n

    def string(self) -> str:
        try:
            return self.raw().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidUpdate("string is not valid UTF-8") from None

    def signed(self) -> None:
        """Skip a lib0 varInt (sign in the first byte)."""
        b = self.byte()
        n = 0
        while b & 0x80:
            b = self.byte()
            n += 1
            if n > 8:
                raise InvalidUpdate("varint longer than 53 bits")

    def any(self, depth: int = 0) -> None:
        """Skip one lib0 'any' value."""
        if depth > MAX_ANY_DEPTH:
            raise InvalidUpdate("value nested too deeply")
        tag = self.byte()
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if tag == 125:
            self.signed()
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):
            self.skip(8)
        elif tag == 119:
            self.string()
        elif tag == 118:
            for _ in range(self.count()):
                self.string()
                self.any(depth + 1)
        elif tag == 117:
            for _ in range(self.count()):
                self.any(depth + 1)
        elif tag == 116:
            self.raw()
        else:
            raise InvalidUpdate(f"unknown value type {tag}")


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


def _read_item(r: _Reader, info: int, client: int, clock: int, yrs_layout: bool) -> _Struct:
    kind = info & 0x1F
    s = _Struct(client, clock, 0, kind)
    if info & _HAS_ORIGIN:
        s.origin = (r.uint(), r.uint())
    if info & _HAS_RIGHT_ORIGIN:
        s.right = (r.uint(), r.uint())
        if s.right == s.origin:
            raise InvalidUpdate("origin and right origin are the same item")
    if not info & (_HAS_ORIGIN | _HAS_RIGHT_ORIGIN):
        if r.uint() == 1:
            r.raw()  # a root type's name
        else:
            s.parent = (r.uint(), r.uint())
        if info & _HAS_PARENT_SUB:
            r.raw()
    if kind == _STRING:
        s.length, s.lows = _low_surrogate_offsets(r.string())
    elif kind == _DELETED:
        s.length = r.uint()
    elif kind == _JSON:
        if not yrs_layout:
            raise InvalidUpdate("legacy JSON content is not accepted (Yjs writes Any content)")
        s.length = r.count() + 1  # yrs writes (and reads) one string more than the count
        for _ in range(s.length):
            r.raw()
    elif kind == _ANY:
        s.length = r.count()
        for _ in range(s.length):
            r.any()
    elif kind == _FORMAT:
        r.raw()
        r.raw()
        s.length = 1
    elif kind in (_EMBED, _BINARY):
        r.raw()
        s.length = 1
    elif kind == _TYPE:
        ref = r.uint()
        if ref not in _TYPE_REFS and not (yrs_layout and ref == _XML_HOOK):
            raise InvalidUpdate(f"shared type {ref} is not accepted")
        if ref == _XML_ELEMENT:
            r.raw()
        s.length = 1
    elif kind == _DOC:
        raise InvalidUpdate("subdocuments are not supported")
    else:
        raise InvalidUpdate(f"unknown struct kind {kind}")
    return s


def decode_structs(
    update: bytes, *, yrs_layout: bool = False
) -> tuple[list[list[_Struct]], list[tuple[int, int, int]]]:
    """Decode an update into per-client struct runs and delete ranges (client, clock, len).

    ``yrs_layout``: the bytes come from yrs (``doc.get_update()``), which lays JSON items
    and XmlHook types out its own way; accept those as yrs wrote them.

    Raises:
        InvalidUpdate: the bytes are not a complete, well-formed Yjs v1 update.
    """
    r = _Reader(update)
    try:
        runs: list[list[_Struct]] = []
        seen: set[int] = set()
        for _ in range(r.count()):
            n = r.count()
            client = r.uint()
            clock = r.uint()
            if client in seen:
                raise InvalidUpdate(f"client {client} appears twice")
            seen.add(client)
            run: list[_Struct] = []
            for _ in range(n):
                info = r.byte()
                kind = info & 0x1F
                if kind == _SKIP or kind == _GC:
                    s = _Struct(client, clock, r.uint(), kind)
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
            client = r.uint()
            for _ in range(r.count()):
                start, length = r.uint(), r.uint()
                if length <= 0:
                    raise InvalidUpdate("empty deleted range")
                if start + length > CLOCK_LIMIT:
                    raise InvalidUpdate("deleted range beyond 2^32")
                deletes.append((client, start, length))
    except _Truncated:
        raise InvalidUpdate("update is truncated") from None
    if r.pos != r.end:
        raise InvalidUpdate(f"{r.end - r.pos} trailing bytes after the update")
    return runs, deletes


class UpdateGate:
    """Checks updates against a document's :class:`DocumentFacts` (see module docstring).

    ``version`` counts committed updates, so callers can cache what they derive from the
    document (its encoded state, say) until it changes.
    """

    __slots__ = ("facts", "version")

    def __init__(self, facts: DocumentFacts | None = None) -> None:
        self.facts = facts if facts is not None else DocumentFacts()
        self.version = 0

    @classmethod
    def for_update(cls, full_state: bytes) -> UpdateGate:
        """A gate for a document whose whole state is ``full_state`` (``doc.get_update()``).

        Raises:
            InvalidUpdate: the state does not decode or is incomplete (it would not be a
                document yrs could have produced without pending structs).
        """
        gate = cls()
        gate.commit(gate.admit(full_state))
        return gate

    def admit(self, update: bytes) -> Admitted:
        """Check ``update``; return what it adds to the facts once applied.

        Raises:
            MissingDependencies: it needs structs or deletions that are not there yet.
            InvalidUpdate: it can never integrate completely (see module docstring).
        """
        runs, deletes = decode_structs(update)
        facts = self.facts
        state = facts.state
        # The facts as they grow while the update's structs integrate (copy on write).
        grown: dict[int, int] = {}
        new_types: set[ID] = set()
        new_lows: dict[int, set[int]] = {}

        def known(client: int) -> int:
            got = grown.get(client)
            return got if got is not None else state.get(client, 0)

        def splits(client: int, clock: int) -> bool:
            if facts.splits_pair(client, clock):
                return True
            lows = new_lows.get(client)
            return lows is not None and clock in lows

        def ready(s: _Struct) -> bool:
            """Whether ``s`` can integrate now (raises if it never can)."""
            have = known(s.client)
            if s.clock > have:
                return False  # a gap before it
            if s.clock < have and s.lows and (have - s.clock) in s.lows:
                raise InvalidUpdate("update overlaps the document inside a surrogate pair")
            for ref in (s.origin, s.right, s.parent):
                if ref is not None and ref[1] >= known(ref[0]):
                    return False
            if s.origin is not None and splits(s.origin[0], s.origin[1] + 1):
                raise InvalidUpdate("insert between the two halves of a surrogate pair")
            if s.right is not None and splits(s.right[0], s.right[1]):
                raise InvalidUpdate("insert between the two halves of a surrogate pair")
            if s.parent is not None and s.parent not in facts.types and s.parent not in new_types:
                raise InvalidUpdate(f"parent {s.parent[0]}:{s.parent[1]} is not a shared type")
            return True

        overlapped = False
        queues = [list(reversed(run)) for run in runs]
        while queues:
            progressed = False
            for q in queues:
                while q and ready(q[-1]):
                    s = q.pop()
                    progressed = True
                    end = s.clock + s.length
                    have = known(s.client)
                    if s.kind != _SKIP and s.clock < have:
                        overlapped = True
                    if s.kind == _SKIP or end <= have:
                        continue  # a hole, or all known: yrs drops it
                    grown[s.client] = end
                    # Facts only from the new part (yrs keeps what it had).
                    if s.kind == _TYPE:
                        new_types.add((s.client, s.clock))
                    elif s.lows:
                        fresh = [s.clock + o for o in s.lows if s.clock + o >= have]
                        if fresh:
                            new_lows.setdefault(s.client, set()).update(fresh)
            queues = [q for q in queues if q]
            if queues and not progressed:
                s = queues[0][-1]
                raise MissingDependencies(
                    f"struct {s.client}:{s.clock} depends on structs the document lacks"
                )
        for client, start, length in deletes:
            if start + length > known(client):
                raise MissingDependencies(f"deletes {client}:{start}+{length}, not all there")
            if splits(client, start) or splits(client, start + length):
                raise InvalidUpdate("deleted range splits a surrogate pair")
        overlap_state = None
        if overlapped:
            overlap_state = _encode_state_vector(
                {r[0].client: state.get(r[0].client, 0) for r in runs}
            )
        return Admitted(
            update,
            grown,
            frozenset(new_types),
            {c: frozenset(v) for c, v in new_lows.items()},
            not runs and not deletes,
            overlap_state,
        )

    def commit(self, admitted: Admitted) -> None:
        """Record what ``admitted`` added, after it was applied to the document."""
        self.version += 1
        facts = self.facts
        state = facts.state
        for client, clock in admitted.state.items():
            if clock > state.get(client, 0):
                state[client] = clock
        if admitted.types:
            facts.types |= admitted.types
        for client, lows in admitted.low_surrogates.items():
            facts.low_surrogates.setdefault(client, set()).update(lows)

    def matches_state(self, state: Iterable[tuple[int, int]]) -> bool:
        """True if the facts' clocks equal ``state`` (pairs decoded from a state vector)."""
        return {c: k for c, k in state if k} == {c: k for c, k in self.facts.state.items() if k}


def _encode_state_vector(state: dict[int, int]) -> bytes:
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
    r = _Reader(sv)
    try:
        out = {}
        for _ in range(r.count()):
            client = r.uint()
            out[client] = r.uint()
    except _Truncated:
        raise InvalidUpdate("state vector is truncated") from None
    if r.pos != r.end:
        raise InvalidUpdate("trailing bytes after the state vector")
    return out


def describe(update: bytes) -> dict[str, Any]:
    """A summary of an update for logs and tests: structs per client and deleted ranges."""
    runs, deletes = decode_structs(update)
    return {
        "structs": {run[0].client: len(run) for run in runs},
        "deletes": len(deletes),
    }
