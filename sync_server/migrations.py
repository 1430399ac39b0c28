"""Schema migrations, one mechanism for every database backend.

A backend's schema is a :class:`Schema`: a list of numbered :class:`Step`\\ s. The database
records the version it is at (SQLite: ``PRAGMA user_version``, in the file header;
PostgreSQL: the ``coscribe_schema`` table). On open, a backend reads that version, asks
:meth:`Schema.pending` for the steps it lacks (which refuses a database newer than this
server), and runs them and records each new version in ONE transaction, so a crash
leaves the database at the old version or the new one, never between. Existing rows are
never rewritten: a step only adds.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import StorageError


@dataclass(frozen=True, slots=True)
class Step:
    """Upgrade from ``version - 1`` to ``version``."""

    version: int
    why: str
    statements: tuple[str, ...]


class Schema:
    """The steps of one backend, numbered 1, 2, ... without gaps."""

    def __init__(self, *steps: Step) -> None:
        if [s.version for s in steps] != list(range(1, len(steps) + 1)):
            raise ValueError("schema steps must be numbered 1, 2, ... in order")
        self.steps = steps

    @property
    def version(self) -> int:
        """The version this server creates and understands."""
        return len(self.steps)

    def pending(self, found: int, where: str) -> tuple[Step, ...]:
        """The steps a database at version ``found`` lacks; StorageError if it is newer."""
        if found > self.version:
            raise StorageError(
                f"{where} has schema version {found}; this server knows up to "
                f"{self.version} (upgrade coscribe-server)"
            )
        return self.steps[found:]
