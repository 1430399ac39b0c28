"""Stock Yjs clients against the relay as users run it: ``python -m sync_server``.

The document a Node client wrote (non-BMP text, Hangul, Quill attributes) must survive a
SIGTERM and a restart on the same data directory, byte for byte as Yjs sees it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.support.client import py_client
from tests.support.waiting import wait_until_async

from .conftest import SpawnNode
from .servers import ServerProcess

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

REPO_ROOT = Path(__file__).resolve().parents[2]


def relay_process(data_dir: Path, log_path: Path) -> ServerProcess:
    return ServerProcess(
        [sys.executable, "-m", "sync_server", "--host", "127.0.0.1", "--port", "0",
         "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        log_path=log_path,
    )  # fmt: skip


async def test_document_from_node_survives_relay_restart(
    room: str, node_clients: SpawnNode, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = relay_process(data_dir, tmp_path / "relay-1.log")
    url = await asyncio.to_thread(first.start)
    try:
        writer = await node_clients(url, room)
        await writer.insert(0, "제목 😀👍🏽\n본문 e\u0301 中文")
        await writer.format(0, 2, {"header": 1})
        await writer.format(3, 2, {"bold": True})
        written = await writer.delta()
        # A Python client confirms the relay has it before the relay is stopped.
        async with py_client(url, room) as py:
            await py.wait_text("제목 😀👍🏽\n본문 e\u0301 中文")
        await writer.disconnect()
    finally:
        code = await asyncio.to_thread(first.stop)
    assert code == 0, f"relay exited with {code} on SIGTERM:\n{first.log()}"

    second = relay_process(data_dir, tmp_path / "relay-2.log")
    url = await asyncio.to_thread(second.start)
    try:
        reader = await node_clients(url, room)

        async def same_delta() -> bool:
            return await reader.delta() == written

        await wait_until_async(same_delta, f"the restarted relay to serve {written}")
    finally:
        await asyncio.to_thread(second.stop)
