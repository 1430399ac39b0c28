"""The embedded durable document store: one SQLite file in WAL mode.

The contract, group commit and compaction policy live in :class:`~.store_base.StoreBase`;
this module is the SQLite half (``docs/storage.md``):

* **Durability.** WAL with ``synchronous=FULL``: every commit fsyncs the WAL, and group
  commit makes that one fsync per batch.
* **Two threads, two connections.** The write connection (group commits, deletes,
  snapshot installs, revocations, migrations) and a ``query_only`` read connection
  (loads, listings, the read of a fold) each live on a thread of their own. WAL lets the
  reader run beside the writer, so a load never waits behind a large commit.
* **Compaction from storage.** SQLite runs one write transaction at a time and ``seq`` is
  AUTOINCREMENT, so every row committed after a fold's read has a higher seq than the
  fold saw: the install deletes exactly the rows it folded.

:func:`add_revocation_sync` stores a revocation from another process (the CLI) while the
server runs: WAL and the busy timeout let it wait its turn.

Update payloads are never logged: only names, counts and sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar, Unpack

from shared.errors import StorageError

from .datadir import prepare_data_dir
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
    ),
    Step(
        2,
        "first-write creation (database id, delete generations) and revocations",
        (
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT INTO meta (key, value) VALUES ('database_id', lower(hex(randomblob(16))))",
            """CREATE TABLE tombstones (
                name TEXT PRIMARY KEY,
                generation INTEGER NOT NULL
            )""",
            """CREATE TABLE revocations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('token', 'document')),
                key TEXT NOT NULL,
                not_before REAL NOT NULL,
                revoked_at REAL NOT NULL
            )""",
        ),
    ),
    Step(
        3,
        "version history",
        (
            """CREATE TABLE versions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL,
                incarnation TEXT NOT NULL,
                created_at REAL NOT NULL,
                label TEXT,
                automatic INTEGER NOT NULL,
                authors TEXT NOT NULL,
                data BLOB NOT NULL
            )""",
            "CREATE INDEX versions_by_name ON versions (name, id)",
        ),
    ),
    Step(
        4,
        "access links minted by owners",
        (
            """CREATE TABLE links (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at REAL NOT NULL,
                expires_at REAL,
                revoked_at REAL,
                token TEXT NOT NULL
            )""",
            "CREATE INDEX links_by_name ON links (name, created_at)",
        ),
    ),
    Step(
        5,
        "the document library: titles, last change, trash",
        (
            "ALTER TABLE documents ADD COLUMN title TEXT",
            "ALTER TABLE documents ADD COLUMN updated_at REAL",
            "ALTER TABLE documents ADD COLUMN last_editor TEXT",
            "ALTER TABLE documents ADD COLUMN trashed_at REAL",
        ),
    ),
)

#: RETURNING (used to keep the per-document log counters exact) needs SQLite 3.35.
MIN_SQLITE_VERSION = (3, 35, 0)
#: How long a writer waits for another process's write transaction (milliseconds).
BUSY_TIMEOUT_MS = 30_000

_T = TypeVar("_T")


# --- functions that run on a store thread, each with the connection that thread owns ---


def _connect(path: Path, writer: bool) -> sqlite3.Connection:
    """Open a connection with the pragmas durability depends on; migrate if ``writer``."""
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        needed = ".".join(map(str, MIN_SQLITE_VERSION))
        raise StorageError(f"SQLite {sqlite3.sqlite_version} is too old; {needed} or newer needed")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for step in SCHEMA.pending(found, f"database {path}"):
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step.version}")


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


def _database_id(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0])


def _generation(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT generation FROM tombstones WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


#: Bound values per statement of a commit (SQLite allows 32,766 since 3.32).
_MAX_VALUES = 30_000


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _commit_batch(
    conn: sqlite3.Connection,
    entries: list[tuple[str, bytes]],
    now: float,
    incarnation: Callable[[str, int], str],
) -> LogSizes:
    """Write ``entries`` in one transaction, creating the rows of new documents.

    A few statements per batch, however many documents and updates it holds (one read of
    the documents' sizes, one UPDATE of them, one multi-row INSERT of the updates): the
    writer thread takes and releases the GIL around every statement, and it shares that
    GIL with the event loop, so a commit costs the loop a few handovers, not two per
    document and one per update.
    """
    added = sizes_added(entries)
    names = list(added)
    found: dict[str, tuple[int, int]] = {}
    sizes: LogSizes = {}
    with _transaction(conn, "IMMEDIATE"):
        for part in _chunks(names, _MAX_VALUES):
            marks = ",".join("?" * len(part))
            (rows,) = conn.execute(
                "SELECT json_group_array(json_array(name, log_count, log_bytes)) "
                f"FROM documents WHERE name IN ({marks})",
                part,
            ).fetchone()
            found.update((n, (int(c), int(b))) for n, c, b in json.loads(rows))
        known = [n for n in names if n in found]
        for part in _chunks(known, _MAX_VALUES // 3):
            values = ",".join("(?,?,?)" for _ in part)
            params: list[object] = []
            for n in part:
                params += (n, added[n][0], added[n][1])
            conn.execute(
                "UPDATE documents SET log_count = log_count + v.column2, "
                "log_bytes = log_bytes + v.column3 "
                f"FROM (VALUES {values}) AS v WHERE documents.name = v.column1",
                params,
            )
        for name in names:
            count, nbytes = added[name]
            if name in found:
                before = found[name]
                sizes[name] = (before[0] + count, before[1] + nbytes)
                continue
            # The first write: writers are serialised, so no race here (and it is rare).
            conn.execute(
                "INSERT INTO documents (name, incarnation, created_at, log_count, log_bytes) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, incarnation(name, _generation(conn, name)), now, count, nbytes),
            )
            sizes[name] = (count, nbytes)
        for chunk in _chunks(entries, _MAX_VALUES // 2):
            rows_sql = ",".join("(?,?)" for _ in chunk)
            conn.execute(
                f"INSERT INTO updates (name, data) VALUES {rows_sql}",
                [value for entry in chunk for value in entry],
            )
    return sizes


def _read(conn: sqlite3.Connection, name: str) -> DocumentRead:
    """Snapshot + log tail in seq order, read in one transaction (a consistent view)."""
    with _transaction(conn):
        row = conn.execute(
            "SELECT incarnation, snapshot, log_count, log_bytes FROM documents WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return DocumentRead(None, _generation(conn, name))
        updates = [] if row[1] is None else [bytes(row[1])]
        updates += [
            bytes(r[0])
            for r in conn.execute("SELECT data FROM updates WHERE name = ? ORDER BY seq", (name,))
        ]
    return DocumentRead(str(row[0]), 0, updates, int(row[2]), int(row[3]))


def _read_for_fold(conn: sqlite3.Connection, name: str) -> FoldInput | None:
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
    updates = ([] if row[1] is None else [bytes(row[1])]) + [bytes(r[1]) for r in log_rows]
    return FoldInput(str(row[0]), int(row[2]), int(log_rows[-1][0]), len(log_rows), updates)


class _Refused(Exception):
    """Raised inside a transaction to roll it back."""


def _install(conn: sqlite3.Connection, fold: Fold) -> bool:
    try:
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
            if len(deleted) != fold.count:
                raise _Refused  # cannot happen while seq only grows; never risk a lost update
            conn.execute(
                "UPDATE documents SET snapshot = ?, snapshot_seq = ?, "
                "log_count = log_count - ?, log_bytes = log_bytes - ? WHERE name = ?",
                (fold.snapshot, fold.upto_seq, len(deleted), sum(r[0] for r in deleted), fold.name),
            )
    except _Refused:
        return False
    return True


def _delete(conn: sqlite3.Connection, name: str) -> bool:
    with _transaction(conn, "IMMEDIATE"):
        conn.execute("DELETE FROM updates WHERE name = ?", (name,))
        conn.execute("DELETE FROM versions WHERE name = ?", (name,))
        existed = conn.execute("DELETE FROM documents WHERE name = ?", (name,)).rowcount == 1
        conn.execute(
            "INSERT INTO tombstones (name, generation) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET generation = generation + 1",
            (name,),
        )
    return existed


def _names(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT name FROM documents ORDER BY name")]


def _insert_revocation(
    conn: sqlite3.Connection, kind: str, key: str, not_before: float, revoked_at: float
) -> Revocation:
    with _transaction(conn, "IMMEDIATE"):
        row = conn.execute(
            "INSERT INTO revocations (kind, key, not_before, revoked_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (kind, key, not_before, revoked_at),
        ).fetchone()
    return Revocation(int(row[0]), revocation_kind(kind), key, not_before, revoked_at)


def _revocations_since(conn: sqlite3.Connection, after_id: int) -> list[Revocation]:
    rows = conn.execute(
        "SELECT id, kind, key, not_before, revoked_at FROM revocations WHERE id > ? ORDER BY id",
        (after_id,),
    ).fetchall()
    return [Revocation.of_row(r) for r in rows]


def _insert_version(
    conn: sqlite3.Connection, name: str, incarnation: str, v: NewVersion
) -> VersionInfo | None:
    with _transaction(conn, "IMMEDIATE"):
        row = conn.execute(
            "INSERT INTO versions (name, incarnation, created_at, label, automatic, authors, data) "
            "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS "
            "(SELECT 1 FROM documents WHERE name = ? AND incarnation = ?) RETURNING id",
            (name, incarnation, v.created_at, v.label, int(v.automatic), json.dumps(v.authors),
             v.data, name, incarnation),
        ).fetchone()  # fmt: skip
    if row is None:
        return None
    return VersionInfo(int(row[0]), v.created_at, v.label, v.automatic, v.authors, len(v.data))


_CURRENT = "name = ? AND incarnation = (SELECT incarnation FROM documents WHERE name = ?)"


def _versions(conn: sqlite3.Connection, name: str) -> list[VersionInfo]:
    rows = conn.execute(
        "SELECT id, created_at, label, automatic, authors, length(data) FROM versions "
        f"WHERE {_CURRENT} ORDER BY id DESC",
        (name, name),
    ).fetchall()
    return [version_of_row(r) for r in rows]


def _version_data(conn: sqlite3.Connection, name: str, version_id: int) -> bytes | None:
    row = conn.execute(
        f"SELECT data FROM versions WHERE id = ? AND {_CURRENT}", (version_id, name, name)
    ).fetchone()
    return None if row is None else bytes(row[0])


def _drop_versions(conn: sqlite3.Connection, name: str, ids: list[int]) -> None:
    with _transaction(conn, "IMMEDIATE"):
        for part in _chunks(ids, _MAX_VALUES):
            marks = ",".join("?" * len(part))
            conn.execute(f"DELETE FROM versions WHERE name = ? AND id IN ({marks})", [name, *part])


def _set_info(
    conn: sqlite3.Connection, name: str, title: str | None, at: float, editor: str | None
) -> None:
    with _transaction(conn, "IMMEDIATE"):
        conn.execute(
            "UPDATE documents SET title = coalesce(?, title), updated_at = ?, "
            "last_editor = coalesce(?, last_editor) WHERE name = ?",
            (title, at, editor, name),
        )


_ENTRY = (
    "SELECT name, title, created_at, updated_at, last_editor, "
    "log_bytes + coalesce(length(snapshot), 0), trashed_at FROM documents "
)


def _catalog(
    conn: sqlite3.Connection, pattern: str, query: str | None, trashed: bool, limit: int
) -> list[DocumentEntry]:
    return [
        DocumentEntry.of_row(r) for r in _catalog_rows(conn, _ENTRY, pattern, query, trashed, limit)
    ]


#: The library entry as JSON, built by SQLite (see library.with_people).
_ENTRY_JSON = (
    "SELECT name, json_object('name', name, 'title', title, 'created_at', created_at, "
    "'updated_at', coalesce(updated_at, created_at), 'last_editor', last_editor, "
    "'size', log_bytes + coalesce(length(snapshot), 0), 'trashed_at', trashed_at) "
    "FROM documents "
)


def _catalog_json(
    conn: sqlite3.Connection, pattern: str, query: str | None, trashed: bool, limit: int
) -> list[tuple[str, str]]:
    return _catalog_rows(conn, _ENTRY_JSON, pattern, query, trashed, limit)


def _catalog_rows(
    conn: sqlite3.Connection,
    select: str,
    pattern: str,
    query: str | None,
    trashed: bool,
    limit: int,
) -> list[Any]:
    where = ["trashed_at IS NOT NULL" if trashed else "trashed_at IS NULL"]
    args: list[object] = []
    start, is_prefix = split_pattern(pattern)
    if not is_prefix:
        where.append("name = ?")
        args.append(start)
    elif start:
        where.append("name LIKE ? ESCAPE '\\'")
        args.append(prefix_pattern(start))
    if query is not None:
        where.append("(title LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')")
        args += [like_pattern(query)] * 2
    return conn.execute(
        select + f"WHERE {' AND '.join(where)} "
        "ORDER BY coalesce(updated_at, created_at) DESC LIMIT ?",
        [*args, limit],
    ).fetchall()


def _set_trashed(conn: sqlite3.Connection, name: str, at: float | None) -> bool:
    with _transaction(conn, "IMMEDIATE"):
        return bool(
            conn.execute("UPDATE documents SET trashed_at = ? WHERE name = ?", (at, name)).rowcount
        )


def _trashed_before(conn: sqlite3.Connection, cutoff: float) -> list[str]:
    rows = conn.execute("SELECT name FROM documents WHERE trashed_at < ?", (cutoff,)).fetchall()
    return [str(r[0]) for r in rows]


_LINK_COLUMNS = "id, name, role, created_at, expires_at, revoked_at, token"


def _insert_link(conn: sqlite3.Connection, link: LinkRecord) -> None:
    with _transaction(conn, "IMMEDIATE"):
        conn.execute(
            f"INSERT INTO links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (link.id, link.name, str(link.role), link.created_at, link.expires_at,
             link.revoked_at, link.token),
        )  # fmt: skip


def _links(conn: sqlite3.Connection, name: str) -> list[LinkRecord]:
    rows = conn.execute(
        f"SELECT {_LINK_COLUMNS} FROM links WHERE name = ? ORDER BY created_at DESC, id",
        (name,),
    ).fetchall()
    return [LinkRecord.of_row(r) for r in rows]


def _mark_link_revoked(conn: sqlite3.Connection, name: str, link_id: str, at: float) -> bool:
    with _transaction(conn, "IMMEDIATE"):
        found = conn.execute(
            "UPDATE links SET revoked_at = coalesce(revoked_at, ?) WHERE name = ? AND id = ?",
            (at, name, link_id),
        ).rowcount
    return bool(found)


def add_revocation_sync(path: Path, kind: str, key: str, not_before: float) -> Revocation:
    """Store a revocation in the database file ``path`` from outside the server (the CLI),
    also while a server uses the file; committed when this returns."""
    checked = revocation_kind(kind)
    conn = _connect(Path(path), writer=True)
    try:
        return _insert_revocation(conn, checked, key, not_before, time.time())
    except sqlite3.Error as exc:
        raise StorageError(f"storing a revocation in {path} failed: {exc}") from exc
    finally:
        conn.close()


def trash_sync(path: Path, name: str) -> bool:
    """Move ``name`` to the trash in the database file ``path`` from outside the server (the
    CLI), also while servers use the file (they close its peers within TRASH_POLL s);
    False if there is no such document."""
    conn = _connect(Path(path), writer=True)
    try:
        return _set_trashed(conn, name, time.time())
    except sqlite3.Error as exc:
        raise StorageError(f"trashing {name!r} in {path} failed: {exc}") from exc
    finally:
        conn.close()


# --- the asyncio side ---


class _Thread:
    """One dedicated thread and the SQLite connection that only it touches."""

    def __init__(self, label: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=label)
        self.conn: sqlite3.Connection | None = None

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def call(self, fn: Callable[..., _T], *args: object) -> _T:
        """``fn(connection, *args)`` on this thread."""
        return await self.run(fn, self.conn, *args)

    async def close(self) -> None:
        if self.conn is not None:
            await self.run(self.conn.close)
            self.conn = None
        self.executor.shutdown(wait=True)


class SQLiteStore(StoreBase):
    """Durable :class:`~sync_server.store.DocumentStore` backed by one SQLite database file.

    ``path`` is the database file; its directory is created if missing and must be
    writable, else :class:`StorageError` ("cannot write data directory ..."). Options as
    for :class:`~sync_server.store_base.StoreBase`.
    """

    failures = (sqlite3.Error, OSError)

    def __init__(
        self,
        path: Path,
        **options: Unpack[StoreOptions],
    ) -> None:
        self._path = Path(path)
        super().__init__(f"store {self._path}", **options)
        self._writer_thread = _Thread("coscribe-store-write")
        self._reader = _Thread("coscribe-store-read")

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def _open_storage(self, stack: AsyncExitStack) -> str:
        writer, reader = self._writer_thread, self._reader
        stack.push_async_callback(writer.close)
        await writer.run(prepare_data_dir, self._path.parent)
        writer.conn = await writer.run(_connect, self._path, True)
        stack.push_async_callback(reader.close)
        reader.conn = await reader.run(_connect, self._path, False)
        return await writer.call(_database_id)

    async def _read(self, name: str) -> DocumentRead:
        return await self._reader.call(_read, name)

    async def _append_batch(self, entries: list[tuple[str, bytes]], now: float) -> LogSizes:
        return await self._writer_thread.call(_commit_batch, entries, now, self._incarnation)

    async def _read_for_fold(self, name: str) -> FoldInput | None:
        return await self._reader.call(_read_for_fold, name)

    async def _install(self, fold: Fold) -> bool:
        return await self._writer_thread.call(_install, fold)

    async def _delete(self, name: str) -> bool:
        return await self._writer_thread.call(_delete, name)

    async def _names(self) -> list[str]:
        return await self._reader.call(_names)

    async def _add_revocation(
        self, kind: RevocationKind, key: str, not_before: float, revoked_at: float
    ) -> Revocation:
        return await self._writer_thread.call(_insert_revocation, kind, key, not_before, revoked_at)

    async def _revocations_since(self, after_id: int) -> list[Revocation]:
        return await self._reader.call(_revocations_since, after_id)

    async def _insert_version(
        self, name: str, incarnation: str, version: NewVersion
    ) -> VersionInfo | None:
        return await self._writer_thread.call(_insert_version, name, incarnation, version)

    async def _versions(self, name: str) -> list[VersionInfo]:
        return await self._reader.call(_versions, name)

    async def _version_data(self, name: str, version_id: int) -> bytes | None:
        return await self._reader.call(_version_data, name, version_id)

    async def _drop_versions(self, name: str, ids: list[int]) -> None:
        await self._writer_thread.call(_drop_versions, name, ids)

    async def _insert_link(self, link: LinkRecord) -> None:
        await self._writer_thread.call(_insert_link, link)

    async def _links(self, name: str) -> list[LinkRecord]:
        return await self._reader.call(_links, name)

    async def _mark_link_revoked(self, name: str, link_id: str, at: float) -> bool:
        return await self._writer_thread.call(_mark_link_revoked, name, link_id, at)

    async def _set_info(
        self, name: str, title: str | None, updated_at: float, last_editor: str | None
    ) -> None:
        await self._writer_thread.call(_set_info, name, title, updated_at, last_editor)

    async def _catalog(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[DocumentEntry]:
        return await self._reader.call(_catalog, pattern, query, trashed, limit)

    async def _set_trashed(self, name: str, at: float | None) -> bool:
        return await self._writer_thread.call(_set_trashed, name, at)

    async def _trashed_before(self, cutoff: float) -> list[str]:
        return await self._reader.call(_trashed_before, cutoff)

    async def _catalog_json(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[tuple[str, str]]:
        return await self._reader.call(_catalog_json, pattern, query, trashed, limit)
