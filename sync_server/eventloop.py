"""Which asyncio event loop the server runs on: uvloop where it is installed, else asyncio's.

uvloop (libuv under asyncio's API) makes the loop itself, its timers and futures, and
above all the socket transports cheaper: a relay spends most of its time moving small
messages between sockets. The figures are in bench/README.md ("What each change bought").
It is optional: on Windows, or without the package, the server runs on the standard loop,
and ``--event-loop asyncio`` chooses that loop anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .admission import ConfigError

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str) -> tuple[str, LoopFactory | None]:
    """(name of the loop, factory or None for asyncio's default) for ``choice``.

    Raises:
        ConfigError: ``uvloop`` was asked for and is not installed.
    """
    if choice == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "--event-loop uvloop: the uvloop package is not installed "
                "(pip install uvloop, or use --event-loop asyncio)"
            ) from None
        return "asyncio", None
    factory: LoopFactory = uvloop.new_event_loop
    return "uvloop", factory
