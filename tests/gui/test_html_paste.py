"""Ctrl+V of formatted content copied in another program (a web browser, Google Docs,
LibreOffice, Word) keeps the formats Coscribe has a Quill attribute for, and nothing else
(issue 13, "the editor as a word processor": it used to paste plain text only).

The clipboard samples are shaped like what those programs really put on the clipboard
(Google Docs' ``docs-internal-guid`` wrapper with an 11 pt black span per run, Word's
``mso-list`` paragraphs and ``<o:p>``, LibreOffice's ``<font face>``, a browser's page
fragment with ``<meta charset>``, ``<script>`` and ``<style>``). Every test checks the
shared Y.Text's exact delta (what collaborators receive) on a real pycrdt document bound
to a real editor widget (offscreen), and that the widget shows exactly that delta.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QColor, QImage, QTextCursor, QTextDocument
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.qt import html_paste, images
from editor_app.qt.formats import crdt_delta, document_delta
from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import Recorder, assert_mirrors, content, make_editor
from tests.gui.test_paste_many_lines import doc_with

Runs = list[tuple[Any, dict[str, Any]]]

#: One Google Docs span: every run carries the body font, 11 pt and black.
GD_SPAN = (
    '<span style="font-size:{size}pt;font-family:{family};color:{color};'
    "background-color:{background};font-weight:{weight};font-style:{style};"
    "font-variant:normal;text-decoration:{decoration};vertical-align:{align};"
    'white-space:pre;white-space:pre-wrap;">{text}</span>'
)


def gd(
    text: str,
    *,
    size: int = 11,
    family: str = "Arial,sans-serif",
    color: str = "#000000",
    background: str = "transparent",
    weight: int = 400,
    style: str = "normal",
    decoration: str = "none",
    align: str = "baseline",
) -> str:
    return GD_SPAN.format(
        text=text,
        size=size,
        family=family,
        color=color,
        background=background,
        weight=weight,
        style=style,
        decoration=decoration,
        align=align,
    )


def gd_p(*spans: str, extra: str = "") -> str:
    return (
        f'<p dir="ltr" style="line-height:1.38;margin-top:0pt;margin-bottom:0pt;{extra}">'
        + "".join(spans)
        + "</p>"
    )


def gd_li(kind: str, level: int, *spans: str) -> str:
    return (
        f'<li dir="ltr" style="list-style-type:{kind};font-size:11pt;font-family:Arial,'
        "sans-serif;color:#000000;background-color:transparent;font-weight:400;"
        'white-space:pre;" aria-level="' + str(level) + '"><p dir="ltr" style="line-height:'
        '1.38;margin-top:0pt;margin-bottom:0pt;" role="presentation">'
        + "".join(spans)
        + "</p></li>"
    )


GD_OPEN = (
    '<meta charset="utf-8"><b style="font-weight:normal;" '
    'id="docs-internal-guid-5c1f2b3a-7fff-0d0e-1f2a-3b4c5d6e7f80">'
)
GOOGLE_DOCS = (
    GD_OPEN
    + '<h1 dir="ltr" style="line-height:1.38;margin-top:20pt;margin-bottom:6pt;">'
    + gd("Plan ", size=20)
    + gd("2027", size=20, weight=700)
    + "</h1>"
    + gd_p(
        gd("Plain "),
        gd("bold", weight=700),
        gd(" "),
        gd("italic", style="italic"),
        gd(" "),
        gd("under", decoration="underline"),
        gd(" "),
        gd("struck", decoration="line-through"),
        gd(" x"),
        gd("2", align="super"),
        gd(" H"),
        gd("2", align="sub"),
        gd("O "),
        gd("red", color="#ff0000"),
        gd(" "),
        gd("marked", background="#ffff00"),
        gd(" "),
        gd("small", size=8),
        gd(" "),
        gd("big", size=18),
        gd(" "),
        gd("serif", family="Georgia,serif"),
        gd(" "),
        gd("mono", family="'Courier New',monospace"),
    )
    + '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:48px;">'
    + gd_li("disc", 1, gd("apples"))
    + '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:48px;">'
    + gd_li("circle", 2, gd("green ones"))
    + "</ul></ul>"
    + '<ol style="margin-top:0;margin-bottom:0;padding-inline-start:48px;">'
    + gd_li("decimal", 1, gd("first"))
    + gd_li("decimal", 1, gd("second"))
    + "</ol><br />"
    + gd_p(
        '<a href="https://example.org/plan" style="text-decoration:none;">'
        + gd("the plan", color="#1155cc", decoration="underline")
        + "</a>",
        extra="text-align: center;",
    )
    + "</b>"
)
GOOGLE_DOCS_DELTA: Runs = [
    ("Plan ", {}),
    ("2027", {"bold": True}),
    ("\n", {"header": 1}),
    ("Plain ", {}),
    ("bold", {"bold": True}),
    (" ", {}),
    ("italic", {"italic": True}),
    (" ", {}),
    ("under", {"underline": True}),
    (" ", {}),
    ("struck", {"strike": True}),
    (" x", {}),
    ("2", {"script": "super"}),
    (" H", {}),
    ("2", {"script": "sub"}),
    ("O ", {}),
    ("red", {"color": "#ff0000"}),
    (" ", {}),
    ("marked", {"background": "#ffff00"}),
    (" ", {}),
    ("small", {"size": "small"}),
    (" ", {}),
    ("big", {"size": "large"}),
    (" ", {}),
    ("serif", {"font": "serif"}),
    (" ", {}),
    ("mono", {"font": "monospace"}),
    ("\n", {}),
    ("apples", {}),
    ("\n", {"list": "bullet"}),
    ("green ones", {}),
    ("\n", {"indent": 1, "list": "bullet"}),
    ("first", {}),
    ("\n", {"list": "ordered"}),
    ("second", {}),
    ("\n", {"list": "ordered"}),
    ("\n", {}),
    ("the plan", {"link": "https://example.org/plan"}),
    ("\n", {"align": "center"}),
]

LIBREOFFICE = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">
<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"/><title></title>\
<meta name="generator" content="LibreOffice 7.4.7.2 (Linux)"/><style type="text/css">\
@page { size: 21cm 29.7cm; margin: 2cm } p { line-height: 115%; margin-bottom: 0.25cm; \
background: transparent } h2 { margin-top: 0.35cm; margin-bottom: 0.21cm; background: \
transparent; page-break-after: avoid } h2.western { font-family: "Liberation Sans", sans-serif; \
font-size: 14pt; font-weight: bold } a:link { color: #000080; so-language: zxx; \
text-decoration: underline }</style></head><body lang="en-US" link="#000080" vlink="#800000" \
dir="ltr"><!--StartFragment--><h2 class="western">Chapter</h2>
<p style="line-height: 100%; margin-bottom: 0cm"><font face="Liberation Sans, sans-serif">\
<font size="3" style="font-size: 12pt"><b>Bold</b> normal <i>italic</i> \
<font color="#c9211e">red</font> <span style="background: #ffff00">marked</span> \
<font color="#000000">black</font></font></font></p>
<ol><li><p style="margin-bottom: 0cm; line-height: 100%"><font face="Liberation Serif, serif">\
<font size="3" style="font-size: 12pt">first</font></font></p></li>
<li><p style="margin-bottom: 0cm; line-height: 100%"><font face="Liberation Serif, serif">\
<font size="3" style="font-size: 12pt">second</font></font></p></li></ol>
<p align="right" style="margin-bottom: 0cm"><a href="https://example.org/"><font \
face="Liberation Sans, sans-serif"><font size="3" style="font-size: 12pt">link</font></font></a></p>
<!--EndFragment--></body></html>
"""
LIBREOFFICE_DELTA: Runs = [
    ("Chapter", {}),  # the heading style's bold is the heading's look
    ("\n", {"header": 2}),
    ("Bold", {"bold": True}),
    (" normal ", {}),
    ("italic", {"italic": True}),
    (" ", {}),
    ("red", {"color": "#c9211e"}),
    (" ", {}),
    ("marked", {"background": "#ffff00"}),
    (" black", {}),
    ("\n", {}),
    ("first", {"font": "serif"}),
    ("\n", {"list": "ordered"}),
    ("second", {"font": "serif"}),
    ("\n", {"list": "ordered"}),
    ("link", {"link": "https://example.org/"}),
    ("\n", {"align": "right"}),
]

