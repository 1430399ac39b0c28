"""The commented text in the page: a light yellow background under each open thread's text.

Drawn as the page's extra selections (Qt paints them under the text, in the layout the
page already has), recomputed when the threads or the text move. The thread whose text
holds the caret (or that was clicked in the panel) gets a stronger yellow.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from editor_app.qt.comments_model import CommentsModel

#: (open thread, active thread) backgrounds on a light page and on a dark one.
LIGHT = ("#fdf0b4", "#fbd96b")
DARK = ("#5a4a12", "#806616")


def comment_selections(
    editor: QPlainTextEdit, ranges: list[tuple[int, int, str]], active: str | None
) -> list[QTextEdit.ExtraSelection]:
    """One extra selection per ``(start, end, thread id)`` range (UTF-16 positions)."""
    dark = editor.palette().base().color().lightness() < 128
    plain, strong = DARK if dark else LIGHT
    last = max(editor.document().characterCount() - 1, 0)
    selections = []
    for start, end, thread_id in ranges:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(editor.document())
        cursor.setPosition(min(start, last))
        cursor.setPosition(min(end, last), QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        fmt = selection.format
        fmt.setBackground(QColor(strong if thread_id == active else plain))
        selection.format = fmt
        selections.append(selection)
    return selections


class CommentHighlighter(QObject):
    """Keeps the page's extra selections equal to the open threads' text."""

    def __init__(self, editor: QPlainTextEdit, model: CommentsModel) -> None:
        super().__init__(editor)
        self._editor = editor
        self._model = model
        self.active: str | None = None
        model.changed.connect(self.apply)
        self.apply()

    def set_active(self, thread_id: str | None) -> None:
        if thread_id != self.active:
            self.active = thread_id
            self.apply()

    def apply(self) -> None:
        ranges = self._model.highlights
        self._editor.setExtraSelections(comment_selections(self._editor, ranges, self.active))

    def thread_at(self, pos16: int) -> str | None:
        """The open thread whose text holds ``pos16`` (the innermost, if they nest)."""
        inside = [
            (end - start, tid) for start, end, tid in self._model.highlights if start <= pos16 < end
        ]
        return min(inside)[1] if inside else None
