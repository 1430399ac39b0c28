"""``VersionKeeper``: makes the automatic versions of the documents this node serves, and
notes their titles and last changes for the library (``sync_server.library``).

Rooms tell it about every durable write of their peers (:meth:`VersionKeeper.edited`,
with the writers' names) and the registry tells it when a document's last peer left
(:meth:`VersionKeeper.left`); :class:`~sync_server.versions.AutoVersions` decides when a
version is due, and the keeper stores it (``DocumentStore.add_version``, which reads what
is durable). At most one version of a document is being made at a time; a failed attempt
leaves the document due, so the next write tries again. On shutdown, documents with edits
no version holds yet get one before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from shared.errors import InvalidUpdate, StorageError

from .lifecycle import Resource
from .room import Room
from .store import DocumentStore
from .versions import AutoVersions, VersionPolicy

log = logging.getLogger("coscribe.versions")

#: Seconds between two notes of a document's last change while it is being edited (the
#: library's "last modified" and "last edited by" are at most this old, or the time its last
#: editor left); a new title is noted at once. (People typing in turns change the last
#: editor on nearly every commit: noting each one cost the relay 8 % of its CPU.)
NOTE_EVERY = 5.0


class VersionKeeper(Resource):
    def __init__(self, store: DocumentStore, policy: VersionPolicy) -> None:
        super().__init__("version keeper")
        self._store = store
        self._auto = AutoVersions(policy)
        self._making: set[str] = set()
        #: Per document: when its library facts were last noted, and what (title, editor).
        self._noted: dict[str, tuple[float, tuple[str | None, str | None]]] = {}
        self._noting: set[str] = set()
        self._gone: set[str] = set()  # documents whose last peer left: forget once noted
        self._due: set[str] = set()  # documents with a note timer running

    def edited(self, room: Room, authors: Sequence[str]) -> None:
        """A durable write of ``room`` by people with these names."""
        name = room.name
        now = time.time()
        if self._auto.edited(name, now, authors):
            self._make(name)
        self._gone.discard(name)
        noted = self._noted.get(name)
        editor = authors[-1] if authors else None
        if editor is None and noted is not None:
            editor = noted[1][1]  # a writer without a presence name leaves the last one
        info = (room.title(), editor)
        if noted is None or noted[1][0] != info[0] or now - noted[0] >= NOTE_EVERY:
            self._note(name, now, info)
        elif noted[1] != info:  # another editor: noted when NOTE_EVERY is up
            self._noted[name] = (noted[0], info)
            if name not in self._due:
                self._due.add(name)
                delay = NOTE_EVERY - (now - noted[0])
                asyncio.get_running_loop().call_later(delay, self._note_due, name)

    def _note_due(self, name: str) -> None:
        self._due.discard(name)
        noted = self._noted.get(name)
        if noted is not None:
            self._note(name, time.time(), noted[1])

    def left(self, room: Room) -> None:
        """The last peer of ``room`` left this node."""
        name = room.name
        if self._auto.left(name):
            self._make(name)
        noted = self._noted.get(name)
        if noted is not None:
            self._gone.add(name)
            self._note(name, time.time(), (room.title(), noted[1][1]))

    def _note(self, name: str, now: float, info: tuple[str | None, str | None]) -> None:
        self._noted[name] = (now, info)
        if name in self._noting or not self.life.is_open:
            return
        self._noting.add(name)
        self.run(self._store_info(name), f"note {name}")

    async def _store_info(self, name: str) -> None:
        stored = None
        try:
            while (noted := self._noted.get(name)) is not None and noted != stored:
                title, editor = noted[1]
                await self._store.note_info(name, title=title, last_editor=editor)
                stored = noted
        except StorageError as exc:
            fields = {"room": name, "error": str(exc)}
            log.warning("noting a document failed", extra={"fields": fields})
        finally:
            self._noting.discard(name)
            if name in self._gone:
                self._gone.discard(name)
                self._noted.pop(name, None)

    def taken(self, name: str) -> tuple[str, ...]:
        """The authors of ``name``'s edits no version holds yet, for a version being named
        now (which then holds them: the automatic clock starts again)."""
        return self._auto.taken(name)

    def forget(self, name: str) -> None:
        """``name`` was deleted."""
        self._auto.forget(name)
        self._noted.pop(name, None)

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
