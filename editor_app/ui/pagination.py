"""The page grid of the view: sheets of the size Print uses, their margins, the gap between.

Coordinates are the editor's content coordinates (y = 0 is the top of the first block,
pixels at the current zoom). Page ``k`` (0-based) holds text in
``[content_top(k), content_top(k) + content)``; its sheet begins ``top`` above that and
ends ``bottom`` below, and ``gap`` pixels of desk separate two sheets. A line is placed
with :meth:`PageGeometry.place`: one that would cross the bottom of its page's text area
starts the next page instead (a line taller than a page stays where it is).

:func:`print_geometry` measures the page the way Print and Print preview lay it out:
``QPrinter()``'s default page size and margins (what ``QPrintPreviewDialog`` uses) plus the
2 cm margins ``QTextDocument.print_`` adds, so the view and the printout break pages at
about the same text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from PySide6.QtGui import QPageLayout
from PySide6.QtPrintSupport import QPrinter

#: Desk between two sheets, in pixels (not zoomed).
PAGE_GAP = 12.0
#: What ``QTextDocument.print_`` adds inside the printer's margins (2 cm), in points.
PRINT_MARGIN_PT = 2 / 2.54 * 72


@dataclass(frozen=True)
class PageGeometry:
    """One sheet (``height``), its ``top``/``bottom`` margins and the ``gap`` after it,
    with page 1's text starting at content y ``origin``."""

    height: float
    top: float
    bottom: float
    gap: float = PAGE_GAP
    origin: float = 0.0

    @property
    def content(self) -> float:
        """Height of a page's text area."""
        return self.height - self.top - self.bottom

    @property
    def pitch(self) -> float:
        """From one page's text top to the next one's."""
        return self.height + self.gap

    def scaled(self, factor: float) -> PageGeometry:
        """The same page at another zoom (the gap stays)."""
        return replace(
            self, height=self.height * factor, top=self.top * factor, bottom=self.bottom * factor
        )

    def with_origin(self, origin: float) -> PageGeometry:
        return replace(self, origin=origin)

    def page_at(self, y: float) -> int:
        """The page whose text area (or the margins and gap after it) holds content y."""
        return max(0, math.floor((y - self.origin) / self.pitch))

    def content_top(self, page: int) -> float:
        return self.origin + page * self.pitch

    def place(self, y: float, height: float) -> float:
        """Where a line of ``height`` that would start at ``y`` goes: ``y`` itself if it
        fits on its page, else the top of the next page's text."""
        page = self.page_at(y)
        top = self.content_top(page)
        if y < top:  # above the first page's text (its top margin)
            return top
        if y + height <= top + self.content or y <= top:
            return y
        return self.content_top(page + 1)

    def fits(self, top: float, bottom: float) -> bool:
        """Whether ``[top, bottom]`` lies inside one page's text area."""
        page = self.page_at(top)
        start = self.content_top(page)
        return start <= top and bottom <= start + self.content

    def gaps(self, top: float, bottom: float) -> Iterator[tuple[float, float]]:
        """The desk between sheets that shows in content ``[top, bottom]``, as
        ``(start, end)`` pairs: from one sheet's bottom edge to the next one's top edge."""
        page = max(0, self.page_at(top) - 1)
        while True:
            start = self.content_top(page) + self.content + self.bottom
            if start > bottom:
                return
            end = start + self.gap
            if end >= top:
                yield start, end
            page += 1


@cache
def print_geometry(dpi: float = 96.0) -> PageGeometry:
    """The page Print preview uses (``QPrinter()``'s defaults, A4 or Letter with the
    printer's margins, plus ``QTextDocument.print_``'s 2 cm), in pixels at ``dpi``."""
    layout = QPrinter().pageLayout()
    paper = layout.fullRectPoints()
    margins = layout.marginsPoints() if layout.mode() == QPageLayout.Mode.StandardMode else None
    top = (margins.top() if margins else 0) + PRINT_MARGIN_PT
    bottom = (margins.bottom() if margins else 0) + PRINT_MARGIN_PT
    px = dpi / 72.0
    return PageGeometry(height=paper.height() * px, top=top * px, bottom=bottom * px)
