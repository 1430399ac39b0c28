"""Spell check as you type: red wavy underlines under misspelled words, checked per block.

:class:`Spelling` is the application's one spell checker (:mod:`editor_app.core.spelling`,
Hunspell through Enchant, everything local) with its on/off setting; every editor's
:class:`SpellHighlighter` uses it, so "Add to dictionary" in one window clears the word's
underline in all of them.

The underline is a layout format of the block (``QTextLayout.setFormats``, what
``QSyntaxHighlighter`` does; the document's own formats, which are the CRDT's, are
untouched). Not ``QSyntaxHighlighter`` itself: a format change inside an edit widens Qt's
change range to two blocks, and Qt answers that with a relayout of both and a repaint of
the whole view, on every keystroke (measured: a remote keystroke with the next loop turn
0.6 -> 3.8 ms in ``bench/editor_bench.py --part keystrokes-shown``). So the user's own edit
is checked in its ``contentsChange`` (its block, O(block); only a changed underline costs
that repaint: the word being typed is held back), and a load and a paste after it, in
slices. Collaborators' edits are checked once they pause (or every REMOTE_CEILING_MS while
they type without one), each block they touched once however many keystrokes it got, in
slices of about CHECK_SLICE: the reader's event loop is then free for their next
keystrokes, which are what they wait for. Outside an edit Qt lays a restyled block out
again its own way without telling the page layout, so the block goes to
:meth:`PageLayout.restyle` first.

As in Google Docs, the word being typed is not underlined until the caret leaves it; a
collaborator's too: a round at the ceiling (they are still typing) holds back the word at
the end of their latest edit until their pause, or until a later round finds they moved on.

The application's dictionaries load on a worker thread (Korean alone takes about 0.85 s,
which on the UI thread froze the window as a document opened): until they are here the
document has no underlines and typing costs nothing extra; then every highlighter checks
its whole document, in slices. Nothing on the worker touches Qt: :class:`Spelling` polls
the load from a timer it owns, so a window, or the :class:`Spelling` itself, closed
meanwhile gets no call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextLayout,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit

from editor_app.core.paths import active_data_dir
from editor_app.core.spelling import (
    PERSONAL_FILE,
    DictionaryLoad,
    DictionaryLoader,
    SpellChecker,
    SpellCheckUnavailable,
    load_dictionaries,
)
from editor_app.qt.settings import Settings
from editor_app.qt.timers import single_shot
from editor_app.ui.page_layout import PageLayout

UNDERLINE_COLOR = "#d93025"
#: Collaborators' edits are checked once no edit of theirs arrived for this long (ms), all
#: together: their half-typed words do not flicker, and a keystroke does not pay for the
#: repaint a changed underline costs (Qt lays an underlined block out again). Checking
#: every REMOTE_CHECK_MS after the first edit instead put a check in the way of the
#: keystrokes of someone typing without a pause (1 MB apart bench: 30 rounds in 300 keys,
#: slices up to 10 ms).
REMOTE_CHECK_MS = 400
#: ... but no later than this (ms) after the first edit not checked yet: the words of
#: someone who types without pausing are underlined too.
REMOTE_CEILING_MS = 2_000
#: An edit adding more than this many characters (a load, a paste) is checked after it,
#: from its start, in slices.
BIG_EDIT = 20_000
#: A slice checks blocks until it has taken this long (s), then the event loop turns (a
#: block is not cut: one that overruns ends the slice).
CHECK_SLICE = 0.002
#: Block ranges of collaborators' edits remembered before they are merged into one range.
MAX_PENDING = 256
#: How many of the latest block ranges waiting a collaborator's edit is compared with
#: (typing: the same block, keystroke after keystroke); the check merges them all anyway.
_RECENT = 4
#: How often (ms) :class:`Spelling` looks whether its background load has finished.
LOAD_POLL_MS = 20
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class Spelling(QObject):
    """The spell checker of the application (or why there is none) and its on/off switch.

    ``background``: load the dictionaries (with ``loader``, default
    :func:`~editor_app.core.spelling.load_dictionaries`) on a worker thread instead of in
    the constructor. Meanwhile :attr:`checker` exists but is not ready: nothing is
    underlined and :attr:`enabled` is false; then :attr:`checker` is ready (or None, with
    :attr:`unavailable` saying why) and ``ready`` is emitted.

    Signals:
        enabledChanged(bool): spell check was switched on or off.
        wordAccepted(str): a word was added to the dictionary or ignored.
        ready(): the dictionaries loaded in the background are here (or turned out
            unavailable).
    """

    enabledChanged = Signal(bool)
    wordAccepted = Signal(str)
    ready = Signal()

    def __init__(
        self,
        data_dir: Path,
        languages: list[str] | None = None,
        parent: QObject | None = None,
        *,
        background: bool = False,
        loader: DictionaryLoader = load_dictionaries,
    ) -> None:
        super().__init__(parent)
        self._settings = Settings(data_dir)
        self.checker: SpellChecker | None = None
        self.unavailable: str | None = None
        self._load: DictionaryLoad | None = None
        personal = data_dir / PERSONAL_FILE
        if background:
            self.checker = SpellChecker(personal)
            self._load = load = DictionaryLoad(languages, loader)
            # Destroyed while loading: the worker frees what it loads (no callback here).
            self.destroyed.connect(lambda *_: load.cancel())
            self._poll = QTimer(self)
            self._poll.setInterval(LOAD_POLL_MS)
            self._poll.timeout.connect(self._take_dictionaries)
            self._poll.start()
        else:
            try:
                self.checker = SpellChecker(personal, loader(languages))
            except SpellCheckUnavailable as exc:
                self.unavailable = str(exc)
        self._on = self._settings.spell_check

    @property
    def loading(self) -> bool:
        """Whether the dictionaries are still loading in the background."""
        return self._load is not None

    def _take_dictionaries(self) -> None:
        load = self._load
        if load is None or not load.done():
            return
        self._poll.stop()
        self._load = None
        try:
            dictionaries = load.take()
        except SpellCheckUnavailable as exc:
            self.checker = None
            self.unavailable = str(exc)
        else:
            if self.checker is not None:
                self.checker.attach(dictionaries)
        self.ready.emit()

    @property
    def enabled(self) -> bool:
        """Whether words are being checked (switched on, and a checker is available with
        its dictionaries loaded)."""
        return self._on and self.checker is not None and self.checker.ready

    @property
    def switched_on(self) -> bool:
        """The user's choice (*View ▸ Spell check*, remembered), whatever the checker."""
        return self._on

    def set_enabled(self, on: bool) -> None:
        if on != self._on:
            self._on = on
            self._settings.spell_check = on
            self.enabledChanged.emit(on)

    def add_word(self, word: str) -> None:
        """Add ``word`` to the personal dictionary (kept in the data directory)."""
        if self.checker is not None:
            self.checker.add(word)
            self.wordAccepted.emit(word)

    def ignore_word(self, word: str) -> None:
        """Accept ``word`` everywhere until the app quits."""
        if self.checker is not None:
            self.checker.ignore(word)
            self.wordAccepted.emit(word)

    def toggle_action(self, parent: QObject) -> QAction:
        """*View ▸ Spell check*: checkable, remembered; disabled (saying why) if
        spell check cannot run here."""
        return SpellCheckAction(self, parent)


