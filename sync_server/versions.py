"""Version history: what a version is, when the server makes one, and which ones it keeps.

A *version* is a restorable state of a document: the whole document as one Yjs update
(``doc.get_update()`` of the durable log replayed), zlib-compressed, with a time, an
optional label and the names of the people whose edits it is the first version to hold.
Versions are snapshots, not retained ranges of the update log, so compaction (which folds
the log) never touches them and restoring one needs nothing but its own bytes.

Versions are made from what is *durable* (the store's log, read back), never from a live
document that may hold an edit whose commit is still in flight: a version can only show
what every node and every restart would show too.

When (Google Docs groups activity the same way):

* *automatic*: while a document is being edited, at most one every
  :attr:`VersionPolicy.every` seconds (the first edit after a version starts the clock);
  and when the last editor leaves a document that has edits no version holds yet;
* *named*: when someone names the current state ("Name current version"), always.

What is kept (:func:`to_purge`): every named version; the newest
:attr:`VersionPolicy.keep_recent` automatic ones; older automatic ones thinned to the
newest per hour when older than a day, per day when older than
:attr:`VersionPolicy.daily_after`, and none beyond :attr:`VersionPolicy.max_automatic`.

This module does no I/O: :class:`AutoVersions` is told about edits and departures and
answers which documents are due; the relay (``sync_server.version_keeper``) does the
reading and writing.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from shared.errors import InvalidUpdate

#: Longest label accepted for a named version (characters).
MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version, without its bytes."""

    id: int
    created_at: float  # seconds since the epoch
    label: str | None
    automatic: bool
    authors: tuple[str, ...]
    size: int  # stored (compressed) bytes

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "label": self.label,
            "automatic": self.automatic,
            "authors": list(self.authors),
            "size": self.size,
        }


def version_of_row(row: Sequence[object]) -> VersionInfo:
    """A :class:`VersionInfo` from a database row (id, created_at, label, automatic,
    authors as a JSON list, size)."""
    vid, created_at, label, automatic, authors, size = row
    names = json.loads(str(authors))
    return VersionInfo(
        int(str(vid)),
        float(str(created_at)),
        None if label is None else str(label),
        bool(automatic),
        tuple(str(a) for a in names) if isinstance(names, list) else (),
        int(str(size)),
    )


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A version to store (what a backend's ``_insert_version`` writes)."""

    created_at: float
    label: str | None
    automatic: bool
    authors: tuple[str, ...]
    data: bytes  # encode_snapshot()


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    """When automatic versions are made and how many are kept."""

    every: float = 300.0  # seconds of editing between two automatic versions
    keep_recent: int = 50
    daily_after: float = 30 * 86400.0
    max_automatic: int = 1000

    def __post_init__(self) -> None:
        if self.every <= 0 or self.keep_recent < 0 or self.max_automatic < self.keep_recent:
            raise ValueError("version policy: every > 0 and 0 <= keep_recent <= max_automatic")


def check_label(label: object) -> str:
    """A version label as given by a person: a non-empty string of at most MAX_LABEL
    characters, surrounding blanks removed.

    Raises:
        ValueError: with what is wrong (the API answers 400 with it).
    """
    if not isinstance(label, str):
        raise ValueError("label must be a string")
    text = label.strip()
    if not text:
        raise ValueError("label must not be empty")
    if len(text) > MAX_LABEL:
        raise ValueError(f"label is longer than {MAX_LABEL} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise ValueError("label must not contain control characters")
    return text


def encode_snapshot(updates: Iterable[bytes]) -> bytes:
    """The stored form of a version: the updates (a document's durable log) replayed into
    one document, encoded as one update, compressed.

    Raises:
        InvalidUpdate: an update does not apply (the log is corrupt).
    """
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    try:
        for update in updates:
            doc.apply_update(update)
    except (ValueError, RuntimeError) as exc:
        raise InvalidUpdate(f"stored log does not replay: {exc}") from None
    return zlib.compress(doc.get_update(), 6)


def decode_snapshot(stored: bytes) -> bytes:
    """The Yjs update a stored version holds.

    Raises:
        InvalidUpdate: the bytes are not a stored version.
    """
    try:
        return zlib.decompress(stored)
    except zlib.error as exc:
        raise InvalidUpdate(f"stored version does not decompress: {exc}") from None


@dataclass(slots=True)
class _Activity:
    since: float  # first edit no version holds yet
    authors: set[str] = field(default_factory=set)


class AutoVersions:
    """Which documents are due for an automatic version (see module docstring).

    Feed it :meth:`edited` for each durable write (with the names of its writers) and
    :meth:`left` when a document's last editor leaves; each returns True when a version of
    that document is due now. :meth:`taken` hands over the authors and resets the clock
    once the caller started making it (a failed attempt calls :meth:`edited` again).
    """

    def __init__(self, policy: VersionPolicy) -> None:
        self.policy = policy
        self._active: dict[str, _Activity] = {}

    def edited(self, name: str, now: float, authors: Iterable[str] = ()) -> bool:
        activity = self._active.get(name)
        if activity is None:
            activity = self._active[name] = _Activity(now)
        activity.authors.update(a for a in authors if a)
        return now - activity.since >= self.policy.every

    def left(self, name: str) -> bool:
        return name in self._active

    def pending(self, name: str) -> bool:
        return name in self._active

    def due_names(self) -> list[str]:
        """Documents with edits no version holds yet."""
        return list(self._active)

    def taken(self, name: str) -> tuple[str, ...]:
        activity = self._active.pop(name, None)
        return tuple(sorted(activity.authors)) if activity is not None else ()

    def forget(self, name: str) -> None:
        """The document was deleted: nothing of it is due any more."""
        self._active.pop(name, None)


_HOUR = 3600.0
_DAY = 86400.0


def to_purge(versions: Sequence[VersionInfo], now: float, policy: VersionPolicy) -> list[int]:
    """Ids of the automatic versions the retention policy drops (module docstring)."""
    automatic = sorted((v for v in versions if v.automatic), key=lambda v: -v.created_at)
    drop: list[int] = []
    seen_buckets: set[tuple[str, int]] = set()
    kept = 0
    for i, v in enumerate(automatic):
        if i < policy.keep_recent:
            kept += 1
            continue
        age = now - v.created_at
        bucket: tuple[str, int] | None = None
        if age > policy.daily_after:
            bucket = ("day", int(v.created_at // _DAY))
        elif age > _DAY:
            bucket = ("hour", int(v.created_at // _HOUR))
        if bucket is not None:
            if bucket in seen_buckets:  # a newer one of the same hour or day is kept
                drop.append(v.id)
                continue
            seen_buckets.add(bucket)
        if kept >= policy.max_automatic:
            drop.append(v.id)
            continue
        kept += 1
    return drop
