"""Structure-aware generation of hostile-but-plausible Yjs updates, and the room invariant.

Random bytes almost never get past the update decoder, so they never reach the places
where a relay can be hurt: an update that yrs integrates *half* of before it fails, one it
keeps *pending* until an honest update completes it, or one it integrates in a way its
own encoding cannot reproduce. This generator writes well-formed updates (with
:mod:`tests.support.yjs_forge`) and aims them at the edges of the document it is told
about: a :class:`DocModel` of the room (which ids exist, which are type items, where the
surrogate pairs are, what the attacker sent that the room refused) is kept next to the
room so that origins, parents and deletions land exactly on those edges.

Usable with any ``random.Random``: a seeded one (``bench/update_fuzz.py``, reproducible by
seed), or Hypothesis's ``st.randoms()`` (shrinkable). :func:`honest_edit` makes the edits
an honest editor would make (Hangul, emoji, formatting), always at code point boundaries.

The invariant (:func:`invariant_violations`): the live document equals the replay of the
durable log, equals what a late joiner would get from it, and every honest peer converges
to it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map, Text

from shared.errors import CloseCode

from .yjs_forge import (
    CLOCK_LIMIT,
    GC,
    ID,
    JSON,
    MAX_SAFE_INTEGER,
    AnyContent,
    BigInt,
    Binary,
    ClientStructs,
    Content,
    Deleted,
    Embed,
    Float32,
    ForgeDecodeError,
    Format,
    Item,
    Parent,
    Skip,
    String,
    Struct,
    SubDoc,
    Type,
    Undefined,
    Unknown,
    Update,
    decode_state_vector,
    decode_update,
    root_names,
    sync_step2_message,
    sync_update_message,
    units,
)

#: The root the honest editors type in (tests/support/client.py's TestClient uses it).
CONTENT = "content"
#: Roots the attacker may also name as parents (a new root is created by naming it).
OTHER_ROOTS = ("meta", "t", "")

TEXTS = (
    "x",
    "hello ",
    "한국어",
    "안녕하세요 ",
    "😀",
    "👍🏽",
    "🇰🇷",
    "e\u0301",
    "a😀b",
    "😀😀",
    "\n",
    "𝄞",
)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class KnownItem:
    """One item of the room document as its full update encodes it."""

    id: ID
    length: int
    kind: str  # content class name: String, Type, AnyContent, Deleted, GC, ...
    type_ref: int | None = None
    text: str = ""

    def unit(self, offset: int) -> ID:
        return ID(self.id.client, self.id.clock + offset)


@dataclass
class DocModel:
    """What the attacker knows about the room's document (refreshed from it).

    ``ghosts`` are ids the attacker sent that the room did not (visibly) integrate: refused
    messages and pending structs. Aiming at them is how the generator finds half-applied
    and pending updates by itself.
    """

    sv: dict[int, int] = field(default_factory=dict)
    items: list[KnownItem] = field(default_factory=list)
    roots: set[str] = field(default_factory=lambda: {CONTENT})
    ghosts: list[ID] = field(default_factory=list)
    #: Clocks the attacker believes its own clients are at (advanced even when refused).
    attacker_next: dict[int, int] = field(default_factory=dict)
    _cache: dict[object, object] = field(default_factory=dict, repr=False)

    @classmethod
    def from_doc(cls, doc: Doc[Any], previous: DocModel | None = None) -> DocModel:
        """Model ``doc`` (read-only: ``get_update``/``get_state``), keeping ghosts and beliefs."""
        model = cls.from_update(doc.get_update(), doc.get_state())
        if previous is not None:
            model.ghosts = [g for g in previous.ghosts if not model.has(g)][-64:]
            model.attacker_next = dict(previous.attacker_next)
            model.roots |= previous.roots
        return model

    @classmethod
    def from_update(cls, full: bytes, state: bytes) -> DocModel:
        model = cls(sv=decode_state_vector(state))
        try:
            upd = decode_update(full)
        except ForgeDecodeError:
            return model
        for group in upd.clients:
            for first, s in group.ids():
                if isinstance(s, Skip):
                    continue
                if isinstance(s, Item):
                    c = s.content
                    model.items.append(
                        KnownItem(
                            first,
                            s.clocks(),
                            type(c).__name__,
                            c.type_ref if isinstance(c, Type) else None,
                            c.text if isinstance(c, String) else "",
                        )
                    )
                    if isinstance(s.parent, str):
                        model.roots.add(s.parent)
                else:
                    model.items.append(KnownItem(first, s.clocks(), type(s).__name__))
        return model

    def has(self, uid: ID) -> bool:
        """Whether the document holds clock ``uid`` (within its client's state)."""
        return uid.clock < self.sv.get(uid.client, 0)

    # -------------------------------------------------------------- targets

    def of_kind(self, *kinds: str) -> list[KnownItem]:
        cached = self._cache.get(kinds)
        if cached is None:
            cached = [it for it in self.items if it.kind in kinds and it.length > 0]
            self._cache[kinds] = cached
        return cached  # type: ignore[return-value]

    def type_items(self) -> list[KnownItem]:
        return self.of_kind("Type")

    def surrogate_ids(self) -> tuple[list[ID], list[ID]]:
        """(high surrogate ids, low surrogate ids) of every emoji in a string item."""
        cached = self._cache.get("surrogates")
        if cached is None:
            cached = self._cache["surrogates"] = self._surrogate_ids()
        return cached  # type: ignore[return-value]

    def _surrogate_ids(self) -> tuple[list[ID], list[ID]]:
        highs: list[ID] = []
        lows: list[ID] = []
        for it in self.of_kind("String"):
            offset = 0
            for ch in it.text:
                if ord(ch) > 0xFFFF:
                    highs.append(it.unit(offset))
                    lows.append(it.unit(offset + 1))
                    offset += 2
                else:
                    offset += 1
        return highs, lows

    def missing_id(self, rng: random.Random) -> ID:
        """An id nobody has: beyond a known client's state, or of an unknown client."""
        if self.sv and rng.random() < 0.7:
            client = rng.choice(sorted(self.sv))
            return ID(client, self.sv[client] + rng.choice([0, 0, 1, 5, 1000]))
        return ID(rng.randrange(1, 2**31), rng.choice([0, 0, 3]))


# --------------------------------------------------------------------------- attacks


@dataclass(frozen=True, slots=True)
class Attack:
    """One generated attacker message."""

    message: bytes  # the WebSocket message (SYNC update or step 2)
    update: bytes  # the update inside it (possibly mutated bytes)
    tags: tuple[str, ...]  # what the generator aimed at, for figures and reproducers
    ids: tuple[tuple[ID, int], ...]  # (first id, clocks) of each struct it carries

    def describe(self) -> str:
        return f"[{','.join(self.tags)}] {self.message.hex()}"


#: Attacker client ids: the issue's 888, a few more, and ids near the 2^53 limit.
ATTACKER_CLIENTS = (888, 889, 4_000_000_007)
#: The close codes a refused message may get (sync_server/connection.py maps each
#: ProtocolError to one): anything else after an attack is a finding.
REFUSAL_CODES = frozenset(
    {
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_PAYLOAD,
        CloseCode.POLICY_VIOLATION,
        CloseCode.MESSAGE_TOO_BIG,
    }
)


class UpdateFuzzer:
    """Generates :class:`Attack` messages against a :class:`DocModel`.

    ``honest_clients`` are the ids of the honest editors (for near-impersonation:
    continuing or colliding with their clocks is plausible for a buggy peer).
    """

    def __init__(self, rng: random.Random, honest_clients: Sequence[int] = ()) -> None:
        self.rng = rng
        self.honest_clients = tuple(honest_clients)

    # -------------------------------------------------------------- public

    def attack(self, model: DocModel) -> Attack:
        """One message: mostly plausible edits around the document's edges, some hostile."""
        rng = self.rng
        tags: list[str] = []
        groups: list[ClientStructs] = []
        planned: list[tuple[ID, int]] = []
        shape = rng.choices(
            ["edit", "edge", "cycle", "exotic", "delete-only", "ghost-chain"],
            weights=[30, 35, 6, 12, 10, 7],
        )[0]
        tags.append(shape)
        if shape == "cycle":
            groups = self._cycle(tags)
        elif shape != "delete-only":
            used: set[int] = set()
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                client, clock = self._client_clock(model, tags)
                if client in used and rng.random() < 0.9:
                    continue  # one group per client, as Yjs writes (mostly)
                used.add(client)
                structs: list[Struct] = []
                for _ in range(rng.choice([1, 1, 2, 3])):
                    own = ID(client, clock + sum(s.clocks() for s in structs))
                    structs.append(self._struct(model, shape, own, planned, tags))
                group = ClientStructs(client, clock, tuple(structs))
                groups.append(group)
                for first, s in group.ids():
                    planned.append((first, s.clocks()))
                end = clock + sum(s.clocks() for s in structs)
                if client in ATTACKER_CLIENTS and end < 2**31:
                    model.attacker_next[client] = max(model.attacker_next.get(client, 0), end)
        deletes = (
            self._delete_set(model, tags) if shape == "delete-only" or rng.random() < 0.2 else ()
        )
        data = Update(tuple(groups), deletes).encode()
        if rng.random() < 0.06:
            data = self._mutate(data, tags)
        if rng.random() < 0.3:
            tags.append("step2")
            message = sync_step2_message(data)
        else:
            message = sync_update_message(data)
        ids = tuple((first, n) for g in groups for first, s in g.ids() if (n := s.clocks()) > 0)
        return Attack(message, data, tuple(tags), ids)

    # -------------------------------------------------------------- clients and clocks

    def _client_clock(self, model: DocModel, tags: list[str]) -> tuple[int, int]:
        rng = self.rng
        kind = rng.choices(
            ["own", "new", "honest-next", "gap", "overlap", "clock-edge", "client-edge"],
            weights=[50, 12, 6, 10, 10, 6, 6],
        )[0]
        if kind == "own":
            client = rng.choice(ATTACKER_CLIENTS)
            clock = max(model.sv.get(client, 0), model.attacker_next.get(client, 0))
            if rng.random() < 0.5:
                clock = model.sv.get(client, 0)  # the room's view, not the attacker's
            return client, clock
        tags.append(kind)
        if kind == "new":
            return rng.randrange(1, 2**32), 0
        if kind == "honest-next" and self.honest_clients:
            client = rng.choice(self.honest_clients)
            return client, model.sv.get(client, 0)
        if kind == "gap":
            client = rng.choice(sorted(model.sv) or list(ATTACKER_CLIENTS))
            return client, model.sv.get(client, 0) + rng.choice([1, 2, 7, 100])
        if kind == "overlap" and model.sv:
            client = rng.choice(sorted(model.sv))
            return client, rng.randrange(0, max(model.sv[client], 1))
        if kind == "clock-edge":
            client = rng.randrange(1, 2**32)
            edge = rng.choice([CLOCK_LIMIT, MAX_SAFE_INTEGER + 1, 2**31])
            return client, max(0, edge + rng.choice([-3, -2, -1, 0, 1]))
        # client-edge: ids a JS peer cannot represent, and ids that alias others in yrs.
        honest = rng.choice(self.honest_clients or (5,))
        client = rng.choice(
            [MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 2**53 + honest, 2**64 - 1, 2**64 + honest]
        )
        return client, model.sv.get(client & MAX_SAFE_INTEGER, 0)

    # -------------------------------------------------------------- structs

    def _struct(
        self,
        model: DocModel,
        shape: str,
        own: ID,
        planned: list[tuple[ID, int]],
        tags: list[str],
    ) -> Struct:
        rng = self.rng
        if shape == "exotic" and rng.random() < 0.25:
            tags.append("gc-skip")
            return rng.choice([GC, Skip])(rng.choice([1, 2, 5]))
        content = self._content(shape, tags)
        anchor = rng.choices(["origin", "right", "both", "parent"], weights=[40, 15, 20, 25])[0]
        if isinstance(content, AnyContent) and rng.random() < 0.6:
            anchor = "map"
        if anchor == "map":
            parent: Parent = self._parent(model, own, planned, tags)
            key = rng.choice(["title", "k", "cursor", "😀"])
            return Item(content, parent=parent, parent_sub=key)
        if anchor == "parent":
            return Item(content, parent=self._parent(model, own, planned, tags))
        origin = self._ref(model, own, planned, tags, "origin") if anchor != "right" else None
        right = self._ref(model, own, planned, tags, "right") if anchor != "origin" else None
        if origin is not None and right is not None and rng.random() < 0.15:
            # Origins out of order: YATA assumes the origin is left of the right origin.
            tags.append("crossed-origins")
            right = rng.choice([origin, ID(origin.client, max(origin.clock - 1, 0))])
        extra = 0x20 if rng.random() < 0.03 else 0  # parentSub flag readers must ignore
        return Item(content, origin=origin, right_origin=right, extra_info=extra)

    def _content(self, shape: str, tags: list[str]) -> Content:
        rng = self.rng
        if shape != "exotic":
            if rng.random() < 0.85:
                return String(rng.choice(TEXTS))
            return rng.choice(
                [
                    AnyContent((rng.choice([1, "v", None, True, 2.5]),)),
                    Format("bold", rng.choice(["true", "null"])),
                    Embed('{"image":"x.png"}'),
                ]
            )
        kind = rng.choice(
            [
                "empty-string",
                "deleted",
                "deleted-0",
                "json-yrs",
                "json-yjs",
                "binary",
                "type",
                "bad-type",
                "hook",
                "any",
                "any-empty",
                "subdoc",
                "unknown",
                "alias",
                "bad-embed",
            ]
        )
        tags.append(kind)
        if kind == "empty-string":
            return String("")
        if kind == "deleted":
            return Deleted(rng.choice([1, 3]))
        if kind == "deleted-0":
            return Deleted(0)
        if kind == "json-yrs":
            return JSON.for_yrs(['"a"', "1", "null"][: rng.choice([1, 2, 3])])
        if kind == "json-yjs":
            return JSON(('"a"', "2"))
        if kind == "binary":
            return Binary(bytes(rng.randrange(256) for _ in range(rng.choice([0, 3]))))
        if kind == "type":
            ref = rng.choice([0, 1, 2, 3, 4, 6])
            return Type(ref, "p" if ref == 3 else None)
        if kind == "bad-type":
            return Type(rng.choice([3, 7, 8, 9, 15, 16, 200]))
        if kind == "hook":
            return Type(5, rng.choice([None, "hook"]))
        if kind == "any":
            return AnyContent(
                (
                    {"k": [1, "😀", None, Undefined(), Float32(1.5), BigInt(2**40)], "n": {}},
                    b"\x00\xff",
                    2**31,
                    -7,
                )
            )
        if kind == "any-empty":
            return AnyContent(())
        if kind == "subdoc":
            return SubDoc("guid-" + str(rng.randrange(100)), {"gc": True})
        if kind == "unknown":
            return Unknown(rng.choice([11, 12, 15, 26, 31]), b"\x01\x58")
        if kind == "alias":  # yrs masks info & 0x0F: ref 20 reads as String, 24 as Any
            return Unknown(rng.choice([20, 17, 24]), b"\x01\x58" if rng.random() < 0.5 else b"\x01")
        return Embed("{not json")

    def _ref(
        self,
        model: DocModel,
        own: ID,
        planned: list[tuple[ID, int]],
        tags: list[str],
        side: str,
    ) -> ID:
        """An id for an origin or right origin, aimed at an edge."""
        rng = self.rng
        kind = rng.choices(
            ["unit", "first", "last", "middle", "surrogate", "missing", "ghost", "same", "self"],
            weights=[30, 12, 12, 10, 10, 6, 10, 7, 3],
        )[0]
        items = model.of_kind("String", "AnyContent", "Embed", "Format")
        if kind == "surrogate":
            highs, lows = model.surrogate_ids()
            pool = highs if side == "origin" else lows
            if pool:
                tags.append(f"{side}-splits-pair")
                return rng.choice(pool)
            kind = "unit"
        if kind == "ghost" and model.ghosts:
            tags.append(f"{side}-ghost")
            return rng.choice(model.ghosts)
        if kind == "same" and planned:
            tags.append(f"{side}-same-update")
            first, n = rng.choice(planned)
            return ID(first.client, first.clock + rng.randrange(max(n, 1)))
        if kind == "self":
            tags.append(f"{side}-self")
            return own
        if kind == "missing" or not items:
            tags.append(f"{side}-missing")
            return model.missing_id(rng)
        it = rng.choice(items)
        if kind == "first":
            return it.id
        if kind == "last":
            return it.unit(it.length - 1)
        if kind == "middle" and it.length > 2:
            tags.append(f"{side}-mid-item")
            return it.unit(rng.randrange(1, it.length - 1))
        return it.unit(rng.randrange(it.length))

    def _parent(
        self, model: DocModel, own: ID, planned: list[tuple[ID, int]], tags: list[str]
    ) -> Parent:
        rng = self.rng
        kind = rng.choices(
            ["content", "root", "type", "string", "missing", "ghost", "same", "self", "deleted"],
            weights=[40, 10, 15, 10, 6, 8, 6, 2, 3],
        )[0]
        if kind == "content":
            return CONTENT
        if kind == "root":
            return rng.choice(OTHER_ROOTS)
        tags.append(f"parent-{kind}")
        if kind == "type" and model.type_items():
            return rng.choice(model.type_items()).id
        if kind == "string" and model.of_kind("String", "AnyContent"):
            it = rng.choice(model.of_kind("String", "AnyContent"))
            return it.unit(rng.randrange(it.length))
        if kind == "deleted" and model.of_kind("Deleted", "GC"):
            it = rng.choice(model.of_kind("Deleted", "GC"))
            return it.unit(rng.randrange(it.length))
        if kind == "ghost" and model.ghosts:
            return rng.choice(model.ghosts)
        if kind == "same" and planned:
            first, n = rng.choice(planned)
            return ID(first.client, first.clock + rng.randrange(max(n, 1)))
        if kind == "self":
            return own
        return model.missing_id(rng)

    def _cycle(self, tags: list[str]) -> list[ClientStructs]:
        """Two clients whose first items name each other (origin or parent): never complete."""
        rng = self.rng
        a, b = rng.sample(ATTACKER_CLIENTS[:2] + (rng.randrange(1, 2**31),), 2)
        how = rng.choice(["origin", "parent", "right"])
        tags.append(f"cycle-{how}")

        def item(other: int) -> Item:
            ref = ID(other, 0)
            if how == "origin":
                return Item(String("c"), origin=ref)
            if how == "right":
                return Item(String("c"), right_origin=ref)
            return Item(Type(2), parent=ref)

        return [ClientStructs(a, 0, (item(b),)), ClientStructs(b, 0, (item(a),))]

    def _delete_set(self, model: DocModel, tags: list[str]) -> tuple[Any, ...]:
        rng = self.rng
        kind = rng.choices(
            ["in-range", "beyond", "splits-pair", "unknown-client", "zero", "huge"],
            weights=[40, 20, 15, 10, 5, 10],
        )[0]
        tags.append(f"ds-{kind}")
        if kind == "splits-pair":
            highs, lows = model.surrogate_ids()
            if highs:
                if rng.random() < 0.5:
                    low = rng.choice(lows)
                    return ((low.client, ((low.clock, rng.choice([1, 2])),)),)
                high = rng.choice(highs)
                return ((high.client, ((max(high.clock - 1, 0), 2),)),)
            kind = "in-range"
        if kind == "in-range" and model.sv:
            client = rng.choice(sorted(model.sv))
            end = model.sv[client]
            start = rng.randrange(0, max(end, 1))
            return ((client, ((start, rng.randint(1, max(end - start, 1))),)),)
        if kind == "beyond" and model.sv:
            client = rng.choice(sorted(model.sv) + list(self.honest_clients))
            end = model.sv.get(client, 0)
            return ((client, ((max(end - rng.choice([0, 1]), 0), rng.choice([1, 5, 100])),)),)
        if kind == "zero" and model.sv:
            client = rng.choice(sorted(model.sv))
            return ((client, ((0, 0),)),)
        if kind == "huge":
            client = rng.choice(sorted(model.sv) or [888])
            return ((client, ((rng.choice([0, CLOCK_LIMIT - 1]), CLOCK_LIMIT + 1),)),)
        return ((rng.randrange(1, 2**31), ((0, 3),)),)

    def _mutate(self, data: bytes, tags: list[str]) -> bytes:
        rng = self.rng
        kind = rng.choice(["truncate", "extend", "flip"])
        tags.append(f"bytes-{kind}")
        buf = bytearray(data)
        if kind == "truncate" and len(buf) > 1:
            del buf[rng.randrange(1, len(buf)) :]
        elif kind == "extend":
            buf += bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 5])))
        elif buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        return bytes(buf)


