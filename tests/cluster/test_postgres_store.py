"""PostgresStore against a real PostgreSQL: the SQLiteStore contract, plus several nodes
(store instances) writing and compacting one document at once."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Text

from shared.errors import StorageError

from .conftest import IN_CI

try:
    import psycopg
except ImportError:  # the [cluster] extra is not installed
    if IN_CI:
        raise
    pytest.skip("needs psycopg: pip install -e '.[cluster]'", allow_module_level=True)

from sync_server.postgres_store import PostgresStore  # noqa: E402

pytestmark = pytest.mark.asyncio

NEVER = 10**12


class Editor:
    """A pycrdt document that records every update it produces, like a client would send."""

    def __init__(self, seed: int = 0, client_id: int | None = None) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get("t", type=Text)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))
        self._rng = random.Random(seed)

    def type(self, s: str) -> bytes:
        self.text.insert(len(self.text), s)
        return self.updates[-1]

    def random_edit(self) -> bytes:
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


def log_rows(url: str, name: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM coscribe_updates WHERE name = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def eventually(predicate: Callable[[], bool], what: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


async def test_round_trip_and_order(database_url: str) -> None:
    editors = {name: Editor() for name in ("a", "b", "c")}
    resolved: list[int] = []
    futures = []

    def record(i: int, _future: asyncio.Future[None]) -> None:
        resolved.append(i)

    async with PostgresStore(database_url) as store:
        first = await store.load("a")
        assert first.created and first.updates == []
        for i in range(300):
            name = "abc"[i % 3]
            update = b"\x00\x00" if i % 7 == 0 else editors[name].type(str(i))
            fut = store.append(name, update)
            fut.add_done_callback(functools.partial(record, i))
            futures.append(fut)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await asyncio.gather(*futures)
        assert resolved == list(range(300))
        for name, editor in editors.items():
            loaded = await store.load(name)
            assert loaded.updates == editor.updates
            assert not loaded.created
        assert (await store.load("a")).incarnation == first.incarnation
        assert store.stats.updates_written == 300 - len(range(0, 300, 7))
        assert store.stats.commits < 300  # grouped


async def test_group_commit_batches_appends(database_url: str) -> None:
    editor = Editor()
    updates = [editor.type("x") for _ in range(1000)]
    async with PostgresStore(database_url, compact_after_updates=NEVER) as store:
        futures = [store.append("doc", u) for u in updates]
        assert store.stats.queue_depth == 1000
        await asyncio.gather(*futures)
        assert 1 <= store.stats.commits <= 2, store.stats
        assert store.stats.queue_depth == 0 and store.stats.errors == 0
    assert log_rows(database_url, "doc") == 1000


async def test_reopen_delete_and_incarnations(database_url: str) -> None:
    editor = Editor()
    async with PostgresStore(database_url) as store:
        incarnation = (await store.load("doc")).incarnation
        for i in range(20):
            await store.append("doc", editor.type(str(i)))
    async with PostgresStore(database_url) as store:
        again = await store.load("doc")
        assert again.incarnation == incarnation and again.updates == editor.updates
        assert await store.document_names() == ["doc"]
        store.append("doc", Editor().type("doomed"))  # committed before the delete
        assert await store.delete("doc") is True
        assert await store.delete("doc") is False
        assert log_rows(database_url, "doc") == 0
        fresh = await store.load("doc")
        assert fresh.created and fresh.updates == [] and fresh.incarnation != incarnation


async def test_concurrent_first_loads_on_two_nodes_agree(database_url: str) -> None:
    async with PostgresStore(database_url) as one, PostgresStore(database_url) as two:
        results = await asyncio.gather(
            *(store.load("new") for store in (one, two) for _ in range(10))
        )
    assert len({r.incarnation for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_load_sees_appends_that_are_still_queued(database_url: str) -> None:
    editor = Editor()
    async with PostgresStore(database_url) as store:
        for i in range(10):
            store.append("doc", editor.type(str(i)))
        assert (await store.load("doc")).updates == editor.updates


async def test_compaction_keeps_the_document_and_shrinks_the_log(database_url: str) -> None:
    editor = Editor(seed=1)
    async with PostgresStore(
        database_url, compact_after_updates=NEVER, compact_after_bytes=NEVER
    ) as store:
        await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(600)))
        before = await store.load("doc")
        await store.compact("doc")
        after = await store.load("doc")
        assert store.stats.compactions == 1 and log_rows(database_url, "doc") == 0
        assert len(after.updates) == 1
        assert text_of(after.updates) == text_of(before.updates) == str(editor.text)
        await store.append("doc", editor.type("tail"))
    async with PostgresStore(database_url) as store:
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_background_compaction_after_the_threshold(database_url: str) -> None:
    editor = Editor(seed=2)
    async with PostgresStore(database_url, compact_after_updates=50) as store:
        for _ in range(10):
            await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(30)))
        await eventually(lambda: store.stats.compactions >= 1, "a background compaction")
        await store.flush()
        assert log_rows(database_url, "doc") < 300
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_two_nodes_writing_and_compacting_one_document_lose_nothing(
    database_url: str,
) -> None:
    """The y-crdt #632 hole: a fold must never delete a row it did not read, even when
    another node's transaction drew a lower seq and commits later."""
    editors = [Editor(seed=10 + i, client_id=1000 + i) for i in range(2)]
    stores = [PostgresStore(database_url, compact_after_updates=20) for _ in range(2)]
    async with stores[0], stores[1]:
        writing = [True, True]

        async def writer(i: int) -> None:
            for _ in range(40):
                for _ in range(20):
                    stores[i].append("doc", editors[i].random_edit())
                await asyncio.sleep(0)
                await stores[i].flush()  # commits interleave with the other node's folds
            writing[i] = False

        async def compactor(i: int) -> None:
            while any(writing):
                await stores[i].compact("doc")

        async with asyncio.TaskGroup() as tg:
            for i in range(2):
                tg.create_task(writer(i))
                tg.create_task(compactor(i))
        for store in stores:
            await store.flush()
        assert sum(s.stats.compactions for s in stores) >= 2
        loaded = await stores[0].load("doc")
    expected: Doc[Any] = Doc()
    for editor in editors:
        for update in editor.updates:
            expected.apply_update(update)
    assert text_of(loaded.updates) == str(expected.get("t", type=Text))


