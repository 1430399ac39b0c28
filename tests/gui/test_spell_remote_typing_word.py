"""A collaborator typing without a pause: the word they are typing is not underlined.

Past REMOTE_CEILING_MS of non-stop typing their edits are checked anyway, all but the word
at the end of their latest edit (as in Google Docs, a half-typed word such as "wro" on its
way to "wrong" is not underlined on the other screen, nor flickers there): it is checked
at their pause, or at a later round once they moved on. The words they finished are
underlined at the ceiling.

Real EditorWidget bound to a real pycrdt document, real Hunspell dictionaries (skipped,
saying why, only where they are not installed). The collaborator is the peer replica of
test_spell_remote_quiet, typing one key every KEY_GAP_MS (never a pause) from a QTimer;
the test waits on conditions, with deadlines. A word being typed at the ceiling is kept
going (a long run of one letter or syllable) from well before it to well after it, so
that the ceiling's round falls inside it whatever the machine's load; or the collaborator
stops a set time before the ceiling (a precise timer, which Qt fires before the ceiling's
whatever the load, their expiries being in that order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.ui.spell_highlighter import REMOTE_CEILING_MS, REMOTE_CHECK_MS, Spelling
from tests.gui.conftest import spelling_or_skip
from tests.gui.test_spell_loading import squiggled
from tests.gui.test_spell_remote_quiet import EARLY, Typist, shown_editor

#: Keys of a word kept going across the ceiling (about 2.7 s at a key every 30 ms).
LONG_WORD = 90
#: Deadline (ms) for the ceiling's round to show on the line.
AT_CEILING = REMOTE_CEILING_MS + 5_000


@pytest.fixture
def english(english_spelling: Spelling) -> Spelling:
    return english_spelling


@pytest.fixture
def korean(tmp_path: Path) -> Spelling:
    return spelling_or_skip(tmp_path, ["en_US", "ko_KR"])


def _typist(qtbot: QtBot, spelling: Spelling, text: str) -> Typist:
    """A collaborator about to type ``text`` at the end of the document's one line."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    content(doc).insert(0, "first line\n", {})
    editor = shown_editor(qtbot, spelling, doc)
    return Typist(doc, len("first line"), text, editor.document().firstBlock())


def _precise_single_shot(interval_ms: int, slot: Callable[[], object]) -> QTimer:
    """A stopped single-shot timer, to the millisecond (a coarse one may fire 5 % off:
    100 ms at the ceiling)."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


def _last_word(typist: Typist) -> str:
    return typist.watch.text().split(" ")[-1]


def test_the_word_being_typed_waits_for_the_pause_the_finished_ones_do_not(
    qtbot: QtBot, english: Spelling
) -> None:
    typist = _typist(qtbot, english, " teh wrold wro" + "o" * LONG_WORD + "ng")
    typist.start()
    try:
        qtbot.waitUntil(lambda: "teh" in squiggled(typist.watch), timeout=AT_CEILING)
        # The ceiling's round: they are still typing, in the half word.
        assert not typist.done
        assert _last_word(typist).startswith("wroo")
        assert squiggled(typist.watch) == ["teh", "wrold"]
        qtbot.waitUntil(lambda: typist.done, timeout=20_000)
    finally:
        typist.timer.stop()
    word = "wro" + "o" * LONG_WORD + "ng"
    qtbot.waitUntil(lambda: squiggled(typist.watch) == ["teh", "wrold", word], timeout=10_000)
    assert time.perf_counter() - typist.last_key >= EARLY * REMOTE_CHECK_MS / 1000
    # Before each of their keys: never a piece of the word they were typing underlined.
    assert [at for at, seen in typist.seen if any(w.startswith("wroo") for w in seen)] == []


def test_a_word_left_behind_is_underlined_at_a_later_ceiling(
    qtbot: QtBot, english: Spelling
) -> None:
    word = "wro" + "o" * LONG_WORD + "ng"
    # Then on and on (about 20 s of keys), correct words: they never pause.
    typist = _typist(qtbot, english, " " + word + " and so on" * 70)
    typist.start()
    try:
        qtbot.waitUntil(lambda: word in squiggled(typist.watch), timeout=2 * AT_CEILING)
        assert not typist.done
        assert _last_word(typist) in {"a", "an", "and", "s", "so", "o", "on", ""}  # moved on
    finally:
        typist.timer.stop()
    keys_in_word = len(" " + word)
    assert typist.seen[keys_in_word - 2][0] >= EARLY * REMOTE_CEILING_MS / 1000  # spanned it
    assert [at for at, seen in typist.seen[: keys_in_word - 1] if seen] == []


def test_a_word_stopped_just_before_the_ceiling_is_underlined_at_the_pause(
    qtbot: QtBot, english: Spelling
) -> None:
    # They stop typing in the word 200 ms before the ceiling: its round still finds them
    # typing (no pause yet) and holds the word back, which their pause then checks.
    typist = _typist(qtbot, english, " teh wro" + "o" * LONG_WORD)
    stop = _precise_single_shot(REMOTE_CEILING_MS - 200, typist.timer.stop)
    typist.start()
    stop.start()
    try:
        qtbot.waitUntil(lambda: "teh" in squiggled(typist.watch), timeout=AT_CEILING)
        assert not typist.timer.isActive()
        assert squiggled(typist.watch) == ["teh"]  # the ceiling's round
    finally:
        typist.timer.stop()
    word = _last_word(typist)
    assert word.startswith("wroo")
    qtbot.waitUntil(lambda: squiggled(typist.watch) == ["teh", word], timeout=10_000)


def test_a_word_finished_with_a_space_just_before_the_ceiling_is_underlined_at_it(
    qtbot: QtBot, english: Spelling
) -> None:
    # They type spaces, then "wrold " and stop, 250 ms before the ceiling: its round finds
    # the end of their latest edit one past the word, which it no longer touches.
    typist = _typist(qtbot, english, " teh" + " " * LONG_WORD)

    def finish() -> None:
        typist.timer.stop()
        for key in "wrold ":
            typist.collaborator.insert(len(typist.watch.text().encode()), key)

    last_keys = _precise_single_shot(REMOTE_CEILING_MS - 250, finish)
    typist.start()
    last_keys.start()
    try:
        qtbot.waitUntil(lambda: "teh" in squiggled(typist.watch), timeout=AT_CEILING)
        assert typist.watch.text().endswith(" wrold ")
        assert squiggled(typist.watch) == ["teh", "wrold"]
    finally:
        typist.timer.stop()


def test_a_korean_word_composed_syllable_by_syllable_waits_for_the_pause(
    qtbot: QtBot, korean: Spelling
) -> None:
    # Hangul reaches a collaborator's screen a syllable at a time (the input method commits
    # each one): "됬다" is finished and misspelled, "한국어릏릏…" is being typed.
    typist = _typist(qtbot, korean, " 됬다 한국어" + "릏" * LONG_WORD)
    typist.start()
    try:
        qtbot.waitUntil(lambda: "됬다" in squiggled(typist.watch), timeout=AT_CEILING)
        assert not typist.done
        assert _last_word(typist).startswith("한국어릏")
        assert squiggled(typist.watch) == ["됬다"]
        qtbot.waitUntil(lambda: typist.done, timeout=20_000)
    finally:
        typist.timer.stop()
    word = "한국어" + "릏" * LONG_WORD
    qtbot.waitUntil(lambda: squiggled(typist.watch) == ["됬다", word], timeout=10_000)
    assert [at for at, seen in typist.seen if any(w.startswith("한국어") for w in seen)] == []
