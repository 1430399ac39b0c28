"""A web address typed into the text becomes a link when a space or Enter ends it, as in
Google Docs (issue 13 QA); Ctrl+Z right after takes the link off and keeps the text.

Real parts: real pycrdt documents, the real editor widget (offscreen), keys sent as the
keyboard sends them; what is checked is what the CRDT holds (what collaborators get).
"""

from __future__ import annotations

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, remote_edit, type_text
from tests.gui.test_list_autofill import delta


def links(doc: pycrdt.Doc) -> list[tuple[str, object]]:
    return [(piece, attrs["link"]) for piece, attrs in delta(doc) if "link" in attrs]


def test_an_address_and_a_space_make_a_link_the_full_stop_stays_out(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "지도 🗺 https://example.org/지도. www.kernel.org\nnext")
    assert links(editor.model.doc) == [
        ("https://example.org/지도", "https://example.org/지도"),
        ("www.kernel.org", "https://www.kernel.org"),  # ended by Enter
    ]
    assert "".join(piece for piece, _ in delta(editor.model.doc)).startswith(
        "지도 🗺 https://example.org/지도. www.kernel.org\nnext"
    )
    assert_mirrors(editor)
    type_text(editor, " more")  # typing after the link is plain text
    assert links(editor.model.doc)[-1] == ("www.kernel.org", "https://www.kernel.org")


def test_ctrl_z_right_after_takes_the_link_off(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "read https://coscribe.example/docs ")
    assert links(editor.model.doc) == [
        ("https://coscribe.example/docs", "https://coscribe.example/docs")
    ]
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert links(editor.model.doc) == []
    assert str(editor.model.text) == "read https://coscribe.example/docs "
    assert_mirrors(editor)


def test_not_in_code_not_over_a_link_not_for_a_viewer(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "x")
    editor.selectAll()
    editor.toggle_code()  # inline code: what is typed after it is code too
    place_cursor(editor, 1)
    type_text(editor, " https://in.code.example ")
    editor.toggle_block("code-block")
    type_text(editor, "\nwww.code-block.example ")
    assert links(editor.model.doc) == []

    linked = make_editor(qtbot)
    remote_edit(
        linked.model.doc,
        lambda t: t.insert(0, "https://a.example", {"link": "https://elsewhere.example"}),
    )
    place_cursor(linked, len("https://a.example"))
    type_text(linked, " ")
    assert {href for _piece, href in links(linked.model.doc)} == {"https://elsewhere.example"}

    viewer = make_editor(qtbot)
    remote_edit(viewer.model.doc, lambda t: t.insert(0, "www.viewer.example"))
    viewer.model.read_only = True
    place_cursor(viewer, len("www.viewer.example"))
    type_text(viewer, " ")
    assert links(viewer.model.doc) == []


def test_addresses_in_pasted_text_become_links_in_one_undo_step(qtbot: QtBot) -> None:
    """As Google Docs: a pasted address is linked; one Ctrl+Z takes every link of the
    paste off (the text stays), the next the paste itself."""
    editor = make_editor(qtbot)
    type_text(editor, "notes: ")
    QApplication.clipboard().setText("문서 https://a.example/x, (www.b.example)\nmail a@b.example")
    qtbot.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert links(editor.model.doc) == [
        ("https://a.example/x", "https://a.example/x"),
        ("www.b.example", "https://www.b.example"),
    ]
    assert_mirrors(editor)
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert links(editor.model.doc) == []
    assert "https://a.example/x" in str(editor.model.text)
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert str(editor.model.text) == "notes: "
