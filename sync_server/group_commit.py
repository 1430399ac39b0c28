"""Group commit, the part of the durable stores that does not depend on the database.

``append`` only queues and returns a future. One writer task (``_write_loop``, started by
the store) takes *everything* queued since the previous commit, hands it to the store's
``_write_batch`` as one transaction, then resolves those futures in append order; so
durability costs one commit per batch, not one per keystroke. Empty updates are not
written but still resolve in order. Tickets (one per append) let ``flush``, ``load`` and
friends wait until a given append has settled. SQLiteStore and PostgresStore subclass
:class:`GroupCommitStore` and supply the database half.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from shared.errors import StorageError
from shared.messages import EMPTY_UPDATE

from .store import StoreStats

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Pending:
    ticket: int
    name: str
    update: bytes
    future: asyncio.Future[None]


class GroupCommitStore:
    """Queue, writer loop and settle bookkeeping shared by the durable stores.

    Subclasses set ``_state`` (new -> opening -> open -> closing -> closed) and implement
    :meth:`_write_batch`, :meth:`_describe_error`, :meth:`_maybe_compact`; ``_label`` names
    the store in messages; ``_commit_errors`` are the exceptions a failed commit raises.
    """

    _commit_errors: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self, label: str, max_queue_bytes: int) -> None:
        self.stats = StoreStats()
        self._label = label
        self._max_queue_bytes = max_queue_bytes
        self._state = "new"  # new -> opening -> open -> closing -> closed
        self._queue: list[Pending] = []
        self._inflight: list[Pending] = []
        self._queued_bytes = 0
        self._tickets = 0  # tickets handed out by append
        self._settled = 0  # every ticket <= this has its future resolved
        self._wakeup = asyncio.Event()
        self._settled_event = asyncio.Event()  # set and replaced on every settle
        self._writable = asyncio.Event()
        self._writable.set()

    # --- the database half ---

    async def _write_batch(self, entries: list[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
        """Write ``entries`` in one transaction; per document (log rows, log bytes)."""
        raise NotImplementedError

    def _describe_error(self, exc: BaseException) -> str:
        return str(exc)

    def _maybe_compact(self, name: str, log_count: int, log_bytes: int) -> None:
        """Called after each commit with the document's log size."""

    # --- appends ---

    @property
    def queued_bytes(self) -> int:
        """Bytes appended but not yet committed (including the commit in progress)."""
        return self._queued_bytes

    def append(self, name: str, update: bytes) -> asyncio.Future[None]:
        """Queue ``update``; the future resolves once it is committed (durable).

        Never blocks and never drops: callers that want backpressure await
        :meth:`wait_writable` before appending more.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._state != "open":
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
        """Return once queued-but-uncommitted bytes are at most ``max_queue_bytes``.

        Backpressure for producers that can slow down (e.g. stop reading a socket); returns
        at once when the queue is small or the store is closed.
        """
        await self._writable.wait()

    async def flush(self) -> None:
        """Wait until every append made before this call has resolved (committed or failed).

        Failures are reported on each append's future and in ``stats.errors``, not here.
        """
        await self._wait_settled(self._tickets)

    # --- the writer ---

    async def _write_loop(self) -> None:
        while self._queue or self._state == "open":
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, self._queue = self._queue, []
            self._inflight = batch
            try:
                await self._commit(batch)
            finally:
                self._inflight = []

    async def _commit(self, batch: list[Pending]) -> None:
        entries = [(p.name, p.update) for p in batch if p.update != EMPTY_UPDATE]
        sizes: dict[str, tuple[int, int]] = {}
        error: str | None = None
        if entries:
            started = time.perf_counter()
            job = asyncio.ensure_future(self._write_batch(entries))
            try:
                # Shielded: a cancelled writer must not leave a commit half-reported.
                sizes = await asyncio.shield(job)
            except asyncio.CancelledError:
                self._fail(batch + self._queue, "store cancelled before commit was confirmed")
                raise
            except self._commit_errors as exc:
                error = f"commit of {len(entries)} updates failed: {self._describe_error(exc)}"
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
        for name, (count, nbytes) in sizes.items():
            self._maybe_compact(name, count, nbytes)

    def _close_queue(self) -> None:
        """After the writer stopped: fail what was never committed, release all waiters."""
        self._fail(self._inflight + self._queue, "store closed before commit")
        self._writable.set()
        self._settled_event.set()

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
        while self._settled < ticket and self._state != "closed":
            await self._settled_event.wait()

    def _last_ticket(self, name: str) -> int:
        """The newest not-yet-settled append for ``name`` (0 if none)."""
        return max((p.ticket for p in self._inflight + self._queue if p.name == name), default=0)

    def _check_open(self) -> None:
        if self._state not in ("open", "closing"):
            raise StorageError(f"{self._label} is not open")
