"""The lifecycle every long-lived Coscribe component shares, as one transition table.

::

    NEW --open--> OPENING --opened--> OPEN --close--> CLOSING --closed--> CLOSED
     |               |                                                     ^
     +---------------+------------- close (or a failed open) --------------+

Relay, registry, stores, cluster link and the editor's sync client all track their state
with a :class:`Lifecycle`, so "closing twice is a no-op", "using a closed thing is a bug"
and "a failed start leaves nothing running" mean the same everywhere. Like
``shared.states`` this is pure: the async wrappers live with their I/O
(``sync_server.lifecycle``, the editor's sync client).
"""

from __future__ import annotations

from enum import Enum

from .errors import InvalidState


class LifeState(Enum):
    NEW = "new"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


TRANSITIONS: dict[LifeState, frozenset[LifeState]] = {
    LifeState.NEW: frozenset({LifeState.OPENING, LifeState.CLOSED}),
    LifeState.OPENING: frozenset({LifeState.OPEN, LifeState.CLOSING, LifeState.CLOSED}),
    LifeState.OPEN: frozenset({LifeState.CLOSING}),
    LifeState.CLOSING: frozenset({LifeState.CLOSED}),
    LifeState.CLOSED: frozenset(),
}


class Lifecycle:
    """The state of one component; every move is checked against :data:`TRANSITIONS`."""

    __slots__ = ("name", "state")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = LifeState.NEW

    def _move(self, new: LifeState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise InvalidState(f"{self.name}: cannot go from {self.state.value} to {new.value}")
        self.state = new

    def begin_open(self) -> None:
        """Raises InvalidState unless the component was never opened."""
        self._move(LifeState.OPENING)

    def opened(self) -> None:
        self._move(LifeState.OPEN)

    def begin_close(self) -> bool:
        """Start closing; False if there is nothing to close (already closing or closed, or
        never opened: then it is CLOSED now)."""
        if self.state in (LifeState.CLOSING, LifeState.CLOSED):
            return False
        if self.state is LifeState.NEW:
            self._move(LifeState.CLOSED)
            return False
        self._move(LifeState.CLOSING)
        return True

    def closed(self) -> None:
        if self.state is not LifeState.CLOSED:
            self._move(LifeState.CLOSED)

    def require_open(self) -> None:
        """Raises InvalidState unless the component is open (a bug in the caller)."""
        if self.state is not LifeState.OPEN:
            raise InvalidState(f"{self.name} is {self.state.value}, not open")

    @property
    def is_open(self) -> bool:
        return self.state is LifeState.OPEN

    @property
    def is_closing(self) -> bool:
        return self.state in (LifeState.CLOSING, LifeState.CLOSED)
