"""The store backends as the contract suite sees them, and an editor that makes updates.

A :class:`Backend` is one database (a MemoryDatabase, an SQLite file, a PostgreSQL
database): :meth:`Backend.open` makes a store on it (call it twice for two nodes, or again
to reopen), and the inspection methods read the database *around* the store, the way an
operator would, so a test can check what was really written.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Unpack

from pycrdt import Doc, Text

from sync_server.memory_store import MemoryDatabase, MemoryStore
from sync_server.sqlite_store import SQLiteStore
from sync_server.store import Revocation
from sync_server.store_base import StoreBase, StoreOptions

NEVER = 10**12  # a compaction threshold that is never reached
TABLES = ("documents", "updates", "tombstones", "revocations", "versions")


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


async def check_upgraded_document(store: StoreBase, editor: Editor, incarnation: str) -> None:
    """A document a previous schema stored (``editor``'s updates so far, ``incarnation``)
    loads as it was, takes appends, and gets a new incarnation when deleted."""
    kept = await store.load("kept")
    assert kept.exists and kept.incarnation == incarnation
    assert kept.updates == editor.updates
    await store.append("kept", editor.type("!"))
    assert await store.delete("kept") is True
    assert (await store.load("kept")).incarnation != incarnation
    assert (await store.add_revocation("token", "t", 0.0)).id == 1


async def check_revocation_beside_writes(
    store: StoreBase, add: Callable[[], Revocation]
) -> Revocation:
    """``add`` (a CLI helper, run on a thread) stores a revocation while ``store`` commits
    appends; ``store`` sees it. Returns it."""
    editor = Editor()
    writes = [store.append("doc", editor.type(str(i))) for i in range(200)]
    added = await asyncio.to_thread(add)
    await asyncio.gather(*writes)
    assert await store.revocations_since(0) == [added]
    return added


class Backend(ABC):
    """One database of one kind, and ways to look into it without the store."""

    kind: str

    @abstractmethod
    def open(self, **options: Unpack[StoreOptions]) -> StoreBase:
        """A new (unopened) store on this database."""

    @abstractmethod
    def rows(self, table: str, name: str | None = None) -> int:
        """Rows in ``table`` (one of :data:`TABLES`), only those of ``name`` if given."""

    @abstractmethod
    def fresh(self) -> Backend:
        """Another, empty database of the same kind."""

    def log_rows(self, name: str) -> int:
        return self.rows("updates", name)


class MemoryBackend(Backend):
    kind = "memory"

    def __init__(self) -> None:
        self.database = MemoryDatabase()

    def open(self, **options: Unpack[StoreOptions]) -> StoreBase:
        return MemoryStore(self.database, **options)

    def rows(self, table: str, name: str | None = None) -> int:
        db = self.database
        names: list[str] = {
            "documents": list(db.documents),
            "updates": [n for n, d in db.documents.items() for _ in d.log],
            "tombstones": list(db.generations),
            "revocations": [r.key for r in db.revocations],
            "versions": [n for n, rows in db.versions.items() for _ in rows],
        }[table]
        return len(names) if name is None else names.count(name)

    def fresh(self) -> Backend:
        return MemoryBackend()


class SQLiteBackend(Backend):
    kind = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "coscribe.sqlite3"

    def open(self, **options: Unpack[StoreOptions]) -> StoreBase:
        return SQLiteStore(self.path, **options)

    def rows(self, table: str, name: str | None = None) -> int:
        assert table in TABLES
        if not self.path.exists():
            return 0
        column = "key" if table == "revocations" else "name"
        where, args = ("", ()) if name is None else (f" WHERE {column} = ?", (name,))
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}{where}", args).fetchone()
        return int(row[0])

    def fresh(self) -> Backend:
        return SQLiteBackend(self.directory / "other")


class PostgresBackend(Backend):
    kind = "postgres"

    def __init__(self, url: str, new_database: Callable[[], str]) -> None:
        self.url = url
        self._new_database = new_database

    def open(self, **options: Unpack[StoreOptions]) -> StoreBase:
        from sync_server.postgres_store import PostgresStore

        return PostgresStore(self.url, **options)

    def rows(self, table: str, name: str | None = None) -> int:
        import psycopg
        from psycopg import sql

        assert table in TABLES
        column = "key" if table == "revocations" else "name"
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(f"coscribe_{table}"))
        if name is not None:
            query += sql.SQL(" WHERE {} = %s").format(sql.Identifier(column))
        with psycopg.connect(self.url) as conn:
            try:
                row = conn.execute(query, () if name is None else (name,)).fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
        assert row is not None
        return int(row[0])

    def fresh(self) -> Backend:
        return PostgresBackend(self._new_database(), self._new_database)
