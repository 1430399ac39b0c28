"""Collaborators' carets and selections, and list markers, painted over the editor's viewport.

Positions come from :meth:`PresenceTracker.collaborators` in UTF-16 units, i.e. Qt
positions, resolved at paint time from Yjs relative positions, so they follow the text
without any bookkeeping here. Only the part of a selection inside the viewport is measured,
so a collaborator who selected a whole 1 MB document costs a screenful of work per paint.

List markers live here too because ``QPlainTextDocumentLayout`` (chosen for its O(1) edits,
see :mod:`editor_app.ui.editor_widget`) does not draw them: :func:`paint_list_markers` draws
a bullet or the item number in the left margin of every visible list item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QTextBlock, QTextCursor, QTextLine
from PySide6.QtWidgets import QPlainTextEdit

from editor_app.qt.formats import list_kind

if TYPE_CHECKING:
    from editor_app.core.presence import Collaborator

CARET_WIDTH = 2.0
SELECTION_ALPHA = 70
LABEL_PADDING = 3.0


def paint_collaborators(
    painter: QPainter, edit: QPlainTextEdit, collaborators: Iterable[Collaborator]
) -> None:
    """Draw every collaborator's selection, caret and name label onto ``edit``'s viewport."""
    doc_len = edit.document().characterCount() - 1
    visible = _visible_range(edit)
    label_font = QFont(edit.font())
    label_font.setPointSizeF(max(6.0, label_font.pointSizeF() * 0.75))
    for person in collaborators:
        if person.head is None:
            continue
        color = QColor(person.color)
        head = min(max(person.head, 0), doc_len)
        anchor = head if person.anchor is None else min(max(person.anchor, 0), doc_len)
        if anchor != head:
            fill = QColor(color)
            fill.setAlpha(SELECTION_ALPHA)
            lo, hi = sorted((anchor, head))
            lo, hi = max(lo, visible[0]), min(hi, visible[1])
            for rect in _selection_rects(edit, lo, hi):
                painter.fillRect(rect, fill)
        caret = QRectF(edit.cursorRect(_cursor_at(edit, head)))
        painter.fillRect(QRectF(caret.left(), caret.top(), CARET_WIDTH, caret.height()), color)
        _paint_label(painter, label_font, caret.topLeft(), person.name, color)


def _paint_label(painter: QPainter, font: QFont, at: QPointF, name: str, color: QColor) -> None:
    metrics = QFontMetricsF(font)
    width = metrics.horizontalAdvance(name) + 2 * LABEL_PADDING
    height = metrics.height() + LABEL_PADDING
    rect = QRectF(at.x(), max(0.0, at.y() - height), width, height)
    painter.fillRect(rect, color)
    painter.setFont(font)
    painter.setPen(QColor("white") if color.lightness() < 160 else QColor("black"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)


def _cursor_at(edit: QPlainTextEdit, pos: int) -> QTextCursor:
    cursor = QTextCursor(edit.document())
    cursor.setPosition(pos)
    return cursor


def paint_list_markers(painter: QPainter, edit: QPlainTextEdit, gutter: float) -> None:
    """Draw "•" or "N." right-aligned in the left margin of every visible list item.

    Only list items are measured; other visible blocks cost one ``textList()`` call each.
    """
    block = edit.firstVisibleBlock()
    last = edit.cursorForPosition(edit.viewport().rect().bottomLeft()).block().blockNumber()
    offset = edit.contentOffset()
    painter.setPen(edit.palette().text().color())
    while block.isValid() and block.blockNumber() <= last:
        text_list = block.textList()
        if text_list is not None and block.isVisible() and block.layout().lineCount():
            top = edit.blockBoundingGeometry(block).translated(offset).top()
            ordered = list_kind(text_list) == "ordered"
            marker = f"{text_list.itemNumber(block) + 1}." if ordered else "\u2022"
            line = block.layout().lineAt(0)
            painter.setFont(block.charFormat().font())
            box = QRectF(0.0, top + line.y(), gutter - 6.0, line.height())
            painter.drawText(
                box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, marker
            )
        block = block.next()


def _visible_range(edit: QPlainTextEdit) -> tuple[int, int]:
    viewport = edit.viewport().rect()
    first = edit.cursorForPosition(viewport.topLeft()).block().position()
    last_block = edit.cursorForPosition(viewport.bottomRight()).block()
    return first, last_block.position() + last_block.length() - 1


def _selection_rects(edit: QPlainTextEdit, start: int, end: int) -> Iterator[QRectF]:
    """Viewport rectangles covering ``[start, end)``, one per laid-out line part."""
    if start >= end:
        return
    doc = edit.document()
    offset = edit.contentOffset()
    block: QTextBlock = doc.findBlock(start)
    while block.isValid() and block.position() <= end:
        text_layout = block.layout()
        origin = edit.blockBoundingGeometry(block).translated(offset).topLeft()
        bstart = block.position()
        for i in range(text_layout.lineCount()):
            line = text_layout.lineAt(i)
            ls = bstart + line.textStart()
            le = ls + line.textLength()
            s, e = max(ls, start), min(le, end)
            if s > e or (s == e and not (ls == le and start <= ls < end)):
                continue
            x1 = _x_of(line, s - bstart)
            x2 = _x_of(line, e - bstart)
            if e < end and e == le:  # selection continues past the line end: show it
                x2 = max(x2, line.naturalTextWidth()) + 4
            yield QRectF(origin.x() + x1, origin.y() + line.y(), max(1.0, x2 - x1), line.height())
        block = block.next()


def _x_of(line: QTextLine, pos: int) -> float:
    """x of a cursor at ``pos`` in ``line`` (PySide returns ``(x, pos)``, typed ``object``)."""
    return float(cast(tuple[float, int], line.cursorToX(pos))[0])
