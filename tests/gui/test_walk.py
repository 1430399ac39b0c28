"""editor_app.qt.walk: a block's fragments and a document's blocks as Python iterators,
read off real Qt documents (what every hand-written ``begin()``/``next()`` loop gave)."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor, QTextDocument, QTextImageFormat

from editor_app.core.offsets import EMBED_CHAR
from editor_app.qt import formats, walk

SIZE = 11.0


def test_fragments_are_the_runs_of_one_format_with_the_image_its_own(qapp: object) -> None:
    doc = QTextDocument()
    doc.setPlainText("first line")
    cursor = QTextCursor(doc.lastBlock())
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    cursor.insertBlock()
    start = cursor.position()
    cursor.insertText("plain ", formats.char_format({}, None, SIZE))
    cursor.insertText("bold", formats.char_format({"bold": True}, None, SIZE))
    picture = QTextImageFormat()
    picture.setName("coscribe-image:test")
    cursor.insertImage(picture)
    cursor.insertText(" tail", formats.char_format({"italic": True}, None, SIZE))

    frags = list(walk.fragments(doc.findBlock(start)))

    assert [f.text() for f in frags] == ["plain ", "bold", EMBED_CHAR, " tail"]
    assert [f.position() for f in frags] == [start, start + 6, start + 10, start + 11]
    assert [f.charFormat().isImageFormat() for f in frags] == [False, False, True, False]
    assert [formats.inline_attrs(f.charFormat()) for f in frags if f.text() != EMBED_CHAR] == [
        {},
        {"bold": True},
        {"italic": True},
    ]


def test_an_empty_block_has_no_fragments(qapp: object) -> None:
    assert list(walk.fragments(QTextDocument().firstBlock())) == []


def test_blocks_from_the_first_or_from_a_given_block_to_the_last(qapp: object) -> None:
    doc = QTextDocument()
    doc.setPlainText("one\ntwo\nthree\nfour")

    assert [b.text() for b in walk.blocks(doc)] == ["one", "two", "three", "four"]
    assert [b.text() for b in walk.blocks(doc, doc.findBlockByNumber(2))] == ["three", "four"]
    assert [b.text() for b in walk.blocks(doc, doc.lastBlock())] == ["four"]
    assert [b.text() for b in walk.blocks(QTextDocument())] == [""]
