"""The embedded durable document store: one SQLite file in WAL mode with group commit.

Why it is shaped like this (details and the durability guarantee: ``docs/storage.md``):

* **Group commit.** ``append`` only queues. One writer task takes *everything* queued since
  the previous commit and writes it in one transaction on a dedicated thread that owns the
  write connection, then resolves those futures in append order. With ``synchronous=FULL``
  every commit fsyncs the WAL, so durability costs one fsync per batch, not per keystroke.
* **Separate threads for reads and folding.** WAL lets readers run beside the writer, so a
  load never waits behind a large commit, and the CPU-heavy fold of a compaction runs on its
  own thread; only its short install transaction goes through the writer thread.
* **Compaction from storage.** A fold reads snapshot + log up to ``seq`` S in one read
  transaction, builds the snapshot in a fresh pycrdt Doc (created and used only on the fold
  thread), and installs it only if the row is still the one it read, deleting exactly the
  entries it folded. Entries committed meanwhile (by us or by another node) have ``seq`` > S,
  so nothing can fall between snapshot and log.

Update payloads are never logged: only names, counts and sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from shared.errors import InvalidState, StorageError

from .datadir import prepare_data_dir
from .fold import fold_updates
from .group_commit import GroupCommitStore
from .store import StoredDocument, new_incarnation

log = logging.getLogger(__name__)

#: Schema version kept in ``PRAGMA user_version``; bump it and add a migration step.
SCHEMA_VERSION = 1


#: ``_MIGRATIONS[v]`` upgrades a database from version ``v - 1`` to ``v``.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE documents (
            name TEXT PRIMARY KEY,
            incarnation TEXT NOT NULL,
            created_at REAL NOT NULL,
            snapshot BLOB,
            snapshot_seq INTEGER NOT NULL DEFAULT 0,
            log_count INTEGER NOT NULL DEFAULT 0,
            log_bytes INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE updates (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            data BLOB NOT NULL
        )""",
        "CREATE INDEX updates_by_name ON updates (name, seq)",
    ),
}

_T = TypeVar("_T")


# --- functions that run on a store thread, each with the connection that thread owns ---


#: RETURNING (used to keep the per-document log counters exact) needs SQLite 3.35.
MIN_SQLITE_VERSION = (3, 35, 0)


def _connect(path: Path, writer: bool) -> sqlite3.Connection:
    """Open a connection with the pragmas durability depends on; migrate if ``writer``."""
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        needed = ".".join(map(str, MIN_SQLITE_VERSION))
        raise StorageError(f"SQLite {sqlite3.sqlite_version} is too old; {needed} or newer needed")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"cannot open database {path}: WAL mode unavailable ({mode})")
        conn.execute("PRAGMA synchronous = FULL")
        if writer:
            _migrate(conn, path)
        else:
            conn.execute("PRAGMA query_only = 1")
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    except StorageError:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    with _transaction(conn, "IMMEDIATE"):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"database {path} has schema version {version}; this server knows up to "
                f"{SCHEMA_VERSION} (upgrade coscribe-server)"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "DEFERRED") -> Iterator[None]:
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            conn.rollback()
        raise
    conn.execute("COMMIT")


def _ensure_row(conn: sqlite3.Connection, name: str, now: float) -> bool:
    cur = conn.execute(
        "INSERT OR IGNORE INTO documents (name, incarnation, created_at) VALUES (?, ?, ?)",
        (name, new_incarnation(), now),
    )
    return cur.rowcount == 1


def _commit_batch(
    conn: sqlite3.Connection, entries: list[tuple[str, bytes]], now: float
) -> dict[str, tuple[int, int]]:
    """Write ``entries`` in one transaction; return each touched document's log size."""
    per_doc: dict[str, list[int]] = {}
    with _transaction(conn, "IMMEDIATE"):
        for name, data in entries:
            if name not in per_doc:
                _ensure_row(conn, name, now)
                per_doc[name] = [0, 0]
            conn.execute("INSERT INTO updates (name, data) VALUES (?, ?)", (name, data))
            per_doc[name][0] += 1
            per_doc[name][1] += len(data)
        sizes: dict[str, tuple[int, int]] = {}
        for name, (count, nbytes) in per_doc.items():
            row = conn.execute(
                "UPDATE documents SET log_count = log_count + ?, log_bytes = log_bytes + ? "
                "WHERE name = ? RETURNING log_count, log_bytes",
                (count, nbytes, name),
            ).fetchone()
            sizes[name] = (int(row[0]), int(row[1]))
    return sizes


def _create(conn: sqlite3.Connection, name: str, now: float) -> bool:
    with _transaction(conn, "IMMEDIATE"):
        return _ensure_row(conn, name, now)


@dataclass(frozen=True, slots=True)
class _Row:
    incarnation: str
    updates: list[bytes]
    log_count: int
    log_bytes: int