WORD = """<html xmlns:v="urn:schemas-microsoft-com:vml"
xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word"
xmlns="http://www.w3.org/TR/REC-html40">

<head>
<meta http-equiv=Content-Type content="text/html; charset=utf-8">
<meta name=ProgId content=Word.Document>
<meta name=Generator content="Microsoft Word 15">
<link rel=File-List
href="file:///C:/Users/min/AppData/Local/Temp/msohtmlclip1/01/clip_filelist.xml">
<!--[if gte mso 9]><xml>
 <o:OfficeDocumentSettings>
  <o:AllowPNG/>
 </o:OfficeDocumentSettings>
</xml><![endif]-->
<style>
<!--
 /* Font Definitions */
 @font-face
\t{font-family:Calibri;
\tpanose-1:2 15 5 2 2 2 4 3 2 4;}
 /* Style Definitions */
 p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{mso-style-unhide:no;
\tmargin-top:0cm;
\tmargin-bottom:8.0pt;
\tline-height:107%;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;
\tmso-fareast-language:EN-US;}
@page WordSection1
\t{size:595.3pt 841.9pt;
\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}
 @list l0
\t{mso-list-id:1;}
-->
</style>
</head>

<body lang=EN-GB style='tab-interval:36.0pt;word-wrap:break-word'>
<!--StartFragment-->

<h1><span lang=EN-US>Report<o:p></o:p></span></h1>

<p class=MsoNormal><b><span lang=EN-US>Bold</span></b><span lang=EN-US> and <i>italic</i> \
and <u>underlined</u> and <span style='color:red'>red</span> and <span \
style='background:yellow;mso-highlight:yellow'>marked</span>.<o:p></o:p></span></p>

<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>\
<![if !supportLists]><span
lang=EN-US style='font-family:Symbol;mso-fareast-font-family:Symbol;mso-bidi-font-family:
Symbol'><span style='mso-list:Ignore'>\u00b7<span style='font:7.0pt "Times New Roman"'>\
&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]><span lang=EN-US>First point<o:p></o:p></span></p>

<p class=MsoListParagraphCxSpLast style='margin-left:72.0pt;mso-add-space:auto;
text-indent:-18.0pt;mso-list:l0 level2 lfo1'><![if !supportLists]><span
lang=EN-US style='font-family:"Courier New";mso-fareast-font-family:"Courier New"'><span
style='mso-list:Ignore'>o<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;
</span></span></span><![endif]><span lang=EN-US>Sub point<o:p></o:p></span></p>

<p class=MsoListParagraph style='text-indent:-18.0pt;mso-list:l1 level1 lfo2'>\
<![if !supportLists]><span
lang=EN-US><span style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>\
&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]><span lang=EN-US>Numbered<o:p></o:p></span></p>

<p class=MsoNormal align=center style='text-align:center'><span lang=EN-US>E = mc<sup>2</sup>\
<o:p></o:p></span></p>

<!--EndFragment-->
</body>

</html>
"""
WORD_DELTA: Runs = [
    ("Report", {}),
    ("\n", {"header": 1}),
    ("Bold", {"bold": True}),
    (" and ", {}),
    ("italic", {"italic": True}),
    (" and ", {}),
    ("underlined", {"underline": True}),
    (" and ", {}),
    ("red", {"color": "#ff0000"}),
    (" and ", {}),
    ("marked", {"background": "#ffff00"}),
    (".", {}),
    ("\n", {}),
    ("First point", {}),
    ("\n", {"list": "bullet"}),
    ("Sub point", {}),
    ("\n", {"indent": 1, "list": "bullet"}),
    ("Numbered", {}),
    ("\n", {"list": "ordered"}),
    ("E = mc", {}),
    ("2", {"script": "super"}),
    ("\n", {"align": "center"}),
]

