"""Restoring a version: the current document becomes the version's, as ordinary edits.

Restoring is an edit, not a server operation (docs/api.md): the smallest change that turns
the current ``content`` into the version's is applied in ONE transaction with the
editor's local-edit origin, so the sync client sends it like typing, every client (stock
Yjs ones too) merges it with whatever they did meanwhile, and the editor's undo manager
(which tracks exactly that origin) undoes it in one step.

The smallest change: both texts as units of (character, attributes) — a code point with
its Quill attributes, or an embed with its value — lose their common prefix and suffix;
the rest of the current text is deleted and the rest of the version's inserted with its
attributes stated in full, so nothing inherits the attributes of its new neighbours. A
paragraph that only changed format is therefore rewritten; everything around it is not
touched, and neither are collaborators' carets and edits there.

pycrdt counts Text positions in UTF-8 bytes (an embed counts one), the editor's mirror
(:class:`~editor_app.core.offsets.TextIndex`) in UTF-16 units: the edit is computed in
whole code points and carries both, so it never splits a character. The mirror, when
given, is updated like the Qt binding updates it for a local edit (the model relies on
that for every ``LOCAL_EDIT`` change of ``content``). ``meta.title`` is restored in the
same transaction when it differs. Pure and Qt-free.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pycrdt

from shared.origins import Origin

from .errors import UnreadableEncoding
from .offsets import EMBED_CHAR, TextIndex, utf8_len, utf16_len
from .schema import TITLE
from .schema import content as content_of
from .schema import meta as meta_of
from .schema import title as title_of
from .text_ops import Attrs, normalize_attrs

__all__ = ["Delta", "RestoreEdit", "content_delta", "document_from_update", "plan", "restore"]

#: A document's ``content`` as ``Text.diff()`` gives it: runs of (string or embed, attributes).
Delta = Sequence[tuple[Any, Attrs | None]]

_REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class _Unit:
    """One character or embed with its attributes (None: plain)."""

    value: Any  # a one-code-point str, or an embed's value
    attrs: Attrs | None

    @property
    def is_text(self) -> bool:
        return isinstance(self.value, str)

    @property
    def len8(self) -> int:
        return utf8_len(self.value) if self.is_text else 1

    @property
    def mirror(self) -> str:
        """What the unit is in a TextIndex (embeds U+FFFC, a literal U+FFFC U+FFFD)."""
        if not self.is_text:
            return EMBED_CHAR
        return _REPLACEMENT if self.value == EMBED_CHAR else str(self.value)


@dataclass(frozen=True)
class RestoreEdit:
    """Delete ``delete8`` pycrdt units at ``pos8`` and insert ``insert`` there.

    The same change in UTF-16 units: ``delete16`` units at ``pos16`` replaced by
    ``inserted16`` (the inserted text as a TextIndex holds it). ``insert`` is runs of
    (string or embed, full attributes).
    """

    pos8: int
    delete8: int
    pos16: int
    delete16: int
    insert: tuple[tuple[Any, Attrs], ...]
    inserted16: str

    @property
    def empty(self) -> bool:
        return not self.delete8 and not self.insert


def _clean(attrs: Attrs | None) -> Attrs | None:
    """Attributes compared as the schema means them: integral floats as ints, a None
    value the same as absent, no attributes as None."""
    normal = normalize_attrs(attrs)
    if not normal:
        return None
    kept = {k: v for k, v in normal.items() if v is not None}
    return kept or None


def _units(delta: Delta) -> list[_Unit]:
    units: list[_Unit] = []
    for value, raw in delta:
        attrs = _clean(raw)
        if isinstance(value, str):
            units.extend(_Unit(ch, attrs) for ch in value)
        else:
            units.append(_Unit(value, attrs))
    return units


def _same(a: _Unit, b: _Unit) -> bool:
    return a.value == b.value and a.is_text == b.is_text and a.attrs == b.attrs


def content_delta(doc: pycrdt.Doc[Any]) -> list[tuple[Any, Attrs | None]]:
    """The document's ``content`` as runs of (string or embed, attributes), adjacent text
    runs with equal attributes merged: two documents that read the same compare equal."""
    runs: list[tuple[Any, Attrs | None]] = []
    for value, raw in content_of(doc).diff():
        attrs = _clean(raw)
        if isinstance(value, str) and runs and isinstance(runs[-1][0], str):
            if runs[-1][1] == attrs:
                runs[-1] = (runs[-1][0] + value, attrs)
                continue
        if not isinstance(value, str) or value:
            runs.append((value, attrs))
    return runs


def plan(current: Delta, version: Delta) -> RestoreEdit:
    """The smallest change (see module docstring) that turns ``current`` into ``version``."""
    old, new = _units(current), _units(version)
    limit = min(len(old), len(new))
    head = 0
    while head < limit and _same(old[head], new[head]):
        head += 1
    tail = 0
    while tail < limit - head and _same(old[-1 - tail], new[-1 - tail]):
        tail += 1
    removed = old[head : len(old) - tail]
    added = new[head : len(new) - tail]
    prefix = old[:head]
    runs: list[tuple[Any, Attrs]] = []
    for unit in added:
        attrs = dict(unit.attrs or {})
        if unit.is_text and runs and isinstance(runs[-1][0], str) and runs[-1][1] == attrs:
            runs[-1] = (runs[-1][0] + unit.value, attrs)
        else:
            runs.append((unit.value, attrs))
    return RestoreEdit(
        pos8=sum(u.len8 for u in prefix),
        delete8=sum(u.len8 for u in removed),
        pos16=sum(utf16_len(u.mirror) for u in prefix),
        delete16=sum(utf16_len(u.mirror) for u in removed),
        insert=tuple(runs),
        inserted16="".join(u.mirror for u in added),
    )


def document_from_update(update: bytes) -> pycrdt.Doc[Any]:
    """A new document holding ``update`` (a version as the server sends it).

    Raises:
        UnreadableEncoding: the bytes are not a Yjs update.
    """
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    try:
        doc.apply_update(update)
    except Exception as exc:  # pycrdt raises ValueError or its own errors
        raise UnreadableEncoding(f"the version is not a readable document: {exc}") from None
    return doc


def restore(
    doc: pycrdt.Doc[Any],
    version: pycrdt.Doc[Any],
    *,
    index: TextIndex | None = None,
    origin: Hashable = Origin.LOCAL_EDIT,
) -> RestoreEdit:
    """Make ``doc`` read like ``version`` (content and title) in one transaction.

    Args:
        doc: the open document.
        version: the version, e.g. from :func:`document_from_update` (only read).
        index: the editor's mirror of ``doc``'s content, kept in step (see module
            docstring); None when nothing mirrors the text.
        origin: the transaction origin; the editor's local edits by default, so the change
            is sent to the server and undone in one step.

    Returns the content change that was made (empty if the content already matched).
    """
    text = content_of(doc)
    target = content_delta(version)
    title = title_of(version)
    with doc.transaction(origin=origin):
        edit = plan(text.diff(), target)
        if edit.delete8:
            del text[edit.pos8 : edit.pos8 + edit.delete8]
        at = edit.pos8
        for value, attrs in edit.insert:
            if isinstance(value, str):
                text.insert(at, value, attrs)
                at += utf8_len(value)
            else:
                text.insert_embed(at, value, attrs)
                at += 1
        if index is not None and not edit.empty:
            index.apply(edit.pos16, edit.delete16, edit.inserted16)
        if title != title_of(doc):
            meta_of(doc)[TITLE] = title
    return edit
