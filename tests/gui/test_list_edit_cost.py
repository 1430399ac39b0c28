"""An edit inside a long list costs the lines it touches, not the whole list.

When a line joins or leaves a Qt list (Enter or Backspace in an item), Qt renumbers the
list and reports ALL its items as changed. The binding used to assert every reported
line's formats into the CRDT: ~0.4 s per Enter in the middle of a 1 MB bulleted list
(``bench``-style script: 370-600 ms -> 22-56 ms). Items Qt only renumbered are now left
out; the CRDT still mirrors the widget exactly.

The cost is read from ``TextIndex.conversions`` (every format asserted converts its range),
which does not depend on the machine's speed.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors
from tests.gui.test_long_numbered_lists import as_one_list, pasted

ITEMS = 600
#: Conversions one edit may cost: the touched lines and their neighbours (asserting the
#: whole list costs thousands).
BUDGET = 120


def _middle_item(editor: EditorWidget, offset: int = 5) -> int:
    block = editor.document().findBlockByNumber(1 + ITEMS // 2 + 40)
    assert block.textList() is not None
    return block.position() + offset


def _cost(editor: EditorWidget, qtbot: QtBot, key: Qt.Key) -> int:
    before = editor.model.index.conversions
    qtbot.keyClick(editor, key)
    return editor.model.index.conversions - before


@pytest.mark.parametrize("kind", ["bullet", "ordered", "checked"])
@pytest.mark.parametrize("shape", ["pasted", "one list"])
def test_enter_and_backspace_inside_a_long_list(qtbot: QtBot, kind: str, shape: str) -> None:
    """Enter in the middle of an item, Backspace that joins it again, Backspace at the
    start of the next item (joining two items), and Enter at the end of an item: each
    costs a few lines (fails when the whole list is asserted), and the CRDT mirrors the
    widget after each."""
    make = pasted if shape == "pasted" else as_one_list
    editor = make(qtbot, kind, ITEMS)
    place_cursor(editor, _middle_item(editor))
    costs = {}
    costs["enter"] = _cost(editor, qtbot, Qt.Key.Key_Return)
    assert_mirrors(editor)
    costs["join again"] = _cost(editor, qtbot, Qt.Key.Key_Backspace)
    assert_mirrors(editor)
    place_cursor(editor, editor.textCursor().block().next().position())
    costs["join items"] = _cost(editor, qtbot, Qt.Key.Key_Backspace)
    assert_mirrors(editor)
    cursor = editor.textCursor()
    place_cursor(editor, cursor.block().position() + cursor.block().length() - 1)
    costs["enter at end"] = _cost(editor, qtbot, Qt.Key.Key_Return)
    assert_mirrors(editor)
    assert all(cost < BUDGET for cost in costs.values()), costs


@pytest.mark.parametrize("shape", ["pasted", "one list"])
def test_leaving_a_list_in_its_middle(qtbot: QtBot, shape: str) -> None:
    """Enter on an empty item, Backspace at an item's start, and the list command on one
    line take that line out of the list (Quill): the list is split in two and the line is
    plain, in the widget and in the CRDT, for the cost of a few lines (Qt reports the
    whole list changed)."""
    editor = (pasted if shape == "pasted" else as_one_list)(qtbot, "bullet", ITEMS)
    place_cursor(editor, _middle_item(editor, offset=0))
    qtbot.keyClick(editor, Qt.Key.Key_End)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    costs = {"enter on an empty item": _cost(editor, qtbot, Qt.Key.Key_Return)}
    assert editor.textCursor().block().textList() is None
    assert_mirrors(editor)
    place_cursor(editor, editor.textCursor().block().next().next().position())
    costs["backspace at an item's start"] = _cost(editor, qtbot, Qt.Key.Key_Backspace)
    assert editor.textCursor().block().textList() is None
    assert_mirrors(editor)
    place_cursor(editor, editor.textCursor().block().next().next().position() + 3)
    before = editor.model.index.conversions
    editor.toggle_list("bullet")
    costs["list command on one line"] = editor.model.index.conversions - before
    assert editor.textCursor().block().textList() is None
    assert_mirrors(editor)
    assert all(cost < BUDGET for cost in costs.values()), costs
