"""``StoreBase``: the one implementation of the store contract; backends add primitives.

Everything that is policy rather than database lives here once, so that the memory,
SQLite and PostgreSQL stores cannot drift apart:

* **lifecycle**: a :class:`~sync_server.lifecycle.Resource` (idempotent ordered close;
  background work in its task group). Closing commits everything queued, lets running
  folds stop, then closes the backend;
* **group commit** (``group_commit.py``): ``append`` queues, one writer task commits each
  batch through :meth:`StoreBase._append_batch`;
* **first-write creation**: ``load`` of a missing document writes nothing and returns a
  provisional incarnation (``store.incarnation_for`` of the database id, the name and its
  delete generation); the backend's append stores the same value when it creates the row;
* **compaction** (``compaction.py`` decides when, ``fold.py`` folds): read from storage,
  fold on a thread, install only if nothing moved;
* **errors and stats**: a backend failure becomes :class:`~shared.errors.StorageError`
  and counts in ``stats.errors``.

A backend implements the abstract primitives below, each one transaction (or one
consistent read), and names the exceptions that mean "the database failed".
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import ClassVar, TypedDict, TypeVar

from shared.errors import StorageError
from shared.lifecycle import LifeState

from .compaction import CompactionPolicy
from .fold import Fold, FoldInput, fold_updates
from .group_commit import GroupCommit, LogSizes
from .library import MAX_LISTED, DocumentEntry
from .lifecycle import Resource
from .links import LinkRecord
from .store import (
    Revocation,
    RevocationKind,
    StoredDocument,
    StoreStats,
    incarnation_for,
    revocation_kind,
)
from .versions import (
    NewVersion,
    VersionInfo,
    VersionPolicy,
    decode_snapshot,
    encode_snapshot,
    to_purge,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DocumentRead:
    """What one consistent read of a name found.

    ``incarnation`` is None when no document is stored under the name; then
    ``generation`` (how often the name was deleted) gives its provisional incarnation.
    """

    incarnation: str | None
    generation: int = 0
    updates: list[bytes] = field(default_factory=list)
    log_count: int = 0
    log_bytes: int = 0


class StoreOptions(TypedDict, total=False):
    """The tuning every backend's constructor passes on to :class:`StoreBase`."""

    compact_after_updates: int
    compact_after_bytes: int
    max_queue_bytes: int
    commit_interval: float


