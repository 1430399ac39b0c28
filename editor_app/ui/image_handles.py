"""Resize handles on a selected picture (issue 13), as Google Docs has them.

A picture is *selected* when the editor's text selection is exactly its one U+FFFC. A
click on a picture makes that selection, so Delete, Ctrl+C/X and typing act on the
picture as on a selected character, and Escape, a click elsewhere or any caret move
deselect it. There is no selection state of its own to keep in step: a collaborator's
edit moves the text selection, and with it the picture's frame.

The selected picture gets a frame and four corner handles, painted over the page by the
editor (:meth:`ImageResizer.paint`). Dragging a corner resizes the picture with its
aspect ratio kept: the width follows the mouse's horizontal move (the height follows the
width), an outline and the new size in pixels follow the mouse, and the release writes
Quill's ``width`` attribute onto the image embed, in CSS pixels at 100 % zoom, as a string
(docs/schema.md §2.4). ``height`` is written only when the embed already has one (then it
keeps the ratio): a stock Quill shows a picture with only a width at that width with its
ratio kept, also where its ``max-width: 100%`` makes it narrower, which a fixed height
would distort. The release is one Qt format change, which the binding sends as one CRDT
transaction, so one undo takes it back.

The size is kept between :data:`MIN_SIDE` px (its shorter side) and the page's text
column (and a page's height: a taller picture would be shown smaller than written).

Pressing on a picture's body (not a handle) and moving the mouse past
``QApplication.startDragDistance()`` drags the picture (Google Docs): a ``QDrag`` carrying
the editor's own mime data for the selection (:meth:`QPlainTextEdit.createMimeDataFromSelection`:
the picture with its ``width``/``height``/``alt``), a move by default and a copy with Ctrl
(Qt's keys). The drop is the editor's: in the same editor a move is
:meth:`~editor_app.ui.editor_widget.EditorWidget.move_image` (one CRDT transaction, one
undo step), anywhere else the picture is inserted as a copy and nothing is removed here.
:meth:`ImageResizer.dragged` names the picture while the drag runs, so the editor knows a
drop is its own picture's. A press and release without such a move only selects it.

Read-only (a viewer's link): no frame, no handles, no picture drag, clicks are Qt's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QDrag,
    QFont,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QTextCursor,
)
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from editor_app.core.offsets import EMBED_CHAR
from editor_app.qt import images

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CORNERS: tuple[Corner, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
#: The handles' side and how far from its centre a press still takes one (screen pixels,
#: whatever the zoom, as in Google Docs).
HANDLE_SIZE = 9.0
HANDLE_REACH = 7.0
#: The smallest a picture is made, in pixels at 100 %: its shorter side.
MIN_SIDE = 16
#: The frame's and handles' colour (Google Docs' selection blue).
FRAME_COLOR = "#1a73e8"
#: The picture that follows the pointer while a picture is dragged: at most this wide
#: (screen pixels) and this opaque, so the text under it stays readable.
DRAG_IMAGE_WIDTH = 240
DRAG_IMAGE_OPACITY = 0.6
_CURSORS: dict[Corner, Qt.CursorShape] = {
    "top-left": Qt.CursorShape.SizeFDiagCursor,
    "bottom-right": Qt.CursorShape.SizeFDiagCursor,
    "top-right": Qt.CursorShape.SizeBDiagCursor,
    "bottom-left": Qt.CursorShape.SizeBDiagCursor,
}


def handle_rects(frame: QRectF) -> dict[Corner, QRectF]:
    """The four handles of a picture shown at ``frame``, centred on its corners."""
    half = HANDLE_SIZE / 2
    points = {
        "top-left": frame.topLeft(),
        "top-right": frame.topRight(),
        "bottom-left": frame.bottomLeft(),
        "bottom-right": frame.bottomRight(),
    }
    return {
        corner: QRectF(points[corner].x() - half, points[corner].y() - half, 2 * half, 2 * half)
        for corner in CORNERS
    }


def corner_at(frame: QRectF, point: QPointF) -> Corner | None:
    """The handle of ``frame`` that a press at ``point`` takes (the nearest one in reach)."""
    best: tuple[float, Corner] | None = None
    for corner, rect in handle_rects(frame).items():
        centre = rect.center()
        dx, dy = abs(point.x() - centre.x()), abs(point.y() - centre.y())
        if dx <= HANDLE_REACH and dy <= HANDLE_REACH:
            distance = dx * dx + dy * dy
            if best is None or distance < best[0]:
                best = (distance, corner)
    return None if best is None else best[1]


def resized_width(
    start: QRectF, corner: Corner, dx: float, *, min_width: float, max_width: float
) -> float:
    """The width a picture shown at ``start`` gets when its ``corner`` handle is moved
    ``dx`` pixels to the right: the right-hand corners follow the mouse, the left-hand
    ones mirror it; kept within ``[min_width, max_width]`` (the maximum wins)."""
    width = start.width() + (dx if corner.endswith("right") else -dx)
    return max(min(width, max_width), min(min_width, max_width))


def outline(start: QRectF, corner: Corner, width: float) -> QRectF:
    """Where the picture shown at ``start`` would be at ``width`` (ratio kept), with the
    corner opposite the dragged one in place: the live outline of a drag."""
    height = width * start.height() / max(1.0, start.width())
    rect = QRectF(0, 0, width, height)
    if corner == "bottom-right":
        rect.moveTopLeft(start.topLeft())
    elif corner == "bottom-left":
        rect.moveTopRight(start.topRight())
    elif corner == "top-right":
        rect.moveBottomLeft(start.bottomLeft())
    else:
        rect.moveBottomRight(start.bottomRight())
    return rect


@dataclass
class _Drag:
    """A corner being dragged: the picture (a cursor selecting it, which Qt keeps on it
    while collaborators edit around it), where it was shown and where the press was."""

    picture: QTextCursor
    corner: Corner
    start: QRectF
    press: QPointF
    width: float  # the outline's width now (view pixels)


@dataclass
class _Press:
    """A press on a picture's body (not a handle): moving past the drag distance with
    the button down drags the picture (once per press)."""

    picture: QTextCursor
    point: QPointF


def selecting(edit: QPlainTextEdit, pos: int) -> QTextCursor:
    """A cursor selecting the one character at ``pos`` (Qt keeps it on that character
    while collaborators edit around it)."""
    cursor = QTextCursor(edit.document())
    cursor.setPosition(pos)
    cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
    return cursor


class ImageResizer(QObject):
    """The picture handles of one editor: hit tests, the drag, painting, the write.

    ``handler`` is the editor's :class:`~editor_app.qt.images.ImageObjectHandler`: it
    sizes every picture (its zoom, the text column, a page's height), so the frame drawn
    here is exactly the picture Qt drew.
    """

    def __init__(
        self,
        edit: QPlainTextEdit,
        handler: images.ImageObjectHandler,
        separate_undo_step: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(edit)
        self._edit = edit
        self._handler = handler
        #: Called before and after a resize is written: it is an undo step of its own,
        #: never joined with typing just before or after it.
        self._separate = separate_undo_step
        self._drag: _Drag | None = None
        self._swallow = False  # the press selected a picture: its move and release are ours
        self._press: _Press | None = None  # the press on a picture body, until it drags
        self._moving: QTextCursor | None = None  # the picture while its QDrag runs
        self._hover: Corner | None = None
        self._painted = QRectF()  # what the last paint covered (frame, handles, outline)
        self._rest: QCursor | None = None  # the pointer's shape off the handles
        self._palette: QPalette | None = None  # the editor's, while a picture is selected

    # ------------------------------------------------------------------ queries

    def image_at(self, point: QPointF) -> int | None:
        """The position of the picture drawn under viewport ``point``, if any."""
        around = self._edit.cursorForPosition(point.toPoint()).position()
        for pos in (around - 1, around):
            rect = self.image_rect(pos)
            if rect is not None and rect.contains(point):
                return pos
        return None

    def image_rect(self, pos: int) -> QRectF | None:
        """Where the picture at document position ``pos`` is drawn (viewport pixels), or
        None when ``pos`` holds no picture or is not laid out. Computed as Qt draws an
        inline object: on its line's baseline, at the x of its position, at the size the
        image handler gives it."""
        edit = self._edit
        doc = edit.document()
        if not 0 <= pos < doc.characterCount() - 1 or doc.characterAt(pos) != EMBED_CHAR:
            return None
        cursor = QTextCursor(doc)
        cursor.setPosition(pos + 1)
        fmt = cursor.charFormat()  # the format of the character before: the picture
        block = doc.findBlock(pos)
        layout = block.layout()
        if not fmt.isImageFormat() or layout is None or layout.lineCount() == 0:
            return None
        line = layout.lineForTextPosition(pos - block.position())
        if not line.isValid():
            return None
        origin = edit.blockBoundingGeometry(block).translated(edit.contentOffset()).topLeft()
        origin += layout.position()
        x, _ = cast(tuple[float, int], line.cursorToX(pos - block.position()))
        x += origin.x()
        baseline = origin.y() + line.y() + line.ascent()
        size = self._handler.intrinsicSize(doc, pos, fmt)
        return QRectF(x, baseline - size.height(), size.width(), size.height())

    def selected(self) -> int | None:
        """The position of the selected picture: the selection is exactly one picture."""
        cursor = self._edit.textCursor()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        if end - start != 1 or self.image_rect(start) is None:
            return None
        return start

    def handles(self) -> dict[Corner, QRectF]:
        """The handles of the selected picture (viewport pixels); none when no picture
        is selected or the document is read-only."""
        if self._edit.isReadOnly():
            return {}
        pos = self.selected()
        rect = self.image_rect(pos) if pos is not None else None
        return handle_rects(rect) if rect is not None else {}

    def outline(self) -> QRectF | None:
        """The picture's new size while a corner is dragged (viewport pixels)."""
        drag = self._drag
        return None if drag is None else outline(drag.start, drag.corner, drag.width)

    def dragging(self) -> bool:
        """True while this editor's picture drag runs (Qt's drag loop)."""
        return self._moving is not None

    def dragged(self) -> int | None:
        """The position of the picture this editor is dragging (its ``QDrag`` runs), or
        None: no such drag, or a collaborator deleted the picture meanwhile."""
        moving = self._moving
        if moving is None or moving.selectionEnd() - moving.selectionStart() != 1:
            return None
        pos = moving.selectionStart()
        return pos if self._edit.document().characterAt(pos) == EMBED_CHAR else None

    # ------------------------------------------------------------------ mouse

    def press(self, point: QPointF) -> bool:
        """A left press at viewport ``point``; True when it is the pictures' (a handle of
        the selected one, or a picture, which it selects)."""
        self._swallow = False
        self._press = None
        if self._edit.isReadOnly():
            return False
        pos = self.selected()
        frame = self.image_rect(pos) if pos is not None else None
        if pos is not None and frame is not None:
            corner = corner_at(frame, point)
            if corner is not None:
                picture = selecting(self._edit, pos)
                self._drag = _Drag(picture, corner, QRectF(frame), QPointF(point), frame.width())
                self._point(corner)
                self._update()
                return True
            if frame.contains(point):
                self._swallow = True  # it stays selected (no caret placed in it)
                self._press = _Press(selecting(self._edit, pos), QPointF(point))
                return True
        hit = self.image_at(point)
        if hit is None:
            return False
        cursor = self._edit.textCursor()
        cursor.setPosition(hit)
        cursor.setPosition(hit + 1, QTextCursor.MoveMode.KeepAnchor)
        self._edit.setTextCursor(cursor)
        self._swallow = True
        self._press = _Press(selecting(self._edit, hit), QPointF(point))
        self.refresh()
        return True

    def move(self, point: QPointF, left_down: bool) -> bool:
        """A mouse move; True when it is the pictures' (a corner dragged, or a move after
        a press on a picture, which past the drag distance drags the picture: this call
        then returns only once the drop is done). Without a button down it sets the
        pointer's shape over a handle."""
        drag = self._drag
        if drag is not None:
            self._update()
            drag.width = resized_width(
                drag.start,
                drag.corner,
                point.x() - drag.press.x(),
                min_width=self._min_width(drag.start),
                max_width=self._max_width(drag.start),
            )
            self._update()
            return True
        if self._swallow and left_down:
            press = self._press
            distance = (point - press.point).manhattanLength() if press is not None else 0.0
            if press is not None and distance >= QApplication.startDragDistance():
                self._press = None  # one drag per press, even a cancelled one
                self._drag_picture(press)
            return True
        corner = None
        if not left_down and not self._edit.isReadOnly():
            pos = self.selected()
            frame = self.image_rect(pos) if pos is not None else None
            corner = corner_at(frame, point) if frame is not None else None
        if corner != self._hover:
            self._hover = corner
            self._point(corner)
        return False

    def release(self) -> bool:
        """The left button went up; True when the press was the pictures'. The end of a
        drag writes the new size."""
        drag, self._drag = self._drag, None
        swallowed, self._swallow = self._swallow, False
        self._press = None
        if drag is None:
            return swallowed
        self._update()
        self._hover = None
        self._point(None)
        if abs(drag.width - drag.start.width()) >= 0.5 and not self._edit.isReadOnly():
            self._write(drag)
        return True

    def cancel(self) -> bool:
        """Escape: a drag is dropped (nothing written); else a selected picture is
        deselected, the caret after it. True when there was either."""
        if self._drag is not None:
            self._drag = None
            self._update()
            self._hover = None
            self._point(None)
            return True
        pos = self.selected()
        if pos is None or self._edit.isReadOnly():
            return False
        cursor = self._edit.textCursor()
        cursor.setPosition(pos + 1)
        self._edit.setTextCursor(cursor)
        return True

    # ------------------------------------------------------------------ moving

    def _drag_picture(self, press: _Press) -> None:
        """Drag the pressed picture: a ``QDrag`` with the editor's mime data for it (the
        picture with its attributes, for this editor, other Coscribe windows and other
        programs), a move unless Ctrl makes it a copy. Runs Qt's drag loop; the drop is
        handled by whoever receives it (this editor: :meth:`dragged` tells it the
        picture is its own). Nothing is removed here whatever the outcome: a drop
        elsewhere is a copy."""
        pos = press.picture.selectionStart()
        if (
            self._edit.isReadOnly()
            or press.picture.selectionEnd() - pos != 1
            or self.selected() != pos  # a collaborator's edit moved the selection off it
        ):
            return
        frame = self.image_rect(pos)
        mime = self._edit.createMimeDataFromSelection()
        drag = QDrag(self._edit)
        drag.setMimeData(mime)
        if frame is not None:
            pixmap, hot_spot = self._drag_image(pos, frame, press.point)
            if pixmap is not None:
                drag.setPixmap(pixmap)
                drag.setHotSpot(hot_spot)
        self._moving = press.picture
        try:
            drag.exec(Qt.DropAction.MoveAction | Qt.DropAction.CopyAction, Qt.DropAction.MoveAction)
        finally:
            self._moving = None
            self.refresh()

    def _drag_image(self, pos: int, frame: QRectF, press: QPointF) -> tuple[QPixmap | None, QPoint]:
        """The half-transparent picture that follows the pointer, at most
        :data:`DRAG_IMAGE_WIDTH` wide, and where the pointer holds it (where it was
        pressed)."""
        fmt = selecting(self._edit, pos).charFormat()
        image = images.picture(self._edit.document(), fmt)
        if image is None or frame.isEmpty():
            return None, QPoint()
        scale = min(1.0, DRAG_IMAGE_WIDTH / frame.width())
        width = max(1, round(frame.width() * scale))
        height = max(1, round(frame.height() * scale))
        pixmap = QPixmap(width, height)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        try:
            painter.setOpacity(DRAG_IMAGE_OPACITY)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(0, 0, width, height), image)
        finally:
            painter.end()
        hot = (press - frame.topLeft()) * scale
        return pixmap, QPoint(
            min(max(0, round(hot.x())), width - 1), min(max(0, round(hot.y())), height - 1)
        )

    # ------------------------------------------------------------------ the write

    def _write(self, drag: _Drag) -> None:
        """Quill's attributes for the new size onto the picture, as one Qt format change
        (one CRDT transaction, one undo step). The view's pixels are divided by the zoom:
        the document holds the size at 100 %."""
        doc = self._edit.document()
        start, end = drag.picture.selectionStart(), drag.picture.selectionEnd()
        if end - start != 1 or doc.characterAt(start) != EMBED_CHAR:
            return  # a collaborator deleted it meanwhile
        fmt = drag.picture.charFormat()  # the format of the character before its end
        if not fmt.isImageFormat():
            return
        scale = self._handler.scale or 1.0
        width = max(1, round(drag.width / scale))
        attrs: dict[str, object] = {"width": str(width)}
        if "height" in images.image_attrs(fmt):
            height = drag.width * drag.start.height() / max(1.0, drag.start.width())
            attrs["height"] = str(max(1, round(height / scale)))
        if self._separate is not None:
            self._separate()
        images.restyle_images(doc, start, end, attrs)
        if self._separate is not None:
            self._separate()

    def _min_width(self, start: QRectF) -> float:
        """The narrowest a picture is made: its shorter side :data:`MIN_SIDE` px at 100 %."""
        ratio = start.width() / max(1.0, start.height())
        side = MIN_SIDE * (self._handler.scale or 1.0)
        return max(side, side * ratio)

    def _max_width(self, start: QRectF) -> float:
        """The widest: the text column, and no taller than a page's text (what the image
        handler would show it at anyway)."""
        widest = self._handler.width_source()
        tallest = self._handler.max_height * self._handler.scale
        if tallest > 0:
            widest = min(widest, tallest * start.width() / max(1.0, start.height()))
        return max(1.0, widest)

    # ------------------------------------------------------------------ painting

    def paint(self, painter: QPainter) -> None:
        """The selected picture's frame and handles, and a drag's outline with the size
        it would write, over the page (viewport coordinates)."""
        covered = QRectF()
        handles = self.handles()
        pos = self.selected() if handles else None
        frame = self.image_rect(pos) if pos is not None else None
        color = QColor(FRAME_COLOR)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if frame is not None:
            painter.setPen(QPen(color, 1.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(frame.adjusted(0, 0, -1, -1))
            covered = covered.united(frame)
        for rect in handles.values():
            painter.setPen(QPen(QColor("white"), 1.0))
            painter.setBrush(color)
            painter.drawRect(rect)
            covered = covered.united(rect)
        shape = self.outline()
        if shape is not None and self._drag is not None:
            painter.setPen(QPen(color, 1.0, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(shape.adjusted(0, 0, -1, -1))
            label = self._size_label(self._drag)
            font = QFont(self._edit.font())
            font.setPixelSize(12)
            painter.setFont(font)
            box = painter.fontMetrics().boundingRect(label).adjusted(-4, -2, 4, 2)
            box.moveTopLeft(shape.bottomLeft().toPoint() + QPointF(0, 4).toPoint())
            painter.fillRect(box, color)
            painter.setPen(QColor("white"))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), label)
            covered = covered.united(shape).united(QRectF(box))
        painter.restore()
        if covered != self._painted:
            stale, self._painted = self._painted, covered
            if not stale.isEmpty():  # handles drawn outside what Qt repaints now
                self._edit.viewport().update(stale.toAlignedRect().adjusted(-2, -2, 2, 2))

    def _size_label(self, drag: _Drag) -> str:
        scale = self._handler.scale or 1.0
        height = drag.width * drag.start.height() / max(1.0, drag.start.width())
        return f"{round(drag.width / scale)} × {round(height / scale)}"

    def refresh(self) -> None:
        """The selection, the document or read-only changed: repaint where the handles
        were and where they are now (they reach outside the picture, where Qt does not
        repaint), with Qt's selection colour off only while a picture is selected."""
        self._update()
        pos = self.selected()
        rect = self.image_rect(pos) if pos is not None and not self._edit.isReadOnly() else None
        self._show_selection(rect is None)
        if rect is not None:
            self._edit.viewport().update(rect.toAlignedRect().adjusted(-8, -8, 8, 8))

    def _show_selection(self, show: bool) -> None:
        """Qt's selection colour on (or off while a picture is selected: Qt would tint
        the picture half blue and fill the line below it; the frame says it instead).
        Off is a highlight brush of no style, which Qt's layout then does not paint."""
        if show == (self._palette is None):
            return
        if show and self._palette is not None:
            self._edit.setPalette(self._palette)
            self._palette = None
            return
        self._palette = QPalette(self._edit.palette())
        plain = QPalette(self._palette)
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            plain.setBrush(group, QPalette.ColorRole.Highlight, QBrush())
        self._edit.setPalette(plain)

    def _update(self) -> None:
        """Repaint what the last paint covered, and a drag's outline and label."""
        viewport = self._edit.viewport()
        if not self._painted.isEmpty():
            viewport.update(self._painted.toAlignedRect().adjusted(-2, -2, 2, 2))
        shape = self.outline()
        if shape is not None:
            viewport.update(shape.toAlignedRect().adjusted(-2, -2, 120, 40))

    def _point(self, corner: Corner | None) -> None:
        """The pointer's shape: a diagonal resize arrow over a handle (and while one is
        dragged), else whatever the viewport had before (Qt's text beam)."""
        viewport = self._edit.viewport()
        if corner is not None:
            if self._rest is None:
                self._rest = viewport.cursor()
            viewport.setCursor(_CURSORS[corner])
        elif self._rest is not None:
            viewport.setCursor(self._rest)
            self._rest = None
