"""Fixtures for the Node Yjs <-> Coscribe interop tests.

* ``node_executable``: Node.js plus the pinned npm packages (``npm ci`` when missing). A
  machine without Node fails these tests with a clear message instead of skipping them:
  interop with stock Yjs clients is a requirement, not an optional extra.
* ``relay``: parametrized over our relay (``coscribe``) and the y-websocket reference server
  (``yjs-reference``); tests do ``async with relay.serve() as url``.
* ``node_clients``: starts stock Yjs clients (``spawn(url, room)``), kills them at teardown and
  checks that none of them wrote anything to stderr.
* ``room``: a fresh document name per test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.client import TestClient, py_client

from .node_client import (
    NODE_DIR,
    NodeClient,
    NodeUnavailable,
    ensure_node_packages,
    node_env,
    reference_server_command,
)
from .servers import Relay, ServerProcess, coscribe_relay, reference_relay

SpawnNode = Callable[[str, str], Awaitable[NodeClient]]


@pytest.fixture(scope="session")
def node_executable() -> str:
    """Path of ``node``, with tests/interop/node/node_modules installed."""
    try:
        return ensure_node_packages()
    except NodeUnavailable as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def reference_server_url(
    node_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The y-websocket reference server, once per session (rooms keep tests apart)."""
    server = ServerProcess(
        reference_server_command(node_executable),
        cwd=NODE_DIR,
        log_path=tmp_path_factory.mktemp("reference-server") / "stderr.log",
        env=node_env(),
    )
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["coscribe", "yjs-reference"])
def relay(request: pytest.FixtureRequest) -> Relay:
    """The server under test; every test using it runs against both relays."""
    if request.param == "coscribe":
        return coscribe_relay()
    return reference_relay(request.getfixturevalue("reference_server_url"))


@pytest.fixture
def coscribe() -> Relay:
    """Our relay only (for behaviour the reference server does not have)."""
    return coscribe_relay()


@pytest.fixture
def room() -> str:
    return f"interop-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def node_clients(node_executable: str, tmp_path: Path) -> AsyncIterator[SpawnNode]:
    """``await spawn(url, room)`` starts a synced stock Yjs client; all are closed at teardown.

    Teardown also fails the test if any Node client wrote to stderr: y-websocket logs there
    when it receives a message it does not understand.
    """
    clients: list[NodeClient] = []

    async def spawn(url: str, room: str) -> NodeClient:
        stderr_path = tmp_path / f"node-client-{len(clients)}.stderr"
        client = await NodeClient.start(node_executable, url, room, stderr_path)
        clients.append(client)
        await client.wait_synced()
        return client

    yield spawn
    for client in clients:
        await client.aclose()
    noisy = {i: c.stderr_text() for i, c in enumerate(clients) if c.stderr_text()}
    assert not noisy, f"node clients wrote to stderr: {noisy}"


@dataclass(frozen=True, slots=True)
class Peers:
    """A synced Python client and a stock Yjs (Node) client on one room of ``url``."""

    url: str
    py: TestClient
    js: NodeClient


@pytest_asyncio.fixture
async def peers(relay: Relay, room: str, node_clients: SpawnNode) -> AsyncIterator[Peers]:
    """The most common start of an interop test: the relay under test serving, a Python
    peer synced first, then a Node peer synced on the same room."""
    async with relay.serve() as url, py_client(url, room) as py:
        await py.wait_synced()
        yield Peers(url, py, await node_clients(url, room))


@pytest_asyncio.fixture
async def coscribe_peers(
    coscribe: Relay, room: str, node_clients: SpawnNode
) -> AsyncIterator[Peers]:
    """``peers`` on our relay only, the Python peer speaking coscribe.v1: for what the
    reference server does not have (acknowledgements, versions, the HTTP API)."""
    async with coscribe.serve() as url, py_client(url, room, coscribe_v1=True) as py:
        await py.wait_synced()
        yield Peers(url, py, await node_clients(url, room))


@pytest_asyncio.fixture(autouse=True)
async def fail_on_loop_errors() -> AsyncIterator[None]:
    """Fail the test if the event loop reported an exception (a task died unobserved)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    yield
    loop.set_exception_handler(previous)
    assert not reported, f"the event loop reported errors: {reported}"
