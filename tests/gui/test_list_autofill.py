"""Automatic lists (issue 13 QA): "* ", "- ", "1. ", "1) ", "[] ", "[ ] ", "[x] " typed at
the start of a line make it a list item, as Google Docs and Quill do; the marker goes,
Ctrl+Z right after gives it back; nowhere else does a space do anything but type.

Real parts: real pycrdt documents, the real editor widget (offscreen), keys sent as the
keyboard sends them; what is checked is what the CRDT holds (what collaborators get).
"""

from __future__ import annotations

import pycrdt
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import LIST_PREFIXES
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, content, make_editor, remote_edit, type_text


def delta(doc: pycrdt.Doc) -> list[tuple[str, dict[str, object]]]:
    return crdt_delta(content(doc).diff())


@pytest.mark.parametrize("marker", list(LIST_PREFIXES))
def test_a_marker_and_a_space_start_a_list_item(qtbot: QtBot, marker: str) -> None:
    editor = make_editor(qtbot)
    type_text(editor, f"Plan\n{marker} 김치 한 통 🦊")
    kind = LIST_PREFIXES[marker]
    assert delta(editor.model.doc)[:4] == [
        ("Plan", {}),
        ("\n", {}),
        ("김치 한 통 🦊", {}),
        ("\n", {"list": kind}),
    ]
    assert_mirrors(editor)
    type_text(editor, "\nsecond")  # Enter continues the list (with an open box)
    after = {"checked": "unchecked"}.get(kind, kind)
    assert delta(editor.model.doc)[4:6] == [("second", {}), ("\n", {"list": after})]


def test_ctrl_z_right_after_gives_the_marker_back(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "Notes\n1. ")
    assert delta(editor.model.doc)[-1] == ("\n", {"list": "ordered"})
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert str(content(editor.model.doc)) == "Notes\n1."
    assert all("list" not in attrs for _piece, attrs in delta(editor.model.doc))
    assert_mirrors(editor)


def test_a_space_anywhere_else_just_types(qtbot: QtBot) -> None:
    """Not in the middle of a line, not in a list item already, not in code, not for a
    viewer, not a second space, not a marker that is not one of them."""
    editor = make_editor(qtbot)
    type_text(editor, "a * b - c 1. d\n2. x\n[o] y\n")
    type_text(editor, "* item\n* stays text")  # the second "* " is in a list item
    doc = editor.model.doc
    remote_edit(doc, lambda t: t.insert(len(t.to_py().encode()), "\n", {"code-block": True}))
    place_cursor(editor, editor.document().lastBlock().previous().position())
    type_text(editor, "- code")
    text = str(content(doc))
    assert text.startswith("a * b - c 1. d\n2. x\n[o] y\nitem\n* stays text\n")
    assert "- code" in text
    lists = [attrs.get("list") for piece, attrs in delta(doc) if piece == "\n"]
    assert lists.count("bullet") == 2
    assert_mirrors(editor)

    viewer = make_editor(qtbot, doc)
    viewer.model.read_only = True
    before = str(content(doc))
    place_cursor(viewer, 0)
    type_text(viewer, "* ")
    assert str(content(doc)) == before