BROWSER = """<meta charset='utf-8'><h2 style="color: rgb(0, 0, 0); font-family: 'Linux \
Libertine', Georgia, Times, serif; font-size: 1.5em; font-weight: normal; margin: 1em 0px \
0.25em; border-bottom: 1px solid rgb(162, 169, 177);">History</h2><p style="color: \
rgb(32, 33, 36); font-family: sans-serif; font-size: 14px; line-height: 1.6; margin: 0.5em \
0px 1em; background-color: rgb(255, 255, 255);">The <b>quick</b> fox <a \
href="https://en.wikipedia.org/wiki/Fox" title="Fox" style="color: rgb(51, 102, 204); \
text-decoration: none;">jumps</a> over <i>lazy</i> dogs<sup id="cite_ref-1" \
class="reference"><a href="#cite_note-1">[1]</a></sup> and <a \
href="javascript:alert(1)">this</a>.</p><script>document.write("SCRIPT TEXT")</script>\
<style>.mw-parser-output .x { color: red }</style><blockquote><p>To be, or not to be</p>\
</blockquote><pre style="font-family: monospace, monospace; background-color: rgb(248, 249, \
250);"><code>def f():
    return 1</code></pre><p>Run <code>pip install</code> first.</p>"""
BROWSER_DELTA: Runs = [
    ("History", {}),
    ("\n", {"header": 2}),
    ("The ", {}),
    ("quick", {"bold": True}),
    (" fox ", {}),
    ("jumps", {"link": "https://en.wikipedia.org/wiki/Fox"}),
    (" over ", {}),
    ("lazy", {"italic": True}),
    (" dogs", {}),
    ("[1]", {"script": "super"}),  # a link inside the page it came from: dropped
    (" and this.", {}),  # javascript: is never a link
    ("\n", {}),
    ("To be, or not to be", {}),
    ("\n", {"blockquote": True}),
    ("def f():", {}),
    ("\n", {"code-block": True}),
    ("    return 1", {}),
    ("\n", {"code-block": True}),
    ("Run ", {}),
    ("pip install", {"code": True}),
    (" first.", {}),
]

