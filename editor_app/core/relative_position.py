"""Yjs RelativePositions over a pycrdt ``Text``: exact, in UTF-16, never panicking.

A RelativePosition (docs/schema.md §4) names a *character* by its Yjs id ``{client,
clock}`` (clock in UTF-16 units), so a cursor stays on its character while others type.
The JSON shape is what ``JSON.stringify(Y.createRelativePositionFromTypeIndex(...))``
writes: ``{"type": null, "tname": "content", "item": {...} | null, "assoc": 0 | -1}``.

Why not just ``Text.sticky_index``: pycrdt 0.14 computes the clock by adding the UTF-8
*byte* offset inside an item to the item's clock (and ``get_index`` adds a clock
difference as bytes); that is exact only at the start of an item, and it panics at the end
of the text. So :class:`RelativePositions` gets exact ids another way, from a private copy
of the document (:class:`_Scratch`, kept in step with it by the document's updates):

1. it inserts a marker character into the copy and reads the marker's *origins* from the
   resulting one-item Yjs update: yrs computes origins correctly, and they are the ids of
   the units on either side of the marker. yrs puts an insert after deleted items and
   before formatting markers, so the encoder uses the origin that is a visible character
   (checked with ``get_index`` plus a probe) and, failing that, a marker one character
   further;
2. when both miss (a formatting marker before the character *and* a tombstone after it),
   it deletes the character from the copy and reads its id from that transaction's delete
   set (exact, but the copy must be made again afterwards).

Resolving goes through ``get_index``, corrects its unit mix-up by a galloping search over
probe positions for the start of the item, and confirms each candidate with the exact
encoder. The search alone is not exact: a non-ASCII character followed by as many deleted
units as its extra UTF-8 bytes looks like one run of clocks (the off-by-one that the
property test in tests/app/test_presence.py found), which is why every candidate is
confirmed.

Inside a document observer pycrdt refuses to copy or probe: then the encoder tells the
caller to retry (:class:`~editor_app.core.errors.PositionUnavailable`) rather than guess,
and the resolver returns the search's unconfirmed guess. A pycrdt panic never escapes.

Cost: O(log n) probes, each O(items) inside yrs, plus applying each change's update to the
copy (an O(document) copy only at the start and after what a copy cannot follow): about
1 ms per position in a 1 MB document. So what was computed is kept and carried through
later edits (:meth:`TextIndex.edits_since`): an id names the same character whatever is
typed around it, and only the deletion of that character drops it. A caret that moves
with the user's own typing keeps its id (the character after it), and collaborators'
carets are found again after each keystroke without a probe. pycrdt's upcoming
``offset_kind`` (y-crdt/pycrdt#379) would make ``sticky_index`` exact and this module a
thin wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pycrdt
from pycrdt import Assoc, StickyIndex

from shared.errors import is_pycrdt_panic

from .errors import PositionUnavailable, UnreadableEncoding
from .lib0 import Lib0Reader, read_state_vector
from .offsets import TextIndex, utf8_len, utf16_len
from .schema import CONTENT

_ID = tuple[int, int]


#: Client id of the marker items inserted into the private copy (never sent anywhere).
MARKER_CLIENT = 2**53 - 1
_MARKER = "\x00"
#: Distinct item starts tried when resolving (each is confirmed by the exact encoder).
_MAX_CANDIDATES = 256
#: Bytes of queued document updates past which the copy is made again instead.
_MAX_BACKLOG = 256 * 1024
#: Positions remembered (each way) before the memory starts over.
_MAX_KNOWN = 256


def _origins(update: bytes) -> tuple[_ID | None, _ID | None]:
    """(left origin, right origin) of the first item in a Yjs v1 update.

    Raises:
        UnreadableEncoding: the update does not start with an item.
    """
    r = Lib0Reader(update)
    if r.var_uint() < 1 or r.var_uint() < 1:  # clients, then this client's structs
        raise UnreadableEncoding("the marker update holds no struct")
    r.id()  # the marker's own id
    info = r.byte()
    left = r.id() if info & 0x80 else None
    right = r.id() if info & 0x40 else None
    return left, right


def _deleted_runs(update: bytes) -> list[tuple[int, int, int]]:
    """The delete set of a Yjs v1 update that only deletes, as (client, clock, length).

    Raises:
        UnreadableEncoding: the update does not decode, or it also inserts.
    """
    r = Lib0Reader(update)
    if r.var_uint() != 0:
        raise UnreadableEncoding("a deletion's update holds structs")
    runs = []
    for _ in range(r.var_uint()):
        client = r.var_uint()
        for _ in range(r.var_uint()):
            clock, length = r.id()
            runs.append((client, clock, length))
    r.end()
    return runs


class _Scratch:
    """A private copy of the document for marker insertions, kept in step with it.

    Copying a large document costs O(document) (about 5 ms for 1 MB), and remote cursors
    are resolved after every keystroke, so the copy is made once and then follows the
    document: every update the document commits is queued (reading the document inside
    its observer is refused) and applied to the copy when a position is next asked for.
    Only what a copy cannot follow makes a new one: :meth:`ids_of` deleting text from it,
    a marker landing next to an earlier marker's tombstone where the left origin is
    needed, a backlog larger than a copy, or a copy whose state differs from the
    document's (:attr:`rebuilds` counts the copies made).
    """

    def __init__(self, doc: pycrdt.Doc[Any], tname: str) -> None:
        self._doc = doc
        self._tname = tname
        self._copy: pycrdt.Doc[Any] | None = None
        self._text: pycrdt.Text | None = None
        self._pending: list[bytes] = []  # the document's updates the copy has not had
        self._pending_bytes = 0
        self._rebuilds = 0
        # Origins per byte position for the current document state. Also what keeps two
        # markers from meeting within one state: a marker at the same position would land
        # next to the first one's tombstone.
        self._cache: dict[int, tuple[_ID | None, _ID | None]] = {}
        self._sub: Any = doc.observe(self._on_change)

    @property
    def rebuilds(self) -> int:
        """How many full copies of the document were made (each O(document))."""
        return self._rebuilds

    def _on_change(self, event: Any) -> None:
        # Reading the document is not allowed here; the update is what the copy needs.
        self._cache.clear()
        if self._copy is None:
            return
        update: bytes = event.update
        self._pending.append(update)
        self._pending_bytes += len(update)
        if self._pending_bytes > _MAX_BACKLOG:  # a paste or a load: a new copy is cheaper
            self._drop_copy()

    def _drop_copy(self) -> None:
        self._copy = self._text = None
        self._pending.clear()
        self._pending_bytes = 0
        self._cache.clear()

    def close(self) -> None:
        if self._sub is not None:
            self._doc.unobserve(self._sub)
            self._sub = None
        self._drop_copy()

    def origins(self, i8: int, *, need_left: bool = True) -> tuple[_ID | None, _ID | None]:
        """The items a marker inserted at byte ``i8`` sits between (its origins).

        These are exact ids, but yrs places an insert after any deleted items (so the
        left one may be a tombstone) and before formatting markers (so the right one may
        be a format item); the caller checks which one is a visible character. An earlier
        marker's tombstone can only be the left origin (the right one is the first item
        that is not deleted): then the copy is made afresh when ``need_left``, else the
        left origin is given as None (unknown).

        Raises:
            PositionUnavailable: pycrdt refused (called inside a document observer).
        """
        cached = self._cache.get(i8)
        if cached is not None and self._copy is not None:
            left, right = cached
            if left is not None or not need_left:
                return cached
        for _attempt in range(2):
            with self._pycrdt_refusal():
                copy, text = self._ensure_copy()
                before = copy.get_state()
                text.insert(i8, _MARKER)
                update = copy.get_update(before)
                del text[i8 : i8 + 1]
            left, right = _origins(update)
            if right is not None and right[0] == MARKER_CLIENT:
                right = None  # never expected (markers are deleted at once)
            if left is not None and left[0] == MARKER_CLIENT:
                if need_left:
                    self._drop_copy()  # an earlier marker's tombstone got in the way
                    continue
                left = None
            self._cache[i8] = (left, right)
            return left, right
        raise PositionUnavailable("marker kept landing next to another marker")

    def ids_of(self, start8: int, end8: int) -> list[tuple[int, int, int]]:
        """The ids of the units in bytes ``[start8, end8)``, as (client, clock, length) runs.

        Exact whatever surrounds the range (tombstones, formatting markers): the range is
        deleted from the copy and the runs are read from that transaction's delete set.
        The copy then no longer holds the document's text (a deletion cannot be taken
        back in a CRDT), so it is dropped and made again on demand; callers try markers
        first.

        Raises:
            PositionUnavailable: pycrdt refused (called inside a document observer).
        """
        updates: list[bytes] = []
        try:
            with self._pycrdt_refusal():
                copy, text = self._ensure_copy()
                sub = copy.observe(lambda event: updates.append(event.update))
                try:
                    with copy.transaction():
                        del text[start8:end8]
                finally:
                    copy.unobserve(sub)
        finally:
            self._drop_copy()
        if len(updates) != 1:
            raise PositionUnavailable(f"deleting {start8}..{end8} gave {len(updates)} updates")
        return _deleted_runs(updates[0])

    def _ensure_copy(self) -> tuple[pycrdt.Doc[Any], pycrdt.Text]:
        """The copy, brought up to the document's state (made if there is none).

        Reads the document's state vector first, which pycrdt refuses inside one of the
        document's observers (where the update being committed is not queued yet): the
        caller then retries rather than working on a copy one transaction behind.
        """
        try:
            wanted = read_state_vector(self._doc.get_state())
        except BaseException as exc:  # refused: the copy itself is still good
            if is_pycrdt_panic(exc) or isinstance(exc, RuntimeError):
                raise PositionUnavailable("cannot read the document now") from None
            raise
        if self._copy is not None and self._text is not None:
            copy, text = self._copy, self._text
            pending, self._pending = self._pending, []
            self._pending_bytes = 0
            for update in pending:
                copy.apply_update(update)
            have = read_state_vector(copy.get_state())
            have.pop(MARKER_CLIENT, None)
            if have == wanted:
                return copy, text
            self._drop_copy()  # never expected: start from the document itself
        self._cache.clear()
        copy = pycrdt.Doc(client_id=MARKER_CLIENT)
        copy.apply_update(self._doc.get_update())
        self._rebuilds += 1
        self._copy, self._text = copy, copy.get(self._tname, type=pycrdt.Text)
        self._pending.clear()
        self._pending_bytes = 0
        return self._copy, self._text

    @contextmanager
    def _pycrdt_refusal(self) -> Iterator[None]:
        """pycrdt's refusals (inside an observer of the document) as PositionUnavailable."""
        try:
            yield
        except PositionUnavailable:
            raise  # the document could not be read; the copy was not touched
        except BaseException as exc:
            if is_pycrdt_panic(exc) or isinstance(exc, RuntimeError | ValueError):
                self._drop_copy()  # a marker may be left in it
                raise PositionUnavailable("cannot compute an exact position now") from None
            raise


