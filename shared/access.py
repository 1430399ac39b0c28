"""What a person may do with a document: the one access-role enum.

The server decides it from the access link (``sync_server.auth`` signs it into tokens), the
sync session announces it in HELLO, and the editor shows it ("View only"). One enum for
all three, so a role never travels as a bare string that each side spells its own way.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """An access role, as tokens and HELLO spell it."""

    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def writable(self) -> bool:
        """Whether this role's document updates are accepted."""
        return self is Role.EDITOR

    @classmethod
    def from_wire(cls, value: object) -> Role:
        """The role a peer announced; a role this version does not know (a newer server's)
        is taken as VIEWER, the least a newer role can allow, never as more."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.VIEWER