class SpellCheckAction(QAction):
    """*View ▸ Spell check* for ``spelling``. A QAction of its own so that the answer of a
    background load reaches only a live action (Qt drops the connection with it)."""

    def __init__(self, spelling: Spelling, parent: QObject) -> None:
        super().__init__("&Spell check", parent)
        self._spelling = spelling
        self.setObjectName("spellCheck")
        self.setCheckable(True)
        self.setChecked(spelling.switched_on and spelling.checker is not None)
        self.toggled.connect(spelling.set_enabled)
        spelling.enabledChanged.connect(self.setChecked)
        spelling.ready.connect(self._show_state)
        self._show_state()

    def _show_state(self) -> None:
        spelling = self._spelling
        checker = spelling.checker
        if checker is None:
            self.setText(f"Spell check unavailable: {spelling.unavailable}")
            self.setToolTip("")
            self.setEnabled(False)
            blocked = self.blockSignals(True)  # unchecked here, not switched off for good
            self.setChecked(False)
            self.blockSignals(blocked)
        elif not checker.ready:
            self.setToolTip("Underline misspelled words (loading the dictionaries…)")
        else:
            self.setToolTip("Underline misspelled words (" + ", ".join(checker.languages) + ")")


_shared: Spelling | None = None


def shared_spelling() -> Spelling:
    """The application's :class:`Spelling` (made on first use, in the data directory the
    application resolved; its dictionaries load in the background)."""
    global _shared
    if _shared is None:
        _shared = Spelling(active_data_dir(), background=True)
    return _shared


