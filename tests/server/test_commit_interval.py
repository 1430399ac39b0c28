"""The group commit's interval (``--commit-interval``) never acknowledges before committing.

Under load, commits start at most once per interval, so appends gather; the relay never
waits for that, but an acknowledgement (coscribe.v1 ACK) waits for its commit. Here the
interval is long (0.4 s) so that an early acknowledgement would be caught: whenever the
writer is told "saved", a separate SQLite connection must already read back the text it
had typed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import TEXT_NAME, TestClient

INTERVAL = 0.4


def stored_text(db: Path, name: str) -> str:
    """The document as another process reads it from the database right now."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        doc: Doc = Doc()
        row = conn.execute("SELECT snapshot FROM documents WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0]:
            doc.apply_update(row[0])
        for (data,) in conn.execute(
            "SELECT data FROM updates WHERE name = ? ORDER BY seq", (name,)
        ):
            doc.apply_update(data)
        return str(doc.get(TEXT_NAME, type=Text))
    finally:
        conn.close()


async def until(condition: object, what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


@pytest.mark.asyncio
async def test_acknowledged_means_committed_with_a_long_commit_interval(tmp_path: Path) -> None:
    config = ServerConfig(port=0, data_dir=tmp_path, commit_interval=INTERVAL)
    db = tmp_path / "coscribe.sqlite3"
    async with RelayServer(config) as srv:
        async with (
            TestClient(srv.url + "/doc") as writer,
            TestClient(srv.url + "/doc") as reader,
        ):
            await until(lambda: writer.synced and reader.synced, "synced", 10)
            for i in range(5):
                typed = "".join(str(k) for k in range(i + 1))
                await writer.append(str(i))
                await until(lambda t=typed: reader.value == t, "relayed", 10)  # type: ignore[misc]
                await until(lambda: writer.saved, "acknowledged", 10)
                # Acknowledged: it must be in the database for anyone who reads it now.
                assert stored_text(db, "doc") == typed