class RelativePositions:
    """UTF-16 offsets <-> Yjs RelativePosition JSON over one root ``Text``."""

    def __init__(self, text: pycrdt.Text, index: TextIndex, tname: str = CONTENT) -> None:
        self.text = text
        self.index = index
        self.tname = tname
        self._scratch = _Scratch(text.doc, tname)
        #: Positions computed from the document (each about 1 ms in a 1 MB document);
        #: the rest were carried through edits from an earlier answer.
        self.computed = 0
        # What was computed, carried through the index's edits since ``_version``:
        # (pos16, assoc) -> id encoded, and (client, clock, assoc) -> pos16 decoded.
        self._encoded: dict[tuple[int, int], _ID] = {}
        self._resolved: dict[tuple[int, int, int], int] = {}
        self._followed, self._version = index, index.version

    @property
    def rebuilds(self) -> int:
        """How many full copies of the document were made (each O(document)): one, then
        only after what the copy cannot follow (see :class:`_Scratch`)."""
        return self._scratch.rebuilds

    def close(self) -> None:
        self._scratch.close()

    def _catch_up(self) -> None:
        """Carry the remembered positions through the edits made since they were found
        (or forget them all when those edits are no longer known)."""
        index = self.index
        if self._version == index.version and index is self._followed:
            return
        edits = index.edits_since(self._version) if index is self._followed else None
        self._followed, self._version = index, index.version
        if edits is None:
            self._encoded.clear()
            self._resolved.clear()
            return
        encoded: dict[tuple[int, int], _ID] = {}
        for (pos16, assoc), ident in self._encoded.items():
            moved = _carried(pos16, assoc, edits)
            if moved is not None:
                encoded[moved, assoc] = ident
        resolved: dict[tuple[int, int, int], int] = {}
        for key, pos16 in self._resolved.items():
            moved = _carried(pos16, key[2], edits)
            if moved is not None:
                resolved[key] = moved
        self._encoded, self._resolved = encoded, resolved

    def _remember_encoded(self, pos16: int, assoc: int, ident: _ID) -> None:
        if len(self._encoded) >= _MAX_KNOWN:
            self._encoded.clear()
        self._encoded[pos16, assoc] = ident

    # -------------------------------------------------------------- encode

    def encode(self, pos16: int, assoc: int = 0) -> dict[str, Any]:
        """The RelativePosition of ``pos16`` exactly as Yjs writes it.

        Raises:
            PositionUnavailable: no position can be computed now (inside a write observer).
        """
        index = self.index
        pos16 = min(max(pos16, 0), index.len16)
        if (assoc < 0 and pos16 == 0) or (assoc >= 0 and pos16 >= index.len16):
            return {"type": None, "tname": self.tname, "item": None, "assoc": assoc}
        ident = self._exact_id(pos16, assoc)
        # Yjs names the root type even when an item is given (createRelativePosition).
        item = {"client": ident[0], "clock": ident[1]}
        return {"type": None, "tname": self.tname, "item": item, "assoc": assoc}

    def _exact_id(self, pos16: int, assoc: int) -> _ID:
        """Yjs's id for ``pos16``: the character at it, or (assoc < 0) the unit before it.

        A marker inserted just before a character has it as its right origin unless a
        formatting marker sits between them, and one inserted just after it has it as its
        left origin unless tombstones follow it (yrs skips those). Checked with
        :meth:`_is_live`; when both miss (a formatting marker before the character and a
        tombstone after it), the character is deleted from the copy and its id read from
        the delete set (:meth:`_Scratch.ids_of`), which is exact but costs a new copy.

        Raises:
            PositionUnavailable: pycrdt refused (called inside a document observer).
        """
        self._catch_up()
        known = self._encoded.get((pos16, assoc))
        if known is not None:
            return known
        ident = self._compute_id(pos16, assoc)
        self._remember_encoded(pos16, assoc, ident)
        return ident

    def _compute_id(self, pos16: int, assoc: int) -> _ID:
        self.computed += 1
        index = self.index
        start16 = index.u8_to_u16(index.u16_to_u8(pos16))
        i8 = index.u16_to_u8(start16)
        scratch = self._scratch
        if assoc < 0:
            prev = index.slice16(max(start16 - 2, 0), start16)[-1:]
            last = utf16_len(prev) - 1  # the char's last unit, after its first
            left, _ = scratch.origins(i8, need_left=False)
            if left is not None and self._is_live(left):
                return left  # the last unit before pos16
            _, right = scratch.origins(i8 - utf8_len(prev), need_left=False)
            if right is not None and self._is_live(right):
                return right[0], right[1] + last
            left, _ = scratch.origins(i8)  # unless a marker's tombstone hid it the first time
            if left is not None and self._is_live(left):
                return left
            client, clock = self._char_id(i8 - utf8_len(prev), i8, prev)
            return client, clock + last
        ch = index.slice16(start16, min(start16 + 2, index.len16))[:1]
        _, right = scratch.origins(i8, need_left=False)
        if right is not None and self._is_live(right):
            return right[0], right[1] + (pos16 - start16)
        left, _ = scratch.origins(i8 + utf8_len(ch))
        if left is not None and self._is_live(left):
            return left[0], left[1] - (utf16_len(ch) - 1) + (pos16 - start16)
        client, clock = self._char_id(i8, i8 + utf8_len(ch), ch)
        return client, clock + (pos16 - start16)

    def _char_id(self, start8: int, end8: int, ch: str) -> _ID:
        """The id of the first unit of the one character ``ch`` at bytes [start8, end8).

        Deleting a range also deletes formatting markers that become redundant, and the
        delete set merges neighbouring ids, so the character is the visible id there; of a
        pair, both halves look visible, and the character starts at the first."""
        n = utf16_len(ch)
        live = {
            (client, clock + k)
            for client, clock, length in self._scratch.ids_of(start8, end8)
            for k in range(length - n + 1)
            if self._is_live((client, clock + k))
        }
        found = {(client, clock) for client, clock in live if (client, clock - 1) not in live}
        if len(found) != 1:
            raise PositionUnavailable(f"no single id for {ch!r} at {start8}: {found}")
        return found.pop()

    def _is_live(self, ident: _ID) -> bool:
        """Whether ``ident`` is a visible character (not a tombstone or format item)."""
        return self._locate(*ident) is not None

    def _locate(self, client: int, clock: int) -> int | None:
        """``get_index`` for a visible character's id (its item start + clock offset)."""
        r = self._raw_index(client, clock)
        if r is None:
            return None
        index = self.index
        if not 0 <= r < index.len8:
            return None
        j8 = index.u16_to_u8(index.u8_to_u16(r))  # code point at or before r
        return r if self._probe(j8) == (client, clock - (r - j8)) else None

    # -------------------------------------------------------------- decode

    def decode(self, rpos: Any) -> int | None:
        """Resolve a RelativePosition JSON to a UTF-16 offset, or None if it is not ours."""
        if not isinstance(rpos, dict):
            return None
        assoc = rpos.get("assoc", 0)
        assoc = -1 if isinstance(assoc, int | float) and assoc < 0 else 0
        item = rpos.get("item")
        if item is None:
            if rpos.get("type") is not None or rpos.get("tname") not in (None, self.tname):
                return None  # inside another shared type
            return self.index.len16 if assoc >= 0 else 0
        try:
            client, clock = int(item["client"]), int(item["clock"])
        except (TypeError, KeyError, ValueError):
            return None
        key = (client, clock, assoc)
        self._catch_up()
        known = self._resolved.get(key)
        if known is not None:
            return known
        r = self._locate(client, clock)
        if r is None:
            return self._where_it_was(client, clock)
        first: int | None = None
        for pos16 in self._candidates(r, client, clock, assoc):
            first = pos16 if first is None else first
            if not (0 < pos16 if assoc < 0 else pos16 < self.index.len16):
                continue
            try:
                if self._exact_id(pos16, assoc) == (client, clock):
                    if len(self._resolved) >= _MAX_KNOWN:
                        self._resolved.clear()
                    self._resolved[key] = pos16
                    return pos16
            except PositionUnavailable:
                return first  # cannot verify now: the search's best guess
        return first

    def _where_it_was(self, client: int, clock: int) -> int | None:
        """A deleted (or format) item: Yjs resolves it to where it was."""
        r = self._raw_index(client, clock)
        if r is None:
            return None
        index = self.index
        return index.u8_to_u16(min(max(r, 0), index.len8))

    def _raw_index(self, client: int, clock: int) -> int | None:
        """pycrdt's ``get_index`` for an id (item start in bytes + clock offset), or None
        if the id is not synced here yet or pycrdt refuses (it would panic, noisily)."""
        if clock >= self._known_clocks().get(client, 0):
            return None
        try:
            sticky = StickyIndex.from_json({"item": {"client": client, "clock": clock}}, self.text)
            return int(sticky.get_index())
        except BaseException as exc:
            if is_pycrdt_panic(exc) or isinstance(exc, ValueError | RuntimeError):
                return None
            raise

    def _candidates(self, r: int, client: int, clock: int, assoc: int) -> Iterator[int]:
        """Offsets the character could be at: one per possible start of its item.

        ``get_index`` returned ``r = item start (bytes) + clock offset (UTF-16 units)``;
        every code point boundary ``t`` of the probe-consistent run before ``r`` is a
        possible item start, giving the offset ``u16(t) + (r - t)``. The first is the
        search's guess, which is right unless clocks happen to line up across items.
        """
        index = self.index
        run8 = self._run_start(r, client, clock)
        end16 = index.u8_to_u16(r)
        seen: set[int] = set()
        t16 = index.u8_to_u16(run8)
        while t16 <= end16 and len(seen) < _MAX_CANDIDATES:
            t8 = index.u16_to_u8(t16)
            pos16 = t16 + (r - t8) + (1 if assoc < 0 else 0)
            pos16 = index.u8_to_u16(index.u16_to_u8(min(pos16, index.len16)))
            if pos16 not in seen:
                seen.add(pos16)
                yield pos16
            if t16 >= index.len16:
                break
            t16 += utf16_len(index.slice16(t16, min(t16 + 2, index.len16))[:1]) or 1

    # -------------------------------------------------------------- the workaround

    def _known_clocks(self) -> dict[int, int]:
        """The document's state vector: next clock per client ({} if pycrdt refuses)."""
        try:
            return read_state_vector(self.text.doc.get_state())
        except RuntimeError:
            return {}

    def _probe(self, i8: int) -> _ID | None:
        """pycrdt's (client, clock) for byte ``i8``: item clock + byte offset in the item."""
        try:
            item = self.text.sticky_index(i8, Assoc.AFTER).to_json().get("item")
        except BaseException as exc:
            if is_pycrdt_panic(exc) or isinstance(exc, RuntimeError):
                return None
            raise
        if not isinstance(item, dict):
            return None
        return int(item["client"]), int(item["clock"])

    def _run_start(self, i8: int, client: int, q: int) -> int:
        """Start (bytes) of the clock-contiguous run of items around byte ``i8``.

        ``(client, q)`` is what :meth:`_probe` says (or would say) at ``i8``. A code point
        boundary ``j`` belongs to the same run iff the probe there is ``q - (i8 - j)``.
        Runs only merge items across ASCII text, where bytes and UTF-16 units agree.
        """
        index = self.index

        def same_run(j8: int) -> bool:
            return self._probe(j8) == (client, q - (i8 - j8))

        hi16 = index.u8_to_u16(i8)
        hi8 = index.u16_to_u8(hi16)
        step, lo16 = 1, -1
        while hi16 > 0:  # gallop backwards until a boundary outside the run
            cand8 = index.u16_to_u8(max(hi16 - step, 0))
            cand16 = index.u8_to_u16(cand8)
            if not same_run(cand8):
                lo16 = cand16
                break
            hi16, hi8, step = cand16, cand8, step * 2
        if hi16 == 0:
            return hi8
        while True:  # invariant: lo16 outside, hi16 inside
            mid8 = index.u16_to_u8((lo16 + hi16) // 2)
            mid16 = index.u8_to_u16(mid8)
            if mid16 <= lo16:  # rounded down onto lo: take the boundary after it
                mid16 = lo16 + (utf16_len(index.slice16(lo16, min(lo16 + 2, hi16))[:1]) or 1)
                if mid16 >= hi16:
                    return hi8
                mid8 = index.u16_to_u8(mid16)
            if same_run(mid8):
                hi16, hi8 = mid16, mid8
            else:
                lo16 = mid16


def _carried(pos16: int, assoc: int, edits: list[tuple[int, int, int]]) -> int | None:
    """Where a position naming a character (the one after it, or before it with
    ``assoc`` < 0) is after ``edits`` (``(pos16, removed16, inserted16)``, in order); None
    once that character is deleted. Text inserted at a character goes before it."""
    unit = pos16 if assoc >= 0 else pos16 - 1
    for at, removed, inserted in edits:
        if removed and at <= unit < at + removed:
            return None
        if unit >= at + removed:
            unit -= removed
        if unit >= at:
            unit += inserted
    return unit if assoc >= 0 else unit + 1
