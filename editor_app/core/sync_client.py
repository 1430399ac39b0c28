"""The editor's sync of one document: over the server's shared connection, or its own
WebSocket.

A thin asyncio pump around :class:`shared.SyncSession` (which owns the protocol):
``link.recv`` -> ``session.receive_data`` -> events; ``session.data_to_send`` ->
``link.send``. The link is a document's channel on the editor's one connection to its
server (``connection=``, a :class:`~editor_app.core.server_connection.ServerConnection`:
WebSocket or HTTP long polling, through proxies, shared by every document there), or, for
a server that does not speak coscribe.v2 (and in tests), a WebSocket of its own opened
through the configured proxy. What this module adds is everything about the *document's*
connection:

* its own reconnect loop (not websockets' built-in one, so that refusals, conflicts and
  the status shown to the user are decided here) with :class:`Backoff` full jitter, reset
  once a connection stayed synced for ``healthy_after`` seconds;
* a fresh session, hence a full state-vector resync both ways, on every connection.
  Edits made offline are simply in the doc and leave in the step 2 reply;
* local document updates (any transaction not tagged REMOTE or STORE_LOAD) and local
  awareness changes are sent as they happen; our awareness state is renewed every
  ``heartbeat`` s as y-protocols requires, and withdrawn on close;
* a :class:`ClientStatus` that never lies: SAVED only when the server (coscribe.v1)
  acknowledged every document message this connection sent; a plain y-websocket server
  cannot confirm saves, so the client says SYNCED rather than "saved";
* refusals (the server's HTTP 401/403 at the handshake, the y-websocket auth message, a
  close code that :attr:`shared.CloseCode.retryable` rejects) end in DENIED, a proxy's 407
  in PROXY_AUTH and an incarnation mismatch in CONFLICT, without a retry loop until
  :meth:`SyncClient.reconnect_now`. Anything else that goes wrong on the way (a 426 or 502
  from a proxy, a refused connection) is OFFLINE with a ``problem`` saying which
  ("unreachable", "blocked"), and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import pycrdt
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from shared import SUBPROTOCOL, CloseCode, Origin, ProtocolError, Side, SyncSession
from shared.docnames import document_name_from_path
from shared.messages import EMPTY_UPDATE, AwarenessEntry, AwarenessUpdate
from shared.origins import origin_matches
from shared.session import (
    Acknowledged,
    HelloReceived,
    IncarnationMismatched,
    PermissionDeniedReceived,
    Synced,
)
from shared.states import SessionState

from .backoff import Backoff
from .errors import (
    NetworkError,
    ProxyAuthRequired,
    ServerRefused,
    Unreachable,
    WebSocketBlocked,
)
from .net import open_websocket
from .proxy import ProxyMode, ProxyResolver, make_resolver
from .server_connection import (
    MAX_MESSAGE_SIZE,
    ChannelClosed,
    ConnectionInfo,
    ConnectionLost,
    Problem,
    ServerConnection,
)

log = logging.getLogger(__name__)

#: y-protocols drops a peer's awareness state after 30 s without an update.
AWARENESS_TIMEOUT = 30.0
_RETRYABLE_HTTP = frozenset({408, 429})


class Status(Enum):
    CONNECTING = "connecting"  # first connection under way
    OFFLINE = "offline"  # no connection; edits are kept locally (retry_in: next attempt)
    SAVING = "saving"  # connected; some local changes are not acknowledged yet
    SAVED = "saved"  # the server durably stored every local change
    SYNCED = "synced"  # connected to a server that cannot confirm saves (no coscribe.v1)
    DENIED = "denied"  # refused (auth, permission, protocol); detail says why; no retry
    PROXY_AUTH = "proxy_auth"  # the proxy wants a user name and password; no retry
    CONFLICT = "conflict"  # the server's document is another incarnation; app decides
    CLOSED = "closed"


@dataclass(frozen=True)
class ClientStatus:
    status: Status
    detail: str = ""
    retry_in: float | None = None
    read_only: bool = False
    #: Whether comment threads may be written: an editor's, owner's or commenter's link
    #: (a commenter's page is read-only, its comments are not).
    can_comment: bool = True
    #: OFFLINE: "unreachable" (no answer) or "blocked" (a proxy or firewall refuses).
    problem: str = ""


class _LinkClosed(Exception):
    """The document's link ended; ``code`` is the close code received (None: none)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _WebSocketLink:
    """A document's own WebSocket, as the link ``SyncClient`` pumps."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.extensions = ws.subprotocol == SUBPROTOCOL

    async def recv(self) -> bytes:
        try:
            message = await self.ws.recv()
        except ConnectionClosed:
            rcvd = self.ws.protocol.close_rcvd
            raise _LinkClosed(
                None if rcvd is None else rcvd.code, "" if rcvd is None else rcvd.reason
            ) from None
        return message.encode() if isinstance(message, str) else message

    async def send(self, message: bytes) -> None:
        try:
            await self.ws.send(message)
        except ConnectionClosed:
            raise _LinkClosed(None) from None

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        await self.ws.close(code, reason)


class _ChannelLink:
    """A document's channel on the server's shared connection."""

    extensions = True

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.lost = False

    async def recv(self) -> bytes:
        try:
            message: bytes = await self.channel.recv()
        except ChannelClosed as exc:
            raise _LinkClosed(exc.code, exc.reason) from None
        except ConnectionLost:
            self.lost = True
            raise _LinkClosed(None) from None
        return message

    async def send(self, message: bytes) -> None:
        self.channel.queue(message)

    def send_now(self, messages: list[bytes]) -> None:
        """Write ``messages`` in this call (the connection's frames need no await; a
        document's own WebSocket has no such path: websockets' send is a coroutine)."""
        for message in messages:
            self.channel.queue(message)
        self.channel.flush()

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        await self.channel.close(code, reason)


_Link = _WebSocketLink | _ChannelLink


@dataclass(frozen=True)
class _Stop:
    """Why a connection ended without a retry (DENIED or CONFLICT)."""

    status: Status
    detail: str
    problem: str = ""  # DENIED: "revoked", "expired" or "" (see status_text)


#: Close codes whose DENIED status has its own words (status_text).
_CLOSE_PROBLEMS = {CloseCode.TOKEN_REVOKED: "revoked", CloseCode.TOKEN_EXPIRED: "expired"}
#: The server's refusal kinds (``X-Coscribe-Refusal``) that have their own words.
_REFUSAL_PROBLEMS = {"revoked": "revoked", "expired": "expired"}


class SyncClient:
    """Keeps one document in sync with one relay URL until :meth:`close`.

    Args:
        url: ``ws://host:port/<document>`` (or ``wss://``).
        doc: the document; the client observes it and applies remote updates to it.
        awareness: the local presence; remote states are applied to it.
        incarnation: the incarnation the local copy came from (None: never synced).
        token: sent as ``Authorization: Bearer <token>``.
        backoff: the reconnect schedule (tests pass a small base).
        heartbeat: WebSocket ping interval, s. A dead network is noticed within
            ``heartbeat * 8 / 3`` s (ping interval + pong timeout + closing timeout: 40 s
            by default), and awareness is renewed this often.
        ssl: TLS context for ``wss://`` (None: the default context).
        healthy_after: seconds a synced connection must last before the backoff resets.
        fallback_urls: the same document on other relay nodes (cluster mode). After a
            failed or dropped connection the client moves to the next URL at once; only
            after a whole round of URLs failed does it back off.
        connection: the editor's shared connection to the document's server; without
            one (or when that server does not speak coscribe.v2) the document opens its
            own WebSocket.
        proxy: which proxy leads to the server for its own WebSocket (default: the
            standard environment variables).
    """

    def __init__(
        self,
        url: str,
        doc: pycrdt.Doc[Any],
        awareness: pycrdt.Awareness,
        *,
        incarnation: str | None = None,
        token: str | None = None,
        backoff: Backoff | None = None,
        heartbeat: float = 15.0,
        ssl: ssl_module.SSLContext | None = None,
        healthy_after: float = 10.0,
        fallback_urls: Sequence[str] = (),
        connection: ServerConnection | None = None,
        proxy: ProxyResolver | None = None,
    ) -> None:
        self.urls = [url, *fallback_urls]
        self._url_index = 0
        self.doc = doc
        self.awareness = awareness
        self.incarnation = incarnation
        self.token = token
        self.backoff = backoff or Backoff()
        self.heartbeat = heartbeat
        self.ssl = ssl
        self.healthy_after = healthy_after
        self.status = ClientStatus(Status.CONNECTING)
        #: Called with a newly adopted incarnation (persist it with the local copy).
        self.on_incarnation: Callable[[str], None] | None = None
        #: Number of connections opened so far (for diagnostics and tests).
        self.connections = 0
        self._listeners: list[Callable[[ClientStatus], None]] = []
        self._session: SyncSession | None = None
        self._link: _Link | None = None
        self._connection = connection
        self._proxy = proxy if proxy is not None else make_resolver(ProxyMode.AUTO)
        self._problem = ""
        self._last_error = ""
        self._retry_now = False
        self._outbox = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._running = False
        self._stopped = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._read_only = False
        self._can_comment = True
        self._synced_at: float | None = None
        self._writing = False  # the writer task is between taking messages and sending them

    # ------------------------------------------------------------------ public API

    @property
    def url(self) -> str:
        """The URL in use (or tried next)."""
        return self.urls[self._url_index]

    def add_listener(self, cb: Callable[[ClientStatus], None]) -> Callable[[], None]:
        """Call ``cb(status)`` on every status change; returns the unsubscribe function."""
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb) if cb in self._listeners else None

    async def run(self) -> None:
        """Connect, sync and reconnect until :meth:`close`. Call once."""
        if self._running or self._closing:
            return
        self._running = True
        doc_sub = self.doc.observe(self._on_doc_event)
        aw_sub = self.awareness.observe(self._on_awareness)
        unsubscribe: Callable[[], None] | None = None
        if self._connection is not None:
            self._connection.register(self, self.token)
            unsubscribe = self._connection.add_listener(self._on_connection_change)
        try:
            async with asyncio.TaskGroup() as tg:
                self._loop_task = tg.create_task(self._loop())
        finally:
            if self._connection is not None:
                self._connection.unregister(self)
            if unsubscribe is not None:
                unsubscribe()
            self.doc.unobserve(doc_sub)
            self.awareness.unobserve(aw_sub)
            self._set_status(ClientStatus(Status.CLOSED))
            self._stopped.set()

    async def close(self) -> None:
        """Withdraw our presence, close the connection and stop :meth:`run` (idempotent)."""
        if not self._closing:
            self._closing = True
            self._wake.set()
            session, link = self._session, self._link
            if session is not None and link is not None and not session.closed:
                with contextlib.suppress(_LinkClosed, ConnectionClosed):
                    await link.send(AwarenessUpdate(self._removal_payload(), ()).encode())
                    await link.close(CloseCode.NORMAL, "editor closed")
            if self._loop_task is not None:
                self._loop_task.cancel()
        if self._running:
            await self._stopped.wait()
        else:
            self._set_status(ClientStatus(Status.CLOSED))

    def reconnect_now(self) -> None:
        """Skip the rest of the current wait (the user pressed "retry")."""
        self.backoff.reset()
        if self._connection is not None:
            self._connection.reconnect_now()
        self._wake.set()

    # ------------------------------------------------------------------ reconnect loop

    async def _loop(self) -> None:
        ever_connected = False
        failed_in_round = 0
        while not self._closing:
            self._wake.clear()
            conn = self._connection
            if conn is not None and not conn.legacy and not conn.up:
                # The shared connection is not up: say why, and wait for it (it retries).
                version = conn.version
                self._show_connection(conn.info, ever_connected)
                await conn.wait_changed(version)
                continue
            if not ever_connected or self.status.status in (
                Status.DENIED,
                Status.CONFLICT,
                Status.PROXY_AUTH,
            ):
                self._set_status(ClientStatus(Status.CONNECTING))
            stop, synced_for = await self._attempt()
            ever_connected = ever_connected or self.connections > 0
            if self._closing:
                return
            if synced_for is not None and synced_for >= self.healthy_after:
                self.backoff.reset()
                failed_in_round = 0
            if stop is not None:
                self._set_status(ClientStatus(stop.status, stop.detail, problem=stop.problem))
                await self._wake.wait()
                continue
            if self._retry_now or (conn is not None and not conn.legacy and not conn.up):
                self._retry_now = False
                continue  # the connection dropped: it reconnects, the document follows
            if len(self.urls) > 1:
                self._url_index = (self._url_index + 1) % len(self.urls)
                failed_in_round += 1
                if failed_in_round < len(self.urls):
                    continue  # fail over to the next node at once
                failed_in_round = 0
            delay = self.backoff.next_delay()
            self._set_status(
                ClientStatus(
                    Status.OFFLINE, self._last_error, retry_in=delay, problem=self._problem
                )
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _show_connection(self, info: ConnectionInfo, ever_connected: bool) -> None:
        """The document's status while its server connection is down."""
        if info.problem is Problem.PROXY_AUTH:
            self._set_status(ClientStatus(Status.PROXY_AUTH, info.last_error))
        elif info.problem is Problem.DENIED:
            problem = _REFUSAL_PROBLEMS.get(info.refusal, "")
            self._set_status(ClientStatus(Status.DENIED, info.last_error, problem=problem))
        elif info.problem is None and not ever_connected:
            self._set_status(ClientStatus(Status.CONNECTING))
        else:
            problem = "blocked" if info.problem is Problem.BLOCKED else "unreachable"
            status = ClientStatus(
                Status.OFFLINE, info.last_error, retry_in=info.retry_in, problem=problem
            )
            self._set_status(status)

    async def _attempt(self) -> tuple[_Stop | None, float | None]:
        """One connection, start to end: (why not to retry or None, seconds it was synced)."""
        conn = self._connection
        if conn is not None and not conn.legacy:
            try:
                channel = await conn.open_channel(self._document_name(), self.token)
            except ConnectionLost:
                self._retry_now = True
                return None, None
            self.connections += 1
            link = _ChannelLink(channel)
            result = await self._serve(link)
            self._retry_now = link.lost  # the session ended, not the document: follow it
            return result
        return await self._attempt_websocket()

    def _document_name(self) -> str:
        return document_name_from_path(urlsplit(self.url).path)

    async def _attempt_websocket(self) -> tuple[_Stop | None, float | None]:
        """The document's own WebSocket (a server without coscribe.v2, or no connection)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        proxy = self._connection.proxy_resolver if self._connection is not None else self._proxy
        try:
            ws = await open_websocket(
                self.url,
                proxy=proxy(self.url),
                ssl=self.ssl,
                subprotocols=[SUBPROTOCOL],
                headers=headers,
                max_size=MAX_MESSAGE_SIZE,
                ping_interval=self.heartbeat,
                ping_timeout=self.heartbeat * 4 / 3,
                open_timeout=10.0,
                close_timeout=self.heartbeat / 3,  # part of the dead-network bound
            )
        except ProxyAuthRequired as exc:
            return _Stop(Status.PROXY_AUTH, str(exc)), None
        except ServerRefused as exc:
            if exc.retryable:
                self._failed("unreachable", exc)
                return None, None
            problem = _REFUSAL_PROBLEMS.get(exc.why, "")
            return _Stop(Status.DENIED, f"HTTP {exc.status}: {exc}", problem), None
        except WebSocketBlocked as exc:
            if exc.status in (401, 403):  # a server without X-Coscribe: its own refusal
                detail = f"HTTP {exc.status}: {exc.body}" if exc.body else f"HTTP {exc.status}"
                return _Stop(Status.DENIED, detail), None
            self._failed("unreachable" if exc.status in (408, 429) else "blocked", exc)
            return None, None
        except (Unreachable, NetworkError) as exc:
            self._failed("blocked" if not isinstance(exc, Unreachable) else "unreachable", exc)
            return None, None
        self._problem = ""
        async with ws:
            self.connections += 1
            return await self._serve(_WebSocketLink(ws))

    def _failed(self, problem: str, exc: BaseException) -> None:
        log.info("connection to %s failed: %s", self.url, exc)
        self._problem = problem
        self._last_error = str(exc)

    # ------------------------------------------------------------------ one connection

    async def _serve(self, link: _Link) -> tuple[_Stop | None, float | None]:
        extensions = link.extensions
        session = SyncSession(
            self.doc,
            Side.CLIENT,
            extensions=extensions,
            incarnation=self.incarnation,
            awareness=self.awareness,
            origin=Origin.REMOTE,
        )
        session.start()
        self._session, self._link = session, link
        self._synced_at = None
        self._read_only = False
        self._can_comment = True
        self._outbox.set()
        try:
            async with asyncio.TaskGroup() as tg:
                writer = tg.create_task(self._writer(link, session))
                renewer = tg.create_task(self._renew_awareness())
                stop = await self._reader(link, session)
                writer.cancel()
                renewer.cancel()
        finally:
            session.close()
            self._session = self._link = None
            self._forget_remote_presence()
        synced_for = None if self._synced_at is None else time.monotonic() - self._synced_at
        return stop, synced_for

    async def _reader(self, link: _Link, session: SyncSession) -> _Stop | None:
        try:
            while True:
                message = await link.recv()
                try:
                    session.receive_data(message)
                except ProtocolError as exc:
                    log.warning("protocol error from %s: %s", self.url, exc)
                    with contextlib.suppress(_LinkClosed):
                        await link.close(exc.close_code, str(exc)[:100])
                    if exc.close_code.retryable:
                        return None
                    return _Stop(Status.DENIED, f"protocol error: {exc}")
                stop = self._dispatch(session)
                self._outbox.set()
                if stop is not None:
                    code = CloseCode.INCARNATION_MISMATCH
                    with contextlib.suppress(_LinkClosed):
                        await link.close(
                            code if stop.status is Status.CONFLICT else CloseCode.NORMAL
                        )
                    return stop
                self._update_connected_status(session)
        except _LinkClosed as exc:
            return self._stop_from_close(exc.code, exc.reason)

    def _dispatch(self, session: SyncSession) -> _Stop | None:
        for event in session.events_received():
            if isinstance(event, HelloReceived):
                self._read_only = not event.role.writable
                self._can_comment = event.role.may_write  # owner, editor, commenter
                if event.incarnation != self.incarnation:
                    self.incarnation = event.incarnation
                    if self.on_incarnation is not None:
                        self.on_incarnation(event.incarnation)
            elif isinstance(event, Synced):
                self._synced_at = time.monotonic()
            elif isinstance(event, PermissionDeniedReceived):
                return _Stop(Status.DENIED, event.reason or "permission denied")
            elif isinstance(event, IncarnationMismatched):
                detail = f"local copy is from {event.local}, the server has {event.remote}"
                return _Stop(Status.CONFLICT, detail)
            elif isinstance(event, Acknowledged):
                pass  # reflected by session.all_acknowledged
        return None

    def _stop_from_close(self, received: int | None, reason: str) -> _Stop | None:
        if received is None:
            return None
        try:
            code = CloseCode(received)
        except ValueError:
            return None  # a code we do not know: treat as transient
        if code.retryable:
            return None
        detail = reason or code.name.replace("_", " ").lower()
        return _Stop(Status.DENIED, detail, _CLOSE_PROBLEMS.get(code, ""))

    async def _writer(self, link: _Link, session: SyncSession) -> None:
        with contextlib.suppress(_LinkClosed):
            while True:
                await self._outbox.wait()
                self._outbox.clear()
                self._writing = True
                try:
                    for message in session.data_to_send():
                        await link.send(message)
                finally:
                    self._writing = False
                self._update_connected_status(session)

    def flush(self) -> None:
        """Send what the session has queued now, in this call, if the link can (a channel
        on a WebSocket carrier that is not applying back-pressure); else it leaves with the
        writer task at the next event-loop turn, as always.

        The editor calls this at the end of each key press: a typed character then leaves
        before Qt repaints the window (a repaint and two loop hops delayed it by 2-4 ms),
        and the key's edit and caret move still share one frame.
        """
        session, link = self._session, self._link
        if session is None or session.closed or self._writing:
            return
        if not isinstance(link, _ChannelLink):
            return  # a document's own WebSocket: the writer task sends
        messages = session.data_to_send()
        if messages:
            link.send_now(messages)
            self._update_connected_status(session)

    async def _renew_awareness(self) -> None:
        """y-protocols liveness: renew our state, drop remote states that went silent."""
        period = min(self.heartbeat, AWARENESS_TIMEOUT / 10)
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            local = self.awareness.get_local_state()
            if local is not None and now - last_renewal >= self.heartbeat:
                last_renewal = now
                self.awareness.set_local_state(local)  # observed -> sent
            cutoff = time.time() * 1000 - AWARENESS_TIMEOUT * 1000
            stale = [
                cid
                for cid, meta in self.awareness.meta.items()
                if cid != self.awareness.client_id
                and cid in self.awareness.states
                and meta.get("lastUpdated", 0) < cutoff
            ]
            if stale:
                self.awareness.remove_awareness_states(stale, "timeout")

    # ------------------------------------------------------------------ observers

    def _on_doc_event(self, event: pycrdt.TransactionEvent) -> None:
        origin = event.transaction.origin()  # type: ignore[attr-defined]
        if origin_matches(origin, Origin.REMOTE) or origin_matches(origin, Origin.STORE_LOAD):
            return
        session = self._session
        update = event.update
        if session is None or session.closed or update == EMPTY_UPDATE:
            return  # offline: the change is in the doc and leaves in the next step 2
        session.send_update(update)
        self._outbox.set()
        self._update_connected_status(session)

    def _on_awareness(self, topic: str, payload: tuple[dict[str, Any], Any]) -> None:
        changes, origin = payload
        if topic != "update" or origin != "local":
            return
        cid = self.awareness.client_id
        if not any(cid in changes.get(key, ()) for key in ("added", "updated", "removed")):
            return
        session = self._session
        if session is None or session.closed:
            return
        session.send_awareness(self.awareness.encode_awareness_update([cid]))
        self._outbox.set()

    # ------------------------------------------------------------------ helpers

    def _removal_payload(self) -> bytes:
        cid = self.awareness.client_id
        clock = int(self.awareness.meta.get(cid, {}).get("clock", 0)) + 1
        return AwarenessUpdate.from_entries((AwarenessEntry(cid, clock, "null"),)).payload

    def _forget_remote_presence(self) -> None:
        """Offline we cannot see anyone: drop every remote cursor at once (as y-websocket)."""
        others = [cid for cid in self.awareness.states if cid != self.awareness.client_id]
        if others:
            self.awareness.remove_awareness_states(others, "disconnect")

    def _on_connection_change(self, info: ConnectionInfo) -> None:
        """The shared connection went down (the document waits to resume) or came back."""
        session = self._session
        if session is None or session.closed or self._closing:
            return
        if not info.up:
            self._show_connection(info, ever_connected=True)
        else:
            self._update_connected_status(session)

    def _update_connected_status(self, session: SyncSession) -> None:
        if session.closed or self._closing:
            return
        conn = self._connection
        if conn is not None and not conn.legacy and not conn.up:
            return  # the connection's status says it (OFFLINE) until it resumes
        self._problem = self._last_error = ""
        ro, cc = self._read_only, self._can_comment
        if session.state is not SessionState.SYNCED:
            if self.status.status is not Status.OFFLINE:
                self._set_status(ClientStatus(Status.CONNECTING, read_only=ro, can_comment=cc))
        elif not session.extensions:
            detail = "this server cannot confirm that changes are saved"
            self._set_status(ClientStatus(Status.SYNCED, detail, read_only=ro, can_comment=cc))
        elif session.all_acknowledged:
            self._set_status(ClientStatus(Status.SAVED, read_only=ro, can_comment=cc))
        else:
            self._set_status(ClientStatus(Status.SAVING, read_only=ro, can_comment=cc))

    def _set_status(self, status: ClientStatus) -> None:
        if status == self.status:
            return
        self.status = status
        for cb in list(self._listeners):
            cb(status)
