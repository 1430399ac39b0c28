"""Folding a document's stored updates into one snapshot, safely (used by every store).

Compaction applies a document's snapshot and log to a fresh pycrdt Doc and stores the
Doc's full update instead. The fold must never lose data: see :func:`fold_updates`.
Runs on a worker thread; pycrdt objects are created and used only there.
:class:`FoldInput` is what a backend read for a fold, :class:`Fold` what it installs.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pycrdt import Decoder, Doc, get_update

from shared.errors import StorageError, crdt_errors


@dataclass(frozen=True, slots=True)
class FoldInput:
    """A document's snapshot and log as read in ONE consistent view, for a fold."""

    incarnation: str
    base_seq: int  # the row's snapshot_seq (the install checks it is unchanged)
    upto_seq: int  # the highest log seq read: the install deletes exactly seq <= upto_seq
    count: int  # log entries read
    updates: list[bytes]  # the snapshot (if any), then the log entries in seq order


@dataclass(frozen=True, slots=True)
class Fold:
    """A snapshot proven lossless, and the exact log range it replaces."""

    name: str
    incarnation: str
    base_seq: int
    upto_seq: int
    count: int
    snapshot: bytes


def _delete_ranges(update: bytes) -> Iterator[tuple[int, int, int]]:
    """(client, clock, length) of each deleted range of a v1 update that has no structs."""
    decoder = Decoder(update)
    decoder.read_var_uint()  # number of struct groups, 0 here
    for _ in range(decoder.read_var_uint()):
        client = decoder.read_var_uint()
        for _ in range(decoder.read_var_uint()):
            clock = decoder.read_var_uint()
            length = decoder.read_var_uint()
            yield client, clock, length


class _DeleteSet:
    """The deleted ranges of a document, to check that a fold kept every deletion."""

    def __init__(self, update: bytes) -> None:
        by_client: dict[int, list[tuple[int, int]]] = {}
        for client, clock, length in _delete_ranges(update):
            by_client.setdefault(client, []).append((clock, clock + length))
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for client, ranges in by_client.items():
            merged: list[list[int]] = []
            for lo, hi in sorted(ranges):
                if merged and lo <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            self._starts[client] = [r[0] for r in merged]
            self._ends[client] = [r[1] for r in merged]

    def covers(self, client: int, clock: int, length: int) -> bool:
        starts = self._starts.get(client)
        if starts is None:
            return False
        i = bisect_right(starts, clock) - 1
        return i >= 0 and self._ends[client][i] >= clock + length


def fold_updates(inputs: list[bytes], stop: threading.Event) -> tuple[bytes, str | None] | None:
    """Apply ``inputs`` to a fresh Doc and take its full update; None if asked to stop.

    yrs drops *pending* content (structs or deletions whose dependencies it has not seen)
    from ``get_update()``, so the result is checked against every input: each input's
    structs must be within the doc's state vector and its deletions within the doc's
    delete set. Otherwise the fold is refused (the log stays) instead of losing data.
    """
    doc: Doc[Any] = Doc()
    for i, update in enumerate(inputs):
        if i % 4096 == 0 and stop.is_set():
            return None
        try:
            with crdt_errors(StorageError):
                doc.apply_update(update)
        except StorageError as exc:
            return b"", f"a stored update does not apply ({exc})"
    snapshot = doc.get_update()
    state = doc.get_state()
    deleted = _DeleteSet(get_update(snapshot, state))
    for update in inputs:
        rest = get_update(update, state)  # what the doc would still lack from this input
        if rest[0] != 0:
            return b"", "an update's dependencies are missing from storage"
        if not all(deleted.covers(*r) for r in _delete_ranges(rest)):
            return b"", "a deletion refers to content missing from storage"
    return snapshot, None
