"""Collaborators' carets and selections, and list markers, painted over the editor's viewport.

Positions come from :meth:`PresenceTracker.collaborators` in UTF-16 units, i.e. Qt
positions, resolved at paint time from Yjs relative positions, so they follow the text
without any bookkeeping here. Only the part of a selection inside the viewport is measured,
so a collaborator who selected a whole 1 MB document costs a screenful of work per paint.

List markers live here too because ``QPlainTextDocumentLayout`` (chosen for its O(1) edits,
see :mod:`editor_app.ui.editor_widget`) does not draw them: :func:`paint_list_markers` draws
a bullet or the item number in the left margin of every visible list item.

Both painters take the rectangle being repainted (``clip``, viewport coordinates) and
walk only the blocks it meets: a keystroke repaints its paragraph, and walking every
item of a screenful of list items cost ~1.6 ms per keystroke for one painted item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPen,
    QTextBlock,
    QTextCursor,
    QTextLine,
)
from PySide6.QtWidgets import QPlainTextEdit

from editor_app.core.flags import Box, stack
from editor_app.qt.formats import (
    BLOCK_PROPS,
    block_attrs,
    block_list_kind,
    list_kind,
    ordered_label,
)

if TYPE_CHECKING:
    from editor_app.core.presence import Collaborator

CARET_WIDTH = 2.0
SELECTION_ALPHA = 70
LABEL_PADDING = 3.0
#: Pixels around a repainted rectangle in which blocks are still walked: a block's
#: decorations lie inside its bounding rectangle, but an antialiased edge or a rounded
#: coordinate may reach a pixel past it.
CLIP_SLACK = 2.0
_MARKER_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True)
class Flag:
    """A collaborator's name flag as last painted (viewport coordinates)."""

    client_id: int
    name: str
    rect: QRectF
    opacity: float


def _place_flags(
    metrics: QFontMetricsF, wanted: list[tuple[Collaborator, QColor, float, QRectF]]
) -> list[tuple[tuple[Collaborator, QColor, float, QRectF], Box]]:
    """Where each wanted flag goes (stacked, top to bottom, left to right)."""
    wanted = sorted(wanted, key=lambda w: (w[3].top(), w[3].left(), w[0].client_id))
    boxes = stack(
        [
            (
                caret.left(),
                caret.top() - 2,
                metrics.horizontalAdvance(person.name) + 2 * LABEL_PADDING,
                metrics.height() + LABEL_PADDING,
            )
            for person, _, _, caret in wanted
        ]
    )
    return list(zip(wanted, boxes, strict=True))


def flag_rects(
    edit: QPlainTextEdit, collaborators: Iterable[Collaborator], opacity: Callable[[int], float]
) -> list[tuple[int, QRectF]]:
    """Where :func:`paint_collaborators` would draw the name flags now (no painting)."""
    doc_len = edit.document().characterCount() - 1
    metrics = QFontMetricsF(label_font(edit))
    wanted = []
    for person in collaborators:
        if person.head is None or opacity(person.client_id) <= 0:
            continue
        caret = caret_rect(edit, min(max(person.head, 0), doc_len))
        wanted.append((person, QColor(), 1.0, caret))
    return [
        (w[0].client_id, QRectF(b.x, b.y, b.width, b.height))
        for w, b in _place_flags(metrics, wanted)
    ]


