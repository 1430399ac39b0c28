"""Session-wide real services for the cluster tests: one PostgreSQL and one Redis.

They are started from the system packages (``redis-server``, ``postgresql``) on free
loopback ports. Outside CI a missing package skips these tests with the install hint; with
``CI=true`` it fails them, so a CI machine without the services cannot go green silently.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .services import PostgresServer, RedisServer, ServiceMissing

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_databases = itertools.count(1)


def _unavailable(what: str, exc: BaseException) -> None:
    message = (
        f"cluster tests need {what}: {exc}. Install with "
        "`apt-get install -y redis-server postgresql` (dev.sh test does) and "
        "`pip install -e '.[cluster]'`"
    )
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        _unavailable("psycopg", exc)
    try:
        server = PostgresServer().start()
    except (ServiceMissing, OSError) as exc:
        _unavailable("PostgreSQL", exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        _unavailable("redis (the Python client)", exc)
    workdir = Path(tempfile.mkdtemp(prefix="coscribe-redis-"))
    try:
        server = RedisServer(workdir).start()
    except (ServiceMissing, OSError) as exc:
        _unavailable("redis-server", exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh, empty database for one test."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # our own name
    return postgres.url(name)
