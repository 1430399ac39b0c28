"""Live revocation of access links: which tokens the server refuses from now on.

Tokens are signed, not stored, so revoking one means remembering it. Two kinds:

* ``token``: one link, by its id (``jti``); every other link keeps working;
* ``document``: every link of a document issued before a time (``not_before``): "revoke
  all links", including links minted before token ids existed; links minted afterwards
  (and prefix links, for the other documents they cover) keep working.

The revocations live in the document store (so they survive restarts and every node of a
cluster shares them); each node keeps them in a :class:`RevocationList`, refreshed from the
store every half second and at once when this node revokes. A connection opened with a
revoked token is closed with 4410 (``CloseCode.TOKEN_REVOKED``) and the handshake of a new
one is refused with 403. This module is pure: the server drives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from shared.errors import CloseCode

from .auth import Principal
from .store import Revocation

TOKEN = "token"
DOCUMENT = "document"


class LivePeer(Protocol):
    """A document's connection as revocation and shutdown see it (a coscribe.v1 WebSocket,
    or a document opened in a coscribe.v2 session)."""

    principal: Principal
    name: str

    def kick(self, code: CloseCode, reason: str) -> None: ...


@dataclass(slots=True)
class RevocationList:
    """The revocations this node knows, and the id of the newest one (its cursor)."""

    cursor: int = 0
    tokens: set[str] = field(default_factory=set)
    documents: dict[str, float] = field(default_factory=dict)

    def add(self, records: Iterable[Revocation]) -> int:
        """Learn ``records``; return how many were new."""
        added = 0
        for r in records:
            if r.id <= self.cursor:
                continue
            self.cursor = r.id
            added += 1
            if r.kind == TOKEN:
                self.tokens.add(r.key)
            elif r.kind == DOCUMENT:
                self.documents[r.key] = max(self.documents.get(r.key, 0.0), r.not_before)
        return added

    def refuses(self, principal: Principal, name: str) -> bool:
        """Whether ``principal`` may no longer open document ``name``."""
        if principal.token_id is not None and principal.token_id in self.tokens:
            return True
        not_before = self.documents.get(name)
        return (
            not_before is not None
            and principal.issued_at is not None
            and principal.issued_at < not_before
        )
