"""Give freed memory back to the operating system after many connections closed.

CPython's allocator and glibc's malloc keep freed memory for reuse, so a server that had
2,000 connections keeps their footprint after they close. ``malloc_trim(0)`` (glibc) hands
free pages back. It is cheap (milliseconds), so the policy is simple: trim when the server
became idle, or after every ``batch`` closed connections, at most once per ``interval``.
On platforms without glibc this is a no-op.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


class MemoryTrimmer:
    """Decides when to trim; a trim that comes too soon after the last one is deferred, not
    dropped, so the trim after the last connection closed always happens."""

    def __init__(
        self, *, batch: int = 256, interval: float = 1.0, on_trim: Callable[[], None] | None = None
    ) -> None:
        self._on_trim = on_trim
        self._batch = batch
        self._interval = interval
        self._closed = 0
        self._last = 0.0
        self._scheduled: asyncio.TimerHandle | None = None
        self.trims = 0

    def connection_closed(self, remaining: int) -> None:
        """Call after each closed connection with the number still open."""
        self._closed += 1
        if remaining == 0 or self._closed >= self._batch:
            self.request()

    def request(self) -> None:
        """Trim now, or as soon as the interval allows."""
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self.trim()
        elif self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_later(wait, self.trim)

    def trim(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        self._closed = 0
        self._last = time.monotonic()
        if _MALLOC_TRIM is None:
            return
        gc.collect()
        _MALLOC_TRIM(0)
        self.trims += 1
        if self._on_trim is not None:
            self._on_trim()

    def cancel(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
