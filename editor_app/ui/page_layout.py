"""The page's layout: paragraph formats and pages, on top of Qt's fast plain-text layout.

``QPlainTextDocumentLayout`` (chosen for its O(changed blocks) relayout, see
:mod:`editor_app.ui.editor_widget`) ignores every block format: it puts each line of a
block at ``(margin, previous bottom)``, full width, left-aligned. :class:`PageLayout` lays
a block out again after Qt did: lines get the block's indent, width, alignment (Qt's
``QTextOption`` aligns, so hit tests and caret positions follow), 1.15 line spacing and the
space above the paragraph, and a line that would cross the bottom of a page's text area
moves to the top of the next page (:mod:`editor_app.ui.pagination`; the editor paints the
desk between the sheets). Qt's own (C++) ``blockBoundingRect`` is measured from the lines'
positions, so scrolling, painting and the caret see the same geometry, and no Python runs
per block in Qt's loops (an override of ``blockBoundingRect`` made a 1 MB document load in
5.7 s instead of 0.8 s and a remote keystroke cost 2 ms instead of 0.6 ms).

Which layout a block has is told apart without bookkeeping: Qt always puts a block's first
line at y = 0; ours puts it at ``space_above + MARK`` (``MARK`` is 1/64 px, the smallest
step of Qt's fixed-point coordinates, invisible), so the check is one float comparison.

Pages need each block's top (the sum of the heights above it). Each placed block keeps
its top and height in its ``userData`` (:class:`Placed`); blocks before ``_dirty`` (a
position) are placed at their true top. An edit marks its block dirty (``contentsChange``,
O(1)); placing walks on from there, and stops as soon as a block after the edited ones is
found at the top it already had (everything below is then unchanged): a keystroke that
does not change its line's height places one block and checks the next. A change of a
height reflows the pages below, which is done lazily: the paint walks to what it shows,
and the rest is paginated in slices of a few ms once edits pause (``paginated`` tells when
the page count is exact). A block that moves without a page break inside it keeps its
lines (only its top changes), so a reflow costs a few us per block.

A view far below the blocks placed in a row (a document just opened or pasted, then
Ctrl+End: placing the 13,000 blocks of 1 MB above it took ~2 s) is not walked to: its
blocks are placed one under the other from an estimate of the first one's top
(:meth:`PageLayout.ensure_visible`), flagged ``estimate``; the background pagination
places them where they go when it reaches them and repaints the view, so page breaks
and "Page n of m" there are approximate for the few seconds that takes (``reflowed``
tells the view after each slice, which keeps the caret in view if the user had it there).

Qt's scroll range counts lines: it ends at the first line from which the last blocks fit
the view, measured from each line's top. A view that starts at a line shows the space
above it too (a block's top, or the bottom of the line before), and above a line a page
break moved is the desk and two sheet margins, so Qt's range could end with the document's
last lines below the view; it is also measured with Qt's own (shorter) layout of blocks
not shown yet. :meth:`ensure_bottom` gives the last screenful the page layout, and
:meth:`last_screen_line` measures it the way the view shows it, for the editor to extend
Qt's range.

Pageless (no pages, View ▸ Pageless) skips all of that: no tops, no walk, no bookkeeping
per edit; a block is laid out when it is shown or edited, as before pages. Switching
keeps every block's lines that no page break moved (no relayout of the document), so
the switch costs what the view shows, plus, back to pages, a few us per block above it.

The Y.Text of a Quill document ends with ``"\\n"``, so Qt has one more, empty block after
it. That block belongs to no paragraph: it is laid out with no height (its line sits above
its top), and the editor keeps the caret out of it, so the last line shown is the last
paragraph, as in Quill.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TypeGuard

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import (
    QFontMetricsF,
    QTextBlock,
    QTextBlockUserData,
    QTextDocument,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QPlainTextDocumentLayout

from editor_app.core.offsets import EMBED_CHAR
from editor_app.qt import formats, walk
from editor_app.qt.timers import single_shot
from editor_app.ui.pagination import PageGeometry

MARK = 1.0 / 64.0
LINE_SPACING = 1.15
#: Space above a paragraph, in body line heights (none between items of one list).
PARAGRAPH_SPACE = 0.3
#: Space above headings, in body line heights (Google Docs: 20/18/16/14/12/12 pt).
HEADING_SPACE = {1: 1.35, 2: 1.2, 3: 1.05, 4: 0.9, 5: 0.8, 6: 0.8}
#: One ``indent`` level, in body line heights (Quill: 3em).
INDENT_STEP = 2.2
QUOTE_PADDING = 0.9
CODE_PADDING = 0.5
#: Background pagination starts once edits pause this long (ms) ...
PAGINATE_IDLE_MS = 150
#: ... and runs in slices of at most this long (seconds), one per event-loop turn.
PAGINATE_SLICE = 0.004
_EVERYTHING = sys.maxsize
#: Edited blocks remembered between walks (more: the document is placed again from the first).
MAX_EDITS = 256
#: Blocks a paint may walk to reach the view; farther, the view is placed at an estimate.
VIEW_WALK = 64


class Placed(QTextBlockUserData):
    """Where the page layout put a block: its ``top`` (content y), its ``height``, whether
    a page break moved one of its lines (``broken``), for which layout ``generation``, and
    whether ``top`` is an ``estimate`` (placed for the view before the blocks above it)."""

    def __init__(
        self, top: float, height: float, broken: bool, generation: int, estimate: bool = False
    ) -> None:
        super().__init__()
        self.top = top
        self.height = height
        self.broken = broken
        self.generation = generation
        self.estimate = estimate


def is_phantom(block: QTextBlock) -> bool:
    """Whether ``block`` is the empty block after the document's final ``"\\n"``."""
    return block.length() == 1 and not block.next().isValid() and block.previous().isValid()


