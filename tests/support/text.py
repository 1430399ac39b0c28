"""Text helpers for tests that place edits and cursors in UTF-16 units."""

from __future__ import annotations


def boundaries16(s: str) -> list[int]:
    """UTF-16 offsets of every code point boundary of ``s`` (0 and the end included)."""
    out, pos = [0], 0
    for ch in s:
        pos += 2 if ord(ch) > 0xFFFF else 1
        out.append(pos)
    return out
