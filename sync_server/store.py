"""The document store interface every storage backend implements.

The relay keeps each loaded document in memory and uses the store for three things:
load a document when its room opens, append each update durably (the ACK to the client
is sent only after the append's future resolves), and delete a document.

Backends: :class:`MemoryStore` (tests, ``--data-dir :memory:``), SQLite
(``sync_server.sqlite_store.SQLiteStore``, the embedded default), PostgreSQL later.

Contract for ``append``:

* it returns at once with a future; relaying never waits on the disk;
* futures of one store resolve in the order ``append`` was called (group commit: all
  appends that arrive while a commit runs go into the next transaction);
* the future resolves only after the update is committed (SQLite: WAL + fsync per
  transaction), so an acknowledged update survives ``kill -9``;
* on failure the future carries a :class:`~shared.errors.StorageError`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What ``load`` returns: the incarnation id and the updates to apply, in order.

    ``updates`` is typically one compacted snapshot followed by the log tail.
    ``created`` is True when this load created the document (it did not exist).
    """

    incarnation: str
    updates: list[bytes] = field(default_factory=list)
    created: bool = False


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


def new_incarnation() -> str:
    return uuid.uuid4().hex


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

    async def load(self, name: str) -> StoredDocument:
        """Load ``name``, creating it (with a fresh incarnation) if it does not exist."""
        ...

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        """Queue ``update`` for ``name``; the future resolves once it is committed."""
        ...

    async def flush(self) -> None:
        """Wait until everything appended so far is committed."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete the document and its history; True if it existed."""
        ...

    async def compact(self, name: str) -> None:
        """Fold the update log of ``name`` into one snapshot (safe at any time)."""
        ...

    async def document_names(self) -> list[str]:
        """Names of all stored documents."""
        ...


class MemoryStore:
    """A non-durable store for tests and ``--data-dir :memory:``. Same ordering contract."""

    def __init__(self) -> None:
        self.stats = StoreStats()
        self._docs: dict[str, tuple[str, list[bytes]]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def load(self, name: str) -> StoredDocument:
        if name in self._docs:
            incarnation, updates = self._docs[name]
            return StoredDocument(incarnation, list(updates))
        incarnation = new_incarnation()
        self._docs[name] = (incarnation, [])
        return StoredDocument(incarnation, [], created=True)

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        entry = self._docs.setdefault(name, (new_incarnation(), []))
        entry[1].append(update)
        self.stats.updates_written += 1
        self.stats.bytes_written += len(update)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def flush(self) -> None:
        return None

    async def delete(self, name: str) -> bool:
        return self._docs.pop(name, None) is not None

    async def compact(self, name: str) -> None:
        return None

    async def document_names(self) -> list[str]:
        return sorted(self._docs)
