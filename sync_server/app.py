"""RelayServer: the composition root of the relay, as one ``async with`` resource.

Start-up order: store -> room registry -> listening socket -> outbound sweeper. Shutdown
(``aclose``, also on leaving the ``async with``) is the reverse and idempotent: stop
accepting and close every peer (1001 or 1012) -> wait for every connection handler, at
most ``shutdown_timeout`` seconds, then cut the connections left -> drain each room to the
store -> flush and close the store. A peer that stopped reading cannot hold it up.

The same port answers plain HTTP: ``GET /healthz`` (liveness), ``GET /readyz`` (ready to
serve) and ``GET /metrics`` (Prometheus text). Any other path is a document name and must
be a WebSocket upgrade, except the root: ``/`` with the ``coscribe.v2`` subprotocol is a
session carrying many documents (``sync_server.mux``), and ``/?transport=polling`` is the
same session over HTTP long polls (``sync_server.polling``), for networks that block
WebSockets.
"""

from __future__ import annotations

import asyncio
import http
import logging
import ssl
import time
import weakref
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pycrdt import Doc, Map
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from shared.errors import CloseCode, InvalidState, StorageError
from shared.limits import SUBPROTOCOL, SUBPROTOCOL_V2
from shared.polling import PollTiming
from shared.schema import META

from .admission import Admission, Refusal, SessionGrant, credential_of
from .api import Api, RelayHooks
from .auth import Principal, token_from_request
from .config import ServerConfig
from .connection import Connection, serve_connection
from .keepalive import Keepalive, Pinged, WebsocketsPinged
from .library import TRASH_POLL, TRASH_SECONDS
from .lifecycle import Resource
from .memory import MemoryTrimmer
from .memory_store import MemoryStore
from .metrics import Metrics
from .mux import MuxSession, SessionHub
from .outbound import OutboundMonitor
from .polling import PollingFront, front_connection_class
from .registry import RoomRegistry
from .revocation import DOCUMENT, TOKEN, LivePeer, RevocationList
from .sockets import (
    GuardedConnection,
    Listener,
    SocketGuard,
    raise_fd_limit,
)
from .store import DocumentStore, Revocation
from .upgraded import reset
from .version_keeper import VersionKeeper
from .versions import VersionPolicy

if TYPE_CHECKING:
    from .cluster import RedisFanout

log = logging.getLogger("coscribe.server")

#: Seconds between reads of the revocations other processes stored.
REVOCATION_POLL = 0.5


def open_store(config: ServerConfig) -> DocumentStore:
    """The store the configuration asks for (in-memory without a data dir)."""
    if config.database_url is not None:
        from .postgres_store import PostgresStore

        return PostgresStore(config.database_url, commit_interval=config.commit_interval)
    if config.database_path is None:
        return MemoryStore()
    from .sqlite_store import SQLiteStore

    return SQLiteStore(config.database_path, commit_interval=config.commit_interval)


