"""pycrdt-websocket 0.16.5 served by the ``websockets`` library: the Python peer of the bench.

pycrdt-websocket ships no adapter for ``websockets`` (only ASGI and httpx-ws), so this
module supplies the small Channel adapter it needs (stack-notes section 5). Rooms live in
memory only (no store), which is the fairest comparison with the Node reference, which
also keeps documents in memory when ``YPERSISTENCE`` is unset.

One trap is handled here: the stock ``WebsocketServer.get_room`` lets two connections
that open the same new room at once both call ``room.start()``; the second waits forever
on the room's start lock. The memory scenario opens 10 connections per room at once, so
room creation and start are serialised under one lock.

Prints ``pycrdt-websocket listening on ws://HOST:PORT`` when ready; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import sys

import peer_main
from pycrdt.websocket import WebsocketServer, YRoom
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed


class WebsocketsChannel:
    """pycrdt ``Channel`` over one ``websockets`` server connection."""

    def __init__(self, ws: ServerConnection) -> None:
        self._ws = ws

    @property
    def path(self) -> str:
        return self._ws.request.path if self._ws.request is not None else "/"

    def __aiter__(self) -> WebsocketsChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration() from None

    async def send(self, message: bytes) -> None:
        await self._ws.send(message)

    async def recv(self) -> bytes:
        message = await self._ws.recv()
        return message if isinstance(message, bytes) else message.encode()


class SerialisedRoomsServer(WebsocketServer):
    """``WebsocketServer`` whose room creation and start cannot race (see module doc)."""

    def __init__(self) -> None:
        super().__init__(rooms_ready=True, auto_clean_rooms=True)
        self._room_lock = asyncio.Lock()

    async def get_room(self, name: str) -> YRoom:
        async with self._room_lock:
            return await super().get_room(name)


async def run(host: str, port: int) -> None:
    async with SerialisedRoomsServer() as yserver:

        async def handler(ws: ServerConnection) -> None:
            await yserver.serve(WebsocketsChannel(ws))

        await peer_main.serve_until_stopped("pycrdt-websocket", handler, host, port)


if __name__ == "__main__":
    peer_main.main(__doc__.splitlines()[0], run)
    sys.exit(0)
