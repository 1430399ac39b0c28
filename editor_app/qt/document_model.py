"""DocumentModel: the Qt view-model over one open document (no network code, no widgets).

It owns the pieces every view of the document shares:

* the ``content`` Text, the ``meta`` Map and one :class:`~editor_app.core.offsets.TextIndex`
  that mirrors the content so UTF-16 (Qt, Yjs) <-> UTF-8 (pycrdt) conversions stay
  O(log n). The model is the ONLY observer that updates the index for changes that did not
  come from the local binding: it turns each such Text event into UTF-16 ops once
  (:func:`~editor_app.core.text_ops.delta_to_ops`) and hands them to its ops listeners (the Qt
  binding). Changes with origin ``LOCAL_EDIT`` already updated the index when the binding
  wrote them, so writers of ``LOCAL_EDIT`` changes to ``content`` must go through the
  binding; every other writer (imports, tests, the network) uses another origin and is
  mirrored into the widget like a collaborator's edit.
* undo/redo: a ``pycrdt.UndoManager`` over ``content`` that tracks only ``LOCAL_EDIT``
  transactions, so a collaborator's edits are never undone. Its own transactions carry the
  undo manager's origin, so the binding applies them to the widget like remote changes and
  the sync client sends them like local ones.
* title (``meta["title"]``; an untitled document is named after its first line once its
  author pauses, as Google Docs does: :data:`AUTO_TITLE_MS`), word count (throttled, and
  incremental per text chunk: never O(n) per keystroke), read-only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pycrdt
from PySide6.QtCore import QObject, Signal

from editor_app.core.offsets import TextIndex
from editor_app.core.schema import content as content_of
from editor_app.core.schema import meta as meta_of
from editor_app.core.text_ops import Op, delta_to_ops, mirror_text
from editor_app.core.titles import title_from_text
from editor_app.qt.timers import single_shot
from shared.origins import Origin, origin_matches

if TYPE_CHECKING:
    from editor_app.core.presence import PresenceTracker


OpsListener = Callable[[list[Op]], None]

#: Edits closer together than this become one undo step (Google Docs-like granularity).
UNDO_CAPTURE_MS = 500
#: The word count is recomputed at most this often while the text changes.
WORD_COUNT_THROTTLE_MS = 300
#: An untitled document is named after its first line when the person typing it has
#: paused this long (only the author's own edits start it: a collaborator's or a load's
#: never do, so two windows do not both write the title).
AUTO_TITLE_MS = 2_000


class DocumentModel(QObject):
    """View-model over one document: text mirror + ops fan-out, title, undo, word count.

    Args:
        doc: the document (already loaded or not: later loads arrive as ops).
        presence: optional presence tracker; can also be given later with
            :meth:`set_presence` (it needs :attr:`index`, which the model creates).
        index: an existing TextIndex mirroring ``content`` (default: built from it).
    """

    titleChanged = Signal(str)
    wordCountChanged = Signal(int)
    canUndoChanged = Signal(bool)
    canRedoChanged = Signal(bool)
    remotePresenceChanged = Signal()
    #: A view finished handling the user's input (a key press): what it changed may leave
    #: now. The app connects the sync client's ``flush``, so a typed character goes out
    #: before Qt repaints the window rather than an event-loop turn after it.
    inputHandled = Signal()
    readOnlyChanged = Signal(bool)

    def __init__(
        self,
        doc: pycrdt.Doc[Any],
        presence: PresenceTracker | None = None,
        parent: QObject | None = None,
        *,
        index: TextIndex | None = None,
    ) -> None:
        super().__init__(parent)
        self._doc = doc
        self._text = content_of(doc)
        self._meta = meta_of(doc)
        self._index = index if index is not None else TextIndex(mirror_text(self._text))
        self._ops_listeners: list[OpsListener] = []
        self._read_only = False
        self._undoing = False
        self._title = self._read_title()
        # Whether someone gave the title (here, in this session): then it is theirs, even
        # empty, and is never replaced by the first line.
        self._title_given = False
        self._word_count = self._index.word_count()
        self._can_undo = False
        self._can_redo = False
        self._presence: PresenceTracker | None = None
        self._presence_unsub: Callable[[], None] | None = None

        self._undo_clock_skip = 0  # ms added to the undo manager's clock (separate_undo_step)
        self._undo = pycrdt.UndoManager(
            scopes=[self._text],
            capture_timeout_millis=UNDO_CAPTURE_MS,
            timestamp=self._undo_clock,
        )
        self._undo.include_origin(Origin.LOCAL_EDIT)

        self._word_timer = single_shot(self, self._recount_words, WORD_COUNT_THROTTLE_MS)
        self._undo_timer = single_shot(self, self._refresh_undo_state)
        self._title_timer = single_shot(self, self._title_from_first_line, AUTO_TITLE_MS)

        self._closed = False
        # The raw (integrated) observer, not ``Text.observe``: pycrdt's wrapper computes every
        # event's delta eagerly, and yrs computes a delta by walking the text from its start
        # (~60 us per keystroke on a 100 kB, much-edited document; 4x the cost of the edit).
        # Local edits need no delta (the binding already updated the index), so we read it
        # only for changes that came from elsewhere.
        self._text_sub = self._text.integrated.observe(self._on_text_event)
        self._meta_sub = self._meta.observe(self._on_meta_event)
        if presence is not None:
            self.set_presence(presence)

    # ------------------------------------------------------------------ shared state

    @property
    def doc(self) -> pycrdt.Doc[Any]:
        return self._doc

    @property
    def text(self) -> pycrdt.Text:
        return self._text

    @property
    def index(self) -> TextIndex:
        return self._index

    @property
    def presence(self) -> PresenceTracker | None:
        return self._presence

    def set_presence(self, presence: PresenceTracker | None) -> None:
        """Attach (or detach, with None) the presence tracker whose changes we re-emit."""
        if self._presence_unsub is not None:
            self._presence_unsub()
            self._presence_unsub = None
        self._presence = presence
        if presence is not None:
            self._presence_unsub = presence.add_listener(self.remotePresenceChanged.emit)
        self.remotePresenceChanged.emit()

    def add_ops_listener(self, listener: OpsListener) -> Callable[[], None]:
        """Call ``listener(ops)`` synchronously for every content change that did not come
        from the local binding (remote, store load, undo/redo). Returns an unsubscribe."""
        self._ops_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._ops_listeners:
                self._ops_listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        """Stop observing the document (idempotent)."""
        if not self._closed:
            self._closed = True
            self._text_sub.drop()
            self._meta.unobserve(self._meta_sub)
        self.set_presence(None)
        self._word_timer.stop()
        self._undo_timer.stop()
        self._title_timer.stop()

    # ------------------------------------------------------------------ title

    def title(self) -> str:
        return self._title

    def set_title(self, title: str) -> None:
        if self._read_only:
            return
        self._title_given = True
        self._title_timer.stop()
        if title == self._read_title():
            return
        with self._doc.transaction(origin=Origin.LOCAL_EDIT):
            self._meta["title"] = title

    def _title_from_first_line(self) -> None:
        """The author paused: an untitled document takes its first line as its title."""
        if self._read_only or self._title_given or self._read_title():
            return
        title = title_from_text(str(self._text))
        if title:
            with self._doc.transaction(origin=Origin.LOCAL_EDIT):
                self._meta["title"] = title

    def _read_title(self) -> str:
        value = self._meta.get("title")
        return value if isinstance(value, str) else ""

    def _on_meta_event(self, _event: Any) -> None:
        title = self._read_title()
        if title != self._title:
            self._title = title
            self.titleChanged.emit(title)

    # ------------------------------------------------------------------ read-only

    @property
    def read_only(self) -> bool:
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        if value != self._read_only:
            self._read_only = value
            self.readOnlyChanged.emit(value)

    # ------------------------------------------------------------------ undo / redo

    def undo(self) -> bool:
        """Undo this user's last edit group; collaborators' edits are untouched."""
        return self._undo_step(self._undo.undo)

    def redo(self) -> bool:
        return self._undo_step(self._undo.redo)

    def separate_undo_step(self) -> None:
        """Make the next local edit start an undo step of its own.

        The undo manager joins edits less than UNDO_CAPTURE_MS apart (a burst of typing is
        one step), so a picture resized or a format applied right after typing was undone
        with the typing. pycrdt 0.14 has no "stop capturing" call; moving the manager's
        clock past its capture window is the same thing. Call it before a discrete action
        and after it (so the typing that follows is a step of its own too).
        """
        self._undo_clock_skip += UNDO_CAPTURE_MS + 1

    @contextmanager
    def undo_step(self) -> Iterator[None]:
        """Local edits made inside (through the binding) are one CRDT transaction and an
        undo step of their own: a command (a format, a moved picture), not typing."""
        self.separate_undo_step()
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            yield
        self.separate_undo_step()

    def _undo_clock(self) -> int:
        return time.monotonic_ns() // 1_000_000 + self._undo_clock_skip

    def _undo_step(self, step: Callable[[], bool]) -> bool:
        self._undoing = True
        try:
            done = not self._read_only and step()
        finally:
            self._undoing = False
        self._refresh_undo_state()
        return done

    @property
    def undoing(self) -> bool:
        """True while this user's own undo/redo is being applied (its ops are not a
        collaborator's)."""
        return self._undoing

    def can_undo(self) -> bool:
        return self._undo.can_undo()

    def can_redo(self) -> bool:
        return self._undo.can_redo()

    def _refresh_undo_state(self) -> None:
        can_undo, can_redo = self._undo.can_undo(), self._undo.can_redo()
        if can_undo != self._can_undo:
            self._can_undo = can_undo
            self.canUndoChanged.emit(can_undo)
        if can_redo != self._can_redo:
            self._can_redo = can_redo
            self.canRedoChanged.emit(can_redo)

    # ------------------------------------------------------------------ word count

    def word_count(self) -> int:
        """The word count as of the last (throttled) recount."""
        return self._word_count

    def _recount_words(self) -> None:
        count = self._index.word_count()
        if count != self._word_count:
            self._word_count = count
            self.wordCountChanged.emit(count)

    # ------------------------------------------------------------------ text events

    def _on_text_event(self, event: Any) -> None:
        """Raw yrs TextEvent (valid only during this call); its origin is ``hash(origin)``."""
        if not origin_matches(event.transaction.origin(), Origin.LOCAL_EDIT):
            ops = delta_to_ops(event.delta, self._index)
            for listener in list(self._ops_listeners):
                listener(ops)
        elif not self._title and not self._title_given:
            self._title_timer.start()  # again: named when the author pauses
        if not self._word_timer.isActive():
            self._word_timer.start()
        # The UndoManager updates its stacks after observers run: look once the event loop
        # is back, coalescing a burst of changes into one check.
        if not self._undo_timer.isActive():
            self._undo_timer.start()
