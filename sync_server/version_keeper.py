"""``VersionKeeper``: makes the automatic versions of the documents this node serves.

Rooms tell it about every durable write of their peers (:meth:`VersionKeeper.edited`,
with the writers' names) and the registry tells it when a document's last peer left
(:meth:`VersionKeeper.left`); :class:`~sync_server.versions.AutoVersions` decides when a
version is due, and the keeper stores it (``DocumentStore.add_version``, which reads what
is durable). At most one version of a document is being made at a time; a failed attempt
leaves the document due, so the next write tries again. On shutdown, documents with edits
no version holds yet get one before the store closes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from shared.errors import InvalidUpdate, StorageError

from .lifecycle import Resource
from .store import DocumentStore
from .versions import AutoVersions, VersionPolicy

log = logging.getLogger("coscribe.versions")


class VersionKeeper(Resource):
    def __init__(self, store: DocumentStore, policy: VersionPolicy) -> None:
        super().__init__("version keeper")
        self._store = store
        self._auto = AutoVersions(policy)
        self._making: set[str] = set()

    def edited(self, name: str, authors: Sequence[str]) -> None:
        """A durable write of ``name`` by people with these names."""
        if self._auto.edited(name, time.time(), authors):
            self._make(name)

    def left(self, name: str) -> None:
        """The last peer of ``name`` left this node."""
        if self._auto.left(name):
            self._make(name)

    def taken(self, name: str) -> tuple[str, ...]:
        """The authors of ``name``'s edits no version holds yet, for a version being named
        now (which then holds them: the automatic clock starts again)."""
        return self._auto.taken(name)

    def forget(self, name: str) -> None:
        """``name`` was deleted."""
        self._auto.forget(name)

    def _make(self, name: str) -> None:
        if name in self._making or not self.life.is_open:
            return
        self._making.add(name)
        self.run(self._store_version(name), f"version of {name}")

    async def _store_version(self, name: str) -> None:
        authors = self._auto.taken(name)
        try:
            info = await self._store.add_version(name, automatic=True, authors=authors)
        except (StorageError, InvalidUpdate) as exc:
            log.warning(
                "automatic version failed; will retry after the next edit",
                extra={"fields": {"room": name, "error": str(exc)}},
            )
            self._auto.edited(name, time.time(), authors)
        else:
            if info is not None:
                log.info(
                    "version saved",
                    extra={"fields": {"room": name, "id": info.id, "bytes": info.size}},
                )
        finally:
            self._making.discard(name)

    async def _close(self) -> None:
        for name in list(self._auto.due_names()):
            if name not in self._making:
                self._making.add(name)
                await self._store_version(name)