# --------------------------------------------------------------------------- honest editors

HONEST_TEXTS = ("hello ", "한국어 ", "안녕", "😀", "👍🏽 ", "🇰🇷", "e\u0301", "\n", "x", "글😀자")


def _boundaries(text: Text) -> list[int]:
    """Byte offsets (pycrdt's unit) of every code point boundary; an embed counts 1."""
    out, pos = [0], 0
    for chunk, _attrs in text.diff():
        if isinstance(chunk, str):
            for ch in chunk:
                pos += len(ch.encode("utf-8"))
                out.append(pos)
        else:
            pos += 1
            out.append(pos)
    return out


@dataclass(frozen=True, slots=True)
class HonestOp:
    """An edit as an editor makes it: positions are code point indexes, not bytes.

    Recorded instead of the update bytes so that a reproducer can be shrunk: replayed on
    whatever the document is at that point (clamped to it), it is still an honest edit.
    """

    kind: str  # "insert", "delete" or "format"
    start: int
    end: int = 0
    text: str = ""
    bold: bool | None = None

    def __str__(self) -> str:
        if self.kind == "insert":
            return f"insert {self.text!r} at code point {self.start}"
        if self.kind == "delete":
            return f"delete code points {self.start}-{self.end}"
        return f"format code points {self.start}-{self.end} bold={self.bold}"


