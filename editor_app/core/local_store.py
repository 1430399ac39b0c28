"""The offline copy of every opened document: one SQLite database in the data directory.

Offline first means the editor must open and edit a document with the server down and
lose nothing when the process is killed. So every document transaction is appended to
SQLite as its Yjs update and committed at once (WAL journal: a commit is a short append,
~tens of µs, and survives the process being killed; ``synchronous=NORMAL`` only risks the
last commits on power loss). Loading replays the stored updates into a fresh ``Doc``
inside one ``Origin.STORE_LOAD`` transaction, which the sync client and the store itself
ignore. Yjs updates are idempotent and commutative, so replaying everything is correct
whatever arrived from where; :meth:`LocalDocument.compact` merges the rows into one when
there are many.

The same database keeps the recent-documents list (URL, title, last opened) and each
copy's *incarnation* (which life of the server document it came from), so a re-created
server document is never silently merged with a stale local copy.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycrdt

from shared.messages import EMPTY_UPDATE
from shared.origins import Origin, origin_matches

from .schema import TITLE, meta
from .schema import title as title_of

#: Updates kept per document before they are merged into one row.
COMPACT_AFTER = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    incarnation TEXT,
    last_opened REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS updates_by_doc ON updates(doc_id, id);
"""


@dataclass(frozen=True)
class RecentEntry:
    url: str
    title: str
    last_opened: float  # seconds since the epoch


