"""The user's keystroke leaves before it is spell-checked (issue 13, keystroke latency):
the binding hears of Qt's edit first and sends it (``DocumentModel.inputHandled``, which
the app connects to the sync client's flush); the spell check underlines the word after,
still before Qt lays the edit out.

Real parts: a real pycrdt document, the real editor widget (shown offscreen) with real
Hunspell dictionaries (skipped, saying why, only where they are not installed), keys sent
as the keyboard sends them.
"""

from __future__ import annotations

import pycrdt
from pytestqt.qtbot import QtBot

from editor_app.ui.spell_highlighter import Spelling
from tests.gui.test_binding import type_text
from tests.gui.test_spell_loading import squiggled
from tests.gui.test_spell_remote_quiet import shown_editor


def test_the_keystroke_is_sent_before_its_word_is_underlined(
    qtbot: QtBot, english_spelling: Spelling
) -> None:
    editor = shown_editor(qtbot, english_spelling, pycrdt.Doc())
    block = editor.document().firstBlock()
    type_text(editor, "the wrold")
    underlined_when_sent: list[list[str]] = []
    editor.model.inputHandled.connect(lambda: underlined_when_sent.append(squiggled(block)))
    type_text(editor, " ")  # the word is done: the space's edit checks it
    assert underlined_when_sent == [[]]  # sent first
    assert squiggled(block) == ["wrold"]  # then checked, in the same key
