"""A relay that admits only access links: the secret the server tests sign them with."""

from __future__ import annotations

from sync_server.config import ServerConfig

SECRET = b"test-secret-0123456789abcdef"


def secured(**overrides: object) -> ServerConfig:
    """A server configuration (any free port) that wants links signed with ``SECRET``."""
    return ServerConfig(port=0, secret=SECRET, **overrides)  # type: ignore[arg-type]
