"""A shared durable document store on PostgreSQL, for several relay nodes.

The contract, group commit and compaction policy live in :class:`~.store_base.StoreBase`;
this module is the PostgreSQL half (``docs/storage.md``, ``docs/deploy.md``). A COMMIT
returns after PostgreSQL (default ``synchronous_commit = on``) flushed its WAL.

* **psycopg 3, async.** The asyncio loop talks to PostgreSQL over three connections,
  each used by one owner at a time: the *writer* (group commits), the *reader* (loads,
  listings; REPEATABLE READ so the snapshot and the log tail are one consistent view) and
  *control* (deletes, the fold's read and its install, revocations; guarded by a lock).
  A broken connection (database restart) is reopened on its next use; the commits in
  flight fail with ``StorageError`` and the relay makes those clients resync.
* **Compaction that is safe with several nodes.** PostgreSQL hands out ``bigserial``
  values at INSERT time, not at COMMIT time, so "every row committed after my read has a
  higher seq" does *not* hold by itself: a slow transaction could commit seq 10 after a
  fast one committed seq 11 and after a fold read up to 11, and the install would delete
  row 10 unread (the y-crdt #632 hole). So every transaction that adds log rows first
  locks the document's row (an upsert of its counters, in name order to avoid
  deadlocks), and the fold reads the log under ``SELECT ... FOR SHARE`` of that row. While
  the fold reads, no writer of that document is half way; any later writer draws its seq
  after the read, so it is above S and survives ``DELETE ... WHERE seq <= S``.
* **First write on several nodes.** The upsert inserts a new document's row with an
  empty incarnation, which also waits out a concurrent delete of that name (it holds the
  row); only then does the same transaction read the name's generation and store the
  incarnation. Two nodes creating one document at once meet on the primary key: the
  second updates the first's row and keeps its incarnation.
* **Revocations in id order.** Inserts take a table lock, so ids commit in the order they
  were drawn and a reader that polls "ids above the last one I saw" never skips one.

:func:`add_revocation_sync` stores a revocation from the CLI while nodes run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, Unpack

import psycopg
from psycopg import AsyncConnection, IsolationLevel

from shared.errors import StorageError

from .fold import Fold, FoldInput
from .group_commit import LogSizes, sizes_added
from .library import DocumentEntry, like_pattern, prefix_pattern, split_pattern
from .links import LinkRecord
from .migrations import Schema, Step
from .store import Revocation, RevocationKind, revocation_kind
from .store_base import DocumentRead, StoreBase, StoreOptions
from .versions import NewVersion, VersionInfo, version_of_row

SCHEMA = Schema(
    Step(
        1,
        "documents and their update log",
        (
            """CREATE TABLE coscribe_documents (
                name TEXT PRIMARY KEY,
                incarnation TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                snapshot BYTEA,
                snapshot_seq BIGINT NOT NULL DEFAULT 0,
                log_count BIGINT NOT NULL DEFAULT 0,
                log_bytes BIGINT NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE coscribe_updates (
                seq BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL,
                data BYTEA NOT NULL
            )""",
            "CREATE INDEX coscribe_updates_by_name ON coscribe_updates (name, seq)",
        ),
    ),
    Step(
        2,
        "first-write creation (database id, delete generations) and revocations",
        (
            "CREATE TABLE coscribe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT INTO coscribe_meta (key, value) "
            "VALUES ('database_id', md5(random()::text || clock_timestamp()::text))",
            """CREATE TABLE coscribe_tombstones (
                name TEXT PRIMARY KEY,
                generation BIGINT NOT NULL
            )""",
            """CREATE TABLE coscribe_revocations (
                id BIGSERIAL PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('token', 'document')),
                key TEXT NOT NULL,
                not_before DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION NOT NULL
            )""",
        ),
    ),
    Step(
        3,
        "version history",
        (
            """CREATE TABLE coscribe_versions (
                id BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL,
                incarnation TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                label TEXT,
                automatic BOOLEAN NOT NULL,
                authors TEXT NOT NULL,
                data BYTEA NOT NULL
            )""",
            "CREATE INDEX coscribe_versions_by_name ON coscribe_versions (name, id)",
        ),
    ),
    Step(
        4,
        "access links minted by owners",
        (
            """CREATE TABLE coscribe_links (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION,
                revoked_at DOUBLE PRECISION,
                token TEXT NOT NULL
            )""",
            "CREATE INDEX coscribe_links_by_name ON coscribe_links (name, created_at)",
        ),
    ),
    Step(
        5,
        "the document library: titles, last change, trash",
        (
            "ALTER TABLE coscribe_documents ADD COLUMN title TEXT",
            "ALTER TABLE coscribe_documents ADD COLUMN updated_at DOUBLE PRECISION",
            "ALTER TABLE coscribe_documents ADD COLUMN last_editor TEXT",
            "ALTER TABLE coscribe_documents ADD COLUMN trashed_at DOUBLE PRECISION",
        ),
    ),
)

#: Key of the advisory lock that serialises migrations of several nodes starting at once.
_MIGRATION_LOCK = 0x636F7363  # "cosc"

_Conn = AsyncConnection[tuple[Any, ...]]


# --- primitives on one connection (module-level so the CLI can use them too) ---


async def _migrate(conn: _Conn) -> str:
    """Bring the schema up to date (one transaction); the database id."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS coscribe_schema (version INTEGER)")
        row = await (await conn.execute("SELECT max(version) FROM coscribe_schema")).fetchone()
        found = int(row[0]) if row is not None and row[0] is not None else 0
        for step in SCHEMA.pending(found, "the database"):
            for statement in step.statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO coscribe_schema (version) VALUES (%s)", (step.version,))
        cur = await conn.execute("SELECT value FROM coscribe_meta WHERE key = 'database_id'")
        row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def _insert_revocation(
    conn: _Conn, kind: RevocationKind, key: str, not_before: float, revoked_at: float
) -> Revocation:
    async with conn.transaction():
        # Self-conflicting, but leaves plain reads alone: ids commit in the order drawn.
        await conn.execute("LOCK TABLE coscribe_revocations IN SHARE ROW EXCLUSIVE MODE")
        cur = await conn.execute(
            "INSERT INTO coscribe_revocations (kind, key, not_before, revoked_at) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (kind, key, not_before, revoked_at),
        )
        row = await cur.fetchone()
    assert row is not None
    return Revocation(int(row[0]), kind, key, not_before, revoked_at)


