"""Quill attributes <-> Qt formats: every attribute round-trips and the edge cases hold."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor, QTextDocument

from editor_app.core.schema import BLOCK_ATTRS, INLINE_ATTRS
from editor_app.qt import formats
from editor_app.qt.formats import (
    BOLD_WEIGHT,
    HEADING_WEIGHT,
    block_attrs,
    char_format,
    crdt_delta,
    document_delta,
    inline_attrs,
    list_kind,
    set_block_attrs,
    text_list,
    with_nulls,
)

INLINE_CASES = [
    {},
    {"bold": True},
    {"italic": True},
    {"underline": True},
    {"strike": True},
    {"link": "https://example.org/a?b=c"},
    {"bold": True, "italic": True, "underline": True, "strike": True, "link": "x:y"},
]


@pytest.mark.parametrize("attrs", INLINE_CASES)
@pytest.mark.parametrize("level", [None, 1, 2, 3])
def test_inline_attributes_round_trip_in_any_block(
    qapp: object, attrs: dict[str, object], level: int | None
) -> None:
    assert inline_attrs(char_format(attrs, level, 10.0)) == attrs


def test_heading_text_is_demibold_and_bold_inside_it_is_bold(qapp: object) -> None:
    plain = char_format({}, 1, 10.0)
    assert plain.fontWeight() == HEADING_WEIGHT
    assert plain.fontPointSize() == pytest.approx(10.0 * formats.HEADING_SCALE[1])
    assert "bold" not in inline_attrs(plain)
    bold = char_format({"bold": True}, 2, 10.0)
    assert bold.fontWeight() == BOLD_WEIGHT
    assert bold.fontPointSize() == pytest.approx(10.0 * formats.HEADING_SCALE[2])
    unbolded = formats.merge_inline(bold, {"bold": None}, 2, 10.0)
    assert unbolded.fontWeight() == HEADING_WEIGHT


def test_link_is_not_drawn_as_underline(qapp: object) -> None:
    fmt = char_format({"link": "https://q.example/"}, None, 10.0)
    assert not fmt.fontUnderline()
    removed = formats.merge_inline(fmt, {"link": None}, None, 10.0)
    assert inline_attrs(removed) == {}
    assert not removed.hasProperty(removed.Property.ForegroundBrush)


def _doc(text: str) -> QTextDocument:
    doc = QTextDocument()
    QTextCursor(doc).insertText(text)
    return doc


def _lines(doc: QTextDocument) -> list[dict[str, object]]:
    return [block_attrs(doc.findBlockByNumber(i)) for i in range(doc.blockCount())]


def test_block_attributes_set_and_clear(qapp: object) -> None:
    doc = _doc("a\nb\nc\nd")
    set_block_attrs(doc, doc.findBlockByNumber(0), {"header": 1})
    set_block_attrs(doc, doc.findBlockByNumber(1), {"list": "bullet"})
    set_block_attrs(doc, doc.findBlockByNumber(2), {"list": "ordered", "header": 3})
    assert _lines(doc) == [{"header": 1}, {"list": "bullet"}, {"header": 3, "list": "ordered"}, {}]
    first = doc.firstBlock().begin().fragment().charFormat()
    assert first.fontPointSize() == pytest.approx(
        formats.HEADING_SCALE[1] * formats.base_point_size(doc)
    )
    set_block_attrs(doc, doc.findBlockByNumber(0), {"header": None})
    set_block_attrs(doc, doc.findBlockByNumber(2), {"list": None, "header": None})
    assert _lines(doc) == [{}, {"list": "bullet"}, {}, {}]
    assert (
        not doc.firstBlock()
        .begin()
        .fragment()
        .charFormat()
        .hasProperty(first.Property.FontPointSize)
    )


def test_adjacent_list_items_share_one_list_and_split_when_one_leaves(qapp: object) -> None:
    doc = _doc("1\n2\n3\n4")
    blocks = [doc.findBlockByNumber(i) for i in range(4)]
    for block in (blocks[0], blocks[2], blocks[1]):  # the middle one joins both neighbours
        set_block_attrs(doc, block, {"list": "ordered"})
    lists = {id(text_list(b)) for b in blocks[:3]}
    first = text_list(blocks[0])
    assert first is not None and first.count() == 3 and len(lists) == 1
    set_block_attrs(doc, blocks[1], {"list": None})  # numbering restarts after a plain line
    after, before = text_list(blocks[2]), text_list(blocks[0])
    assert after is not None and before is not None
    assert after.itemNumber(blocks[2]) == 0 and before.count() == 1
    assert list_kind(after) == "ordered"
    assert text_list(blocks[3]) is None


def test_with_nulls_asserts_every_key() -> None:
    assert with_nulls({"bold": True, "header": 1}, INLINE_ATTRS) == {
        key: True if key == "bold" else None for key in sorted(INLINE_ATTRS)
    }
    assert with_nulls({}, BLOCK_ATTRS) == dict.fromkeys(sorted(BLOCK_ATTRS))


def test_document_and_crdt_deltas_have_the_same_shape(qapp: object) -> None:
    doc = _doc("ab\ncd")
    cursor = QTextCursor(doc)
    cursor.setPosition(0)
    cursor.setPosition(1, QTextCursor.MoveMode.KeepAnchor)
    cursor.setCharFormat(char_format({"bold": True}, None, 10.0))
    set_block_attrs(doc, doc.firstBlock(), {"header": 2})
    diff = [("a", {"bold": True}), ("b\n", {"header": 2.0}), ("cd", None)]
    expected = [("a", {"bold": True}), ("b", {}), ("\n", {"header": 2}), ("cd", {})]
    assert crdt_delta(diff) == expected
    assert document_delta(doc) == expected
