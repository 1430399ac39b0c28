"""The document store interface the relay uses, and the values that cross it.

The relay keeps each loaded document in memory and uses the store for three things:
load a document when its room opens, append each update durably (the ACK to the client
is sent only after the append's future resolves), and delete a document. It also keeps
the revocations of access links, so that every node refuses a revoked link.

Backends (all built on :class:`sync_server.store_base.StoreBase`, which owns the
lifecycle, group commit and compaction; ``docs/storage.md``):
:class:`~sync_server.memory_store.MemoryStore` (tests, ``--data-dir :memory:``),
:class:`~sync_server.sqlite_store.SQLiteStore` (the embedded default) and
:class:`~sync_server.postgres_store.PostgresStore` (several nodes).

Contract for ``append``:

* it returns at once with a future; relaying never waits on the disk;
* futures of one store resolve in the order ``append`` was called (group commit: all
  appends that arrive while a commit runs go into the next transaction);
* the future resolves only after the update is committed (SQLite: WAL + fsync per
  transaction), so an acknowledged update survives ``kill -9``;
* on failure the future carries a :class:`~shared.errors.StorageError`.

A document is *created by its first append*, never by a load: opening a name (even with a
viewer token) writes nothing. Until then ``load`` returns a *provisional* incarnation
(:func:`incarnation_for`) that every node computes alike and the first append stores.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Protocol, Self, get_args

from .library import DocumentEntry
from .links import LinkRecord
from .versions import VersionInfo


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What ``load`` returns: the incarnation id and the updates to apply, in order.

    ``updates`` is typically one compacted snapshot followed by the log tail. ``exists``
    is False while nothing has been stored under the name yet (never written, or deleted
    since): then ``updates`` is empty and ``incarnation`` is the provisional one that the
    first append will store.
    """

    incarnation: str
    updates: list[bytes] = field(default_factory=list)
    exists: bool = True


@dataclass(slots=True)
class StoreStats:
    """Counters exposed on /metrics."""

    commits: int = 0
    updates_written: int = 0
    bytes_written: int = 0
    commit_seconds_total: float = 0.0
    commit_seconds_max: float = 0.0
    compactions: int = 0
    errors: int = 0
    queue_depth: int = 0


RevocationKind = Literal["token", "document"]
REVOCATION_KINDS: tuple[str, ...] = get_args(RevocationKind)


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revocation of access links, as stored (ids only grow; read them in id order).

    ``kind == "token"``: ``key`` is a token id, refused from now on. ``kind == "document"``:
    ``key`` is a document name; every token for it issued before ``not_before`` (unix
    time) is refused. ``revoked_at`` is when the revocation was stored.
    """

    id: int
    kind: RevocationKind
    key: str
    not_before: float
    revoked_at: float

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> Revocation:
        """From a database row (id, kind, key, not_before, revoked_at)."""
        return cls(
            int(row[0]), revocation_kind(str(row[1])), str(row[2]), float(row[3]), float(row[4])
        )


def revocation_kind(kind: str) -> RevocationKind:
    """``kind`` checked against :data:`REVOCATION_KINDS` (ValueError otherwise)."""
    if kind == "token":
        return "token"
    if kind == "document":
        return "document"
    raise ValueError(f"revocation kind must be one of {REVOCATION_KINDS}, not {kind!r}")


def incarnation_for(database_id: str, name: str, generation: int) -> str:
    """The incarnation a document gets when its first update is stored.

    Deterministic, so that every node sharing a database hands out the same provisional
    incarnation for a document that does not exist yet. ``generation`` counts the deletes
    of ``name`` (each delete bumps it), so a re-created document gets a new incarnation;
    ``database_id`` is random per database, so a lost or replaced store does too.
    """
    material = f"{database_id}\0{generation}\0{name}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()[:32]


class DocumentStore(Protocol):
    """Async context manager; ``async with store:`` starts its background writer."""

    stats: StoreStats

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def aclose(self) -> None:
        """Commit everything queued, then close (idempotent)."""
        ...

    async def load(self, name: str) -> StoredDocument:
        """Load ``name``; writes nothing (a missing document gets a provisional incarnation)."""
        ...

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        """Queue ``update`` for ``name``; the future resolves once it is committed. The first
        append of a document creates it."""
        ...

    async def flush(self) -> None:
        """Wait until everything appended so far is committed."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete the document and its history (its next incarnation differs); True if it
        existed."""
        ...

    async def compact(self, name: str) -> None:
        """Fold the update log of ``name`` into one snapshot (safe at any time)."""
        ...

    async def document_names(self) -> list[str]:
        """Names of all stored documents."""
        ...

    async def add_revocation(self, kind: str, key: str, not_before: float) -> Revocation:
        """Store a revocation; committed when this returns."""
        ...

    async def revocations_since(self, after_id: int) -> list[Revocation]:
        """Every revocation with an id above ``after_id``, in id order."""
        ...

    async def add_version(
        self,
        name: str,
        *,
        label: str | None = None,
        authors: Sequence[str] = (),
        automatic: bool = False,
    ) -> VersionInfo | None:
        """Store a version of what is durable of ``name`` now (None: no such document,
        or an automatic version that would repeat the latest one)."""
        ...

    async def versions(self, name: str) -> list[VersionInfo]:
        """The versions of the document's current incarnation, newest first."""
        ...

    async def version_update(self, name: str, version_id: int) -> bytes | None:
        """The Yjs update a version holds (None: no such version of that document)."""
        ...

    async def note_info(self, name: str, *, title: str | None, last_editor: str | None) -> None:
        """Note the document's title and last change (now) for the library."""
        ...

    async def catalog(
        self, pattern: str = "*", query: str | None = None, *, trashed: bool = False,
        limit: int = ...,
    ) -> list[DocumentEntry]:  # fmt: skip
        """Documents whose name matches ``pattern`` (a name, or a prefix and ``*``; title
        or name containing ``query``), in the trash or not, most recently changed first."""
        ...

    async def catalog_json(
        self, pattern: str = "*", query: str | None = None, *, trashed: bool = False,
        limit: int = ...,
    ) -> list[tuple[str, str]]:  # fmt: skip
        """:meth:`catalog` as (name, the entry's JSON object without ``people``)."""
        ...

    async def entry(self, name: str) -> DocumentEntry | None:
        """One document's library entry (None: no such document)."""
        ...

    async def is_trashed(self, name: str) -> bool:
        """Whether ``name`` is in the trash."""
        ...

    async def set_trashed(self, name: str, trashed: bool) -> bool:
        """Put ``name`` in the trash or take it out; False if there is no such document."""
        ...

    async def trashed_before(self, cutoff: float) -> list[str]:
        """Documents put in the trash before ``cutoff``."""
        ...

    async def add_link(self, link: LinkRecord) -> None:
        """Keep a link minted for the document's owners."""
        ...

    async def links(self, name: str) -> list[LinkRecord]:
        """The links minted for ``name`` through the API, newest first."""
        ...

    async def mark_link_revoked(self, name: str, link_id: str) -> bool:
        """Note that the link was revoked; True if ``name`` has such a link."""
        ...
