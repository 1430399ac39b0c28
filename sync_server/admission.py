"""Admission at the HTTP handshake: who may open a WebSocket, before any document is touched.

Checks, in order, each refusal an HTTP status with a reason the editor shows:

1. document name valid (400);
2. per-IP concurrent connections and connection rate (429, ``Retry-After``);
3. browser ``Origin`` in the allow list (403; cross-site WebSocket hijacking);
4. access token (401 none/invalid/expired, 403 wrong document or revoked) unless in open
   mode.

A coscribe.v2 session (one connection for many documents, WebSocket or long polling) is
admitted the same way without a document (:meth:`Admission.admit_session`: the token must
be valid for some document), and each document it opens is admitted on its own
(:meth:`Admission.admit_document`), refusals then being close codes (4401, 4403, 4408,
4410) instead of HTTP statuses.

Open mode (no secret) admits everyone as an editor; the server refuses to start in open
mode on a non-loopback address unless ``insecure_open`` is set (see ``check_open_mode``).
"""

from __future__ import annotations

import hashlib
import http
import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from websockets.http11 import Request

from shared.docnames import document_name_from_path
from shared.errors import CloseCode, InvalidDocumentName, LocalError, PermissionDenied

from .auth import OPEN_ACCESS, Principal, authorize, token_from_request, verify_token
from .config import ServerConfig, normalize_origin
from .metrics import Metrics
from .ratelimit import PerKeyBuckets


class ConfigError(LocalError):
    """A configuration the server refuses to run with."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_open_mode(config: ServerConfig) -> bool:
    """Return True if the server runs in open mode; raise ConfigError if that is unsafe."""
    if config.secret is not None:
        return False
    if not is_loopback(config.host) and not config.insecure_open:
        raise ConfigError(
            f"refusing to serve {config.host} without access control: anyone who can reach it "
            "could read and change every document. Set a secret (--secret-file or "
            "COSCRIBE_SECRET) and hand out tokens (coscribe-server token), or pass "
            "--insecure-open if you really mean it"
        )
    return True


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused handshake (``status``) or document open in a session (``close_code``)."""

    status: http.HTTPStatus
    reason: str
    metric: str
    close_code: CloseCode = CloseCode.FORBIDDEN


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """What a coscribe.v2 session was admitted with.

    ``credential`` is a digest of the token the client presented (or of nothing): every
    later request of the session (a poll, a WebSocket resuming it) must present the same,
    so a session id alone is worth nothing to someone who does not hold the token.
    """

    principal: Principal
    token: str | None
    credential: bytes


def credential_of(token: str | None) -> bytes:
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).digest()


def _revoked() -> Refusal:
    return Refusal(
        http.HTTPStatus.FORBIDDEN,
        "this link was revoked; ask the document's owner for a new one",
        "revoked",
        CloseCode.TOKEN_REVOKED,
    )


