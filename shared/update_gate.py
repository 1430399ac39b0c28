"""The update gate: a Yjs update reaches a document only if it integrates completely.

Why this exists. yrs (the CRDT under pycrdt) integrates an update struct by struct. If a
struct half-way through is impossible (a parent that is not a shared type), yrs raises
*after* integrating the structs before it; if a struct's dependencies are unknown, yrs
keeps it *pending* without error and may integrate it much later, when an honest update
fills the gap, and then fail in the middle of that honest update. Either way the relay's
live document would hold something the durable log and the other peers never saw, and a
later acknowledged edit could be lost. So the relay never lets yrs discover a problem:
every update is decoded (``shared.yjs_structs``) and checked here first, in pure Python,
against what the document holds, and is applied only if it

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
* places each item in one container: its origin and right origin belong to the same
  parent and key (an item cannot be both left of one list and right of another), and an
  item is never its own left and right neighbour;
* puts in each container only what it can hold: a map entry holds one value; the roots of
  a Coscribe document (``shared.schema``) hold what the editors can show (no values in the
  text, no list items in a map, no strings in an array); nested shared types likewise;
* when the writer's scope is limited (a commenter), touches only the roots in scope, by
  inserting or by deleting.

The checks use :class:`DocumentFacts` (per client the next clock and, in runs, the parent
and key of every clock; the shared-type items and their kinds; the low surrogates) that the
gate keeps in step with the document: build them from the document once, then
:meth:`UpdateGate.admit` each update, apply it, and :meth:`UpdateGate.commit` the
:class:`Admitted` result. Facts come only from the part of a struct that is new to the
document: yrs drops the part it already has, whatever the update claims it holds. Updates
whose only fault is a dependency that has not arrived yet raise
:class:`MissingDependencies` (a subclass of :class:`~shared.errors.InvalidUpdate`), so a
caller may hold them and retry.

Not checked (docs/security.md): that an item's origin lies to the left of its right origin
in the list (that needs the list order), and that the writer owns the client id it writes.

Cost: one pass over the update's bytes in Python (10-20 µs for a keystroke), and one pass
over the whole document when the facts are built.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pycrdt

from .errors import InvalidUpdate
from .schema import ROOTS, RootKind
from .yjs_structs import (
    ANY,
    ARRAY_TYPE,
    BINARY,
    CLOCK_LIMIT,
    DELETED,
    EMBED,
    FORMAT,
    GC,
    ID,
    MAP_TYPE,
    SKIP,
    STRING,
    TEXT_TYPE,
    TYPE,
    XML_TEXT,
    Struct,
    decode_state_vector,
    decode_structs,
    encode_state_vector,
)

#: Where an item lives: (root name, or the id of the shared-type item that is its parent;
#: the map key, or None for a list item).
Ref = tuple[str | ID, str | None]

#: What each kind of container may not hold as list items.
_NOT_IN = {
    RootKind.TEXT: frozenset({ANY, BINARY}),
    RootKind.MAP: frozenset({ANY, BINARY, STRING, FORMAT, TYPE, EMBED}),
    RootKind.ARRAY: frozenset({STRING, FORMAT}),
}
_KIND_OF_TYPE = {TEXT_TYPE: RootKind.TEXT, XML_TEXT: RootKind.TEXT, MAP_TYPE: RootKind.MAP}
#: Longest chain of nested types followed to find an item's root.
_MAX_NESTING = 256


class MissingDependencies(InvalidUpdate):
    """The update depends on structs or deletions the document does not have (yet).

    Unlike other invalid updates this may be honest: a stock y-websocket client can send an
    edit made right after reconnecting before its sync step 2 that carries what the edit
    builds on. A caller may hold such an update and retry it after the peer's next one.
    """


@dataclass(slots=True)
class _Runs:
    """Per client: from which clock on the items have which parent (append-only)."""

    starts: list[int] = field(default_factory=list)
    refs: list[Ref | None] = field(default_factory=list)

    def at(self, clock: int) -> Ref | None:
        i = bisect_right(self.starts, clock) - 1
        return self.refs[i] if i >= 0 else None

    def add(self, start: int, ref: Ref | None) -> None:
        if self.refs and self.refs[-1] == ref:
            return
        if self.starts and self.starts[-1] == start:  # an empty run: replace it
            self.refs[-1] = ref
            return
        self.starts.append(start)
        self.refs.append(ref)

    def spanning(self, start: int, end: int) -> Iterator[Ref | None]:
        i = max(0, bisect_right(self.starts, start) - 1)
        while i < len(self.starts) and self.starts[i] < end:
            yield self.refs[i]
            i += 1


@dataclass(slots=True)
class DocumentFacts:
    """What the gate needs to know about a document, kept in step with it.

    Attributes:
        state: per client, the next clock (what ``Doc.get_state`` says).
        types: the shared-type items (valid parents): their type ref and where they live.
        low_surrogates: per client, clocks that hold the second half of a surrogate pair.
        parents: per client, where its items live, as runs of clocks.
        pending_structs: structs of the document's encoding beyond its clocks: yrs keeps
            pending structs and includes them in ``get_update()``; a document stored before
            the gate existed may have some (they never integrate).
    """

    state: dict[int, int] = field(default_factory=dict)
    types: dict[ID, tuple[int, Ref | None]] = field(default_factory=dict)
    low_surrogates: dict[int, set[int]] = field(default_factory=dict)
    parents: dict[int, _Runs] = field(default_factory=dict)
    pending_structs: int = 0

    @classmethod
    def of_document(cls, full_state: bytes, state_vector: bytes) -> DocumentFacts:
        """The facts of a document from ``doc.get_update()`` and ``doc.get_state()``.

        Trusts the document (it was built from our own storage): nothing is refused, the
        clocks come from its state vector. Costs about 0.2 s for a document with a long
        history (the automerge-paper trace); callers run it off the event loop.

        Raises:
            InvalidUpdate: the state does not decode.
        """
        gate = UpdateGate()
        admitted = gate._simulate(full_state, trusted=True, scope=None)
        gate.commit(admitted)
        facts = gate.facts
        facts.state = decode_state_vector(state_vector)
        facts.pending_structs = admitted.pending
        return facts

    def splits_pair(self, client: int, clock: int) -> bool:
        """True if a boundary just before ``clock`` cuts an emoji in two."""
        lows = self.low_surrogates.get(client)
        return lows is not None and clock in lows

    def ref_at(self, item: ID) -> Ref | None:
        runs = self.parents.get(item[0])
        return None if runs is None else runs.at(item[1])


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
    types: dict[ID, tuple[int, Ref | None]]
    low_surrogates: dict[int, frozenset[int]]
    parents: dict[int, list[tuple[int, Ref | None]]]
    empty: bool
    overlap_state: bytes | None = None
    pending: int = 0

    def gained(self) -> bytes:
        """The update without the clocks the document already had."""
        if self.overlap_state is None:
            return self.update
        return pycrdt.get_update(self.update, self.overlap_state)


class _Simulation:
    """One update integrated on paper, in yrs' dependency order (see UpdateGate.admit)."""

    def __init__(self, facts: DocumentFacts, trusted: bool, scope: frozenset[str] | None):
        self.facts = facts
        self.trusted = trusted
        self.scope = scope
        self.grown: dict[int, int] = {}
        self.types: dict[ID, tuple[int, Ref | None]] = {}
        self.lows: dict[int, set[int]] = {}
        self.runs: dict[int, list[tuple[int, Ref | None]]] = {}
        self.overlapped = False

    # ------------------------------------------------------------------ lookups

    def known(self, client: int) -> int:
        got = self.grown.get(client)
        return got if got is not None else self.facts.state.get(client, 0)

    def splits(self, client: int, clock: int) -> bool:
        if self.facts.splits_pair(client, clock):
            return True
        lows = self.lows.get(client)
        return lows is not None and clock in lows

    def ref_at(self, item: ID) -> Ref | None:
        local = self.runs.get(item[0])
        if local and item[1] >= local[0][0]:
            i = bisect_right([start for start, _ in local], item[1]) - 1
            return local[i][1]
        return self.facts.ref_at(item)

    def type_info(self, item: ID) -> tuple[int, Ref | None] | None:
        found = self.types.get(item)
        return found if found is not None else self.facts.types.get(item)

    def root_of(self, ref: Ref | None) -> str | None:
        for _ in range(_MAX_NESTING):
            if ref is None:
                return None
            where = ref[0]
            if isinstance(where, str):
                return where
            info = self.type_info(where)
            ref = None if info is None else info[1]
        raise InvalidUpdate("shared types nested too deeply")

    def container(self, ref: Ref) -> RootKind | None:
        where = ref[0]
        if isinstance(where, str):
            return ROOTS.get(where)
        info = self.type_info(where)
        if info is None:
            return None
        return _KIND_OF_TYPE.get(info[0], RootKind.ARRAY)

    # ------------------------------------------------------------------ integration

    def ready(self, s: Struct) -> bool:
        """Whether ``s`` can integrate now (raises if it never can)."""
        have = self.known(s.client)
        if s.clock > have:
            return False  # a gap before it
        for item in (s.origin, s.right, s.parent):
            if item is not None and item[1] >= self.known(item[0]):
                return False
        if self.trusted:
            return True
        if s.clock < have and s.lows and (have - s.clock) in s.lows:
            raise InvalidUpdate("update overlaps the document inside a surrogate pair")
        if s.origin is not None and self.splits(s.origin[0], s.origin[1] + 1):
            raise InvalidUpdate("insert between the two halves of a surrogate pair")
        if s.right is not None and self.splits(s.right[0], s.right[1]):
            raise InvalidUpdate("insert between the two halves of a surrogate pair")
        if s.parent is not None and self.type_info(s.parent) is None:
            raise InvalidUpdate(f"parent {s.parent[0]}:{s.parent[1]} is not a shared type")
        return True

    def where(self, s: Struct, have: int) -> Ref | None:
        """The parent and key yrs gives the new part of ``s``."""
        if s.kind == GC:
            return None
        if s.clock < have:  # yrs keeps the tail, with its own previous clock as origin
            return self.ref_at((s.client, have - 1))
        if s.root is not None:
            return (s.root, s.sub)
        if s.parent is not None:
            return (s.parent, s.sub)
        left = None if s.origin is None else self.ref_at(s.origin)
        right = None if s.right is None else self.ref_at(s.right)
        if not self.trusted and left is not None and right is not None and left != right:
            raise InvalidUpdate("origin and right origin are in different containers")
        return left if left is not None else right

    def check_content(self, s: Struct, ref: Ref | None, length: int) -> None:
        if ref is None or s.kind in (GC, DELETED):
            return
        if self.scope is not None and self.root_of(ref) not in self.scope:
            raise InvalidUpdate("this link may not change that part of the document")
        if ref[1] is not None:
            if length != 1:
                raise InvalidUpdate("a map entry holds exactly one value")
            return
        kind = self.container(ref)
        if kind is not None and s.kind in _NOT_IN[kind]:
            raise InvalidUpdate(f"{kind.value} cannot hold content of kind {s.kind}")

    def integrate(self, s: Struct) -> None:
        end = s.clock + s.length
        have = self.known(s.client)
        if s.kind != SKIP and s.clock < have:
            self.overlapped = True
        if s.kind == SKIP or end <= have:
            return  # a hole, or all known: yrs drops it
        ref = self.where(s, have)
        if not self.trusted:
            self.check_content(s, ref, end - max(have, s.clock))
        self.grown[s.client] = end
        runs = self.runs.setdefault(s.client, [])
        start = max(have, s.clock)
        if not runs or runs[-1][1] != ref:
            runs.append((start, ref))
        # Facts only from the new part (yrs keeps what it had).
        if s.kind == TYPE and s.type_ref is not None and s.clock >= have:
            self.types[(s.client, s.clock)] = (s.type_ref, ref)
        elif s.lows:
            fresh = [s.clock + o for o in s.lows if s.clock + o >= have]
            if fresh:
                self.lows.setdefault(s.client, set()).update(fresh)

    def check_deletes(self, deletes: list[tuple[int, int, int]]) -> None:
        for client, start, length in deletes:
            if start + length > self.known(client):
                raise MissingDependencies(f"deletes {client}:{start}+{length}, not all there")
            if self.trusted:
                continue
            if self.splits(client, start) or self.splits(client, start + length):
                raise InvalidUpdate("deleted range splits a surrogate pair")
            if self.scope is not None:
                for ref in self._refs_in(client, start, start + length):
                    if ref is not None and self.root_of(ref) not in self.scope:
                        raise InvalidUpdate("this link may not delete that part of the document")

    def _refs_in(self, client: int, start: int, end: int) -> Iterator[Ref | None]:
        runs = self.facts.parents.get(client)
        if runs is not None:
            yield from runs.spanning(start, end)
        for run_start, ref in self.runs.get(client, ()):
            if run_start < end:
                yield ref


