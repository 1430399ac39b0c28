"""EditorWidget: the rich-text editing surface, bound to a DocumentModel.

Everything the user does here is an ordinary QTextDocument edit; :class:`QtTextBinding`
turns it into CRDT changes. Formatting actions therefore only change Qt formats (through
:mod:`editor_app.qt.formats`, the same code that displays remote formatting), and the binding
reports them as Quill attributes. Undo/redo keys go to the model's CRDT undo manager (the
QTextDocument's own undo stack is switched off, so there is exactly one undo system).

Paste keeps formats, but only those with a Quill attribute: a selection copied in this
program is inserted as its own Qt fragment (every format, its pictures); HTML copied in
another program (a browser, Google Docs, LibreOffice, Word) goes through
:mod:`editor_app.qt.html_paste`, which maps it onto Quill attributes and builds what is
inserted with the functions that show a collaborator's formats, because Qt's own HTML
paste brings tables, frames, fonts and sizes that have no Quill attribute and would never
reach collaborators. Ctrl+Shift+V pastes plain text. Pictures: an image on the clipboard,
image files dropped on the page and *Insert ▸ Image…* all go
through :func:`editor_app.qt.images.prepare_bytes` (the size rules of
:mod:`editor_app.core.images`) and become one image embed; text copied in the editor
carries its images in a private clipboard format, so copy, paste and drag keep them.
A click on a picture selects it, with corner handles that resize it
(:mod:`editor_app.ui.image_handles`); dragging its body moves it (:meth:`EditorWidget.move_image`,
one CRDT transaction and one undo step) or, with Ctrl or into another window, copies it.

Why a ``QPlainTextEdit`` and not a ``QTextEdit``: the rich-text ``QTextDocumentLayout``
re-walks every block from the edited one to the end of the document on EVERY change once
the layout is complete (``layoutFlow`` has no early exit; each untouched block is
re-positioned, ~0.3 us per line), so one keystroke on a 13,000-line document cost 2.5-5 ms
plus as much again in the repaint. ``QPlainTextDocumentLayout`` relayouts only the changed
blocks (~0.035 ms, independent of document size). It draws character formats (bold,
italic, underline, strike, link colour, heading sizes) exactly like the rich layout, but
ignores block indentation and list markers, so the widget paints list bullets/numbers
itself in a left gutter (:func:`paint_list_markers`). The document (blocks, ``QTextList``
membership, formats) is the same, so the binding and the Quill mapping are unchanged.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QRegion,
    QTextBlockFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QMenu, QPlainTextEdit, QWidget

from editor_app.core.autolink import address_at_end, addresses_in, openable
from editor_app.core.flags import FlagClock
from editor_app.core.images import ImageRefused, PreparedImage
from editor_app.core.offsets import EMBED_CHAR, utf16_len
from editor_app.core.presence import Collaborator, PresenceTracker
from editor_app.core.schema import INLINE_ATTRS, MAX_INDENT
from editor_app.core.text_ops import Op, transform_position
from editor_app.qt import formats, html_paste, images, walk
from editor_app.qt.binding import QtTextBinding
from editor_app.qt.document_model import DocumentModel
from editor_app.qt.formats import Attrs
from editor_app.qt.timers import single_shot
from editor_app.ui.image_handles import Corner, ImageResizer
from editor_app.ui.link_card import LinkCard
from editor_app.ui.page_layout import PageLayout, is_phantom
from editor_app.ui.pagination import print_geometry
from editor_app.ui.remote_cursors import (
    Flag,
    caret_rect,
    checkbox_rect,
    flag_rects,
    paint_collaborators,
    paint_list_markers,
)
from editor_app.ui.spell_highlighter import SpellHighlighter, Spelling, shared_spelling

_UNDO_KEYS = (QKeySequence.StandardKey.Undo,)
#: Document margin in pixels: the left part holds list bullets and numbers.
LIST_GUTTER = 28.0
_REDO_KEYS = (QKeySequence.StandardKey.Redo,)
BODY_POINT_SIZE = 11.0
ZOOM_MIN, ZOOM_MAX, ZOOM_STEP = 50, 200, 10
BODY_FAMILIES = ("Arial", "Liberation Sans", "Noto Sans", "Open Sans", "DejaVu Sans")
#: Seconds between repaints of a fading name flag.
FADE_FRAME = 0.04
#: The desk between sheets and the sheets' edge, light and dark (as the window's desk).
DESK_COLORS = {False: ("#f1f3f4", "#dadce0"), True: ("#1f1f1f", "#3c4043")}
#: Events after which what the user changed is sent at once (``DocumentModel.inputHandled``).
_INPUT_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.InputMethod})
#: Keys by which Qt takes a line out of its list (see EditorWidget.keyPressEvent).
_LIST_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Backspace})
#: What typed at the start of a line and then a space makes the line a list item, the
#: marker going away (Google Docs' automatic lists; Quill's "list autofill" keys).
LIST_PREFIXES = {
    "*": "bullet",
    "-": "bullet",
    "1.": "ordered",
    "1)": "ordered",
    "[]": "unchecked",
    "[ ]": "unchecked",
    "[x]": "checked",
}
#: The clipboard format that carries the images of text copied in the editor: JSON
#: ``{"text": the copied text, "images": [[url, attributes] or null per U+FFFC]}``.
EMBEDS_MIME = "application/x-coscribe-embeds"
#: The clipboard format that names a selection copied in this program (a random token):
#: its exact Qt fragment is kept in ``EditorWidget._copied`` for the paste.
COPY_MIME = "application/x-coscribe-copy"
#: File name endings a dropped file is read as a picture for.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})


def body_font(point_size: float = BODY_POINT_SIZE) -> QFont:
    """The body text font: the first clean sans family installed, at ``point_size``."""
    installed = set(QFontDatabase.families())
    font = QFont()
    for family in BODY_FAMILIES:
        if family in installed:
            font.setFamily(family)
            break
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPointSizeF(point_size)
    return font


#: Quill's line formats: a line is at most one of them (one block blot per line).
LINE_KINDS = ("header", "list", "blockquote", "code-block")


def _line_kind(key: str, value: object) -> Attrs:
    """Block attributes that make the lines ``key`` = ``value``: turning one of
    :data:`LINE_KINDS` on turns the others off, as Quill does (a web Quill shows one)."""
    if not value:
        return {key: None}
    return {**dict.fromkeys(LINE_KINDS), key: value}


class _Input(enum.Enum):
    """Where the sending of a key's changes is (see ``EditorWidget._input_committed``)."""

    NOTHING_SENT = enum.auto()
    SENT = enum.auto()
    MORE_TO_SEND = enum.auto()