def _read(conn: sqlite3.Connection, name: str) -> _Row | None:
    """Snapshot + log tail in seq order, read in one transaction (a consistent view)."""
    with _transaction(conn):
        row = conn.execute(
            "SELECT incarnation, snapshot, log_count, log_bytes FROM documents WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        updates = [] if row[1] is None else [bytes(row[1])]
        updates += [
            bytes(r[0])
            for r in conn.execute("SELECT data FROM updates WHERE name = ? ORDER BY seq", (name,))
        ]
    return _Row(str(row[0]), updates, int(row[2]), int(row[3]))


def _names(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT name FROM documents ORDER BY name")]


def _delete(conn: sqlite3.Connection, name: str) -> bool:
    with _transaction(conn, "IMMEDIATE"):
        conn.execute("DELETE FROM updates WHERE name = ?", (name,))
        return conn.execute("DELETE FROM documents WHERE name = ?", (name,)).rowcount == 1


# --- compaction: runs on the fold thread; pycrdt objects never leave it ---


@dataclass(frozen=True, slots=True)
class _Fold:
    """A snapshot built from storage, and the exact log range it replaces."""

    name: str
    incarnation: str
    base_seq: int  # snapshot_seq of the row that was read (optimistic-concurrency check)
    upto_seq: int  # highest folded log seq: the install deletes exactly seq <= upto_seq
    folded_count: int
    snapshot: bytes
    refusal: str | None  # why the fold is not provably lossless (None: safe to install)


def _build_snapshot(conn: sqlite3.Connection, name: str, stop: threading.Event) -> _Fold | None:
    """Read what to fold (one read transaction) and fold it; None if nothing to do."""
    with _transaction(conn):
        row = conn.execute(
            "SELECT incarnation, snapshot, snapshot_seq FROM documents WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        log_rows = conn.execute(
            "SELECT seq, data FROM updates WHERE name = ? ORDER BY seq", (name,)
        ).fetchall()
    if not log_rows:
        return None
    inputs = ([] if row[1] is None else [bytes(row[1])]) + [bytes(r[1]) for r in log_rows]
    folded = fold_updates(inputs, stop)
    if folded is None:
        return None
    snapshot, refusal = folded
    return _Fold(
        name, str(row[0]), int(row[2]), int(log_rows[-1][0]), len(log_rows), snapshot, refusal
    )


def _install_snapshot(conn: sqlite3.Connection, fold: _Fold) -> bool:
    """Replace the snapshot and delete exactly the folded entries, if nothing moved."""
    with _transaction(conn, "IMMEDIATE"):
        row = conn.execute(
            "SELECT incarnation, snapshot_seq FROM documents WHERE name = ?", (fold.name,)
        ).fetchone()
        if row is None or (str(row[0]), int(row[1])) != (fold.incarnation, fold.base_seq):
            return False  # deleted, re-created or compacted by someone else meanwhile
        deleted = conn.execute(
            "DELETE FROM updates WHERE name = ? AND seq <= ? RETURNING length(data)",
            (fold.name, fold.upto_seq),
        ).fetchall()
        if len(deleted) != fold.folded_count:
            # Cannot happen while seq only grows; refuse rather than risk a lost update.
            conn.rollback()
            return False
        conn.execute(
            "UPDATE documents SET snapshot = ?, snapshot_seq = ?, log_count = log_count - ?, "
            "log_bytes = log_bytes - ? WHERE name = ?",
            (
                fold.snapshot,
                fold.upto_seq,
                len(deleted),
                sum(int(r[0]) for r in deleted),
                fold.name,
            ),
        )
    return True


# --- the asyncio side ---


class _Thread:
    """One dedicated thread and the SQLite connection that only it touches."""

    def __init__(self, label: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=label)
        self.conn: sqlite3.Connection | None = None

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def close(self) -> None:
        if self.conn is not None:
            await self.run(self.conn.close)
            self.conn = None
        self.executor.shutdown(wait=True)


class SQLiteStore(GroupCommitStore):
    """Durable :class:`~sync_server.store.DocumentStore` backed by one SQLite database file.

    Use as ``async with SQLiteStore(path) as store:`` from one task (the store's TaskGroup
    belongs to that task). ``path`` is the database file; its directory is created if
    missing and must be writable, else :class:`StorageError` ("cannot write data directory
    ...").

    Args:
        compact_after_updates: fold a document's log once it has more entries than this.
        compact_after_bytes: ... or once its entries total more bytes than this.
        max_queue_bytes: queued-but-uncommitted bytes above which :meth:`wait_writable`
            blocks. ``append`` itself never refuses or drops.
    """

    _commit_errors = (sqlite3.Error, OSError)

    def __init__(
        self,
        path: Path,
        *,
        compact_after_updates: int = 1000,
        compact_after_bytes: int = 1024 * 1024,
        max_queue_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if min(compact_after_updates, compact_after_bytes, max_queue_bytes) < 1:
            raise ValueError("store thresholds must be positive")
        self._path = Path(path)
        super().__init__(f"store {self._path}", max_queue_bytes)
        self._compact_after_updates = compact_after_updates
        self._compact_after_bytes = compact_after_bytes
        self._stack = contextlib.AsyncExitStack()
        self._tg = asyncio.TaskGroup()
        self._writer = _Thread("coscribe-store-write")
        self._reader = _Thread("coscribe-store-read")
        self._folder = _Thread("coscribe-store-fold")
        self._stop_folding = threading.Event()
        self._compacting: set[str] = set()
        # name -> log length when a fold was refused; retried once the log has doubled,
        # so a document with a missing dependency does not cost a fold per commit.
        self._refused_at: dict[str, int] = {}

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise InvalidState("an SQLiteStore can be opened only once")
        self._state = "opening"
        try:
            await self._writer.run(prepare_data_dir, self._path.parent)
            self._writer.conn = await self._writer.run(_connect, self._path, True)
            self._reader.conn = await self._reader.run(_connect, self._path, False)
            self._folder.conn = await self._folder.run(_connect, self._path, False)
            await self._stack.enter_async_context(self._tg)
        except BaseException:
            await self._close_threads()
            self._state = "closed"
            raise
        self._tg.create_task(self._write_loop(), name=f"store-writer {self._path}")
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
            await self._stack.aclose()  # waits for the writer to drain the queue
        finally:
            self._state = "closed"
            self._close_queue()
            await self._close_threads()

    async def _close_threads(self) -> None:
        for thread in (self._folder, self._reader, self._writer):
            await thread.close()

    # --- appends and group commit ---

    async def _write_batch(self, entries: list[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
        return await self._writer.run(_commit_batch, self._writer.conn, entries, time.time())

    # --- reads, deletes ---

    async def _call(self, thread: _Thread, what: str, fn: Callable[..., _T], *args: object) -> _T:
        self._check_open()
        try:
            return await thread.run(fn, thread.conn, *args)
        except (sqlite3.Error, OSError) as exc:
            self.stats.errors += 1
            raise StorageError(f"{what} failed: {exc}") from exc

    async def load(self, name: str) -> StoredDocument:
        """Snapshot + log tail of ``name``; creates it with a new incarnation if absent.

        Waits for this document's queued appends first, so a load sees its own writes.
        """
        await self._wait_settled(self._last_ticket(name))
        row = await self._call(self._reader, f"loading {name!r}", _read, name)
        if row is None:
            if await self._call(self._writer, f"creating {name!r}", _create, name, time.time()):
                row = await self._call(self._reader, f"loading {name!r}", _read, name)
                if row is not None:
                    return StoredDocument(row.incarnation, row.updates, created=True)
            row = await self._call(self._reader, f"loading {name!r}", _read, name)
            if row is None:
                raise StorageError(f"document {name!r} was deleted while it was loading")
        self._maybe_compact(name, row.log_count, row.log_bytes)
        return StoredDocument(row.incarnation, row.updates)

    async def document_names(self) -> list[str]:
        return await self._call(self._reader, "listing documents", _names)

    async def delete(self, name: str) -> bool:
        """Delete ``name`` after committing its queued appends; a later load re-creates it
        with a new incarnation. The relay must stop appending to the room first."""
        await self._wait_settled(self._last_ticket(name))
        return await self._call(self._writer, f"deleting {name!r}", _delete, name)

    # --- compaction ---

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
            log.warning("store %s: compaction of %r failed: %s", self._path, name, exc)
        finally:
            self._compacting.discard(name)

    async def compact(self, name: str) -> None:
        """Fold the committed log of ``name`` into its snapshot now (safe at any time).

        Leaves the log untouched (and logs a warning) if the fold could not be proven
        lossless, e.g. when an update's dependencies are missing from storage.
        """
        await self._wait_settled(self._last_ticket(name))
        await self._compact(name)

    async def _compact(self, name: str) -> None:
        stop = self._stop_folding
        fold = await self._call(self._folder, f"folding {name!r}", _build_snapshot, name, stop)
        if fold is None or stop.is_set():
            return
        if fold.refusal is not None:
            self._refused_at[name] = fold.folded_count
            log.warning(
                "store %s: not compacting %r: %s; keeping its log", self._path, name, fold.refusal
            )
            return
        if await self._call(self._writer, f"compacting {name!r}", _install_snapshot, fold):
            self._refused_at.pop(name, None)
            self.stats.compactions += 1
            log.info(
                "store %s: compacted %r: %d log entries -> snapshot of %d bytes",
                self._path,
                name,
                fold.folded_count,
                len(fold.snapshot),
            )