TABLE = (
    "<meta charset='utf-8'><p>Scores:</p><table><thead><tr><th>Name</th><th>Score</th>"
    "</tr></thead><tbody><tr><td>Ada</td><td><b>10</b></td></tr><tr><td>Min-jun "
    "\ubbfc\uc900</td><td><p>9</p><p>(late)</p></td></tr></tbody></table><p>After</p>"
)
TABLE_DELTA: Runs = [
    ("Scores:\n", {}),
    ("Name", {"bold": True}),  # Qt draws <th> bold, as browsers do
    ("\t", {}),
    ("Score", {"bold": True}),
    ("\nAda\t", {}),
    ("10", {"bold": True}),
    ("\nMin-jun \ubbfc\uc900\t9 (late)\nAfter", {}),
]


def runs(doc: pycrdt.Doc[Any]) -> Runs:
    """The shared text's delta, adjacent text runs with equal attributes joined."""
    return joined([(piece, dict(attrs or {})) for piece, attrs in content(doc).diff()])


def joined(delta: Runs) -> Runs:
    """``delta`` with adjacent text runs of equal attributes joined (as Y.Text has them:
    the expected deltas below keep each line's end apart, for reading)."""
    out: Runs = []
    for piece, attrs in delta:
        if out and isinstance(piece, str) and isinstance(out[-1][0], str) and out[-1][1] == attrs:
            out[-1] = (out[-1][0] + piece, attrs)
        else:
            out.append((piece, attrs))
    return out


def empty_doc() -> pycrdt.Doc[Any]:
    return doc_with([("\n", {})])


def clipboard_html(html: str, text: str = "plain text") -> None:
    """Put ``html`` (and its plain text) on the clipboard, as another program does."""
    mime = QMimeData()
    mime.setHtml(html)
    mime.setText(text)
    QApplication.clipboard().setMimeData(mime)


