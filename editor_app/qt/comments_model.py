"""CommentsModel: the Qt view-model over a document's comment threads (no widgets).

It wraps the Qt-free :class:`~editor_app.core.comments.Comments` and turns "something
changed" into one ``changed`` signal, throttled: a change of the threads arrives inside
pycrdt's observer (where positions cannot be computed) and a keystroke moves every anchor
after it, so the threads are read again once the event loop is back, at most every
:data:`REFRESH_MS`. Views read :attr:`threads` and :attr:`highlights`, which are that
snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from editor_app.core.comments import Anchors, Comments, Message, Thread
from editor_app.qt.document_model import DocumentModel
from editor_app.qt.timers import single_shot

T = TypeVar("T")

#: Threads are re-read at most this often while the text or the threads change.
REFRESH_MS = 120


class CommentsModel(QObject):
    """The threads of one document for its views, and the actions on them.

    Args:
        document: the document's view-model (its doc, text and index).
        author: the name written as ``author`` (presence ``user.name``), asked per write.
    """

    changed = Signal()
    canCommentChanged = Signal(bool)

    def __init__(
        self, document: DocumentModel, author: Callable[[], str], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.comments = Comments(document.doc, document.text, document.index, author)
        self._threads: list[Thread] = []
        self._can_comment = True
        self._timer = single_shot(self, self.refresh, REFRESH_MS)
        comments = self.comments
        unsubscribe = (
            comments.add_listener(self.schedule_refresh),
            document.add_ops_listener(lambda _ops: self.schedule_refresh()),
        )

        def release(*_: object) -> None:
            for unsub in unsubscribe:
                unsub()
            comments.close()

        self._release = release
        # Deleted with its window: stop observing the document first (no self in here).
        self.destroyed.connect(release)
        self.refresh()

    def close(self) -> None:
        """Stop observing the document (idempotent; also done when the model is deleted)."""
        self._timer.stop()
        self._release()

    # ----------------------------------------------------------------- snapshot

    @property
    def threads(self) -> list[Thread]:
        """Every thread, in document order, as of the last refresh."""
        return self._threads

    def find(self, thread_id: str) -> Thread | None:
        return next((t for t in self._threads if t.id == thread_id), None)

    @property
    def highlights(self) -> list[tuple[int, int, str]]:
        """(start, end, thread id) of the text of every open thread that is still there."""
        return [
            (t.start, t.end, t.id)
            for t in self._threads
            if not t.resolved and not t.text_deleted and t.start is not None and t.end is not None
        ]

    def schedule_refresh(self) -> None:
        """Read the threads again soon (the text or the threads changed)."""
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        threads = self.comments.threads()
        if threads != self._threads:
            self._threads = threads
            self.changed.emit()

    # ----------------------------------------------------------------- who may

    @property
    def can_comment(self) -> bool:
        return self._can_comment

    def set_can_comment(self, allowed: bool) -> None:
        if allowed != self._can_comment:
            self._can_comment = allowed
            self.canCommentChanged.emit(allowed)

    def is_mine(self, message: Message) -> bool:
        return self.comments.is_mine(message)

    # ----------------------------------------------------------------- actions

    def anchors(self, start16: int, end16: int) -> Anchors:
        return self.comments.anchors(start16, end16)

    def open_thread(self, anchors: Anchors, text: str) -> str | None:
        return self._write(lambda: self.comments.open_thread(anchors, text))

    def reply(self, thread_id: str, text: str) -> str | None:
        return self._write(lambda: self.comments.reply(thread_id, text))

    def set_resolved(self, thread_id: str, resolved: bool) -> bool:
        return bool(self._write(lambda: self.comments.set_resolved(thread_id, resolved)))

    def edit_message(self, thread_id: str, message_id: str, text: str) -> bool:
        return bool(self._write(lambda: self.comments.edit_message(thread_id, message_id, text)))

    def delete_message(self, thread_id: str, message_id: str) -> bool:
        return bool(self._write(lambda: self.comments.delete_message(thread_id, message_id)))

    def _write(self, write: Callable[[], T]) -> T | None:
        """Run a write if this link may comment, then show its result at once."""
        if not self._can_comment:
            return None
        result = write()
        self._timer.stop()
        self.refresh()
        return result