class RelayServer(Resource):
    """The relay server: ``async with RelayServer(config) as s: await s.serve_forever()``."""

    def __init__(self, config: ServerConfig, store: DocumentStore | None = None) -> None:
        super().__init__("relay server")
        self.config = config
        self.metrics = Metrics()
        self._store = store if store is not None else open_store(config)
        self._cluster: RedisFanout | None = None
        if config.redis_url is not None:
            from .cluster import RedisFanout

            self._cluster = RedisFanout(
                config.redis_url,
                self._store,
                node_id=config.node_id,
                heartbeat=config.cluster_heartbeat,
            )
        self._versions = VersionKeeper(self._store, VersionPolicy(every=config.version_every))
        self._registry = RoomRegistry(
            self._store, self.metrics, config, cluster=self._cluster, versions=self._versions
        )
        self._revocations = RevocationList()
        # Raises ConfigError if unsafe.
        self._admission = Admission(config, self.metrics, revoked=self._revocations.refuses)
        self._admitted: weakref.WeakKeyDictionary[
            ServerConnection, tuple[str, Principal] | SessionGrant | MuxSession
        ] = weakref.WeakKeyDictionary()
        self._ssl = _ssl_context(config)
        self._trimmer = MemoryTrimmer(on_trim=self._count_trim)
        self._outbound = OutboundMonitor(
            stall_timeout=config.stall_timeout, max_total=config.max_total_outbound_bytes
        )
        self._live: set[Connection] = set()  # coscribe.v1 and plain WebSockets
        self._live_changed = asyncio.Event()  # set when one of them ends
        self._hub = SessionHub(
            config=config,
            registry=self._registry,
            metrics=self.metrics,
            monitor=self._outbound,
            admission=self._admission,
            timing=PollTiming(hold=config.poll_hold, timeout=config.session_timeout),
            node_id=config.node_id,
        )
        self._api = Api(
            self._admission,
            self._store,
            RelayHooks(
                is_open=lambda: self.life.is_open,
                revoke=self.revoke_token,
                authors_of=self._versions.taken,
                people_in=self._registry.people_in,
                close_document=self._trashed,
                rename=self.rename,
                copy_of=self._copy_of,
            ),
            config,
        )
        self._front = PollingFront(self._hub, self._api.handle)
        self._refusal_logged_at = -1e9
        self._server: Server | None = None
        self._close_code = CloseCode.GOING_AWAY
        self._stopped = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def _open(self, stack: AsyncExitStack) -> None:
        await stack.enter_async_context(self._store)
        await stack.enter_async_context(self._versions)  # closes after the rooms, before the store
        if self._cluster is not None:
            await stack.enter_async_context(self._cluster)
        await stack.enter_async_context(self._registry)
        await stack.enter_async_context(self._hub)
        self._revocations.add(await self._store.revocations_since(0))
        c = self.config
        soft, _ = raise_fd_limit()
        guard = SocketGuard(
            max_handshakes_per_ip=c.max_handshakes_per_ip,
            fd_limit=soft,
            fd_reserve=c.fd_reserve,
            on_refuse=self._count_refused_socket,
        )
        listener = Listener(
            guard=guard,
            host=c.host,
            port=c.port,
            spawn=self.spawn,
            ssl_context=self._ssl,
            ssl_handshake_timeout=c.open_timeout if self._ssl is not None else None,
        )
        ws_server = serve(
            self._handle,
            c.host,
            c.port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=c.limits.max_message_size,
            max_queue=c.max_inbound_queue,
            compression=None,
            ping_interval=None,  # one Keepalive task pings them all (sync_server/keepalive.py)
            open_timeout=c.open_timeout,
            close_timeout=c.close_timeout,
            server_header="coscribe",
            ssl=self._ssl,
            create_connection=front_connection_class(guard, self._front),
        )
        self._server = await listener.install(ws_server)  # it accepts (sync_server/sockets.py)
        self.spawn(self._sweep_outbound(), "outbound sweeper")
        if c.ping_interval is not None:
            keepalive = Keepalive(c.ping_interval, c.ping_timeout)
            self.spawn(keepalive.run(self._pinged), "keepalive")
        self.spawn(self._poll_revocations(), "revocation poller")
        self.spawn(self._watch_trash(), "trash watcher")
        log.info("listening", extra={"fields": {"url": self.url, "data": str(c.data_dir)}})
        if self._admission.open_mode:
            if c.insecure_open:
                log.warning(
                    "OPEN MODE on a non-loopback address: anyone who can reach this server "
                    "can read and change every document",
                    extra={"fields": {"host": c.host}},
                )
            else:
                log.info("open mode: no secret configured, loopback clients edit everything")

    async def aclose(self, code: CloseCode = CloseCode.GOING_AWAY) -> None:
        """Ordered, idempotent shutdown (see module docstring); peers get ``code``."""
        if self.life.is_open:
            self._close_code = code
        try:
            await super().aclose()
        finally:
            self._stopped.set()

    async def _close(self) -> None:
        if self._server is not None:
            await self._close_connections(self._server, self._close_code)
        self._trimmer.cancel()
        log.info("stopped", extra={"fields": {}})

    async def _close_connections(self, server: Server, code: CloseCode) -> None:
        """Stop accepting, close every peer without waiting on slow readers, bounded."""
        server.close(close_connections=False)
        self._hub.close_all(code, "server shutdown")
        for conn in self._documents():
            conn.kick(code, "server shutdown")
        try:
            async with asyncio.timeout(self.config.shutdown_timeout):
                await server.wait_closed()
                await self._no_connection_left()
        except TimeoutError:
            left = list(server.connections)
            log.warning(
                "shutdown timeout: cutting the connections left",
                extra={"fields": {"connections": len(left) + len(self._live)}},
            )
            for ws in left:
                reset(ws.transport)
            for conn in list(self._live):
                conn.socket.abort()
            await server.wait_closed()
            await self._no_connection_left()  # aborted: each ends on the next loop turns
        self._front.close_all()

    # ------------------------------------------------------------------ revocation

    async def rename(self, name: str, title: str) -> None:
        """Set the title of ``name`` as an edit of the document (every peer sees it)."""
        room = await self._registry.acquire(name)
        try:
            room.apply_server_edit(lambda doc: doc.get(META, type=Map).__setitem__("title", title))
            await room.drain()
        finally:
            self._registry.release(room)
        await self._store.note_info(name, title=title, last_editor=None)

    async def _copy_of(self, name: str, title: str) -> bytes:
        """What is durable of ``name`` now, as one update of a new document titled
        ``title`` (its own history starts there; the original is not linked)."""
        stored = await self._store.load(name)

        def build() -> bytes:
            doc: Doc[Any] = Doc()
            for update in stored.updates:
                doc.apply_update(update)
            doc.get(META, type=Map)["title"] = title
            return doc.get_update()

        return await asyncio.to_thread(build)

    async def _trashed(self, name: str) -> None:
        await self._registry.close_document(
            name, CloseCode.DOCUMENT_DELETED, "this document was moved to the trash"
        )

    async def _watch_trash(self) -> None:
        """Close this node's rooms of documents moved to the trash (by this node, another
        node, or the CLI) within TRASH_POLL seconds, and delete for good what has been in
        the trash for TRASH_SECONDS (checked hourly)."""
        purge_due = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                loaded = {room.name for room in self._registry.rooms()}
                if loaded:
                    trashed = await self._store.catalog(trashed=True)
                    for name in loaded.intersection(e.name for e in trashed):
                        await self._trashed(name)
                if loop.time() >= purge_due:
                    purge_due = loop.time() + 3600
                    for name in await self._store.trashed_before(time.time() - TRASH_SECONDS):
                        await self._registry.delete(name)
                        log.info("deleted from the trash", extra={"fields": {"room": name}})
            except StorageError as exc:
                log.warning("watching the trash failed", extra={"fields": {"error": str(exc)}})
            await asyncio.sleep(TRASH_POLL)

    async def revoke_token(self, token_id: str) -> None:
        """Revoke one access link (by its token id) on every node; its sessions close."""
        self._learn(await self._store.add_revocation(TOKEN, token_id, time.time()))

    async def revoke_document(self, name: str) -> None:
        """Revoke every access link of ``name`` issued until now; their sessions close."""
        self._learn(await self._store.add_revocation(DOCUMENT, name, time.time()))

    def _learn(self, *records: Revocation) -> None:
        if not self._revocations.add(records):
            return
        for conn in self._documents():
            if self._revocations.refuses(conn.principal, conn.name):
                self.metrics.errors_by_kind["revoked"] += 1
                conn.kick(CloseCode.TOKEN_REVOKED, "this link was revoked")

    async def _poll_revocations(self) -> None:
        """Revocations made elsewhere (the CLI, other nodes) take effect within a second."""
        while True:
            await asyncio.sleep(REVOCATION_POLL)
            try:
                self._learn(*await self._store.revocations_since(self._revocations.cursor))
            except StorageError as exc:
                log.warning("cannot read revocations: %s", exc)

    async def _sweep_outbound(self) -> None:
        """Once a second: close peers that stopped reading; keep outbound memory bounded."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            before = self._outbound.stalled + self._outbound.trimmed
            self._outbound.sweep(loop.time())
            kicked = self._outbound.stalled + self._outbound.trimmed - before
            if kicked:
                self.metrics.slow_consumers += kicked

    def _count_refused_socket(self, why: str) -> None:
        self.metrics.connections_rejected += 1
        self.metrics.errors_by_kind[f"refused_socket_{why}"] += 1
        now = time.monotonic()
        if now - self._refusal_logged_at >= 10.0:  # at most one line per 10 s under a flood
            self._refusal_logged_at = now
            if why == "busy":
                log.warning("out of descriptors: refusing new connections with 503")
            else:
                log.warning("too many unfinished handshakes from one address; resetting")

    def _count_trim(self) -> None:
        self.metrics.memory_trims += 1

    async def serve_forever(self) -> None:
        """Wait until ``aclose`` is called (by a signal handler, say)."""
        await self._stopped.wait()

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        if self._server is None:
            raise InvalidState("server not started")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{host}:{self.port}"

    @property
    def outbound_bytes(self) -> int:
        """Bytes waiting to be sent to all peers, as of the last outbound sweep."""
        return self._outbound.total

    @property
    def connection_count(self) -> int:
        """Documents being served now (a coscribe.v1 WebSocket or a document in a session)."""
        return len(self._live) + len(self._hub.live)

    async def _no_connection_left(self) -> None:
        """Until every relay connection has ended (each one's clean-up has run)."""
        while self._live:
            self._live_changed.clear()
            await self._live_changed.wait()

    def _pinged(self) -> list[Pinged]:
        """Every open WebSocket, as the keepalive sees it."""
        pinged: list[Pinged] = [conn.socket for conn in self._live]
        if self._server is not None:
            pinged += map(WebsocketsPinged, self._server.connections)
        return pinged

    def _documents(self) -> list[LivePeer]:
        """Every document served now: coscribe.v1 WebSockets and documents in sessions."""
        return [*self._live, *self._hub.live]

    @property
    def sessions(self) -> SessionHub:
        """The coscribe.v2 sessions (one per client connection, WebSocket or polling)."""
        return self._hub

    @property
    def registry(self) -> RoomRegistry:
        return self._registry

    @property
    def store(self) -> DocumentStore:
        return self._store

    async def delete_document(self, name: str) -> bool:
        """Delete a document: its peers are closed with DOCUMENT_DELETED; a later join
        creates a new incarnation."""
        return await self._registry.delete(name)

    # ------------------------------------------------------------------ handlers

    async def _handle(self, ws: ServerConnection) -> None:
        admitted = self._admitted.pop(ws, None)
        if admitted is None:  # cannot happen: process_request admitted it
            await ws.close(CloseCode.INTERNAL_ERROR, "not admitted")
            return
        if isinstance(admitted, SessionGrant | MuxSession):
            await self._serve_session(ws, admitted)
            return
        name, principal = admitted
        # Everything needed from the handshake is in ``admitted``. websockets keeps the
        # request and response (it tests ``request is None`` to know the handshake is
        # done, so the objects stay), but their headers are never read again: clearing
        # them frees about 3 KB per idle connection.
        if ws.request is not None:
            ws.request.headers.clear()
        if ws.response is not None:
            ws.response.headers.clear()
        ip = _client_ip(ws)
        assert isinstance(ws, GuardedConnection)  # the server's connection class
        ws.mark_upgraded()
        self._admission.opened(ip)

        def ended() -> None:
            self._live_changed.set()
            self._admission.closed(ip)
            self._trimmer.connection_closed(self.connection_count)

        await serve_connection(
            ws,
            name,
            principal,
            self._registry,
            self.metrics,
            self.config,
            self._outbound,
            self._live,
            self.spawn,
            ended,
        )

    async def _serve_session(
        self, ws: ServerConnection, admitted: SessionGrant | MuxSession
    ) -> None:
        """A coscribe.v2 WebSocket: a new session, or one it resumes (or takes over).
        websockets reads its frames (sessions are one per client, not per document)."""
        if isinstance(ws, GuardedConnection):
            ws.mark_upgraded()
            ws.release_held()
        if ws.request is not None:
            ws.request.headers.clear()
        if ws.response is not None:
            ws.response.headers.clear()
        session = admitted
        if isinstance(admitted, SessionGrant):
            try:
                session = self._hub.create(admitted, _client_ip(ws))
            except InvalidState:
                await ws.close(CloseCode.GOING_AWAY, "server shutdown")
                return
        assert isinstance(session, MuxSession)
        await session.serve_websocket(ws)

    def _admit_session(
        self, conn: ServerConnection, request: Request
    ) -> SessionGrant | MuxSession | Response:
        query = urlsplit(request.path).query
        sid = next((v for k, v in parse_qsl(query) if k == "sid"), None)
        headers = request.headers
        if sid is None:
            decision = self._admission.admit_session(
                headers.get("Authorization"), headers.get("Origin"), query, _client_ip(conn)
            )
            if isinstance(decision, Refusal):
                return self._refuse(conn, decision)
            return decision
        refusal = self._admission.check_origin(headers.get("Origin"))
        if refusal is not None:
            return self._refuse(conn, refusal)
        found = self._hub.find(
            sid, credential_of(token_from_request(headers.get("Authorization"), query))
        )
        if not isinstance(found, MuxSession):
            return _text(conn, http.HTTPStatus.NOT_FOUND, "unknown session; open a new one\n")
        return found

    def _refuse(self, conn: ServerConnection, decision: Refusal) -> Response:
        self.metrics.connections_rejected += 1
        self.metrics.errors_by_kind[f"refused_{decision.metric}"] += 1
        log.info(
            "handshake refused",
            extra={
                "fields": {
                    "status": int(decision.status),
                    "why": decision.metric,
                    "peer": _client_ip(conn),
                }
            },
        )
        resp = _text(conn, decision.status, decision.reason + "\n")
        resp.headers["X-Coscribe-Refusal"] = decision.metric
        if decision.status is http.HTTPStatus.TOO_MANY_REQUESTS:
            resp.headers["Retry-After"] = "5"
        return resp

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        # A WebSocket upgrade is always a document; plain GETs are the HTTP endpoints. So
        # "healthz", "readyz" and "metrics" stay valid document names.
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return self._http_endpoint(conn, request)
        if urlsplit(request.path).path == "/" and SUBPROTOCOL_V2 in _offered(request):
            session = self._admit_session(conn, request)
            if isinstance(session, Response):
                return session
            self._admitted[conn] = session
            return None
        decision = self._admission.admit(request, _client_ip(conn))
        if isinstance(decision, Refusal):
            return self._refuse(conn, decision)
        self._admitted[conn] = decision
        return None

    def _select_subprotocol(
        self, conn: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        if isinstance(self._admitted.get(conn), SessionGrant | MuxSession):
            return Subprotocol(SUBPROTOCOL_V2)
        # Stock y-websocket clients offer no subprotocol and get plain y-websocket.
        return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None

    def _http_endpoint(self, conn: ServerConnection, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return _text(conn, http.HTTPStatus.OK, "ok\n")
        if path == "/readyz":
            if self.life.is_open:
                return _text(conn, http.HTTPStatus.OK, "ready\n")
            return _text(conn, http.HTTPStatus.SERVICE_UNAVAILABLE, "not ready\n")
        if path == "/metrics":
            body = self.metrics.render(
                active_connections=len(self._server.connections) if self._server else 0,
                rooms=len(self._registry),
                store=self._store.stats,
                outbound_bytes=self._outbound.total,
            )
            body += self._hub.render_metrics()
            if self._cluster is not None:
                body += self._cluster.render_metrics()
            resp = _text(conn, http.HTTPStatus.OK, body)
            resp.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return resp
        return _text(
            conn,
            http.HTTPStatus.UPGRADE_REQUIRED,
            "this is a Coscribe sync endpoint: open documents with a WebSocket client "
            "(ws://host:port/<document>); HTTP endpoints: /healthz /readyz /metrics\n",
        )


def _client_ip(conn: ServerConnection) -> str:
    address = conn.remote_address
    return str(address[0]) if address else "?"


def _ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None and config.tls_key is None:
        return None
    if config.tls_cert is None or config.tls_key is None:
        from .admission import ConfigError

        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(config.tls_cert, config.tls_key)
    return ctx


def _offered(request: Request) -> list[str]:
    return [
        p.strip()
        for value in request.headers.get_all("Sec-WebSocket-Protocol")
        for p in value.split(",")
    ]


def _text(conn: ServerConnection, status: http.HTTPStatus, body: str) -> Response:
    resp = conn.respond(status, body)
    # Every answer says it comes from Coscribe: a client tells our refusals from a proxy's.
    resp.headers["X-Coscribe"] = "2"
    if status is http.HTTPStatus.UPGRADE_REQUIRED:
        resp.headers["Upgrade"] = "websocket"
    return resp
