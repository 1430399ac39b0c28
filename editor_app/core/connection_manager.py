"""The editor's server connections: one per server, shared by that server's documents.

:class:`ConnectionManager` hands a document the :class:`~.server_connection.ServerConnection`
of its server (created on first use, closed with the last document), owns every
connection's task in one task group, passes proxy changes on, and remembers per server
(:class:`NetworkMemory`, the settings file) whether the WebSocket was blocked, so the next
start polls at once.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Protocol

from .proxy import ProxyResolver, direct
from .server_connection import ConnectionInfo, ServerConnection, Transport


class NetworkMemory(Protocol):
    """Where the editor remembers, per server, that its WebSocket was blocked (the
    settings file): the next start goes straight to polling instead of waiting for an
    upgrade that will not come (up to ``WS_OPEN_TIMEOUT``); probes still try WebSocket."""

    def websocket_blocked(self, server: str) -> bool: ...

    def set_websocket_blocked(self, server: str, blocked: bool) -> None: ...


class ConnectionManager:
    """The editor's server connections: one per server, shared by its documents.

    ``acquire(server)`` returns the server's connection (created and started on first
    use); ``release`` when a document closes; the last release closes it. Every
    connection's task belongs to the manager's task group (:meth:`run`). With a
    ``memory``, a server whose WebSocket was blocked starts with polling next time.
    """

    def __init__(
        self,
        *,
        proxy: ProxyResolver = direct,
        memory: NetworkMemory | None = None,
        **options: Any,
    ) -> None:
        self.proxy = proxy
        self.memory = memory
        self.options = options
        self.connections: dict[str, ServerConnection] = {}
        self._refs: dict[str, int] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._pending: list[ServerConnection] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Own every connection's task until :meth:`aclose`."""
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            for conn in self._pending:
                tg.create_task(conn.run(), name=f"connection {conn.server}")
            self._pending.clear()
            await self._stop.wait()
            for conn in list(self.connections.values()):
                await conn.close()
        self._tg = None

    def acquire(self, server: str) -> ServerConnection:
        key = server.rstrip("/")
        conn = self.connections.get(key)
        if conn is None:
            options = dict(self.options)
            memory = self.memory
            if memory is not None:
                options.setdefault("start_with_polling", memory.websocket_blocked(key))
            conn = ServerConnection(key, proxy=self._resolve, **options)
            if memory is not None:
                conn.add_listener(functools.partial(_remember, memory, key))
            self.connections[key] = conn
            if self._tg is not None:
                self._tg.create_task(conn.run(), name=f"connection {key}")
            else:
                self._pending.append(conn)
        self._refs[key] = self._refs.get(key, 0) + 1
        return conn

    async def release(self, conn: ServerConnection) -> None:
        key = conn.server
        refs = self._refs.get(key, 0) - 1
        if refs > 0:
            self._refs[key] = refs
            return
        self._refs.pop(key, None)
        if self.connections.get(key) is conn:
            del self.connections[key]
            await conn.close()

    def set_proxy(self, proxy: ProxyResolver) -> None:
        """New proxy settings: every connection reconnects with them (WebSocket first)."""
        self.proxy = proxy
        for conn in self.connections.values():
            conn.reconnect_now()

    def _resolve(self, url: str) -> Any:
        return self.proxy(url)

    async def aclose(self) -> None:
        self._stop.set()
        for conn in list(self.connections.values()):
            await conn.close()


def _remember(memory: NetworkMemory, server: str, info: ConnectionInfo) -> None:
    if info.transport is Transport.WEBSOCKET:
        memory.set_websocket_blocked(server, False)
    elif info.websocket_blocked:
        memory.set_websocket_blocked(server, True)