class Admission:
    def __init__(
        self,
        config: ServerConfig,
        metrics: Metrics,
        revoked: Callable[[Principal, str], bool] = lambda principal, name: False,
    ) -> None:
        self._config = config
        self._metrics = metrics
        self._revoked = revoked
        self._open = check_open_mode(config)
        self._rate = PerKeyBuckets(config.connection_rate_per_ip, config.connection_burst_per_ip)
        self._active: Counter[str] = Counter()

    @property
    def open_mode(self) -> bool:
        return self._open

    def admit(self, request: Request, ip: str) -> tuple[str, Principal] | Refusal:
        """Decide on one WebSocket handshake: (document name, principal) or a refusal."""
        c = self._config
        try:
            name = document_name_from_path(
                request.path, max_length=c.limits.max_document_name_length
            )
        except InvalidDocumentName as exc:
            return Refusal(http.HTTPStatus.BAD_REQUEST, f"invalid document name: {exc}", "bad_name")
        headers = request.headers
        refusal = self._check_address(ip, headers.get("Origin"))
        if refusal is not None:
            return refusal
        if self._open:
            return name, OPEN_ACCESS
        token = token_from_request(headers.get("Authorization"), urlsplit(request.path).query)
        decided = self._principal(token)
        if isinstance(decided, Refusal):
            return decided
        try:
            authorize(decided, name)
        except PermissionDenied as exc:
            return Refusal(http.HTTPStatus.FORBIDDEN, exc.reason, "token")
        if self._revoked(decided, name):
            return _revoked()
        return name, decided

    def admit_session(
        self, authorization: str | None, origin: str | None, query: str, ip: str
    ) -> SessionGrant | Refusal:
        """Decide on opening a coscribe.v2 session (a WebSocket or the first poll).

        The same checks as a document's handshake, except that no document is named yet:
        per-address limits, the browser origin, and (unless in open mode) a valid access
        token for *some* document, not expired and not revoked. Each document is admitted
        again when the session opens it (:meth:`admit_document`).
        """
        refusal = self._check_address(ip, origin)
        if refusal is not None:
            return refusal
        token = token_from_request(authorization, query)
        credential = credential_of(token)
        if self._open:
            return SessionGrant(OPEN_ACCESS, token, credential)
        decided = self._principal(token)
        if isinstance(decided, Refusal):
            return decided
        if self._revoked(decided, decided.doc):
            return _revoked()
        return SessionGrant(decided, token, credential)

    def check_origin(self, origin: str | None) -> Refusal | None:
        """The browser-origin check alone (every request of a polling session)."""
        if origin is not None and normalize_origin(origin) not in self._config.allowed_origins:
            return Refusal(
                http.HTTPStatus.FORBIDDEN,
                f"origin {origin} is not allowed to connect (server option --allow-origin)",
                "origin",
            )
        return None

    def admit_document(self, token: str, name: str) -> Principal | Refusal:
        """Decide on opening document ``name`` in a session, with ``token`` ("" = none: a
        document never borrows the session's token). Refusals carry the close code the
        document is closed with."""
        if self._open:
            return OPEN_ACCESS
        decided = self._principal(token or None)
        if isinstance(decided, Refusal):
            return decided
        try:
            authorize(decided, name)
        except PermissionDenied as exc:
            return Refusal(http.HTTPStatus.FORBIDDEN, exc.reason, "token", CloseCode.FORBIDDEN)
        if self._revoked(decided, name):
            return _revoked()
        return decided

    def admit_listing(self, token: str | None) -> Principal | Refusal:
        """Decide on listing documents (the library): a valid, unrevoked token for some
        document or pattern, which the listing is then limited to (everything in open
        mode)."""
        if self._open:
            return OPEN_ACCESS
        decided = self._principal(token)
        if isinstance(decided, Refusal):
            return decided
        if self._revoked(decided, decided.doc):
            return _revoked()
        return decided

    def _check_address(self, ip: str, origin: str | None) -> Refusal | None:
        c = self._config
        if c.max_connections_per_ip and self._active[ip] >= c.max_connections_per_ip:
            return Refusal(
                http.HTTPStatus.TOO_MANY_REQUESTS,
                f"too many connections from your address (limit {c.max_connections_per_ip})",
                "ip_connections",
            )
        if not self._rate.take(ip):
            return Refusal(
                http.HTTPStatus.TOO_MANY_REQUESTS,
                "connecting too often; retry in a few seconds",
                "ip_rate",
            )
        return self.check_origin(origin)

    def _principal(self, token: str | None) -> Principal | Refusal:
        assert self._config.secret is not None
        if token is None:
            return Refusal(
                http.HTTPStatus.UNAUTHORIZED,
                "this server needs an access link (token); ask the document's owner for one",
                "no_token",
                CloseCode.UNAUTHORIZED,
            )
        try:
            return verify_token(self._config.secret, token)
        except PermissionDenied as exc:
            status = (
                http.HTTPStatus.FORBIDDEN
                if exc.close_code == CloseCode.FORBIDDEN
                else http.HTTPStatus.UNAUTHORIZED
            )
            # "expired" apart: the client says "Access link expired" from it.
            why = "expired" if exc.close_code == CloseCode.TOKEN_EXPIRED else "token"
            return Refusal(status, exc.reason, why, exc.close_code)

    def opened(self, ip: str) -> None:
        self._active[ip] += 1

    def closed(self, ip: str) -> None:
        self._active[ip] -= 1
        if self._active[ip] <= 0:
            del self._active[ip]
