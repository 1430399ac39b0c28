"""``Resource``: the one lifecycle of the server's long-lived parts (relay, registry, stores,
cluster link), over the transition table in ``shared.lifecycle``.

* ``async with resource:`` opens it and closes it; ``await resource.aclose()`` may be called
  any number of times, from anywhere: the first call closes, the others wait for it.
* Each resource owns an ``asyncio.TaskGroup`` (entered through an ``AsyncExitStack``, never
  by hand) for its background work: :meth:`Resource.spawn` starts a task that lives until
  the resource closes; :meth:`Resource.run` a task that is awaited (not cancelled) when
  it closes.
* Order: :meth:`_close` runs first (stop accepting work, flush), then background tasks are
  cancelled, then the task group and everything ``_open`` entered on the stack exit in
  reverse order. A failed ``_open`` undoes what it did and leaves the resource CLOSED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

from shared.lifecycle import Lifecycle, LifeState


class Resource:
    """Base class; subclasses implement :meth:`_open` and :meth:`_close`."""

    def __init__(self, name: str) -> None:
        self.life = Lifecycle(name)
        self._stack = AsyncExitStack()
        self._tg: asyncio.TaskGroup | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._done: asyncio.Event | None = None

    # ------------------------------------------------------------------ for subclasses

    async def _open(self, stack: AsyncExitStack) -> None:
        """Acquire what the resource needs; enter sub-resources on ``stack``."""

    async def _close(self) -> None:
        """Stop taking work and flush, while background tasks still run."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A background task, cancelled when the resource closes."""
        task = self.run(coro, name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def run(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task of the resource's group, awaited (not cancelled) when it closes."""
        if self._tg is None or self.life.state not in (LifeState.OPENING, LifeState.OPEN):
            coro.close()
            self.life.require_open()
        assert self._tg is not None
        return self._tg.create_task(coro, name=name)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self.life.begin_open()
        self._done = asyncio.Event()
        try:
            self._tg = await self._stack.enter_async_context(asyncio.TaskGroup())
            await self._open(self._stack)
        except BaseException:
            self.life.begin_close()
            await self._teardown()
            raise
        self.life.opened()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close (idempotent; concurrent callers wait for the first one)."""
        if not self.life.begin_close():
            if self._done is not None:
                await self._done.wait()
            return
        try:
            await self._close()
        finally:
            await self._teardown()

    async def _teardown(self) -> None:
        try:
            background = list(self._background)
            for task in background:
                task.cancel()
            if background:  # before anything they use is closed
                await asyncio.wait(background)
            await self._stack.aclose()
        finally:
            self._tg = None
            self.life.closed()
            if self._done is not None:
                self._done.set()

    @property
    def is_open(self) -> bool:
        return self.life.is_open
