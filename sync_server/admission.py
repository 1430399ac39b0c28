"""Admission at the HTTP handshake: who may open a WebSocket, before any document is touched.

Checks, in order, each refusal an HTTP status with a reason the editor shows:

1. document name valid (400);
2. per-IP concurrent connections and connection rate (429, ``Retry-After``);
3. browser ``Origin`` in the allow list (403; cross-site WebSocket hijacking);
4. access token (401 none/invalid/expired, 403 wrong document or revoked) unless in open
   mode.

Open mode (no secret) admits everyone as an editor; the server refuses to start in open
mode on a non-loopback address unless ``insecure_open`` is set (see ``check_open_mode``).
"""

from __future__ import annotations

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
    status: http.HTTPStatus
    reason: str
    metric: str


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
        origin = request.headers.get("Origin")
        if origin is not None and normalize_origin(origin) not in c.allowed_origins:
            return Refusal(
                http.HTTPStatus.FORBIDDEN,
                f"origin {origin} is not allowed to connect (server option --allow-origin)",
                "origin",
            )
        if self._open:
            return name, OPEN_ACCESS
        assert c.secret is not None
        token = token_from_request(
            request.headers.get("Authorization"), urlsplit(request.path).query
        )
        if token is None:
            return Refusal(
                http.HTTPStatus.UNAUTHORIZED,
                "this server needs an access link (token); ask the document's owner for one",
                "no_token",
            )
        try:
            principal = verify_token(c.secret, token)
            authorize(principal, name)
        except PermissionDenied as exc:
            status = (
                http.HTTPStatus.FORBIDDEN
                if exc.close_code == CloseCode.FORBIDDEN
                else http.HTTPStatus.UNAUTHORIZED
            )
            return Refusal(status, exc.reason, "token")
        if self._revoked(principal, name):
            return Refusal(
                http.HTTPStatus.FORBIDDEN,
                "this link was revoked; ask the document's owner for a new one",
                "revoked",
            )
        return name, principal

    def opened(self, ip: str) -> None:
        self._active[ip] += 1

    def closed(self, ip: str) -> None:
        self._active[ip] -= 1
        if self._active[ip] <= 0:
            del self._active[ip]