async def _name_new_documents(
    conn: _Conn, names: list[str], incarnation: Callable[[str, int], str]
) -> None:
    """Give rows this transaction just created their incarnation (current generation)."""
    cur = await conn.execute(
        "SELECT name, generation FROM coscribe_tombstones WHERE name = ANY(%s)", (names,)
    )
    generations = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
    await conn.execute(
        "UPDATE coscribe_documents AS d SET incarnation = t.i "
        "FROM unnest(%s::text[], %s::text[]) AS t(n, i) WHERE d.name = t.n",
        (names, [incarnation(n, generations.get(n, 0)) for n in names]),
    )


class _Link:
    """One connection with one user at a time; reopened after it broke."""

    def __init__(self, url: str, label: str, isolation: IsolationLevel | None = None) -> None:
        self._url = url
        self.label = label
        self._isolation = isolation
        self._conn: _Conn | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[_Conn]:
        async with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                if self._conn is not None:
                    await self._conn.close()
                self._conn = await AsyncConnection.connect(
                    self._url, autocommit=True, application_name=f"coscribe-{self.label}"
                )
                if self._isolation is not None:
                    await self._conn.set_isolation_level(self._isolation)
            yield self._conn

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error, OSError):
                    await self._conn.close()
                self._conn = None


class PostgresStore(StoreBase):
    """Durable :class:`~sync_server.store.DocumentStore` in a PostgreSQL database.

    ``async with PostgresStore("postgresql://user@host/db") as store:``. The tables
    (``coscribe_*``) are created on first open; several nodes may share one database.
    Options as for :class:`~sync_server.store_base.StoreBase`. Messages and ``repr``
    never show the URL (it may hold a password).
    """

    failures = (psycopg.Error, OSError)

    def __init__(
        self,
        url: str,
        **options: Unpack[StoreOptions],
    ) -> None:
        super().__init__("PostgreSQL store", **options)
        self._writer_link = _Link(url, "writer")
        self._reader = _Link(url, "reader", IsolationLevel.REPEATABLE_READ)
        self._control = _Link(url, "control")

    def _describe(self, exc: BaseException) -> str:
        return _brief(exc)

    async def _open_storage(self, stack: AsyncExitStack) -> str:
        for link in (self._writer_link, self._reader, self._control):
            stack.push_async_callback(link.close)
        async with self._control.use() as conn:
            return await _migrate(conn)

    async def _read(self, name: str) -> DocumentRead:
        async with self._reader.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT incarnation, snapshot, log_count, log_bytes FROM coscribe_documents "
                "WHERE name = %s",
                (name,),
            )
            row = await cur.fetchone()
            if row is None:
                cur = await conn.execute(
                    "SELECT generation FROM coscribe_tombstones WHERE name = %s", (name,)
                )
                tombstone = await cur.fetchone()
                return DocumentRead(None, 0 if tombstone is None else int(tombstone[0]))
            updates = [] if row[1] is None else [bytes(row[1])]
            cur = await conn.execute(
                "SELECT data FROM coscribe_updates WHERE name = %s ORDER BY seq", (name,)
            )
            updates += [bytes(r[0]) for r in await cur.fetchall()]
        return DocumentRead(str(row[0]), 0, updates, int(row[2]), int(row[3]))

    async def _append_batch(self, entries: list[tuple[str, bytes]], now: float) -> LogSizes:
        added = sizes_added(entries)
        names = sorted(added)
        for attempt in range(3):
            try:
                async with self._writer_link.use() as conn, conn.transaction():
                    # Lock (or create) every document row first, in name order (see the
                    # module docstring); one statement for the rows, one for the log.
                    cur = await conn.execute(
                        "INSERT INTO coscribe_documents "
                        "(name, incarnation, created_at, log_count, log_bytes) "
                        "SELECT n, '', %s, c, b "
                        "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS t(n, c, b) "
                        "ORDER BY n "
                        "ON CONFLICT (name) DO UPDATE SET "
                        "log_count = coscribe_documents.log_count + EXCLUDED.log_count, "
                        "log_bytes = coscribe_documents.log_bytes + EXCLUDED.log_bytes "
                        "RETURNING name, log_count, log_bytes, incarnation = ''",
                        (now, names, [added[n][0] for n in names], [added[n][1] for n in names]),
                    )
                    rows = await cur.fetchall()
                    new = [str(r[0]) for r in rows if r[3]]
                    if new:
                        await _name_new_documents(conn, new, self._incarnation)
                    await conn.execute(
                        "INSERT INTO coscribe_updates (name, data) "
                        "SELECT * FROM unnest(%s::text[], %s::bytea[])",
                        ([n for n, _ in entries], [d for _, d in entries]),
                    )
            except psycopg.errors.DeadlockDetected:
                if attempt == 2:
                    raise
                continue  # rolled back as a whole: safe to run again
            break
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}

    async def _read_for_fold(self, name: str) -> FoldInput | None:
        """Snapshot and log under a share lock of the row: no writer of it is half way."""
        async with self._control.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT incarnation, snapshot, snapshot_seq FROM coscribe_documents "
                "WHERE name = %s FOR SHARE",
                (name,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "SELECT seq, data FROM coscribe_updates WHERE name = %s ORDER BY seq", (name,)
            )
            log_rows = await cur.fetchall()
        if not log_rows:
            return None
        updates = ([] if row[1] is None else [bytes(row[1])]) + [bytes(r[1]) for r in log_rows]
        return FoldInput(str(row[0]), int(row[2]), int(log_rows[-1][0]), len(log_rows), updates)

    async def _install(self, fold: Fold) -> bool:
        async with self._control.use() as conn:
            try:
                async with conn.transaction():
                    cur = await conn.execute(
                        "SELECT incarnation, snapshot_seq FROM coscribe_documents "
                        "WHERE name = %s FOR UPDATE",
                        (fold.name,),
                    )
                    row = await cur.fetchone()
                    if row is None or (str(row[0]), int(row[1])) != (
                        fold.incarnation,
                        fold.base_seq,
                    ):
                        return False
                    cur = await conn.execute(
                        "DELETE FROM coscribe_updates WHERE name = %s AND seq <= %s "
                        "RETURNING length(data)",
                        (fold.name, fold.upto_seq),
                    )
                    deleted = await cur.fetchall()
                    if len(deleted) != fold.count:
                        raise _Refused  # cannot happen with the row locks; never risk it
                    await conn.execute(
                        "UPDATE coscribe_documents SET snapshot = %s, snapshot_seq = %s, "
                        "log_count = log_count - %s, log_bytes = log_bytes - %s "
                        "WHERE name = %s",
                        (
                            fold.snapshot,
                            fold.upto_seq,
                            len(deleted),
                            sum(int(r[0]) for r in deleted),
                            fold.name,
                        ),
                    )
            except _Refused:
                return False
        return True

    async def _delete(self, name: str) -> bool:
        async with self._control.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT 1 FROM coscribe_documents WHERE name = %s FOR UPDATE", (name,)
            )
            existed = await cur.fetchone() is not None
            await conn.execute("DELETE FROM coscribe_updates WHERE name = %s", (name,))
            await conn.execute("DELETE FROM coscribe_versions WHERE name = %s", (name,))
            await conn.execute("DELETE FROM coscribe_documents WHERE name = %s", (name,))
            await conn.execute(
                "INSERT INTO coscribe_tombstones (name, generation) VALUES (%s, 1) "
                "ON CONFLICT (name) DO UPDATE "
                "SET generation = coscribe_tombstones.generation + 1",
                (name,),
            )
        return existed

    async def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """One read on the reader connection (one consistent snapshot)."""
        async with self._reader.use() as conn, conn.transaction():
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def _change(self, sql: str, params: Sequence[object]) -> int:
        """One committed write on the control connection; the rows it touched."""
        async with self._control.use() as conn, conn.transaction():
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def _names(self) -> list[str]:
        rows = await self._rows("SELECT name FROM coscribe_documents ORDER BY name")
        return [str(r[0]) for r in rows]

    async def _add_revocation(
        self, kind: RevocationKind, key: str, not_before: float, revoked_at: float
    ) -> Revocation:
        async with self._control.use() as conn:
            return await _insert_revocation(conn, kind, key, not_before, revoked_at)

    async def _revocations_since(self, after_id: int) -> list[Revocation]:
        rows = await self._rows(
            "SELECT id, kind, key, not_before, revoked_at FROM coscribe_revocations "
            "WHERE id > %s ORDER BY id",
            (after_id,),
        )
        return [Revocation.of_row(r) for r in rows]

    async def _insert_version(
        self, name: str, incarnation: str, version: NewVersion
    ) -> VersionInfo | None:
        v = version
        async with self._control.use() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO coscribe_versions "
                "(name, incarnation, created_at, label, automatic, authors, data) "
                "SELECT %s, %s, %s, %s, %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM coscribe_documents WHERE name = %s AND incarnation = %s) "
                "RETURNING id",
                (name, incarnation, v.created_at, v.label, v.automatic, json.dumps(v.authors),
                 v.data, name, incarnation),
            )  # fmt: skip
            row = await cur.fetchone()
        if row is None:
            return None
        return VersionInfo(int(row[0]), v.created_at, v.label, v.automatic, v.authors, len(v.data))

    async def _versions(self, name: str) -> list[VersionInfo]:
        rows = await self._rows(
            "SELECT id, created_at, label, automatic, authors, length(data) "
            f"FROM coscribe_versions WHERE {_CURRENT} ORDER BY id DESC",
            (name, name),
        )
        return [version_of_row(r) for r in rows]

    async def _version_data(self, name: str, version_id: int) -> bytes | None:
        rows = await self._rows(
            f"SELECT data FROM coscribe_versions WHERE id = %s AND {_CURRENT}",
            (version_id, name, name),
        )
        return bytes(rows[0][0]) if rows else None

    async def _set_info(
        self, name: str, title: str | None, updated_at: float, last_editor: str | None
    ) -> None:
        await self._change(
            "UPDATE coscribe_documents SET title = coalesce(%s, title), updated_at = %s, "
            "last_editor = coalesce(%s, last_editor) WHERE name = %s",
            (title, updated_at, last_editor, name),
        )

    async def _catalog(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[DocumentEntry]:
        select = (
            "SELECT name, title, created_at, updated_at, last_editor, "
            "log_bytes + coalesce(length(snapshot), 0), trashed_at "
        )
        rows = await self._catalog_rows(select, pattern, query, trashed, limit)
        return [DocumentEntry.of_row(r) for r in rows]

    async def _catalog_json(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[tuple[str, str]]:
        select = (
            "SELECT name, json_build_object('name', name, 'title', title, "
            "'created_at', created_at, 'updated_at', coalesce(updated_at, created_at), "
            "'last_editor', last_editor, 'size', log_bytes + coalesce(length(snapshot), 0), "
            "'trashed_at', trashed_at)::text "
        )
        return [
            (str(n), str(j))
            for n, j in await self._catalog_rows(select, pattern, query, trashed, limit)
        ]

    async def _catalog_rows(
        self, select: str, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[tuple[Any, ...]]:
        like = None if query is None else like_pattern(query)
        start, is_prefix = split_pattern(pattern)
        name = ("name LIKE %s", prefix_pattern(start)) if is_prefix else ("name = %s", start)
        return await self._rows(
            select + f"FROM coscribe_documents WHERE {name[0]} "
            "AND (trashed_at IS NOT NULL) = %s "
            "AND (%s::text IS NULL OR title ILIKE %s OR name ILIKE %s) "
            "ORDER BY coalesce(updated_at, created_at) DESC LIMIT %s",
            (name[1], trashed, like, like, like, limit),
        )

    async def _set_trashed(self, name: str, at: float | None) -> bool:
        changed = await self._change(
            "UPDATE coscribe_documents SET trashed_at = %s WHERE name = %s", (at, name)
        )
        return changed > 0

    async def _trashed_before(self, cutoff: float) -> list[str]:
        rows = await self._rows(
            "SELECT name FROM coscribe_documents WHERE trashed_at < %s", (cutoff,)
        )
        return [str(r[0]) for r in rows]

    async def _insert_link(self, link: LinkRecord) -> None:
        await self._change(
            f"INSERT INTO coscribe_links ({_LINK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (link.id, link.name, str(link.role), link.created_at, link.expires_at,
             link.revoked_at, link.token),
        )  # fmt: skip

    async def _links(self, name: str) -> list[LinkRecord]:
        rows = await self._rows(
            f"SELECT {_LINK_COLUMNS} FROM coscribe_links WHERE name = %s "
            "ORDER BY created_at DESC, id",
            (name,),
        )
        return [LinkRecord.of_row(r) for r in rows]

    async def _mark_link_revoked(self, name: str, link_id: str, at: float) -> bool:
        changed = await self._change(
            "UPDATE coscribe_links SET revoked_at = coalesce(revoked_at, %s) "
            "WHERE name = %s AND id = %s",
            (at, name, link_id),
        )
        return changed > 0

    async def _drop_versions(self, name: str, ids: list[int]) -> None:
        await self._change(
            "DELETE FROM coscribe_versions WHERE name = %s AND id = ANY(%s)", (name, ids)
        )


_LINK_COLUMNS = "id, name, role, created_at, expires_at, revoked_at, token"

_CURRENT = (
    "name = %s AND incarnation = (SELECT incarnation FROM coscribe_documents WHERE name = %s)"
)


class _Refused(Exception):
    """Raised inside the install transaction to roll it back."""


def _brief(exc: BaseException) -> str:
    """One line about a database error, without the connection string."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def add_revocation_sync(url: str, kind: str, key: str, not_before: float) -> Revocation:
    """Store a revocation in the database at ``url`` from outside a node (the CLI), also
    while nodes use it; committed when this returns. Not from inside an event loop."""
    checked = revocation_kind(kind)

    async def add() -> Revocation:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            await _migrate(conn)
            return await _insert_revocation(conn, checked, key, not_before, time.time())

    try:
        return asyncio.run(add())
    except (psycopg.Error, OSError) as exc:
        raise StorageError(f"storing a revocation failed: {_brief(exc)}") from exc


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


__all__ = ["PostgresStore", "add_revocation_sync", "is_postgres_url"]