def _utf16_ranges(text: str, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Code point ranges of ``text`` as UTF-16 ones (Qt's positions)."""
    if text.isascii() or _ASTRAL.search(text) is None:
        return ranges

    def u16(cp: int) -> int:
        return len(text[:cp].encode("utf-16-le")) // 2

    return [(u16(a), u16(b)) for a, b in ranges]


def _touching(ranges: list[tuple[int, int]], offset: int) -> tuple[int, int] | None:
    """The range of ``ranges`` that ``offset`` is in or at an end of: the word being typed
    there (a caret, or the end of an edit, right after its last letter)."""
    return next(((start, end) for start, end in ranges if start <= offset <= end), None)


class SpellHighlighter(QObject):
    """Underlines the misspelled words of ``editor``'s document (layout formats).

    Made before the document is loaded (the load is then checked inside its own edit).
    """

    def __init__(self, editor: QPlainTextEdit, layout: PageLayout, spelling: Spelling) -> None:
        super().__init__(editor)
        self._editor = editor
        self._doc = editor.document()
        self._layout = layout
        self.spelling = spelling
        self._format = QTextCharFormat()
        self._format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self._format.setUnderlineColor(QColor(UNDERLINE_COLOR))
        self._is_remote: Callable[[], bool] | None = None
        self._held: QTextCursor | None = None  # the word being typed, not underlined yet
        # Where collaborators' latest edit ended (Qt moves it through later edits): the word
        # touching it is the one they are typing, held back while the round under way is
        # one of a collaborator still typing (started at the ceiling, not at a pause).
        self._remote_end = QTextCursor(self._doc)
        self._typing = False
        # Block ranges (a cursor from the first block's start to the last block's start,
        # which Qt moves through later edits): collaborators' edits waiting for their pause,
        # and the round being checked in slices (sorted, apart: each block once).
        self._pending: list[QTextCursor] = []
        self._queue: list[QTextCursor] = []
        self._pause = single_shot(self, self._paused, REMOTE_CHECK_MS)
        self._ceiling = single_shot(self, self._still_typing, REMOTE_CEILING_MS)
        self._next_slice = single_shot(self, self._check_slice, 0)
        spelling.enabledChanged.connect(self._recheck_all)
        spelling.wordAccepted.connect(self._recheck_word)
        spelling.ready.connect(self._dictionaries_ready)
        editor.cursorPositionChanged.connect(self._caret_moved)
        self._doc.contentsChange.connect(self._changed)

    def check_after_others(self) -> None:
        """Hear of edits after every handler connected so far (the binding's): the user's
        keystroke is sent before it is spell-checked (~0.3 ms sooner on its way), and the
        underlines are still set before Qt lays the edit out (Qt emits ``contentsChange``
        to every handler first). Attached before the load, the load is checked in its own
        edit; this moves the handler after the binding made for that load."""
        self._doc.contentsChange.disconnect(self._changed)
        self._doc.contentsChange.connect(self._changed)

    def follow_caret(self, is_remote: Callable[[], bool]) -> None:
        """From now on, hold back the underline of the word the user is typing, and
        check a collaborator's edits (``is_remote`` tells them) a moment later."""
        self._is_remote = is_remote

    # ------------------------------------------------------------------ checking

    def misspelled(self, block: QTextBlock) -> list[tuple[int, int]]:
        """UTF-16 ranges (in the block) of ``block``'s misspelled words."""
        checker = self.spelling.checker
        text = block.text()
        if checker is None or not text or not self.spelling.enabled:
            return []
        return _utf16_ranges(text, checker.misspelled(text))

    def _changed(self, pos: int, _removed: int, added: int) -> None:
        if (
            not self.spelling.enabled
            and self._held is None
            and not self._pending
            and not self._queue
        ):
            return
        # Qt counts the document's closing paragraph separator in a change that reaches
        # the end (Ctrl+A then a paste reports (0, n, n) with characterCount() == n), so
        # ``pos + added`` is one past the last position there. The edit ends at the end:
        # unclamped, setPosition refused it (a warning) and left an empty range, so only
        # the first line of such a paste was ever checked.
        end = min(pos + added, self._doc.characterCount() - 1)
        big = added > BIG_EDIT  # a load or a paste: checked in slices, after it
        block = self._doc.findBlock(pos)
        last = self._doc.findBlock(end)
        if big:
            self._queue = self._rounded([*self._queue, self._blocks(block, last)])
            self._next_slice.start()
            return
        if self._is_remote is not None and self._is_remote():
            self._remote_end.setPosition(end)
            self._wait(block, last)
            return
        while block.isValid():
            self._apply(block, in_edit=True)
            if block == last:
                break
            block = block.next()

    def _wait(self, first: QTextBlock, last: QTextBlock) -> None:
        """Blocks ``first``-``last`` (a collaborator's edit) wait for their pause."""
        if not self._waiting(first, last):
            self._pending.append(self._blocks(first, last))
            if len(self._pending) > MAX_PENDING:
                self._pending = self._rounded(self._pending)
                if len(self._pending) > MAX_PENDING:
                    self._pending = [self._merged(self._pending)]
        self._pause.start()  # again: checked once they pause...
        if not self._ceiling.isActive():
            self._ceiling.start()  # ... or type this long without one

    def _blocks(self, first: QTextBlock, last: QTextBlock) -> QTextCursor:
        """The block range ``first``-``last``: from ``first``'s start to ``last``'s."""
        cursor = QTextCursor(self._doc)
        cursor.setPosition(first.position())
        cursor.setPosition(last.position(), QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def _ends(self, cursor: QTextCursor) -> tuple[QTextBlock, QTextBlock]:
        """The first and last blocks of ``cursor``'s range, as the document is now."""
        return self._doc.findBlock(cursor.selectionStart()), self._doc.findBlock(
            cursor.selectionEnd()
        )

    def _waiting(self, first: QTextBlock, last: QTextBlock) -> bool:
        """Whether blocks ``first``-``last`` are in one of the latest ranges waiting."""
        for cursor in self._pending[-_RECENT:]:
            start, end = self._ends(cursor)
            if start.position() <= first.position() and last.position() <= end.position():
                return True
        return False

    def _rounded(self, cursors: list[QTextCursor]) -> list[QTextCursor]:
        """``cursors``' blocks as few block ranges, sorted and apart (touching ones
        joined): whatever edits overlapped, each block is in one range, once."""
        spans: list[tuple[int, int]] = []
        for cursor in cursors:
            first, last = self._ends(cursor)
            if first.isValid() and last.isValid():
                spans.append((first.position(), last.position() + last.length()))
        spans.sort()
        joined: list[list[int]] = []
        for start, end in spans:
            if joined and start <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], end)
            else:
                joined.append([start, end])
        return [
            self._blocks(self._doc.findBlock(start), self._doc.findBlock(end - 1))
            for start, end in joined
        ]

    def _merged(self, cursors: list[QTextCursor]) -> QTextCursor:
        """One range from the first of ``cursors``' blocks to the last."""
        return self._blocks(
            self._doc.findBlock(min(c.selectionStart() for c in cursors)),
            self._doc.findBlock(max(c.selectionEnd() for c in cursors)),
        )

    def _apply(self, block: QTextBlock, *, in_edit: bool) -> None:
        """Give ``block`` the underlines of its misspelled words. Inside an edit the
        edit's relayout lays them out; outside, the block is laid out again (O(block))."""
        layout = block.layout()
        if layout is None or layout.preeditAreaText():
            return  # an input method is composing here: checked when it commits
        ranges = self.misspelled(block)
        if in_edit and self._held is not None and self._held.block() == block:
            self._held = None
        if in_edit and ranges and self._is_remote is not None:
            caret = self._editor.textCursor().position() - block.position()
            word = _touching(ranges, caret)
            if word is not None:  # the word being typed
                start, end = word
                held = QTextCursor(block)
                held.setPosition(block.position() + start)
                held.setPosition(block.position() + end, QTextCursor.MoveMode.KeepAnchor)
                self._held = held
                ranges = [r for r in ranges if r != word]
        if not in_edit and ranges and self._typing:
            ranges = self._without_remote_word(block, ranges)
        if [(r.start, r.length) for r in layout.formats()] == [(a, b - a) for a, b in ranges]:
            return
        formats = []
        for start, end in ranges:
            item = QTextLayout.FormatRange()
            item.start, item.length, item.format = start, end - start, self._format
            formats.append(item)
        if in_edit:
            layout.setFormats(formats)  # laid out by the edit's own relayout
            return
        self._layout.restyle(block)
        layout.setFormats(formats)
        self._doc.markContentsDirty(block.position(), 1)

    def _without_remote_word(
        self, block: QTextBlock, ranges: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """``ranges`` but the word a collaborator still typing is at (the end of their
        latest edit touches it), in ``block``: it waits for their pause instead."""
        end = self._remote_end.position() - block.position()
        word = _touching(ranges, end) if 0 <= end < block.length() else None
        if word is None:
            return ranges
        self._wait(block, block)
        return [r for r in ranges if r != word]

    def _paused(self) -> None:
        """Collaborators paused: check the blocks they touched, every word."""
        self._start_round(typing=False)

    def _still_typing(self) -> None:
        """Collaborators typed REMOTE_CEILING_MS without a pause: check the blocks they
        touched but the word they are typing."""
        self._start_round(typing=True)

    def _start_round(self, *, typing: bool) -> None:
        """Check the blocks collaborators touched, each once, beginning now."""
        self._typing = typing
        self._take_pending()
        self._check_slice()

    def _take_pending(self) -> None:
        """Join the collaborators' edits waiting to the round (their timers are done)."""
        self._pause.stop()
        self._ceiling.stop()
        if self._pending:
            self._queue = self._rounded(self._queue + self._pending)
            self._pending = []

    def _forget_waiting(self) -> None:
        """Drop the collaborators' edits waiting and the round under way (the whole
        document is about to be checked)."""
        self._pause.stop()
        self._ceiling.stop()
        self._next_slice.stop()
        self._pending = []
        self._queue = []
        self._typing = False

    def _check_slice(self, budget: float | None = CHECK_SLICE) -> None:
        """Check the round's blocks, in order, until ``budget`` seconds have passed after
        a block (then the rest on the next event-loop turn), or all of them."""
        deadline = None if budget is None else time.perf_counter() + budget
        while self._queue:
            cursor = self._queue[0]
            block, last = self._ends(cursor)
            while block.isValid():
                self._apply(block, in_edit=False)
                if block == last:
                    break
                block = block.next()
                if deadline is not None and time.perf_counter() > deadline:
                    self._queue[0] = self._blocks(block, last)
                    self._next_slice.start()
                    return
            self._queue.pop(0)
            if self._queue and deadline is not None and time.perf_counter() > deadline:
                self._next_slice.start()
                return
        self._typing = False  # the round is over

    def check_now(self) -> None:
        """Check collaborators' edits now instead of a moment later, as at their pause
        (tests)."""
        self._typing = False
        self._take_pending()
        self._next_slice.stop()
        self._check_slice(None)

    def _caret_moved(self) -> None:
        held = self._held
        if held is None:
            return
        caret = self._editor.textCursor().position()
        if held.selectionStart() <= caret <= held.selectionEnd():
            return
        self._held = None
        self._apply(held.block(), in_edit=False)

    def _dictionaries_ready(self) -> None:
        """The dictionaries arrived: check the whole document, in slices (nothing was
        underlined while they loaded)."""
        if not self.spelling.enabled or self._doc.isEmpty():
            return
        self._forget_waiting()
        self._queue = [self._blocks(self._doc.firstBlock(), self._doc.lastBlock())]
        self._next_slice.start()

    def _recheck_all(self) -> None:
        checker = self.spelling.checker
        if checker is None or not checker.ready:
            return  # nothing is underlined yet; _dictionaries_ready checks everything
        self._held = None
        self._forget_waiting()
        block = self._doc.firstBlock()
        while block.isValid():
            self._apply(block, in_edit=False)
            block = block.next()

    def _recheck_word(self, word: str) -> None:
        """Only the blocks holding ``word`` (found by Qt, any case) can change."""
        blocks: list[QTextBlock] = []
        found = self._doc.find(word, 0)
        while not found.isNull():
            block = found.block()
            if not blocks or blocks[-1] != block:
                blocks.append(block)
            found = self._doc.find(word, found.position())
        for block in blocks:
            self._apply(block, in_edit=False)

    # ------------------------------------------------------------------ the menu

    def word_at(self, position: int) -> tuple[int, int, str] | None:
        """The misspelled word at document ``position``: (start, end, word), or None."""
        if not self.spelling.enabled:
            return None
        doc = self._editor.document()
        block = doc.findBlock(position)
        offset = position - block.position()
        for start, end in self.misspelled(block):
            if start <= offset <= end:
                cursor = QTextCursor(block)
                cursor.setPosition(block.position() + start)
                cursor.setPosition(block.position() + end, QTextCursor.MoveMode.KeepAnchor)
                return block.position() + start, block.position() + end, cursor.selectedText()
        return None

    def add_menu_actions(self, menu: QMenu, position: int) -> None:
        """Put up to five corrections, "Add to dictionary" and "Ignore" at the top of
        ``menu`` when a misspelled word is at ``position``."""
        found = self.word_at(position)
        checker = self.spelling.checker
        if found is None or checker is None:
            return
        start, end, word = found
        first = menu.actions()[0] if menu.actions() else None
        actions: list[QAction] = []
        suggestions = checker.suggest(word)
        bold = QFont(menu.font())
        bold.setBold(True)
        for suggestion in suggestions:
            action = QAction(suggestion, menu)
            action.setFont(bold)
            action.setEnabled(not self._editor.isReadOnly())
            action.triggered.connect(lambda *_, s=suggestion: self.replace(start, end, word, s))
            actions.append(action)
        if not suggestions:
            none = QAction("No spelling suggestions", menu)
            none.setEnabled(False)
            actions.append(none)
        add = QAction("Add to dictionary", menu)
        add.setObjectName("spellAdd")
        add.triggered.connect(lambda *_: self.spelling.add_word(word))
        ignore = QAction("Ignore", menu)
        ignore.setObjectName("spellIgnore")
        ignore.triggered.connect(lambda *_: self.spelling.ignore_word(word))
        actions += [add, ignore]
        if first is None:
            menu.addActions(actions)
            return
        menu.insertActions(first, actions)
        menu.insertSeparator(first)

    def replace(self, start: int, end: int, word: str, correction: str) -> None:
        """Replace ``word`` at ``start``-``end`` with ``correction``, as one edit (if the
        word is still there: a collaborator may have changed it meanwhile)."""
        doc: QTextDocument = self._editor.document()
        cursor = QTextCursor(doc)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        if cursor.selectedText() != word or self._editor.isReadOnly():
            return
        fmt = QTextCursor(doc)
        fmt.setPosition(start + 1)
        cursor.insertText(correction, fmt.charFormat())
        self._editor.setTextCursor(cursor)
