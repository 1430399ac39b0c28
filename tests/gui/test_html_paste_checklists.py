"""Ctrl+V of a checklist copied in another program pastes Quill checklist items
(``list: "checked"`` / ``"unchecked"``) with each item's state; it used to paste plain
bullets, with Google Docs' picture of the box as a pasted picture and a Markdown page's
ticks lost.

The samples are shaped like the real clipboards:

* Google Docs (lexical issue 6022, May 2024; Mr0grog/google-docs-to-markdown's
  ``lists.copy.html`` fixture and issue 57, August 2023): ``<li role="checkbox"
  aria-checked="true|false" style="list-style-type:none;...">`` in a ``<ul>``; in Chrome
  the item starts with an ``<img src="data:image/png;base64,..." alt="checked|unchecked"
  aria-roledescription="checkbox">`` (a picture of the box); in 2023 other browsers had
  no picture (issue 57). A ticked item's own style and its spans are
  ``text-decoration:line-through``: Google Docs' look of a ticked item.
* GitHub's rendered Markdown copied from Chrome (flutter-quill issue 2231): ``<li
  class="task-list-item enabled">`` holding a drag handle (a ``<span>`` with an ``<svg>``)
  and then ``<input type="checkbox" class="task-list-item-checkbox" checked="">``;
  CommonMark/GFM renderers write ``<li><input type="checkbox" disabled="" checked="" />``
  (the GFM spec's task list examples), a loose item with a ``<p>`` after the box.
* A web page's ``<label><input type="checkbox"> ...</label>`` at an item's start.
* ☐ / ☑ / ☒ typed at the start of a list item (LibreOffice, Word, web pages), or used as
  a Word list's bullet (the marker Word writes in ``<![if !supportLists]>``). These two
  samples are built from the shapes of ordinary lists of those programs (see
  ``tests/gui/test_html_paste.py``), not captured from a real checklist copy.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.qt import images
from editor_app.qt.formats import block_list_kind
from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import assert_mirrors, content, make_editor
from tests.gui.test_html_paste import (
    GD_OPEN,
    Runs,
    caret,
    clipboard_html,
    gd,
    gd_li,
    gd_p,
    joined,
    paste_into_empty,
    runs,
    with_final_newline,
)
from tests.gui.test_paste_many_lines import doc_with


def png_data_url(color: str) -> str:
    """A 72x72 picture as a data URL, like Google Docs' PNG picture of a checkbox."""
    image = QImage(72, 72, QImage.Format.Format_ARGB32)
    image.fill(QColor(color))
    return images.prepare_qimage(image).data_url


GD_ITEM_STYLE = (
    "list-style-type:none;font-size:11pt;font-family:Arial,sans-serif;color:#000000;"
    "background-color:transparent;font-weight:400;font-style:normal;font-variant:normal;"
    "text-decoration:{decoration};vertical-align:baseline;white-space:pre;"
)


def gd_check_li(checked: bool, text: str, *, picture: bool, level: int = 1) -> str:
    """One Google Docs checklist item (Chrome draws the box as a picture)."""
    decoration = (
        "line-through;-webkit-text-decoration-skip:none;text-decoration-skip-ink:none"
        if checked
        else "none"
    )
    state = "checked" if checked else "unchecked"
    box = (
        f'<img src="{png_data_url("#1a73e8" if checked else "#ffffff")}" '
        'width="17.599999999999998px" height="17.599999999999998px" '
        f'alt="{state}" aria-roledescription="checkbox" style="margin-right:3px;" />'
        if picture
        else ""
    )
    inline = ";display:inline-block;vertical-align:top;margin-top:0;" if picture else ";"
    return (
        f'<li dir="ltr" role="checkbox" aria-checked="{str(checked).lower()}" '
        f'style="{GD_ITEM_STYLE.format(decoration=decoration)}" aria-level="{level}">'
        + box
        + '<p dir="ltr" style="line-height:1.38;margin-top:0pt;margin-bottom:0pt'
        + inline
        + '" role="presentation">'
        + gd(text, decoration=decoration)
        + "</p></li>"
    )


def google_docs_checklist(*, picture: bool) -> str:
    return (
        GD_OPEN
        + gd_p(gd("Groceries:"))
        + '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:28px;">'
        + gd_check_li(True, "Milk", picture=picture)
        + gd_check_li(False, "Bread", picture=picture)
        + '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:28px;">'
        + gd_check_li(True, "Rye", picture=picture, level=2)
        + "</ul>"
        + gd_check_li(False, "Eggs", picture=picture)
        + "</ul></b>"
    )


