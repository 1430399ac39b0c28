"""The sync session's state machine, as one transition table.

::

    CONNECTING --hello/start--> SYNCING --step 2 received--> SYNCED
        |                          |                           |
        +------------- close / error / incarnation mismatch ---+--> CLOSED

A server session starts in SYNCING (it sent step 1 and waits for nothing in particular);
a client session on a coscribe.v1 connection starts in CONNECTING and waits for the
server's HELLO before it sends any document state.
"""

from __future__ import annotations

from enum import Enum

from .errors import InvalidState


class Side(Enum):
    """Which end of a sync session this is (not what the person may do: that is
    :class:`shared.access.Role`)."""

    CLIENT = "client"
    SERVER = "server"


class SessionState(Enum):
    CONNECTING = "connecting"
    SYNCING = "syncing"
    SYNCED = "synced"
    CLOSED = "closed"


TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.CONNECTING: frozenset({SessionState.SYNCING, SessionState.CLOSED}),
    SessionState.SYNCING: frozenset({SessionState.SYNCED, SessionState.CLOSED}),
    SessionState.SYNCED: frozenset({SessionState.CLOSED}),
    SessionState.CLOSED: frozenset(),
}


def check_transition(current: SessionState, new: SessionState) -> None:
    """Raise InvalidState unless ``current -> new`` is in the table."""
    if new not in TRANSITIONS[current]:
        raise InvalidState(f"illegal session transition {current.value} -> {new.value}")
