"""SQLiteStore against real database files: ordering, group commit, compaction, durability."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from shared.errors import StorageError
from sync_server.sqlite_store import SQLiteStore

pytestmark = pytest.mark.asyncio

NEVER = 10**12  # a compaction threshold that is never reached


class Editor:
    """A pycrdt document that records every update it produces, like a client would send."""

    def __init__(self, seed: int = 0) -> None:
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("t", type=Text)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))
        self._rng = random.Random(seed)

    def type(self, s: str) -> bytes:
        self.text.insert(len(self.text), s)
        return self.updates[-1]

    def random_edit(self) -> bytes:
        """Insert or delete at a random place (ASCII only, so byte offsets are safe)."""
        n = len(self.text)
        if n > 10 and self._rng.random() < 0.3:
            start = self._rng.randrange(n - 3)
            del self.text[start : start + self._rng.randint(1, 3)]
        else:
            self.text.insert(self._rng.randint(0, n), self._rng.choice("abcdefgh \n"))
        return self.updates[-1]


def text_of(updates: list[bytes]) -> str:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text))


def log_rows(db: Path, name: str) -> int:
    """Rows in the documented ``updates`` table, read through a separate connection."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT COUNT(*) FROM updates WHERE name = ?", (name,)).fetchone()
    return int(row[0])


