"""Quill 2's whole format set, stored exactly as Quill/y-quill store it (issue 13, part B).

Each attribute goes Qt -> CRDT (typed/formatted in the widget) and CRDT -> Qt (a peer's
update), and the widget shows it (the Qt property that draws it is checked)."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from PySide6.QtGui import QTextBlockFormat, QTextCharFormat
from pytestqt.qtbot import QtBot

from editor_app.qt import formats
from editor_app.qt.formats import block_attrs, char_format, crdt_delta, inline_attrs
from tests.gui.test_binding import assert_mirrors, make_editor, remote_edit

NEW_INLINE: list[dict[str, Any]] = [
    {"font": "serif"},
    {"font": "monospace"},
    {"size": "small"},
    {"size": "large"},
    {"size": "huge"},
    {"color": "#e60000"},
    {"color": "rgb(0, 138, 0)"},
    {"background": "#ffff00"},
    {"script": "super"},
    {"script": "sub"},
    {"code": True},
    {"bold": True, "color": "#0066cc", "background": "#facccc", "size": "large"},
    {"link": "https://q.example/", "color": "#9933ff"},
]
NEW_BLOCK: list[dict[str, Any]] = [
    {"header": 4},
    {"header": 5},
    {"header": 6},
    {"align": "center"},
    {"align": "right"},
    {"align": "justify"},
    {"indent": 1},
    {"indent": 8},
    {"blockquote": True},
    {"code-block": True},
    {"list": "checked"},
    {"list": "unchecked"},
    {"list": "bullet", "indent": 2},
    {"header": 2, "align": "center"},
]


@pytest.mark.parametrize("attrs", NEW_INLINE)
@pytest.mark.parametrize("level", [None, 1, formats.CODE_BLOCK])
def test_inline_formats_read_back_exactly(qapp: object, attrs: Any, level: Any) -> None:
    assert inline_attrs(char_format(attrs, level, 11.0)) == attrs


def test_inline_formats_are_drawn(qapp: object) -> None:
    base = 11.0
    assert char_format({"size": "huge"}, None, base).fontPointSize() == pytest.approx(27.5)
    assert char_format({"color": "#e60000"}, None, base).foreground().color().name() == "#e60000"
    assert char_format({"background": "#ffff00"}, None, base).background().color().name() == (
        "#ffff00"
    )
    sup = char_format({"script": "super"}, None, base).verticalAlignment()
    assert sup == QTextCharFormat.VerticalAlignment.AlignSuperScript
    code = char_format({"code": True}, None, base)
    assert "Mono" in code.fontFamilies()[0] or "mono" in code.fontFamilies()[0]
    assert "Serif" in char_format({"font": "serif"}, None, base).fontFamilies()[0]


@pytest.mark.parametrize("attrs", NEW_BLOCK)
def test_block_formats_both_ways(qtbot: QtBot, attrs: dict[str, Any]) -> None:
    # Local: set in the widget, lands in the CRDT as Quill writes it.
    editor = make_editor(qtbot)
    editor.insertPlainText("one\ntwo\nthree")
    formats.set_block_attrs(editor.document(), editor.document().findBlockByNumber(1), attrs)
    lines = [a for t, a in crdt_delta(editor.model.text.diff()) if t == "\n"]
    assert lines == [{}, attrs]
    assert_mirrors(editor)
    # Remote: a peer formats the line; the widget shows it.
    doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "one\ntwo\nthree\n", {})
    other = make_editor(qtbot, doc)
    remote_edit(doc, lambda t: t.format(7, 8, attrs))
    assert block_attrs(other.document().findBlockByNumber(1)) == attrs
    assert_mirrors(other)


def test_block_formats_are_drawn(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "centered\ncode\ntodo\n", {})
    editor = make_editor(qtbot, doc)
    remote_edit(doc, lambda t: t.format(8, 9, {"align": "center"}))
    remote_edit(doc, lambda t: t.format(13, 14, {"code-block": True}))
    remote_edit(doc, lambda t: t.format(18, 19, {"list": "checked"}))
    qdoc = editor.document()
    assert qdoc.firstBlock().blockFormat().alignment() & formats.Qt.AlignmentFlag.AlignHCenter
    code_chars = qdoc.findBlockByNumber(1).begin().fragment().charFormat()
    assert "ono" in code_chars.fontFamilies()[0].lower()  # monospace
    assert "code" not in inline_attrs(code_chars)  # the block's look, not an inline format
    todo = qdoc.findBlockByNumber(2)
    assert todo.blockFormat().marker() == QTextBlockFormat.MarkerType.Checked
    # Toggling the check is a one-key change of the list value.
    formats.set_block_attrs(qdoc, todo, {"list": "unchecked"})
    assert [a for t, a in crdt_delta(editor.model.text.diff()) if t == "\n"][2] == {
        "list": "unchecked"
    }
    assert_mirrors(editor)
