"""Collaborators' edits are spell-checked once they pause, each block once: the reader's
event loop stays free for their next keystrokes.

Real EditorWidget bound to a real pycrdt document, real Hunspell dictionaries (skipped,
saying why, only where they are not installed). The collaborator is a peer replica whose
keystrokes reach the editor one update each, with the REMOTE origin, as the sync client
delivers them; a typing one is driven by a QTimer (its cadence is the collaborator's, not
a wait of the test: the test waits on conditions, with deadlines).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pycrdt
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextBlock
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.qt.document_model import DocumentModel
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.spell_highlighter import REMOTE_CEILING_MS, REMOTE_CHECK_MS, Spelling
from shared.origins import Origin
from tests.gui.conftest import spelling_or_skip
from tests.gui.test_spell_loading import squiggled

#: The collaborator's typing cadence (ms): well under REMOTE_CHECK_MS, so never a pause.
KEY_GAP_MS = 30
#: Qt may fire a (coarse) timer up to 5 % early.
EARLY = 0.95


@pytest.fixture
def spelling(tmp_path: Path) -> Spelling:
    return spelling_or_skip(tmp_path, ["en_US"])


def shown_editor(qtbot: QtBot, spelling: Spelling, doc: pycrdt.Doc) -> EditorWidget:
    editor = EditorWidget(DocumentModel(doc), spelling=spelling)
    qtbot.addWidget(editor)
    editor.resize(700, 500)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


class Collaborator:
    """A peer replica of ``doc``: each of its edits reaches ``doc`` as its own update with
    the REMOTE origin (a keystroke from the relay)."""

    def __init__(self, doc: pycrdt.Doc) -> None:
        self.doc = doc
        self.peer = pycrdt.Doc()
        self.peer.apply_update(doc.get_update())

    def insert(self, index: int, text: str) -> None:
        """Insert ``text`` at ``index`` (pycrdt counts UTF-8 bytes)."""
        before = self.peer.get_state()
        content(self.peer).insert(index, text)
        with self.doc.transaction(origin=Origin.REMOTE):
            self.doc.apply_update(self.peer.get_update(before))


class Typist:
    """A collaborator typing ``text`` at ``index`` (pycrdt's: UTF-8 bytes), one key every
    KEY_GAP_MS, noting before each key when it was and what the watched line had
    underlined."""

    def __init__(self, doc: pycrdt.Doc, index: int, text: str, watch: QTextBlock) -> None:
        self.collaborator = Collaborator(doc)
        self.index = index
        self.text = text
        self.watch = watch
        self.typed = 0
        self.first_key = 0.0
        self.last_key = 0.0
        self.seen: list[tuple[float, list[str]]] = []  # (since the first key, underlined)
        self.timer = QTimer()
        self.timer.setInterval(KEY_GAP_MS)
        self.timer.timeout.connect(self._key)

    def start(self) -> None:
        self.first_key = time.perf_counter()
        self._key()
        self.timer.start()

    @property
    def done(self) -> bool:
        return self.typed == len(self.text)

    def _key(self) -> None:
        if self.done:
            self.timer.stop()
            return
        now = time.perf_counter()
        if self.typed:
            self.seen.append((now - self.first_key, squiggled(self.watch)))
        at = self.index + len(self.text[: self.typed].encode())
        self.collaborator.insert(at, self.text[self.typed])
        self.typed += 1
        self.last_key = now


def test_a_collaborators_words_are_underlined_once_they_pause(
    qtbot: QtBot, spelling: Spelling
) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "first line\nsecond line\n", {})
    editor = shown_editor(qtbot, spelling, doc)
    line = editor.document().findBlockByNumber(1)
    words = "so teh wrold is thier own and heer "  # 35 keys: ~1 s, over 2 x the pause
    typist = Typist(doc, len("first line\nsecond line"), " " + words, line)
    typist.start()
    qtbot.waitUntil(lambda: typist.done, timeout=20_000)
    # Nothing was checked while they typed: every key came before the pause was over
    # (and before the ceiling: past it a check is due even without a pause).
    ceiling = EARLY * REMOTE_CEILING_MS / 1000
    assert [seen for at, seen in typist.seen if at < ceiling and seen] == []
    qtbot.waitUntil(lambda: squiggled(line) == ["teh", "wrold", "thier", "heer"], timeout=10_000)
    assert time.perf_counter() - typist.last_key >= EARLY * REMOTE_CHECK_MS / 1000


def test_a_non_stop_typists_words_are_underlined_within_the_ceiling(
    qtbot: QtBot, spelling: Spelling
) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "first line\n", {})
    editor = shown_editor(qtbot, spelling, doc)
    line = editor.document().firstBlock()
    # Long enough to type for the whole wait (about 15 s): they never pause.
    typist = Typist(doc, len("first line"), " wrold" + " and so on" * 50, line)
    typist.start()
    try:
        qtbot.waitUntil(lambda: "wrold" in squiggled(line), timeout=REMOTE_CEILING_MS + 5_000)
        assert not typist.done  # still typing: underlined without a pause
        assert time.perf_counter() - typist.first_key >= EARLY * REMOTE_CEILING_MS / 1000
    finally:
        typist.timer.stop()


def test_a_round_checks_each_block_once_however_many_keys_it_got(
    qtbot: QtBot, spelling: Spelling, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "first line\nuntouched\nthird line\n", {})
    editor = shown_editor(qtbot, spelling, doc)
    spell = editor.spell
    assert spell is not None
    checked: Counter[int] = Counter()
    misspelled = spell.misspelled

    def counting(block: QTextBlock) -> list[tuple[int, int]]:
        checked[block.blockNumber()] += 1
        return misspelled(block)

    monkeypatch.setattr(spell, "misspelled", counting)
    collaborator = Collaborator(doc)
    # Keys at the end of the first line and at the start of the third, in turn (two
    # collaborators): 20 keystrokes in each block.
    end_of_first = len("first line")
    start_of_third = len("first line\nuntouched\n")
    for i, (a, b) in enumerate(zip(" wrold and", "teh start ", strict=True)):
        collaborator.insert(end_of_first + i, a)
        collaborator.insert(start_of_third + 2 * i + 1, b)
    doc_ = editor.document()
    first, third = doc_.findBlockByNumber(0), doc_.findBlockByNumber(2)
    assert first.text() == "first line wrold and"
    assert third.text() == "teh start third line"
    qtbot.waitUntil(
        lambda: squiggled(first) == ["wrold"] and squiggled(third) == ["teh"],
        timeout=10_000,
    )
    spell.check_now()  # anything still waiting would be checked now, and counted
    assert checked == Counter({0: 1, 2: 1})
