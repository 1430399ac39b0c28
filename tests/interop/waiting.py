"""Condition waits with deadlines: the only way these tests wait for anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: Default deadline for anything that crosses the network on loopback. Generous: a pass
#: takes milliseconds, and only a failure ever waits this long.
DEADLINE = 5.0
#: How often a condition is re-checked.
POLL = 0.005


async def wait_until(predicate: Callable[[], bool], what: str, *, within: float = DEADLINE) -> None:
    """Return as soon as ``predicate()`` is true; fail the test after ``within`` seconds.

    Raises:
        AssertionError: the condition did not become true in time (``what`` says which).
    """
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL)


async def wait_until_async(
    predicate: Callable[[], Awaitable[bool]], what: str, *, within: float = DEADLINE
) -> None:
    """Like :func:`wait_until` for a condition that must be awaited (a Node client query)."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL)
