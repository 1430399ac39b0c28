"""A room: one loaded document, the peers editing it, and their presence.

The room knows no sockets. Peers are anything with the :class:`Peer` shape (the
WebSocket adapter in ``connection.py``, or a fake in tests). Each peer has its own
server-role :class:`~shared.session.SyncSession` over the room's document, so the
y-websocket conversation (step 1/2, updates, awareness) is handled by the shared core.

Relaying is coalesced: every document update applied during one event-loop turn goes into
a batch; at the end of the turn the batch is merged into ONE Yjs update, encoded ONCE, and
written to every peer that did not send it (a peer that sent part of the batch gets the
merge of the others' updates: never an echo). The same merged update is appended to the
store once; when that append is committed, each contributing peer on a coscribe.v1
connection gets an ACK for its last message in the batch. Relaying never waits on the disk.

Every update reaches the room's document through its :class:`~shared.update_gate.UpdateGate`
(peers' updates in their sessions, other nodes' and storage's here), so the live document
always equals the replay of the durable log: an update that would not integrate completely
never touches it. Updates from other nodes or storage that build on something not here yet
are held and retried (and a resync is asked for). Should yrs ever fail on an update the gate
admitted, the room is *poisoned*: it stops taking messages and asks its owner to evict it
(peers are closed with 1012 and resync from the durable log).

Presence is tracked per awareness client id with the id's clock, its JSON state verbatim
and the peer that published it, so that when a connection closes its states are removed
at once and the removal is broadcast (no ghost cursors). We keep this table ourselves
instead of a ``pycrdt.Awareness`` because the relay must know which connection owns which
client id and must relay states byte for byte.

With several nodes (``sync_server.cluster``), the room also publishes its relay batches
and its peers' awareness through a :class:`RoomBus`, and applies what other nodes
publish: their updates are applied, appended to the store and relayed to every peer;
their presence entries are owned by the remote node (see ``apply_remote_awareness``).
Without a bus (one node) none of this costs anything per message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import pycrdt
from pycrdt import Doc, merge_updates

from shared.access import Role
from shared.errors import (
    CloseCode,
    DocumentPoisoned,
    InvalidUpdate,
    StorageError,
    crdt_errors,
)
from shared.limits import ProtocolLimits
from shared.messages import (
    EMPTY_UPDATE,
    AwarenessEntry,
    AwarenessUpdate,
    SyncStep2,
    SyncUpdate,
)
from shared.schema import META
from shared.session import (
    AwarenessQueried,
    AwarenessReceived,
    HeldUpdateRefused,
    RemoteUpdate,
    StateRequested,
    SyncSession,
    UpdateHeld,
    UpdateRejected,
)
from shared.states import Side
from shared.update_gate import DocumentFacts, MissingDependencies, UpdateGate

from .metrics import Metrics
from .store import DocumentStore

log = logging.getLogger("coscribe.room")


class Peer(Protocol):
    """What a room needs from a connection."""

    session: SyncSession
    label: str

    def write(self, message: bytes) -> None:
        """Send one message now, without waiting; drop the peer if it is too far behind."""

    def kick(self, code: CloseCode, reason: str) -> None:
        """Close the connection with ``code`` (asynchronously; idempotent)."""

    def probe(self) -> None:
        """Check (asynchronously) that the peer is alive; close it if it does not answer."""

    def state_requested(self, size: int) -> None:
        """The peer asked for the document (step 1) and is sent ``size`` bytes; may close it."""


class RoomBus(Protocol):
    """Where a room publishes for the other nodes of a cluster (``sync_server.cluster``)."""

    def publish_update(self, room: str, update: bytes) -> None: ...

    def publish_awareness(self, room: str, message: bytes) -> None: ...

    def request_resync(self, room: str) -> None:
        """The room got an update that builds on something it never received."""


@dataclass(slots=True)
class _Presence:
    clock: int
    state_json: str
    owner: object  # a local Peer, or the remote node the entry came from


@dataclass(frozen=True, slots=True)
class _Claim:
    """A connection's first presence names an id another live connection owns."""

    claimer: Peer
    entry: AwarenessEntry
    at: float


#: Seconds a pending presence claim stays valid (see ``Room._on_awareness``).
CLAIM_WINDOW = 10.0

