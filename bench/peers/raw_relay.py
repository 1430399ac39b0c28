"""A raw WebSocket relay with no CRDT work: the ceiling for what a relay can deliver here.

Every message a client sends is rebroadcast, unchanged, to the other clients in the same
room (room = URL path). It keeps no document, so it cannot answer a sync request: it is
only meaningful for the fan-out, trace and memory scenarios, where every reader is
connected before the writer starts.

Prints ``raw-relay listening on ws://HOST:PORT`` when ready; SIGTERM stops it.
"""

from __future__ import annotations

import peer_main
from websockets.asyncio.server import ServerConnection, broadcast


class Rooms:
    """Room name -> connected clients; owned by one server run, never global."""

    def __init__(self) -> None:
        self._rooms: dict[str, set[ServerConnection]] = {}

    async def handle(self, ws: ServerConnection) -> None:
        name = ws.request.path if ws.request is not None else "/"
        members = self._rooms.setdefault(name, set())
        members.add(ws)
        try:
            async for message in ws:
                broadcast([peer for peer in members if peer is not ws], message)
        finally:
            members.discard(ws)
            if not members:
                self._rooms.pop(name, None)


async def run(host: str, port: int) -> None:
    await peer_main.serve_until_stopped("raw-relay", Rooms().handle, host, port)


if __name__ == "__main__":
    peer_main.main(__doc__.splitlines()[0], run)
