"""A document's title taken from its first line, as Google Docs names an untitled one.

Why: every new document starts untitled, and a library of "Untitled document" rows (or
of generated names like ``quiet-river-3156``) is one a person cannot find anything in.
Google Docs names an untitled document after its first line of text once its author has
typed it; Coscribe does the same (see ``DocumentModel``), with this rule for the text.
"""

from __future__ import annotations

import unicodedata

from editor_app.core.offsets import EMBED_CHAR

#: The longest title taken from a line, in characters (cut at a word boundary).
MAX_TITLE = 80


def title_from_text(text: str, limit: int = MAX_TITLE) -> str:
    """The title a document with ``text`` gets: its first line that has words, without
    pictures or control characters, its spaces collapsed, at most ``limit`` characters
    (cut before a word that does not fit, or inside one longer than the limit); "" when
    no line has any."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line, start = text[start:end], end + 1
        kept = "".join(
            " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c == EMBED_CHAR else c
            for c in line
        )
        words = kept.split()
        if words:
            return _shortened(" ".join(words), limit)
    return ""


def _shortened(title: str, limit: int) -> str:
    if len(title) <= limit:
        return title
    cut = title[: limit + 1].rsplit(" ", 1)[0]
    if cut and len(cut) <= limit:
        return cut
    while limit > 1 and unicodedata.combining(title[limit]):
        limit -= 1  # not between a letter and its accent
    return title[:limit]
