"""Spell check as you type in the real editor: squiggles, suggestions, dictionary, toggle.

Real EditorWidget bound to a real pycrdt document, real Hunspell dictionaries (skipped,
saying why, only where they are not installed; CI installs them)."""

from __future__ import annotations

from pathlib import Path

import pycrdt
import pytest
from PySide6.QtGui import QTextBlock, QTextCharFormat
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.qt.document_model import DocumentModel
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.spell_highlighter import Spelling
from tests.e2e.harness import place_cursor
from tests.gui.conftest import spelling_or_skip
from tests.gui.test_binding import remote_edit, type_text

SPELL = QTextCharFormat.UnderlineStyle.SpellCheckUnderline


@pytest.fixture
def spelling(tmp_path: Path) -> Spelling:
    return spelling_or_skip(tmp_path, ["en_US", "ko_KR"])


def _editor(qtbot: QtBot, spelling: Spelling, doc: pycrdt.Doc | None = None) -> EditorWidget:
    editor = EditorWidget(DocumentModel(doc or pycrdt.Doc()), spelling=spelling)
    qtbot.addWidget(editor)
    editor.resize(700, 500)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def squiggles(block: QTextBlock) -> list[tuple[int, int]]:
    """(start, length) of the block's spelling underlines."""
    return [
        (r.start, r.length) for r in block.layout().formats() if r.format.underlineStyle() == SPELL
    ]


def test_typed_word_is_underlined_once_the_caret_leaves_it(
    qtbot: QtBot, spelling: Spelling
) -> None:
    editor = _editor(qtbot, spelling)
    type_text(editor, "Hello 한국어 wrold")
    block = editor.document().firstBlock()
    assert squiggles(block) == []  # still typing it
    type_text(editor, " is")
    assert squiggles(block) == [(10, 5)]  # "wrold", after "Hello 한국어 "
    assert block.text()[10:15] == "wrold"
    # Hangul: a misspelled Korean word gets its own underline once left.
    type_text(editor, " 한국어릏")
    place_cursor(editor, 0, 0)
    assert squiggles(block) == [(10, 5), (19, 4)]


def test_suggestion_replaces_the_word_in_the_shared_text(qtbot: QtBot, spelling: Spelling) -> None:
    doc = pycrdt.Doc()
    editor = _editor(qtbot, spelling, doc)
    type_text(editor, "A wrold of text.")
    place_cursor(editor, 0, 0)
    block = editor.document().firstBlock()
    assert squiggles(block) == [(2, 5)]
    cursor = editor.textCursor()
    cursor.setPosition(4)
    point = editor.cursorRect(cursor).center()
    menu = editor.context_menu(point)
    texts = [a.text() for a in menu.actions()]
    assert "world" in texts[:5]
    assert "Add to dictionary" in texts and "Ignore" in texts
    next(a for a in menu.actions() if a.text() == "world").trigger()
    assert str(content(doc)) == "A world of text."
    peer = pycrdt.Doc()
    peer.apply_update(doc.get_update())
    assert str(content(peer)) == "A world of text."  # what collaborators get
    assert squiggles(editor.document().firstBlock()) == []


def test_add_to_dictionary_clears_the_underline_and_persists(
    qtbot: QtBot, spelling: Spelling, tmp_path: Path
) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "Coscribe writes. Coscribe syncs.\nplain line\n", {})
    editor = _editor(qtbot, spelling, doc)
    block = editor.document().firstBlock()
    assert squiggles(block) == [(0, 8), (17, 8)]
    cursor = editor.textCursor()
    cursor.setPosition(3)
    menu = editor.context_menu(editor.cursorRect(cursor).center())
    next(a for a in menu.actions() if a.text() == "Add to dictionary").trigger()
    assert squiggles(editor.document().firstBlock()) == []
    assert Spelling(tmp_path, ["en_US"]).checker is not None
    assert Spelling(tmp_path, ["en_US"]).checker.check("Coscribe")  # type: ignore[union-attr]


def test_collaborators_edits_are_checked_a_moment_later(qtbot: QtBot, spelling: Spelling) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "first line\nsecond line\n", {})
    editor = _editor(qtbot, spelling, doc)
    remote_edit(doc, lambda text: text.insert(6, "wrold "))
    first = editor.document().firstBlock()
    assert first.text() == "first wrold line"
    assert squiggles(first) == []  # not in the keystroke's own relayout
    qtbot.waitUntil(lambda: squiggles(first) == [(6, 5)])


def test_toggle_off_removes_every_underline(qtbot: QtBot, spelling: Spelling) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "wrold one\nfine\nteh end\n", {})
    editor = _editor(qtbot, spelling, doc)
    doc_ = editor.document()
    assert squiggles(doc_.findBlockByNumber(0)) == [(0, 5)]
    assert squiggles(doc_.findBlockByNumber(2)) == [(0, 3)]
    action = spelling.toggle_action(editor)
    assert action.isChecked()
    action.trigger()
    assert not spelling.enabled
    block = doc_.firstBlock()
    while block.isValid():
        assert squiggles(block) == []
        block = block.next()
    cursor = editor.textCursor()
    cursor.setPosition(2)
    menu = editor.context_menu(editor.cursorRect(cursor).center())
    assert "Add to dictionary" not in [a.text() for a in menu.actions()]
    action.trigger()
    assert squiggles(doc_.findBlockByNumber(0)) == [(0, 5)]
    # Remembered: a new run reads the setting.
    action.trigger()
    assert not Spelling(spelling_dir(spelling)).enabled


def spelling_dir(spelling: Spelling) -> Path:
    checker = spelling.checker
    assert checker is not None
    return checker.personal_path.parent


def test_unavailable_spell_check_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    spelling = Spelling(tmp_path, ["xx_NOPE"])
    assert spelling.checker is None and spelling.unavailable
    editor = _editor(qtbot, spelling)
    type_text(editor, "wrold ")
    assert editor.spell is None
    action = spelling.toggle_action(editor)
    assert not action.isEnabled()
    assert action.text().startswith("Spell check unavailable: ")


def test_page_layout_places_a_restyled_block(qtbot: QtBot, spelling: Spelling) -> None:
    """A block whose underline changes outside an edit is laid out by the page again."""
    doc = pycrdt.Doc()
    content(doc).insert(0, "para one\n" * 5 + "wrold here\n" + "para two\n" * 5, {})
    editor = _editor(qtbot, spelling, doc)
    block = editor.document().findBlockByNumber(5)
    qtbot.waitUntil(lambda: editor.page_layout.block_top(block) is not None)
    before = editor.page_layout.block_top(block), block.layout().lineAt(0).y()
    spelling.add_word("wrold")
    assert squiggles(block) == []
    editor.viewport().repaint()
    assert (editor.page_layout.block_top(block), block.layout().lineAt(0).y()) == before
