"""Test-side servers and clients that run their work in a task group of their own."""

from __future__ import annotations

import asyncio
from typing import Any, Self


class TaskGroupOwner:
    """``async with`` it: ``_start()`` runs once the task group ``self._tg`` is open (a
    failing start closes it again); on exit ``_stop()`` runs, then the task group waits for
    every task it holds, then ``_stopped()``."""

    def __init__(self) -> None:
        self._tg = asyncio.TaskGroup()

    async def __aenter__(self) -> Self:
        await self._tg.__aenter__()
        try:
            await self._start()
        except BaseException:
            await self._tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._stop()
        await self._tg.__aexit__(*exc_info)
        await self._stopped()

    async def _start(self) -> None:
        """Open whatever the tasks need (connect, listen)."""

    async def _stop(self) -> None:
        """Make the tasks end (close the socket or the listener)."""

    async def _stopped(self) -> None:
        """Wait for what ends after the tasks (a listener's closing)."""
