"""RoomRegistry: which documents are loaded, and their lifecycle.

* ``acquire(name)`` returns the loaded room, loading it from the store on first use.
  Concurrent first joins of one room share ONE load (a future per name), so there is
  neither a deadlock nor a double load; a joiner that gives up (cancelled) does not cancel
  the load for the others, because the load runs in the registry's own TaskGroup.
* ``release(room)`` when a peer leaves; a room with no peers is flushed and unloaded after
  ``room_idle_seconds`` unless someone joins again in the meantime.
* The registry is an ``async with`` resource owned by the server; leaving it drains every
  room to the store.
* With several nodes, ``cluster`` (``sync_server.cluster.RedisFanout``) hears about every
  load and unload: it subscribes to the document's channel *before* the store is read, so
  no update published meanwhile by another node can fall between the two.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from pycrdt import Doc

from shared.errors import CloseCode, CollabError, InvalidState, LocalError
from shared.update_gate import DocumentFacts

from .config import ServerConfig
from .lifecycle import Resource
from .metrics import Metrics
from .room import Room, RoomBus
from .store import DocumentStore
from .version_keeper import VersionKeeper

log = logging.getLogger("coscribe.registry")


class RoomRefused(LocalError):
    """A document that cannot be opened now: its peer is closed with ``close_code`` and
    ``reason`` (a sentence for people); ``metric`` counts it on /metrics."""

    close_code = CloseCode.TRY_AGAIN_LATER
    reason = "document cannot be opened now"
    metric = "room_refused"


class TooManyRooms(RoomRefused):
    """The server already has ``max_rooms`` documents loaded."""

    reason = "too many documents open; try again later"
    metric = "too_many_rooms"


class DocumentTrashed(RoomRefused):
    """The document is in the trash (``sync_server.library``): restore it to open it."""

    close_code = CloseCode.DOCUMENT_DELETED
    reason = "this document is in the trash; its owner can restore it"
    metric = "document_trashed"


class ClusterHooks(RoomBus, Protocol):
    """What the registry tells the cluster link about room lifecycles."""

    async def before_load(self, name: str) -> None: ...

    def loaded(self, room: Room) -> None: ...

    def unloaded(self, room: Room) -> None: ...


class RoomRegistry(Resource):
    def __init__(
        self,
        store: DocumentStore,
        metrics: Metrics,
        config: ServerConfig,
        *,
        cluster: ClusterHooks | None = None,
        versions: VersionKeeper | None = None,
    ) -> None:
        super().__init__("room registry")
        self._store = store
        self._metrics = metrics
        self._config = config  # max_rooms, room_idle_seconds
        self._cluster = cluster
        self._versions = versions
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._refs: dict[Room, int] = {}
        self._idle_timers: dict[str, asyncio.TimerHandle] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}

    async def _close(self) -> None:
        """Drain every room to the store and unload it (loads in flight are cancelled)."""
        for timer in self._idle_timers.values():
            timer.cancel()
        self._idle_timers.clear()
        for task in list(self._unloading.values()):
            await asyncio.shield(task)
        for room in list(self._rooms.values()):
            await room.drain()
            self._forget(room)
        self._rooms.clear()

    def _forget(self, room: Room) -> None:
        """``room`` is no longer served: close it and tell the cluster."""
        self._rooms.pop(room.name, None)
        room.close()
        if self._cluster is not None:
            self._cluster.unloaded(room)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def rooms(self) -> list[Room]:
        return list(self._rooms.values())

    # ------------------------------------------------------------------ acquire/release

    async def acquire(self, name: str) -> Room:
        """Return the room for ``name``, loading it if needed; counts one reference."""
        if not self.life.is_open:
            raise InvalidState("registry is closed")
        while True:
            if name in self._unloading:
                await asyncio.shield(self._unloading[name])
                continue
            room = self._rooms.get(name)
            if room is not None:
                break
            fut = self._loading.get(name)
            if fut is None:
                max_rooms = self._config.max_rooms
                if len(self._rooms) + len(self._loading) >= max_rooms:
                    raise TooManyRooms(f"server has {max_rooms} documents loaded")
                fut = asyncio.get_running_loop().create_future()
                self._loading[name] = fut
                self.spawn(self._load(name, fut), f"load {name}")
            room = await asyncio.shield(fut)
            break
        self._refs[room] = self._refs.get(room, 0) + 1
        timer = self._idle_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        return room

    def release(self, room: Room) -> None:
        """Drop one reference; schedule the idle unload when none is left."""
        name = room.name
        refs = self._refs.get(room, 0) - 1
        if refs > 0:
            self._refs[room] = refs
            return
        self._refs.pop(room, None)
        if not self.life.is_open or self._rooms.get(name) is not room:
            return
        loop = asyncio.get_running_loop()
        self._idle_timers[name] = loop.call_later(
            self._config.room_idle_seconds, self._start_unload, name
        )

    async def _load(self, name: str, fut: asyncio.Future[Room]) -> None:
        try:
            started = time.perf_counter()
            if await self._store.is_trashed(name):
                raise DocumentTrashed(f"{name!r} is in the trash")
            if self._cluster is not None:
                await self._cluster.before_load(name)
            stored = await self._store.load(name)
            doc: Doc[Any] = Doc()
            # One transaction per update: a single transaction around a long log is 5-10x
            # slower in yrs. The server doc has no observers, so origins do not matter here.
            for update in stored.updates:
                doc.apply_update(update)
            full_state, state_vector = doc.get_update(), doc.get_state()
            # One pass over every struct in Python: off the event loop for big documents.
            facts = (
                DocumentFacts.of_document(full_state, state_vector)
                if len(full_state) < 64 * 1024
                else await asyncio.to_thread(DocumentFacts.of_document, full_state, state_vector)
            )
            if facts.pending_structs:
                log.warning(
                    "stored document holds structs that never integrated (written before "
                    "the update gate); they stay out of the document",
                    extra={"fields": {"room": name, "structs": facts.pending_structs}},
                )
            room = Room(
                name,
                doc,
                stored.incarnation,
                self._store,
                self._metrics,
                bus=self._cluster,
                facts=facts,
                on_poisoned=self._evict,
                on_written=None if self._versions is None else self._versions.edited,
            )
            self._rooms[name] = room
            if self._cluster is not None:
                self._cluster.loaded(room)
            self._metrics.rooms_loaded_total += 1
            log.info(
                "room loaded",
                extra={
                    "fields": {
                        "room": name,
                        "updates": len(stored.updates),
                        "exists": stored.exists,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
            fut.set_result(room)
        except BaseException as exc:
            fut.set_exception(exc if isinstance(exc, Exception) else CollabError(repr(exc)))
            fut.exception()  # joiners may all have gone; do not warn about it
            if not isinstance(exc, Exception):
                raise
        finally:
            self._loading.pop(name, None)

    def _start_unload(self, name: str) -> None:
        self._idle_timers.pop(name, None)
        room = self._rooms.get(name)
        if room is None or room.peers or not self.life.is_open:
            return
        self._unloading[name] = self.run(self._unload(room), f"unload {name}")

    async def _unload(self, room: Room) -> None:
        try:
            await room.drain()
            if not room.peers:
                if self._versions is not None:
                    self._versions.left(room)
                self._forget(room)
                self._metrics.rooms_unloaded_total += 1
                log.info("room unloaded", extra={"fields": {"room": room.name}})
        finally:
            self._unloading.pop(room.name, None)

    def _evict(self, room: Room) -> None:
        """A poisoned room (see Room): close its peers, store what it accepted, drop it.

        Joiners wait for the eviction (``_unloading``), then load the document afresh
        from storage.
        """
        name = room.name
        if self._rooms.get(name) is not room or not self.life.is_open or name in self._unloading:
            return
        room.close_all(CloseCode.SERVICE_RESTART, "document reloaded; reconnect")
        timer = self._idle_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        self._unloading[name] = self.run(self._drop(room), f"evict {name}")

    async def _drop(self, room: Room) -> None:
        try:
            await room.drain()
            self._forget(room)
            self._metrics.rooms_unloaded_total += 1
        finally:
            self._unloading.pop(room.name, None)

    # ------------------------------------------------------------------ admin

    async def close_document(self, name: str, code: CloseCode, reason: str) -> None:
        """Close every peer of ``name`` on this node and unload its room (the trash)."""
        room = self._rooms.get(name)
        if room is None:
            return
        room.close_all(code, reason)
        timer = self._idle_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        await room.drain()
        if self._rooms.get(name) is room:
            self._forget(room)

    def people_in(self, name: str) -> int:
        """Peers connected to ``name`` on this node."""
        room = self._rooms.get(name)
        return 0 if room is None else len(room.peers)

    async def delete(self, name: str) -> bool:
        """Close every peer of ``name`` with DOCUMENT_DELETED and delete it from the store."""
        room = self._rooms.get(name)
        if room is not None:
            room.close_all(CloseCode.DOCUMENT_DELETED, "document deleted")
            await room.drain()
            self._forget(room)
        if self._versions is not None:
            self._versions.forget(name)
        return await self._store.delete(name)
