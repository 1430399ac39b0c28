"""``MemoryStore``: the store contract without a disk (tests, ``--data-dir :memory:``).

It runs through the same :class:`~sync_server.store_base.StoreBase` as the durable stores
(group commit, first-write creation, incarnations, compaction, revocations), so a test
against it tests the relay's real store behaviour; only "committed" means "in this
process's memory". The data lives in a :class:`MemoryDatabase`, which several stores may
share, like nodes sharing one PostgreSQL database or a server reopening its file.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Unpack

from .fold import Fold, FoldInput
from .group_commit import LogSizes
from .library import DocumentEntry, split_pattern
from .links import LinkRecord
from .store import Revocation, RevocationKind
from .store_base import DocumentRead, StoreBase, StoreOptions
from .versions import NewVersion, VersionInfo


@dataclass(slots=True)
class _Document:
    incarnation: str
    created_at: float
    snapshot: bytes | None = None
    snapshot_seq: int = 0
    log: list[tuple[int, bytes]] = field(default_factory=list)  # (seq, update)
    log_bytes: int = 0
    title: str | None = None
    updated_at: float | None = None
    last_editor: str | None = None
    trashed_at: float | None = None


class MemoryDatabase:
    """The tables of the durable backends as Python objects. Every primitive below runs
    without awaiting, so on one event loop each is one atomic transaction."""

    def __init__(self) -> None:
        self.database_id = uuid.uuid4().hex
        self.documents: dict[str, _Document] = {}
        self.generations: dict[str, int] = {}  # the tombstones: deletes per name
        self.revocations: list[Revocation] = []
        self.seq = itertools.count(1)  # log seqs, never reused
        #: Per name: (incarnation, version, stored bytes), oldest first.
        self.versions: dict[str, list[tuple[str, VersionInfo, bytes]]] = {}
        self.version_ids = itertools.count(1)
        self.links: list[LinkRecord] = []

    def log_rows(self, name: str) -> int:
        doc = self.documents.get(name)
        return 0 if doc is None else len(doc.log)


class MemoryStore(StoreBase):
    """A store whose "database" is a :class:`MemoryDatabase` (a fresh one by default)."""

    def __init__(
        self,
        database: MemoryDatabase | None = None,
        **options: Unpack[StoreOptions],
    ) -> None:
        super().__init__("memory store", **options)
        self.database = database if database is not None else MemoryDatabase()

    async def _open_storage(self, stack: AsyncExitStack) -> str:
        return self.database.database_id

    async def _read(self, name: str) -> DocumentRead:
        doc = self.database.documents.get(name)
        if doc is None:
            return DocumentRead(None, self.database.generations.get(name, 0))
        updates = ([] if doc.snapshot is None else [doc.snapshot]) + [u for _, u in doc.log]
        return DocumentRead(doc.incarnation, 0, updates, len(doc.log), doc.log_bytes)

    async def _append_batch(self, entries: list[tuple[str, bytes]], now: float) -> LogSizes:
        db = self.database
        for name, update in entries:
            doc = db.documents.get(name)
            if doc is None:
                incarnation = self._incarnation(name, db.generations.get(name, 0))
                doc = db.documents[name] = _Document(incarnation, now)
            doc.log.append((next(db.seq), update))
            doc.log_bytes += len(update)
        touched = dict.fromkeys(name for name, _ in entries)
        return {
            name: (len(db.documents[name].log), db.documents[name].log_bytes) for name in touched
        }

    async def _read_for_fold(self, name: str) -> FoldInput | None:
        doc = self.database.documents.get(name)
        if doc is None or not doc.log:
            return None
        updates = ([] if doc.snapshot is None else [doc.snapshot]) + [u for _, u in doc.log]
        return FoldInput(doc.incarnation, doc.snapshot_seq, doc.log[-1][0], len(doc.log), updates)

    async def _install(self, fold: Fold) -> bool:
        doc = self.database.documents.get(fold.name)
        if doc is None or (doc.incarnation, doc.snapshot_seq) != (fold.incarnation, fold.base_seq):
            return False
        kept = [(seq, u) for seq, u in doc.log if seq > fold.upto_seq]
        if len(doc.log) - len(kept) != fold.count:
            return False
        doc.snapshot, doc.snapshot_seq, doc.log = fold.snapshot, fold.upto_seq, kept
        doc.log_bytes = sum(len(u) for _, u in kept)
        return True

    async def _delete(self, name: str) -> bool:
        db = self.database
        db.generations[name] = db.generations.get(name, 0) + 1
        db.versions.pop(name, None)
        return db.documents.pop(name, None) is not None

    async def _names(self) -> list[str]:
        return sorted(self.database.documents)

    async def _add_revocation(
        self, kind: RevocationKind, key: str, not_before: float, revoked_at: float
    ) -> Revocation:
        revocations = self.database.revocations
        revocation = Revocation(len(revocations) + 1, kind, key, not_before, revoked_at)
        revocations.append(revocation)
        return revocation

    async def _revocations_since(self, after_id: int) -> list[Revocation]:
        return [r for r in self.database.revocations if r.id > after_id]

    async def _insert_version(
        self, name: str, incarnation: str, version: NewVersion
    ) -> VersionInfo | None:
        db = self.database
        doc = db.documents.get(name)
        if doc is None or doc.incarnation != incarnation:
            return None
        info = VersionInfo(
            next(db.version_ids),
            version.created_at,
            version.label,
            version.automatic,
            version.authors,
            len(version.data),
        )
        db.versions.setdefault(name, []).append((incarnation, info, version.data))
        return info

    def _current(self, name: str) -> list[tuple[VersionInfo, bytes]]:
        doc = self.database.documents.get(name)
        if doc is None:
            return []
        rows = self.database.versions.get(name, [])
        return [(info, data) for inc, info, data in rows if inc == doc.incarnation]

    async def _versions(self, name: str) -> list[VersionInfo]:
        return [info for info, _ in reversed(self._current(name))]

    async def _version_data(self, name: str, version_id: int) -> bytes | None:
        return next((data for info, data in self._current(name) if info.id == version_id), None)

    async def _drop_versions(self, name: str, ids: list[int]) -> None:
        drop = set(ids)
        rows = self.database.versions.get(name, [])
        rows[:] = [row for row in rows if row[1].id not in drop]

    async def _insert_link(self, link: LinkRecord) -> None:
        self.database.links.append(link)

    async def _links(self, name: str) -> list[LinkRecord]:
        return [link for link in reversed(self.database.links) if link.name == name]

    async def _mark_link_revoked(self, name: str, link_id: str, at: float) -> bool:
        links = self.database.links
        for i, link in enumerate(links):
            if link.name == name and link.id == link_id:
                if link.revoked_at is None:
                    links[i] = dataclasses.replace(link, revoked_at=at)
                return True
        return False

    async def _set_info(
        self, name: str, title: str | None, updated_at: float, last_editor: str | None
    ) -> None:
        doc = self.database.documents.get(name)
        if doc is None:
            return
        doc.updated_at = updated_at
        if title is not None:
            doc.title = title
        if last_editor is not None:
            doc.last_editor = last_editor

    async def _catalog(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[DocumentEntry]:
        found = []
        needle = None if query is None else query.casefold()
        start, is_prefix = split_pattern(pattern)
        for name, doc in self.database.documents.items():
            matches = name.startswith(start) if is_prefix else name == start
            if not matches or (doc.trashed_at is not None) != trashed:
                continue
            if (
                needle is not None
                and needle not in name.casefold()
                and (doc.title is None or needle not in doc.title.casefold())
            ):
                continue
            size = doc.log_bytes + len(doc.snapshot or b"")
            found.append(
                DocumentEntry(name, doc.title, doc.created_at, doc.updated_at, doc.last_editor,
                              size, doc.trashed_at)
            )  # fmt: skip
        found.sort(key=lambda e: -(e.updated_at or e.created_at))
        return found[:limit]

    async def _set_trashed(self, name: str, at: float | None) -> bool:
        doc = self.database.documents.get(name)
        if doc is None:
            return False
        doc.trashed_at = at
        return True

    async def _trashed_before(self, cutoff: float) -> list[str]:
        docs = self.database.documents
        return [n for n, d in docs.items() if d.trashed_at is not None and d.trashed_at < cutoff]
