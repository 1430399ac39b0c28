"""Access links the document's owners minted from the app (the Share dialog, docs/api.md).

A link is a signed token (``sync_server.auth``) for one document and role; the server
keeps each one it minted through the API, so owners can list them, copy one again and
revoke it (a revocation of its token id: ``sync_server.revocation``, sessions close
within a second). Links minted on the command line are not listed (the CLI prints them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.access import Role

#: Longest lifetime a link may be given through the API (a year); None = never expires.
MAX_LINK_LIFETIME = 366 * 86400.0


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: str  # the token id (jti)
    name: str
    role: Role
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    token: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "role": str(self.role),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "token": self.token,
        }

    @classmethod
    def of_row(cls, row: Sequence[object]) -> LinkRecord:
        """From (id, name, role, created_at, expires_at, revoked_at, token)."""
        lid, name, role, created_at, expires_at, revoked_at, token = row
        return cls(
            str(lid),
            str(name),
            Role.from_wire(role),
            float(str(created_at)),
            None if expires_at is None else float(str(expires_at)),
            None if revoked_at is None else float(str(revoked_at)),
            str(token),
        )


def check_link_request(payload: object) -> tuple[Role, float | None]:
    """The role and lifetime (seconds, None = never expires) a share request asks for.

    Raises:
        ValueError: with what is wrong (the API answers 400 with it).
    """
    if not isinstance(payload, dict):
        raise ValueError('send {"role": "editor" | "commenter" | "viewer", "expires_in": s}')
    role_name = payload.get("role")
    try:
        role = Role(str(role_name))
    except ValueError:
        raise ValueError(f"role must be one of {', '.join(str(r) for r in Role)}") from None
    expires_in = payload.get("expires_in")
    if expires_in is None:
        return role, None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise ValueError("expires_in must be a number of seconds, or null (never)")
    if not 60 <= expires_in <= MAX_LINK_LIFETIME:
        raise ValueError(f"expires_in must be between 60 and {int(MAX_LINK_LIFETIME)} seconds")
    return role, float(expires_in)