def label_font(edit: QPlainTextEdit) -> QFont:
    font = QFont(edit.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
    return font


def caret_rect(edit: QPlainTextEdit, pos: int) -> QRectF:
    doc_len = edit.document().characterCount() - 1
    return QRectF(edit.cursorRect(_cursor_at(edit, min(max(pos, 0), doc_len))))


def paint_collaborators(
    painter: QPainter,
    edit: QPlainTextEdit,
    collaborators: Iterable[Collaborator],
    opacity: Callable[[int], float],
    clip: QRect | QRectF | None = None,
) -> list[Flag]:
    """Draw every collaborator's selection and caret, and the name flags whose
    ``opacity(client_id)`` is above zero, stacked so that none covers another.
    Returns the flags drawn (where they are, for hover tests and repaints): all of
    them, also those outside ``clip`` (the repainted rectangle, default the viewport),
    of which nothing is drawn (nor measured: the lines of a selection outside it)."""
    doc_len = edit.document().characterCount() - 1
    area = _area(edit, clip)
    visible: tuple[int, int] | None = None  # the positions in ``area``, once needed
    font = label_font(edit)
    metrics = QFontMetricsF(font)
    wanted: list[tuple[Collaborator, QColor, float, QRectF]] = []
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
            if visible is None:
                visible = _range_in(edit, area)
            lo, hi = max(lo, visible[0]), min(hi, visible[1])
            for rect in _selection_rects(edit, lo, hi):
                painter.fillRect(rect, fill)
        caret = caret_rect(edit, head)
        # Its bar, and a small square on top of it that marks it while the flag is hidden.
        if area.intersects(QRectF(caret.left() - 2, caret.top() - 2, 6, caret.height() + 2)):
            painter.fillRect(QRectF(caret.left(), caret.top(), CARET_WIDTH, caret.height()), color)
            painter.fillRect(QRectF(caret.left() - 2, caret.top() - 2, 6, 4), color)
        alpha = opacity(person.client_id)
        if alpha > 0:
            wanted.append((person, color, alpha, caret))
    boxes = _place_flags(metrics, [(p, c, a, caret) for p, c, a, caret in wanted])
    flags: list[Flag] = []
    painter.setFont(font)
    for (person, color, alpha, _), box in boxes:
        rect = QRectF(box.x, box.y, box.width, box.height)
        flags.append(Flag(person.client_id, person.name, rect, alpha))
        if not area.intersects(rect):
            continue
        painter.setOpacity(alpha)
        painter.fillRect(rect, color)
        painter.setPen(QColor("white") if color.lightness() < 160 else QColor("black"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, person.name)
    painter.setOpacity(1.0)
    return flags


def _cursor_at(edit: QPlainTextEdit, pos: int) -> QTextCursor:
    cursor = QTextCursor(edit.document())
    cursor.setPosition(pos)
    return cursor


QUOTE_BAR = QColor("#c4c7c5")
CHECK_COLOR = QColor("#1a73e8")


def checkbox_rect(edit: QPlainTextEdit, block: QTextBlock) -> QRectF | None:
    """Where the box of a checklist item is drawn (viewport coordinates), or None."""
    if list_kind(block.textList()) != "check" or not block.layout().lineCount():
        return None
    top = edit.blockBoundingGeometry(block).translated(edit.contentOffset()).top()
    return _checkbox_at(block.layout().lineAt(0), top)


def _checkbox_at(line: QTextLine, top: float) -> QRectF:
    """The box before ``line``, the first line of a checklist item whose top is ``top``."""
    size = min(line.height() * 0.75, 16.0)
    right = line.x() - 6.0
    return QRectF(right - size, top + line.y() + (line.height() - size) / 2, size, size)


def list_marker(block: QTextBlock) -> str | None:
    """The text :func:`paint_list_markers` draws before ``block``: a bullet, or an
    ordered item's number as Quill shows it (its place in its run of ordered lines,
    across the Qt lists a long run is kept in: :func:`formats.ordered_number
    <editor_app.qt.formats.ordered_number>`); None for a check item (a box is drawn) and
    for a block that is no list item."""
    kind = list_kind(block.textList())
    if kind == "bullet":
        return "\u2022"
    if kind == "ordered":
        return ordered_label(block)
    return None


def paint_list_markers(
    painter: QPainter,
    edit: QPlainTextEdit,
    gutter: float,
    clip: QRect | QRectF | None = None,
) -> None:
    """Draw block decorations over the visible blocks that meet ``clip`` (the repainted
    rectangle, viewport coordinates; default the whole viewport): bullets, numbers and
    check boxes right-aligned before the first line of list items, a bar left of quotes
    (code blocks have a block background, which Qt paints).

    Only decorated blocks are measured; other blocks cost a few format reads each.
    """
    area = _area(edit, clip)
    text_color = edit.palette().text().color()
    painter.setPen(text_color)
    for block, geometry in _blocks_in(edit, area.top(), area.bottom()):
        text_list = block.textList()
        quote = block.blockFormat().hasProperty(BLOCK_PROPS["blockquote"])
        if text_list is None and not quote:
            continue  # most blocks: two cheap reads
        layout = block.layout()
        if not layout.lineCount():
            continue
        line = layout.lineAt(0)
        top = geometry.top()
        if quote and block_attrs(block).get("blockquote"):
            bar = top + line.y()
            painter.fillRect(QRectF(line.x() - 12.0, bar, 4.0, geometry.bottom() - bar), QUOTE_BAR)
        if text_list is None:
            continue
        if list_kind(text_list) == "check":
            box = _checkbox_at(line, top)
            done = block_list_kind(block) == "checked"
            _paint_checkbox(painter, box, done, text_color)
            if done:
                _strike_through(painter, block, geometry.topLeft(), text_color)
            painter.setPen(text_color)
        else:
            painter.setFont(block.charFormat().font())
            box = QRectF(0.0, top + line.y(), max(gutter, line.x()) - 6.0, line.height())
            painter.drawText(box, _MARKER_ALIGN, list_marker(block) or "")


def _area(edit: QPlainTextEdit, clip: QRect | QRectF | None) -> QRectF:
    """``clip`` (default: the viewport) grown by :data:`CLIP_SLACK`."""
    rect = QRectF(edit.viewport().rect()) if clip is None else QRectF(clip)
    return rect.adjusted(-CLIP_SLACK, -CLIP_SLACK, CLIP_SLACK, CLIP_SLACK)


def _blocks_in(
    edit: QPlainTextEdit, top: float, bottom: float
) -> Iterator[tuple[QTextBlock, QRectF]]:
    """The visible blocks that meet viewport y ``[top, bottom]`` (and the viewport),
    with their viewport geometry, top to bottom.

    Placed as Qt's own paint places them: from the view's first block at the content
    offset, each block right below the one before (~4 us a block above ``top``; Qt's
    hit test, ``cursorForPosition``, costs as much from Python in a paint, and
    ``blockBoundingGeometry`` measures from the view's first block at each call).
    """
    layout = edit.document().documentLayout()
    bottom = min(bottom, float(edit.viewport().height()))
    offset = edit.contentOffset()
    x, y = offset.x(), offset.y()
    block = edit.firstVisibleBlock()
    while block.isValid() and y <= bottom:
        rect = layout.blockBoundingRect(block)
        height = rect.height()
        if y + height >= top and block.isVisible():
            yield block, rect.translated(x, y)
        y += height
        block = block.next()


def _strike_through(painter: QPainter, block: QTextBlock, origin: QPointF, color: QColor) -> None:
    """Strike a done checklist item's text through, as Google Docs does.

    Drawn, not a format: ``strike`` is a Quill attribute the user sets, and a done item
    is not struck in the CRDT (a web Quill shows it as its own theme does; the exports
    do not strike it either)."""
    layout = block.layout()
    metrics = QFontMetricsF(block.charFormat().font())
    painter.save()
    painter.setPen(QPen(color, max(1.0, metrics.lineWidth())))
    for i in range(layout.lineCount()):
        line = layout.lineAt(i)
        width = line.naturalTextWidth()
        if width <= 0:
            continue
        ends = (_x_of(line, line.textStart()), _x_of(line, line.textStart() + line.textLength()))
        start = origin.x() + min(ends)  # right to left text: its first character is right
        y = origin.y() + line.y() + line.ascent() - metrics.strikeOutPos()
        painter.drawLine(QPointF(start, y), QPointF(start + width, y))
    painter.restore()


def _paint_checkbox(painter: QPainter, box: QRectF, checked: bool, color: QColor) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if checked:
        painter.setPen(QPen(CHECK_COLOR, 1.5))
        painter.setBrush(CHECK_COLOR)
        painter.drawRoundedRect(box, 2, 2)
        pen = QPen(QColor("white"), 2.0)
        painter.setPen(pen)
        w, h = box.width(), box.height()
        painter.drawPolyline(
            [
                QPointF(box.left() + w * 0.22, box.top() + h * 0.52),
                QPointF(box.left() + w * 0.42, box.top() + h * 0.72),
                QPointF(box.left() + w * 0.78, box.top() + h * 0.3),
            ]
        )
    else:
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box, 2, 2)
    painter.restore()


def _range_in(edit: QPlainTextEdit, area: QRectF) -> tuple[int, int]:
    """The positions of the blocks that meet ``area`` (viewport coordinates): from the
    start of the first to the start of the block after the last, so that a selection
    going on below is drawn past the end of the last line as a paint of the whole view
    draws it (an empty range if none)."""
    first: QTextBlock | None = None
    last: QTextBlock | None = None
    for block, _ in _blocks_in(edit, area.top(), area.bottom()):
        if first is None:
            first = block
        last = block
    if first is None or last is None:
        return 0, -1
    return first.position(), last.position() + last.length()


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
