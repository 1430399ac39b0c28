"""Tab and Shift+Tab in lists (issue 13 QA), as in Google Docs and Quill: Tab at the start
of a list item nests it one level deeper (Quill's ``indent``), Shift+Tab anywhere in a
list item or indented line takes it one level out; a Tab elsewhere types a tab.

Real parts: real pycrdt documents, the real editor widget (offscreen), keys sent as the
keyboard sends them; what is checked is what the CRDT holds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, type_text
from tests.gui.test_list_autofill import delta

SHIFT = Qt.KeyboardModifier.ShiftModifier


def lines(editor: EditorWidget) -> list[tuple[str, object, object]]:
    """(text, list, indent) of each line the CRDT ends with a newline."""
    out, text = [], ""
    for piece, attrs in delta(editor.model.doc):
        if piece == "\n":
            out.append((text, attrs.get("list"), attrs.get("indent")))
            text = ""
        else:
            text += piece
    return out


def start_of(editor: EditorWidget, number: int) -> int:
    return editor.document().findBlockByNumber(number).position()


def test_tab_at_an_items_start_nests_it_and_shift_tab_takes_it_out(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "* 사과\n배\n귤")
    place_cursor(editor, start_of(editor, 1))
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert lines(editor) == [("사과", "bullet", None), ("배", "bullet", 2), ("귤", "bullet", None)]
    place_cursor(editor, start_of(editor, 1) + 1)  # anywhere in the item
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert lines(editor)[1] == ("배", "bullet", 1)
    assert_mirrors(editor)


def test_tab_over_lines_selected_across_items_nests_them_all(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "1. one\ntwo\nthree")
    place_cursor(editor, start_of(editor, 1) + 1, start_of(editor, 2) + 2)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert [indent for _text, _kind, indent in lines(editor)] == [None, 1, 1]
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert [indent for _text, _kind, indent in lines(editor)] == [None, None, None]
    assert_mirrors(editor)


def test_a_tab_elsewhere_types_a_tab(qtbot: QtBot) -> None:
    """In the middle of an item, and in a plain line (Shift+Tab there changes nothing)."""
    editor = make_editor(qtbot)
    type_text(editor, "plain\n* item")
    place_cursor(editor, start_of(editor, 1) + 2)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    place_cursor(editor, start_of(editor, 0))
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert lines(editor) == [("\tplain", None, None), ("it\tem", "bullet", None)]
    assert_mirrors(editor)


def test_backspace_at_a_nested_lines_start_takes_it_out_a_level_first(qtbot: QtBot) -> None:
    """As Quill's "outdent backspace" and Google Docs: the item stays an item until it is
    at the first level, where Backspace ends the list as before; a plain line with an
    indent is outdented the same way."""
    editor = make_editor(qtbot)
    type_text(editor, "* 하나\n둘")
    place_cursor(editor, start_of(editor, 1))
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    for indent in (1, None):
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
        assert lines(editor)[1] == ("둘", "bullet", indent)
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    assert lines(editor)[1] == ("둘", None, None)  # out of the list, not joined yet
    assert_mirrors(editor)


def test_enter_on_an_empty_nested_item_takes_it_out_a_level(qtbot: QtBot) -> None:
    """Quill's "list empty enter", Google Docs: Enter, Enter in a nested list climbs one
    level at a time, then ends the list."""
    editor = make_editor(qtbot)
    type_text(editor, "1. one\n")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    type_text(editor, "deep\n")  # a new empty item at the same level
    assert lines(editor)[-1] == ("", "ordered", 2)
    for indent in (1, None):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        assert lines(editor)[-1] == ("", "ordered", indent)
    type_text(editor, "two")
    assert lines(editor)[-1] == ("two", "ordered", None)
    assert_mirrors(editor)
