"""The page's paragraph layout: line spacing, paragraph and heading spacing, alignment,
indents, quotes and code blocks, on top of Qt's fast plain-text layout.

``QPlainTextDocumentLayout`` (chosen for its O(changed blocks) relayout, see
:mod:`editor_app.ui.editor_widget`) ignores every block format: it puts each line of a
block at ``(margin, previous bottom)``, full width, left-aligned. :class:`PageLayout` lays
a block out again after Qt did, before every paint, for the visible blocks Qt laid out
since (the edited one after a keystroke, all of them lazily after a resize or a load):
lines get the block's indent, width, alignment (Qt's ``QTextOption`` aligns, so hit tests
and caret positions follow), 1.15 line spacing and the space above the paragraph. Qt's
own (C++) ``blockBoundingRect`` is measured from the lines' positions, so scrolling,
painting and the caret see the same geometry, and no Python runs per block in Qt's loops
(an override of ``blockBoundingRect`` made a 1 MB document load in 5.7 s instead of 0.8 s
and a remote keystroke cost 2 ms instead of 0.6 ms).

Which layout a block has is told apart without bookkeeping: Qt always puts a block's first
line at y = 0; ours puts it at ``space_above + MARK`` (``MARK`` is 1/64 px, the smallest
step of Qt's fixed-point coordinates, invisible), so the check is one float comparison.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFontMetricsF, QTextBlock, QTextDocument, QTextLayout, QTextOption
from PySide6.QtWidgets import QPlainTextDocumentLayout

from editor_app.qt import formats

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
_ALIGN = {
    "center": Qt.AlignmentFlag.AlignHCenter,
    "right": Qt.AlignmentFlag.AlignRight,
    "justify": Qt.AlignmentFlag.AlignJustify,
}


class PageLayout(QPlainTextDocumentLayout):
    """Qt's plain-text layout plus the paragraph formats of a Quill document."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._width = 0.0  # the line width Qt gives a full-width line (from its layouts)
        self._em = QFontMetricsF(document.defaultFont()).height()
        self.spacing = LINE_SPACING

    def set_base_font_height(self, height: float) -> None:
        """The body line height (after a font or zoom change); relayout follows."""
        self._em = height

    def ensure(self, block: QTextBlock) -> bool:
        """Give ``block`` the page layout if Qt laid it out since (cheap when it has it).
        Returns True when that changed the block's height (what follows moved)."""
        layout = block.layout()
        if layout is None:
            return False
        if layout.lineCount() == 0:
            self.blockBoundingRect(block)  # Qt lays it out (C++), then we redo it
            if layout.lineCount() == 0:
                return False
        first = layout.lineAt(0)
        if first.y() % 1.0 == MARK:
            return False
        self._width = first.width()
        self._relayout(block, layout)
        height = round(self.blockBoundingRect(block).height())
        changed = block.userState() != height
        block.setUserState(height)  # the page height it had (userState is unused else)
        return changed

    def relayout_edited(self, block: QTextBlock) -> None:
        """Qt just laid out ``block`` again (an edit; its ``updateBlock`` signal): lay it
        out as the page does at once and ask for its repaint with the page geometry, so
        the edit is painted in the same paint as Qt's own update (no second paint)."""
        if block.userState() < 0:
            return  # never shown with the page layout: the paint that shows it lays it out
        layout = block.layout()
        if layout is None or layout.lineCount() == 0 or layout.lineAt(0).y() % 1.0 == MARK:
            return
        if self.ensure(block):  # taller or shorter: what follows moved too
            self.update.emit()  # the whole view
        else:
            self.updateBlock.emit(block)  # the view repaints it where it now is

    def ensure_bottom(self, height: float) -> None:
        """:meth:`ensure` the blocks at the end of the document that fill ``height``
        (what Qt measures the scroll range from)."""
        block = self.document().lastBlock()
        filled = 0.0
        while block.isValid() and filled <= height:
            if block.isVisible():
                self.ensure(block)
                filled += self.blockBoundingRect(block).height()
            block = block.previous()

    def ensure_visible(self, first: QTextBlock, top: float, bottom: float) -> bool:
        """:meth:`ensure` every block from ``first`` (whose top is at ``top``) down to
        ``bottom`` (viewport coordinates): what is about to be painted. Returns whether any
        block changed (then the caller repaints what follows it)."""
        changed = False
        block = first
        y = top
        while block.isValid() and y <= bottom:
            if block.isVisible():
                changed = self.ensure(block) or changed
                y += self.blockBoundingRect(block).height()
            block = block.next()
        return changed

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
        if formats.style_level(block) == formats.CODE_BLOCK and (
            formats.style_level(prev) == formats.CODE_BLOCK
        ):
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

    def _relayout(self, block: QTextBlock, layout: QTextLayout) -> None:
        doc = self.document()
        margin = doc.documentMargin()
        attrs = formats.block_attrs(block)
        left = self.left_indent(block)
        right = self._em * CODE_PADDING if attrs.get("code-block") else 0.0
        width = max(self._em, self._width - left - right)
        option = QTextOption(doc.defaultTextOption())
        option.setAlignment(_ALIGN.get(str(attrs.get("align")), Qt.AlignmentFlag.AlignLeft))
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        y = self.space_above(block) + MARK
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            # The extra line spacing goes above each line, in whole pixels, so every
            # line (the first one's y included) stays on the MARK grid.
            y += round(line.height() * (self.spacing - 1.0))
            line.setPosition(QPointF(margin + left, y))
            y += line.height()
        layout.endLayout()
        block.setLineCount(layout.lineCount())