class PageLayout(QPlainTextDocumentLayout):
    """Qt's plain-text layout plus the paragraph formats of a Quill document, on pages.

    Signals:
        paginated(): every block is placed; :meth:`page_count` is exact without work.
        reflowed(): a slice of the background pagination placed blocks: what the view
            shows may have moved (blocks it had at an estimate are repainted).
    """

    paginated = Signal()
    reflowed = Signal()

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._width = 0.0  # the line width Qt gives a full-width line (from its layouts)
        self._em = QFontMetricsF(document.defaultFont()).height()
        self.spacing = LINE_SPACING
        self._pages: PageGeometry | None = None
        self._generation = 0
        self._dirty = 0  # blocks before this position are placed at their true top
        self._edits: list[int] = []  # edited blocks the walk has not passed since
        self._frontier = 0  # the blocks before this position were placed in a row
        self._clean = False  # every block is placed
        self._resized = False  # a placed block changed height
        self._corrected = False  # the walk moved a block the view had placed at an estimate
        self.placements = 0  # blocks laid out again (a metric for tests and benchmarks)
        self._phantom_open = False  # the caret is in the block after the final newline
        self._idle = single_shot(self, self._paginate_some, PAGINATE_IDLE_MS)
        self._more = single_shot(self, self._paginate_some)
        self._block_count = -1  # the document's block count at Qt's last documentChanged
        self.in_place = 0  # edits laid out by documentChanged itself (a metric)
        document.contentsChange.connect(self._changed)

    def set_base_font_height(self, height: float) -> None:
        """The body line height (after a font or zoom change); relayout follows."""
        self._em = height
        self.invalidate()

    # ------------------------------------------------------------------ pages

    @property
    def pages(self) -> PageGeometry | None:
        return self._pages

    def set_pages(self, pages: PageGeometry | None) -> None:
        """Lay the text out on ``pages`` (None: one endless sheet, pageless)."""
        if pages == self._pages:
            return
        toggled = (pages is None) != (self._pages is None)
        self._pages = pages
        if toggled:  # pages on or off: lines no page break moved stay as they are
            self._replace_all()
        else:
            self.invalidate()
        self.update.emit()

    def invalidate(self) -> None:
        """Every block is to be placed again (width, font, zoom or page change)."""
        self._generation += 1
        self._replace_all()

    def _replace_all(self) -> None:
        """Every block is to be placed again from the top (its lines are kept if they
        are still right)."""
        self._dirty = self._frontier = 0
        self._edits = []
        self._clean = False
        self._more.stop()
        if self._pages is None:
            self._idle.stop()
        else:
            self._idle.start()

    @property
    def is_paginated(self) -> bool:
        """Whether every block is placed (the page count is exact)."""
        return self._clean

    def hides(self, block: QTextBlock) -> bool:
        """Whether ``block`` is the empty block after the final ``"\\n"``, laid out with no
        height (unless the caret is in it: Enter at the end of the document)."""
        return not self._phantom_open and is_phantom(block)

    def set_phantom_open(self, open_: bool) -> None:
        """Whether the caret is in the last block (then it is a line like any other)."""
        if open_ == self._phantom_open:
            return
        self._phantom_open = open_
        last = self.document().lastBlock()
        if is_phantom(last):
            data = last.userData()
            if isinstance(data, Placed):
                data.generation = -1  # lay it out again
            self._changed(last.position(), 0, 0)
            self.update.emit()

    def restyle(self, block: QTextBlock) -> None:
        """``block``'s layout formats are about to change outside an edit (a spelling
        underline: ``QTextDocument.markContentsDirty``, which Qt answers by laying the
        block out again its own way, with no ``contentsChange``): place it again, O(1)."""
        data = block.userData()
        if isinstance(data, Placed):
            data.generation = -1
        self._changed(block.position(), 0, 0)

    def block_top(self, block: QTextBlock) -> float | None:
        """Content y of ``block``'s top as last placed (None if never placed, or laid
        out pageless since)."""
        data = block.userData()
        return data.top if isinstance(data, Placed) and not math.isnan(data.top) else None

    def page_of(self, position: int, *, place: bool = True) -> int:
        """The page (1-based) that shows the character at ``position``. With ``place``
        False nothing is laid out: a block not placed since an edit above it is taken
        where it was last placed (a keystroke's caret is: the paint placed it)."""
        block = self.document().findBlock(position)
        if self.hides(block):
            block = block.previous()
            position = block.position() + block.length() - 1
        if self._pages is None or not block.isValid():
            return 1
        if place:
            self._walk(block)
        data, layout = block.userData(), block.layout()
        if not isinstance(data, Placed) or layout is None or layout.lineCount() == 0:
            return 1
        if math.isnan(data.top):  # laid out pageless, not placed on pages since
            return 1
        line = layout.lineForTextPosition(position - block.position())
        y = line.y() if line.isValid() else layout.lineAt(0).y()
        return self._pages.page_at(data.top + y) + 1

    def page_count(self) -> int:
        """How many pages the document fills (places every block first if needed)."""
        if self._pages is None:
            return 1
        self._walk(None)
        last = self.document().lastBlock()
        if self.hides(last):
            last = last.previous()
        return self.page_of(last.position() + last.length() - 1)

    # ------------------------------------------------------------------ placing

    def _changed(self, pos: int, removed: int, added: int) -> None:
        """An edit (or a format change) at ``pos``: its blocks are to be placed again."""
        if self._pages is None:
            return  # pageless: nothing is placed (an edited block is laid out when shown)
        start = self.document().findBlock(pos).position()
        delta = added - removed
        if self._frontier > pos:
            self._frontier = max(pos, self._frontier + delta)
        edits = [e if e <= pos else max(pos, e + delta) for e in self._edits]
        if start not in edits:
            edits.append(start)
        if len(edits) > MAX_EDITS:  # a burst far from the view: place it all again
            edits = [min(edits)]
            self._frontier = min(self._frontier, edits[0])
        self._edits = edits
        self._dirty = start if self._clean else min(self._dirty, start)
        self._clean = False
        self._more.stop()
        self._idle.start()

    def _paginate_some(self) -> None:
        self._walk(None, time.perf_counter() + PAGINATE_SLICE)
        if self._corrected:  # blocks the view placed at an estimate are where they go now
            self._corrected = False
            self.update.emit()
        self.reflowed.emit()
        if self._clean:
            self.paginated.emit()
        else:
            self._more.start()

    def _walk(self, until: QTextBlock | None, deadline: float | None = None) -> None:
        """Place the blocks from the first dirty one down to ``until`` (None: the end),
        stopping early when the rest is found in place or at ``deadline``."""
        if self._clean or self._pages is None:
            return
        block = self.document().findBlock(self._dirty)
        if not block.isValid():
            self._clean = True
            return
        top = 0.0
        prev = block.previous()
        if prev.isValid():
            data = prev.userData()
            if not isinstance(data, Placed):  # never expected: start over
                self._dirty = 0
                block = self.document().firstBlock()
            else:
                top = data.top + data.height
        limit = until.position() if until is not None else _EVERYTHING
        moved = False
        while block.isValid() and block.position() <= limit:
            # The clock is read at every block (well under a microsecond): one block that
            # Qt and we lay out again can take a fraction of a millisecond, and every 64th
            # block let a 4 ms slice run to 20 ms and more while a big paste settled.
            if deadline is not None and moved and time.perf_counter() > deadline:
                break
            moved = True  # at least one block per slice, however late it starts
            position = block.position()
            if self._place(block, top) and position < self._frontier:
                # Found where it was: so is everything down to the next edited block or
                # the frontier (placed in a row before). Go on from there.
                self._edits = [e for e in self._edits if e > position]
                block = self.document().findBlock(min([*self._edits, self._frontier]))
                if not block.isValid():
                    self._clean = True
                    return
                data = block.previous().userData()
                top = data.top + data.height if isinstance(data, Placed) else top
                continue
            self._frontier = max(self._frontier, position + block.length())
            data = block.userData()
            top += data.height if isinstance(data, Placed) else 0.0
            block = block.next()
        if block.isValid():
            self._dirty = block.position()
        else:
            self._clean = True
            self._edits = []

    def _place(self, block: QTextBlock, top: float, estimate: bool = False) -> bool:
        """Lay ``block`` out at content y ``top`` unless it is already; returns True when
        it was (neither its lines nor its top changed) and was not at an estimate: a block
        the view placed at an estimate (``estimate``) is never "found in place" by the
        walk, which goes on below it (the blocks there may be where the estimate put
        them, not where they go)."""
        layout = block.layout()
        if layout.lineCount() == 0:
            self.blockBoundingRect(block)  # Qt lays it out (C++), then we redo it
        first = layout.lineAt(0)
        ours = layout.lineCount() > 0 and first.y() % 1.0 == MARK
        data = block.userData()
        placed = data if isinstance(data, Placed) else None
        if ours and placed is not None and placed.generation == self._generation:
            was_estimate = placed.estimate
            if placed.top == top:
                if estimate:
                    return True  # as it was (placed in a row or at an estimate)
                placed.estimate = False
                return not was_estimate
            placed.estimate = estimate
            self._corrected = self._corrected or (was_estimate and not estimate)
            pages = self._pages
            if (
                not placed.broken
                and placed.height > MARK
                and (pages is None or pages.fits(top + first.y(), top + placed.height))
            ):
                placed.top = top  # moved, no page break inside: the same lines
                return False
        self.placements += 1
        if not ours and layout.lineCount() > 0:
            self._width = first.width()
        broken = self._relayout(block, layout, top)
        height = self.blockBoundingRect(block).height()
        if not block.next().isValid():
            height -= self.document().documentMargin()  # Qt adds it to the last block
        if placed is None:
            self._resized = True
            block.setUserData(Placed(top, height, broken, self._generation, estimate))
            return False
        if placed.height != height:
            self._resized = True
        placed.top, placed.height, placed.broken = top, height, broken
        placed.generation, placed.estimate = self._generation, estimate
        return False

    def _ensure(self, block: QTextBlock) -> bool:
        """Pageless: give ``block`` the paragraph layout unless it has it (with no page
        break in it); returns whether its height changed (what follows moved). Its top is
        not known (NaN): back on pages, the walk places it where it goes."""
        layout = block.layout()
        if layout.lineCount() == 0:
            self.blockBoundingRect(block)  # Qt lays it out (C++), then we redo it
            if layout.lineCount() == 0:
                return False
        first = layout.lineAt(0)
        ours = first.y() % 1.0 == MARK
        data = block.userData()
        placed = data if isinstance(data, Placed) else None
        if (
            ours
            and placed is not None
            and placed.generation == self._generation
            and not placed.broken
        ):
            return False
        if not ours:
            self._width = first.width()
        self._relayout(block, layout, 0.0)
        height = self.blockBoundingRect(block).height()
        if not block.next().isValid():
            height -= self.document().documentMargin()  # Qt adds it to the last block
        if placed is None:
            block.setUserData(Placed(math.nan, height, False, self._generation))
            return True
        changed = placed.height != height
        placed.top, placed.height, placed.broken = math.nan, height, False
        placed.generation = self._generation
        return changed

    # ------------------------------------------------------------------ edits

    def documentChanged(self, position: int, removed: int, added: int) -> None:  # noqa: N802
        """Qt's plain layout lays an edited block out with its own line metrics and, as
        their height is never the page's (line spacing, space above), then asks for a
        repaint of the WHOLE view: both editors repainted everything they show at every
        keystroke (1.5-2 ms each). An edit inside one block that keeps the number of
        blocks (a keystroke) is laid out the page's way here instead, and only that block
        is repainted when its height is unchanged (else what Qt asks for: the document
        size and the whole view). Anything else goes to Qt as before (after the
        ``contentsChange`` that marked the blocks dirty, as Qt reports that first)."""
        if not self._edit_in_place(position, added):
            super().documentChanged(position, removed, added)
            self._block_count = self.document().blockCount()

    def _edit_in_place(self, position: int, added: int) -> bool:
        # What changed is [position, position + added) of the text as it is now (Qt also
        # counts what was removed, which over-reaches when an edit and a restyle of its
        # block, the spell checker's, come as one change: typing in a word it marks).
        doc = self.document()
        if doc.blockCount() != self._block_count:
            return False
        block = doc.findBlock(position)
        if not block.isValid() or block != doc.findBlock(max(position, position + added - 1)):
            return False
        data = block.userData()
        if (
            not isinstance(data, Placed)
            or data.generation != self._generation
            or data.estimate
            or not block.isVisible()
        ):
            return False
        if self._pages is None:
            data.generation = -1  # its lines are the old text's: lay it out again
            resized = self._ensure(block)
        else:
            if self._clean or self._dirty != block.position() or self._far(block):
                return False  # blocks above it are to be placed first: the paint does it
            data.generation = -1  # its lines are the old text's: lay it out again
            self._resized = False
            nxt = block.next()
            self._walk(nxt if nxt.isValid() else block)
            resized = self._resized
        self.in_place += 1
        if resized:  # taller or shorter: what follows moved
            self.documentSizeChanged.emit(self.documentSize())
            self.update.emit()
        else:
            self.updateBlock.emit(block)  # the view repaints it where it is
        return True

    # ------------------------------------------------------------------ the view's hooks

    def relayout_edited(self, block: QTextBlock) -> None:
        """Qt just laid out ``block`` again (an edit; its ``updateBlock`` signal): lay it
        out as the page does at once and ask for its repaint with the page geometry, so
        the edit is painted in the same paint as Qt's own update (no second paint)."""
        if not isinstance(block.userData(), Placed):
            return  # never shown with the page layout: the paint that shows it lays it out
        layout = block.layout()
        if layout is None or layout.lineCount() == 0 or layout.lineAt(0).y() % 1.0 == MARK:
            return
        if self._pages is None:  # pageless: only this block
            if self._ensure(block):
                self.update.emit()
            else:
                self.updateBlock.emit(block)
            return
        data = block.userData()
        if not self._clean and self._usable(data) and self._far(block):
            # The view is placed at an estimate (the pagination has not reached it):
            # the edited block stays where it was, and so does the next one if it can.
            self._resized = False
            self._place(block, data.top, estimate=True)
            nxt = block.next()
            if nxt.isValid():
                self._place(nxt, data.top + data.height, estimate=True)
            if self._resized:
                self.update.emit()
            else:
                self.updateBlock.emit(block)
            return
        if self._clean or self._dirty != block.position():
            return  # placing it needs blocks above placed first: the paint does that
        self._resized = False
        nxt = block.next()
        self._walk(nxt if nxt.isValid() else block)
        if self._resized:  # taller or shorter: what follows moved too
            self.update.emit()  # the whole view
        else:
            self.updateBlock.emit(block)  # the view repaints it where it now is

    def ensure_bottom(self, height: float) -> None:
        """Lay out the blocks at the end of the document that fill ``height`` (what Qt
        measures the scroll range from); those not placed in a row yet go where they
        were last placed (their page breaks follow when the walk reaches them)."""
        block = self.document().lastBlock()
        filled = 0.0
        while block.isValid() and filled <= height:
            if self._pages is None:
                self._ensure(block)  # pageless: laid out, no top
            elif self._clean or block.position() < self._dirty:
                break  # placed, and so is everything above
            else:
                top = self.block_top(block)
                self._place(block, self._estimate_top(block) if top is None else top, True)
            filled += self.blockBoundingRect(block).height()
            block = block.previous()

    def last_screen_line(self, height: float) -> int:
        """The smallest line number a view ``height`` high can start at and still show
        the end of the document (the scroll range's maximum Qt should have found), with
        the blocks as they are laid out now (:meth:`ensure_bottom` gives them the page
        layout; nothing is laid out here). A view starting at a block's first line shows
        the block from its top, at a later line from the bottom of the line before (Qt's
        ``verticalOffset``), so the space above a line counts with it. 0 when even the
        last line is taller than ``height``, or a block on the way has no layout (Qt's
        own range is then left as it is)."""
        block = self.document().lastBlock()
        below = 0.0  # the content under ``block``, down to the end of the document
        found = 0
        while block.isValid():
            if block.isVisible():
                layout = block.layout()
                if layout is None or layout.lineCount() == 0:
                    return 0
                block_height = self.blockBoundingRect(block).height()
                for k in range(layout.lineCount() - 1, -1, -1):
                    start = layout.lineAt(k - 1).naturalTextRect().bottom() if k else 0.0
                    if block_height - start + below > height:
                        return found
                    found = block.firstLineNumber() + k
                below += block_height
            block = block.previous()
        return found

    def ensure_visible(self, first: QTextBlock, top: float, bottom: float) -> bool:
        """Place every block from ``first`` (whose top is at ``top``) down to ``bottom``
        (viewport coordinates): what is about to be painted. Returns whether any block
        changed height (then the caller repaints what follows it).

        The blocks above are placed first when that is a short walk (:data:`VIEW_WALK`
        blocks). Farther (a document just opened or pasted, the view at its end), the
        view's blocks are placed one under the other from an estimate of ``first``'s top
        (where it was last placed, else :meth:`_estimate_top`), so the page breaks in
        view are those of the estimate; the background pagination places them where they
        go when it reaches them, and the view is repainted then."""
        self._resized = False
        pageless = self._pages is None
        block = first
        y = top
        estimate: float | None = None  # content y of ``block`` when placing at an estimate
        while block.isValid() and y <= bottom:
            if pageless:
                self._resized = self._ensure(block) or self._resized
            elif estimate is None and not self._clean and block.position() >= self._dirty:
                if self._far(block):
                    estimate = self._estimate_top(block)
                else:
                    self._walk(block)
            if estimate is not None:
                self._place(block, estimate, estimate=True)
            data = block.userData()
            height = data.height if isinstance(data, Placed) else 0.0
            y += height
            if estimate is not None:
                estimate += height
            block = block.next()
        return self._resized

    def _far(self, block: QTextBlock) -> bool:
        """Whether more than :data:`VIEW_WALK` blocks lie between the first dirty block and
        ``block`` (a walk to it could cost many milliseconds: the view goes at an estimate)."""
        start = self.document().findBlock(self._dirty)
        return block.blockNumber() - start.blockNumber() > VIEW_WALK

    def _estimate_top(self, block: QTextBlock) -> float:
        """Where ``block`` probably goes, without placing the blocks above it: where it was
        last placed, or just below the block above if that one is placed; else the last
        block placed in a row plus the lines in between (Qt's line numbers, or the
        characters at an average width per line if more: Qt counts a block it has not
        laid out as one line) at the body's line pitch, cut into pages."""
        usable = self._usable
        data = block.userData()
        if usable(data):
            return float(data.top)
        prev = block.previous()
        above = prev.userData() if prev.isValid() else None
        if usable(above):
            return float(above.top + above.height)
        pages = self._pages
        assert pages is not None  # only estimated on pages
        anchor = self.document().findBlock(self._dirty).previous()
        placed = anchor.userData() if anchor.isValid() else None
        bottom, line, number, position = pages.origin, 0, 0, 0
        if anchor.isValid() and anchor.position() < block.position() and usable(placed):
            bottom = placed.top + placed.height
            line = anchor.firstLineNumber() + anchor.lineCount()
            number = anchor.blockNumber() + 1
            position = anchor.position() + anchor.length()
        metrics = QFontMetricsF(self.document().defaultFont())
        per_line = max(1.0, self._width / max(1.0, metrics.averageCharWidth()))
        lines = max(block.firstLineNumber() - line, (block.position() - position) / per_line)
        pitch = self._em + round(self._em * (self.spacing - 1.0))
        flow = lines * pitch + (block.blockNumber() - number) * round(self._em * PARAGRAPH_SPACE)
        page = pages.page_at(bottom)
        used = max(0.0, bottom - pages.content_top(page)) + flow
        turned, rest = divmod(used, max(1.0, pages.content))
        return pages.content_top(page + int(turned)) + rest

    def _usable(self, data: object) -> TypeGuard[Placed]:
        """Whether ``data`` is a placement of this layout's generation with a top."""
        return (
            isinstance(data, Placed)
            and data.generation == self._generation
            and not math.isnan(data.top)
        )

    # ------------------------------------------------------------------ layout

    def space_above(self, block: QTextBlock) -> float:
        """Whole pixels of space above ``block``."""
        if not block.previous().isValid():
            return 0.0
        level = formats.heading_level(block)
        if level is not None:
            return float(round(self._em * HEADING_SPACE[level]))
        prev = block.previous()
        if block.textList() is not None and prev.textList() is not None:
            return 0.0
        if formats.is_code_line(block) and formats.is_code_line(prev):
            return 0.0
        return float(round(self._em * PARAGRAPH_SPACE))

    def left_indent(self, block: QTextBlock) -> float:
        attrs = formats.block_attrs(block)
        left = self._em * INDENT_STEP * int(attrs.get("indent", 0) or 0)
        if attrs.get("blockquote"):
            left += self._em * QUOTE_PADDING
        if attrs.get("code-block"):
            left += self._em * CODE_PADDING
        return left

    def _relayout(self, block: QTextBlock, layout: QTextLayout, top: float) -> bool:
        """Lay ``block`` out at content y ``top``; returns whether a page break moved
        one of its lines (then its lines depend on where it is)."""
        doc = self.document()
        margin = doc.documentMargin()
        attrs = formats.block_attrs(block)
        left = self.left_indent(block)
        right = self._em * CODE_PADDING if attrs.get("code-block") else 0.0
        width = max(self._em, self._width - left - right)
        option = QTextOption(doc.defaultTextOption())
        option.setAlignment(formats.line_alignment(attrs.get("align"), attrs.get("direction")))
        if attrs.get("direction") == "rtl":  # Quill's right-to-left line (Hebrew, Arabic)
            option.setTextDirection(Qt.LayoutDirection.RightToLeft)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        pages = self._pages
        phantom = self.hides(block)
        pictures = EMBED_CHAR in block.text()  # a line's height may be a picture's
        broken = False
        layout.beginLayout()
        y = self.space_above(block) + MARK
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            if phantom:  # no height: its one line sits just above the block's top
                line.setPosition(QPointF(margin + left, MARK - math.ceil(line.height())))
                continue
            # The extra line spacing goes above each line, in whole pixels, so every
            # line (the first one's y included) stays on the MARK grid. It is a share
            # of the text's height: a picture on the line does not add to it.
            text_height = self._text_height(block, line) if pictures else line.height()
            y += round(text_height * (self.spacing - 1.0))
            if pages is not None:
                at = pages.place(top + y, line.height())
                if at != top + y:  # the next page (on the MARK grid, never above it)
                    y = math.ceil(at - top - MARK) + MARK
                    broken = True
            line.setPosition(QPointF(margin + left, y))
            y += line.height()
        layout.endLayout()
        block.setLineCount(layout.lineCount())
        return broken

    def _text_height(self, block: QTextBlock, line: QTextLine) -> float:
        """The height ``line`` of ``block`` would have without its pictures: that of the
        tallest font of its text, or of the block's own font when it holds only
        pictures. Line spacing is a share of this, as in Google Docs, where a picture
        sits on its line with the text's spacing: 15 % of a 450 px picture's height
        (68 px) above it would look like an empty line."""
        start = block.position() + line.textStart()
        end = start + line.textLength()
        base = self.document().defaultFont()
        height = 0.0
        for frag in walk.fragments(block):
            at = frag.position()
            if at >= end:
                break
            if at + frag.length() > start:
                fmt = frag.charFormat()
                if not fmt.isImageFormat():
                    height = max(height, QFontMetricsF(fmt.font().resolve(base)).height())
        if height == 0.0:
            height = QFontMetricsF(block.charFormat().font().resolve(base)).height()
        return min(height, line.height())
