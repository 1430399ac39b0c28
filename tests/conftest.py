"""Suite-wide fixtures: a real relay server on port 0 (in-process), per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sync_server.app import RelayServer  # noqa: E402
from sync_server.config import ServerConfig  # noqa: E402


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
