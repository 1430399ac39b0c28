"""A line is one of heading, list item, quote or code block, as in Quill 2 (one block blot
per line; a web Quill on the same document shows only one), and a code block's text is
plain (Quill drops formats there). Found by the browser test (tests/interop/
test_quill_browser.py); held here without a browser.

Real parts: real pycrdt documents, the real editor widget (offscreen) and its commands.
"""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, type_text
from tests.gui.test_list_autofill import delta


def line_attrs(editor: EditorWidget) -> list[dict[str, object]]:
    return [attrs for piece, attrs in delta(editor.model.doc) if piece == "\n"]


def test_each_line_format_replaces_the_others(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "a\nb\nc\nd\ne")
    steps = [
        (lambda: editor.set_heading(2), lambda: editor.toggle_list("bullet")),
        (lambda: editor.toggle_list("ordered"), lambda: editor.set_heading(1)),
        (lambda: editor.set_heading(3), lambda: editor.toggle_block("blockquote")),
        (lambda: editor.toggle_list("bullet"), lambda: editor.toggle_block("code-block")),
    ]
    for line, (first, then) in enumerate(steps):
        place_cursor(editor, 2 * line)
        first()
        then()
    assert line_attrs(editor) == [
        {"list": "bullet"},
        {"header": 1},
        {"blockquote": True},
        {"code-block": True},
    ]
    assert_mirrors(editor)


def test_a_code_blocks_text_is_plain(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "코드 bold\nnext")
    place_cursor(editor, 3, 7)
    editor.toggle_bold()
    place_cursor(editor, 0)
    editor.toggle_block("code-block")  # the line's bold goes with it
    place_cursor(editor, 3, 7)
    editor.toggle_bold()  # nothing inside a code block
    editor.set_inline("color", "#e60000")
    place_cursor(editor, 7)
    editor.toggle_italic()  # nor for what is typed next there
    type_text(editor, " more")
    assert delta(editor.model.doc)[:2] == [("코드 bold more", {}), ("\n", {"code-block": True})]
    assert_mirrors(editor)
