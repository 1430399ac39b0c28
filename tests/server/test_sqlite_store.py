"""What only the SQLite store has: its file (WAL, schema versions, upgrades of databases
made by older servers), the CLI's revocation helper, and durability under ``kill -9``.
The contract every store keeps is in ``test_store_contract.py``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map

from shared.errors import StorageError
from sync_server.sqlite_store import SCHEMA, SQLiteStore, add_revocation_sync
from tests.support.stores import Editor, check_revocation_beside_writes, check_upgraded_document

pytestmark = pytest.mark.asyncio

#: The schema that servers before version 2 created (``PRAGMA user_version = 1``).
SCHEMA_V1 = """
CREATE TABLE documents (
    name TEXT PRIMARY KEY, incarnation TEXT NOT NULL, created_at REAL NOT NULL,
    snapshot BLOB, snapshot_seq INTEGER NOT NULL DEFAULT 0,
    log_count INTEGER NOT NULL DEFAULT 0, log_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX updates_by_name ON updates (name, seq);
PRAGMA user_version = 1;
"""


async def test_unwritable_data_directory_is_a_clear_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a regular file, so nothing can be created under it")
    target = tmp_path / "file" / "sub"
    with pytest.raises(StorageError, match=f"^cannot write data directory {target}: "):
        async with SQLiteStore(target / "db.sqlite3"):
            pass


async def test_corrupt_or_newer_database_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StorageError, match="cannot open database"):
        async with SQLiteStore(garbage):
            pass
    newer = tmp_path / "newer.sqlite3"
    with contextlib.closing(sqlite3.connect(newer)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError, match="schema version 99"):
        async with SQLiteStore(newer):
            pass


async def test_database_is_in_wal_mode_at_the_current_schema_version(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA.version == 5


async def test_a_database_made_by_the_previous_schema_opens_and_keeps_its_documents(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.sqlite3"
    editor = Editor()
    updates = [editor.type("old "), editor.type("text")]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.executescript(SCHEMA_V1)
        conn.execute(
            "INSERT INTO documents (name, incarnation, created_at, log_count, log_bytes) "
            "VALUES ('kept', 'an-old-random-incarnation', 1.0, 2, ?)",
            (sum(map(len, updates)),),
        )
        conn.executemany(
            "INSERT INTO updates (name, data) VALUES ('kept', ?)", [(u,) for u in updates]
        )
        conn.commit()
    async with SQLiteStore(db) as store:
        await check_upgraded_document(store, editor, "an-old-random-incarnation")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA.version


async def test_the_cli_adds_a_revocation_while_the_server_writes(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    add = functools.partial(add_revocation_sync, db, "document", "doc", 123.0)
    async with SQLiteStore(db) as store:
        added = await check_revocation_beside_writes(store, add)
    assert (added.kind, added.key, added.not_before) == ("document", "doc", 123.0)
    with pytest.raises(ValueError, match="revocation kind"):
        add_revocation_sync(db, "all", "doc", 0.0)


# A writer process: appends real Yjs updates in bursts and prints each update's number
# only after its future resolved, i.e. after the commit that contains it returned.
KILL_SCRIPT = """
import asyncio, collections, sys
from pathlib import Path
from pycrdt import Doc, Map
from sync_server.sqlite_store import SQLiteStore

async def main(path):
    doc = Doc()
    keys = doc.get("m", type=Map)
    updates = []
    doc.observe(lambda event: updates.append(event.update))
    async with SQLiteStore(Path(path), compact_after_updates=10**12) as store:
        await store.load("durable")
        pending = collections.deque()
        i = 0
        while True:
            for _ in range(25):
                keys[f"k{i}"] = i
                pending.append((i, store.append("durable", updates[-1])))
                i += 1
            if len(pending) > 500:
                await pending[0][1]
            await asyncio.sleep(0)
            while pending and pending[0][1].done():
                n, fut = pending.popleft()
                fut.result()
                print(n, flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def test_acknowledged_appends_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILL_SCRIPT, str(db), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    acked = -1
    try:
        while acked < 2000:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert line, "writer process ended early"
            assert int(line) == acked + 1, "acknowledgements out of order"
            acked = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest = await asyncio.wait_for(proc.stdout.read(), timeout=30)
        await proc.wait()
    acked = max([acked, *map(int, rest.split())])  # printed before the kill: acknowledged too
    assert proc.returncode == -signal.SIGKILL

    async with SQLiteStore(db) as store:
        stored = await store.load("durable")
    doc: Doc[Any] = Doc()
    for update in stored.updates:
        doc.apply_update(update)
    keys = doc.get("m", type=Map)
    missing = [i for i in range(acked + 1) if f"k{i}" not in keys]
    assert not missing, f"{len(missing)} acknowledged updates lost, e.g. {missing[:5]}"
