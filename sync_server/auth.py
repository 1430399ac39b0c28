"""Access tokens: who may open which document, as editor or viewer.

A token is ``v1.<payload>.<signature>``: the payload is base64url JSON
``{"doc": "team-notes" | "team-*", "role": "editor" | "viewer", "exp": unix-seconds | null,
"iat": unix-seconds, "jti": "<token id>"}``, the signature is HMAC-SHA256 of
``v1.<payload>`` with the server's secret. A ``doc`` ending in ``*`` is a prefix: ``team-*``
opens every document whose name starts with ``team-``. Tokens are bearer credentials:
whoever holds one has its rights until it expires or is revoked (``sync_server.revocation``:
by its id, or every token of a document issued before a time), so they are never logged;
the id is not a secret and may be.

This module is pure (no I/O): minting and checking take the secret and the clock as
arguments, so tests and the CLI drive it directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from shared.access import Role as Role
from shared.docnames import validate_document_name
from shared.errors import CloseCode, InvalidDocumentName, PermissionDenied

VERSION = "v1"
MIN_SECRET_BYTES = 16


@dataclass(frozen=True, slots=True)
class Principal:
    """What a verified token (or open mode) grants."""

    role: Role
    doc: str  # a name, or a prefix ending in "*"
    expires_at: float | None = None
    #: The token's id (``jti``) and issue time (``iat``); None for open mode and for tokens
    #: minted before ids existed (those can still be revoked per document).
    token_id: str | None = None
    issued_at: float | None = None

    def allows(self, name: str) -> bool:
        if self.doc.endswith("*"):
            return name.startswith(self.doc[:-1])
        return name == self.doc


#: Open mode (no secret, loopback only): everyone edits everything.
OPEN_ACCESS = Principal(Role.EDITOR, "*")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest())


def validate_doc_pattern(doc: str) -> str:
    """A document name, or a prefix of one followed by ``*`` (``*`` alone: every document)."""
    if doc == "*":
        return doc
    base = doc[:-1] if doc.endswith("*") else doc
    try:
        validate_document_name(base)
    except InvalidDocumentName as exc:
        raise InvalidDocumentName(f"{exc} (a prefix ends with '*', e.g. team-*)") from None
    return doc


_DURATION = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 12h, 7d)")
    n, unit = int(match.group(1)), match.group(2)
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def mint_token(
    secret: bytes,
    doc: str,
    role: Role,
    *,
    expires_in: float | None = None,
    now: float | None = None,
) -> str:
    """Create a signed token for ``doc`` (name or ``prefix*``) with ``role``."""
    issued = time.time() if now is None else now
    payload = {
        "doc": validate_doc_pattern(doc),
        "role": str(role),
        "exp": None if expires_in is None else int(issued + expires_in),
        "iat": round(issued, 3),  # ms: "revoke all links before now" is exact
        "jti": _b64(secrets.token_bytes(12)),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signed = f"{VERSION}.{body}"
    return f"{signed}.{_sign(secret, signed)}"


def verify_token(secret: bytes, token: str, *, now: float | None = None) -> Principal:
    """Check signature and expiry.

    Raises:
        PermissionDenied: with close_code UNAUTHORIZED (HTTP 401) and a reason a user can act on.
    """
    if not token.isascii():  # tokens are base64url; anything else is not ours
        raise PermissionDenied("malformed access token", CloseCode.UNAUTHORIZED)
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise PermissionDenied("malformed access token", CloseCode.UNAUTHORIZED)
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, signed), parts[2]):
        raise PermissionDenied("invalid access token (wrong signature)", CloseCode.UNAUTHORIZED)
    try:
        payload = json.loads(_unb64(parts[1]))
        role = Role(payload["role"])
        doc = validate_doc_pattern(str(payload["doc"]))
        exp = payload.get("exp")
        expires_at = None if exp is None else float(exp)
        iat = payload.get("iat")
        issued_at = None if iat is None else float(iat)
        jti = payload.get("jti")
        token_id = None if jti is None else str(jti)
    except (ValueError, KeyError, TypeError, binascii.Error, InvalidDocumentName):
        raise PermissionDenied("malformed access token", CloseCode.UNAUTHORIZED) from None
    current = time.time() if now is None else now
    if expires_at is not None and current >= expires_at:
        raise PermissionDenied("access token expired; ask for a new link", CloseCode.TOKEN_EXPIRED)
    return Principal(role, doc, expires_at, token_id, issued_at)


def authorize(principal: Principal, name: str) -> None:
    """Raise PermissionDenied (FORBIDDEN, HTTP 403) unless ``principal`` may open ``name``."""
    if not principal.allows(name):
        raise PermissionDenied(
            f"this link does not give access to document '{name}'", CloseCode.FORBIDDEN
        )


def token_from_request(authorization: str | None, query: str) -> str | None:
    """The bearer token from the Authorization header, else from ``?token=`` (browsers
    cannot set headers on WebSockets)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "token" and value:
            from urllib.parse import unquote

            return unquote(value)
    return None


def load_secret(data: bytes, source: str) -> bytes:
    """Validate secret material read from a file or the environment."""
    secret = data.strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"secret from {source} is too short ({len(secret)} bytes; at least "
            f"{MIN_SECRET_BYTES}); create one with: head -c 32 /dev/urandom | base64 > secret.key"
        )
    return secret


def token_id_of(token: str) -> str | None:
    """The id inside a token, without checking its signature (for revoking a leaked link).

    Returns None if the token is malformed or has no id.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or not token.isascii():
        return None
    try:
        jti = json.loads(_unb64(parts[1])).get("jti")
    except (ValueError, AttributeError, binascii.Error):
        return None
    return str(jti) if jti is not None else None