async def test_compaction_never_drops_updates_whose_dependencies_are_missing(
    database_url: str,
) -> None:
    editor = Editor()
    created = editor.type("hello world")
    del editor.text[0:6]
    deletion = editor.updates[-1]
    appended = editor.type("!")
    async with PostgresStore(database_url, compact_after_updates=NEVER) as store:
        await store.append("doc", deletion)
        await store.append("doc", appended)
        await store.compact("doc")
        assert store.stats.compactions == 0 and log_rows(database_url, "doc") == 2
        await store.append("doc", created)
        await store.compact("doc")
        assert store.stats.compactions == 1 and log_rows(database_url, "doc") == 0
        assert text_of((await store.load("doc")).updates) == "world!"


async def test_shutdown_commits_everything_queued(database_url: str) -> None:
    editor = Editor()
    store = PostgresStore(database_url)
    async with store:
        futures = [store.append("doc", editor.type(str(i))) for i in range(200)]
    assert all(f.done() and f.exception() is None for f in futures)
    await store.__aexit__(None, None, None)  # idempotent
    with pytest.raises(StorageError):
        await store.append("doc", editor.type("late"))
    async with PostgresStore(database_url) as reopened:
        assert (await reopened.load("doc")).updates == editor.updates[:200]


async def test_unreachable_database_is_a_clear_storage_error() -> None:
    from .services import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    with pytest.raises(StorageError, match="opening the database failed") as info:
        async with PostgresStore(url):
            pass
    assert "nobody@" not in str(info.value)  # no connection string in the message
