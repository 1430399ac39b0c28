"""Group commit: the append queue of a store, independent of the database.

``append`` only queues and returns a future. One writer task (:meth:`GroupCommit.run`,
spawned by the store) takes *everything* queued since the previous commit, hands it to the
backend's write function as ONE transaction, then resolves those futures in append
order; so durability costs one commit per batch, not one per keystroke, and the number of
commits adapts to the disk's speed. With ``interval`` > 0, a commit starts at most once
per ``interval`` seconds: the first append after a quiet spell commits at once, but under
steady load appends gather for up to ``interval`` (many rooms with a keystroke each make
one commit, not one each). The relay never waits for this; an acknowledgement waits for
its commit, so at most ``interval`` longer. Empty updates are not written but
still resolve in order. Tickets (one per append) let ``flush``, ``load`` and friends wait
until a given append has settled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.errors import StorageError
from shared.messages import EMPTY_UPDATE

from .store import StoreStats

log = logging.getLogger(__name__)

#: Per document touched by a commit: (log rows, log bytes) after it.
LogSizes = dict[str, tuple[int, int]]
WriteBatch = Callable[[list[tuple[str, bytes]]], Awaitable[LogSizes]]


def sizes_added(entries: list[tuple[str, bytes]]) -> LogSizes:
    """Per document in a batch of ``(name, update)``: the log rows and bytes it adds, in
    the order the documents first appear."""
    added: LogSizes = {}
    for name, data in entries:
        count, nbytes = added.get(name, (0, 0))
        added[name] = (count + 1, nbytes + len(data))
    return added


@dataclass(slots=True)
class Pending:
    ticket: int
    name: str
    update: bytes
    future: asyncio.Future[None]


class GroupCommit:
    """The queue, the writer loop and the settle bookkeeping of one store.

    Args:
        label: names the store in messages.
        write: writes a batch in one transaction; returns each touched document's log size.
        failures: the exceptions of a failed commit (they fail the batch, not the writer).
        describe: one line about such an exception (no secrets, no payloads).
        committed: called after each successful commit with the log sizes.
        interval: least seconds between the starts of two commits (0: none).
    """

    def __init__(
        self,
        label: str,
        write: WriteBatch,
        *,
        stats: StoreStats,
        max_queue_bytes: int,
        failures: tuple[type[BaseException], ...],
        describe: Callable[[BaseException], str],
        committed: Callable[[LogSizes], None],
        interval: float = 0.0,
    ) -> None:
        self.stats = stats
        self._label = label
        self._write = write
        self._failures = failures
        self._describe = describe
        self._committed = committed
        self._max_queue_bytes = max_queue_bytes
        self._interval = interval
        self._last_start = -1e9  # loop time when the last commit started
        self._queue: list[Pending] = []
        self._inflight: list[Pending] = []
        self._queued_bytes = 0
        self._tickets = 0  # tickets handed out by append
        self._settled = 0  # every ticket <= this has its future resolved
        self._closing = False  # no more appends; the writer stops once the queue is empty
        self._finished = False  # nothing will ever settle again: waiters are released
        self._wakeup = asyncio.Event()
        self._settled_event = asyncio.Event()  # set and replaced on every settle
        self._writable = asyncio.Event()
        self._writable.set()

    # --- appends ---

    @property
    def queued_bytes(self) -> int:
        """Bytes appended but not yet committed (including the commit in progress)."""
        return self._queued_bytes

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(StorageError(f"{self._label} is not open"))
            return future
        data = bytes(update)
        self._tickets += 1
        self._queue.append(Pending(self._tickets, name, data, future))
        self._queued_bytes += len(data)
        self.stats.queue_depth += 1
        if self._queued_bytes > self._max_queue_bytes:
            self._writable.clear()
        self._wakeup.set()
        return future

    async def wait_writable(self) -> None:
        await self._writable.wait()

    async def flush(self) -> None:
        await self._wait_settled(self._tickets)

    async def wait_for(self, name: str) -> None:
        """Wait until every append for ``name`` made before this call has settled."""
        last = max((p.ticket for p in self._inflight + self._queue if p.name == name), default=0)
        await self._wait_settled(last)

    # --- the writer ---

    async def run(self) -> None:
        """The writer task: commit batches until closed and empty."""
        while self._queue or not self._closing:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._interval and not self._closing:
                loop = asyncio.get_running_loop()
                wait = self._last_start + self._interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # let appends gather (see module docstring)
                self._last_start = loop.time()
            batch, self._queue = self._queue, []
            self._inflight = batch
            try:
                await self._commit(batch)
            finally:
                self._inflight = []

    def close(self) -> None:
        """Refuse new appends; the writer commits what is queued, then returns."""
        self._closing = True
        self._wakeup.set()

    def finish(self) -> None:
        """After the writer stopped: fail what was never committed, release all waiters."""
        self._closing = True
        self._fail(self._inflight + self._queue, "store closed before commit")
        self._finished = True
        self._writable.set()
        self._settled_event.set()

    async def _commit(self, batch: list[Pending]) -> None:
        entries = [(p.name, p.update) for p in batch if p.update != EMPTY_UPDATE]
        sizes: LogSizes = {}
        error: str | None = None
        if entries:
            started = time.perf_counter()
            job = asyncio.ensure_future(self._write(entries))
            try:
                # Shielded: a cancelled writer must not leave a commit half-reported.
                sizes = await asyncio.shield(job)
            except asyncio.CancelledError:
                self._fail(batch + self._queue, "store cancelled before commit was confirmed")
                raise
            except self._failures as exc:
                error = f"commit of {len(entries)} updates failed: {self._describe(exc)}"
                self.stats.errors += 1
                log.error("%s: %s", self._label, error)
            else:
                elapsed = time.perf_counter() - started
                self.stats.commits += 1
                self.stats.updates_written += len(entries)
                self.stats.bytes_written += sum(len(d) for _, d in entries)
                self.stats.commit_seconds_total += elapsed
                self.stats.commit_seconds_max = max(self.stats.commit_seconds_max, elapsed)
        for p in batch:  # in append order
            if not p.future.done():
                if error is None:
                    p.future.set_result(None)
                else:
                    p.future.set_exception(StorageError(error))
        self._settle(batch)
        if sizes:
            self._committed(sizes)

    # --- settling ---

    def _fail(self, pendings: list[Pending], reason: str) -> None:
        """Resolve ``pendings`` (and drop them from the queue) with a StorageError."""
        for p in pendings:
            if not p.future.done():
                p.future.set_exception(StorageError(reason))
        failed = {p.ticket for p in pendings}
        self._queue = [p for p in self._queue if p.ticket not in failed]
        self._settle(pendings)

    def _settle(self, pendings: list[Pending]) -> None:
        """Account for resolved appends and wake whoever waits for them."""
        if not pendings:
            return
        self.stats.queue_depth -= len(pendings)
        self._queued_bytes -= sum(len(p.update) for p in pendings)
        if self._queued_bytes <= self._max_queue_bytes:
            self._writable.set()
        self._settled = max(self._settled, pendings[-1].ticket)
        self._settled_event.set()
        self._settled_event = asyncio.Event()

    async def _wait_settled(self, ticket: int) -> None:
        while self._settled < ticket and not self._finished:
            await self._settled_event.wait()
