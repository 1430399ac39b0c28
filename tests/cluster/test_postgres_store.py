"""What only the PostgreSQL store has: nodes migrating one database at once, upgrades of
databases made by older servers, the CLI's revocation helper, and errors that never show
the connection string. The contract every store keeps (two nodes writing and compacting
one document included) is in ``tests/server/test_store_contract.py``."""

from __future__ import annotations

import asyncio
import functools

import pytest

from shared.errors import StorageError
from tests.support.databases import IN_CI
from tests.support.stores import (
    Editor,
    check_revocation_beside_writes,
    check_upgraded_document,
)
from tests.support.waiting import wait_until

try:
    import psycopg
except ImportError:  # the [cluster] extra is not installed
    if IN_CI:
        raise
    pytest.skip("needs psycopg: pip install -e '.[cluster]'", allow_module_level=True)

from sync_server.postgres_store import (  # noqa: E402
    SCHEMA,
    PostgresStore,
    add_revocation_sync,
)

pytestmark = pytest.mark.asyncio

#: The schema that servers before version 2 created.
SCHEMA_V1 = """
CREATE TABLE coscribe_schema (version INTEGER);
INSERT INTO coscribe_schema (version) VALUES (1);
CREATE TABLE coscribe_documents (
    name TEXT PRIMARY KEY, incarnation TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    snapshot BYTEA, snapshot_seq BIGINT NOT NULL DEFAULT 0,
    log_count BIGINT NOT NULL DEFAULT 0, log_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE coscribe_updates (seq BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, data BYTEA NOT NULL);
CREATE INDEX coscribe_updates_by_name ON coscribe_updates (name, seq);
"""


def waits_for_a_lock(url: str, connection: str) -> bool:
    """Whether the store's ``connection`` (writer, reader, control) waits for a lock."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND wait_event_type = 'Lock'",
            (f"coscribe-{connection}",),
        ).fetchone()
    return row is not None and row[0] == 1


async def test_nodes_starting_at_once_migrate_one_database_once(database_url: str) -> None:
    stores = [PostgresStore(database_url) for _ in range(4)]
    await asyncio.gather(*(s.__aenter__() for s in stores))
    try:
        incarnations = {(await s.load("doc")).incarnation for s in stores}
    finally:
        await asyncio.gather(*(s.aclose() for s in stores))
    assert len(incarnations) == 1  # one database id
    with psycopg.connect(database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM coscribe_schema ORDER BY 1")]
    assert versions == list(range(1, SCHEMA.version + 1))


async def test_a_database_made_by_the_previous_schema_opens_and_keeps_its_documents(
    database_url: str,
) -> None:
    editor = Editor()
    updates = [editor.type("old "), editor.type("text")]
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA_V1)
        conn.execute(
            "INSERT INTO coscribe_documents (name, incarnation, created_at, log_count) "
            "VALUES ('kept', 'an-old-random-incarnation', 1.0, 2)"
        )
        for update in updates:
            conn.execute("INSERT INTO coscribe_updates (name, data) VALUES ('kept', %s)", (update,))
    async with PostgresStore(database_url) as store:
        await check_upgraded_document(store, editor, "an-old-random-incarnation")
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT max(version) FROM coscribe_schema").fetchone()
    assert row is not None and row[0] == SCHEMA.version


async def test_a_first_write_waiting_for_a_delete_gets_the_new_incarnation(
    database_url: str,
) -> None:
    """Another node deletes the document while this node's append waits for the row: the
    row this append re-creates must carry the incarnation of the *next* generation, the
    one every load after the delete announces, never the deleted one's."""

    editor = Editor()
    async with PostgresStore(database_url) as store:
        await store.append("doc", editor.type("old"))
        old = (await store.load("doc")).incarnation
        other = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with other:
            async with other.transaction():  # another node's delete, not committed yet
                await other.execute(
                    "SELECT 1 FROM coscribe_documents WHERE name = 'doc' FOR UPDATE"
                )
                await other.execute("DELETE FROM coscribe_updates WHERE name = 'doc'")
                await other.execute("DELETE FROM coscribe_documents WHERE name = 'doc'")
                await other.execute(
                    "INSERT INTO coscribe_tombstones (name, generation) VALUES ('doc', 1)"
                )
                appending = store.append("doc", editor.type(" new"))
                await wait_until(
                    functools.partial(waits_for_a_lock, database_url, "writer"),
                    "the condition",
                    within=10,
                )
            await appending
        stored = await store.load("doc")
        assert await store.delete("doc") and await store.delete("doc") is False
        third = (await store.load("doc")).incarnation
    assert stored.exists and stored.updates == editor.updates[1:]
    assert len({old, stored.incarnation, third}) == 3


async def test_a_newer_schema_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE coscribe_schema (version INTEGER)")
        conn.execute("INSERT INTO coscribe_schema (version) VALUES (99)")
    with pytest.raises(StorageError, match="schema version 99"):
        async with PostgresStore(database_url):
            pass


async def test_revocation_ids_become_visible_in_the_order_they_were_drawn(
    database_url: str,
) -> None:
    """A poller reads "ids above the last one I saw": a later id must never commit while an
    earlier one is still pending, or the poller would skip the earlier one for good."""

    async with PostgresStore(database_url) as store:
        other = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        async with other, other.transaction():  # another writer, id drawn, not committed
            cur = await other.execute(
                "INSERT INTO coscribe_revocations (kind, key, not_before, revoked_at) "
                "VALUES ('token', 'first', 0, 0) RETURNING id"
            )
            first = await cur.fetchone()
            adding = asyncio.create_task(store.add_revocation("token", "second", 0.0))
            await wait_until(
                functools.partial(waits_for_a_lock, database_url, "control"),
                "the condition",
                within=10,
            )
            assert await store.revocations_since(0) == []
        second = await adding
        seen = await store.revocations_since(0)
    assert first is not None and [r.id for r in seen] == [first[0], second.id]
    assert first[0] < second.id


async def test_the_cli_adds_a_revocation_while_a_node_writes(database_url: str) -> None:
    add = functools.partial(add_revocation_sync, database_url, "token", "t1", 0.0)
    async with PostgresStore(database_url) as store:
        added = await check_revocation_beside_writes(store, add)
    assert (added.kind, added.key) == ("token", "t1")


async def test_unreachable_database_is_a_clear_storage_error() -> None:
    from .services import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none?connect_timeout=2"
    store = PostgresStore(url)
    with pytest.raises(StorageError, match="opening the database failed") as info:
        async with store:
            pass
    assert "nobody" not in str(info.value) and "secret" not in repr(store)
    with pytest.raises(StorageError, match="storing a revocation failed") as info:
        await asyncio.to_thread(add_revocation_sync, url, "token", "t1", 0.0)
    assert "secret" not in str(info.value)
