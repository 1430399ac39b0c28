"""What a person may do with a document: the one access-role enum.

The server decides it from the access link (``sync_server.auth`` signs it into tokens), the
sync session announces it in HELLO, and the editor shows it ("View only"). One enum for
all three, so a role never travels as a bare string that each side spells its own way.
"""

from __future__ import annotations

from enum import StrEnum

from .schema import COMMENTER_ROOTS


class Role(StrEnum):
    """An access role, as tokens and HELLO spell it (Google Docs' four).

    * ``owner``: edits, and manages the document's links (Share);
    * ``editor``: edits the text, the title and the comments;
    * ``commenter``: adds and answers comments, cannot change the text (the server
      refuses an update that touches anything but the comment threads);
    * ``viewer``: reads.
    """

    OWNER = "owner"
    EDITOR = "editor"
    COMMENTER = "commenter"
    VIEWER = "viewer"

    @property
    def writable(self) -> bool:
        """Whether this role may change the text (and everything else)."""
        return self is Role.EDITOR or self is Role.OWNER

    @property
    def may_write(self) -> bool:
        """Whether any document update of this role is accepted (see :attr:`scope`)."""
        return self is not Role.VIEWER

    @property
    def scope(self) -> frozenset[str] | None:
        """The document roots this role's updates may touch (None: all of them)."""
        if self is Role.COMMENTER:
            return COMMENTER_ROOTS
        return frozenset() if self is Role.VIEWER else None

    @property
    def manages_links(self) -> bool:
        """Whether this role may mint, list and revoke the document's links."""
        return self is Role.OWNER

    @classmethod
    def from_wire(cls, value: object) -> Role:
        """The role a peer announced; a role this version does not know (a newer server's)
        is taken as VIEWER, the least a newer role can allow, never as more."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.VIEWER