def honest_op(rng: random.Random, text: Text) -> HonestOp:
    """A random edit an honest editor could make to ``text`` now."""
    points = len(_boundaries(text)) - 1
    kind = rng.choices(["insert", "delete", "format"], weights=[70, 20, 10])[0]
    if kind != "insert" and points > 1:
        i = rng.randrange(points)
        j = min(points, i + rng.choice([1, 1, 2, 4] if kind == "delete" else [1, 3]))
        return HonestOp(kind, i, j, bold=rng.choice([True, None]))
    return HonestOp("insert", rng.randrange(points + 1), text=rng.choice(HONEST_TEXTS))


def apply_honest_op(text: Text, op: HonestOp) -> None:
    """Make the edit through pycrdt, at code point boundaries of the current text.

    Positions are converted to pycrdt's UTF-8 byte offsets at code point boundaries (see
    stack-notes section 3: an offset inside a code point corrupts the update), so any
    divergence the fuzzer reports is the attacker's doing, not the editor's.
    """
    bounds = _boundaries(text)
    last = len(bounds) - 1
    i, j = min(op.start, last), min(max(op.end, op.start), last)
    if op.kind == "insert":
        text.insert(bounds[i], op.text)
    elif op.kind == "delete" and j > i:
        del text[bounds[i] : bounds[j]]
    elif op.kind == "format" and j > i:
        text.format(bounds[i], bounds[j], {"bold": op.bold})


