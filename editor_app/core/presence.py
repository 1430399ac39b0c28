"""Presence: who is here, in which colour, and where their cursor is.

The awareness state follows docs/schema.md §4 (y-quill's shape, so Quill and Coscribe show
each other's cursors)::

    {"user": {"name": str, "color": "#rrggbb"},
     "cursor": {"anchor": RelativePosition, "head": RelativePosition} | null}

A Yjs RelativePosition names a *character* (``item`` = its ``{client, clock}`` id, clock in
UTF-16 units) rather than an offset, so a remote cursor stays on its character while
others type before it. The end of the text has no character: Yjs writes it as
``{"type": null, "tname": "content", "item": null, "assoc": 0}``.

Positions are converted by :class:`~editor_app.core.relative_position.RelativePositions`,
which works around pycrdt 0.14 counting sticky indexes in the wrong units.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt

from .errors import PositionUnavailable
from .offsets import TextIndex
from .relative_position import RelativePositions

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


def default_color(seed: int) -> str:
    """A palette colour chosen deterministically from ``seed`` (e.g. the client id)."""
    return PALETTE[seed % len(PALETTE)]


def distinct_color(
    preferred: str, my_id: int, others: dict[int, str], palette: list[str] | None = None
) -> str:
    """The colour to show for me: ``preferred`` unless someone already here with a smaller
    client id shows it (the earlier of two keeps a colour, deterministically, so two
    people never swap back and forth); then the first palette colour nobody here uses.
    ``others``: client id -> colour of everyone else in the document."""
    wanted = preferred.lower()
    if not any(cid < my_id and color.lower() == wanted for cid, color in others.items()):
        return preferred
    taken = {color.lower() for color in others.values()} | {wanted}
    for color in palette or PALETTE:
        if color.lower() not in taken:
            return color
    return preferred


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


class PresenceTracker:
    """Our presence (name, colour, cursor) and everyone else's, over a pycrdt Awareness.

    Args:
        awareness: the document's Awareness (the SyncClient sends and applies it).
        text: the document's ``content`` Text.
        index: the TextIndex kept in step with ``text`` by the Qt binding.
    """

    def __init__(self, awareness: pycrdt.Awareness, text: pycrdt.Text, index: TextIndex) -> None:
        self.awareness = awareness
        self._positions = RelativePositions(text, index)
        self._listeners: list[Callable[[], None]] = []
        self._pending: tuple[int | None, int | None] | None = None
        self._cursor: tuple[int | None, int | None] | None = None
        self._user: tuple[str, str] | None = None
        self._sub: str | None = awareness.observe(self._on_awareness)

    @property
    def client_id(self) -> int:
        return self.awareness.client_id

    def set_user(self, name: str, color: str) -> None:
        """Publish our display name and preferred colour (shown unless someone else here
        already shows it, see :func:`distinct_color`)."""
        self._user = (name, color)
        self._publish_user()

    @property
    def own_color(self) -> str:
        """The colour others see for me now (my preferred one unless it was taken)."""
        state = self.awareness.get_local_state() or {}
        user = state.get("user")
        color = user.get("color") if isinstance(user, dict) else None
        return color if isinstance(color, str) else (self._user[1] if self._user else "")

    def _publish_user(self) -> None:
        if self._user is None:
            return
        name, preferred = self._user
        others: dict[int, str] = {}
        for cid, state in self.awareness.states.items():
            if cid == self.client_id or not isinstance(state, dict):
                continue
            user = state.get("user")
            color = user.get("color") if isinstance(user, dict) else None
            if isinstance(color, str) and _HEX_COLOR.match(color):
                others[cid] = color
        color = distinct_color(preferred, self.client_id, others)
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
        except PositionUnavailable:
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
            self._publish_user()  # someone may have come with my colour, or left
            for cb in list(self._listeners):
                cb()
