"""Word count figures, as Google Docs' Tools ▸ Word count shows them (Qt-free)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .offsets import EMBED_CHAR

#: Characters per page for the page estimate (11 pt text on A4 with 1 inch margins).
CHARS_PER_PAGE = 3000


@dataclass(frozen=True)
class Counts:
    words: int
    characters: int  # user-perceived: a base character with its combining marks is one
    characters_no_spaces: int
    pages: int


def count(text: str) -> Counts:
    """Counts for ``text`` (line breaks are not characters; CJK/Hangul words are runs
    between spaces, as Google Docs counts them; an image, U+FFFC in the editor's text, is
    neither a word nor a character, and it separates the words on either side)."""
    body = text.replace("\u2029", "\n").replace(EMBED_CHAR, "\n")
    chars = [c for c in body if c != "\n" and unicodedata.combining(c) == 0]
    no_spaces = [c for c in chars if not c.isspace()]
    words = len(body.split())
    pages = max(1, -(-len(chars) // CHARS_PER_PAGE)) if chars else 1
    return Counts(words, len(chars), len(no_spaces), pages)
