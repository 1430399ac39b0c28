"""Presence: who is here, in which colour, and where their cursor is.

The awareness state follows docs/schema.md §4 (y-quill's shape, so Quill and Coscribe show
each other's cursors)::

    {"user": {"name": str, "color": "#rrggbb"},
     "cursor": {"anchor": RelativePosition, "head": RelativePosition} | null}

A Yjs RelativePosition names a *character* (``item`` = its ``{client, clock}`` id, clock in
UTF-16 units) rather than an offset, so a remote cursor stays on its character while
others type before it. The end of the text has no character: Yjs writes it as
``{"type": null, "tname": "content", "item": null, "assoc": 0}``.

Why not just ``Text.sticky_index``: pycrdt 0.14 computes the clock by adding the UTF-8
*byte* offset inside an item to the item's clock (and resolves by adding a clock
difference as bytes); it is exact only at the start of an item, and it panics at the end
of the text. So :class:`_Positions` gets exact ids another way: it inserts a marker
character into a private copy of the document (:class:`_Scratch`) and reads the marker's
*left origin* from the resulting Yjs update. yrs computes origins correctly (inserts do
convert bytes to UTF-16 properly), and the left origin is by definition the id of the
UTF-16 unit just before the marker, which is exactly what Yjs puts in a RelativePosition.
Resolving goes through ``StickyIndex.get_index`` and corrects its unit mix-up with a
search over probe positions, then confirms the answer with the exact encoder. When the
copy cannot be made (inside a document observer pycrdt refuses), the search result is
used alone; a panic never escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt
from pycrdt import Assoc, StickyIndex

from .offsets import TextIndex, utf8_len, utf16_len
from .schema import CONTENT

#: Caret/selection colours for collaborators, readable on white, distinct for most eyes.
PALETTE: list[str] = [
    "#30bced",
    "#6eeb83",
    "#ffbc42",
    "#ee6352",
    "#9ac2c9",
    "#8acb88",
    "#1be7ff",
    "#d16ba5",
    "#a16ae8",
    "#f18f01",
]

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ID = tuple[int, int]


def default_color(seed: int) -> str:
    """A palette colour chosen deterministically from ``seed`` (e.g. the client id)."""
    return PALETTE[seed % len(PALETTE)]


def fallback_name(client_id: int) -> str:
    """The name shown for a collaborator whose state carries none."""
    return f"Anonymous {client_id % 10000:04d}"


@dataclass(frozen=True)
class Collaborator:
    client_id: int
    name: str
    color: str
    anchor: int | None  # UTF-16 offsets; None = no cursor
    head: int | None


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


#: Client id of the marker items inserted into the private copy (never sent anywhere).
MARKER_CLIENT = 2**53 - 1
_MARKER = "\x00"


def _var_uints(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """Read ``count`` lib0 varUints from ``data`` at ``pos``."""
    out = []
    for _ in range(count):
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out.append(value)
    return out, pos


def _origins(update: bytes) -> tuple[_ID | None, _ID | None]:
    """(left origin, right origin) of the single item in a one-item Yjs v1 update."""
    (_clients, _structs, _client, _clock), pos = _var_uints(update, 0, 4)
    info = update[pos]
    pos += 1
    left = right = None
    if info & 0x80:
        (client, clock), pos = _var_uints(update, pos, 2)
        left = (client, clock)
    if info & 0x40:
        (client, clock), pos = _var_uints(update, pos, 2)
        right = (client, clock)
    return left, right


class _Scratch:
    """A private copy of the document, rebuilt after changes, for marker insertions."""

    def __init__(self, doc: pycrdt.Doc[Any], tname: str) -> None:
        self._doc = doc
        self._tname = tname
        self._copy: pycrdt.Doc[Any] | None = None
        self._text: pycrdt.Text | None = None
        self._sub: Any = doc.observe(self._on_change)

    def _on_change(self, _event: Any) -> None:
        self._copy = None  # (reading the doc here is not allowed; rebuild on demand)

    def close(self) -> None:
        if self._sub is not None:
            self._doc.unobserve(self._sub)
            self._sub = None

    def origins(self, i8: int) -> tuple[_ID | None, _ID | None]:
        """The items a marker inserted at byte ``i8`` sits between (its origins).

        These are exact ids, but yrs places an insert after any deleted items (so the
        left one may be a tombstone) and before formatting markers (so the right one may
        be a format item); the caller checks which one is a visible character.

        Raises:
            ValueError: pycrdt refused (called inside a document observer).
        """
        for _attempt in range(2):
            try:
                if self._copy is None:
                    update = self._doc.get_update()
                    copy: pycrdt.Doc[Any] = pycrdt.Doc(client_id=MARKER_CLIENT)
                    copy.apply_update(update)
                    self._copy, self._text = copy, copy.get(self._tname, type=pycrdt.Text)
                assert self._text is not None
                before = self._copy.get_state()
                self._text.insert(i8, _MARKER)
                update = self._copy.get_update(before)
                del self._text[i8 : i8 + 1]
            except BaseException as exc:
                if _is_panic(exc) or isinstance(exc, RuntimeError | ValueError):
                    self._copy = None
                    raise ValueError("cannot compute an exact position now") from None
                raise
            left, right = _origins(update)
            if MARKER_CLIENT not in (left or (0, 0))[:1] + (right or (0, 0))[:1]:
                return left, right
            self._copy = None  # an earlier marker's tombstone got in the way: start afresh
        raise ValueError("marker kept landing next to another marker")


class _Positions:
    """UTF-16 offsets <-> Yjs RelativePosition JSON over one root ``Text``."""

    def __init__(self, text: pycrdt.Text, index: TextIndex, tname: str = CONTENT) -> None:
        self.text = text
        self.index = index
        self.tname = tname
        self._scratch = _Scratch(text.doc, tname)

    def close(self) -> None:
        self._scratch.close()

    # -------------------------------------------------------------- encode

    def encode(self, pos16: int, assoc: int = 0) -> dict[str, Any]:
        """The RelativePosition of ``pos16`` exactly as Yjs writes it.

        Raises:
            ValueError: no position can be computed now (inside a write observer).
        """
        index = self.index
        pos16 = min(max(pos16, 0), index.len16)
        if (assoc < 0 and pos16 == 0) or (assoc >= 0 and pos16 >= index.len16):
            return {"type": None, "tname": self.tname, "item": None, "assoc": assoc}
        try:
            ident = self._exact_id(pos16, assoc)
        except ValueError:
            ident = self._probed_id(pos16 - 1 if assoc < 0 else pos16)
        # Yjs names the root type even when an item is given (createRelativePosition).
        item = {"client": ident[0], "clock": ident[1]}
        return {"type": None, "tname": self.tname, "item": item, "assoc": assoc}

    def _exact_id(self, pos16: int, assoc: int) -> _ID:
        """Yjs's id for ``pos16``: the character at it, or (assoc < 0) the unit before it."""
        index = self.index
        start16 = index.u8_to_u16(index.u16_to_u8(pos16))
        i8 = index.u16_to_u8(start16)
        if assoc < 0:
            prev = index.slice16(max(start16 - 2, 0), start16)[-1:]
            left, _ = self._scratch.origins(i8)
            if left is not None and self._is_live(left):
                return left  # the last unit before pos16
            _, right = self._scratch.origins(i8 - utf8_len(prev))
            if right is not None and self._is_live(right):
                return right[0], right[1] + utf16_len(prev) - 1
        else:
            ch = index.slice16(start16, min(start16 + 2, index.len16))[:1]
            _, right = self._scratch.origins(i8)
            if right is not None and self._is_live(right):
                return right[0], right[1] + (pos16 - start16)
            left, _ = self._scratch.origins(i8 + utf8_len(ch))
            if left is not None and self._is_live(left):
                return left[0], left[1] - (utf16_len(ch) - 1) + (pos16 - start16)
        raise ValueError("deleted and formatting items on both sides")

    def _is_live(self, ident: _ID) -> bool:
        """Whether ``ident`` is a visible character (not a tombstone or format item)."""
        return self._locate(*ident) is not None

    def _locate(self, client: int, clock: int) -> int | None:
        """``get_index`` for a visible character's id (its item start + clock offset)."""
        if clock >= self._known_clocks().get(client, 0):
            return None  # not synced here yet (pycrdt would panic, noisily)
        try:
            sticky = StickyIndex.from_json({"item": {"client": client, "clock": clock}}, self.text)
            r = int(sticky.get_index())
        except BaseException as exc:
            if _is_panic(exc) or isinstance(exc, ValueError | RuntimeError):
                return None
            raise
        index = self.index
        if not 0 <= r < index.len8:
            return None
        j8 = index.u16_to_u8(index.u8_to_u16(r))  # code point at or before r
        return r if self._probe(j8) == (client, clock - (r - j8)) else None

    def _probed_id(self, pos16: int) -> _ID:
        """Fallback without the copy: pycrdt's probe, corrected by the run search."""
        index = self.index
        i8 = index.u16_to_u8(pos16)
        start16 = index.u8_to_u16(i8)
        got = self._probe(i8)
        if got is None:
            raise ValueError(f"pycrdt could not name the character at {pos16}")
        client, q = got
        run8 = self._run_start(i8, client, q)
        clock = q - (i8 - run8) + (start16 - index.u8_to_u16(run8)) + (pos16 - start16)
        return client, clock

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
                    return pos16
            except ValueError:
                return first  # cannot verify now: the search's best guess
        return first

    def _where_it_was(self, client: int, clock: int) -> int | None:
        """A deleted (or format) item: Yjs resolves it to where it was."""
        if clock >= self._known_clocks().get(client, 0):
            return None
        try:
            sticky = StickyIndex.from_json({"item": {"client": client, "clock": clock}}, self.text)
            r = int(sticky.get_index())
        except BaseException as exc:
            if _is_panic(exc) or isinstance(exc, ValueError | RuntimeError):
                return None
            raise
        index = self.index
        return index.u8_to_u16(min(max(r, 0), index.len8))

    def _candidates(self, r: int, client: int, clock: int, assoc: int) -> list[int]:
        """Offsets the character could be at: one per possible start of its item.

        ``get_index`` returned ``r = item start (bytes) + clock offset (UTF-16 units)``;
        every code point boundary ``t`` of the probe-consistent run before ``r`` is a
        possible item start, giving the offset ``u16(t) + (r - t)``. The first is the
        search's guess, which is right unless clocks happen to line up across items.
        """
        index = self.index
        run8 = self._run_start(r, client, clock)
        end16 = index.u8_to_u16(r)
        out: list[int] = []
        t16 = index.u8_to_u16(run8)
        while t16 <= end16 and len(out) < 64:
            t8 = index.u16_to_u8(t16)
            pos16 = t16 + (r - t8) + (1 if assoc < 0 else 0)
            pos16 = index.u8_to_u16(index.u16_to_u8(min(pos16, index.len16)))
            if pos16 not in out:
                out.append(pos16)
            if t16 >= index.len16:
                break
            t16 += utf16_len(index.slice16(t16, min(t16 + 2, index.len16))[:1]) or 1
        return out

    # -------------------------------------------------------------- the workaround

    def _known_clocks(self) -> dict[int, int]:
        """The document's state vector: next clock per client."""
        try:
            data = self.text.doc.get_state()
        except RuntimeError:
            return {}
        out: dict[int, int] = {}
        pos = 0

        def var_uint() -> int:
            nonlocal pos
            value = shift = 0
            while True:
                byte = data[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    return value

        for _ in range(var_uint()):
            client = var_uint()
            out[client] = var_uint()
        return out

    def _probe(self, i8: int) -> _ID | None:
        """pycrdt's (client, clock) for byte ``i8``: item clock + byte offset in the item."""
        try:
            item = self.text.sticky_index(i8, Assoc.AFTER).to_json().get("item")
        except BaseException as exc:
            if _is_panic(exc) or isinstance(exc, RuntimeError):
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


class PresenceTracker:
    """Our presence (name, colour, cursor) and everyone else's, over a pycrdt Awareness.

    Args:
        awareness: the document's Awareness (the SyncClient sends and applies it).
        text: the document's ``content`` Text.
        index: the TextIndex kept in step with ``text`` by the Qt binding.
    """

    def __init__(self, awareness: pycrdt.Awareness, text: pycrdt.Text, index: TextIndex) -> None:
        self.awareness = awareness
        self._positions = _Positions(text, index)
        self._listeners: list[Callable[[], None]] = []
        self._pending: tuple[int | None, int | None] | None = None
        self._cursor: tuple[int | None, int | None] | None = None
        self._sub: str | None = awareness.observe(self._on_awareness)

    @property
    def client_id(self) -> int:
        return self.awareness.client_id

    def set_user(self, name: str, color: str) -> None:
        """Publish our display name and colour."""
        self._set_field("user", {"name": name, "color": color})

    def set_local_cursor(self, anchor16: int | None, head16: int | None) -> None:
        """Publish our selection (UTF-16); None/None clears it (no focus).

        Inside the observer of a local write transaction pycrdt cannot compute positions;
        the cursor is then kept and published by :meth:`flush` or the next call.
        """
        if anchor16 is None or head16 is None:
            self._pending = None
            self._cursor = None
            self._set_field("cursor", None)
            return
        try:
            cursor = {
                "anchor": self._positions.encode(anchor16),
                "head": self._positions.encode(head16),
            }
        except ValueError:
            self._pending = (anchor16, head16)
            return
        self._pending = None
        self._cursor = (anchor16, head16)
        self._set_field("cursor", cursor)

    def flush(self) -> None:
        """Publish a cursor whose encoding had to be deferred (see set_local_cursor)."""
        if self._pending is not None:
            self.set_local_cursor(*self._pending)

    def collaborators(self) -> list[Collaborator]:
        """Everyone else who is here, cursor positions resolved against the text now."""
        out = []
        for cid, state in sorted(self.awareness.states.items()):
            if cid == self.client_id or not isinstance(state, dict):
                continue
            user = state.get("user")
            user = user if isinstance(user, dict) else {}
            name = user.get("name")
            name = name.strip() if isinstance(name, str) and name.strip() else fallback_name(cid)
            color = user.get("color")
            color = color if isinstance(color, str) and _HEX_COLOR.match(color) else None
            cursor = state.get("cursor")
            anchor = head = None
            if isinstance(cursor, dict):
                anchor = self._positions.decode(cursor.get("anchor"))
                head = self._positions.decode(cursor.get("head"))
                if anchor is None or head is None:
                    anchor = head = None
            out.append(Collaborator(cid, name, color or default_color(cid), anchor, head))
        return out

    def add_listener(self, cb: Callable[[], None]) -> Callable[[], None]:
        """Call ``cb()`` whenever someone else's presence changes; returns unsubscribe."""
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb) if cb in self._listeners else None

    def close(self) -> None:
        """Stop listening to the awareness and the document (idempotent)."""
        self._positions.close()
        if self._sub is not None:
            self.awareness.unobserve(self._sub)
            self._sub = None
        self._listeners.clear()

    # -------------------------------------------------------------- internals

    def _set_field(self, key: str, value: Any) -> None:
        state = self.awareness.get_local_state()
        if state is None:
            self.awareness.set_local_state({key: value})
        elif state.get(key) != value or key not in state:
            self.awareness.set_local_state({**state, key: value})

    def _on_awareness(self, topic: str, payload: tuple[dict[str, Any], Any]) -> None:
        changes, _origin = payload
        if topic != "change":
            return
        ids = [*changes.get("added", ()), *changes.get("updated", ()), *changes.get("removed", ())]
        if any(cid != self.client_id for cid in ids):
            for cb in list(self._listeners):
                cb()