class UpdateGate:
    """Checks updates against a document's :class:`DocumentFacts` (see module docstring).

    ``version`` counts committed updates, so callers can cache what they derive from the
    document (its encoded state, say) until it changes.
    """

    __slots__ = ("facts", "version")

    def __init__(self, facts: DocumentFacts | None = None) -> None:
        self.facts = facts if facts is not None else DocumentFacts()
        self.version = 0

    def admit(self, update: bytes, scope: frozenset[str] | None = None) -> Admitted:
        """Check ``update``; return what it adds to the facts once applied.

        Args:
            update: a Yjs update (encoding v1).
            scope: the roots the writer may change (None: all of them).

        Raises:
            MissingDependencies: it needs structs or deletions that are not there yet.
            InvalidUpdate: it can never integrate completely (see module docstring), or it
                goes outside ``scope``.
        """
        return self._simulate(update, trusted=False, scope=scope)

    def _simulate(self, update: bytes, *, trusted: bool, scope: frozenset[str] | None) -> Admitted:
        runs, deletes = decode_structs(update, yrs_layout=trusted)
        sim = _Simulation(self.facts, trusted, scope)
        queues = [list(reversed(run)) for run in runs]
        pending = 0
        while queues:
            progressed = False
            for q in queues:
                while q and sim.ready(q[-1]):
                    sim.integrate(q.pop())
                    progressed = True
            queues = [q for q in queues if q]
            if queues and not progressed:
                if trusted:
                    pending = sum(len(q) for q in queues)
                    break
                s = queues[0][-1]
                raise MissingDependencies(
                    f"struct {s.client}:{s.clock} depends on structs the document lacks"
                )
        if not trusted:
            sim.check_deletes(deletes)
        state = self.facts.state
        overlap_state = None
        if sim.overlapped:
            overlap_state = encode_state_vector(
                {r[0].client: state.get(r[0].client, 0) for r in runs}
            )
        return Admitted(
            update,
            sim.grown,
            sim.types,
            {c: frozenset(v) for c, v in sim.lows.items()},
            sim.runs,
            not runs and not deletes,
            overlap_state,
            pending,
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
            facts.types.update(admitted.types)
        for client, lows in admitted.low_surrogates.items():
            facts.low_surrogates.setdefault(client, set()).update(lows)
        for client, runs in admitted.parents.items():
            target = facts.parents.setdefault(client, _Runs())
            for start, ref in runs:
                target.add(start, ref)

    def matches_state(self, state: Iterable[tuple[int, int]]) -> bool:
        """True if the facts' clocks equal ``state`` (pairs decoded from a state vector)."""
        return {c: k for c, k in state if k} == {c: k for c, k in self.facts.state.items() if k}


__all__ = [
    "ARRAY_TYPE",
    "CLOCK_LIMIT",
    "ID",
    "Admitted",
    "DocumentFacts",
    "MissingDependencies",
    "Ref",
    "UpdateGate",
    "decode_state_vector",
    "decode_structs",
]
