"""Several relay URLs for one document: the client moves to the next node at once."""

from __future__ import annotations

import asyncio
import socket

import pycrdt
import pytest

from editor_app.core.backoff import Backoff
from editor_app.core.sync_client import Status, SyncClient
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import TestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_first_node_fails_over_without_backing_off() -> None:
    async with RelayServer(ServerConfig(port=0)) as live:
        doc: pycrdt.Doc = pycrdt.Doc()
        # A huge backoff: if the client waited for it, the test would time out.
        client = SyncClient(
            f"ws://127.0.0.1:{dead_port()}/fo",
            doc,
            pycrdt.Awareness(doc),
            fallback_urls=[f"{live.url}/fo"],
            backoff=Backoff(base=60, cap=60),
        )
        async with asyncio.TaskGroup() as tg:
            tg.create_task(client.run())
            try:
                await wait_until(lambda: client.status.status is Status.SAVED, "saved", within=5)
                assert client.url == f"{live.url}/fo"
                with doc.transaction():
                    doc.get("content", type=pycrdt.Text).insert(0, "via the second node")
                async with TestClient(f"{live.url}/fo") as reader:
                    await wait_until(lambda: str(reader) == "via the second node", "seen")
            finally:
                await client.close()
