"""A done checklist item's text is struck through, as Google Docs shows it (issue 13 QA);
drawn by the editor, not stored: the CRDT holds no ``strike`` the user did not set.

Real parts: a real pycrdt document with the items as Quill stores them, the real editor
widget (offscreen) and its real decoration painter, drawn on a transparent image so only
the decorations are in it.
"""

from __future__ import annotations

import pycrdt
from PySide6.QtGui import QImage, QTextBlock
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import LIST_GUTTER
from editor_app.ui.remote_cursors import paint_list_markers
from tests.gui.test_binding import make_editor
from tests.gui.test_clipped_decorations import painted, top

ITEMS = [
    ("Buy milk and bread", "checked"),
    ("엄마한테 전화하기 🦊", "unchecked"),
    ("Write the café report, then a very long sentence that wraps " * 3, "checked"),
]


def longest_ink_run(image: QImage, y: int, x0: int, x1: int) -> int:
    """The longest run of painted pixels on row ``y`` between ``x0`` and ``x1``."""
    best = run = 0
    for x in range(x0, x1):
        run = run + 1 if image.pixelColor(x, y).alpha() > 0 else 0
        best = max(best, run)
    return best


def struck_rows(editor_image: QImage, block: QTextBlock, block_top: float) -> list[int]:
    """For each line of ``block``: the longest painted run across its text's middle band."""
    layout = block.layout()
    runs = []
    for i in range(layout.lineCount()):
        line = layout.lineAt(i)
        x0, x1 = int(line.x()), int(line.x() + line.naturalTextWidth())
        middle = block_top + line.y() + line.ascent()
        band = range(int(middle - line.ascent() * 0.6), int(middle))
        runs.append(max(longest_ink_run(editor_image, y, x0, x1) for y in band))
    return runs


def test_done_items_are_struck_through_on_every_line_and_only_on_screen(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    text = content(doc)
    for line, kind in ITEMS:
        text += line
        text.insert(len(text.to_py().encode()), "\n", {"list": kind})
    editor = make_editor(qtbot, doc)
    editor.resize(500, 400)
    editor.show()
    qtbot.waitExposed(editor)
    image = painted(
        editor, editor.viewport().rect(), lambda p: paint_list_markers(p, editor, LIST_GUTTER)
    )
    blocks = [editor.document().findBlockByNumber(i) for i in range(len(ITEMS))]
    for block, (_line, kind) in zip(blocks, ITEMS, strict=True):
        layout = block.layout()
        widths = [layout.lineAt(i).naturalTextWidth() for i in range(layout.lineCount())]
        runs = struck_rows(image, block, top(editor, block))
        if kind == "checked":  # a line through all of each line's text
            assert all(run >= width - 2 for run, width in zip(runs, widths, strict=True)), runs
        else:
            assert runs == [0] * len(runs)
    assert blocks[2].layout().lineCount() > 1  # the wrapped item: struck on every line
    assert all("strike" not in attrs for _piece, attrs in crdt_delta(text.diff()))