def caret(editor: EditorWidget, pos: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(pos)
    editor.setTextCursor(cursor)


def paste_into_empty(qtbot: QtBot, html: str) -> tuple[EditorWidget, pycrdt.Doc[Any]]:
    doc = empty_doc()
    editor = make_editor(qtbot, doc)
    caret(editor, 0)
    clipboard_html(html)
    editor.paste()
    # The page shows exactly what collaborators receive (pictures too).
    assert document_delta(editor.document()) == crdt_delta(content(doc).diff())
    return editor, doc


def with_final_newline(expected: Runs) -> Runs:
    """The delta of an empty document ("\\n") after ``expected`` was pasted into it."""
    return joined([*expected, ("\n", {})])


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (GOOGLE_DOCS, GOOGLE_DOCS_DELTA),
        (LIBREOFFICE, LIBREOFFICE_DELTA),
        (WORD, WORD_DELTA),
        (BROWSER, BROWSER_DELTA),
        (TABLE, TABLE_DELTA),
    ],
    ids=["google-docs", "libreoffice", "word", "browser", "table"],
)
def test_formats_of_other_programs_become_quill_attributes(
    qtbot: QtBot, html: str, expected: Runs
) -> None:
    """Each program's copy arrives as Quill attributes only: no 11 pt size, no black
    colour, no Arial/Calibri font (the defaults restated), no link blue or underline;
    Google Docs' bold wrapper and Word's list markers are not content."""
    _, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == with_final_newline(expected)


def test_script_and_style_text_never_appears(qtbot: QtBot) -> None:
    _, doc = paste_into_empty(qtbot, BROWSER)
    assert str(content(doc)) == (
        "History\nThe quick fox jumps over lazy dogs[1] and this.\nTo be, or not to be\n"
        "def f():\n    return 1\nRun pip install first.\n"
    )


def test_hangul_emoji_and_combining_marks_survive_exactly(qtbot: QtBot) -> None:
    # Hangul, an emoji and a ZWJ sequence (surrogate pairs), combining accents, Han.
    words = (
        "\ud55c\uad6d\uc5b4 \ubb38\uc7a5 \U0001f600\U0001f469\u200d\U0001f4bb "
        "e\u0301te\u0301 \u4e2d\u6587"
    )
    html = GD_OPEN + gd_p(gd(words[:7]), gd(words[7:], weight=700)) + "</b>"
    _, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == [(words[:7], {}), (words[7:], {"bold": True}), ("\n", {})]
    assert str(content(doc)) == words + "\n"


def test_one_transaction_and_one_undo_step_take_the_whole_paste_out(qtbot: QtBot) -> None:
    doc = doc_with([("Before after\n", {})])
    editor = make_editor(qtbot, doc)
    caret(editor, len("Before "))
    rec = Recorder(doc)
    clipboard_html(GOOGLE_DOCS)
    editor.paste()
    assert len(rec.updates) == 1  # one CRDT transaction: collaborators get one update
    assert "the plan" in str(content(doc))
    assert editor.model.undo()
    assert runs(doc) == [("Before after\n", {})]
    assert_mirrors(editor)


def test_a_pasted_line_keeps_quills_line_rules(qtbot: QtBot) -> None:
    """The line pasted into takes the first pasted line's block formats and the text
    after the caret keeps its line's (Quill keeps a line's formats on its "\\n"; Qt on
    the line's start, and it would have added a line break before a list)."""
    doc = doc_with([("ab", {}), ("\n", {"align": "right"})])
    editor = make_editor(qtbot, doc)
    caret(editor, 1)
    clipboard_html("<meta charset='utf-8'><ul><li>one</li><li>two</li></ul>")
    editor.paste()
    assert runs(doc) == joined(
        [
            ("aone", {}),
            ("\n", {"list": "bullet"}),
            ("two", {}),
            ("\n", {"list": "bullet"}),
            ("b", {}),
            ("\n", {"align": "right"}),
        ]
    )
    assert_mirrors(editor)
    caret(editor, 1)
    clipboard_html("<h1>Title</h1><p>x</p>")
    editor.paste()
    assert runs(doc)[:3] == [("aTitle", {}), ("\n", {"header": 1}), ("xone", {})]
    assert_mirrors(editor)


def test_text_pasted_into_a_heading_looks_like_the_heading(qtbot: QtBot) -> None:
    doc = doc_with([("Head", {}), ("\n", {"header": 1}), ("\n", {})])
    editor = make_editor(qtbot, doc)
    caret(editor, 2)
    clipboard_html(GD_OPEN + gd("pasted", weight=700) + "</b>")
    editor.paste()
    assert runs(doc) == [
        ("He", {}),
        ("pasted", {"bold": True}),
        ("ad", {}),
        ("\n", {"header": 1}),
        ("\n", {}),
    ]
    cursor = QTextCursor(editor.document())
    cursor.setPosition(1)
    heading_size = cursor.charFormat().fontPointSize()
    cursor.setPosition(len("Hepa"))
    assert cursor.charFormat().fontPointSize() == heading_size > editor.font().pointSizeF()


