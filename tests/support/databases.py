"""Real PostgreSQL for the tests that need it: one server per session, a database per test.

The server is started from the system packages on a free loopback port
(``tests/cluster/services.py``). Outside CI a missing package skips the test with the
install hint; with ``CI=true`` it fails it, so a CI machine without the services cannot
go green silently.
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Callable, Iterator
from typing import NoReturn, TypeVar

import pytest

from tests.cluster.services import PostgresServer, ServiceMissing

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_databases = itertools.count(1)
_S = TypeVar("_S")


def unavailable(what: str, exc: BaseException) -> NoReturn:
    """Skip (or, in CI, fail) a test whose service is missing."""
    message = (
        f"needs {what}: {exc}. Install with "
        "`apt-get install -y redis-server postgresql` (dev.sh test does) and "
        "`pip install -e '.[cluster]'`"
    )
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def start_service(client: str, service: str, start: Callable[[], _S]) -> _S:
    """Import the Python ``client`` module, then ``start()`` the service; skip the test
    (fail it in CI) if either is missing."""
    try:
        importlib.import_module(client)
    except ImportError as exc:
        unavailable(f"{client} (the Python client)", exc)
    try:
        return start()
    except (ServiceMissing, OSError) as exc:
        unavailable(service, exc)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_service("psycopg", "PostgreSQL", lambda: PostgresServer().start())
    try:
        yield server
    finally:
        server.stop()


def new_database(server: PostgresServer) -> str:
    """The URL of a fresh, empty database on ``server``."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url(name)


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh, empty database for one test."""
    return new_database(postgres)
