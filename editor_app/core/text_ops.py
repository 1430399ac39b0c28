"""Pure translation between CRDT text changes (UTF-8 bytes) and editor edits (UTF-16).

Incoming: :func:`delta_to_ops` turns a pycrdt ``TextEvent.delta`` (Quill delta, counts
in UTF-8 bytes) into :class:`EditOp`/:class:`FormatOp` in UTF-16 code units that the Qt
binding applies one by one, each as the same small change, never a reset of the widget.

Outgoing: :func:`apply_local_change`/:func:`apply_local_format` turn a Qt
``contentsChange`` (UTF-16) into the matching CRDT operations. They run inside the
caller's ``doc.transaction(origin=Origin.LOCAL_EDIT)`` so one keystroke is one update.

Both directions keep a :class:`~editor_app.core.offsets.TextIndex` in step with the text, so
conversions stay O(log n) on large documents.

Embeds (non-string inserts, e.g. a Quill image from a web client) occupy one CRDT unit;
they appear in the ops as :data:`~editor_app.core.offsets.EMBED_CHAR` (U+FFFC) with the embed
value kept in :attr:`EditOp.embed`. A literal U+FFFC inside remote *text* becomes U+FFFD
(same UTF-8 length) so that U+FFFC in an index always means one CRDT unit. A local
U+FFFC is stored as the embed the caller names (an image, ``{"image": url}``, see
:mod:`editor_app.core.images`), else as :data:`LOCAL_EMBED`, which keeps both ends'
positions identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycrdt

from .errors import SurrogateSplit
from .offsets import EMBED_CHAR, TextIndex, utf8_len, utf16_len

#: What a locally inserted U+FFFC is stored as (an embed Quill renders as nothing).
LOCAL_EMBED: dict[str, Any] = {"object": True}

_REPLACEMENT = "\ufffd"

Attrs = dict[str, Any]


@dataclass(frozen=True)
class EditOp:
    """Replace ``delete`` UTF-16 units at ``pos`` by ``insert`` (formatted with ``attrs``)."""

    pos: int
    delete: int
    insert: str
    attrs: Attrs | None = None
    #: For a single embed insert (``insert == EMBED_CHAR``): the embed's value.
    embed: Any = None


@dataclass(frozen=True)
class FormatOp:
    """Set Quill attributes on ``length`` UTF-16 units at ``pos``; a None value removes."""

    pos: int
    length: int
    attrs: Attrs


Op = EditOp | FormatOp


def normalize_attrs(attrs: dict[str, Any] | None) -> Attrs | None:
    """Attributes as the editor expects them.

    pycrdt hands numbers back as floats (``{"header": 1.0}``); Quill and our schema use
    integers, so integral floats become ints. None values (attribute removal) are kept.
    """
    if not attrs:
        return None
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in attrs.items()}


def _as_text(value: Any) -> str:
    return value.replace(EMBED_CHAR, _REPLACEMENT) if isinstance(value, str) else EMBED_CHAR


def delta_to_ops(delta: list[dict[str, Any]], index: TextIndex) -> list[Op]:
    """Translate one TextEvent delta into UTF-16 ops and apply it to ``index``.

    Ops are in application order: each op's position refers to the text after all
    previous ops were applied (as in a Quill delta). A delete directly followed by an
    insert at the same place is merged into one replacing :class:`EditOp`.

    Raises:
        IndexError: the delta does not fit the indexed text (the index is out of step).
    """
    ops: list[Op] = []
    cursor8 = 0
    # Consecutive inserts (a collaborator's paste: one per run of equal attributes, ~2 per
    # line for headings or lists) go into the index as ONE apply: one apply per insert
    # re-split the growing text every few runs (quadratic on a pasted megabyte).
    pending: list[str] = []
    pending_at = pending_end = 0  # UTF-16 start of the pending inserts, and their end

    def flush() -> None:
        if pending:
            index.apply(pending_at, 0, "".join(pending))
            pending.clear()

    for part in delta:
        if "insert" in part:
            value = part["insert"]
            s = _as_text(value)
            if pending:
                pos16 = pending_end
            else:
                pos16 = pending_at = index.u8_to_u16(cursor8)
            pending.append(s)
            pending_end = pos16 + utf16_len(s)
            attrs = normalize_attrs(part.get("attributes"))
            embed = None if isinstance(value, str) else value
            prev = ops[-1] if ops else None
            if isinstance(prev, EditOp) and not prev.insert and prev.pos == pos16 and embed is None:
                ops[-1] = EditOp(pos16, prev.delete, s, attrs)
            else:
                ops.append(EditOp(pos16, 0, s, attrs, embed))
            cursor8 += utf8_len(s)
            continue
        flush()
        if "delete" in part:
            pos16 = index.u8_to_u16(cursor8)
            removed16 = index.u8_to_u16(cursor8 + int(part["delete"])) - pos16
            index.apply(pos16, removed16, "")
            ops.append(EditOp(pos16, removed16, ""))
        elif "retain" in part:
            n8 = int(part["retain"])
            attrs = normalize_attrs(part.get("attributes"))
            if attrs:
                pos16 = index.u8_to_u16(cursor8)
                ops.append(FormatOp(pos16, index.u8_to_u16(cursor8 + n8) - pos16, attrs))
            cursor8 += n8
    flush()
    return ops


def _span8(index: TextIndex, pos16: int, len16: int) -> tuple[int, int]:
    a8 = index.u16_to_u8(pos16)
    b8 = index.u16_to_u8(pos16 + len16)
    if index.u8_to_u16(a8) != pos16 or index.u8_to_u16(b8) != pos16 + len16:
        raise SurrogateSplit(f"range {pos16}+{len16} splits a surrogate pair")
    return a8, b8


def apply_local_change(
    text: pycrdt.Text,
    index: TextIndex,
    pos16: int,
    removed16: int,
    inserted: str,
    attrs: Attrs | None = None,
    embed: Any = None,
) -> None:
    """Apply an editor change (UTF-16) to the CRDT text and to ``index``.

    Call inside the caller's ``doc.transaction(origin=Origin.LOCAL_EDIT)``. With
    ``attrs=None`` the inserted text takes the attributes at the insertion point (yrs,
    like Yjs, inherits them: typing after a bold word stays bold); pass explicit
    attributes (``{"bold": None}`` to end a bold run) to say otherwise. Each U+FFFC in
    ``inserted`` becomes the embed ``embed`` (an image's ``{"image": url}``), or
    :data:`LOCAL_EMBED` when it is None.

    Raises:
        IndexError: the range is outside the text.
        SurrogateSplit: the range splits a surrogate pair (nothing was changed; a
            ValueError).
    """
    a8, b8 = _span8(index, pos16, removed16)
    if b8 > a8:
        del text[a8:b8]
    p8 = a8
    pieces = inserted.split(EMBED_CHAR)
    for n, piece in enumerate(pieces):
        if n:
            value = dict(LOCAL_EMBED) if embed is None else embed
            text.insert_embed(p8, value, attrs)
            p8 += 1
        if piece:
            text.insert(p8, piece, attrs)
            p8 += utf8_len(piece)
    index.apply(pos16, removed16, inserted)


#: One run of inserted content: (text, Quill attributes, embed value or None).
InsertRun = tuple[str, Attrs | None, Any]


def coalesce_runs(runs: list[InsertRun]) -> list[InsertRun]:
    """Adjacent text runs with equal attributes joined into one (embeds stay apart).

    A paste of plain lines is text runs and ``"\\n"`` runs that all carry ``{}``: one run
    then, so one CRDT insert. The stored content is the same as inserting them one by one
    (yrs, like Yjs, adds no formatting marker between runs whose attributes are equal)."""
    out: list[InsertRun] = []
    pieces: list[str] = []
    for text, attrs, embed in runs:
        if not text:
            continue
        if out and embed is None and out[-1][2] is None and out[-1][1] == attrs:
            pieces.append(text)
            continue
        if pieces:
            last = out[-1]
            out[-1] = ("".join(pieces), last[1], last[2])
        out.append((text, attrs, embed))
        pieces = [text] if embed is None else []
    if pieces:
        last = out[-1]
        out[-1] = ("".join(pieces), last[1], last[2])
    return out


def apply_local_runs(
    text: pycrdt.Text,
    index: TextIndex,
    pos16: int,
    removed16: int,
    runs: list[InsertRun],
) -> None:
    """Replace ``removed16`` UTF-16 units at ``pos16`` by ``runs``, each inserted with its
    explicit attributes: what a paste of many formatted lines becomes.

    Call inside the caller's ``doc.transaction(origin=Origin.LOCAL_EDIT)``. Costs O(size of
    the runs) plus one position lookup per run, whatever the length of the paste:

    * the offsets are mapped once (the start and end of the removed range), not per run,
      and ``index`` takes the whole inserted text in one :meth:`TextIndex.apply`;
    * equal adjacent runs are joined first (:func:`coalesce_runs`);
    * the runs go in from the LAST to the first, all at the start of the range. yrs finds
      an insert position by walking the items before it from the start of the text, so
      inserting in reading order walks every run inserted so far (a 1 MB paste of 26,000
      lines took ~100 s); in reverse, each walk stops where the paste starts. Each run
      carries explicit attributes (``{}`` included), so what it sits next to while the
      others are inserted does not matter: the stored content (``Text.diff()``, what a
      Quill/y-quill peer reads) is exactly that of inserting them in reading order.

    A text run's U+FFFC becomes :data:`LOCAL_EMBED`; a run with an ``embed`` value is that
    one embed.

    Raises:
        IndexError: the range is outside the text.
        SurrogateSplit: the range splits a surrogate pair (nothing was changed).
    """
    a8, b8 = _span8(index, pos16, removed16)
    if b8 > a8:
        del text[a8:b8]
    for run_text, attrs, embed in reversed(coalesce_runs(runs)):
        if embed is not None:
            text.insert_embed(a8, embed, attrs)
            continue
        pieces = run_text.split(EMBED_CHAR)
        for n in range(len(pieces) - 1, -1, -1):
            if pieces[n]:
                text.insert(a8, pieces[n], attrs)
            if n:
                text.insert_embed(a8, dict(LOCAL_EMBED), attrs)
    index.apply(pos16, removed16, "".join(run_text for run_text, _, _ in runs))


def apply_local_format(
    text: pycrdt.Text, index: TextIndex, pos16: int, len16: int, attrs: Attrs
) -> None:
    """Set Quill attributes on a UTF-16 range of the CRDT text (None removes one).

    Raises:
        IndexError: the range is outside the text.
        SurrogateSplit: the range splits a surrogate pair (nothing was changed).
    """
    a8, b8 = _span8(index, pos16, len16)
    if b8 > a8 and attrs:
        text.format(a8, b8, attrs)


def text_runs(text: pycrdt.Text) -> list[tuple[str, Attrs | None]]:
    """The text as formatted runs for the initial fill of an editor.

    Embeds come out as :data:`EMBED_CHAR` runs, so ``"".join(run for run, _ in runs)``
    is exactly what a :class:`TextIndex` over this text must hold.
    """
    return [(_as_text(value), normalize_attrs(attrs)) for value, attrs in text.diff()]


def load_runs(text: pycrdt.Text) -> list[tuple[str, Attrs | None, Any]]:
    """:func:`text_runs` with each embed's value: ``(run, attrs, embed)`` where an embed
    is its own run (:data:`EMBED_CHAR`, its attributes, its value) and text runs have
    ``embed`` None. What an editor fills itself from, images included."""
    return [
        (_as_text(value), normalize_attrs(attrs), None if isinstance(value, str) else value)
        for value, attrs in text.diff()
    ]


def mirror_text(text: pycrdt.Text) -> str:
    """The string a :class:`TextIndex` for ``text`` starts from (embeds as U+FFFC)."""
    return "".join(run for run, _ in text_runs(text))


def transform_position(pos: int, ops: list[Op]) -> int:
    """Where a caret at UTF-16 ``pos`` belongs after another person's ``ops``.

    The caret sticks to the character BEFORE it, as in Google Docs: text inserted exactly
    at the caret goes after it, so my caret stays with my own text (Qt would push it past
    the other person's insert). Deletes around the caret pull it to the deletion point.
    """
    for op in ops:
        if not isinstance(op, EditOp):
            continue
        if op.delete and pos > op.pos:
            pos = op.pos if pos < op.pos + op.delete else pos - op.delete
        if op.insert and pos > op.pos:
            pos += utf16_len(op.insert)
    return pos
