"""A picture on its own line gets the text's line spacing above it, not 15 % of its own
height (1.15 line spacing applied to a 450 px picture put 68 px of empty page above it;
Google Docs gives a picture's line the spacing of its text)."""

from __future__ import annotations

import pycrdt
from PySide6.QtGui import QTextBlock
from pytestqt.qtbot import QtBot

from editor_app.core.schema import content
from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_images import image_fragments, shown, small_png_url

PICTURE_HEIGHT = 450


def line_top(editor: EditorWidget, block: QTextBlock, line: int = 0) -> float:
    return editor.blockBoundingGeometry(block).top() + block.layout().lineAt(line).y()


def line_bottom(editor: EditorWidget, block: QTextBlock) -> float:
    layout = block.layout()
    last = layout.lineAt(layout.lineCount() - 1)
    return editor.blockBoundingGeometry(block).top() + last.y() + last.height()


def gap_above(editor: EditorWidget, number: int) -> float:
    """Empty page between the bottom of paragraph ``number - 1`` and the top of
    paragraph ``number``'s first line."""
    doc = editor.document()
    return line_top(editor, doc.findBlockByNumber(number)) - line_bottom(
        editor, doc.findBlockByNumber(number - 1)
    )


def test_a_picture_line_has_the_text_line_spacing_above_it(qtbot: QtBot) -> None:
    doc: pycrdt.Doc = pycrdt.Doc()
    text = content(doc)
    text.insert(0, "First paragraph\nSecond paragraph\n\nAfter the picture\nA x\n")
    picture = small_png_url("#34a853", (300, PICTURE_HEIGHT))
    text.insert_embed(len("First paragraph\nSecond paragraph\n"), {"image": picture}, {})
    # And a picture inside a line of text: "A <picture> x".
    text.insert_embed(len(text) - len(" x\n"), {"image": picture}, {"width": "200"})
    editor = shown(qtbot, doc)
    assert [p for p, _ in image_fragments(editor)] == [33, 54]
    qdoc = editor.document()
    picture_line = qdoc.findBlockByNumber(2).layout().lineAt(0)
    assert picture_line.height() >= PICTURE_HEIGHT  # the picture is on the line, full size
    text_gap = gap_above(editor, 1)  # between two paragraphs of text
    assert text_gap > 0
    # Above the picture: the same spacing as above a line of text (the paragraph space
    # and the 1.15 spacing of the text's height), not 15 % of 450 px more.
    assert gap_above(editor, 2) <= text_gap + 1
    # Below it, the next paragraph is spaced as after text.
    assert abs(gap_above(editor, 3) - text_gap) <= 1
    # A picture inside a line of text: that line too.
    mixed = qdoc.findBlockByNumber(4).layout().lineAt(0)
    assert mixed.height() >= 200 * PICTURE_HEIGHT / 300
    assert gap_above(editor, 4) <= text_gap + 1