class EditorWidget(QPlainTextEdit):
    """A QPlainTextEdit bound to ``model`` that paints collaborators' cursors.

    Signals:
        formatChanged(dict): Quill attributes at the cursor (inline + block), for toolbar
            check states; emitted only when they change.
        pageChanged(int, int): the page holding the caret and the number of pages
            ("Page 2 of 5"); emitted only when either changes.
        pagelessChanged(bool): the view was switched to one continuous sheet or back.
        linkRequested(str): the user asked to open a link (Ctrl+click, or its address on
            the link card); only web and mail addresses (``autolink.openable``).
        linkEditRequested(): Edit on the link card (the window asks for the address).
    """

    #: The last selection copied or cut in this program: (token, Qt fragment); see
    #: :meth:`createMimeDataFromSelection`. One per program, as the clipboard is.
    _copied: tuple[str, QTextDocumentFragment, weakref.ref[EditorWidget]] | None = None

    formatChanged = Signal(dict)
    #: A picture could not be inserted (pasted or dropped); the sentence says why.
    imageRefused = Signal(str)
    zoomChanged = Signal(int)
    paintFormatChanged = Signal(bool)
    pageChanged = Signal(int, int)
    pagelessChanged = Signal(bool)
    linkRequested = Signal(str)
    linkEditRequested = Signal()

    def __init__(
        self,
        model: DocumentModel,
        parent: QWidget | None = None,
        *,
        spelling: Spelling | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        document = QTextDocument(self)
        self.page_layout = PageLayout(document)
        document.setDocumentLayout(self.page_layout)
        # The plain-text layout has no image handler: pictures are sized and drawn by ours.
        self.images = images.ImageObjectHandler.install(self.page_layout)
        self.images.width_source = self._image_width
        self.setDocument(document)
        # A clicked picture is selected, with corner handles to resize it (Google Docs).
        self._resizer = ImageResizer(self, self.images, model.separate_undo_step)
        # A page that reads like a document: 11 pt of a clean sans font (Google Docs: Arial).
        self.setFont(body_font())
        self.page_layout.set_base_font_height(QFontMetricsF(self.font()).height())
        self._zoom = 100
        self._reveal_caret = False
        self._paint_format: dict[str, Attrs] | None = None
        self._copied_format: dict[str, Attrs] | None = None  # Ctrl+Alt+C, for Ctrl+Alt+V
        self._pointing = False  # the pointing hand shown over a link (Ctrl held)
        self.setUndoRedoEnabled(False)
        # Room on the left for list markers (the plain-text layout has no block indent).
        self.document().setDocumentMargin(LIST_GUTTER)
        # Around the binding's own listener: my caret before a collaborator's change, and
        # where it belongs after it (see _keep_caret).
        self._caret_before: tuple[int, int] | None = None
        model.add_ops_listener(self._remember_caret)
        # Spell check as you type, attached before the load so that the load is checked
        # in its own edit (spelling's default: the application's, shared_spelling()).
        spelling = spelling if spelling is not None else shared_spelling()
        self.spell: SpellHighlighter | None = None
        if spelling.checker is not None:
            self.spell = SpellHighlighter(self, self.page_layout, spelling)
        self._binding = QtTextBinding(self.document(), model)
        # A key's first edit is sent as soon as it is in the CRDT, before Qt lays it out
        # and repaints (DocumentModel.inputHandled); what else the key changed (a second
        # edit, an undo) when the key is done. None: no input is being handled.
        self._input_state: _Input | None = None
        self._binding.localEditSent.connect(self._input_committed)
        if self.spell is not None:
            self.spell.check_after_others()
            self.spell.follow_caret(lambda: self._binding.applying_remote)
        # After the initial load (which would relayout every block): an edited block gets
        # the page layout right away, painted in the same paint as Qt's update.
        self.page_layout.updateBlock.connect(self.page_layout.relayout_edited)
        # Pages: the sheets Print uses (placed when the view knows its geometry), the
        # desk painted between them, and "Page 2 of 5" for the status bar.
        self._page_key: tuple[int, int, bool] | None = None
        self._pageless = False
        self._repaint_all = single_shot(self, self.viewport().update)
        self._page_status = (1, 1)
        self._desk_rows: list[tuple[float, float]] = []
        self.page_layout.paginated.connect(self._report_pages)
        # The end of the document in reach and the caret in view with the page layout's
        # heights (Qt measures with its own, see _extend_scroll_range and _follow_caret).
        self.verticalScrollBar().rangeChanged.connect(self._extend_scroll_range)
        self.page_layout.reflowed.connect(self._follow_caret)
        self.verticalScrollBar().actionTriggered.connect(self.scrolled_by_user)
        self._following = False  # the caret was scrolled into view, and the user stayed
        # The load left the caret at the end: out of the block after a final newline,
        # without scrolling there (the view opens at the top).
        self._keep_out_of_phantom()
        self.verticalScrollBar().setValue(0)
        model.add_ops_listener(self._keep_caret)
        self._last_format: Attrs | None = None
        self._formatting = False  # inside _format_step
        self.setReadOnly(model.read_only)
        model.readOnlyChanged.connect(self.setReadOnly)
        model.readOnlyChanged.connect(lambda _ro: self._resizer.refresh())  # no handles
        # Collaborators' name flags (Google Docs style): shown while that person is active
        # or hovered, then faded out; repainted wherever they were and are, so none is
        # left behind when a partial repaint (a keystroke) moves a caret.
        self._flag_clock = FlagClock()
        self._flags: list[Flag] = []
        #: Where the last paint drew collaborators' carets and flags (None: a selection
        #: too, or not painted yet), for :meth:`_presence_changed` to repaint only those.
        self._presence_painted: list[QRect] | None = None
        self._hovered: int | None = None
        self._remote_edits: list[tuple[int, int]] = []
        # Collaborators with their cursors resolved, for the presence they were resolved
        # from: every paint draws them, and resolving is not free (exact Yjs positions),
        # while they only change with the text or someone's presence (both forget them).
        self._people_cache: tuple[PresenceTracker, list[Collaborator]] | None = None
        self._flag_timer = single_shot(self, self._flags_tick)
        self._flag_refresh = single_shot(self, self._refresh_flags)
        self.viewport().setMouseTracking(True)
        model.remotePresenceChanged.connect(self._presence_changed)
        self.document().contentsChange.connect(self._text_changed)
        self.cursorPositionChanged.connect(self._cursor_moved)
        self.selectionChanged.connect(self._cursor_moved)
        # No full-viewport repaint per change: Qt repaints the changed block (the whole
        # viewport when line heights or the line count change), and paintEvent redraws every
        # collaborator's caret and label inside whatever region is repainted.
        # Presence is reported once the event loop is back, never from inside a CRDT
        # observer (a remote edit moves our cursor while its transaction is still open).
        self._presence_timer = single_shot(self, self._report_selection)
        # The card under a link the caret is in (after the key: not on its way out).
        self.link_card = LinkCard(self.viewport())
        self.link_card.openRequested.connect(self._request_link)
        self.link_card.removeRequested.connect(self._remove_link_here)
        self.link_card.editRequested.connect(self.linkEditRequested)
        self._link_timer = single_shot(self, self._refresh_link_card)
        self.verticalScrollBar().valueChanged.connect(self._link_timer.start)

    @property
    def model(self) -> DocumentModel:
        return self._model

    @property
    def binding(self) -> QtTextBinding:
        return self._binding

    # ------------------------------------------------------------------ formatting

    def current_format(self) -> Attrs:
        """Quill attributes at the cursor: inline from the typing format, block from the line."""
        attrs = formats.inline_attrs(self.currentCharFormat())
        attrs.update(formats.block_attrs(self.textCursor().block()))
        return attrs

    def toggle_bold(self) -> None:
        self._toggle_inline("bold")

    def toggle_italic(self) -> None:
        self._toggle_inline("italic")

    def toggle_underline(self) -> None:
        self._toggle_inline("underline")

    def toggle_strike(self) -> None:
        self._toggle_inline("strike")

    def set_link(self, url: str | None) -> None:
        """Link the selection to ``url`` (None/empty removes links from it). Without a
        selection it acts on the link the caret is in (changed or removed, as Google
        Docs' link card does), or, outside any link, types ``url`` there as a link."""
        if self.isReadOnly():
            return
        cursor = self.textCursor()
        if not cursor.hasSelection():
            cursor = self._link_around(cursor)
        if not cursor.hasSelection():
            if url:
                self._insert_link(url)
            return
        self._set_inline(cursor, {"link": url or None})

    def _insert_link(self, url: str) -> None:
        """Type ``url`` at the caret as a link (one undo step), the caret after it with
        the typing format it had (what is typed next is not linked)."""
        cursor = self.textCursor()
        before = self.currentCharFormat()
        start = cursor.position()
        with self._format_step((start, start)):
            cursor.insertText(url)
            linked = QTextCursor(self.document())
            linked.setPosition(start)
            linked.setPosition(cursor.position(), QTextCursor.MoveMode.KeepAnchor)
            self._set_inline(linked, {"link": url})
        self.setCurrentCharFormat(before)

    def set_heading(self, level: int | None) -> None:
        """Make the selected lines headings of ``level`` (1-6), or normal text (None)."""
        if level is not None and level not in formats.HEADING_SCALE:
            raise ValueError(f"heading level must be 1-6 or None, not {level}")
        self._set_blocks(_line_kind("header", level))

    def toggle_list(self, kind: str) -> None:
        """Turn the selected lines into a list of ``kind`` (``"bullet"``, ``"ordered"``, or
        ``"unchecked"`` for a checklist), or back to paragraphs if they all are one already."""
        if kind not in ("bullet", "ordered", "unchecked", "checked"):
            raise ValueError(f"not a list kind: {kind!r}")
        group = {"checked": "unchecked"}.get(kind, kind)
        blocks = self._selected_blocks()
        kinds = [formats.block_list_kind(b) for b in blocks]
        every = all({"checked": "unchecked"}.get(k or "", k) == group for k in kinds)
        self._set_blocks(_line_kind("list", None if every else kind))

    def toggle_checked(self, block_number: int) -> None:
        """Tick or untick the checklist item on line ``block_number`` (a click on its box)."""
        block = self.document().findBlockByNumber(block_number)
        kind = formats.block_list_kind(block)
        if self.isReadOnly() or kind not in ("checked", "unchecked"):
            return
        edit = QTextCursor(self.document())
        with self._format_step((block.position(), block.position())):
            edit.beginEditBlock()
            new = "unchecked" if kind == "checked" else "checked"
            formats.set_block_attrs(self.document(), block, {"list": new})
            edit.endEditBlock()
        self._emit_format()

    def set_align(self, align: str | None) -> None:
        """Align the selected lines: ``"center"``, ``"right"``, ``"justify"`` or left (None)."""
        if align not in (None, "center", "right", "justify"):
            raise ValueError(f"not an alignment: {align!r}")
        self._set_blocks({"align": align})

    def toggle_direction(self) -> None:
        """Make the selected lines right-to-left (Hebrew, Arabic: Quill's ``direction``
        ``"rtl"``), or left-to-right again if they all are."""
        every = all(formats.block_attrs(b).get("direction") for b in self._selected_blocks())
        self._set_blocks({"direction": None if every else "rtl"})

    def change_indent(self, step: int) -> None:
        """Indent the selected lines one level more (+1) or less (-1), 0-8 as in Quill."""
        if self.isReadOnly():
            return
        doc = self.document()
        edit = QTextCursor(doc)
        with self._format_step():
            edit.beginEditBlock()
            for block in self._selected_blocks():
                level = int(formats.block_attrs(block).get("indent", 0)) + step
                level = max(0, min(MAX_INDENT, level))
                if doc.lastBlock() == block and level:
                    self._append_empty_line()
                    block = doc.findBlock(block.position())
                formats.set_block_attrs(doc, block, {"indent": level or None})
            edit.endEditBlock()
        self._emit_format()

    def toggle_block(self, key: str) -> None:
        """Toggle ``"blockquote"`` or ``"code-block"`` on the selected lines."""
        if key not in ("blockquote", "code-block"):
            raise ValueError(f"not a block toggle: {key!r}")
        every = all(formats.block_attrs(b).get(key) for b in self._selected_blocks())
        if every or key != "code-block":
            self._set_blocks(_line_kind(key, None if every else True))
            return
        # A code block holds plain text (Quill's): the lines' inline formats go first.
        blocks = self._selected_blocks()
        lines = QTextCursor(self.document())
        lines.setPosition(blocks[0].position())
        lines.setPosition(
            blocks[-1].position() + blocks[-1].length() - 1, QTextCursor.MoveMode.KeepAnchor
        )
        with self._format_step((lines.selectionStart(), lines.selectionEnd())):
            self._set_inline(lines, dict.fromkeys(INLINE_ATTRS))
            self._set_blocks(_line_kind(key, True))

    def toggle_code(self) -> None:
        self._toggle_inline("code")

    def toggle_script(self, script: str) -> None:
        """Superscript (``"super"``) or subscript (``"sub"``) on/off (Ctrl+. / Ctrl+,)."""
        if script not in ("super", "sub"):
            raise ValueError(f"not a script: {script!r}")
        on = self.current_format().get("script") != script
        cursor = self.textCursor()
        if cursor.hasSelection():
            on = not self._all_have(cursor, "script", script)
        self.set_inline("script", script if on else None)

    def step_size(self, step: int) -> None:
        """One text size up (+1) or down (-1) from the size at the cursor, among Quill's
        small, normal, large and huge (Google Docs' Ctrl+Shift+> and Ctrl+Shift+<)."""
        sizes: list[str | None] = ["small", None, "large", "huge"]
        current = self.current_format().get("size")
        index = sizes.index(current) if current in sizes else 1
        self.set_inline("size", sizes[max(0, min(len(sizes) - 1, index + step))])

    def set_inline(self, key: str, value: object) -> None:
        """Set inline attribute ``key`` (font, size, color, background, ...) to ``value``
        (None removes it) on the selection, or for what is typed next (not in a code
        block: its text is plain, as Quill's)."""
        if self.isReadOnly() or self._typing_in_code():
            self._emit_format()
            return
        cursor = self.textCursor()
        if cursor.hasSelection():
            self._set_inline(cursor, {key: value})
            return
        fmt = formats.merge_inline(
            self.currentCharFormat(),
            {key: value},
            formats.style_level(cursor.block()),
            formats.base_point_size(self.document()),
        )
        self.setCurrentCharFormat(fmt)
        self._emit_format()

    def start_paint_format(self) -> None:
        """Paint format (Google Docs' roller): remember the formats at the caret; the next
        selection made with the mouse gets them (:meth:`apply_paint_format`)."""
        self._paint_format = self._formats_here()
        self.paintFormatChanged.emit(True)

    def copy_format(self) -> None:
        """Copy formatting (Google Docs' Ctrl+Alt+C): remember the formats at the caret
        for :meth:`paste_format`, until they are copied again."""
        self._copied_format = self._formats_here()

    def paste_format(self) -> bool:
        """Paste formatting (Ctrl+Alt+V): give the selection the copied formats, in one
        undo step; False if none were copied or nothing is selected."""
        return self._give_formats(self._copied_format)

    def _formats_here(self) -> dict[str, Attrs]:
        """The formats paint format and copy formatting carry: every inline one at the
        caret, and the line's heading and alignment."""
        attrs = self.current_format()
        return {
            "inline": {k: attrs.get(k) for k in INLINE_ATTRS},
            "block": {k: attrs.get(k) for k in ("header", "align")},
        }

    def _give_formats(self, formats_: dict[str, Attrs] | None) -> bool:
        cursor = self.textCursor()
        if formats_ is None or not cursor.hasSelection() or self.isReadOnly():
            return False
        with self._format_step():  # both parts: one undo step
            self._set_inline(cursor, dict(formats_["inline"]))
            self._set_blocks(dict(formats_["block"]))
        return True

    def cancel_paint_format(self) -> None:
        if self._paint_format is not None:
            self._paint_format = None
            self.paintFormatChanged.emit(False)

    @property
    def painting_format(self) -> bool:
        return self._paint_format is not None

    def apply_paint_format(self) -> bool:
        """Give the selection the remembered formats (once); False if there is nothing to
        paint or no selection."""
        if not self._give_formats(self._paint_format):
            return False
        self.cancel_paint_format()
        return True

    def context_menu(self, point: QPoint) -> QMenu:
        """The right-click menu at viewport ``point``: spelling corrections of a misspelled
        word there, "Add to dictionary" and "Ignore" first, then Qt's edit actions."""
        menu = self.createStandardContextMenu(point)
        self._own_edit_actions(menu)
        if self.spell is not None:
            self.spell.add_menu_actions(menu, self.cursorForPosition(point).position())
        return menu

    def _own_edit_actions(self, menu: QMenu) -> None:
        """Qt's Undo and Redo there act on Qt's own undo stack, which the editor does not
        keep (undo is the CRDT's, this user's edits only): they were always greyed out
        while Ctrl+Z worked. They undo and redo as Ctrl+Z and Ctrl+Y do now, and "Paste
        without formatting" follows Paste, as in Google Docs."""
        writable = not self.isReadOnly()
        steps = {
            "edit-undo": (self._model.undo, self._model.can_undo),
            "edit-redo": (self._model.redo, self._model.can_redo),
        }
        actions = menu.actions()
        for index, action in enumerate(actions):
            name = action.objectName()
            if name in steps:
                step, able = steps[name]
                action.triggered.disconnect()
                action.triggered.connect(step)
                action.setEnabled(writable and able())
            elif name == "edit-paste":
                plain = QAction("Paste without formatting", menu)
                plain.setObjectName("edit-paste-plain")
                plain.setShortcut(QKeySequence("Ctrl+Shift+V"))
                plain.setEnabled(action.isEnabled())
                plain.triggered.connect(self.paste_plain)
                if index + 1 < len(actions):
                    menu.insertAction(actions[index + 1], plain)
                else:
                    menu.addAction(plain)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(event.pos())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._resizer.release():
            event.accept()  # the end of a resize (written), or of a click on a picture
            return
        if (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and not self.textCursor().hasSelection()
        ):
            href = self.anchorAt(event.position().toPoint())
            if href:  # Ctrl+click opens a link, as in word processors
                self._request_link(href)
                event.accept()
                return
        super().mouseReleaseEvent(event)
        if self._paint_format is not None and event.button() == Qt.MouseButton.LeftButton:
            self.apply_paint_format()

    def clear_formatting(self) -> None:
        """Remove every inline format from the selection (Ctrl+\\), as Google Docs does."""
        cleared = dict.fromkeys(INLINE_ATTRS)
        cursor = self.textCursor()
        if self.isReadOnly():
            return
        if cursor.hasSelection():
            self._set_inline(cursor, cleared)
        else:
            self.setCurrentCharFormat(
                formats.char_format({}, formats.style_level(cursor.block()), self._base_size())
            )
            self._emit_format()

    def _toggle_inline(self, key: str) -> None:
        if self.isReadOnly() or self._typing_in_code():
            self._last_format = None  # views that flipped a check state get the truth back
            self._emit_format()
            return
        cursor = self.textCursor()
        if cursor.hasSelection():
            on = not self._all_have(cursor, key)
            self._set_inline(cursor, {key: True if on else None})
        else:
            attrs = self.current_format()
            level = formats.style_level(cursor.block())
            fmt = formats.merge_inline(
                self.currentCharFormat(),
                {key: None if attrs.get(key) else True},
                level,
                formats.base_point_size(self.document()),
            )
            self.setCurrentCharFormat(fmt)
        self._emit_format()

    def _all_have(self, cursor: QTextCursor, key: str, value: object = None) -> bool:
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        block = self.document().findBlock(start)
        while block.isValid() and block.position() < end:
            for frag in walk.fragments(block):
                fs, fe = frag.position(), frag.position() + frag.length()
                if fs < end and fe > start:
                    have = formats.inline_attrs(frag.charFormat()).get(key)
                    if not have or (value is not None and have != value):
                        return False
            block = block.next()
        return True

    def _typing_in_code(self) -> bool:
        """The caret (no selection) is in a code block, whose text takes no formats."""
        cursor = self.textCursor()
        return not cursor.hasSelection() and formats.is_code_line(cursor.block())

    def _set_inline(self, cursor: QTextCursor, attrs: Attrs) -> None:
        """Give ``cursor``'s text ``attrs``, but for the lines of code blocks (plain text,
        as in Quill: it drops formats there, and a web Quill would not show them)."""
        if self.isReadOnly() or not cursor.hasSelection():
            return
        doc = self.document()
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        edit = QTextCursor(doc)
        with self._format_step((start, end)):  # ``cursor``'s range, not the selection
            edit.beginEditBlock()
            block = doc.findBlock(start)
            while block.isValid() and block.position() < end:
                bstart = block.position()
                if formats.is_code_line(block):
                    block = block.next()
                    continue
                formats.restyle_range(
                    doc,
                    max(start, bstart),
                    min(end, bstart + block.length() - 1),
                    attrs,
                    formats.style_level(block),
                )
                block = block.next()
            edit.endEditBlock()
        self._emit_format()

    def _set_blocks(self, attrs: Attrs) -> None:
        if self.isReadOnly():
            return
        doc = self.document()
        with self._format_step():
            if doc.lastBlock() in self._selected_blocks() and any(attrs.values()):
                self._append_empty_line()
            edit = QTextCursor(doc)
            with self._binding.line_formats_only():
                edit.beginEditBlock()
                for block in self._selected_blocks():
                    formats.set_block_attrs(doc, block, attrs)
                edit.endEditBlock()
        self._emit_format()

    @contextmanager
    def _format_step(self, lines: tuple[int, int] | None = None) -> Iterator[None]:
        """A format change from a command (Ctrl+B on a selection, a heading, a list...) is
        an undo step of its own, as in Google Docs: the undo manager would join it with
        typing less than 0.5 s before or after it (DocumentModel.separate_undo_step).
        Nested steps (paint format sets inline and block formats) make one, in one
        transaction. Only ``lines`` (default: the selected ones) are changed, which the
        binding is told (QtTextBinding.changing_only: a list item's change makes Qt report
        its whole list)."""
        if self._formatting:
            yield
            return
        if lines is None:
            cursor = self.textCursor()
            lines = (cursor.selectionStart(), cursor.selectionEnd())
        self._formatting = True
        try:
            with self._model.undo_step(), self._binding.changing_only(*lines):
                yield
        finally:
            self._formatting = False

    def _append_empty_line(self) -> None:
        """The last line has no "\\n" to carry block attributes (Quill keeps them on the
        line's "\\n"): give it one, without moving the user's cursor."""
        user = self.textCursor()
        anchor, position = user.anchor(), user.position()
        end = QTextCursor(self.document())
        end.movePosition(QTextCursor.MoveOperation.End)
        end.insertBlock(QTextBlockFormat(), formats.char_format({}, None, self._base_size()))
        user.setPosition(anchor)
        user.setPosition(position, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(user)

    def _selected_blocks(self) -> list[Any]:
        """The lines a line command (heading, list, alignment...) applies to. A selection
        reaching the end (Ctrl+A) ends in the empty block after the final "\\n", which is
        no line of the document (Quill): it is left out, or Ctrl+A then the bulleted-list
        key on a bulleted document counted it as a plain line and bulleted everything
        again instead of taking the bullets off (Google Docs takes them off)."""
        cursor = self.textCursor()
        doc = self.document()
        block = doc.findBlock(cursor.selectionStart())
        last = doc.findBlock(cursor.selectionEnd())
        if cursor.hasSelection() and last != block and is_phantom(last):
            last = last.previous()
        blocks = [block]
        while block != last and block.isValid():
            block = block.next()
            blocks.append(block)
        return blocks

    def _request_link(self, href: str) -> None:
        """Ask for ``href`` to be opened (``linkRequested``), if it is a web or mail
        address: a collaborator's ``file:`` or ``javascript:`` link is never opened."""
        if openable(href):
            self.linkRequested.emit(href)

    def _remove_link_here(self) -> None:
        self.set_link(None)
        self._refresh_link_card()

    def _refresh_link_card(self) -> None:
        """Show the link card under the caret if it is in a link, else hide it."""
        fmt = self.currentCharFormat()
        href = fmt.anchorHref() if fmt.isAnchor() else ""
        if not href or self.textCursor().hasSelection():
            self.link_card.hide()
            return
        rect = self.cursorRect()
        self.link_card.show_for(
            href,
            QPoint(rect.left(), rect.bottom() + 4),
            can_open=openable(href),
            can_edit=not self.isReadOnly(),
        )

    def _link_around(self, cursor: QTextCursor) -> QTextCursor:
        href = self.currentCharFormat().anchorHref()
        if not href:
            return cursor
        for frag in walk.fragments(cursor.block()):
            fs, fe = frag.position(), frag.position() + frag.length()
            if fs <= cursor.position() <= fe and frag.charFormat().anchorHref() == href:
                found = QTextCursor(self.document())
                found.setPosition(fs)
                found.setPosition(fe, QTextCursor.MoveMode.KeepAnchor)
                return found
        return cursor

    def _base_size(self) -> float:
        return formats.base_point_size(self.document())

    def _emit_format(self) -> None:
        attrs = self.current_format()
        if attrs != self._last_format:
            self._last_format = attrs
            self.formatChanged.emit(attrs)

    def paste_plain(self) -> None:
        """Paste the clipboard's text only, in the format at the caret (Ctrl+Shift+V)."""
        if self.isReadOnly():
            return
        text = QApplication.clipboard().text()
        if text:
            self.textCursor().insertText(text.replace("\r\n", "\n").replace("\r", "\n"))
            self.ensureCursorVisible()

    # ------------------------------------------------------------------ images

    def insert_image(self, image: PreparedImage | str, attrs: Attrs | None = None) -> bool:
        """Insert a picture at the caret (replacing the selection) as one edit, so one
        undo takes it out: a :class:`PreparedImage` or an image URL as stored, with
        Quill's ``width``/``height``/``alt`` in ``attrs``. False when read-only."""
        if self.isReadOnly():
            return False
        source = image.data_url if isinstance(image, PreparedImage) else image
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.removeSelectedText()
        base = images.text_format(cursor.charFormat())
        cursor.insertText(EMBED_CHAR, images.image_format(self.document(), source, attrs, base))
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        self.setCurrentCharFormat(base)  # what is typed next is text, not a picture
        self.ensureCursorVisible()
        return True

    def insert_image_file(self, path: Path) -> bool:
        """Insert the picture in file ``path`` at the caret (*Insert ▸ Image…*).

        Raises:
            ImageRefused: not a readable picture, or too large even scaled down.
            OSError: the file cannot be read.
        """
        return self.insert_image(images.prepare_bytes(path.read_bytes()))

    def createMimeDataFromSelection(self) -> QMimeData:  # noqa: N802
        """Qt's text and HTML, plus the images: in :data:`EMBEDS_MIME` for this editor,
        as ``<img src="data:...">`` in the HTML and, when the selection is one picture,
        as the picture itself for other applications."""
        mime = super().createMimeDataFromSelection()
        cursor = self.textCursor()
        # The selection as Qt's own fragment (every format, pictures, block formats), kept
        # in this program under a token the clipboard carries: a paste of that copy in any
        # window of this program inserts it whole, as Google Docs' Ctrl+V keeps formats.
        # (Qt's plain-text paste dropped them; its HTML loses colours and headings.)
        token = uuid.uuid4().hex
        EditorWidget._copied = (token, cursor.selection(), weakref.ref(self))
        mime.setData(COPY_MIME, QByteArray(token.encode("ascii")))
        start, end = cursor.selectionStart(), cursor.selectionEnd()
        found = self._images_between(start, end)
        if not found:
            return mime
        text = mime.text()
        entries: list[list[Any] | None] = []
        by_position = dict(found)
        for pos in range(start, end):
            if self.document().characterAt(pos) == EMBED_CHAR:
                entry = by_position.get(pos)
                entries.append(None if entry is None else [entry[0], entry[1]])
        payload = json.dumps({"text": text, "images": entries})
        mime.setData(EMBEDS_MIME, QByteArray(payload.encode("utf-8")))
        html_doc = QTextDocument()
        QTextCursor(html_doc).insertFragment(cursor.selection())
        images.relabel_for_export(html_doc, self._image_width(), sources=self.document())
        mime.setHtml(html_doc.toHtml())
        if end - start == 1 and len(found) == 1:
            picture = images.picture_of(self.document(), found[0][1][0])
            if picture is not None:
                mime.setImageData(picture)
        return mime

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        if source.hasImage() or self._image_files(source):
            return True
        return bool(super().canInsertFromMimeData(source))

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        """Paste and drop: this editor's text with its images; image files; a picture on
        the clipboard (unless it comes with text: office programs add a picture of the
        text they copy); another program's HTML with its Quill formats; else Qt's
        plain-text paste."""
        if self.isReadOnly():
            return
        if self._paste_copy(source):
            return
        if source.hasFormat(EMBEDS_MIME) and self._paste_with_images(source):
            return
        files = self._image_files(source)
        text = source.text() if source.hasText() else ""
        try:
            if files:
                for path in files:
                    self.insert_image_file(path)
                return
            if source.hasImage() and not text.strip():
                data = source.imageData()
                picture = data.toImage() if isinstance(data, QPixmap) else QImage(data)
                self.insert_image(images.prepare_qimage(picture))
                return
        except (ImageRefused, OSError) as exc:
            message = str(exc) if isinstance(exc, ImageRefused) else f"Could not read it: {exc}"
            self.imageRefused.emit(message)
            return
        if source.hasHtml() and self._paste_html(source.html()):
            return
        start = self.textCursor().selectionStart()
        self._model.separate_undo_step()  # a paste is an undo step of its own, as in Docs
        super().insertFromMimeData(source)
        self._model.separate_undo_step()
        self._link_pasted_addresses(start, self.textCursor().position())

    def _link_pasted_addresses(self, start: int, end: int) -> None:
        """Web addresses in plain text just pasted at ``[start, end)`` become links, as
        Google Docs does (an undo step of their own: Ctrl+Z takes the links off first);
        not in code, not over a link."""
        if end - start < len("www.a.b") or self.isReadOnly():
            return
        pasted = QTextCursor(self.document())
        pasted.setPosition(start)
        pasted.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        text = pasted.selectedText()
        if "://" not in text and "www." not in text.lower():
            return  # most pastes: nothing to look for
        addresses = addresses_in(text)
        if not addresses:
            return
        with self._format_step((start, end)):  # all of them one undo step
            self._link_addresses(start, text, addresses)

    def _link_addresses(self, start: int, text: str, addresses: list[tuple[int, int, str]]) -> None:
        """Link each of ``addresses`` (code point ranges of ``text``, which is at ``start``)
        that may be (:meth:`_linkable`)."""
        for first, last, href in addresses:
            at = start + utf16_len(text[:first])
            if not self._linkable(at):
                continue
            link = QTextCursor(self.document())
            link.setPosition(at)
            link.setPosition(at + utf16_len(text[first:last]), QTextCursor.MoveMode.KeepAnchor)
            self._set_inline(link, {"link": href})

    def _linkable(self, at: int) -> bool:
        """Whether an address starting at ``at`` may become a link: not in code (a code
        block or inline code) and not in a link already."""
        first = QTextCursor(self.document())
        first.setPosition(at + 1)  # the format of the address's first character
        fmt = first.charFormat()
        if fmt.isAnchor() or formats.inline_attrs(fmt).get("code"):
            return False
        return not formats.is_code_line(first.block())

    def _paste_copy(self, source: QMimeData) -> bool:
        """Insert a selection copied in this program with all its formats (one edit, one
        transaction, one undo step); False if ``source`` is not that copy."""
        copied = EditorWidget._copied
        if copied is None:
            return False
        token = bytes(source.data(COPY_MIME).data()).decode("ascii", "replace")
        if token != copied[0]:
            return False
        if copied[2]() is not self and EMBED_CHAR in copied[1].toPlainText():
            # Its pictures name this editor's decoded images: into another document they
            # go through the images' own clipboard format (EMBEDS_MIME) instead.
            return False
        cursor = self.textCursor()
        with self._model.undo_step():
            html_paste.from_fragment(copied[1]).insert(cursor)  # Quill's line rules
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        return True

    def _paste_html(self, html: str) -> bool:
        """Insert another program's HTML with the formats Coscribe has a Quill attribute
        for (:mod:`editor_app.qt.html_paste`): one edit, one CRDT transaction, one undo
        step. False when it holds no content or is too large to insert quickly (its
        plain text is pasted instead)."""
        cursor = self.textCursor()
        paste = html_paste.prepare(html, self.document(), cursor.selectionStart())
        if paste is None:
            return False
        with self._model.undo_step():
            paste.insert(cursor)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        return True

    def _paste_with_images(self, source: QMimeData) -> bool:
        """Insert :data:`EMBEDS_MIME` content (text in the caret's format, images as they
        were) as one edit; False if it does not match the clipboard's text."""
        try:
            payload = json.loads(bytes(source.data(EMBEDS_MIME).data()).decode("utf-8"))
            text, entries = str(payload["text"]), list(payload["images"])
        except (ValueError, KeyError, TypeError):
            return False
        pieces = text.replace("\r\n", "\n").split(EMBED_CHAR)
        if len(pieces) != len(entries) + 1 or text != source.text():
            return False
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.removeSelectedText()
        base = images.text_format(cursor.charFormat())
        for i, piece in enumerate(pieces):
            if piece:
                cursor.insertText(piece, base)
            if i < len(entries):
                entry = entries[i]
                if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
                    attrs = entry[1] if isinstance(entry[1], dict) else None
                    fmt = images.image_format(self.document(), entry[0], attrs, base)
                    cursor.insertText(EMBED_CHAR, fmt)
                else:
                    cursor.insertText(EMBED_CHAR, base)
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        self.setCurrentCharFormat(base)
        self.ensureCursorVisible()
        return True

    def _images_between(self, start: int, end: int) -> list[tuple[int, tuple[str, Attrs]]]:
        """The images in ``[start, end)``: (position, (URL, Quill image attributes))."""
        doc = self.document()
        found: list[tuple[int, tuple[str, Attrs]]] = []
        block = doc.findBlock(start)
        while block.isValid() and block.position() < end:
            for frag in walk.fragments(block):
                fmt = frag.charFormat()
                if not fmt.isImageFormat():
                    continue
                source = images.source_of(doc, fmt)
                a, b = max(start, frag.position()), min(end, frag.position() + frag.length())
                if source is not None:
                    found.extend((pos, (source, images.image_attrs(fmt))) for pos in range(a, b))
            block = block.next()
        return found

    @staticmethod
    def _image_files(source: QMimeData) -> list[Path]:
        """Local picture files among dropped or pasted URLs (by their name's ending)."""
        if not source.hasUrls():
            return []
        return [
            Path(url.toLocalFile())
            for url in source.urls()
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES
        ]

    def move_image(self, pos: int, to: int) -> bool:
        """Move the picture at ``pos`` to ``to`` (a position in the text as it is now,
        as a drop names it), what dropping a dragged picture in this editor does. The
        picture keeps its format (``width``/``height``/``alt``) and stays selected.

        One CRDT transaction (one update for collaborators: delete one embed, insert it)
        and an undo step of its own. Qt's own move of a dragged selection is one edit
        block, which Qt reports as ONE change spanning everything from the source to the
        drop point: the binding would delete and re-insert all the text in between (a
        collaborator typing there would lose their words). Here the removal and the
        insert are two small Qt changes inside one outer transaction, which the binding's
        own transactions join.

        False (nothing changed) when read-only, when ``pos`` holds no picture, or when
        ``to`` is where it already is (either side of it)."""
        doc = self.document()
        end = doc.characterCount() - 1
        if self.isReadOnly() or not 0 <= pos < end or doc.characterAt(pos) != EMBED_CHAR:
            return False
        to = min(max(0, to), end)
        if to in (pos, pos + 1):
            return False
        cursor = QTextCursor(doc)
        cursor.setPosition(pos)
        cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
        fmt = cursor.charFormat()  # the format of the character before the end: the picture
        if not fmt.isImageFormat():
            return False
        target = to - 1 if to > pos else to
        with self._model.undo_step():
            cursor.removeSelectedText()
            cursor.setPosition(target)
            cursor.insertText(EMBED_CHAR, fmt)
        cursor.setPosition(target)
        cursor.setPosition(target + 1, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        return True

    def move_selection(self, start: int, end: int, to: int) -> bool:
        """Move the text in ``[start, end)`` to ``to`` (a position in the text as it is
        now, as a drop names it), what dropping a selection dragged in this editor does.
        The text keeps its own formats and pictures (bold stays bold, a picture its
        width) and is selected where it lands.

        One CRDT transaction (one update: delete the moved text, insert it once) and an
        undo step of its own. Qt's own move of a dragged selection is one edit block,
        which Qt reports as ONE change spanning everything from the source to the drop
        point: the binding deleted and re-inserted all the text in between, so a
        collaborator's edit there, their cursors and comments anchored in it moved, and
        the update grew with the distance. Here the insert and the removal are two small
        Qt changes inside one outer transaction (the binding's own transactions join it).
        The moved text is inserted as a copy of the selection's own Qt fragment, not
        through the paste path: a paste takes the caret's format (plain-text editor).

        False (nothing changed) when read-only, when the range is empty, or when ``to``
        is inside it or at either end of it."""
        doc = self.document()
        last = doc.characterCount() - 1
        start, end = max(0, min(start, end)), min(max(start, end), last)
        to = min(max(0, to), last)
        if self.isReadOnly() or start >= end or start <= to <= end:
            return False
        cursor = QTextCursor(doc)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        moved = cursor.selection()
        length = end - start
        with self._model.undo_step():
            if to > end:  # insert first: the source's positions are not shifted
                at = QTextCursor(doc)
                at.setPosition(to)
                at.insertFragment(moved)
                cursor.removeSelectedText()
                target = to - length
            else:  # remove first: the drop point is before it, not shifted
                cursor.removeSelectedText()
                at = QTextCursor(doc)
                at.setPosition(to)
                at.insertFragment(moved)
                target = to
        selected = QTextCursor(doc)
        selected.setPosition(target)
        selected.setPosition(target + length, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(selected)
        return True

    def _from_here(self, event: QDropEvent) -> bool:
        """The drag started in this editor: a picture's (its source is the editor) or
        Qt's drag of a selection (its source is the viewport, Qt's context widget)."""
        return event.source() in (self, self.viewport())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        super().dragEnterEvent(event)
        if event.isAccepted() and self._copied_here(event):
            event.setDropAction(Qt.DropAction.CopyAction)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        super().dragMoveEvent(event)
        if event.isAccepted() and self._copied_here(event):
            event.setDropAction(Qt.DropAction.CopyAction)

    def _copied_here(self, event: QDropEvent) -> bool:
        """A picture dragged from another Coscribe window is copied here, never moved:
        that window keeps its picture (Google Docs between two documents)."""
        return bool(
            not self._from_here(event)
            and event.mimeData().hasFormat(EMBEDS_MIME)
            and event.possibleActions() & Qt.DropAction.CopyAction
        )

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """A picture dragged in this editor and dropped here moves (:meth:`move_image`),
        and so does a selection of text (:meth:`move_selection`); with Ctrl either is
        copied (Qt's drop inserts the dragged mime data). Every other
        drop is Qt's (an insert of the mime data at the drop point, through
        :meth:`insertFromMimeData`), as an undo step of its own, and a copy when it
        comes from another window."""
        if event.source() is self and self._resizer.dragging():
            moving = event.dropAction() == Qt.DropAction.MoveAction
            pos = self._resizer.dragged()
            if moving or pos is None:
                to = self.cursorForPosition(event.position().toPoint()).position()
                super().dragLeaveEvent(QDragLeaveEvent())  # Qt's drop caret, its autoscroll
                if pos is None or self.isReadOnly():
                    event.ignore()  # a collaborator deleted it meanwhile, or I became a viewer
                    return
                self.move_image(pos, to)
                event.setDropAction(Qt.DropAction.MoveAction)
                event.accept()
                self.setFocus()
                return
        selection = self.textCursor()
        if (
            event.source() is self.viewport()
            and event.dropAction() == Qt.DropAction.MoveAction
            and selection.hasSelection()
        ):
            to = self.cursorForPosition(event.position().toPoint()).position()
            super().dragLeaveEvent(QDragLeaveEvent())  # Qt's drop caret, its autoscroll
            if self.isReadOnly() or not self.move_selection(
                selection.selectionStart(), selection.selectionEnd(), to
            ):
                event.ignore()  # a viewer, or dropped inside the selection: nothing moves
                return
            # Qt's drag (startDrag) removes the selection itself only when the drop
            # target is another widget; here the target is its own viewport.
            event.setDropAction(Qt.DropAction.MoveAction)
            event.accept()
            self.setFocus()
            return
        copy = self._copied_here(event)
        if copy:
            event.setDropAction(Qt.DropAction.CopyAction)
        if not self.isReadOnly():
            self._model.separate_undo_step()
        super().dropEvent(event)
        if not self.isReadOnly():
            self._model.separate_undo_step()
        if copy and event.isAccepted():
            event.setDropAction(Qt.DropAction.CopyAction)  # Qt's accept set the proposed one

    def selected_image(self) -> int | None:
        """The position of the selected picture (the selection is exactly one picture:
        a click on it makes that selection), or None."""
        return self._resizer.selected()

    def image_rect(self, pos: int) -> QRectF | None:
        """Where the picture at position ``pos`` is drawn, in viewport pixels (None: no
        picture there)."""
        return self._resizer.image_rect(pos)

    def image_handles(self) -> dict[Corner, QRectF]:
        """The resize handles of the selected picture, in viewport pixels; none when no
        picture is selected or the document is read-only."""
        return self._resizer.handles()

    def resize_outline(self) -> QRectF | None:
        """The new size of the picture while one of its corners is dragged (viewport
        pixels), else None."""
        return self._resizer.outline()

    def _image_width(self) -> float:
        """Widest a picture is shown: the page's text column, less room for the vertical
        scroll bar whether it shows or not (a picture that fits only without the bar
        would make the bar come and go)."""
        bar = self.verticalScrollBar()
        full = self.viewport().width() + (bar.width() if bar.isVisible() else 0)
        margin = self.document().documentMargin()
        return max(0.0, full - bar.sizeHint().width() - 2 * margin - 4)

    # ------------------------------------------------------------------ zoom

    @property
    def zoom(self) -> int:
        """The page zoom in percent (100 = 11 pt body text)."""
        return self._zoom

    def set_zoom(self, percent: int) -> None:
        """Zoom the page to ``percent`` (50-200): the body font and every size derived
        from it (headings, Quill sizes) scale; nothing is sent to collaborators."""
        percent = max(ZOOM_MIN, min(ZOOM_MAX, int(percent)))
        if percent == self._zoom:
            return
        self._zoom = percent
        font = body_font(BODY_POINT_SIZE * percent / 100)
        doc = self.document()
        self.images.scale = percent / 100
        with self._binding.presentation_only():
            self.setFont(font)
            doc.setDefaultFont(font)
            self.page_layout.set_base_font_height(QFontMetricsF(font).height())
            base = formats.base_point_size(doc)
            for block in walk.blocks(doc):
                level = formats.style_level(block)
                sized = level is not None or any(
                    frag.charFormat().hasProperty(formats.INLINE_PROPS["size"])
                    for frag in walk.fragments(block)
                )
                if sized:
                    start = block.position()
                    formats.restyle_range(doc, start, start + block.length() - 1, {}, level)
                    cursor = QTextCursor(block)
                    cursor.setBlockCharFormat(
                        formats.merge_inline(block.charFormat(), {}, level, base)
                    )
                images.mark_zoom(doc, block, percent)  # pictures are laid out again
        self.zoomChanged.emit(percent)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = ZOOM_STEP if event.angleDelta().y() > 0 else -ZOOM_STEP
            self.set_zoom(self._zoom + step)
            event.accept()
            return
        super().wheelEvent(event)

    # ------------------------------------------------------------------ find / replace

    def find(  # type: ignore[override]
        self, text: str, *, case_sensitive: bool = False, backward: bool = False
    ) -> bool:
        """Select the next (or previous) occurrence of ``text``, wrapping around once."""
        if not text:
            return False
        flags = QTextDocument.FindFlag(0)
        if case_sensitive:
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        doc = self.document()
        found = doc.find(text, self.textCursor(), flags)
        if found.isNull():
            start = QTextCursor(doc)
            start.movePosition(
                QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start
            )
            found = doc.find(text, start, flags)
        if found.isNull():
            return False
        self.setTextCursor(found)
        return True

    def replace_selection(self, text: str) -> None:
        """Replace the selected text (keeping the selection's formatting)."""
        cursor = self.textCursor()
        if self.isReadOnly() or not cursor.hasSelection():
            return
        cursor.insertText(text)
        self.setTextCursor(cursor)

    def replace_all(self, find: str, replace: str, *, case_sensitive: bool = False) -> int:
        """Replace every occurrence; returns how many. Each replacement is its own small
        CRDT change (no edit block), so concurrent edits elsewhere are never overwritten."""
        if self.isReadOnly() or not find:
            return 0
        doc = self.document()
        flags = QTextDocument.FindFlag(0)
        if case_sensitive:
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        count = 0
        cursor = QTextCursor(doc)
        while True:
            cursor = doc.find(find, cursor, flags)
            if cursor.isNull():
                break
            cursor.insertText(replace)
            count += 1
        return count

    # ------------------------------------------------------------------ keys

    def event(self, event: QEvent) -> bool:
        # Claim undo/redo shortcuts before window-level actions (which would also land in
        # the model, but the widget must never fall back to Qt's own undo stack).
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if self._undo_redo_key(event) is not None:
                event.accept()
                return True
        if event.type() not in _INPUT_EVENTS or self.isReadOnly():
            handled = super().event(event)
        else:
            outer, self._input_state = self._input_state, _Input.NOTHING_SENT
            try:
                handled = super().event(event)
            finally:
                state, self._input_state = self._input_state, outer
            if state is not _Input.SENT:
                self._model.inputHandled.emit()
        if event.type() == QEvent.Type.Paint and self._desk_rows:
            # The frame around the viewport (border, padding): the desk between sheets
            # runs across the whole page width.
            painter = QPainter(self)
            try:
                # Only beside, above and below the viewport: the viewport paints its own
                # rows and does not fill its background, so a band left under it showed
                # through, stale, once the view scrolled (Qt moves the viewport's pixels).
                beside = QRegion(self.rect()).subtracted(QRegion(self.viewport().geometry()))
                painter.setClipRegion(beside)
                self._paint_desk(painter, float(self.viewport().y()), float(self.width()))
            finally:
                painter.end()
        return handled

    def _input_committed(self) -> None:
        if self._input_state is _Input.NOTHING_SENT:
            self._input_state = _Input.SENT
            self._model.inputHandled.emit()
        elif self._input_state is _Input.SENT:
            self._input_state = _Input.MORE_TO_SEND

    def keyPressEvent(self, event: QKeyEvent) -> None:
        address = self._address_typed(event)
        self._key_press(event)
        if address is not None:
            self._link_address(*address)

    def _address_typed(self, event: QKeyEvent) -> tuple[int, int, str] | None:
        """A web address the caret is right after when a space, Enter or Tab ends it:
        (start, end, href) to link once the key is typed, as Google Docs does; not in
        code, not one already linked."""
        ends_word = event.text() in (" ", "\t") or event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
        )
        if not ends_word or self.isReadOnly():
            return None  # every other key: nothing more to read
        cursor = self.textCursor()
        if cursor.hasSelection():
            return None
        block = cursor.block()
        before = QTextCursor(block)
        before.setPosition(cursor.position(), QTextCursor.MoveMode.KeepAnchor)
        text = before.selectedText()
        typed = address_at_end(text)
        if typed is None:
            return None
        end = cursor.position() - utf16_len(text[len(text) - typed.after :])
        start = end - utf16_len(typed.text)
        return (start, end, typed.href) if self._linkable(start) else None

    def _link_address(self, start: int, end: int, href: str) -> None:
        """Link ``[start, end)`` to ``href`` (an undo step of its own: Ctrl+Z right after
        takes the link off, the text stays)."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        if address_at_end(cursor.selectedText()) is None:
            return  # the key changed the text there (typed over a selection, undo ...)
        self._set_inline(cursor, {"link": href})

    def _key_press(self, event: QKeyEvent) -> None:
        action = self._undo_redo_key(event)
        if action == "undo":
            self._model.undo()
            return
        if action == "redo":
            self._model.redo()
            return
        if event.modifiers() == Qt.KeyboardModifier.ControlModifier:
            toggles = {
                Qt.Key.Key_B: self.toggle_bold,
                Qt.Key.Key_I: self.toggle_italic,
                Qt.Key.Key_U: self.toggle_underline,
            }
            toggle = toggles.get(Qt.Key(event.key()))
            if toggle is not None:
                toggle()
                return
        if event.key() == Qt.Key.Key_Escape and self._resizer.cancel():
            return  # a drag dropped, or the picture deselected
        if self._outdents(event):
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.isReadOnly():
            if self._new_line(event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
                return
        if self._deletes_final_newline(event):
            event.accept()  # nothing after the last paragraph to join (Quill, Google Docs)
            return
        if self._list_from_prefix(event) or self._tab_indents(event):
            return
        length, was_last = self.document().characterCount(), self._in_last_block()
        block = self.textCursor().block()
        if block.textList() is not None and event.key() in _LIST_KEYS:
            # Enter on an empty item or Backspace at an item's start takes the line out of
            # its list: Qt reports the whole list changed (renumbered); only the line is.
            with self._binding.changing_only(block.position(), block.position()):
                super().keyPressEvent(event)
        else:
            super().keyPressEvent(event)
        if self.document().characterCount() == length and not was_last:
            self._keep_out_of_phantom()  # a move there (Ctrl+End, Down, Shift+End ...)

    def _list_from_prefix(self, event: QKeyEvent) -> bool:
        """A space typed right after a :data:`LIST_PREFIXES` marker at the start of a line
        that is no list item (nor code) makes it one, as Google Docs and Quill do. One
        undo step of its own: Ctrl+Z right after gives back the marker as typed."""
        if event.text() != " " or self.isReadOnly():
            return False
        cursor = self.textCursor()
        block = cursor.block()
        kind = LIST_PREFIXES.get(block.text()[: cursor.position() - block.position()])
        if (
            kind is None
            or cursor.hasSelection()
            or block.textList() is not None
            or formats.is_code_line(block)
        ):
            return False
        with self._format_step((block.position(), block.position())):
            marker = QTextCursor(block)
            marker.setPosition(cursor.position(), QTextCursor.MoveMode.KeepAnchor)
            marker.removeSelectedText()
            self.toggle_list(kind)
        event.accept()
        return True

    def _outdents(self, event: QKeyEvent) -> bool:
        """Backspace at the start of a nested line, or Enter on an empty nested item, takes
        it one level out before anything else (Quill's "outdent backspace" and "list empty
        enter", Google Docs): a nested list item stays an item until the first level."""
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if not (enter or event.key() == Qt.Key.Key_Backspace):
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier or self.isReadOnly():
            return False
        cursor = self.textCursor()
        block = cursor.block()
        if cursor.hasSelection() or cursor.position() != block.position():
            return False
        if not formats.list_level(block) or (
            enter and (block.length() > 1 or not block.textList())
        ):
            return False
        self.change_indent(-1)
        event.accept()
        return True

    def _tab_indents(self, event: QKeyEvent) -> bool:
        """Tab nests a list item (at its start, or lines selected across items) one level
        deeper, Shift+Tab anywhere in a list item or indented line takes it one level out,
        as in Google Docs and Quill; a Tab elsewhere types a tab."""
        key = event.key()
        plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if self.isReadOnly() or key not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            return False
        if plain & ~Qt.KeyboardModifier.ShiftModifier:
            return False  # Ctrl+Tab and the like are not ours
        cursor = self.textCursor()
        block = cursor.block()
        nested = block.textList() is not None or bool(formats.list_level(block))
        across = cursor.hasSelection() and (
            self.document().findBlock(cursor.selectionStart())
            != self.document().findBlock(cursor.selectionEnd())
        )
        if key == Qt.Key.Key_Backtab or plain & Qt.KeyboardModifier.ShiftModifier:
            if not (nested or across):
                return False
            self.change_indent(-1)
        elif across or (
            block.textList() is not None
            and not cursor.hasSelection()
            and cursor.position() == block.position()
        ):
            self.change_indent(1)
        else:
            return False
        event.accept()
        return True

    def _deletes_final_newline(self, event: QKeyEvent) -> bool:
        """Delete at the end of the last paragraph would remove the document's final
        "\\n" (and with it the paragraph's formats)."""
        if not (
            event.matches(QKeySequence.StandardKey.Delete)
            or event.matches(QKeySequence.StandardKey.DeleteEndOfWord)
        ):
            return False
        cursor = self.textCursor()
        last = self.document().lastBlock()
        return (
            not cursor.hasSelection()
            and is_phantom(last)
            and cursor.position() == last.position() - 1
        )

    @staticmethod
    def _undo_redo_key(event: QKeyEvent) -> str | None:
        if any(event.matches(k) for k in _UNDO_KEYS):
            return "undo"
        if any(event.matches(k) for k in _REDO_KEYS):
            return "redo"
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        if event.key() == Qt.Key.Key_Y and mods == ctrl:
            return "redo"
        if event.key() == Qt.Key.Key_Z and mods == ctrl | Qt.KeyboardModifier.ShiftModifier:
            return "redo"
        return None

    def _new_line(self, shift: object) -> bool:
        """Handle Enter where QTextEdit's default is wrong for Quill documents; returns
        False to let Qt do its usual thing (which also ends a list on an empty item).

        * after a heading the new line is normal text, like every word processor;
        * Shift+Enter would insert U+2028 (a soft line break Quill cannot represent):
          it starts a new line instead.
        """
        cursor = self.textCursor()
        block = cursor.block()
        at_end = cursor.position() == block.position() + block.length() - 1
        # The empty plain line the editor keeps last (it has no "\n" for block attributes)
        # is where the next plain line goes: never a second, stray empty line before it.
        nxt = block.next()
        blank_last = (
            nxt.isValid()
            and nxt == self.document().lastBlock()
            and nxt.length() == 1
            and not formats.block_attrs(nxt)
            and not cursor.hasSelection()
        )
        if blank_last and block.length() == 1 and formats.text_list(block) is not None:
            # Enter on an empty last list item leaves the list onto the blank last line.
            formats.set_block_attrs(self.document(), block, {"list": None})
            cursor.deleteChar()
        elif blank_last and at_end and formats.heading_level(block) is not None:
            cursor.movePosition(QTextCursor.MoveOperation.NextBlock)
        elif formats.heading_level(block) is not None and at_end and not cursor.hasSelection():
            cursor.insertBlock(QTextBlockFormat(), formats.char_format({}, None, self._base_size()))
        elif shift:
            cursor.insertBlock()
        else:
            return False
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        return True

    # ------------------------------------------------------------------ caret

    def _remember_caret(self, _ops: list[Op]) -> None:
        cursor = self.textCursor()
        self._caret_before = (cursor.anchor(), cursor.position())

    def _keep_caret(self, ops: list[Op]) -> None:
        """Qt pushes a cursor past text inserted exactly at it; a collaborator typing at my
        caret must not drag it into their text (Google Docs keeps it with mine)."""
        before, self._caret_before = self._caret_before, None
        if before is None or self._model.undoing:
            return
        anchor, position = (transform_position(p, ops) for p in before)
        cursor = self.textCursor()
        if (cursor.anchor(), cursor.position()) == (anchor, position):
            return
        cursor.setPosition(anchor)
        cursor.setPosition(position, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    # ------------------------------------------------------------------ presence

    def _cursor_moved(self) -> None:
        # Presence is coalesced: the caret moves on every keystroke and every remote edit
        # before it, so it is reported once per event-loop turn. The toolbar state follows a
        # local move at once (what QTextEdit's currentCharFormatChanged did; a few us), a
        # remote edit's shift of the caret only with the coalesced report.
        self._sync_phantom()
        self._resizer.refresh()
        if not self._binding.applying_remote:
            self._emit_format()
            self._reveal_caret = True
            self._link_timer.start()
        if not self._presence_timer.isActive():
            self._presence_timer.start()

    def _in_last_block(self) -> bool:
        return self.textCursor().position() >= self.document().lastBlock().position()

    def _sync_phantom(self) -> None:
        """Tell the layout whether the caret is in the last block (an edit can put it
        there without moving it: Enter on an empty last list item)."""
        self.page_layout.set_phantom_open(self._in_last_block())

    def _keep_out_of_phantom(self) -> None:
        """The empty block after the document's final "\\n" is no line of the page
        (Quill): Ctrl+End, Down or a click below the text end go to the end of the last
        paragraph. (Enter at the end of the document opens it: the caret is then on a
        new, empty last line, and the layout shows it as one.)"""
        last = self.document().lastBlock()
        cursor = self.textCursor()
        if cursor.position() == last.position() and is_phantom(last):
            end = last.position() - 1
            cursor.setPosition(min(cursor.anchor(), end))
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(cursor)

    def _report_selection(self) -> None:
        self._report_pages()
        self._emit_format()
        presence = self._model.presence
        if presence is None:
            return
        cursor = self.textCursor()
        presence.set_local_cursor(cursor.anchor(), cursor.position())

    # ------------------------------------------------------------------ pages

    @property
    def pageless(self) -> bool:
        """Whether the document is shown as one continuous sheet (no page breaks)."""
        return self._pageless

    def set_pageless(self, on: bool) -> None:
        """One continuous sheet (True) or the pages Print uses (False). The view stays on
        the same text: a caret in view stays at its height (within a line), else the
        first line shown stays first (Qt scrolls by lines, and a switch changes no
        block's line count). Print and PDF paginate either way."""
        if on == self._pageless:
            return
        caret = self.cursorRect().top()
        self._pageless = on
        self._sync_pages()
        if not on:  # place the caret's page now, for "Page 2 of 5" (the view's: the paint)
            self.page_layout.page_of(self.textCursor().position())
        if 0 <= caret < self.viewport().height():
            self._keep_caret_at(caret)
        self.viewport().update()
        self._repaint_all.start()  # and once the scrolls above have been painted
        self._report_pages()
        self.pagelessChanged.emit(on)

    def _lay_out_view(self) -> None:
        """Lay out what the view shows, as the paint is about to."""
        first = self.firstVisibleBlock()
        top = self.blockBoundingGeometry(first).translated(self.contentOffset()).top()
        self.page_layout.ensure_visible(first, top, float(self.viewport().height()))

    def _keep_caret_at(self, y: int) -> None:
        """Scroll line by line until the caret's top is as near viewport ``y`` as lines
        allow (a switch to or from pages moved it by the desk between sheets)."""
        bar = self.verticalScrollBar()
        self._lay_out_view()
        delta = self.cursorRect().top() - y
        step = -1 if delta > 0 else 1  # the caret too low: scroll down (the bar up)
        for _ in range(256):  # bounded: a few sheets' margins at most
            if delta == 0 or not bar.minimum() <= bar.value() - step <= bar.maximum():
                return
            bar.setValue(bar.value() - step)
            self._lay_out_view()
            after = self.cursorRect().top() - y
            if (after > 0) != (delta > 0):  # went past: keep the nearer of the two
                if abs(after) > abs(delta):
                    bar.setValue(bar.value() + step)
                    self._lay_out_view()
                return
            delta = after

    def _sync_pages(self) -> None:
        """Give the layout the sheets of the current zoom (none when pageless). Page 1's
        text starts where the page's padding puts it (pushing the first line down by the
        rest of a top margin would defeat Qt's line-by-line scroll range: it assumes a
        block's first line at its top), the following pages' one top margin below their
        sheet's edge."""
        key = (self._zoom, self.viewport().width(), self._pageless)
        if key == self._page_key:
            return
        width_changed = self._page_key is not None and self._page_key[1] != key[1]
        self._page_key = key
        pages = None
        if not self._pageless:
            pages = print_geometry(float(self.logicalDpiY())).scaled(self._zoom / 100)
        self.page_layout.set_pages(pages)
        # A picture is never taller than a page's text (nor cut by a page break).
        self.images.max_height = print_geometry(float(self.logicalDpiY())).content
        if width_changed:
            self.page_layout.invalidate()  # Qt wraps every line again

    def page_status(self) -> tuple[int, int]:
        """(the page holding the caret, the number of pages), 1-based, without laying
        anything out: exact once :attr:`PageLayout.is_paginated` (or for a caret the view
        shows); until then the count is the last exact one. Pageless: (1, 1)."""
        self._sync_pages()
        if self._pageless:
            return 1, 1
        layout = self.page_layout
        current = layout.page_of(self.textCursor().position(), place=False)
        total = layout.page_count() if layout.is_paginated else self._page_status[1]
        return current, max(current, total)

    def page_count(self) -> int:
        """The number of pages of the whole document (paginates it if needed)."""
        self._sync_pages()
        return self.page_layout.page_count()

    def _report_pages(self) -> None:
        if self._pageless:
            return  # no pages (the last count stands until they are counted again)
        status = self.page_status()
        if status != self._page_status:
            self._page_status = status
            self.pageChanged.emit(*status)

    def _desk(self) -> tuple[QColor, QColor]:
        dark = self.palette().base().color().lightness() < 128
        desk, edge = DESK_COLORS[dark]
        return QColor(desk), QColor(edge)

    def _find_desk_rows(self, first: Any) -> list[tuple[float, float]]:
        """The desk between sheets (and below the last one), as viewport y ranges from
        the top of the widget to its bottom."""
        layout = self.page_layout
        pages, first_top = layout.pages, layout.block_top(first)
        if pages is None or first_top is None:
            return []
        shift = self.blockBoundingGeometry(first).translated(self.contentOffset()).top()
        shift -= first_top  # viewport y = content y + shift
        above = -float(self.viewport().y())
        below = float(self.height()) + above
        rows = list(pages.gaps(above - shift, below - shift))
        last = self.document().lastBlock()
        if self.page_layout.hides(last):
            last = last.previous()
        last_top = layout.block_top(last)
        end = None
        if last_top is not None and last_top + shift <= below and last.layout().lineCount():
            line = last.layout().lineAt(last.layout().lineCount() - 1)
            page = pages.page_at(last_top + line.y())
            end = pages.content_top(page) + pages.content + pages.bottom
            rows = [row for row in rows if row[0] < end]
            rows.append((end, max(end, below - shift)))
        return [(a + shift, b + shift) for a, b in rows]

    def _paint_desk(self, painter: QPainter, dy: float, width: float) -> None:
        """Paint the desk rows (moved down by ``dy``) across ``width``, with the sheets'
        edges above and below each."""
        desk, edge = self._desk()
        for start, end in self._desk_rows:
            rect = QRectF(0.0, start + dy, width, end - start)
            painter.fillRect(rect, desk)
            painter.fillRect(QRectF(0.0, rect.top(), width, 1.0), edge)
            if end - start < self.height():
                painter.fillRect(QRectF(0.0, rect.bottom() - 1.0, width, 1.0), edge)

    def _repaint_frame_desk(self, rows: list[tuple[float, float]]) -> None:
        """The desk rows moved: repaint the frame beside and above the viewport."""
        if rows == self._desk_rows:
            return
        self._desk_rows = rows
        viewport = self.viewport().geometry()
        left = QRect(0, 0, viewport.left(), self.height())
        right = QRect(viewport.right() + 1, 0, self.width() - viewport.right() - 1, self.height())
        for strip in (left, right, QRect(0, 0, self.width(), viewport.top())):
            if not strip.isEmpty():
                self.update(strip)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._sync_pages()
        first = self.firstVisibleBlock()
        top = self.blockBoundingGeometry(first).translated(self.contentOffset()).top()
        if self.page_layout.ensure_visible(first, top, float(self.viewport().height())):
            self.viewport().update()  # heights changed below what Qt is about to paint
        bar = self.verticalScrollBar()
        if bar.value() >= bar.maximum() and self._end_below_view():
            self._fit_scroll_range()  # the range was measured before the view's layout
        super().paintEvent(event)
        people = self._people()
        painter = QPainter(self.viewport())
        try:
            clip = event.rect()  # a keystroke repaints its paragraph: draw only there
            paint_list_markers(painter, self, LIST_GUTTER, clip)
            rows = self._find_desk_rows(first)
            self._repaint_frame_desk(rows)
            self._paint_desk(painter, 0.0, float(self.viewport().width()))
            if people:
                opacity = self._flag_opacity(time.monotonic())
                self._flags = paint_collaborators(painter, self, people, opacity, clip)
            else:
                self._flags = []
            marks = self._presence_marks(people, [f.rect for f in self._flags])
            self._presence_moved(event.region(), marks)
            self._resizer.paint(painter)
        finally:
            painter.end()
        if self._reveal_caret:
            self._reveal_caret = False
            self._scroll_caret_into_view()

    def _end_below_view(self) -> bool:
        last = self.document().lastBlock()
        bottom = self.blockBoundingGeometry(last).translated(self.contentOffset()).bottom()
        return bottom > self.viewport().height()

    def _last_screen_height(self) -> float:
        """The height Qt fits the last screenful in (it keeps a document margin spare)."""
        return self.viewport().height() - self.document().documentMargin() - 1

    def _extend_scroll_range(self, *_range: int) -> None:
        """Qt's scroll range (rangeChanged: Qt measured it, and bounds the scroll value
        by it next) can end short of the end of the document
        (:meth:`PageLayout.last_screen_line`): extend it to the last screenful measured
        the way the view shows it. Only measured: laying blocks out here would change
        line numbers while Qt maps its scroll value to a block."""
        if not self.isVisible():
            return  # Qt's range is then every line
        bar = self.verticalScrollBar()
        last = self.page_layout.last_screen_line(self._last_screen_height())
        if last > bar.maximum():
            bar.setMaximum(last)

    def _fit_scroll_range(self) -> None:
        """Give the last screenful the page layout, let Qt measure its range again (and
        the view find its line numbers again), and extend it as above (also when Qt's
        range came out as it was: no rangeChanged)."""
        self.page_layout.ensure_bottom(self._last_screen_height())
        self.page_layout.documentSizeChanged.emit(self.page_layout.documentSize())
        self._extend_scroll_range()

    def _follow_caret(self) -> None:
        """The background pagination placed blocks (heights, page breaks and line counts
        change, and with line counts the line Qt's scroll value names): the next paint
        brings back a caret the user had in view, unless they scrolled away since."""
        if self._following:
            self._reveal_caret = True

    def scrolled_by_user(self, _action: int) -> None:
        """The scroll bar, the wheel or a drag moved the view (the editor's own scrolls
        set the value and trigger no action): the caret is no longer followed. Also told
        by a scroll bar shown elsewhere for this view (the main window's)."""
        self._following = self._reveal_caret = False

    def _scroll_caret_into_view(self) -> None:
        """Qt scrolls by lines measured with its own (shorter) layout: after the user moved
        the caret, finish the job with the page layout's geometry, one line at a time,
        laying out the view at each step as the paint will (the blocks that come into
        view get their page layout, and taller). At the end of the scroll range with
        the caret still below, the range is measured again with the page layout."""
        bar = self.verticalScrollBar()
        view = self.viewport().rect()
        extended = False
        for _ in range(256):  # a screenful of lines at most; bounded whatever happens
            self._lay_out_view()
            rect = self.cursorRect()
            if rect.bottom() > view.bottom() and bar.value() < bar.maximum():
                bar.setValue(bar.value() + 1)
            elif rect.bottom() > view.bottom() and not extended:
                extended = True
                self._fit_scroll_range()
            elif rect.top() < 0 and bar.value() > bar.minimum():
                bar.setValue(bar.value() - 1)
            else:
                break
        self._following = self.viewport().rect().contains(self.cursorRect())

    # ------------------------------------------------------------------ name flags

    @property
    def flag_clock(self) -> FlagClock:
        """When collaborators' flags show and fade (replace it to change the timings)."""
        return self._flag_clock

    @flag_clock.setter
    def flag_clock(self, clock: FlagClock) -> None:
        self._flag_clock = clock
        self._presence_changed()

    def visible_flags(self) -> list[Flag]:
        """The name flags drawn by the last paint (viewport coordinates)."""
        return [flag for flag in self._flags if flag.opacity > 0]

    def _people(self) -> list[Collaborator]:
        presence = self._model.presence
        if presence is None:
            return []
        cached = self._people_cache
        if cached is not None and cached[0] is presence:
            return cached[1]
        people = presence.collaborators()
        self._people_cache = (presence, people)
        return people

    def _presence_changed(self) -> None:
        """A collaborator moved, came or went: repaint where their carets and flags were
        drawn and where they go now, not the whole view (a remote keystroke moves the
        typist's caret: repainting everything shown cost the reader ~1.5 ms per key).
        With a selection on either side (it can cover many lines), the whole view."""
        self._people_cache = None
        now = time.monotonic()
        people = self._people()
        for person in people:
            self._flag_clock.observe(person.client_id, person.anchor, person.head, now)
        self._flag_clock.forget_except({p.client_id for p in people})
        before = self._presence_painted
        flags = [rect for _, rect in flag_rects(self, people, self._flag_opacity(now))]
        after = self._presence_marks(people, flags)
        if before is None or after is None:
            self.viewport().update()
        else:
            for rect in before + after:
                self.viewport().update(rect)
        self._schedule_flags()

    def _presence_moved(self, painted: QRegion, marks: list[QRect] | None) -> None:
        """After a paint: where collaborators' carets and flags went since the last one.

        A paint draws them where they are now, but only inside its region: a keystroke
        repaints its paragraph, and a flag above a heading's caret, or a caret its line
        wrap moved, lies partly outside it. What moved outside the region (where a mark
        was, where it is) is repainted next, so nothing stays drawn where it no longer is.
        """
        before, self._presence_painted = self._presence_painted, marks
        if before is None or marks is None:
            if (before is None) != (marks is None):  # a selection came or went
                whole = QRegion(self.viewport().rect())
                if not whole.subtracted(painted).isEmpty():
                    self.viewport().update()
            return
        for rect in [r for r in before if r not in marks] + [r for r in marks if r not in before]:
            if not QRegion(rect).subtracted(painted).isEmpty():
                self.viewport().update(rect)

    def _presence_marks(
        self, people: list[Collaborator], flags: list[QRectF]
    ) -> list[QRect] | None:
        """The viewport rectangles of ``people``'s carets (with their top marks) and of
        their name ``flags``; None when someone has a selection."""
        marks: list[QRect] = []
        for person in people:
            if person.head is None:
                continue
            if person.anchor is not None and person.anchor != person.head:
                return None
            caret = caret_rect(self, person.head)
            marks.append(caret.adjusted(-4.0, -4.0, 6.0, 4.0).toAlignedRect())
        marks.extend(rect.toAlignedRect().adjusted(-1, -1, 1, 1) for rect in flags)
        return marks

    def _flag_opacity(self, now: float) -> Callable[[int], float]:
        """Each collaborator's flag opacity at ``now`` (hovered flags show)."""
        clock, hovered = self._flag_clock, self._hovered
        return lambda cid: clock.opacity(cid, now, hovered=cid == hovered)

    def _text_changed(self, pos: int, _removed: int, added: int) -> None:
        # Collaborators' carets are found again against the new text (each relative
        # position was found once and is carried through edits: no probe per keystroke).
        self._people_cache = None
        self._sync_phantom()
        if not self._flags and not self._flag_timer.isActive():
            presence = self._model.presence
            if presence is None or len(presence.awareness.states) <= 1:
                return  # alone: nothing to keep in place
        if self._binding.applying_remote:
            self._remote_edits.append((pos, pos + added))
        if not self._flag_refresh.isActive():
            self._flag_refresh.start()

    def _refresh_flags(self) -> None:
        """After an edit (laid out by now): a collaborator whose caret is where a remote
        edit happened is typing (show the flag); repaint flags that moved where they were
        and where they are, since Qt repainted only the edited lines."""
        now = time.monotonic()
        edits, self._remote_edits = self._remote_edits, []
        people = [p for p in self._people() if p.head is not None]
        for person in people:
            head = person.head if person.head is not None else -1
            if any(start <= head <= end for start, end in edits):
                self._flag_clock.touch(person.client_id, now)
        # Repaint only flags that moved, appeared or went: Qt repainted the edited lines
        # (carets included) itself, and an unneeded repaint delays the next keystroke.
        drawn = [(f.client_id, f.rect) for f in self._flags if f.opacity > 0]
        wanted = flag_rects(self, people, self._flag_opacity(now))
        if wanted != drawn:
            viewport = self.viewport()
            for _, rect in (*drawn, *wanted):
                viewport.update(rect.toAlignedRect().adjusted(-1, -1, 1, 1))
        self._schedule_flags()

    def _flags_tick(self) -> None:
        for flag in self._flags:
            self.viewport().update(flag.rect.toAlignedRect().adjusted(-1, -1, 1, 1))
        self._schedule_flags()

    def _schedule_flags(self) -> None:
        now = time.monotonic()
        if self._flag_clock.fading(now):
            wait: float | None = FADE_FRAME
        else:
            wait = self._flag_clock.next_change(now)
        if wait is None:
            return
        self._flag_timer.start(max(1, int(wait * 1000) + 1))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # A click on a checklist item's box ticks it (the caret stays where it was).
        if event.button() == Qt.MouseButton.LeftButton:
            point = QPointF(event.position())
            block = self.cursorForPosition(event.position().toPoint()).block()
            for candidate in (block, block.previous(), block.next()):
                box = checkbox_rect(self, candidate) if candidate.isValid() else None
                if box is not None and box.adjusted(-3, -3, 3, 3).contains(point):
                    self.toggle_checked(candidate.blockNumber())
                    event.accept()
                    return
            # A picture's handle (the drag starts), or a picture (it is selected).
            if self._resizer.press(point):
                event.accept()
                return
        was_last = self._in_last_block()
        super().mousePressEvent(event)
        if not was_last:
            self._keep_out_of_phantom()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # A double click on a picture keeps it selected (Qt would select a word there).
        if event.button() == Qt.MouseButton.LeftButton:
            if self._resizer.press(QPointF(event.position())):
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        left = bool(event.buttons() & Qt.MouseButton.LeftButton)
        if self._resizer.move(QPointF(event.position()), left):
            event.accept()  # a picture's corner dragged (no text selection)
            return
        super().mouseMoveEvent(event)
        self._point_at_links(event)
        if event.buttons() & Qt.MouseButton.LeftButton and self.textCursor().hasSelection():
            self._keep_out_of_phantom()  # a drag below the text end
        hovered = None
        if self._model.presence is not None and len(self._model.presence.awareness.states) > 1:
            point = QPointF(event.position())
            for flag in self._flags:
                if flag.rect.contains(point):
                    hovered = flag.client_id
            if hovered is None:
                for person in self._people():
                    if person.head is None:
                        continue
                    near = caret_rect(self, person.head).adjusted(-4, -4, 4, 4)
                    if near.contains(point):
                        hovered = person.client_id
                        break
        if hovered != self._hovered:
            if hovered is None and self._hovered is not None:
                self._flag_clock.touch(self._hovered, time.monotonic())  # fade from now
            self._hovered = hovered
            self.viewport().update()
            self._schedule_flags()

    def _point_at_links(self, event: QMouseEvent) -> None:
        """A pointing hand over a link while Ctrl is held: Ctrl+click opens it."""
        pointing = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier) and bool(
            self.anchorAt(event.position().toPoint())
        )
        if pointing != self._pointing:
            self._pointing = pointing
            shape = Qt.CursorShape.PointingHandCursor if pointing else Qt.CursorShape.IBeamCursor
            self.viewport().setCursor(shape)

    def close_binding(self) -> None:
        """Detach from the model (the window calls this when the document closes)."""
        self._binding.close()
