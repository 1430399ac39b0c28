"""Opening a document writes nothing; its first edit creates it (issue 9), end to end:
a real relay on SQLite, real clients, and the database file read around the server."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token
from sync_server.config import ServerConfig
from tests.support.client import TestClient
from tests.support.waiting import wait_until

SECRET = b"test-secret-0123456789abcdef"

pytestmark = pytest.mark.asyncio


def rows(db: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_a_viewer_opening_a_name_writes_nothing_and_the_first_edit_creates_it(
    tmp_path: Path,
) -> None:
    config = ServerConfig(port=0, secret=SECRET, data_dir=tmp_path / "data")
    viewer = mint_token(SECRET, "report", Role.VIEWER)
    editor = mint_token(SECRET, "report", Role.EDITOR)
    async with RelayServer(config) as srv:
        db = srv.store.path  # type: ignore[attr-defined]  # an SQLiteStore here
        url = f"{srv.url}/report"
        async with TestClient(f"{url}?token={viewer}") as v:
            await wait_until(lambda: v.synced, "viewer synced")
            assert v.session is not None and v.session.incarnation is not None
            provisional = v.session.incarnation
        assert await srv.store.document_names() == []
        assert rows(db, "documents") == rows(db, "updates") == 0
        async with TestClient(f"{url}?token={editor}") as e:
            await wait_until(lambda: e.synced, "editor synced")
            assert e.session is not None and e.session.incarnation == provisional
            await e.append("first words")
            await wait_until(lambda: e.saved, "first edit acknowledged")
        assert await srv.store.document_names() == ["report"]
        assert (await srv.store.load("report")).incarnation == provisional
    assert rows(db, "documents") == 1
