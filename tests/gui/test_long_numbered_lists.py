"""Long lists kept in several Qt lists (issue 13): what a person sees and what the CRDT
holds must not depend on where one Qt list ends and the next begins.

A collaborator's paste of more than ``formats.LIST_CHUNK`` list items is built in adjacent
Qt lists of at most that many items (Qt builds one long list in quadratic time). Here:

* editing at such a boundary (Enter, Backspace, Delete, typing over a selection, the list
  and indent commands) gives the same Quill attributes and the same painted markers as
  the same keys in the same document with the run in ONE Qt list;
* the painted numbers are Quill's (a run of ordered lines counts from 1), across lists
  and after Qt takes an item out of the middle of its list;
* the exports through Qt's own rich layout and writers (print/PDF, HTML, ODT) and the
  Markdown writer number the items as the editor paints them.

Real parts only: real pycrdt docs, real editor widgets (offscreen), real Yjs updates, real
key events, the real export functions.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument
from pytestqt.qtbot import QtBot

from editor_app.qt import export, formats
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.remote_cursors import list_marker
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, content, make_editor, remote_edit, type_text
from tests.gui.test_paste_formatted_lines import INTO, KINDS, doc_with, lines_of, paste_at

LINES = 600  # three Qt lists when pasted: 256, 256, 88 items
TOGGLE = {"ordered": "ordered", "bullet": "bullet", "checked": "unchecked"}


def pasted(qtbot: QtBot, kind: str, lines: int = LINES) -> EditorWidget:
    """An editor showing "first" and then ``lines`` list items of ``kind`` a
    collaborator pasted in one update."""
    doc = doc_with(INTO["end"][0])
    editor = make_editor(qtbot, doc)
    remote_edit(doc, paste_at(INTO["end"][1], lines_of(KINDS[kind], lines)))
    return editor


def as_one_list(qtbot: QtBot, kind: str, lines: int = LINES) -> EditorWidget:
    """The same document with its run of items in ONE Qt list, as before long runs were
    split (made with Qt's own QTextList.add; the binding reads the same attributes)."""
    editor = pasted(qtbot, kind, lines)
    block = editor.document().findBlockByNumber(1)
    first = block.textList()
    assert first is not None
    edit = QTextCursor(editor.document())
    edit.beginEditBlock()  # one change for the binding to read
    while block.isValid() and block.textList() is not None:
        if block.textList().objectIndex() != first.objectIndex():
            first.add(block)
        block = block.next()
    edit.endEditBlock()
    assert first.count() == lines
    assert_mirrors(editor)
    return editor


def markers(editor: EditorWidget) -> list[str | None]:
    """What the widget paints before each block."""
    out = []
    block = editor.document().firstBlock()
    while block.isValid():
        out.append(list_marker(block))
        block = block.next()
    return out


def quill_markers(doc: pycrdt.Doc[Any]) -> list[str | None]:
    """The markers Quill 2 shows for the CRDT's lines, as its stylesheet counts them
    (quill.core.css): a paragraph or heading sets every counter to 0, a list item of any
    kind at level k the deeper ones, an ordered item at level k counts one on counter k,
    drawn as a decimal, a letter or a Roman numeral by level; None for the last line,
    which has no "\\n"."""
    out: list[str | None] = []
    counters = [0] * 9
    for piece, attrs in formats.crdt_delta(content(doc).diff()):
        if piece != "\n":
            continue
        kind = attrs.get("list")
        if kind is None:
            if not attrs.get("blockquote") and not attrs.get("code-block"):
                counters = [0] * 9
            out.append(None)
            continue
        level = int(attrs.get("indent") or 0)
        counters[level + 1 :] = [0] * (8 - level)
        if kind == "ordered":
            counters[level] += 1
            out.append(f"{css_counter(counters[level], level)}.")
        else:
            out.append("\u2022" if kind == "bullet" else None)
    return [*out, None]


def css_counter(n: int, level: int) -> str:
    """CSS's decimal / lower-alpha / lower-roman counter styles (levels 0, 1, 2 mod 3)."""
    if level % 3 == 1:
        head, rest = divmod(n - 1, 26)
        return (css_counter(head, 1) if head else "") + "abcdefghijklmnopqrstuvwxyz"[rest]
    if level % 3 == 2 and n < 4000:
        tables = [
            ["", "m", "mm", "mmm"],
            ["", "c", "cc", "ccc", "cd", "d", "dc", "dcc", "dccc", "cm"],
            ["", "x", "xx", "xxx", "xl", "l", "lx", "lxx", "lxxx", "xc"],
            ["", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"],
        ]
        digits = f"{n:04d}"
        return "".join(table[int(d)] for table, d in zip(tables, digits, strict=True))
    return str(n)


def test_counter_styles_are_css_ones() -> None:
    """formats.counter_text writes what a browser draws for Quill's counters."""
    cases = {
        (1, 0): "1", (12, 3): "12", (1, 1): "a", (26, 1): "z", (27, 1): "aa",
        (52, 4): "az", (53, 7): "ba", (702, 1): "zz", (703, 1): "aaa", (4, 2): "iv",
        (9, 5): "ix", (14, 8): "xiv", (1994, 2): "mcmxciv", (3999, 2): "mmmcmxcix",
        (4000, 2): "4000",
    }  # fmt: skip
    for (n, level), text in cases.items():
        assert formats.counter_text(n, level) == css_counter(n, level) == text


def boundary(editor: EditorWidget) -> int:
    """The number of the first block of the second Qt list of the pasted run."""
    block = editor.document().findBlockByNumber(1)
    first = block.textList()
    assert first is not None
    while block.isValid() and block.textList() is not None:
        lst = block.textList()
        if lst.objectIndex() != first.objectIndex():
            return block.blockNumber()
        block = block.next()
    raise AssertionError("the pasted run is one Qt list")


def block_at(editor: EditorWidget, number: int) -> QTextBlock:
    return editor.document().findBlockByNumber(number)


def end_of(editor: EditorWidget, number: int) -> int:
    block = block_at(editor, number)
    return block.position() + block.length() - 1


def start_of(editor: EditorWidget, number: int) -> int:
    return block_at(editor, number).position()


def select_lines(editor: EditorWidget, first: int, last: int) -> None:
    """Select from the middle of line ``first`` to the middle of line ``last``."""
    a, b = block_at(editor, first), block_at(editor, last)
    place_cursor(editor, a.position() + a.length() // 2, b.position() + b.length() // 2)


Edit = Callable[[QtBot, EditorWidget, int, str], None]


def enter_after_last_item(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    place_cursor(editor, end_of(editor, b - 1))
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    type_text(editor, "new item")


def enter_before_first_item(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    place_cursor(editor, start_of(editor, b))
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def backspace_twice_at_first_item(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    """Qt takes the item out of its list, then joins the line to the item before."""
    place_cursor(editor, start_of(editor, b))
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)


def backspace_at_first_item(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    place_cursor(editor, start_of(editor, b))
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)


def delete_at_last_item(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    place_cursor(editor, end_of(editor, b - 1))
    qtbot.keyClick(editor, Qt.Key.Key_Delete)


def type_over_lines(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    select_lines(editor, b - 3, b + 2)
    type_text(editor, "x")


def list_off(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    select_lines(editor, b - 3, b + 2)
    editor.toggle_list(TOGGLE[kind])


def list_off_and_on(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    select_lines(editor, b - 1, b)
    editor.toggle_list(TOGGLE[kind])
    editor.toggle_list(TOGGLE[kind])


def indent(qtbot: QtBot, editor: EditorWidget, b: int, kind: str) -> None:
    select_lines(editor, b - 2, b + 1)
    editor.change_indent(1)


EDITS: list[Edit] = [
    enter_after_last_item,
    enter_before_first_item,
    backspace_at_first_item,
    backspace_twice_at_first_item,
    delete_at_last_item,
    type_over_lines,
    list_off,
    list_off_and_on,
    indent,
]


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__)
@pytest.mark.parametrize("kind", ["ordered", "bullet", "checked"])
def test_editing_where_one_qt_list_ends_is_editing_one_list(
    qtbot: QtBot, kind: str, edit: Edit
) -> None:
    editor, reference = pasted(qtbot, kind), as_one_list(qtbot, kind)
    b = boundary(editor)
    assert block_at(reference, b).textList() == block_at(reference, b - 1).textList()

    edit(qtbot, editor, b, kind)
    edit(qtbot, reference, b, kind)

    assert formats.crdt_delta(editor.model.text.diff()) == formats.crdt_delta(
        reference.model.text.diff()
    )
    assert markers(editor) == markers(reference) == quill_markers(editor.model.doc)
    assert_mirrors(editor)
    assert_mirrors(reference)


def test_numbers_count_the_run_across_qt_lists_and_restart_after_a_plain_line(
    qtbot: QtBot,
) -> None:
    """2,000 pasted ordered items are painted 1 to 2,000 (eight Qt lists); a line taken
    out of the run in the middle of a Qt list (Backspace at its start: Qt takes it out of
    its list, which keeps the items after it) restarts the count after it, as Quill's
    does, and one at a boundary too."""
    editor = pasted(qtbot, "ordered", 2000)
    assert markers(editor)[1:-1] == [f"{n}." for n in range(1, 2001)]
    b = boundary(editor)
    for number in (100, b):
        place_cursor(editor, start_of(editor, number))
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    shown = markers(editor)
    assert shown == quill_markers(editor.model.doc)
    assert shown[99:102] == ["99.", None, "1."]
    assert shown[b - 1 : b + 2] == [f"{b - 101}.", None, "1."]
    assert shown[-2] == f"{2000 - b}."


def test_a_long_run_is_numbered_in_linear_time_per_paint(qtbot: QtBot) -> None:
    """The painter asks for the number of every visible item on every repaint: after
    the first, the numbers are known, so asking again reads no list twice; a change that
    can move a number (a line added, a line leaving the list) finds them again."""
    editor = pasted(qtbot, "ordered", 2000)
    last = editor.document().findBlockByNumber(2000)
    assert formats.ordered_number(last) == 2000
    before = formats.list_walk_steps()
    for _ in range(100):
        assert formats.ordered_number(last) == 2000
    assert formats.list_walk_steps() == before
    place_cursor(editor, end_of(editor, 1500))
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # a new item: the ones after it move on
    type_text(editor, "new")
    assert formats.ordered_number(editor.document().findBlockByNumber(2001)) == 2001
    assert formats.list_walk_steps() - before <= 2000 // formats.LIST_CHUNK + 1
    assert markers(editor) == quill_markers(editor.model.doc)


def test_typing_inside_an_item_keeps_the_numbers_found(qtbot: QtBot) -> None:
    """A keystroke inside an item (or a collaborator's) moves no number, so the numbers
    are not looked for again: in a 1 MB numbered list that walk was 0.8 ms per key. The
    painted numbers stay Quill's through the keys that do move them."""
    editor = pasted(qtbot, "ordered", 2000)
    last = editor.document().findBlockByNumber(2000)
    assert formats.ordered_number(last) == 2000
    before = formats.list_walk_steps()
    place_cursor(editor, end_of(editor, 1999))
    type_text(editor, "typed here")
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    remote_edit(editor.model.doc, lambda text: text.insert(len(str(text)) - 10, "theirs"))
    assert formats.ordered_number(editor.document().findBlockByNumber(2000)) == 2000
    assert formats.list_walk_steps() == before
    place_cursor(editor, start_of(editor, 1000))
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)  # out of its list: the count restarts
    assert formats.ordered_number(editor.document().findBlockByNumber(2000)) == 1000
    assert formats.list_walk_steps() > before
    assert markers(editor) == quill_markers(editor.model.doc)


def test_turning_one_line_of_a_list_off_leaves_the_other_items_as_they_were(
    qtbot: QtBot,
) -> None:
    """The items on one side go into a list of their own without QTextList.remove, which
    adds the list's indent to each item's block indent (invisible in the editor, whose
    plain-text layout ignores it, but printed: Qt's rich layout indents those items one
    level further)."""
    editor = pasted(qtbot, "ordered", 9)
    select_lines(editor, 5, 5)
    editor.toggle_list("ordered")
    indents = [block.blockFormat().indent() for block in iter_blocks(editor.document())]
    assert indents == [0] * len(indents)
    printed = export.print_ready(editor.document())
    assert printed_markers(printed) == markers(editor) == quill_markers(editor.model.doc)
    assert markers(editor)[4:7] == ["4.", None, "1."]
    assert_mirrors(editor)


def iter_blocks(doc: QTextDocument) -> list[QTextBlock]:
    out = []
    block = doc.firstBlock()
    while block.isValid():
        out.append(block)
        block = block.next()
    return out


def printed_markers(doc: QTextDocument) -> list[str | None]:
    """What Qt's own rich layout draws before each block (its list's item text)."""
    out: list[str | None] = []
    block = doc.firstBlock()
    while block.isValid():
        lst = block.textList()
        out.append(lst.itemText(block) if lst is not None else None)
        block = block.next()
    return out


# ------------------------------------------------------------------ exports


def numbered_editor(qtbot: QtBot) -> EditorWidget:
    """2,000 pasted ordered items (eight Qt lists), then Backspace at the start of item
    100 (Qt leaves a gap in its list: Quill numbers the items after it from 1)."""
    editor = pasted(qtbot, "ordered", 2000)
    place_cursor(editor, start_of(editor, 100))
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    assert markers(editor) == quill_markers(editor.model.doc)
    return editor


def shown_numbers(editor: EditorWidget) -> list[int]:
    return [int(m[:-1]) for m in markers(editor) if m is not None]


def test_print_and_pdf_number_as_the_editor_paints(qtbot: QtBot, tmp_path: Path) -> None:
    """Qt's QTextDocumentLayout numbers each QTextList from 1: the printed copy's lists
    start where the editor's numbers are (the PDF export prints that copy), and the
    editor's own lists are left as they were."""
    editor = numbered_editor(qtbot)
    lists_before = list_snapshot(editor.document())
    printed = export.print_ready(editor.document())
    assert printed_markers(printed) == markers(editor)
    written = export.export_document(editor.document(), tmp_path / "n.pdf", "pdf")
    assert written.read_bytes().startswith(b"%PDF")
    assert list_snapshot(editor.document()) == lists_before
    assert markers(editor) == quill_markers(editor.model.doc)
    assert_mirrors(editor)


def list_snapshot(doc: QTextDocument) -> list[tuple[int, Any] | None]:
    """Which Qt list holds each block, and that list's format."""
    out: list[tuple[int, Any] | None] = []
    block = doc.firstBlock()
    while block.isValid():
        lst = block.textList()
        out.append(None if lst is None else (lst.objectIndex(), lst.format().properties()))
        block = block.next()
    return out


def test_html_and_markdown_exports_number_as_the_editor_paints(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """HTML: each <ol> starts where the editor's numbers are (Qt writes the list's start);
    Markdown: our writer numbers the runs of ordered lines itself."""
    editor = numbered_editor(qtbot)
    written = export.export_document(editor.document(), tmp_path / "n.html", "html")
    numbers: list[int] = []
    for attrs, body in re.findall(r"<ol([^>]*)>(.*?)</ol>", written.read_text(), re.S):
        start = re.search(r'start="(\d+)"', attrs)
        first = int(start.group(1)) if start else 1
        numbers.extend(range(first, first + body.count("<li")))
    assert numbers == shown_numbers(editor)
    written = export.export_document(editor.document(), tmp_path / "n.md", "md")
    numbers = [int(m) for m in re.findall(r"^(\d+)\. ", written.read_text(), re.M)]
    assert numbers == shown_numbers(editor)


def test_odt_export_numbers_as_the_editor_paints(qtbot: QtBot, tmp_path: Path) -> None:
    """Qt's ODF writer numbers each list from 1 and writes no start: each list's style
    carries it (text:start-value), and the file stays a valid ODF zip."""
    editor = numbered_editor(qtbot)
    written = export.export_document(editor.document(), tmp_path / "n.odt", "odt")
    with zipfile.ZipFile(written) as odt:
        assert odt.infolist()[0].filename == "mimetype"
        assert odt.infolist()[0].compress_type == zipfile.ZIP_STORED
        assert odt.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        assert odt.testzip() is None
        xml = odt.read("content.xml").decode("utf-8")
    starts = {
        name: int(value)
        for name, value in re.findall(
            r'<text:list-style style:name="(L\d+)">\s*<text:list-level-style-number'
            r' text:start-value="(\d+)"',
            xml,
        )
    }
    numbers: list[int] = []
    body = xml[xml.index("<office:body>") :]
    for name, items in re.findall(
        r'<text:list text:style-name="(L\d+)">(.*?)</text:list>', body, re.S
    ):
        first = starts.get(name, 1)
        numbers.extend(range(first, first + items.count("<text:list-item>")))
    assert numbers == shown_numbers(editor)


def test_nested_items_count_at_their_own_level_as_quill_2_draws_them(qtbot: QtBot) -> None:
    """1. / a. b. / i. / 2.: each level counts from 1 under the item above it (nested
    with the editor's own indent command); a bullet or a quote line between ordered
    items does not restart them, a paragraph does (a document a web Quill wrote)."""
    editor = make_editor(qtbot)
    type_text(editor, "1. one\ntwo\nthree\ndeeper\nfour")
    for line, level in ((1, 1), (2, 1), (3, 2)):
        place_cursor(editor, start_of(editor, line))
        editor.change_indent(level)
    assert markers(editor)[:5] == ["1.", "a.", "b.", "i.", "2."]

    doc = pycrdt.Doc()
    lines = [
        ("one", {"list": "ordered"}),
        ("two", {"list": "ordered", "indent": 1}),
        ("bullet", {"list": "bullet", "indent": 1}),
        ("three", {"list": "ordered", "indent": 1}),
        ("four", {"list": "ordered"}),
        ("bullet", {"list": "bullet"}),
        ("quoted", {"blockquote": True}),
        ("five", {"list": "ordered"}),
        ("deep", {"list": "ordered", "indent": 2}),
        ("plain", {}),
        ("again", {"list": "ordered"}),
    ]
    text = content(doc)
    for line, attrs in lines:
        text += line
        text.insert(len(text.to_py().encode()), "\n", attrs)
    quill = make_editor(qtbot, doc)
    shown = markers(quill)
    assert shown == quill_markers(doc)
    assert shown[:11] == ["1.", "a.", "\u2022", "b.", "2.", "\u2022", None, "3.", "i.", None, "1."]
    printed = printed_markers(export.print_ready(quill.document()))  # print, PDF, ODT, HTML
    ordered = [i for i, (_line, attrs) in enumerate(lines) if attrs.get("list") == "ordered"]
    assert [printed[i] for i in ordered] == [shown[i] for i in ordered]


KEYS = {"Return": Qt.Key.Key_Return, "Backspace": Qt.Key.Key_Backspace, "Delete": Qt.Key.Key_Delete}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_painted_numbers_stay_quills_through_any_keys(qtbot: QtBot, data: st.DataObject) -> None:
    """Numbers found once are kept through keystrokes inside items: whatever keys and
    collaborators' edits come, in any order, the painted markers are Quill's after each
    (a change that moves a number and kept the old ones fails here)."""
    editor = pasted(qtbot, "ordered", LINES)
    for _ in range(data.draw(st.integers(1, 8))):
        line = data.draw(st.integers(0, editor.document().blockCount() - 1))
        block = block_at(editor, line)
        at = data.draw(st.sampled_from([block.position(), end_of(editor, line)]))
        step = data.draw(st.sampled_from(["type", "remote", "list", "quote", "nest", *KEYS]))
        note(f"{step} at {at} (line {line})")
        place_cursor(editor, at)
        if step == "type":
            type_text(editor, "ab")
        elif step == "remote":
            remote_edit(editor.model.doc, lambda t, i=at: t.insert(i, "zz"))  # ASCII: i is a byte
        elif step == "list":
            editor.toggle_list(data.draw(st.sampled_from(["ordered", "bullet"])))
        elif step == "quote":
            editor.toggle_block("blockquote")
        elif step == "nest":
            editor.change_indent(data.draw(st.sampled_from([1, 1, 2, -1])))
        else:
            qtbot.keyClick(editor, KEYS[step])
        assert markers(editor) == quill_markers(editor.model.doc)
