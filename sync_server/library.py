"""The document library: what ``GET /api/v1/documents`` lists, and the trash.

Each stored document has, besides its content, a row of facts the library shows without
opening it: its title (``meta.title``, noted by the relay when it changes), when it was
created and last changed, who changed it last, its stored size, and whether it is in the
trash. A document in the trash keeps its content, history and links; nobody can open it
until it is restored; after :data:`TRASH_SECONDS` it is deleted for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: How long a document stays in the trash before it is deleted for good (30 days).
TRASH_SECONDS = 30 * 86400.0
#: Seconds within which every node closes its peers of a document moved to the trash.
TRASH_POLL = 1.0
#: Most documents one listing returns.
MAX_LISTED = 10_000
#: Longest search string.
MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    name: str
    title: str | None
    created_at: float
    updated_at: float | None
    last_editor: str | None
    size: int
    trashed_at: float | None

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> DocumentEntry:
        """From (name, title, created_at, updated_at, last_editor, size, trashed_at), as
        the databases return them (str, str or NULL, numbers or NULL)."""
        name, title, created_at, updated_at, last_editor, size, trashed_at = row
        return cls(name, title, created_at, updated_at, last_editor, size or 0, trashed_at)

    def as_json(self, people: int = 0) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at if self.updated_at is not None else self.created_at,
            "last_editor": self.last_editor,
            "size": self.size,
            "trashed_at": self.trashed_at,
            "people": people,
        }


def with_people(entry_json: str, people: int) -> str:
    """An entry's JSON object (as a backend wrote it, without ``people``) with ``people``
    added: listings are built as text, so 10,000 entries cost no Python objects each."""
    return f'{entry_json[:-1]},"people":{people}}}'


def split_pattern(pattern: str) -> tuple[str, bool]:
    """A listing's name pattern, as access links spell it: ``"team-*"`` (names starting
    with ``team-``; ``"*"`` every name) -> ("team-", True); ``"notes"`` (that name only)
    -> ("notes", False)."""
    if pattern.endswith("*"):
        return pattern[:-1], True
    return pattern, False


def like_pattern(text: str) -> str:
    """``text`` as a SQL LIKE pattern matching it literally anywhere (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def prefix_pattern(prefix: str) -> str:
    """Names starting with ``prefix``, as a LIKE pattern (ESCAPE '\\')."""
    return like_pattern(prefix)[1:]


#: Longest title accepted through the API (characters).
MAX_TITLE = 500


def check_title(title: object) -> str:
    """A document title given through the API: a string of at most MAX_TITLE characters
    without control characters, surrounding blanks removed (empty: "Untitled").

    Raises:
        ValueError: with what is wrong.
    """
    if not isinstance(title, str):
        raise ValueError("title must be a string")
    text = title.strip()
    if len(text) > MAX_TITLE:
        raise ValueError(f"title is longer than {MAX_TITLE} characters")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise ValueError("title must not contain control characters")
    return text
