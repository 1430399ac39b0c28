"""A shared durable document store on PostgreSQL, for several relay nodes.

Same contract as :class:`~sync_server.sqlite_store.SQLiteStore` (``docs/storage.md``):
``append`` returns a future at once, futures resolve in call order and only after the
COMMIT that holds the update returned (PostgreSQL with its default ``synchronous_commit =
on`` has flushed the WAL by then), ``load`` creates a document with one incarnation even
when several nodes load it at once, and compaction never loses an update.

Why it is shaped like this:

* **psycopg 3, async.** The asyncio loop talks to PostgreSQL directly over three
  connections, each used by one owner at a time: the *writer* (group commits, used only by
  the writer task), the *reader* (loads; REPEATABLE READ so the snapshot and the log tail
  are one consistent view) and *control* (create, delete, the fold's read and its install;
  guarded by a lock). Only the CPU-heavy fold of a compaction runs on a thread of its own,
  so the loop never waits for yrs. A broken connection (database restart) is reopened on
  its next use; the commits in flight fail with ``StorageError`` and the relay makes those
  clients resync.
* **Group commit.** As in SQLite: the writer task takes everything queued since the last
  commit and writes it in one transaction.
* **Compaction that is safe with several nodes.** PostgreSQL hands out ``bigserial``
  values at INSERT time, not at COMMIT time, so "every row committed after my read has a
  higher seq" does *not* hold by itself: a slow transaction could commit seq 10 after a
  fast one committed seq 11 and after a fold read up to 11, and the install would delete
  row 10 unread (the y-crdt #632 hole). So every transaction that adds log rows first
  locks the document's row (an upsert of its counters, in name order to avoid
  deadlocks), and the fold reads the log under ``SELECT ... FOR SHARE`` of that row. While
  the fold reads, no writer of that document is half way; any later writer draws its seq
  after the read, so it is above S and survives ``DELETE ... WHERE seq <= S``. The
  install runs under ``FOR UPDATE`` and only if the row still has the incarnation and
  ``snapshot_seq`` that were read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import psycopg
from psycopg import AsyncConnection, IsolationLevel

from shared.errors import InvalidState, StorageError

from .fold import fold_updates
from .group_commit import GroupCommitStore
from .store import StoredDocument, new_incarnation

log = logging.getLogger(__name__)

#: Schema version kept in ``coscribe_schema``; bump it and add a migration step.
SCHEMA_VERSION = 1

#: Key of the advisory lock that serialises migrations of several nodes starting at once.
_MIGRATION_LOCK = 0x636F7363  # "cosc"

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
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
}

_T = TypeVar("_T")
_Conn = AsyncConnection[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Fold:
    name: str
    incarnation: str
    base_seq: int
    upto_seq: int
    folded_count: int
    snapshot: bytes
    refusal: str | None


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
                await self._conn.close()
                self._conn = None


class PostgresStore(GroupCommitStore):
    """Durable :class:`~sync_server.store.DocumentStore` in a PostgreSQL database.

    ``async with PostgresStore("postgresql://user@host/db") as store:`` from one task. The
    tables (``coscribe_documents``, ``coscribe_updates``, ``coscribe_schema``) are created
    on first open; several nodes may share one database.

    Args:
        url: a libpq connection string or URL.
        compact_after_updates, compact_after_bytes, max_queue_bytes: as for SQLiteStore.
    """

    _commit_errors = (psycopg.Error, OSError)

    def __init__(
        self,
        url: str,
        *,
        compact_after_updates: int = 1000,
        compact_after_bytes: int = 1024 * 1024,
        max_queue_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if min(compact_after_updates, compact_after_bytes, max_queue_bytes) < 1:
            raise ValueError("store thresholds must be positive")
        super().__init__("PostgreSQL store", max_queue_bytes)
        self._url = url
        self._compact_after_updates = compact_after_updates
        self._compact_after_bytes = compact_after_bytes
        self._stack = contextlib.AsyncExitStack()
        self._tg = asyncio.TaskGroup()
        self._writer = _Link(url, "writer")
        self._reader = _Link(url, "reader", IsolationLevel.REPEATABLE_READ)
        self._control = _Link(url, "control")
        self._folder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coscribe-pg-fold")
        self._stop_folding = threading.Event()
        self._compacting: set[str] = set()
        self._refused_at: dict[str, int] = {}

    def __repr__(self) -> str:
        # Never show the URL: it may hold a password.
        return f"<PostgresStore {self._state}>"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise InvalidState("a PostgresStore can be opened only once")
        self._state = "opening"
        try:
            await self._guard("opening the database", self._migrate())
            await self._stack.enter_async_context(self._tg)
        except BaseException:
            await self._close_links()
            self._state = "closed"
            raise
        self._tg.create_task(self._write_loop(), name="pg-store-writer")
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commit everything queued, stop compactions, then close. Idempotent."""
        if self._state != "open":
            return
        self._state = "closing"
        self._stop_folding.set()
        self._wakeup.set()
        try:
            await self._stack.aclose()
        finally:
            self._state = "closed"
            self._close_queue()
            await self._close_links()

    async def _close_links(self) -> None:
        for link in (self._writer, self._reader, self._control):
            with contextlib.suppress(psycopg.Error, OSError):
                await link.close()
        self._folder.shutdown(wait=True)

    async def _migrate(self) -> None:
        async with self._control.use() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS coscribe_schema (version INTEGER)")
            row = await (await conn.execute("SELECT max(version) FROM coscribe_schema")).fetchone()
            version = int(row[0]) if row is not None and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"database has coscribe schema version {version}; this server knows up "
                    f"to {SCHEMA_VERSION} (upgrade coscribe-server)"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO coscribe_schema (version) VALUES (%s)", (step,))

    async def _guard(self, what: str, work: Awaitable[_T]) -> _T:
        try:
            return await work
        except (psycopg.Error, OSError) as exc:
            self.stats.errors += 1
            raise StorageError(f"{what} failed: {_brief(exc)}") from exc

    # ------------------------------------------------------------------ appends

    def _describe_error(self, exc: BaseException) -> str:
        return _brief(exc)

    async def _write_batch(self, entries: list[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
        per_doc: dict[str, list[int]] = {}
        for name, data in entries:
            counts = per_doc.setdefault(name, [0, 0])
            counts[0] += 1
            counts[1] += len(data)
        names = sorted(per_doc)
        now = time.time()
        for attempt in range(3):
            try:
                async with self._writer.use() as conn, conn.transaction():
                    # Lock (or create) every document row first, in name order (see the
                    # module docstring); one statement for the rows, one for the log.
                    cur = await conn.execute(
                        "INSERT INTO coscribe_documents "
                        "(name, incarnation, created_at, log_count, log_bytes) "
                        "SELECT n, md5(random()::text || n), %s, c, b "
                        "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS t(n, c, b) "
                        "ORDER BY n "
                        "ON CONFLICT (name) DO UPDATE SET "
                        "log_count = coscribe_documents.log_count + EXCLUDED.log_count, "
                        "log_bytes = coscribe_documents.log_bytes + EXCLUDED.log_bytes "
                        "RETURNING name, log_count, log_bytes",
                        (
                            now,
                            names,
                            [per_doc[n][0] for n in names],
                            [per_doc[n][1] for n in names],
                        ),
                    )
                    sizes = {str(r[0]): (int(r[1]), int(r[2])) for r in await cur.fetchall()}
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
        return sizes

    # ------------------------------------------------------------------ reads, deletes

    async def load(self, name: str) -> StoredDocument:
        """Snapshot + log tail of ``name`` (one consistent view); creates it if absent."""
        self._check_open()
        await self._wait_settled(self._last_ticket(name))
        row = await self._guard(f"loading {name!r}", self._read(name))
        if row is None:
            created = await self._guard(f"creating {name!r}", self._create(name))
            row = await self._guard(f"loading {name!r}", self._read(name))
            if row is None:
                raise StorageError(f"document {name!r} was deleted while it was loading")
            if created:
                return StoredDocument(row[0], row[1], created=True)
        self._maybe_compact(name, row[2], row[3])
        return StoredDocument(row[0], row[1])

    async def _read(self, name: str) -> tuple[str, list[bytes], int, int] | None:
        async with self._reader.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT incarnation, snapshot, log_count, log_bytes FROM coscribe_documents "
                "WHERE name = %s",
                (name,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            updates = [] if row[1] is None else [bytes(row[1])]
            cur = await conn.execute(
                "SELECT data FROM coscribe_updates WHERE name = %s ORDER BY seq", (name,)
            )
            updates += [bytes(r[0]) for r in await cur.fetchall()]
        return str(row[0]), updates, int(row[2]), int(row[3])

    async def _create(self, name: str) -> bool:
        async with self._control.use() as conn:
            cur = await conn.execute(
                "INSERT INTO coscribe_documents (name, incarnation, created_at) "
                "VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (name, new_incarnation(), time.time()),
            )
            return cur.rowcount == 1

    async def document_names(self) -> list[str]:
        self._check_open()

        async def names() -> list[str]:
            async with self._reader.use() as conn, conn.transaction():
                cur = await conn.execute("SELECT name FROM coscribe_documents ORDER BY name")
                return [str(r[0]) for r in await cur.fetchall()]

        return await self._guard("listing documents", names())

    async def delete(self, name: str) -> bool:
        """Delete ``name`` and its log after committing its queued appends."""
        self._check_open()
        await self._wait_settled(self._last_ticket(name))

        async def delete() -> bool:
            async with self._control.use() as conn, conn.transaction():
                cur = await conn.execute(
                    "SELECT 1 FROM coscribe_documents WHERE name = %s FOR UPDATE", (name,)
                )
                if await cur.fetchone() is None:
                    return False
                await conn.execute("DELETE FROM coscribe_updates WHERE name = %s", (name,))
                await conn.execute("DELETE FROM coscribe_documents WHERE name = %s", (name,))
                return True

        return await self._guard(f"deleting {name!r}", delete())

    # ------------------------------------------------------------------ compaction

    def _maybe_compact(self, name: str, log_count: int, log_bytes: int) -> None:
        over = log_count > self._compact_after_updates or log_bytes > self._compact_after_bytes
        if log_count < 2 * self._refused_at.get(name, 0):
            return
        if over and self._state == "open" and name not in self._compacting:
            self._compacting.add(name)
            self._tg.create_task(self._compact_in_background(name), name=f"compact {name}")

    async def _compact_in_background(self, name: str) -> None:
        try:
            await self._compact(name)
        except StorageError as exc:
            log.warning("PostgreSQL store: compaction of %r failed: %s", name, exc)
        finally:
            self._compacting.discard(name)

    async def compact(self, name: str) -> None:
        """Fold the committed log of ``name`` into its snapshot now (safe at any time)."""
        self._check_open()
        await self._wait_settled(self._last_ticket(name))
        await self._compact(name)

    async def _compact(self, name: str) -> None:
        read = await self._guard(f"reading {name!r} to fold", self._read_for_fold(name))
        if read is None:
            return
        incarnation, base_seq, inputs, upto_seq, count = read
        stop = self._stop_folding
        loop = asyncio.get_running_loop()
        folded = await loop.run_in_executor(self._folder, fold_updates, inputs, stop)
        if folded is None or stop.is_set():
            return
        snapshot, refusal = folded
        fold = _Fold(name, incarnation, base_seq, upto_seq, count, snapshot, refusal)
        if refusal is not None:
            self._refused_at[name] = count
            log.warning("PostgreSQL store: not compacting %r: %s; keeping its log", name, refusal)
            return
        if await self._guard(f"compacting {name!r}", self._install(fold)):
            self._refused_at.pop(name, None)
            self.stats.compactions += 1
            log.info(
                "PostgreSQL store: compacted %r: %d log entries -> snapshot of %d bytes",
                name,
                count,
                len(snapshot),
            )

    async def _read_for_fold(self, name: str) -> tuple[str, int, list[bytes], int, int] | None:
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
        inputs = ([] if row[1] is None else [bytes(row[1])]) + [bytes(r[1]) for r in log_rows]
        return str(row[0]), int(row[2]), inputs, int(log_rows[-1][0]), len(log_rows)

    async def _install(self, fold: _Fold) -> bool:
        """Write the snapshot and delete exactly the folded rows, if nothing moved."""
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
                    if len(deleted) != fold.folded_count:
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


class _Refused(Exception):
    """Raised inside the install transaction to roll it back."""


def _brief(exc: BaseException) -> str:
    """One line about a database error, without the connection string."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


__all__ = ["PostgresStore", "is_postgres_url"]
