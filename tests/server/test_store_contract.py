"""The document store contract, run against every backend (memory, SQLite, PostgreSQL).

Each test gets a ``backend`` (one database) and opens stores on it: a second store on the
same backend is a second node, or the server after a restart. What only one backend has
(kill -9, WAL, schema upgrades of its files, its CLI helper) is tested in
``test_sqlite_store.py`` and ``tests/cluster/test_postgres_store.py``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from shared.access import Role
from shared.errors import InvalidState, StorageError
from sync_server.library import with_people
from sync_server.links import LinkRecord
from sync_server.versions import VersionPolicy
from tests.support.databases import new_database
from tests.support.stores import (
    NEVER,
    TABLES,
    Backend,
    Editor,
    MemoryBackend,
    PostgresBackend,
    SQLiteBackend,
    text_of,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
    elif request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
    else:
        server = request.getfixturevalue("postgres")  # skips where the cluster tests skip
        yield PostgresBackend(new_database(server), functools.partial(new_database, server))


# --- appends, group commit, loads ---


async def test_round_trip_in_append_order_without_empty_updates(backend: Backend) -> None:
    editors = {name: Editor() for name in ("a", "b", "c")}
    resolved: list[int] = []
    futures = []

    def record(i: int, _future: asyncio.Future[None]) -> None:
        resolved.append(i)

    async with backend.open() as store:
        for i in range(300):
            name = "abc"[i % 3]
            update = b"\x00\x00" if i % 7 == 0 else editors[name].type(f"{i};")
            fut = store.append(name, update)
            fut.add_done_callback(functools.partial(record, i))
            futures.append(fut)
            if i % 50 == 0:
                await asyncio.sleep(0)  # let several commits happen mid-stream
        await asyncio.gather(*futures)
        assert resolved == list(range(300))
        for name, editor in editors.items():
            loaded = await store.load(name)
            assert loaded.exists and loaded.updates == editor.updates
            assert text_of(loaded.updates) == str(editor.text)
        assert store.stats.updates_written == 300 - len(range(0, 300, 7))
        assert store.stats.bytes_written == sum(len(u) for e in editors.values() for u in e.updates)
        assert 1 <= store.stats.commits < 300  # grouped
        assert await store.document_names() == ["a", "b", "c"]
    assert backend.log_rows("a") == len(editors["a"].updates)


async def test_group_commit_batches_appends(backend: Backend) -> None:
    editor = Editor()
    updates = [editor.type("x") for _ in range(1000)]
    async with backend.open(compact_after_updates=NEVER) as store:
        futures = [store.append("doc", u) for u in updates]  # all in one loop turn
        assert store.stats.queue_depth == 1000
        await asyncio.gather(*futures)
        stats = store.stats
        assert stats.updates_written == 1000
        assert stats.bytes_written == sum(map(len, updates))
        assert 1 <= stats.commits <= 2, stats
        assert 0 < stats.commit_seconds_max <= stats.commit_seconds_total
        assert stats.queue_depth == 0 and stats.errors == 0
    assert backend.log_rows("doc") == 1000


async def test_load_sees_appends_that_are_still_queued(backend: Backend) -> None:
    editor = Editor()
    async with backend.open() as store:
        for i in range(10):
            store.append("doc", editor.type(str(i)))
        assert (await store.load("doc")).updates == editor.updates


async def test_a_failed_commit_fails_its_batch_only(backend: Backend) -> None:
    editor = Editor()
    async with backend.open() as store:
        real = store._append_batch
        calls = 0

        async def fail_once(entries: list[tuple[str, bytes]], now: float) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise store.failures[0]("disk on fire")
            return await real(entries, now)

        store._append_batch = fail_once  # type: ignore[method-assign]
        lost = [store.append("doc", editor.type(str(i))) for i in range(5)]
        results = await asyncio.gather(*lost, return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results), results
        assert "disk on fire" in str(results[0]) and store.stats.errors == 1
        await store.append("doc", editor.type("kept"))
        assert (await store.load("doc")).updates == editor.updates[-1:]


async def test_backpressure_wait_writable(backend: Backend) -> None:
    editor = Editor()
    async with backend.open(max_queue_bytes=1000) as store:
        await store.wait_writable()  # empty queue: returns at once
        futures = [store.append("doc", editor.type("y" * 300)) for _ in range(5)]
        assert store.queued_bytes > 1000
        await asyncio.wait_for(store.wait_writable(), timeout=10)
        assert store.queued_bytes <= 1000
        await asyncio.gather(*futures)
        assert store.queued_bytes == 0


# --- first-write creation and incarnations ---


async def test_loading_a_missing_document_writes_nothing(backend: Backend) -> None:
    async with backend.open() as one, backend.open() as two:
        first = await one.load("new")
        assert not first.exists and first.updates == []
        others = await asyncio.gather(*(s.load("new") for s in (one, two) for _ in range(5)))
        assert {d.incarnation for d in others} == {first.incarnation}  # on every node
        assert await one.document_names() == []
    assert {t: backend.rows(t) for t in TABLES} == dict.fromkeys(TABLES, 0)


async def test_the_first_append_creates_the_document_with_the_provisional_incarnation(
    backend: Backend,
) -> None:
    editor = Editor()
    async with backend.open() as store:
        provisional = (await store.load("doc")).incarnation
        await store.append("doc", editor.type("hello"))
        stored = await store.load("doc")
        assert stored.exists and stored.incarnation == provisional
        assert stored.updates == editor.updates
        assert await store.document_names() == ["doc"]
    async with backend.open() as reopened:
        again = await reopened.load("doc")
    assert again.incarnation == provisional and again.updates == editor.updates
    assert backend.rows("documents") == 1


async def test_two_nodes_creating_one_document_at_once_agree(backend: Backend) -> None:
    editors = [Editor(client_id=1), Editor(client_id=2)]
    async with backend.open() as one, backend.open() as two:
        provisional = [(await s.load("new")).incarnation for s in (one, two)]
        futures = [s.append("new", e.type(f"from {i}")) for i, (s, e) in enumerate(
            zip((one, two), editors, strict=True))]  # fmt: skip
        await asyncio.gather(*futures)
        loaded = [await s.load("new") for s in (one, two)]
    assert provisional[0] == provisional[1]
    assert all(d.exists and d.incarnation == provisional[0] for d in loaded)
    assert sorted(loaded[0].updates) == sorted(editors[0].updates + editors[1].updates)
    assert backend.rows("documents") == 1


async def test_delete_gives_the_name_a_new_incarnation_on_every_node(backend: Backend) -> None:
    async with backend.open() as one, backend.open() as two:
        editor = Editor()
        old = (await one.load("doc")).incarnation
        await one.append("doc", editor.type("first"))
        assert (await two.load("doc")).incarnation == old
        doomed = one.append("doc", editor.type("doomed"))
        assert await one.delete("doc") is True
        assert doomed.done() and doomed.exception() is None  # committed before the delete
        assert await one.delete("doc") is False
        assert await one.document_names() == []
        assert backend.log_rows("doc") == 0
        fresh = await two.load("doc")
        assert not fresh.exists and fresh.updates == [] and fresh.incarnation != old
        await two.append("doc", Editor().type("reborn"))
        assert (await one.load("doc")).incarnation == fresh.incarnation
    async with backend.open() as reopened:
        assert (await reopened.load("doc")).incarnation == fresh.incarnation


async def test_deleting_a_name_never_written_still_changes_its_incarnation(
    backend: Backend,
) -> None:
    """Clients that opened the name hold its provisional incarnation: after a delete they
    must not merge their copies into whatever is written under the name next."""
    async with backend.open() as store:
        before = (await store.load("doc")).incarnation
        assert await store.delete("doc") is False
        after = await store.load("doc")
    assert not after.exists and after.incarnation != before


async def test_another_database_gives_other_incarnations(backend: Backend) -> None:
    """A lost or replaced store must not hand out the old incarnations again."""
    other = backend.fresh()
    async with backend.open() as store, other.open() as elsewhere:
        here, there = await store.load("doc"), await elsewhere.load("doc")
    assert here.incarnation != there.incarnation


# --- compaction ---


async def test_compaction_keeps_the_document_and_shrinks_the_log(backend: Backend) -> None:
    editor = Editor(seed=1)
    async with backend.open(compact_after_updates=NEVER, compact_after_bytes=NEVER) as store:
        await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(600)))
        before = await store.load("doc")
        assert len(before.updates) == 600 and backend.log_rows("doc") == 600
        await store.compact("doc")
        after = await store.load("doc")
        assert store.stats.compactions == 1 and backend.log_rows("doc") == 0
        assert len(after.updates) == 1  # the snapshot
        assert text_of(after.updates) == text_of(before.updates) == str(editor.text)
        assert after.incarnation == before.incarnation
        # The snapshot plus a new log tail still load correctly, also after reopening.
        await store.append("doc", editor.type("tail"))
    async with backend.open() as store:
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_background_compaction_after_the_threshold(backend: Backend) -> None:
    editor = Editor(seed=2)
    async with backend.open(compact_after_updates=50) as store:
        for _ in range(10):
            await asyncio.gather(*(store.append("doc", editor.random_edit()) for _ in range(30)))
        await wait_until(lambda: store.stats.compactions >= 1, "a background compaction", within=10)
        await store.flush()
        assert backend.log_rows("doc") < 300
        assert text_of((await store.load("doc")).updates) == str(editor.text)


async def test_compaction_never_drops_updates_whose_dependencies_are_missing(
    backend: Backend,
) -> None:
    editor = Editor()
    created = editor.type("hello world")  # never stored until the end
    del editor.text[0:6]
    deletion = editor.updates[-1]
    appended = editor.type("!")  # depends on `created`
    async with backend.open(compact_after_updates=NEVER) as store:
        await store.append("doc", deletion)
        await store.append("doc", appended)
        await store.compact("doc")  # the fold would lose both: it must refuse
        assert store.stats.compactions == 0 and backend.log_rows("doc") == 2
        await store.append("doc", created)  # the missing dependency arrives late
        await store.compact("doc")
        assert store.stats.compactions == 1 and backend.log_rows("doc") == 0
        assert text_of((await store.load("doc")).updates) == "world!"


async def test_two_nodes_writing_and_compacting_one_document_lose_nothing(
    backend: Backend,
) -> None:
    """A fold must never delete a row it did not read, even when another node's
    transaction drew a lower seq and commits later (the y-crdt #632 hole)."""
    editors = [Editor(seed=10 + i, client_id=1000 + i) for i in range(2)]
    stores = [backend.open(compact_after_updates=20) for _ in range(2)]
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
                await asyncio.sleep(0)  # a memory fold of an empty log never yields

        async with asyncio.TaskGroup() as tg:
            for i in range(2):
                tg.create_task(writer(i))
                tg.create_task(compactor(i))
        assert sum(s.stats.compactions for s in stores) >= 2
        loaded = await stores[1].load("doc")
    expected: Doc[Any] = Doc()
    for editor in editors:
        for update in editor.updates:
            expected.apply_update(update)
    assert text_of(loaded.updates) == str(expected.get("t", type=Text))


# --- revocations ---


async def test_revocations_are_committed_and_read_in_id_order(backend: Backend) -> None:
    async with backend.open() as one, backend.open() as two:
        token = await one.add_revocation("token", "tok-1", 0.0)
        document = await two.add_revocation("document", "notes", 1700000000.5)
        assert token.id < document.id
        assert (token.kind, token.key, document.kind, document.not_before) == (
            "token",
            "tok-1",
            "document",
            1700000000.5,
        )
        assert document.revoked_at >= token.revoked_at > 0
        assert await one.revocations_since(0) == [token, document]
        assert await two.revocations_since(token.id) == [document]
        assert await two.revocations_since(document.id) == []
        with pytest.raises(ValueError, match="revocation kind"):
            await one.add_revocation("everything", "x", 0.0)
    async with backend.open() as reopened:
        assert await reopened.revocations_since(0) == [token, document]
    assert backend.rows("revocations") == 2


async def test_concurrent_revocations_from_two_nodes_keep_ids_in_order(
    backend: Backend,
) -> None:
    async with backend.open() as one, backend.open() as two:
        added = await asyncio.gather(
            *(s.add_revocation("token", f"t{i}", 0.0) for i in range(10) for s in (one, two))
        )
        seen = await one.revocations_since(0)
    assert sorted(added, key=lambda r: r.id) == seen
    assert len({r.id for r in seen}) == 20


# --- lifecycle ---


async def test_close_commits_everything_queued_and_is_idempotent(backend: Backend) -> None:
    editor = Editor()
    store = backend.open()
    with pytest.raises(StorageError, match="not open"):
        await store.append("doc", editor.type("too early"))
    async with store:
        futures = [store.append("doc", editor.type(str(i))) for i in range(200)]
    assert all(f.done() and f.exception() is None for f in futures)
    await store.aclose()  # idempotent
    with pytest.raises(StorageError, match="not open"):
        await store.append("doc", editor.type("late"))
    with pytest.raises(StorageError, match="not open"):
        await store.load("doc")
    with pytest.raises(InvalidState):
        await store.__aenter__()  # a store opens once
    async with backend.open() as reopened:
        assert (await reopened.load("doc")).updates == editor.updates[1:201]


# --- versions ---


def _text_of_version(update: bytes | None) -> str:
    assert update is not None
    return text_of([update])


async def test_versions_hold_what_was_durable_and_survive_compaction(backend: Backend) -> None:
    editor = Editor(seed=3)
    async with backend.open(compact_after_updates=NEVER, compact_after_bytes=NEVER) as store:
        assert await store.add_version("doc", label="nothing yet") is None  # no document
        store.append("doc", editor.type("한국어 e\u0301 🎉"))  # queued, not awaited
        first = await store.add_version("doc", label="First", authors=["Ann"])
        assert first is not None and first.label == "First" and not first.automatic
        assert first.authors == ("Ann",) and first.size > 0
        await store.append("doc", editor.type(" more"))
        second = await store.add_version("doc", automatic=True, authors=["Bo", "Ann"])
        assert second is not None and second.id > first.id and second.automatic
        # An automatic version of unchanged content is not kept twice.
        assert await store.add_version("doc", automatic=True) is None
        await store.compact("doc")
    async with backend.open() as store:  # a restart, or another node
        listed = await store.versions("doc")
        assert [v.id for v in listed] == [second.id, first.id]
        assert listed[1] == first
        assert _text_of_version(await store.version_update("doc", first.id)) == "한국어 e\u0301 🎉"
        assert _text_of_version(await store.version_update("doc", second.id)) == str(editor.text)
        assert await store.version_update("doc", 10**9) is None
        assert await store.version_update("other", first.id) is None  # ids are per document


async def test_deleting_a_document_deletes_its_versions(backend: Backend) -> None:
    editor = Editor()
    async with backend.open() as store:
        await store.append("doc", editor.type("old"))
        old = await store.add_version("doc", label="old")
        assert old is not None
        assert backend.rows("versions", "doc") == 1
        await store.delete("doc")
        assert await store.versions("doc") == []
        assert backend.rows("versions", "doc") == 0
        await store.append("doc", Editor(client_id=7).type("new"))  # a new incarnation
        assert await store.versions("doc") == []
        assert await store.version_update("doc", old.id) is None


async def test_retention_thins_automatic_versions_only(backend: Backend) -> None:
    editor = Editor()
    async with backend.open() as store:
        store.version_policy = VersionPolicy(keep_recent=2, max_automatic=2)
        await store.append("doc", editor.type("a"))
        named = await store.add_version("doc", label="keep me")
        for ch in "bcde":
            await store.append("doc", editor.type(ch))
            assert await store.add_version("doc", automatic=True) is not None
        listed = await store.versions("doc")
        assert [v.automatic for v in listed] == [True, True, False]
        assert listed[-1] == named
        assert _text_of_version(await store.version_update("doc", listed[0].id)) == "abcde"


async def test_links_are_kept_listed_and_marked_revoked(backend: Backend) -> None:
    first = LinkRecord("id1", "doc", Role.COMMENTER, 100.0, None, None, "tok1")
    second = LinkRecord("id2", "doc", Role.VIEWER, 200.0, 900.0, None, "tok2")
    async with backend.open() as store:
        await store.add_link(first)
        await store.add_link(second)
        await store.add_link(LinkRecord("id3", "other", Role.EDITOR, 300.0, None, None, "t3"))
        assert await store.mark_link_revoked("doc", "id1")
        assert await store.mark_link_revoked("doc", "id1")  # again: still the first time
        assert not await store.mark_link_revoked("doc", "id3")  # another document's
    async with backend.open() as store:
        listed = await store.links("doc")
        assert [k.id for k in listed] == ["id2", "id1"]
        assert listed[0] == second
        revoked_at = listed[1].revoked_at
        assert revoked_at is not None and listed[1].role is Role.COMMENTER


async def test_the_catalog_lists_searches_and_trashes(backend: Backend) -> None:
    async with backend.open() as store:
        for name in ("team-1", "team_2", "solo"):
            await store.append(name, Editor(client_id=len(name)).type(name))
        await store.note_info("team-1", title="회의록 50% done", last_editor="Ann")
        await store.note_info("solo", title=None, last_editor="Bo")
        names = [e.name for e in await store.catalog()]
        assert names[:2] == ["solo", "team-1"] and sorted(names) == ["solo", "team-1", "team_2"]
        assert [e.name for e in await store.catalog("team_*")] == ["team_2"]  # _ is literal
        assert [e.name for e in await store.catalog("*", "50%")] == ["team-1"]
        assert [e.name for e in await store.catalog("*", "회의")] == ["team-1"]
        entry = await store.entry("team-1")
        assert entry is not None and (entry.title, entry.last_editor) == ("회의록 50% done", "Ann")
        assert entry.size > 0 and entry.updated_at is not None
        assert await store.set_trashed("solo", True) and not await store.set_trashed("nope", True)
        assert await store.is_trashed("solo") and not await store.is_trashed("team-1")
        assert [e.name for e in await store.catalog(trashed=True)] == ["solo"]
        assert "solo" not in [e.name for e in await store.catalog()]
        assert await store.trashed_before(time.time() + 1) == ["solo"]
        assert await store.trashed_before(0) == []
        assert await store.set_trashed("solo", False)
        assert await store.catalog(trashed=True) == []


async def test_the_catalog_as_json_matches_the_catalog(backend: Backend) -> None:
    async with backend.open() as store:
        for name in ("b-doc", "a-doc"):
            await store.append(name, Editor(client_id=len(name)).type(name))
        await store.note_info("a-doc", title='회의 "50%"\\ \n', last_editor="Ann")
        entries = await store.catalog()
        rows = await store.catalog_json()
        assert [name for name, _ in rows] == [e.name for e in entries]
        for (_, text), entry in zip(rows, entries, strict=True):
            expected = {k: v for k, v in entry.as_json().items() if k != "people"}
            # Databases print times with 15 significant digits: equal to ~10 us.
            assert json.loads(text) == pytest.approx(expected, abs=1e-4)
            assert json.loads(with_people(text, 3))["people"] == 3