def test_pictures_data_urls_kept_web_addresses_not_downloaded_others_dropped(
    qtbot: QtBot,
) -> None:
    picture = QImage(4, 2, QImage.Format.Format_RGB32)
    picture.fill(QColor("#ff00ff"))
    data_url = images.prepare_qimage(picture).data_url
    html = (
        f'<p>a<img src="{data_url}" width="20" alt="dot">b'
        '<a href="https://example.org/"><img src="https://example.org/a.png"></a>c'
        '<img src="images/relative.png">d<img src="javascript:alert(1)">e</p>'
    )
    editor, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == [
        ("a", {}),
        ({"image": data_url}, {"width": "20", "alt": "dot"}),
        ("b", {}),
        ({"image": "https://example.org/a.png"}, {"link": "https://example.org/"}),
        ("cde\n", {}),
    ]
    shown = images.picture_of(editor.document(), data_url)
    assert shown is not None and shown.pixelColor(0, 0) == QColor("#ff00ff")


def test_viewers_paste_nothing_ctrl_shift_v_pastes_plain_text_ctrl_v_formats(
    qtbot: QtBot,
) -> None:
    doc = empty_doc()
    editor = make_editor(qtbot, doc)
    clipboard_html(GD_OPEN + gd("bold", weight=700) + "</b>", text="bold")
    editor.model.read_only = True
    editor.paste()
    assert runs(doc) == [("\n", {})]
    editor.model.read_only = False
    caret(editor, 0)
    editor.paste_plain()
    assert runs(doc) == [("bold\n", {})]
    editor.paste()
    assert runs(doc) == [("bold", {}), ("bold", {"bold": True}), ("\n", {})]


def test_a_copied_pages_style_sheets_are_never_read(qtbot: QtBot, tmp_path: Path) -> None:
    """Qt's HTML reader reads the style sheets a page names from local files (it would
    never finish reading ``file:///dev/zero``); a pasted page's are not read at all."""
    sheet = tmp_path / "page.css"
    sheet.write_text("p { color: #00ff00 }", encoding="utf-8")
    html = (
        f'<html><head><link rel="stylesheet" href="{sheet.as_uri()}">'
        f'<style>@import url("{sheet.as_uri()}");</style></head><body><p>green?</p></body></html>'
    )
    _, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == [("green?\n", {})]


def test_what_the_page_did_not_show_is_not_pasted(qtbot: QtBot) -> None:
    """Qt's reader shows ``display: none`` text; a browser or Word does not."""
    html = (
        "<meta charset='utf-8'><p>one<span style=\"display: none\">HIDDEN <b>x</b></span> "
        "two<span hidden>ATTR</span> &amp; three<span style='mso-hide:all'>MSO</span></p>"
        '<div style="display:none"><p>HIDDEN BLOCK</p></div><p><b>four</b></p>'
    )
    _, doc = paste_into_empty(qtbot, html)
    assert runs(doc) == [("one two & three\n", {}), ("four", {"bold": True}), ("\n", {})]


def test_a_paste_too_slow_to_write_after_a_long_formatted_text_is_left_to_plain_text(
    qtbot: QtBot,
) -> None:
    """pycrdt walks the text's items from its start for every run the binding writes:
    a megabyte of browser HTML (66,000 runs) pasted after another took over ten minutes.
    Such a paste is left to the plain-text paste; the same paste at the start is not."""
    page = QTextDocument()
    page.setHtml("<p>" + "word <b>bold</b>" * 10_000 + "</p>")  # 20,000 changes of format
    html = "<p>" + "a<b>b</b>" * 1_300 + "</p>"  # 2,600 runs
    assert html_paste.prepare(html, page, page.characterCount() - 1) is None
    assert html_paste.prepare(html, page, 0) is not None