#: Updates from other nodes or storage held until what they build on arrives.
MAX_HELD_REMOTE = 4096

#: Updates merged into one relay batch at most: a flood read in one go (thousands of
#: messages from one socket read) is relayed in batches of this many, because yrs'
#: merge_updates costs more than linear time (256 updates: 0.6 ms; 4,000: 175 ms).
MAX_BATCH = 256


class Room:
    """One loaded document and its connected peers. Created by the RoomRegistry."""

    def __init__(
        self,
        name: str,
        doc: Doc[Any],
        incarnation: str,
        store: DocumentStore,
        metrics: Metrics,
        bus: RoomBus | None = None,
        facts: DocumentFacts | None = None,
        on_poisoned: Callable[[Room], None] | None = None,
        on_written: Callable[[Room, list[str]], None] | None = None,
    ) -> None:
        self.name = name
        self.doc = doc
        self.incarnation = incarnation
        #: Every update to ``doc`` passes this gate first (see module docstring).
        self.gate = UpdateGate(facts if facts is not None else _facts_of(doc))
        self._full_state: tuple[int, bytes] | None = None
        self._held_remote: list[bytes] = []
        self._on_poisoned = on_poisoned
        #: Told after each durable write of this node's peers, with their names (versions).
        self._on_written = on_written
        self.poisoned = False
        self._store = store
        self._metrics = metrics
        self.peers: dict[Peer, None] = {}  # insertion-ordered set
        self._presence: dict[int, _Presence] = {}
        self._claims: dict[int, _Claim] = {}
        self._presence_seen: set[Peer] = set()  # peers that sent their first awareness
        self._names: dict[Peer, str] = {}  # presence names of writers (names_of)
        self._batch: list[tuple[Peer, bytes, int]] = []
        self._flush_scheduled = False
        self._pending: set[asyncio.Future[None]] = set()
        self._bus = bus
        self._remote_batch: list[bytes] = []  # updates from other nodes, this loop turn
        self._closed = False
        self._title: str | None = None
        self._title_stale = True
        self._title_watch = self._watch_title()

    # ------------------------------------------------------------------ sessions

    def new_session(
        self, peer: object, *, extensions: bool, role: Role, limits: ProtocolLimits
    ) -> SyncSession:
        """A server-role session for a new peer of this room (not started)."""
        return SyncSession(
            self.doc,
            Side.SERVER,
            extensions=extensions,
            incarnation=self.incarnation,
            role=role,
            origin=peer,
            limits=limits,
            gate=self.gate,
            full_state=self.full_state,
        )

    def full_state(self) -> bytes:
        """The step 2 message with the whole document, encoded once per document version."""
        cached = self._full_state
        version = self.gate.version
        if cached is None or cached[0] != version:
            cached = self._full_state = (version, SyncStep2(self.doc.get_update()).encode())
            self._metrics.full_state_encodes += 1
        return cached[1]

    # ------------------------------------------------------------------ membership

    def join(self, peer: Peer) -> None:
        """Add a peer whose session is not started yet; send it the opening messages."""
        self.peers[peer] = None
        peer.session.start()
        self._write_session_output(peer)
        if self._presence:
            peer.write(self._presence_snapshot().encode())

    def leave(self, peer: Peer) -> None:
        """Remove a peer (idempotent) and broadcast the removal of its presence."""
        if self.peers.pop(peer, ...) is ...:
            return
        peer.session.close()
        self._presence_seen.discard(peer)
        self._names.pop(peer, None)
        for cid in [cid for cid, c in self._claims.items() if c.claimer is peer]:
            del self._claims[cid]
        removal = self.drop_presence_of(peer)
        if removal is not None and self._bus is not None:
            self._bus.publish_awareness(self.name, removal)

    def drop_presence_of(self, owner: object) -> bytes | None:
        """Remove every presence entry of ``owner`` and tell the peers; the message sent.

        An id that a live connection claimed while ``owner`` still held it (a client that
        reconnected before its old connection was found dead) passes to the claimer at once
        instead of disappearing.
        """
        now = time.monotonic()
        changes: list[AwarenessEntry] = []
        for cid, p in list(self._presence.items()):
            if p.owner is not owner:
                continue
            claim = self._claims.pop(cid, None)
            if claim is not None and claim.claimer in self.peers and now - claim.at < CLAIM_WINDOW:
                e = claim.entry
                self._presence[cid] = _Presence(
                    max(e.clock, p.clock + 1), e.state_json, claim.claimer
                )
                changes.append(AwarenessEntry(cid, max(e.clock, p.clock + 1), e.state_json))
            else:
                del self._presence[cid]
                changes.append(AwarenessEntry(cid, p.clock, "null"))
        if not changes:
            return None
        message = AwarenessUpdate.from_entries(tuple(changes)).encode()
        self._write_all(message, exclude=None)
        return message

    @property
    def closed(self) -> bool:
        """The registry no longer serves this room (unloaded, deleted or evicted)."""
        return self._closed

    def close(self) -> None:
        """Mark the room closed (idempotent); its owner stopped serving it."""
        self._closed = True

    def close_all(self, code: CloseCode, reason: str) -> None:
        """Close every peer's connection (shutdown, deletion)."""
        for peer in list(self.peers):
            peer.kick(code, reason)

    # ------------------------------------------------------------------ incoming

    def receive(self, peer: Peer, data: bytes) -> None:
        """Handle one message from ``peer``.

        Raises:
            ProtocolError: the message is bad; the caller closes this peer only. The
                document is unchanged (the session validates before applying).
        """
        if self.poisoned:
            return  # being evicted; every peer is being closed
        session = peer.session
        try:
            session.receive_data(data)
        except DocumentPoisoned as exc:
            self._poison(str(exc))
            raise InvalidUpdate("update rejected by the CRDT") from None
        for event in session.events_received():
            if isinstance(event, RemoteUpdate):
                self._metrics.updates_in += 1
                self._batch.append((peer, event.update, event.index))
                if len(self._batch) >= MAX_BATCH:
                    self._flush()  # merging grows faster than the batch: keep it small
                elif not self._flush_scheduled:
                    self._flush_scheduled = True
                    asyncio.get_running_loop().call_soon(self._flush)
            elif isinstance(event, AwarenessReceived):
                self._metrics.awareness_in += 1
                relayed = self._on_awareness(peer, event.update, data)
                if relayed is not None and self._bus is not None:
                    self._bus.publish_awareness(self.name, relayed)
            elif isinstance(event, AwarenessQueried):
                peer.write(self._presence_snapshot().encode())
            elif isinstance(event, UpdateRejected):
                self._metrics.updates_rejected += 1
            elif isinstance(event, UpdateHeld):
                self._metrics.updates_held += 1
            elif isinstance(event, StateRequested):
                peer.state_requested(event.size)
            elif isinstance(event, HeldUpdateRefused):
                self._metrics.errors_by_kind["InvalidUpdate"] += 1
                log.info(
                    "refusing a held update: %s",
                    event.reason,
                    extra={"fields": {"room": self.name, "peer": peer.label}},
                )
                peer.kick(CloseCode.INVALID_PAYLOAD, "InvalidUpdate")
        self._write_session_output(peer)

    def _poison(self, why: str) -> None:
        """The live document may hold part of an update: stop, and have it reloaded."""
        if self.poisoned:
            return
        self._metrics.errors_by_kind["document_poisoned"] += 1
        log.error(
            "an admitted update failed in the CRDT; reloading the document from storage",
            extra={"fields": {"room": self.name, "error": why}},
        )
        self.poisoned = True
        if self._flush_scheduled:
            self._flush()  # what was accepted before is good: relay and store it
        if self._on_poisoned is not None:
            self._on_poisoned(self)

    # ------------------------------------------------------------------ relay

    def _flush(self) -> None:
        """Relay and store everything applied during this loop turn (see module docstring)."""
        self._flush_scheduled = False
        batch, self._batch = self._batch, []
        if not batch:
            return
        self._metrics.relay_batches += 1
        last_index: dict[Peer, int]
        if len(batch) == 1:  # the usual case at human typing speed: one update per turn
            sender, merged, index = batch[0]
            if merged != EMPTY_UPDATE:
                self._relay(merged, exclude=sender)
            last_index = {sender: index} if index > 0 else {}
        else:
            merged = self._relay_batch(batch)
            last_index = {}
            for peer, _, index in batch:
                # Held updates that integrate later come with their (smaller) original index.
                if index > last_index.get(peer, 0):
                    last_index[peer] = index
        fut = self._store.append(self.name, merged)
        self._pending.add(fut)
        fut.add_done_callback(partial(self._on_durable, last_index))

    def _relay(self, update: bytes, *, exclude: object) -> None:
        """Send ``update`` to every peer but ``exclude`` (and publish it to other nodes)."""
        if self._bus is not None:
            self._bus.publish_update(self.name, update)
        self._write_all(SyncUpdate(update).encode(), exclude=exclude)

    def _relay_batch(self, batch: list[tuple[Peer, bytes, int]]) -> bytes:
        """Relay a turn's updates merged into one; return the merge (what is stored)."""
        real = [(p, u) for p, u, _ in batch if u != EMPTY_UPDATE]
        if not real:
            return EMPTY_UPDATE
        merged = real[0][1] if len(real) == 1 else merge_updates(*(u for _, u in real))
        if self._bus is not None:
            self._bus.publish_update(self.name, merged)
        senders = {p for p, _ in real}
        message = SyncUpdate(merged).encode()
        for peer in list(self.peers):
            if peer not in senders:
                peer.write(message)
            else:
                others = [u for p, u in real if p is not peer]
                if others:
                    upd = others[0] if len(others) == 1 else merge_updates(*others)
                    peer.write(SyncUpdate(upd).encode())
        return merged

    def _on_durable(self, last_index: dict[Peer, int], fut: asyncio.Future[None]) -> None:
        self._pending.discard(fut)
        exc = None if fut.cancelled() else fut.exception()
        if fut.cancelled() or exc is not None:
            self._metrics.errors_by_kind["store"] += 1
            log.error(
                "store append failed; closing contributing peers so they resync",
                extra={"fields": {"room": self.name, "error": repr(exc)}},
            )
            for peer in last_index:
                peer.kick(CloseCode.INTERNAL_ERROR, "storage failure")
            return
        if self._on_written is not None and last_index:
            self._on_written(self, self.names_of(last_index))
        for peer, index in last_index.items():
            if peer in self.peers and peer.session.acknowledge(index):
                self._metrics.acks_sent += 1
                self._write_session_output(peer)

    async def drain(self) -> None:
        """Wait until every update relayed so far is durably stored."""
        if self._flush_scheduled:
            self._flush()
        if self._remote_batch:
            self._flush_remote()
        while self._pending:
            results = await asyncio.gather(*list(self._pending), return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException) and not isinstance(r, StorageError):
                    log.debug("pending append ended with %r", r)

    # ------------------------------------------------------------------ other nodes

    def apply_remote_update(self, update: bytes) -> None:
        """An update another node relayed: apply, store (never ACKed) and relay to all.

        Storing it here too keeps this node's document covered by its own appends, so an
        ACK this node sends later is true even if the other node died before committing.
        An update that builds on something this node never received is held (and a resync
        asked for) until it can integrate.

        Raises:
            InvalidUpdate: the update can never integrate (it is dropped).
        """
        if update == EMPTY_UPDATE or self.poisoned:
            return
        if self._integrate_trusted(update):
            self._retry_held_remote()
        else:
            self._metrics.updates_held += 1
            if self._bus is not None:
                self._bus.request_resync(self.name)

    def apply_server_edit(self, edit: Callable[[Doc[Any]], None]) -> None:
        """An edit the server itself makes (a rename through the API): ``edit`` changes a
        copy of the document, and the resulting update is applied, stored, relayed to this
        node's peers and published to the other nodes like any peer's (``drain()`` waits
        for it to be durable)."""
        copy: Doc[Any] = Doc()
        copy.apply_update(self.doc.get_update())
        updates: list[bytes] = []
        subscription = copy.observe(lambda event: updates.append(event.update))
        try:
            with copy.transaction():
                edit(copy)
        finally:
            copy.unobserve(subscription)
        for update in updates:
            if self._integrate_trusted(update) and self._bus is not None:
                self._bus.publish_update(self.name, update)

    def _integrate_trusted(self, update: bytes, *, relay: bool = True) -> bool:
        """Apply an update from another node or storage through the gate; False if held.

        ``relay``: store and relay it (a remote update) or not (storage already has it).
        """
        gate = self.gate
        try:
            admitted = gate.admit(update)
        except MissingDependencies:
            self._held_remote.append(update)
            if len(self._held_remote) > MAX_HELD_REMOTE:
                self._held_remote.pop(0)
                self._metrics.errors_by_kind["held_remote_dropped"] += 1
            return False
        try:
            pycrdt.get_state(update)  # decodes all of it, touches nothing
        except ValueError:
            raise InvalidUpdate("update does not decode") from None
        try:
            with crdt_errors(DocumentPoisoned):
                self.doc.apply_update(update)
        except DocumentPoisoned as exc:
            self._poison(str(exc))
            return False
        gate.commit(admitted)
        if not relay:
            return True
        self._remote_batch.append(admitted.gained())
        if len(self._remote_batch) == 1:
            # Coalesced like local batches: one merged append and one message per turn.
            asyncio.get_running_loop().call_soon(self._flush_remote)
        return True

    def _retry_held_remote(self) -> None:
        progressed = True
        while progressed and self._held_remote and not self.poisoned:
            progressed = False
            held, self._held_remote = self._held_remote, []
            for update in held:
                try:
                    if self._integrate_trusted(update):
                        progressed = True
                except InvalidUpdate as exc:
                    self._metrics.errors_by_kind["held_remote_invalid"] += 1
                    log.warning("dropped a held remote update: %s", exc)

    def _flush_remote(self) -> None:
        batch, self._remote_batch = self._remote_batch, []
        if not batch:
            return
        merged = batch[0] if len(batch) == 1 else merge_updates(*batch)
        self._store_remote(merged)
        self._write_all(SyncUpdate(merged).encode(), exclude=None)

    def merge_stored(self, updates: list[bytes]) -> None:
        """Merge the document as storage has it (a resync) and relay what was new here.

        Each stored update goes through the gate like any other (storage has them, so they
        are not stored again); what they add is relayed to this node's peers.
        """
        if self.poisoned:
            return
        before = self.doc.get_state()
        for update in updates:
            if update == EMPTY_UPDATE:
                continue
            try:
                self._integrate_trusted(update, relay=False)
            except InvalidUpdate as exc:
                self._metrics.errors_by_kind["stored_update_invalid"] += 1
                log.error("a stored update does not integrate: %s", exc)
        self._retry_held_remote()
        if updates:
            diff = self.doc.get_update(before)  # new structs + the whole delete set
            if diff != EMPTY_UPDATE:
                self._write_all(SyncUpdate(diff).encode(), exclude=None)

    def _store_remote(self, update: bytes) -> None:
        fut = self._store.append(self.name, update)
        self._pending.add(fut)
        fut.add_done_callback(self._on_remote_stored)

    def _on_remote_stored(self, fut: asyncio.Future[None]) -> None:
        self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            self._metrics.errors_by_kind["store"] += 1
            log.error(
                "store append of a remote update failed", extra={"fields": {"room": self.name}}
            )

    def apply_remote_awareness(self, owner: object, update: AwarenessUpdate, raw: bytes) -> None:
        """Presence from another node: track it as owned by ``owner`` and relay it."""
        self._on_awareness(owner, update, raw)

    def local_presence_message(self) -> bytes | None:
        """An awareness message with the presence of this node's own peers (or None)."""
        entries = tuple(
            AwarenessEntry(cid, p.clock, p.state_json)
            for cid, p in self._presence.items()
            if p.owner in self.peers
        )
        return AwarenessUpdate.from_entries(entries).encode() if entries else None

    # ------------------------------------------------------------------ presence

    def _on_awareness(self, peer: object, update: AwarenessUpdate, raw: bytes) -> bytes | None:
        """Track and relay presence; return the message relayed (None if nothing was).

        A local connection may only publish ids that are new or that it owns. Claims on an
        id another live connection owns are neither stored nor relayed, so nobody can
        rewrite or remove someone else's cursor, and the echoes stock y-websocket clients
        send of every state they receive never steal an id. The one legitimate claim is a
        client that reconnected before its old connection was found dead: its FIRST
        presence message names its own id. That claim is kept pending, the old owner is
        probed (a ping it must answer), and if the old connection closes within
        CLAIM_WINDOW the id passes to the new one at once.

        Entries from other nodes (``peer`` not one of our connections) are trusted: each
        node enforces these rules for its own connections; there the newest clock wins.
        """
        local = peer in self.peers
        first = local and peer not in self._presence_seen
        if local:
            self._presence_seen.add(peer)  # type: ignore[arg-type]
        accepted: list[AwarenessEntry] = []
        for entry in update.entries:
            cid = entry.client_id
            current = self._presence.get(cid)
            if current is None:
                if not entry.removed:
                    self._presence[cid] = _Presence(entry.clock, entry.state_json, peer)
                accepted.append(entry)
            elif current.owner is peer or not local:
                if entry.clock > current.clock or (entry.clock == current.clock and entry.removed):
                    current.owner = peer
                    if entry.removed:
                        del self._presence[cid]
                    else:
                        current.clock = entry.clock
                        current.state_json = entry.state_json
                accepted.append(entry)  # an older clock is relayed; receivers ignore it
            else:
                self._metrics.errors_by_kind["awareness_foreign_id"] += 1
                owner = current.owner
                if first and not entry.removed and owner in self.peers:
                    self._claims[cid] = _Claim(peer, entry, time.monotonic())  # type: ignore[arg-type]
                    owner.probe()
        if not accepted:
            return None
        if len(accepted) < len(update.entries):
            raw = AwarenessUpdate.from_entries(tuple(accepted)).encode()
        self._write_all(raw, exclude=peer)
        return raw

    def _presence_snapshot(self) -> AwarenessUpdate:
        return AwarenessUpdate.from_entries(
            tuple(AwarenessEntry(cid, p.clock, p.state_json) for cid, p in self._presence.items())
        )

    def title(self) -> str | None:
        """The document's title (``meta.title``), if it has a text one.

        Asked after every durable write (the library notes it), and reading it through
        pycrdt costs ~17 µs, so it is kept until the ``meta`` map changes.
        """
        if self._title_stale:
            self._title = _read_title(self.doc)
            self._title_stale = self._title_watch is None
        return self._title

    def _watch_title(self) -> pycrdt.Subscription | None:
        try:
            meta = self.doc.get(META, type=pycrdt.Map)
        except (ValueError, TypeError, RuntimeError):  # a root of another kind: no caching
            return None
        subscription: pycrdt.Subscription = meta.observe(self._title_changed)
        return subscription

    def _title_changed(self, _event: object) -> None:
        self._title_stale = True

    def names_of(self, peers: Iterable[Peer]) -> list[str]:
        """The names (``user.name`` of their presence) of ``peers`` that announced one.

        Called after every durable write: a peer's name is read from its presence once
        and kept until it leaves, not JSON-decoded per commit.
        """
        names: list[str] = []
        for peer in peers:
            name = self._names.get(peer)
            if name is None:
                found = (
                    _user_name(p.state_json) for p in self._presence.values() if p.owner is peer
                )
                name = next((n for n in found if n), None)
                if name is None:
                    continue
                self._names[peer] = name
            names.append(name)
        return names

    def presence_client_ids(self) -> list[int]:
        return list(self._presence)

    # ------------------------------------------------------------------ output

    def _write_session_output(self, peer: Peer) -> None:
        for message in peer.session.data_to_send():
            peer.write(message)

    def _write_all(self, message: bytes, *, exclude: object) -> None:
        targets: Iterable[Peer] = list(self.peers)
        for peer in targets:
            if peer is not exclude:
                peer.write(message)


def _read_title(doc: Doc[Any]) -> str | None:
    try:
        value = doc.get(META, type=pycrdt.Map).get("title")
    except (ValueError, TypeError, RuntimeError):  # a root of another kind
        return None
    return value[:500] if isinstance(value, str) else None


def _user_name(state_json: str) -> str | None:
    """``user.name`` of a presence state (y-quill / Coscribe convention), if it has one."""
    try:
        state = json.loads(state_json)
    except ValueError:
        return None
    user = state.get("user") if isinstance(state, dict) else None
    name = user.get("name") if isinstance(user, dict) else None
    return name[:100] if isinstance(name, str) and name.strip() else None


def _facts_of(doc: Doc[Any]) -> DocumentFacts:
    """The gate's facts for ``doc`` (one scan; tests and small documents)."""
    return DocumentFacts.of_document(doc.get_update(), doc.get_state())