async def eventually(predicate: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


async def test_round_trip(tmp_path: Path) -> None:
    editor = Editor()
    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        first = await store.load("notes")
        assert first.created and first.updates == []
        await asyncio.gather(*(store.append("notes", editor.type(f"{i};")) for i in range(50)))
        loaded = await store.load("notes")
    assert not loaded.created
    assert loaded.incarnation == first.incarnation
    assert loaded.updates == editor.updates
    assert text_of(loaded.updates) == "".join(f"{i};" for i in range(50))


async def test_futures_resolve_in_append_order_and_empty_updates_are_not_stored(
    tmp_path: Path,
) -> None:
    editors = {name: Editor() for name in ("a", "b", "c")}
    resolved: list[int] = []
    futures = []

    def record(i: int, _future: asyncio.Future[None]) -> None:
        resolved.append(i)

    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        for i in range(300):
            name = "abc"[i % 3]
            update = b"\x00\x00" if i % 7 == 0 else editors[name].type(str(i))
            fut = store.append(name, update)
            fut.add_done_callback(functools.partial(record, i))
            futures.append(fut)
            if i % 50 == 0:
                await asyncio.sleep(0)  # let several commits happen mid-stream
        await asyncio.gather(*futures)
        assert resolved == list(range(300))
        for name, editor in editors.items():
            assert (await store.load(name)).updates == editor.updates
        assert store.stats.updates_written == 300 - len(range(0, 300, 7))


async def test_group_commit_batches_appends(tmp_path: Path) -> None:
    editor = Editor()
    updates = [editor.type("x") for _ in range(1000)]
    async with SQLiteStore(tmp_path / "db.sqlite3", compact_after_updates=NEVER) as store:
        futures = [store.append("doc", u) for u in updates]  # all in one loop turn
        assert store.stats.queue_depth == 1000
        await asyncio.gather(*futures)
        stats = store.stats
        assert stats.updates_written == 1000
        assert stats.bytes_written == sum(map(len, updates))
        assert 1 <= stats.commits <= 2, stats
        assert 0 < stats.commit_seconds_max <= stats.commit_seconds_total
        assert stats.queue_depth == 0 and stats.errors == 0
        assert log_rows(store.path, "doc") == 1000


async def test_reopen_keeps_data_and_incarnation(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "db.sqlite3"  # missing directories are created
    editor = Editor()
    async with SQLiteStore(db) as store:
        incarnation = (await store.load("doc")).incarnation
        for i in range(20):
            await store.append("doc", editor.type(str(i)))
    async with SQLiteStore(db) as store:
        again = await store.load("doc")
        assert await store.document_names() == ["doc"]
    assert again.incarnation == incarnation and not again.created
    assert again.updates == editor.updates


async def test_delete_then_load_gives_a_new_incarnation(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    async with SQLiteStore(db) as store:
        old = (await store.load("doc")).incarnation
        store.append("doc", Editor().type("doomed"))  # queued appends are committed first
        assert await store.delete("doc") is True
        assert await store.delete("doc") is False
        assert await store.document_names() == []
        assert log_rows(db, "doc") == 0
        fresh = await store.load("doc")
    assert fresh.created and fresh.updates == [] and fresh.incarnation != old
    async with SQLiteStore(db) as store:
        assert (await store.load("doc")).incarnation == fresh.incarnation


async def test_concurrent_loads_of_a_new_name_create_one_incarnation(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        results = await asyncio.gather(*(store.load("new") for _ in range(20)))
    assert len({r.incarnation for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_load_sees_appends_that_are_still_queued(tmp_path: Path) -> None:
    editor = Editor()
    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        for i in range(10):
            store.append("doc", editor.type(str(i)))
        assert (await store.load("doc")).updates == editor.updates


async def test_compaction_keeps_the_document_and_shrinks_the_log(tmp_path: Path) -> None:
    editor = Editor(seed=1)
    db = tmp_path / "db.sqlite3"
    async with SQLiteStore(db, compact_after_updates=NEVER, compact_after_bytes=NEVER) as store:
        await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(600)))
        before = await store.load("doc")
        assert len(before.updates) == 600 and log_rows(db, "doc") == 600
        await store.compact("doc")
        after = await store.load("doc")
        assert store.stats.compactions == 1
        assert log_rows(db, "doc") == 0
        assert len(after.updates) == 1  # the snapshot
        assert text_of(after.updates) == text_of(before.updates) == str(editor.text)
        assert after.incarnation == before.incarnation
        # The snapshot plus a new log tail still load correctly, also after reopening.
        await store.append("doc", editor.type("tail"))
    async with SQLiteStore(db) as store:
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_background_compaction_after_the_threshold(tmp_path: Path) -> None:
    editor = Editor(seed=2)
    db = tmp_path / "db.sqlite3"
    async with SQLiteStore(db, compact_after_updates=50) as store:
        for _ in range(10):
            await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(30)))
        await eventually(lambda: store.stats.compactions >= 1, "a background compaction")
        await store.flush()
        assert log_rows(db, "doc") < 300
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_compaction_racing_with_appends_loses_nothing(tmp_path: Path) -> None:
    editor = Editor(seed=3)
    db = tmp_path / "db.sqlite3"
    async with SQLiteStore(db, compact_after_updates=25) as store:

        async def writer() -> None:
            for i in range(1500):
                store.append("doc", editor.random_edit())
                if i % 10 == 0:
                    await asyncio.sleep(0)

        async def compactor() -> None:
            for _ in range(30):
                await store.compact("doc")

        async with asyncio.TaskGroup() as tg:
            tg.create_task(writer())
            tg.create_task(compactor())
        await store.flush()
        assert store.stats.compactions >= 2
        assert text_of((await store.load("doc")).updates) == str(editor.text)
    async with SQLiteStore(db) as store:
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_compaction_never_drops_updates_whose_dependencies_are_missing(
    tmp_path: Path,
) -> None:
    editor = Editor()
    created = editor.type("hello world")  # never stored until the end
    del editor.text[0:6]
    deletion = editor.updates[-1]
    appended = editor.type("!")  # depends on `created`
    db = tmp_path / "db.sqlite3"
    async with SQLiteStore(db, compact_after_updates=NEVER) as store:
        await store.append("doc", deletion)
        await store.append("doc", appended)
        await store.compact("doc")  # the fold would lose both: it must refuse
        assert store.stats.compactions == 0 and log_rows(db, "doc") == 2
        await store.append("doc", created)  # the missing dependency arrives late
        await store.compact("doc")
        assert store.stats.compactions == 1 and log_rows(db, "doc") == 0
        assert text_of((await store.load("doc")).updates) == "world!"


async def test_backpressure_wait_writable(tmp_path: Path) -> None:
    editor = Editor()
    async with SQLiteStore(tmp_path / "db.sqlite3", max_queue_bytes=1000) as store:
        await store.wait_writable()  # empty queue: returns at once
        futures = [store.append("doc", editor.type("y" * 300)) for _ in range(5)]
        assert store.queued_bytes > 1000
        await asyncio.wait_for(store.wait_writable(), timeout=10)
        assert store.queued_bytes <= 1000
        await asyncio.gather(*futures)
        assert store.queued_bytes == 0


async def test_shutdown_commits_everything_queued(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    editor = Editor()
    store = SQLiteStore(db)
    async with store:
        futures = [store.append("doc", editor.type(str(i))) for i in range(200)]
    assert all(f.done() and f.exception() is None for f in futures)
    await store.__aexit__(None, None, None)  # idempotent
    late = store.append("doc", editor.type("late"))
    with pytest.raises(StorageError):
        await late
    async with SQLiteStore(db) as reopened:
        assert (await reopened.load("doc")).updates == editor.updates[:200]


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


async def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "db.sqlite3") as store:
        await store.load("doc")
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1


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
