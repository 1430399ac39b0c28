"""Redis for the cluster tests (PostgreSQL: ``tests/support/databases.py``, suite-wide)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import start_service

from .services import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    workdir = Path(tempfile.mkdtemp(prefix="coscribe-redis-"))
    server = start_service("redis", "redis-server", lambda: RedisServer(workdir).start())
    try:
        yield server
    finally:
        server.stop()
