"""What the Python peer servers share: a command line (``--host``, ``--port``, 0 for any
free port) and serving one WebSocket handler until SIGTERM or SIGINT, after printing
``LABEL listening on ws://HOST:PORT``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from websockets.asyncio.server import ServerConnection, serve


async def serve_until_stopped(
    label: str, handler: Callable[[ServerConnection], Awaitable[None]], host: str, port: int
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with serve(
        handler, host, port, max_size=None, compression=None, ping_interval=None
    ) as server:
        bound = server.sockets[0].getsockname()
        print(f"{label} listening on ws://{bound[0]}:{bound[1]}", flush=True)
        await stop.wait()


def main(description: str, run: Callable[[str, int], Coroutine[Any, Any, None]]) -> None:
    """Parse ``--host``/``--port`` and run ``run(host, port)`` to its end."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(run(args.host, args.port))
