"""Suite-wide fixtures: a real relay server on port 0 (in-process), per test; PostgreSQL."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sync_server.app import RelayServer  # noqa: E402
from sync_server.config import ServerConfig  # noqa: E402
from tests.support.databases import database_url, postgres  # noqa: E402, F401  (fixtures)


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RelayServer]:
    """A relay server on a free loopback port with SQLite storage in tmp_path."""
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "server-data")
    (tmp_path / "server-data").mkdir()
    async with RelayServer(config) as srv:
        yield srv


@pytest_asyncio.fixture
async def memory_server() -> AsyncIterator[RelayServer]:
    """A relay server with the in-memory store."""
    async with RelayServer(ServerConfig(host="127.0.0.1", port=0, data_dir=None)) as srv:
        yield srv


@pytest.fixture
def self_signed_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1/localhost, made now with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest_asyncio.fixture
async def tls_relay(
    self_signed_certificate: tuple[Path, Path],
) -> AsyncIterator[tuple[RelayServer, Path]]:
    """A relay serving wss:// with a certificate made now, and that certificate."""
    cert, key = self_signed_certificate
    async with RelayServer(ServerConfig(port=0, tls_cert=cert, tls_key=key)) as srv:
        yield srv, cert


def _hypothesis_profiles() -> None:
    """Hypothesis profiles, chosen with ``COSCRIBE_HYPOTHESIS_PROFILE``.

    Unset (CI and everyday runs): Hypothesis's defaults, random examples, a new set on every
    run; a failure prints its example and a ``@reproduce_failure`` blob. ``nightly``: the deep
    search, 20,000 examples for each property test that does not fix its own count, no
    deadline; run it, with a longer pytest timeout, on the property tests it is meant for:
    ``COSCRIBE_HYPOTHESIS_PROFILE=nightly pytest tests/app -k random --timeout 3600``
    (docs/editor.md).
    """
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "nightly",
        max_examples=20_000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    profile = os.environ.get("COSCRIBE_HYPOTHESIS_PROFILE")
    if profile:
        settings.load_profile(profile)


_hypothesis_profiles()


_exit_status: list[int] = []


@pytest.hookimpl(trylast=True)
@pytest.fixture(autouse=True)
def _qt_garbage_collected_on_the_main_thread() -> Iterator[None]:
    """After a test that used Qt, collect its garbage here, on the GUI thread.

    Why: closed windows and editors are Python/C++ reference cycles that only the cyclic
    collector frees, and it runs wherever an allocation crosses its threshold: possibly
    on a worker thread (a store's SQLite thread, an executor, the spell-check loader)
    while the next test runs. A Qt object freed off the GUI thread is undefined behaviour;
    two full runs died with a segfault in Qt event processing at unrelated tests.
    What survives is then frozen (``gc.freeze``): later collections, here or anywhere,
    walk only what later tests made (a full collection of the suite's heap took ~140 ms,
    per test).
    """
    yield
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is not None:
            gc.collect()
            gc.freeze()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the test process with pytest's own status, without interpreter finalization.

    Why: once every test has passed and the summary is printed, finalizing the interpreter
    tears down C extensions in an order they do not all survive (Qt objects and
    dictionaries still referenced from modules); one full run in two or three ended there in
    a segmentation fault (exit 139) after "N passed". Nothing of the tests' outcome is lost
    by skipping it; the crash itself is tracked as a known issue (it never happens while a
    test runs: faulthandler would print the test).
    """
    if not _exit_status:
        return
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[-1])
