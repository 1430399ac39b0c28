"""Incremental two-way binding between a ``QTextDocument`` and the CRDT ``content`` Text.

Local -> CRDT. ``QTextDocument.contentsChange(pos, removed, added)`` (UTF-16 positions)
becomes one small CRDT change inside ``doc.transaction(origin=Origin.LOCAL_EDIT)``:
a delete of ``removed`` units plus one insert per run of the inserted text, each carrying
the Quill attributes of its Qt format (:mod:`editor_app.qt.formats`). A paste of many lines
is the same one transaction, built in O(size of the paste): equal runs joined, offsets
mapped once (:func:`~editor_app.core.text_ops.apply_local_runs`). The model's shared
:class:`~editor_app.core.offsets.TextIndex` is the shadow of the text before the change; it is
what converts UTF-16 positions to pycrdt's UTF-8 byte offsets.

Qt's reports are not always minimal, so each one is normalised first:

* reports that run past the end count the implicit final paragraph separator (Qt does this
  for any change touching the last block): the excess is cut from both counts;
* ``removed == added`` with unchanged text is a pure format change (bold, heading, list) or
  just a relayout (an input-method pre-edit, a font change): the run attributes of the range
  are asserted with ``Text.format`` (None for absent keys). Formatting to values the CRDT
  already holds produces no update at all, so a relayout sends nothing;
* otherwise common prefix/suffix of old and new text are trimmed (edit blocks report the
  union of their edits), so only the changed middle is deleted/inserted.

Block attributes live on the ``"\\n"`` that ends a line (Quill). A new separator gets the
attributes of the Qt block it ends; when a change inserts or removes separators, the
existing ``"\\n"`` that now ends the last touched block is formatted to match Qt (e.g. Qt
keeps the FIRST block's format when two blocks merge, the second's after an empty first
line; stock Quill 2 does the same for Backspace, but for Delete at a line's end keeps the
second line's: the CRDT follows what the user sees, tests/gui/test_heading_merge_keys.py).
The last Qt block has no ``"\\n"`` to carry attributes, so
the binding keeps it plain (see :mod:`editor_app.qt.formats` for the whole mapping).

CRDT -> Qt. The :class:`~editor_app.qt.document_model.DocumentModel` turns every Text event
whose origin is not ``LOCAL_EDIT`` (remote, store load, undo/redo) into UTF-16 ops and
calls :meth:`QtTextBinding._apply_ops`, which replays them with ONE ``QTextCursor`` between
``beginEditBlock()``/``endEditBlock()`` while a guard flag suppresses the echo. Editing
through a cursor (never ``setPlainText``) is what keeps the user's cursor and selection
attached to their text: Qt shifts every other cursor past an insert before it, and a
selection grows when text is inserted inside it. A remote ``"\\n"`` becomes
``insertBlock()``; a remote delete that merges blocks gives the merged block the format of
the LAST block it swallowed, as Quill does.

Input methods: a ``QInputMethodEvent`` pre-edit lives in the block layout, not in the
document, so nothing is sent until the commit string is inserted (a normal change). The
relayout Qt reports meanwhile is an unchanged-text report and asserts formats only.

Text that Qt cannot hold verbatim: a remote ``"\\r"``, U+2029 or U+2028 would become a
block/line break in Qt and shift every later position, so it is shown as U+FFFD (same
UTF-16 length). The character stays intact in the CRDT unless the user edits over it.

Surrogate pairs: Qt lets a position fall between the two halves of an emoji, and PySide6
drops an unpaired half when it converts Qt's text to ``str``. Every report is widened to
whole code points, an unpaired half left in Qt becomes U+FFFD in Qt and in the CRDT (what
Yjs makes of a split pair), and a pair's halves always share one format, so no update ever
splits a pair (Yjs and yrs would diverge; the relay refuses such updates with 1007).

Images: an image embed (``{"image": url}``, :mod:`editor_app.core.images`) is one U+FFFC
with a ``QTextImageFormat`` (:mod:`editor_app.qt.images`), both ways: a remote one is
inserted so, and a local U+FFFC whose format is an image is written back as the image's
embed with Quill's ``width``/``height``/``alt`` attributes (copy, paste, a moved
selection). Any other U+FFFC is the placeholder embed of :mod:`editor_app.core.text_ops`.

Initial load fills the empty widget once from ``Text.diff()`` (the only full set).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextBlock, QTextCharFormat, QTextCursor, QTextDocument

from editor_app.core.errors import BindingDesync
from editor_app.core.images import IMAGE_ATTRS, image_source
from editor_app.core.offsets import EMBED_CHAR, utf16_len
from editor_app.core.schema import BLOCK_ATTRS, INLINE_ATTRS
from editor_app.core.text_ops import (
    EditOp,
    FormatOp,
    apply_local_format,
    apply_local_runs,
    load_runs,
)
from editor_app.qt import formats, images, walk
from editor_app.qt.document_model import DocumentModel
from editor_app.qt.formats import Attrs
from shared.origins import Origin

PARAGRAPH_SEPARATOR = "\u2029"
REPLACEMENT_CHARACTER = "\ufffd"
#: Distinct char formats kept by a binding (links make the set open-ended).
_FORMAT_CACHE_SIZE = 256
_UNSHOWABLE = str.maketrans({"\r": "\ufffd", "\u2029": "\ufffd", "\u2028": "\ufffd"})
_UNSHOWABLE_CHARS = re.compile("[\r\u2028\u2029]")
_IMAGE_RUN_ATTRS = INLINE_ATTRS | IMAGE_ATTRS
#: The attributes a text or "\n" run's state is asserted over (see _assert_formats).
_TEXT_RUN_ATTRS = INLINE_ATTRS | BLOCK_ATTRS
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
#: A run of Qt's content: (UTF-16 position, text, Quill attributes, embed value or None).
Run = tuple[int, str, Attrs, Any]


class QtTextBinding(QObject):
    """Keeps ``qdoc`` and ``model.text`` equal, one small change at a time, both ways."""

    #: A change made in Qt was just written to the CRDT (its transaction committed, so its
    #: update is queued to be sent). Emitted inside Qt's ``contentsChange``, before Qt lays
    #: the change out: a view handling a key press can send the keystroke from here.
    localEditSent = Signal()

    def __init__(self, qdoc: QTextDocument, model: DocumentModel) -> None:
        super().__init__(qdoc)
        self._qdoc = qdoc
        self._model = model
        self._applying = False
        self._only: tuple[int, int] | None = None  # see changing_only
        self._lines_only = False  # see line_formats_only
        # One cursor for every remote change (creating a QTextCursor per change costs more
        # than a keystroke's whole edit) and the char formats built so far, by
        # (inline attributes, heading level, base size): building one is ~10 us of Python.
        self._cursor = QTextCursor(qdoc)
        self._char_formats: dict[tuple[object, ...], QTextCharFormat] = {}
        # Exactly one undo system: the model's CRDT UndoManager.
        qdoc.setUndoRedoEnabled(False)
        self._load()
        self._block_count = qdoc.blockCount()
        qdoc.contentsChange.connect(self._on_contents_change)
        self._unsubscribe = model.add_ops_listener(self._apply_ops)

    def close(self) -> None:
        """Stop mirroring (idempotent); the widget keeps its text."""
        self._unsubscribe()
        if self._block_count >= 0:
            self._qdoc.contentsChange.disconnect(self._on_contents_change)
            self._block_count = -1

    @property
    def applying_remote(self) -> bool:
        """True while CRDT changes are being written into the QTextDocument."""
        return self._applying

    def presentation_only(self) -> AbstractContextManager[None]:
        """Qt-only restyling (zoom): format changes made inside are not sent; the Quill
        attributes they derive from are unchanged."""
        return self._not_mirrored()

    @contextmanager
    def _not_mirrored(self) -> Iterator[None]:
        """Changes made to the QTextDocument inside are not mirrored into the CRDT."""
        self._applying = True
        try:
            yield
        finally:
            self._applying = False

    # ------------------------------------------------------------------ initial load

    def _load(self) -> None:
        with self._not_mirrored():
            self._qdoc.clear()
            cursor = QTextCursor(self._qdoc)
            cursor.beginEditBlock()
            runs: list[tuple[int, str, Attrs | None, Any]] = []
            pos = 0
            for piece, attrs, embed in load_runs(self._model.text):
                runs.append((pos, piece, attrs, embed))
                pos += utf16_len(piece)
            self._insert_runs(cursor, runs)
            self._enforce_plain_last_block(cursor)
            cursor.endEditBlock()
        self._check_length()

    # ------------------------------------------------------------------ CRDT -> Qt

    def _apply_ops(self, ops: list[EditOp | FormatOp]) -> None:
        cursor = self._cursor
        first = ops[0] if ops else None
        # An edit block makes Qt lay out once for several changes; one insert or one delete
        # (a keystroke) is a single change already and skips the bookkeeping.
        # A multi-line insert (a collaborator's paste) is grouped too: without an edit block
        # Qt lays out and reports every new line as it is made (13,000 for 1 MB).
        grouped = (
            len(ops) > 1
            or not isinstance(first, EditOp)
            or bool(first.delete and first.insert)
            or "\n" in first.insert
        )
        # Only separators, deletes (which may merge lines) and formats can leave block
        # attributes on the last block; a plain insert cannot.
        structural = False
        # The lines ended by consecutive inserts (a collaborator's paste), whose block
        # attributes are set together once their text is in: one Qt write per run of equal
        # lines instead of several per line (see formats.set_block_attrs_in_runs).
        inserts: list[tuple[int, str, Attrs | None, Any]] = []
        self._applying = True
        if grouped:
            cursor.beginEditBlock()
        try:
            for op in ops:
                if isinstance(op, EditOp) and not op.delete:
                    inserts.append((op.pos, op.insert, op.attrs, op.embed))
                    structural = structural or "\n" in op.insert
                    continue
                if inserts:
                    self._insert_runs(cursor, inserts)
                    inserts.clear()
                if isinstance(op, EditOp):
                    self._delete(cursor, op.pos, op.delete)
                    structural = True
                    if op.insert:
                        self._insert(cursor, op.pos, op.insert, op.attrs, op.embed)
                        structural = structural or "\n" in op.insert
                else:
                    self._format(cursor, op.pos, op.length, op.attrs)
                    structural = True
            if len(inserts) == 1:  # a keystroke, a line: nothing to batch
                self._insert(cursor, *inserts[0])
            elif inserts:
                self._insert_runs(cursor, inserts)
            if structural:
                self._enforce_plain_last_block(cursor)
        finally:
            if grouped:
                cursor.endEditBlock()
            self._applying = False
        self._block_count = self._qdoc.blockCount()

    def _delete(self, cursor: QTextCursor, pos: int, length: int) -> None:
        first = self._qdoc.findBlock(pos)
        last = self._qdoc.findBlock(pos + length)
        merged_attrs = None
        if first != last:  # Quill: the merged line ends with the last line's "\n"
            merged_attrs = formats.with_nulls(self._line_attrs(last), BLOCK_ATTRS)
        cursor.setPosition(pos)
        cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if merged_attrs is not None:
            formats.set_block_attrs(self._qdoc, self._qdoc.findBlock(pos), merged_attrs)
            # Qt may keep the removed line's look as the merged line's block char format
            # (what an empty line shows and what is typed there): a heading's size on a
            # plain line after undoing a pasted heading. It must be the line's own.
            formats.restyle_block_char_format(self._qdoc, self._qdoc.findBlock(pos))

    def _line_attrs(self, block: QTextBlock) -> Attrs:
        # The last block stands for text after the final "\n": no attributes in the CRDT.
        return {} if block == self._qdoc.lastBlock() else formats.block_attrs(block)

    def _insert(
        self, cursor: QTextCursor, pos: int, text: str, attrs: Attrs | None, embed: Any = None
    ) -> None:
        cursor.setPosition(pos)
        if "\n" not in text:  # the common case: text inside one line
            fmt = self._char_format(attrs, formats.style_level(cursor.block()))
            source = image_source(embed) if embed is not None else None
            if source is not None:  # an image: one U+FFFC drawn as the picture
                fmt = images.image_format(self._qdoc, source, attrs, fmt)
            cursor.insertText(_showable(text), fmt)
            return
        # Lines: the same as a run of them (the new "\n" ends the line the cursor is in;
        # the text after it keeps the line's old "\n" and so its old attributes).
        self._insert_runs(cursor, [(pos, text, attrs, embed)])

    def _insert_runs(
        self, cursor: QTextCursor, runs: list[tuple[int, str, Attrs | None, Any]]
    ) -> None:
        """Consecutive inserts ``(pos, text, attrs, embed)`` (a collaborator's paste: a run
        per line and format; the initial load) with what :meth:`_insert` does to each, but
        the block attributes of the lines they end set together at the end, once per run of
        equal lines (:func:`formats.set_block_attrs_in_runs`), not line by line.

        Until then every line made here is a copy of the line the text went into
        (insertBlock copies its format), so the level that styles the text and the char
        formats are read once per place, not per line; an insert reads nothing else (it
        goes into a line not yet ended), so setting the ended lines later changes nothing
        it does."""
        ended: list[tuple[int, Attrs]] = []
        at = -1  # where the cursor is after the last insert
        level: int | None = None
        plain_block = True
        char_formats: dict[Any, QTextCharFormat] = {}
        block_attrs: dict[Any, tuple[Attrs, Attrs, bool]] = {}
        line_start: int | None = None  # where the cursor's line starts (None: ask Qt)
        for pos, text, attrs, embed in runs:
            if embed is not None:
                self._insert(cursor, pos, text, attrs, embed)
                at = -1
                continue
            if pos != at:
                cursor.setPosition(pos)
                block = cursor.block()
                level = formats.style_level(block)
                plain_block = not block.blockFormat().properties()
                char_formats.clear()
                line_start = None
            try:
                key = tuple(sorted(attrs.items())) if attrs else None
                fmt = char_formats.get(key)
            except TypeError:  # an unhashable value from a foreign client
                key = fmt = None
            if "\n" not in text:
                if fmt is None:
                    fmt = self._char_format(attrs, level)
                    if key is not None or not attrs:
                        char_formats[key] = fmt
                cursor.insertText(_showable(text), fmt)
                at = cursor.position()
                continue
            shape = block_attrs.get(key) if key is not None or not attrs else None
            if shape is None:
                inline = {k: v for k, v in (attrs or {}).items() if k in INLINE_ATTRS}
                block_only = formats.with_nulls(formats.normalize(attrs), BLOCK_ATTRS)
                shape = (inline, block_only, not any(block_only.values()))
                if key is not None or not attrs:
                    block_attrs[key] = shape
            inline, block_only, plain_line = shape
            if plain_line and plain_block:  # as in _insert: Qt splits the text itself
                cursor.insertText(_showable(text), self._char_format(inline, None))
                at = cursor.position()
                line_start = None
                continue
            lines = text.split("\n")
            for i, line in enumerate(lines):
                if line:
                    cursor.insertText(_showable(line), self._char_format(inline, level))
                if i < len(lines) - 1:
                    if line_start is None:
                        line_start = cursor.block().position()
                    ended.append((line_start, block_only))
                    cursor.insertBlock()
                    line_start = cursor.position()
                    if level is not None:  # restyle moved text into the copied heading
                        after = cursor.block()
                        start = after.position()
                        formats.restyle_range(
                            self._qdoc, start, start + after.length() - 1, {}, level
                        )
            at = cursor.position()
        formats.set_block_attrs_in_runs(self._qdoc, ended)

    def _char_format(self, attrs: Attrs | None, level: int | None) -> QTextCharFormat:
        """``formats.char_format`` for inserted text, cached (formats are Qt value types)."""
        size = formats.base_point_size(self._qdoc)
        inline = [(k, v) for k, v in (attrs or {}).items() if k in INLINE_ATTRS]
        key = (tuple(sorted(inline)), level, size)
        try:
            fmt = self._char_formats.get(key)
        except TypeError:  # an unhashable value from a foreign client: build it every time
            return formats.char_format(dict(inline), level, size)
        if fmt is None:
            if len(self._char_formats) >= _FORMAT_CACHE_SIZE:
                self._char_formats.clear()
            fmt = self._char_formats[key] = formats.char_format(dict(inline), level, size)
        return fmt

    def _format(self, cursor: QTextCursor, pos: int, length: int, attrs: Attrs) -> None:
        inline = {k: v for k, v in attrs.items() if k in INLINE_ATTRS}
        block_part = {k: v for k, v in attrs.items() if k in BLOCK_ATTRS}
        end = pos + length
        image_part = {k: v for k, v in attrs.items() if k in IMAGE_ATTRS}
        if image_part:  # a collaborator resized an image (Quill's width/height)
            images.restyle_images(self._qdoc, pos, end, image_part)
        block = self._qdoc.findBlock(pos)
        while block.isValid() and block.position() < end:
            start = block.position()
            sep = start + block.length() - 1
            if inline:
                formats.restyle_range(
                    self._qdoc, max(pos, start), min(end, sep), inline, formats.style_level(block)
                )
            nxt = block.next()
            if block_part and pos <= sep < end and block != self._qdoc.lastBlock():
                formats.set_block_attrs(self._qdoc, block, block_part)
            block = nxt

    def _enforce_plain_last_block(self, cursor: QTextCursor) -> None:
        last = self._qdoc.lastBlock()
        if formats.block_attrs(last):
            formats.set_block_attrs(self._qdoc, last, formats.with_nulls({}, BLOCK_ATTRS))

    # ------------------------------------------------------------------ Qt -> CRDT

    def _on_contents_change(self, pos: int, removed: int, added: int) -> None:
        if self._applying:
            return
        index = self._model.index
        new_len = self._qdoc.characterCount() - 1
        over = pos + added - new_len
        if over > 0:  # Qt counted the implicit final paragraph separator
            added -= over
            removed -= over
        if removed < 0 or added < 0 or new_len - index.len16 != added - removed:
            self._resync()
            return
        old_blocks, self._block_count = self._block_count, self._qdoc.blockCount()
        if removed == 0 and added == 0:
            return
        if removed == added and self._qdoc.findBlock(pos).layout().preeditAreaText():
            return  # an input-method pre-edit being redrawn: nothing is committed yet
        pos, removed, added = self._whole_code_points(pos, removed, added)
        new_text = self._qt_text(pos, added)
        blocks_changed = "\n" in new_text or old_blocks != self._block_count
        reported = (pos, pos + added)
        if removed and added:
            old_text = index.slice16(pos, pos + removed)
            if old_text == new_text:
                self._send_formats(*self._within_hint(pos, pos + added))
                self.localEditSent.emit()
                return
            head, tail = _common_affixes(old_text, new_text)
            pos += head
            removed -= head + tail
            added -= head + tail
        self._send_edit(
            pos,
            removed,
            added,
            reported if blocks_changed or reported[1] - reported[0] != added else None,
        )
        self.localEditSent.emit()

    def _send_edit(
        self, pos: int, removed: int, added: int, reassert: tuple[int, int] | None
    ) -> None:
        """Delete ``removed`` units at ``pos`` and insert Qt's ``[pos, pos + added)``.

        ``reassert``: the whole range Qt reported, when it is more than the edited middle or
        lines were split/merged. Its formats (inline and block, including the ``"\n"`` that
        now ends its last line) are asserted afterwards: an edit block can change formats
        next to the text it changes, and a merge leaves a line's attributes on another
        ``"\n"``. Formats that are already right cost nothing (pycrdt emits no update).
        """
        model = self._model
        runs = self._runs(pos, pos + added)
        joins = removed > 0 and "\n" in model.index.slice16(pos, pos + removed)
        with model.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_runs(
                model.text,
                model.index,
                pos,
                removed,
                [(run_text, attrs, embed) for _, run_text, attrs, embed in runs],
            )
            if reassert is not None:
                start, end = self._without_renumbered(*reassert, pos, pos + added)
                tail = self._qdoc.findBlock(end)
                if tail != self._qdoc.lastBlock():
                    end = max(end, tail.position() + tail.length())
                # The inserted runs carry Qt's attributes already: only what lies around
                # them is asserted (asserting a pasted megabyte run by run walked the
                # whole text once per run).
                self._assert_formats(start, min(pos, end))
                self._assert_formats(max(start, pos + added), end)
        if reassert is not None:
            self._keep_last_block_plain()
        if joins:
            self._restyle_joined_lines(pos, pos + added)

    @contextmanager
    def changing_only(self, start: int, end: int) -> Iterator[None]:
        """Format changes made inside touch only the lines of ``[start, end)`` (a command on
        the selected lines, a key in a list item): only those lines' formats are sent.

        Qt may report more: a line that joins or leaves a list makes it report the whole
        list as changed (renumbered, up to formats.LIST_CHUNK items), and asserting every
        item's formats cost ~0.4 s in a long list. A reported change outside these lines
        is sent whole, as without the hint."""
        outer, self._only = self._only, (start, end)
        try:
            yield
        finally:
            self._only = outer

    @contextmanager
    def line_formats_only(self) -> Iterator[None]:
        """Format changes made inside change only line attributes (a heading, a list, an
        alignment over the selected lines; the text's look may follow, its Quill inline
        attributes do not): only the lines' ``"\n"`` runs are sent, over the line
        attributes. The text runs' asserts were half of such a command's pycrdt format
        calls, each of which walks the text: list on over 4,000 lines 2.3 -> 1.1 s."""
        outer, self._lines_only = self._lines_only, True
        try:
            yield
        finally:
            self._lines_only = outer

    def _within_hint(self, start: int, end: int) -> tuple[int, int]:
        """``[start, end)`` cut to the lines :meth:`changing_only` named and one line on
        either side (unchanged when nothing is named or the two do not meet)."""
        if self._only is None:
            return start, end
        qdoc = self._qdoc
        first, last = _around(qdoc.findBlock(self._only[0]), qdoc.findBlock(self._only[1]))
        lo, hi = max(start, first.position()), min(end, last.position() + last.length())
        return (lo, hi) if lo < hi else (start, end)

    def _without_renumbered(self, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
        """``[start, end)``, the range Qt reported for an edit of ``[lo, hi)``, less the
        lines Qt only renumbered.

        A line that joins or leaves a list (Enter or Backspace in an item) makes Qt report
        the whole list as changed (up to formats.LIST_CHUNK items): asserting
        each of its lines' formats cost ~0.4 s per Enter in a 1 MB list. Their text and
        formats are as they were. Only a side of the range made entirely of items of the
        edited lines' lists is left out, down to the line next to the edit; anything else
        in the range is asserted as before.
        """
        qdoc = self._qdoc
        first, last = qdoc.findBlock(lo), qdoc.findBlock(hi)
        lists = [lst for lst in (first.textList(), last.textList()) if lst is not None]
        if not lists:
            return start, end

        def renumbered(block: QTextBlock) -> bool:
            owner = block.textList()
            return owner is not None and any(owner == lst for lst in lists)

        before, after = _around(first, last)
        block = before.previous()
        while block.isValid() and block.position() >= start and renumbered(block):
            block = block.previous()
        if not (block.isValid() and block.position() >= start):
            start = max(start, before.position())
        block = after.next()
        while block.isValid() and block.position() < end and renumbered(block):
            block = block.next()
        if not (block.isValid() and block.position() < end):
            end = min(end, after.position() + after.length())
        return start, end

    def _restyle_joined_lines(self, start: int, end: int) -> None:
        """After the user's edit joined lines (Backspace at a line's start, typing over a
        selection across lines), give the lines at both ends of ``[start, end)`` and their
        block char formats the look of their own level: Qt keeps each piece's old look (a
        heading's size on a plain line, body text on a heading). Only the look: the Quill
        attributes are what was sent, so nothing is sent (``_delete`` does the same for a
        collaborator's join)."""
        qdoc = self._qdoc
        with self._not_mirrored():
            first, last = qdoc.findBlock(start), qdoc.findBlock(end)
            for block in (first,) if first == last else (first, last):
                at = block.position()
                level = formats.style_level(block)
                formats.restyle_range(qdoc, at, at + block.length() - 1, {}, level)
                formats.restyle_block_char_format(qdoc, qdoc.findBlock(at))

    def _send_formats(self, start: int, end: int) -> None:
        with self._model.doc.transaction(origin=Origin.LOCAL_EDIT):
            self._assert_formats(start, end)
        self._keep_last_block_plain()

    def _assert_formats(self, start: int, end: int) -> None:
        """Make the CRDT's attributes on ``[start, end)`` equal Qt's (inside a transaction)."""
        if end <= start:
            return
        model = self._model
        # Neighbouring runs whose full state is the same are asserted in ONE format call
        # (each walks the text in yrs: 13,000 lines taken out of a list were 26,000 calls,
        # ~26 s on 1 MB). A text run's state has None for every line attribute and a "\n"
        # run's None for every inline one: neither ever carries the other's (Quill), so
        # asserting the union changes nothing else. Pictures are asserted one by one.
        span: tuple[int, int, Attrs] | None = None  # (pos, length, full state)
        for run_pos, run_text, attrs, embed in self._runs(start, end):
            length = utf16_len(run_text)
            if self._lines_only:
                if embed is not None or run_text != "\n":
                    # Its inline attributes did not change; under a span that sets no line
                    # attribute it is carried along (text never holds one), so lines taken
                    # out of a list are still one call, as before.
                    if (
                        span is not None
                        and span[0] + span[1] == run_pos
                        and not any(span[2].values())
                    ):
                        span = (span[0], span[1] + length, span[2])
                    continue
                full = formats.with_nulls(attrs, BLOCK_ATTRS)
            elif embed is not None:
                full = formats.with_nulls(attrs, _IMAGE_RUN_ATTRS)
            else:
                full = formats.with_nulls(attrs, _TEXT_RUN_ATTRS)
            if (
                span is not None
                and embed is None
                and span[2] == full
                and span[0] + span[1] == run_pos
            ):
                span = (span[0], span[1] + length, full)
                continue
            if span is not None:
                apply_local_format(model.text, model.index, *span)
            span = (run_pos, length, full)
            if embed is not None:
                apply_local_format(model.text, model.index, *span)
                span = None
        if span is not None:
            apply_local_format(model.text, model.index, *span)

    def _keep_last_block_plain(self) -> None:
        if formats.block_attrs(self._qdoc.lastBlock()):
            with self._not_mirrored():
                self._enforce_plain_last_block(QTextCursor(self._qdoc))

    def _runs(self, start: int, end: int) -> list[Run]:
        """Qt content of ``[start, end)`` as ``(pos16, text, quill_attrs, embed)`` runs:
        text runs with inline attributes (``embed`` None), each separator as ``"\\n"`` with
        its block's attributes, each image as its own U+FFFC run with its embed value and
        its inline and image attributes.

        The range is widened to whole code points, and a surrogate pair whose halves Qt
        formats differently (a selection set between them) first gets its first half's
        format in Qt too, so no run starts or ends inside a pair."""
        start, end = self._snap(start, down=True), self._snap(end, down=False)
        if 0 < end - start <= 2:  # a keystroke: no walk over the block's fragments
            cursor = QTextCursor(self._qdoc)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            piece = cursor.selectedText()
            one_format = end - start == 1 or not self._format_splits_pair(start + 1)
            if len(piece) == 1 and piece != PARAGRAPH_SEPARATOR and one_format:  # one code point
                fmt = cursor.charFormat()
                if piece == EMBED_CHAR and fmt.isImageFormat():
                    return [self._image_run(start, fmt)]
                return [(start, piece, formats.inline_attrs(fmt), None)]
        text = self._qt_text(start, end - start)
        middles = _pair_middles(text, start)
        spans, image_runs, split = self._walk(start, end, middles)
        if split:  # a pair's halves formatted apart: join them in Qt, then read again
            self._join_split_pairs(split)
            spans, image_runs, _ = self._walk(start, end, middles)
        raw = text.encode("utf-16-le")
        return [
            image_runs[s]
            if s in image_runs
            else (
                s,
                "\n" if is_sep else raw[2 * (s - start) : 2 * (e - start)].decode("utf-16-le"),
                a,
                None,
            )
            for s, e, a, is_sep in spans
        ]

    def _walk(
        self, start: int, end: int, middles: set[int]
    ) -> tuple[list[tuple[int, int, Attrs, bool]], dict[int, Run], list[int]]:
        """One pass over the blocks and fragments of ``[start, end)``: the spans of equal
        inline attributes and the separators (``(start, end, attrs, is separator)``), the
        image runs by position, and the fragment ends that fall in ``middles`` (between
        the two halves of a pair, so the halves are formatted apart).

        Attributes are read once per distinct Qt format (by the document's format index):
        a pasted megabyte has ~13,000 blocks but a handful of formats."""
        spans: list[tuple[int, int, Attrs, bool]] = []
        image_runs: dict[int, Run] = {}  # by position: each image is its own run
        split: list[int] = []
        inline_of: dict[int, Attrs | None] = {}  # char format index -> attrs (None: image)
        block_of: dict[tuple[int, int], Attrs] = {}  # (block format, list format) -> attrs
        block = self._qdoc.findBlock(start)
        while block.isValid() and block.position() < end:
            for frag in walk.fragments(block):
                fs = frag.position()
                fe = fs + frag.length()
                s, e = max(fs, start), min(fe, end)
                if s < e:
                    key = frag.charFormatIndex()
                    if key in inline_of:
                        attrs = inline_of[key]
                    else:
                        fmt = frag.charFormat()
                        attrs = inline_of[key] = (
                            None if fmt.isImageFormat() else formats.inline_attrs(fmt)
                        )
                    if attrs is None:
                        fmt = frag.charFormat()
                        for at in range(s, e):
                            image_runs[at] = self._image_run(at, fmt)
                            spans.append((at, at + 1, {}, False))
                    elif (
                        spans
                        and spans[-1][2] == attrs
                        and not spans[-1][3]
                        and spans[-1][1] == s
                        and spans[-1][0] not in image_runs
                    ):
                        spans[-1] = (spans[-1][0], e, attrs, False)
                    else:
                        spans.append((s, e, attrs, False))
                if middles and start < fe < end and fe in middles:
                    split.append(fe)
            sep = block.position() + block.length() - 1
            if start <= sep < end:
                lst = block.textList()
                bkey = (block.blockFormatIndex(), -1 if lst is None else lst.formatIndex())
                battrs = block_of.get(bkey)
                if battrs is None:
                    battrs = block_of[bkey] = formats.block_attrs(block)
                spans.append((sep, sep + 1, dict(battrs), True))
            block = block.next()
        return spans, image_runs, split

    def _image_run(self, pos: int, fmt: QTextCharFormat) -> Run:
        """The run of the image at ``pos`` (format ``fmt``): its embed value and its inline
        and image attributes (an image without a known source is a plain U+FFFC run)."""
        attrs = formats.inline_attrs(fmt)
        embed = images.embed_of(self._qdoc, fmt)
        if embed is not None:
            attrs.update(images.image_attrs(fmt))
        return (pos, EMBED_CHAR, attrs, embed)

    # ------------------------------------------------------------------ surrogate pairs
    #
    # Qt lets a position fall between the two halves of a surrogate pair (QTextCursor
    # .setPosition, an input method's replacement range, a backspace over a pair whose
    # halves carry different formats), and PySide6 silently drops an unpaired half when it
    # converts Qt's text to ``str``. The CRDT never sees either: every change is widened to
    # whole code points, an unpaired half left in Qt becomes U+FFFD (what Yjs makes of it),
    # and a pair's halves always share one format. A Yjs update that splits a pair would
    # make Yjs and yrs peers diverge (the relay refuses it with 1007).

    def _unit(self, pos: int) -> str:
        """The UTF-16 unit at ``pos`` (Qt's own, unpaired halves included), or ""."""
        if not 0 <= pos < self._qdoc.characterCount():
            return ""
        return self._qdoc.characterAt(pos)

    def _splits_pair(self, pos: int) -> bool:
        """Whether ``pos`` falls between a high and a low surrogate."""
        return _is_high(self._unit(pos - 1)) and _is_low(self._unit(pos))

    def _snap(self, pos: int, *, down: bool) -> int:
        """``pos`` moved off the middle of a surrogate pair (down: to its start)."""
        if self._splits_pair(pos):
            return pos - 1 if down else pos + 1
        return pos

    def _whole_code_points(self, pos: int, removed: int, added: int) -> tuple[int, int, int]:
        """A change that starts and ends inside a surrogate pair, widened to the whole pair.

        The text before ``pos`` and after ``pos + added`` is unchanged, so one unit either
        side says whether the change cut a pair of the old text or of the new one."""
        if _is_high(self._unit(pos - 1)):
            pos, removed, added = pos - 1, removed + 1, added + 1
        if _is_low(self._unit(pos + added)):
            removed, added = removed + 1, added + 1
        return pos, removed, added

    def _format_splits_pair(self, pos: int) -> bool:
        """Whether Qt gives the two halves of the pair around ``pos`` different formats."""
        if not self._splits_pair(pos):
            return False
        cursor = QTextCursor(self._qdoc)
        cursor.setPosition(pos)
        before = cursor.charFormat()
        cursor.setPosition(pos + 1)
        return bool(cursor.charFormat() != before)

    def _join_split_pairs(self, bounds: list[int]) -> None:
        """Give the second half of the pair at each of ``bounds`` (positions between two
        halves that Qt formats apart) the first half's format (in Qt; the CRDT follows)."""
        cursor = QTextCursor(self._qdoc)
        with self._not_mirrored():
            for pos in bounds:
                cursor.setPosition(pos)
                fmt = cursor.charFormat()  # the format of the char before: the first half
                cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
                cursor.setCharFormat(fmt)

    def _replace_unpaired_halves(self, pos: int, length: int) -> None:
        """Replace every unpaired surrogate in Qt's ``[pos, pos + length)`` by U+FFFD (one
        unit too, so no position moves), keeping its format."""
        lone = []
        i, end = pos, pos + length
        while i < end:
            unit = self._unit(i)
            if _is_high(unit) and _is_low(self._unit(i + 1)):
                i += 2
                continue
            if _is_high(unit) or _is_low(unit):
                lone.append(i)
            i += 1
        if not lone:
            return
        cursor = QTextCursor(self._qdoc)
        with self._not_mirrored():
            for i in lone:
                cursor.setPosition(i + 1)
                fmt = cursor.charFormat()
                cursor.setPosition(i, QTextCursor.MoveMode.KeepAnchor)
                cursor.insertText(REPLACEMENT_CHARACTER, fmt)

    def _qt_text(self, pos: int, length: int) -> str:
        """Qt's text of ``[pos, pos + length)``, separators as ``"\\n"``, exactly: unpaired
        halves (which PySide6 would drop) are first replaced by U+FFFD in Qt."""
        if length == 0:
            return ""
        cursor = QTextCursor(self._qdoc)
        cursor.setPosition(pos)
        cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
        text = cursor.selectedText()
        if utf16_len(text) != length or REPLACEMENT_CHARACTER in text:
            self._replace_unpaired_halves(pos, length)
            cursor.setPosition(pos)
            cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
            text = cursor.selectedText()
        return text.replace(PARAGRAPH_SEPARATOR, "\n")

    def _resync(self) -> None:
        """Last resort when Qt's report cannot be reconciled with the mirror: diff the
        whole texts (O(n)) and send the difference. Never expected; kept so a Qt quirk
        degrades to a slow keystroke instead of a diverged document."""
        old = self._model.index.text
        new = self._qt_text(0, self._qdoc.characterCount() - 1)
        self._block_count = self._qdoc.blockCount()
        head, tail = _common_affixes(old, new)
        removed = utf16_len(old) - head - tail
        added = utf16_len(new) - head - tail
        if removed or added:
            self._send_edit(head, removed, added, (head, head + added))

    def _check_length(self) -> None:
        if self._qdoc.characterCount() - 1 != self._model.index.len16:
            raise BindingDesync(
                f"Qt has {self._qdoc.characterCount() - 1} units, mirror {self._model.index.len16}"
            )


def _around(first: QTextBlock, last: QTextBlock) -> tuple[QTextBlock, QTextBlock]:
    """The blocks before ``first`` and after ``last`` (each itself at the document's
    ends): the lines next to an edit, which its formats can reach."""
    before = first.previous()
    after = last.next()
    return (before if before.isValid() else first), (after if after.isValid() else last)


def _showable(text: str) -> str:
    """``text`` with the characters Qt would take for line or block breaks replaced by
    U+FFFD (same UTF-16 length); the check first: most text has none."""
    if _UNSHOWABLE_CHARS.search(text) is None:
        return text
    return text.translate(_UNSHOWABLE)


def _is_high(unit: str) -> bool:
    return unit != "" and "\ud800" <= unit <= "\udbff"


def _is_low(unit: str) -> bool:
    return unit != "" and "\udc00" <= unit <= "\udfff"


def _pair_middles(text: str, start: int) -> set[int]:
    """The UTF-16 positions between the two halves of each astral character of ``text``
    (which starts at ``start``): where a format boundary would split a pair."""
    middles: set[int] = set()
    shift = start + 1
    for n, match in enumerate(_ASTRAL.finditer(text)):
        middles.add(match.start() + n + shift)
    return middles


def _common_affixes(old: str, new: str) -> tuple[int, int]:
    """Lengths (UTF-16) of the common prefix and of the common suffix that does not overlap
    it, rounded to whole code points."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return utf16_len(old[:head]), utf16_len(old[len(old) - tail :]) if tail else 0