class LocalStore:
    """All local document copies in one SQLite file. Synchronous: every call is short.

    Args:
        path: the database file (created with its directory if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per logical write.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._open: list[LocalDocument] = []

    def open_document(self, url: str) -> LocalDocument:
        """The local copy of ``url`` (created empty if new); marks it as opened now."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO documents(url, last_opened) VALUES (?, ?) "
                "ON CONFLICT(url) DO UPDATE SET last_opened = excluded.last_opened",
                (url, time.time()),
            )
            (doc_id,) = db.execute("SELECT id FROM documents WHERE url = ?", (url,)).fetchone()
        document = LocalDocument(self, int(doc_id), url)
        self._open.append(document)
        return document

    def recent(self, limit: int = 20) -> list[RecentEntry]:
        """Documents opened on this computer, most recent first."""
        rows = self._db.execute(
            "SELECT url, title, last_opened FROM documents ORDER BY last_opened DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RecentEntry(str(u), str(t), float(o)) for u, t, o in rows]

    def forget(self, url: str) -> None:
        """Remove a document from the recent list together with its local copy."""
        with self._tx() as db:
            db.execute("DELETE FROM documents WHERE url = ?", (url,))

    def close(self) -> None:
        """Detach every document and close the database (idempotent)."""
        for document in self._open:
            document.detach()
        self._open.clear()
        try:
            self._db.close()
        except sqlite3.ProgrammingError:
            pass  # already closed

    # ------------------------------------------------------------------ internals

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    @property
    def db(self) -> sqlite3.Connection:
        return self._db


class _Transaction:
    """``with store._tx() as db:`` - BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, et: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if et is None else "ROLLBACK")


class LocalDocument:
    """The local copy of one document (obtain it from :meth:`LocalStore.open_document`)."""

    def __init__(self, store: LocalStore, doc_id: int, url: str) -> None:
        self._store = store
        self._id = doc_id
        self.url = url
        self._subs: list[tuple[pycrdt.Doc[Any], Any, pycrdt.Map[Any], Any]] = []
        self._rows_since_compact = 0

    # ------------------------------------------------------------------ content

    def load_into(self, doc: pycrdt.Doc[Any]) -> None:
        """Apply every stored update to ``doc`` in one ``Origin.STORE_LOAD`` transaction."""
        updates = self._updates()
        if not updates:
            return
        with doc.transaction(origin=Origin.STORE_LOAD):
            doc.apply_update(pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0])

    def attach(self, doc: pycrdt.Doc[Any]) -> None:
        """Persist every later update of ``doc`` (except store loads), one commit each."""
        self._update_title(title_of(doc))
        root = meta(doc)
        doc_sub = doc.observe(self._on_transaction)
        meta_sub = root.observe(self._on_meta)
        self._subs.append((doc, doc_sub, root, meta_sub))

    def detach(self) -> None:
        """Stop persisting (idempotent); the app calls this when the window closes."""
        for doc, doc_sub, root, meta_sub in self._subs:
            doc.unobserve(doc_sub)
            root.unobserve(meta_sub)
        self._subs.clear()

    def compact(self) -> None:
        """Merge the stored updates into one row (same document, faster load)."""
        updates = self._updates()
        if len(updates) < 2:
            return
        merged = pycrdt.merge_updates(*updates)
        with self._store._tx() as db:
            db.execute("DELETE FROM updates WHERE doc_id = ?", (self._id,))
            db.execute("INSERT INTO updates(doc_id, data) VALUES (?, ?)", (self._id, merged))
        self._rows_since_compact = 0

    def stored_updates(self) -> int:
        """How many update rows are stored (diagnostics and tests)."""
        (n,) = self._store.db.execute(
            "SELECT COUNT(*) FROM updates WHERE doc_id = ?", (self._id,)
        ).fetchone()
        return int(n)

    # ------------------------------------------------------------------ incarnation

    @property
    def incarnation(self) -> str | None:
        """The server incarnation this copy belongs to (None: never synced)."""
        row = self._store.db.execute(
            "SELECT incarnation FROM documents WHERE id = ?", (self._id,)
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def set_incarnation(self, incarnation: str) -> None:
        with self._store._tx() as db:
            db.execute("UPDATE documents SET incarnation = ? WHERE id = ?", (incarnation, self._id))

    # ------------------------------------------------------------------ conflict choices

    def discard(self) -> None:
        """Forget the local content and incarnation (the next open starts from the server)."""
        self.detach()
        with self._store._tx() as db:
            db.execute("DELETE FROM updates WHERE doc_id = ?", (self._id,))
            db.execute("UPDATE documents SET incarnation = NULL WHERE id = ?", (self._id,))

    def save_as_copy(self, new_url: str) -> None:
        """Store this copy's content under ``new_url`` as a new, never-synced document."""
        updates = self._updates()
        with self._store._tx() as db:
            db.execute(
                "INSERT INTO documents(url, title, last_opened) VALUES (?, "
                "(SELECT title FROM documents WHERE id = ?), ?) "
                "ON CONFLICT(url) DO UPDATE SET last_opened = excluded.last_opened",
                (new_url, self._id, time.time()),
            )
            (new_id,) = db.execute("SELECT id FROM documents WHERE url = ?", (new_url,)).fetchone()
            if updates:
                merged = pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0]
                db.execute("INSERT INTO updates(doc_id, data) VALUES (?, ?)", (new_id, merged))

    # ------------------------------------------------------------------ internals

    def _updates(self) -> list[bytes]:
        rows = self._store.db.execute(
            "SELECT data FROM updates WHERE doc_id = ? ORDER BY id", (self._id,)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def _on_transaction(self, event: pycrdt.TransactionEvent) -> None:
        if origin_matches(event.transaction.origin(), Origin.STORE_LOAD):  # type: ignore[attr-defined]
            return
        update = event.update
        if update == EMPTY_UPDATE:
            return
        with self._store._tx() as db:
            db.execute("INSERT INTO updates(doc_id, data) VALUES (?, ?)", (self._id, update))
        self._rows_since_compact += 1
        if self._rows_since_compact >= COMPACT_AFTER:
            self.compact()  # bytes only: safe inside the doc's observer

    def _on_meta(self, event: pycrdt.MapEvent) -> None:
        change = event.keys.get(TITLE)  # type: ignore[attr-defined]
        if change is not None:
            value = change.get("newValue")
            self._update_title(value if isinstance(value, str) else "")

    def _update_title(self, title: str) -> None:
        with self._store._tx() as db:
            db.execute("UPDATE documents SET title = ? WHERE id = ?", (title, self._id))
