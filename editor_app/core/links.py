"""Document links: ``ws://host:port/<document>`` means "which server, which document".

A link is what the user shares, types and opens; it is everything a connection needs. Parsed
here, Qt-free, so the command line can check a link before Qt is even imported.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from shared import InvalidDocumentName, document_name_from_path, document_url

from .errors import LinkError

__all__ = [
    "APP_SCHEME",
    "DEFAULT_SERVER",
    "EXPECTED_LINK",
    "DocumentLink",
    "LinkError",
    "new_document_name",
    "parse_document_link",
]

#: The server new documents go to until the user picks another (Preferences, --server).
DEFAULT_SERVER = "ws://127.0.0.1:1234"
EXPECTED_LINK = "expected ws://host:port/<document> or wss://host/<document>"


@dataclass(frozen=True)
class DocumentLink:
    """A parsed document link. ``url`` is normalised (no trailing slash, no fragment)."""

    url: str
    server: str  # scheme://host[:port]
    name: str  # the validated document name

    @property
    def document_url(self) -> str:
        """The URL without its query: what the sync client connects to."""
        return self.url.split("?", 1)[0]

    @property
    def token(self) -> str | None:
        """The access token a share link carries (``?token=...``), if any.

        The editor sends it in the ``Authorization: Bearer`` header rather than in the URL
        (query strings end up in proxy logs); it stays in ``url`` so that "Copy link"
        hands the same access on.
        """
        query = self.url.split("?", 1)[1] if "?" in self.url else ""
        for key, value in parse_qsl(query, keep_blank_values=False):
            if key == "token":
                return value
        return None


#: ``coscribe://host[:port]/<document>`` links open the installed app from a web page or a
#: chat message (the desktop entry registers the scheme). They mean ``wss://`` (encrypted),
#: except for a server on this computer, which has no TLS: then ``ws://``.
APP_SCHEME = "coscribe"
_LOOPBACK_HOSTS = frozenset({"localhost", "::1"})


def _from_app_link(raw: str) -> str:
    """``coscribe://host:port/doc`` -> ``wss://host:port/doc`` (``ws://`` for loopback)."""
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() != APP_SCHEME:
        return raw
    try:
        host = (urlsplit(raw).hostname or "").lower()
    except ValueError:
        return raw  # reported as "not a document link" below
    loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
    return f"{'ws' if loopback else 'wss'}://{rest}"


def parse_document_link(text: str) -> DocumentLink:
    """Parse ``ws://host:port/<document>`` (or ``wss://``, or a ``coscribe://`` app link,
    see :data:`APP_SCHEME`); raise :class:`LinkError` otherwise.

    The query string (for example ``?token=...``) is kept in ``url``: it is how a share link
    can carry credentials.
    """
    raw = _from_app_link(text.strip())
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise LinkError(f"not a document link: {text!r} ({EXPECTED_LINK})") from exc
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise LinkError(f"not a document link: {text!r} ({EXPECTED_LINK})")
    if parts.path in ("", "/"):
        raise LinkError(f"the link has no document name: {text!r} ({EXPECTED_LINK})")
    try:
        name = document_name_from_path(parts.path)
    except InvalidDocumentName as exc:
        raise LinkError(f"not a valid document name in {text!r}: {exc}") from exc
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" if port is None else f"[{parts.hostname}]:{port}"
    server = f"{parts.scheme}://{netloc}"
    url = document_url(server, name) + (f"?{parts.query}" if parts.query else "")
    return DocumentLink(url=url, server=server, name=name)


_ADJECTIVES = (
    "amber", "bright", "calm", "clever", "cosy", "crisp", "gentle", "golden", "happy",
    "jolly", "lively", "lucky", "mellow", "misty", "quiet", "rapid", "silver", "sunny",
    "swift", "tidy", "vivid", "warm", "wise", "zesty",
)  # fmt: skip
_NOUNS = (
    "badger", "breeze", "brook", "canyon", "cedar", "comet", "falcon", "fern", "harbor",
    "island", "lantern", "meadow", "orchard", "otter", "pebble", "pine", "river", "robin",
    "sparrow", "summit", "thistle", "tulip", "valley", "willow",
)  # fmt: skip


def new_document_name() -> str:
    """A random, readable, hard-to-guess name like ``sunny-otter-4821``.

    About 2^22 combinations: enough that two people pressing "New document" never collide;
    not a secret (links are meant to be shared).
    """
    return (
        f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(9000) + 1000}"
    )