def honest_edit(rng: random.Random, text: Text) -> str:
    """Apply one random honest edit to ``text``; return what it did."""
    op = honest_op(rng, text)
    apply_honest_op(text, op)
    return str(op)


# --------------------------------------------------------------------------- the invariant


def _apply(doc: Doc[Any], data: bytes) -> str | None:
    """Apply an update; the error (as text) instead of raising, panics included."""
    try:
        doc.apply_update(data)
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return f"{type(exc).__name__}: {exc}"
    return None


def replay(updates: Iterable[bytes]) -> tuple[Doc[Any], list[str]]:
    """A fresh Doc with ``updates`` applied one by one (as the registry loads a room)."""
    doc: Doc[Any] = Doc()
    errors = [e for u in updates if (e := _apply(doc, u)) is not None]
    return doc, errors


def _normal(value: Any) -> Any:
    """A comparable form of a Text.diff()/Map value (NaN-safe, attrs order-free).

    Shared types (an XmlFragment embedded in text, say) are compared by their content,
    not by ``repr`` (which holds the Python object's address).
    """
    if isinstance(value, str | int | float | bool | type(None)):
        return repr(value)
    if isinstance(value, dict):
        return repr(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return repr([_normal(v) for v in value])
    return _shallow(value)


def _shallow(value: Any) -> str:
    """A nested shared type as its kind and length, never its content.

    Reading an attacker's nested types can take quadratic time in pycrdt (an Array view
    of a long string reads every element from the start), so views stop at the first
    level; the nested structs are compared clock by clock by :func:`units` anyway.
    """
    try:
        size = len(value)
    except BaseException as exc:  # a panic reading a malformed type
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        size = -1
    return f"{type(value).__name__}(len={size})"


def text_view(doc: Doc[Any], root: str = CONTENT) -> Any:
    """The formatted text of a root (Text.diff), or the error reading it."""
    try:
        return [(_normal(chunk), _normal(sorted((attrs or {}).items()))) for chunk, attrs in
                doc.get(root, type=Text).diff()]  # fmt: skip
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return ("error", type(exc).__name__)


def _shallow_or_value(value: Any) -> Any:
    return _shallow(value) if hasattr(value, "integrated") else value


def views(full: bytes, roots: Iterable[str]) -> dict[tuple[str, str], Any]:
    """Text and Map views of each root of the document encoded by ``full``.

    Each view reads a fresh Doc of its own (a root read as Text cannot also be read as a
    Map in one Doc), so the document under test is never touched.
    """
    out: dict[tuple[str, str], Any] = {}
    for root in sorted(roots):
        for kind in ("text", "map"):
            doc: Doc[Any] = Doc()
            err = _apply(doc, full)
            if err is not None:
                out[(root, kind)] = ("apply-error", err.split(":")[0])
            elif kind == "text":
                out[(root, kind)] = text_view(doc, root)
            else:
                try:
                    root_map = doc.get(root, type=Map)
                    out[(root, kind)] = _normal(
                        sorted((k, _shallow_or_value(root_map[k])) for k in root_map.keys())
                    )
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise
                    out[(root, kind)] = ("error", type(exc).__name__)
    return out


def _units(doc: Doc[Any]) -> Any:
    try:
        return units(doc.get_update())
    except ForgeDecodeError as exc:
        return ("undecodable", str(exc))


def invariant_violations(
    live: Doc[Any], log: Sequence[bytes], *, full_check: bool = True
) -> list[str]:
    """Why the live document differs from the replay of its durable log (empty: it doesn't).

    Checks, in order of cost: the log replays without error; same state vector; same
    structs clock by clock (:func:`~tests.support.yjs_forge.units`); same formatted text
    in the editors' root; and (``full_check``) same Text/Map views of every root, and a
    late joiner (a Doc built from the live document's own full update, which is what a
    step 2 reply or a compaction carries) sees the same text as the live document.
    """
    problems: list[str] = []
    replayed, errors = replay(log)
    problems += [f"stored update does not replay: {e}" for e in errors[:3]]
    sv_live = decode_state_vector(live.get_state())
    sv_log = decode_state_vector(replayed.get_state())
    if sv_live != sv_log:
        problems.append(f"state vectors differ: live {sv_live} log {sv_log}")
    u_live, u_log = _units(live), _units(replayed)
    if u_live != u_log:
        problems.append(f"structs differ: {_units_diff(u_live, u_log)}")
    t_live, t_log = text_view(live), text_view(replayed)
    if t_live != t_log:
        problems.append(f"text differs: live {_short(t_live)} log {_short(t_log)}")
    if full_check:
        full_live = live.get_update()
        joiner: Doc[Any] = Doc()
        err = _apply(joiner, full_live)
        if err is not None:
            problems.append(f"the live document's own full update does not apply: {err}")
        elif text_view(joiner) != t_live:
            problems.append(
                f"a late joiner sees other text: {_short(text_view(joiner))} vs {_short(t_live)}"
            )
        try:
            roots = root_names(full_live) | root_names(replayed.get_update()) | {CONTENT}
        except ForgeDecodeError:
            roots = {CONTENT}
        v_live, v_log = views(full_live, roots), views(replayed.get_update(), roots)
        for key in sorted(set(v_live) | set(v_log)):
            if v_live.get(key) != v_log.get(key):
                problems.append(f"view {key} differs: {_short(v_live.get(key))} vs log")
    return problems


def peer_divergence(live: Doc[Any], peer: Doc[Any]) -> str | None:
    """Why an honest peer's document differs from the live one (None: converged)."""
    sv_live = decode_state_vector(live.get_state())
    sv_peer = decode_state_vector(peer.get_state())
    if sv_live != sv_peer:
        return f"state vectors differ: live {sv_live} peer {sv_peer}"
    t_live, t_peer = text_view(live), text_view(peer)
    if t_live != t_peer:
        return f"text differs: live {_short(t_live)} peer {_short(t_peer)}"
    u_live, u_peer = _units(live), _units(peer)
    if u_live != u_peer:
        return f"structs differ: {_units_diff(u_live, u_peer)}"
    return None


def _units_diff(a: Any, b: Any) -> str:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return f"{_short(a)} vs {_short(b)}"
    keys = sorted(set(a) ^ set(b))[:3] + [k for k in sorted(set(a) & set(b)) if a[k] != b[k]][:3]
    return "; ".join(f"{k}: {a.get(k)} vs {b.get(k)}" for k in keys)


def _short(value: Any, limit: int = 160) -> str:
    s = repr(value)
    return s if len(s) <= limit else s[: limit - 3] + "..."
