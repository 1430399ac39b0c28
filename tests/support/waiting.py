"""Condition waits with deadlines: the one way the tests wait for anything.

A test never sleeps to "let something happen"; it names the condition it needs and waits
for it with a deadline. Deadlines are in seconds, generous (a pass takes milliseconds on
loopback; only a failure ever waits this long), and a timeout fails the test with the
condition's name so the report says what did not happen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: Default deadline, in seconds, for anything that crosses the network on loopback.
DEADLINE = 10.0
#: How often, in seconds, a condition is re-checked.
POLL = 0.005

#: What a wait is for: a text, or a function giving one (evaluated only on failure, so it
#: can show the state at the deadline).
What = str | Callable[[], str]


def _describe(what: What) -> str:
    return what() if callable(what) else what


async def wait_until(
    predicate: Callable[[], bool], what: What, *, within: float = DEADLINE, poll: float = POLL
) -> None:
    """Return as soon as ``predicate()`` is true; fail the test after ``within`` seconds.

    Raises:
        AssertionError: the condition did not become true in time (``what`` says which).
    """
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {_describe(what)}")
        await asyncio.sleep(poll)


async def wait_until_async(
    predicate: Callable[[], Awaitable[bool]], what: What, *, within: float = DEADLINE
) -> None:
    """Like :func:`wait_until` for a condition that must be awaited (a Node client query)."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {_describe(what)}")
        await asyncio.sleep(POLL)


async def stays(predicate: Callable[[], bool], what: What, *, within: float) -> None:
    """Assert that ``predicate`` holds for all of ``within`` seconds (a bounded negative
    check: "nothing arrives", "the status does not change")."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert predicate(), _describe(what)
        await asyncio.sleep(POLL)