GOOGLE_DOCS_CHECKLIST_DELTA: Runs = [
    ("Groceries:", {}),
    ("\n", {}),
    ("Milk", {}),  # Google Docs' strike-through is its look of a ticked item
    ("\n", {"list": "checked"}),
    ("Bread", {}),
    ("\n", {"list": "unchecked"}),
    ("Rye", {}),
    ("\n", {"indent": 1, "list": "checked"}),
    ("Eggs", {}),
    ("\n", {"list": "unchecked"}),
]

GITHUB_HANDLE = (
    '<span class="handle" style="box-sizing: border-box; display: block; float: left; '
    'width: 20px; padding: 2px 0px 0px 2px; margin-left: -43px; opacity: 0;"><svg '
    'class="drag-handle" aria-hidden="true" width="16" height="16"><path d="M10 13a1 1 0 '
    '100-2 1 1 0 000 2zm-4 0a1 1 0 100-2 1 1 0 000 2z"></path></svg></span>'
)


def github_li(checked: bool, text: str) -> str:
    """A GitHub task list item as Chrome copies it (handle, box, a spaced span)."""
    return (
        '<li class="task-list-item enabled" style="box-sizing: border-box; '
        "list-style-type: none; margin-top: 0px; margin-left: -15px; padding: 2px 15px 2px "
        '42px; line-height: 1.5;">'
        + GITHUB_HANDLE
        + '<input type="checkbox" id="" class="task-list-item-checkbox" style="box-sizing: '
        "border-box; font: inherit; margin: 0px 0.2em 0.25em -1.4em; padding: 0px; "
        'vertical-align: middle;"'
        + (' checked=""' if checked else "")
        + "><span> </span>"
        + text
        + "</li>"
    )


GITHUB = (
    "<meta charset='utf-8'><p style=\"margin-top: 0px;\">Type of change</p>"
    '<ul class="contains-task-list" style="padding-left: 0px;">'
    + github_li(True, "Bug fix")
    + github_li(False, "<strong>Breaking</strong> change")
    + "</ul>"
)
GITHUB_DELTA: Runs = [
    ("Type of change", {}),
    ("\n", {}),
    ("Bug fix", {}),
    ("\n", {"list": "checked"}),
    ("Breaking", {"bold": True}),
    (" change", {}),
    ("\n", {"list": "unchecked"}),
]

GFM = (
    '<ul class="contains-task-list">\n'
    '<li class="task-list-item"><input type="checkbox" disabled="" /> an unchecked task</li>\n'
    '<li class="task-list-item"><input type="checkbox" disabled="" checked="" /> a done task\n'
    '<ul class="contains-task-list">\n'
    '<li class="task-list-item"><input checked="" disabled="" type="checkbox"> nested, done</li>\n'
    "</ul>\n</li>\n"
    '<li><input type="checkbox" disabled="" checked="" /><p>loose item</p>\n</li>\n'
    "</ul>\n"
)
GFM_DELTA: Runs = [
    ("an unchecked task", {}),
    ("\n", {"list": "unchecked"}),
    ("a done task", {}),
    ("\n", {"list": "checked"}),
    ("nested, done", {}),
    ("\n", {"indent": 1, "list": "checked"}),
    ("loose item", {}),
    ("\n", {"list": "checked"}),
]

WEB_FORM = (
    "<meta charset='utf-8'><ul><li><label><input type=\"checkbox\" checked> Passport</label>"
    "</li><li><label><INPUT TYPE=CHECKBOX> Tickets</label></li></ul>"
)
WEB_FORM_DELTA: Runs = [
    ("Passport", {}),
    ("\n", {"list": "checked"}),
    ("Tickets", {}),
    ("\n", {"list": "unchecked"}),
]

BOX_CHARACTERS = (
    "<meta charset='utf-8'><ul><li><p>\u2610 Draft</p></li><li><p><span>\u2611&nbsp;Review"
    "</span></p></li><li>&#9746; Publish</li></ul>"
)
BOX_CHARACTERS_DELTA: Runs = [
    ("Draft", {}),
    ("\n", {"list": "unchecked"}),
    ("Review", {}),
    ("\n", {"list": "checked"}),
    ("Publish", {}),
    ("\n", {"list": "checked"}),
]

