"""Coroutines run in the background for one owner: the app, a window or a dialog.

Work started from a Qt slot runs as an asyncio task on the qasync loop (plain callbacks,
not ``@asyncSlot``: it fails on zero-argument signals such as ``clicked``, qasync#177).
:class:`BackgroundTasks` keeps each task until it ends, so none is garbage-collected
mid-flight, and reports a failure through ``sys.excepthook``: the app's hook tells the
user in words (an error dialog), a test fails. The owner cancels what is left when it
closes (:meth:`~BackgroundTasks.cancel`, or :meth:`~BackgroundTasks.aclose` to also wait).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundTasks:
    """The tasks one owner started and that are still running.

    ``on_change`` (optional) is called after a task starts and after one ends (its count
    changed: ``len()`` says how many run), e.g. to enable buttons while nothing is busy.
    """

    def __init__(self, on_change: Callable[[], object] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_change = on_change

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` on the event loop, kept until done; a failure reaches sys.excepthook."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        if self._on_change is not None:
            self._on_change()
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if self._on_change is not None:
            self._on_change()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            sys.excepthook(type(exc), exc, exc.__traceback__)

    def cancel(self) -> None:
        """Cancel every task still running (each ends at its next ``await``)."""
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Cancel what is still running and wait for it (idempotent)."""
        tasks = list(self._tasks)
        self.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