class StoreBase(Resource, ABC):
    """Lifecycle and policy of a document store; subclasses supply the primitives.

    Use as ``async with Store(...) as store:`` from one task (the store's task group
    belongs to that task).

    Args:
        label: names the store in logs and errors (never a password).
        compact_after_updates: fold a document's log once it has more entries than this.
        compact_after_bytes: ... or once its entries total more bytes than this.
        max_queue_bytes: queued-but-uncommitted bytes above which :meth:`wait_writable`
            blocks. ``append`` itself never refuses or drops.
        commit_interval: least seconds between the starts of two group commits (0: a
            commit starts as soon as the previous one ended; see ``group_commit.py``).
    """

    #: Exceptions of the backend that mean "storage failed" (become StorageError).
    failures: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(
        self,
        label: str,
        *,
        compact_after_updates: int = 1000,
        compact_after_bytes: int = 1024 * 1024,
        max_queue_bytes: int = 64 * 1024 * 1024,
        commit_interval: float = 0.0,
    ) -> None:
        if min(compact_after_updates, compact_after_bytes, max_queue_bytes) < 1:
            raise ValueError("store thresholds must be positive")
        if commit_interval < 0:
            raise ValueError("commit_interval must not be negative")
        super().__init__(label)
        self.stats = StoreStats()
        #: Which automatic versions are kept (``sync_server.versions``).
        self.version_policy = VersionPolicy()
        self._commits = GroupCommit(
            label,
            self._timed_append_batch,
            stats=self.stats,
            max_queue_bytes=max_queue_bytes,
            failures=self.failures,
            describe=self._describe,
            committed=self._committed,
            interval=commit_interval,
        )
        self._policy = CompactionPolicy(compact_after_updates, compact_after_bytes)
        self._stop_folding = threading.Event()
        self._folder: ThreadPoolExecutor | None = None
        self._writer: asyncio.Task[None] | None = None
        self._database_id = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.life.name} {self.life.state.value}>"

    # ------------------------------------------------------------------ primitives

    @abstractmethod
    async def _open_storage(self, stack: AsyncExitStack) -> str:
        """Connect and migrate; push the closing of what was opened onto ``stack``.
        Returns the database id (random per database, made by the first migration)."""

    @abstractmethod
    async def _read(self, name: str) -> DocumentRead:
        """The document's row, snapshot and log tail in one consistent read."""

    @abstractmethod
    async def _append_batch(self, entries: list[tuple[str, bytes]], now: float) -> LogSizes:
        """Write ``entries`` (in order) in one transaction. A document without a row gets
        one with :meth:`_incarnation` of its current generation, decided inside that
        transaction. Returns each touched document's log size."""

    @abstractmethod
    async def _read_for_fold(self, name: str) -> FoldInput | None:
        """Snapshot and log in one consistent view in which no writer of the document is
        half way (so every later log row has a higher seq); None if nothing to fold."""

    @abstractmethod
    async def _install(self, fold: Fold) -> bool:
        """In one transaction: if the row still has ``fold.incarnation`` and
        ``fold.base_seq``, store the snapshot and delete exactly the ``fold.count`` log
        rows with seq <= ``fold.upto_seq``; else (or on any surprise) change nothing."""

    @abstractmethod
    async def _delete(self, name: str) -> bool:
        """Remove the row and the log, and bump the name's generation, in one transaction.
        True if a row existed."""

    @abstractmethod
    async def _names(self) -> list[str]:
        """Names with a row, sorted."""

    @abstractmethod
    async def _add_revocation(
        self, kind: RevocationKind, key: str, not_before: float, revoked_at: float
    ) -> Revocation:
        """Insert and commit a revocation; ids must become visible in id order."""

    @abstractmethod
    async def _revocations_since(self, after_id: int) -> list[Revocation]:
        """Revocations with id > ``after_id``, by id."""

    @abstractmethod
    async def _insert_version(
        self, name: str, incarnation: str, version: NewVersion
    ) -> VersionInfo | None:
        """Insert and commit ``version`` if the document's row still has ``incarnation``
        (None otherwise: it was deleted meanwhile); version ids grow."""

    @abstractmethod
    async def _versions(self, name: str) -> list[VersionInfo]:
        """The versions of the document's current incarnation, newest (highest id) first;
        empty when there is no document."""

    @abstractmethod
    async def _version_data(self, name: str, version_id: int) -> bytes | None:
        """The stored bytes of one version of the document's current incarnation."""

    @abstractmethod
    async def _set_info(
        self, name: str, title: str | None, updated_at: float, last_editor: str | None
    ) -> None:
        """Note the document's title and last change (None: keep the stored value)."""

    @abstractmethod
    async def _catalog(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[DocumentEntry]:
        """Documents whose name matches ``pattern`` (``library.split_pattern``: a name, or a
        prefix and ``*``) and whose title or name contains ``query``, in the trash or not,
        most recently changed first."""

    @abstractmethod
    async def _set_trashed(self, name: str, at: float | None) -> bool:
        """Move the document to the trash (``at``) or out of it (None); True if it exists."""

    @abstractmethod
    async def _trashed_before(self, cutoff: float) -> list[str]:
        """Names of the documents put in the trash before ``cutoff``."""

    @abstractmethod
    async def _insert_link(self, link: LinkRecord) -> None:
        """Insert and commit a minted link."""

    @abstractmethod
    async def _links(self, name: str) -> list[LinkRecord]:
        """The links minted for ``name``, newest first."""

    @abstractmethod
    async def _mark_link_revoked(self, name: str, link_id: str, at: float) -> bool:
        """Set the link's ``revoked_at`` (once); True if a link of ``name`` had that id."""

    @abstractmethod
    async def _drop_versions(self, name: str, ids: list[int]) -> None:
        """Delete those versions of ``name`` (ids of other documents are ignored)."""

    def _describe(self, exc: BaseException) -> str:
        """One line about a backend failure (override to hide connection strings)."""
        return str(exc)

    def _incarnation(self, name: str, generation: int) -> str:
        """The incarnation of ``name`` at ``generation`` in this database (thread-safe)."""
        return incarnation_for(self._database_id, name, generation)

    # ------------------------------------------------------------------ lifecycle

    async def _open(self, stack: AsyncExitStack) -> None:
        # Unwound in reverse: the backend closes, then folds stop, then waiters are freed.
        stack.callback(self._commits.finish)
        self._folder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coscribe-fold")
        stack.callback(self._folder.shutdown, wait=True)
        stack.callback(self._stop_folding.set)
        self._database_id = await self._guard("opening the database", self._open_storage(stack))
        self._writer = self.spawn(self._commits.run(), f"{self.life.name} writer")

    async def _close(self) -> None:
        """Commit everything queued and let running folds stop; the backend closes after."""
        self._stop_folding.set()
        self._commits.close()
        waiting = self._policy.running()
        if self._writer is not None:
            waiting.add(self._writer)
        if waiting:
            await asyncio.wait(waiting)

    def _require_usable(self) -> None:
        if self.life.state not in (LifeState.OPEN, LifeState.CLOSING):
            raise StorageError(f"{self.life.name} is not open")

    async def _guard(self, what: str, work: Awaitable[_T]) -> _T:
        try:
            return await work
        except self.failures as exc:
            self.stats.errors += 1
            raise StorageError(f"{what} failed: {self._describe(exc)}") from exc

    # ------------------------------------------------------------------ appends

    @property
    def queued_bytes(self) -> int:
        """Bytes appended but not yet committed (including the commit in progress)."""
        return self._commits.queued_bytes

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        """Queue ``update``; the future resolves once it is committed (durable).

        Never blocks and never drops: callers that want backpressure await
        :meth:`wait_writable` before appending more. The first append of a document
        creates it, with the incarnation ``load`` announced.
        """
        if not self.life.is_open:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(StorageError(f"{self.life.name} is not open"))
            return future
        return self._commits.append(name, update)

    async def wait_writable(self) -> None:
        """Return once queued-but-uncommitted bytes are at most ``max_queue_bytes``.

        Backpressure for producers that can slow down (e.g. stop reading a socket); returns
        at once when the queue is small or the store is closed.
        """
        await self._commits.wait_writable()

    async def flush(self) -> None:
        """Wait until every append made before this call has resolved (committed or failed).

        Failures are reported on each append's future and in ``stats.errors``, not here.
        """
        await self._commits.flush()

    async def _timed_append_batch(self, entries: list[tuple[str, bytes]]) -> LogSizes:
        return await self._append_batch(entries, time.time())

    def _committed(self, sizes: LogSizes) -> None:
        for name, (count, nbytes) in sizes.items():
            self._maybe_compact(name, count, nbytes)

    # ------------------------------------------------------------------ documents

    async def load(self, name: str) -> StoredDocument:
        """Snapshot + log tail of ``name``. Writes nothing: a missing document comes back
        with ``exists=False`` and the incarnation its first append will store.

        Waits for this document's queued appends first, so a load sees its own writes.
        """
        self._require_usable()
        await self._commits.wait_for(name)
        found = await self._guard(f"loading {name!r}", self._read(name))
        if found.incarnation is None:
            return StoredDocument(self._incarnation(name, found.generation), [], exists=False)
        self._maybe_compact(name, found.log_count, found.log_bytes)
        return StoredDocument(found.incarnation, found.updates)

    async def delete(self, name: str) -> bool:
        """Delete ``name`` after committing its queued appends; True if it existed. Its
        next incarnation differs from every earlier one. The relay must stop appending to
        the room first: an append for a missing name creates the document again."""
        self._require_usable()
        await self._commits.wait_for(name)
        return await self._guard(f"deleting {name!r}", self._delete(name))

    async def document_names(self) -> list[str]:
        """Names of the stored documents (not of names merely opened), sorted."""
        self._require_usable()
        return await self._guard("listing documents", self._names())

    # ------------------------------------------------------------------ revocations

    async def add_revocation(self, kind: str, key: str, not_before: float) -> Revocation:
        """Store a revocation of access links; it is committed when this returns.

        ``kind`` is ``"token"`` (``key`` a token id) or ``"document"`` (``key`` a
        document name; tokens for it issued before ``not_before`` are refused).
        """
        checked = revocation_kind(kind)
        self._require_usable()
        return await self._guard(
            "storing a revocation", self._add_revocation(checked, key, not_before, time.time())
        )

    async def revocations_since(self, after_id: int) -> list[Revocation]:
        """Every revocation with an id above ``after_id``, in id order (poll with the last
        id seen: ids become visible in order)."""
        self._require_usable()
        return await self._guard("reading revocations", self._revocations_since(after_id))

    # ------------------------------------------------------------------ versions

    async def add_version(
        self,
        name: str,
        *,
        label: str | None = None,
        authors: Sequence[str] = (),
        automatic: bool = False,
    ) -> VersionInfo | None:
        """Store a version of what is durable of ``name`` now (``sync_server.versions``).

        Waits for the document's queued appends first, like :meth:`load`. Returns None if
        there is no such document, or for an automatic version whose content equals the
        latest version's (nothing new to keep). Automatic versions beyond the retention
        policy (:attr:`version_policy`) are dropped afterwards.
        """
        self._require_usable()
        doc = await self.load(name)
        if not doc.exists:
            return None
        data = await asyncio.to_thread(encode_snapshot, doc.updates)
        existing = await self._guard(f"listing versions of {name!r}", self._versions(name))
        if automatic and existing:
            latest = await self._guard(
                f"reading a version of {name!r}", self._version_data(name, existing[0].id)
            )
            if latest == data:
                return None
        version = NewVersion(time.time(), label, automatic, tuple(authors), data)
        info = await self._guard(
            f"storing a version of {name!r}", self._insert_version(name, doc.incarnation, version)
        )
        if info is not None and automatic:
            drop = to_purge([info, *existing], version.created_at, self.version_policy)
            if drop:
                await self._guard(f"thinning versions of {name!r}", self._drop_versions(name, drop))
        return info

    async def versions(self, name: str) -> list[VersionInfo]:
        """The versions of the document's current incarnation, newest first."""
        self._require_usable()
        return await self._guard(f"listing versions of {name!r}", self._versions(name))

    async def version_update(self, name: str, version_id: int) -> bytes | None:
        """The Yjs update version ``version_id`` of ``name`` holds (None: no such version)."""
        self._require_usable()
        stored = await self._guard(
            f"reading a version of {name!r}", self._version_data(name, version_id)
        )
        return None if stored is None else decode_snapshot(stored)

    # ------------------------------------------------------------------ library

    async def note_info(self, name: str, *, title: str | None, last_editor: str | None) -> None:
        """Note the document's title and its last change (now) for the library."""
        self._require_usable()
        await self._commits.wait_for(name)  # the row exists once its first append committed
        await self._guard(f"noting {name!r}", self._set_info(name, title, time.time(), last_editor))

    async def catalog(
        self, pattern: str = "*", query: str | None = None, *, trashed: bool = False,
        limit: int = MAX_LISTED,
    ) -> list[DocumentEntry]:  # fmt: skip
        """The library's listing (see :meth:`_catalog`)."""
        self._require_usable()
        return await self._guard("listing documents", self._catalog(pattern, query, trashed, limit))

    async def catalog_json(
        self, pattern: str = "*", query: str | None = None, *, trashed: bool = False,
        limit: int = MAX_LISTED,
    ) -> list[tuple[str, str]]:  # fmt: skip
        """:meth:`catalog` as (name, JSON object of the entry without ``people``), in order
        (backends that can build the JSON in the database override :meth:`_catalog_json`)."""
        self._require_usable()
        return await self._guard(
            "listing documents", self._catalog_json(pattern, query, trashed, limit)
        )

    async def _catalog_json(
        self, pattern: str, query: str | None, trashed: bool, limit: int
    ) -> list[tuple[str, str]]:
        entries = await self._catalog(pattern, query, trashed, limit)
        out = []
        for e in entries:
            fields = e.as_json()
            del fields["people"]
            out.append((e.name, json.dumps(fields, ensure_ascii=False, separators=(",", ":"))))
        return out

    async def entry(self, name: str) -> DocumentEntry | None:
        """One document's library entry, in the trash or not (None: no such document)."""
        for trashed in (False, True):
            found = await self.catalog(name, trashed=trashed, limit=1)
            if found:
                return found[0]
        return None

    async def is_trashed(self, name: str) -> bool:
        """Whether ``name`` is in the trash (a room refuses to open it)."""
        return bool(await self.catalog(name, trashed=True, limit=1))

    async def set_trashed(self, name: str, trashed: bool) -> bool:
        """Put ``name`` in the trash or take it out; False if there is no such document."""
        self._require_usable()
        at = time.time() if trashed else None
        return await self._guard(f"trashing {name!r}", self._set_trashed(name, at))

    async def trashed_before(self, cutoff: float) -> list[str]:
        self._require_usable()
        return await self._guard("reading the trash", self._trashed_before(cutoff))

    # ------------------------------------------------------------------ links

    async def add_link(self, link: LinkRecord) -> None:
        """Keep a link minted for the document's owners (committed when this returns)."""
        self._require_usable()
        await self._guard(f"storing a link of {link.name!r}", self._insert_link(link))

    async def links(self, name: str) -> list[LinkRecord]:
        """The links minted for ``name`` through the API, newest first."""
        self._require_usable()
        return await self._guard(f"listing links of {name!r}", self._links(name))

    async def mark_link_revoked(self, name: str, link_id: str) -> bool:
        """Note that the link was revoked (the revocation itself: :meth:`add_revocation`)."""
        self._require_usable()
        return await self._guard(
            f"revoking a link of {name!r}", self._mark_link_revoked(name, link_id, time.time())
        )

    # ------------------------------------------------------------------ compaction

    async def compact(self, name: str) -> None:
        """Fold the committed log of ``name`` into its snapshot now (safe at any time).

        Leaves the log untouched (and logs a warning) if the fold could not be proven
        lossless, e.g. when an update's dependencies are missing from storage.
        """
        self._require_usable()
        await self._commits.wait_for(name)
        await self._compact(name)

    def _maybe_compact(self, name: str, log_count: int, log_bytes: int) -> None:
        if self.life.is_open and self._policy.wants(name, log_count, log_bytes):
            task = self.spawn(self._compact_in_background(name), f"compact {name}")
            self._policy.started(name, task)

    async def _compact_in_background(self, name: str) -> None:
        try:
            await self._compact(name)
        except StorageError as exc:
            log.warning("%s: compaction of %r failed: %s", self.life.name, name, exc)

    async def _compact(self, name: str) -> None:
        stop = self._stop_folding
        read = await self._guard(f"reading {name!r} to fold", self._read_for_fold(name))
        if read is None or stop.is_set():
            return
        loop = asyncio.get_running_loop()
        folded = await loop.run_in_executor(self._folder, fold_updates, read.updates, stop)
        if folded is None or stop.is_set():
            return
        snapshot, refusal = folded
        if refusal is not None:
            self._policy.refused(name, read.count)
            log.warning("%s: not compacting %r: %s; keeping its log", self.life.name, name, refusal)
            return
        fold = Fold(name, read.incarnation, read.base_seq, read.upto_seq, read.count, snapshot)
        if await self._guard(f"compacting {name!r}", self._install(fold)):
            self._policy.installed(name)
            self.stats.compactions += 1
            log.info(
                "%s: compacted %r: %d log entries -> snapshot of %d bytes",
                self.life.name,
                name,
                fold.count,
                len(snapshot),
            )