WORD_BOX_BULLETS = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<body lang=EN-GB><!--StartFragment-->
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>\
<![if !supportLists]><span lang=EN-US style='font-family:"Segoe UI Symbol"'><span \
style='mso-list:Ignore'>\u2610<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]><span lang=EN-US>Book the room<o:p></o:p></span></p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l1 level1 lfo2'>\
<![if !supportLists]><span lang=EN-US style='font-family:Symbol'><span \
style='mso-list:Ignore'>\u00b7<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;
</span></span></span><![endif]><span lang=EN-US style='font-family:"MS Gothic"'>\u2612\
</span><span lang=EN-US> Send the agenda<o:p></o:p></span></p>
<!--EndFragment--></body></html>
"""
WORD_BOX_BULLETS_DELTA: Runs = [
    ("Book the room", {}),
    ("\n", {"list": "unchecked"}),
    ("Send the agenda", {}),
    ("\n", {"list": "checked"}),
]

SOURCES = [
    (google_docs_checklist(picture=True), GOOGLE_DOCS_CHECKLIST_DELTA),
    (google_docs_checklist(picture=False), GOOGLE_DOCS_CHECKLIST_DELTA),
    (GITHUB, GITHUB_DELTA),
    (GFM, GFM_DELTA),
    (WEB_FORM, WEB_FORM_DELTA),
    (BOX_CHARACTERS, BOX_CHARACTERS_DELTA),
    (WORD_BOX_BULLETS, WORD_BOX_BULLETS_DELTA),
]
IDS = [
    "google-docs-chrome",
    "google-docs-other-browsers",
    "github",
    "gfm",
    "web-form",
    "box-characters",
    "word-box-bullets",
]


def qt_lines(editor: EditorWidget) -> list[tuple[str, str | None]]:
    """Each line of the widget with the list kind Qt shows it as."""
    lines = []
    block = editor.document().firstBlock()
    while block.isValid():
        lines.append((block.text(), block_list_kind(block)))
        block = block.next()
    return lines


def expected_qt_lines(expected: Runs) -> list[tuple[str, str | None]]:
    """The blocks of an empty document after ``expected`` was pasted into it: its lines,
    the document's own final line, and the empty block Qt has after the text's last
    ``"\n"``."""
    lines: list[tuple[str, str | None]] = []
    text = ""
    for piece, attrs in [*expected, ("\n", {})]:
        if piece == "\n":
            lines.append((text, attrs.get("list")))
            text = ""
        else:
            assert isinstance(piece, str)
            text += piece
    return [*lines, (text, None)]


@pytest.mark.parametrize(("html", "expected"), SOURCES, ids=IDS)
def test_a_copied_checklist_pastes_as_checklist_items_with_their_state(
    qtbot: QtBot, html: str, expected: Runs
) -> None:
    editor, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == with_final_newline(expected)  # no picture, no box left as text
    assert qt_lines(editor) == expected_qt_lines(expected)
    assert_mirrors(editor)


@pytest.mark.parametrize(("html", "expected"), SOURCES, ids=IDS)
def test_one_undo_takes_a_pasted_checklist_out(qtbot: QtBot, html: str, expected: Runs) -> None:
    before: list[tuple[str, dict[str, Any]]] = [("Before after", {}), ("\n", {})]
    doc: pycrdt.Doc[Any] = doc_with(before)
    editor = make_editor(qtbot, doc)
    caret(editor, len("Before "))
    clipboard_html(html)
    QTest.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    kinds = {attrs.get("list") for _, attrs in runs(doc)}
    assert {"checked", "unchecked"} <= kinds
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert runs(doc) == joined(before)
    assert qt_lines(editor) == [("Before after", None), ("", None)]
    assert_mirrors(editor)


def test_a_bulleted_list_still_pastes_as_bullets(qtbot: QtBot) -> None:
    """Google Docs' ordinary bullets, a web list whose item holds a checkbox after its
    text, and a picture at an item's start that is not a checkbox's stay bullets."""
    html = (
        GD_OPEN
        + '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:48px;">'
        + gd_li("disc", 1, gd("apples"))
        + "</ul></b>"
        + "<ul><li>I agree <input type=checkbox checked></li>"
        + f'<li><img src="{png_data_url("#00ff00")}" alt="checked" width="4">green</li>'
        + "<li>plain</li></ul>"
    )
    editor, doc = paste_into_empty(qtbot, html)
    delta = runs(doc)
    assert [attrs.get("list") for piece, attrs in delta if piece == "\n"][:4] == ["bullet"] * 4
    assert str(content(doc)).startswith("apples\nI agree\n")
    assert any(isinstance(piece, dict) for piece, _ in delta)  # the picture is kept
    assert {kind for _, kind in qt_lines(editor)} == {"bullet", None}


def test_a_stray_checkbox_outside_a_list_item_makes_no_list(qtbot: QtBot) -> None:
    html = (
        "<meta charset='utf-8'><p><input type=\"checkbox\" checked> Remember me</p>"
        '<div role="checkbox" aria-checked="true">Terms</div><p>\u2611 Done</p>'
        '<p><img src="https://example.org/box.png" aria-roledescription="checkbox" '
        'alt="checked">after</p>'
    )
    editor, doc = paste_into_empty(qtbot, html)
    delta = runs(doc)
    assert all("list" not in attrs for _, attrs in delta)
    assert str(content(doc)).startswith("Remember me\nTerms\n\u2611 Done\n")
    assert {kind for _, kind in qt_lines(editor)} == {None}
