"""RelayServer: the composition root of the relay, as one ``async with`` resource.

Start-up order: store -> room registry -> listening socket. Shutdown (``aclose``, also on
leaving the ``async with``) is the reverse and idempotent: stop accepting and close every
peer (1001 or 1012) -> wait for every connection handler -> drain each room to the store
-> flush and close the store.

The same port answers plain HTTP: ``GET /healthz`` (liveness), ``GET /readyz`` (ready to
serve) and ``GET /metrics`` (Prometheus text). Any other path is a document name and must
be a WebSocket upgrade.
"""

from __future__ import annotations

import asyncio
import http
import logging
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from shared.docnames import document_name_from_path
from shared.errors import CloseCode, InvalidDocumentName, InvalidState
from shared.limits import SUBPROTOCOL

from .config import ServerConfig
from .connection import serve_connection
from .metrics import Metrics
from .registry import RoomRegistry
from .store import DocumentStore, MemoryStore

log = logging.getLogger("coscribe.server")


def open_store(config: ServerConfig) -> DocumentStore:
    """The store the configuration asks for (in-memory without a data dir)."""
    if config.database_path is None:
        return MemoryStore()
    from .sqlite_store import SQLiteStore

    return SQLiteStore(config.database_path)


class RelayServer:
    """The relay server: ``async with RelayServer(config) as s: await s.serve_forever()``."""

    def __init__(self, config: ServerConfig, store: DocumentStore | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self._store = store if store is not None else open_store(config)
        self._registry = RoomRegistry(
            self._store,
            self.metrics,
            max_rooms=config.max_rooms,
            idle_seconds=config.room_idle_seconds,
        )
        self._stack = AsyncExitStack()
        self._server: Server | None = None
        self._closed = asyncio.Event()
        self._closing = False
        self._ready = False

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        try:
            await self._stack.enter_async_context(self._store)
            await self._stack.enter_async_context(self._registry)
            c = self.config
            self._server = await serve(
                self._handle,
                c.host,
                c.port,
                process_request=self._process_request,
                select_subprotocol=_select_subprotocol,
                max_size=c.limits.max_message_size,
                max_queue=c.max_inbound_queue,
                compression=None,
                ping_interval=c.ping_interval,
                ping_timeout=c.ping_timeout,
                open_timeout=c.open_timeout,
                close_timeout=c.close_timeout,
                server_header="coscribe",
            )
        except BaseException:
            await self._stack.aclose()
            raise
        self._ready = True
        log.info("listening", extra={"fields": {"url": self.url, "data": str(c.data_dir)}})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self, code: CloseCode = CloseCode.GOING_AWAY) -> None:
        """Ordered, idempotent shutdown (see module docstring)."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._ready = False
        try:
            if self._server is not None:
                self._server.close(close_connections=True, code=int(code), reason="server shutdown")
                await self._server.wait_closed()
            await self._stack.aclose()
        finally:
            self._closed.set()
            log.info("stopped", extra={"fields": {}})

    async def serve_forever(self) -> None:
        """Wait until ``aclose`` is called (by a signal handler, say)."""
        await self._closed.wait()

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
        return f"ws://{host}:{self.port}"

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
        await serve_connection(ws, self._registry, self.metrics, self.config)

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        # A WebSocket upgrade is always a document; plain GETs are the HTTP endpoints. So
        # "healthz", "readyz" and "metrics" stay valid document names.
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return self._http_endpoint(conn, request)
        try:
            document_name_from_path(
                request.path, max_length=self.config.limits.max_document_name_length
            )
        except InvalidDocumentName as exc:
            self.metrics.connections_rejected += 1
            return _text(conn, http.HTTPStatus.BAD_REQUEST, f"invalid document name: {exc}\n")
        return None

    def _http_endpoint(self, conn: ServerConnection, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return _text(conn, http.HTTPStatus.OK, "ok\n")
        if path == "/readyz":
            if self._ready:
                return _text(conn, http.HTTPStatus.OK, "ready\n")
            return _text(conn, http.HTTPStatus.SERVICE_UNAVAILABLE, "not ready\n")
        if path == "/metrics":
            body = self.metrics.render(
                active_connections=len(self._server.connections) if self._server else 0,
                rooms=len(self._registry),
                store=self._store.stats,
            )
            resp = _text(conn, http.HTTPStatus.OK, body)
            resp.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return resp
        return _text(
            conn,
            http.HTTPStatus.UPGRADE_REQUIRED,
            "this is a Coscribe sync endpoint: open documents with a WebSocket client "
            "(ws://host:port/<document>); HTTP endpoints: /healthz /readyz /metrics\n",
        )


def _select_subprotocol(conn: ServerConnection, offered: list[str]) -> str | None:
    # Stock y-websocket clients offer no subprotocol and get plain y-websocket.
    return SUBPROTOCOL if SUBPROTOCOL in offered else None


def _text(conn: ServerConnection, status: http.HTTPStatus, body: str) -> Response:
    resp = conn.respond(status, body)
    if status is http.HTTPStatus.UPGRADE_REQUIRED:
        resp.headers = Headers(resp.headers)
        resp.headers["Upgrade"] = "websocket"
    return resp
