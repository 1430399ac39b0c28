"""When a store folds a document's log in the background (the how is in ``fold.py``).

A commit or a load reports the document's log size; past ``after_updates`` entries or
``after_bytes`` bytes a background fold starts, at most one per document at a time. A
fold that was refused (a dependency is missing from storage) is retried only once the log
has doubled, so such a document does not cost a fold per commit.
"""

from __future__ import annotations

import asyncio


class CompactionPolicy:
    """Thresholds, refusals and the running background folds of one store."""

    def __init__(self, after_updates: int, after_bytes: int) -> None:
        self.after_updates = after_updates
        self.after_bytes = after_bytes
        self._running: dict[str, asyncio.Task[None]] = {}
        # name -> log length when a fold was refused
        self._refused_at: dict[str, int] = {}

    def wants(self, name: str, log_count: int, log_bytes: int) -> bool:
        """Should a background fold of ``name`` start now?"""
        if name in self._running or log_count < 2 * self._refused_at.get(name, 0):
            return False
        return log_count > self.after_updates or log_bytes > self.after_bytes

    def started(self, name: str, task: asyncio.Task[None]) -> None:
        self._running[name] = task
        task.add_done_callback(lambda _: self._running.pop(name, None))

    def refused(self, name: str, log_count: int) -> None:
        self._refused_at[name] = log_count

    def installed(self, name: str) -> None:
        self._refused_at.pop(name, None)

    def running(self) -> set[asyncio.Task[None]]:
        return set(self._running.values())
