"""A collaborator's paste where every line carries a block format (issue 13: 1 MB of
headings or list items took ~2-13 s to show, one Qt block format per line).

The paste arrives as one Yjs update; the editor sets the block formats of each run of
equal lines once. What it shows must be exactly what the line-by-line application shows:
the reference editor receives the same lines one update per line (each update ends one
line, so each is set on its own by the per-block code), and every block of the two
widgets is compared: block format, block char format, list (its format, the item's
number, which blocks share a list) and every fragment's char format.

Real parts only: real pycrdt docs, real editor widgets (offscreen), real Yjs updates.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from PySide6.QtGui import QTextBlock, QTextFormat, QTextList
from pytestqt.qtbot import QtBot

from editor_app.qt import formats
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.remote_cursors import list_marker
from shared.origins import Origin
from tests.gui.test_binding import assert_mirrors, content, make_editor, qt_text, remote_edit
from tests.gui.test_paste_many_lines import doc_with

WORDS = ("한국어 문장", "😀 smile", "e\u0301te\u0301", "中文", "plain words")
LINES = 2000
_OBJECT_INDEX = int(QTextFormat.Property.ObjectIndex.value)

Runs = list[tuple[str, dict[str, Any]]]


def lines_of(block_attrs: list[dict[str, Any]], lines: int = LINES) -> list[Runs]:
    """``lines`` lines, each as its runs (text with inline attributes, then its "\\n" with
    the next of ``block_attrs``, cycled); every 7th line has a bold word, every 11th is
    empty."""
    out: list[Runs] = []
    for i in range(lines):
        runs: Runs = []
        if i % 11 != 5:
            runs.append((f"{i} {WORDS[i % len(WORDS)]} ", {}))
            if i % 7 == 3:
                runs.append(("bold", {"bold": True}))
        runs.append(("\n", block_attrs[i % len(block_attrs)]))
        out.append(runs)
    return out


def paste_at(at: int, lines: list[Runs]) -> Any:
    """A peer's edit inserting ``lines`` at byte ``at``, last run first (as a paste is
    written: yrs walks from the start of the text to find each position)."""

    def edit(text: pycrdt.Text) -> None:
        for runs in reversed(lines):
            for piece, attrs in reversed(runs):
                text.insert(at, piece, attrs)

    return edit


def line_bytes(runs: Runs) -> int:
    return sum(len(piece.encode()) for piece, _ in runs)


def line_by_line(doc: pycrdt.Doc[Any], at: int, lines: list[Runs]) -> None:
    """The reference: a peer inserts ``lines`` at byte ``at`` one line per transaction,
    and each line reaches ``doc`` as an update of its own (the widget sets it alone)."""
    peer: pycrdt.Doc[Any] = pycrdt.Doc()
    peer.apply_update(doc.get_update())
    updates: list[bytes] = []
    sub = peer.observe(lambda event: updates.append(event.update))
    pos = at
    for runs in lines:
        with peer.transaction():
            paste_at(pos, [runs])(content(peer))
        pos += line_bytes(runs)
    peer.unobserve(sub)
    for update in updates:
        with doc.transaction(origin=Origin.REMOTE):
            doc.apply_update(update)


def block_snapshot(editor: EditorWidget) -> list[tuple[Any, ...]]:
    """Everything Qt knows about each block's looks: its text, block format (but the
    object index: which list), block char format, and each fragment's text and char
    format; for list items the list's format and the marker the widget paints (a bullet,
    the item's number; a box for check items). Which Qt list holds an item draws nothing,
    and a long pasted run of items spreads over lists of ``formats.LIST_CHUNK`` items."""
    out: list[tuple[Any, ...]] = []
    block: QTextBlock = editor.document().firstBlock()
    while block.isValid():
        props = block.blockFormat().properties()
        props.pop(_OBJECT_INDEX, None)
        lst = block.textList()
        list_part: tuple[Any, ...] = ()
        if lst is not None:
            list_part = (lst.format().properties(), list_marker(block))
        frags = []
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            frags.append((frag.text(), frag.charFormat().properties()))
            it += 1
        out.append((block.text(), props, block.charFormat().properties(), list_part, frags))
        block = block.next()
    return out


def assert_same_looks(editor: EditorWidget, reference: EditorWidget) -> None:
    assert qt_text(editor) == qt_text(reference)
    mine, theirs = block_snapshot(editor), block_snapshot(reference)
    assert len(mine) == len(theirs)
    for number, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        assert a == b, f"block {number} differs"


KINDS: dict[str, list[dict[str, Any]]] = {
    "heading": [{"header": 2}],
    "headings 1-6": [{"header": level} for level in range(1, 7)],
    "bullet": [{"list": "bullet"}],
    "ordered": [{"list": "ordered"}],
    "checked": [{"list": "checked"}],
    "checklist": [{"list": "checked"}, {"list": "unchecked"}, {"list": "unchecked"}],
    "mixed": [
        {"header": 1, "align": "center"},
        {"list": "bullet", "indent": 1},
        {"list": "bullet", "indent": 1},
        {"blockquote": True},
        {"code-block": True},
        {"code-block": True},
        {"list": "ordered"},
        {"align": "right", "indent": 2},
        {"header": 3},
        {},
    ],
}
#: Where the paste lands: the empty last line, the middle of a heading line (the new lines
#: start as copies of the heading, as in Qt), a bullet item.
INTO: dict[str, tuple[Runs, int]] = {
    "end": ([("first\n", {})], len(b"first\n")),
    "heading": ([("Title ", {}), ("bold", {"bold": True}), ("\n", {"header": 1})], 3),
    "bullet": ([("intro\n", {}), ("item", {}), ("\n", {"list": "bullet"}), ("tail\n", {})], 8),
}


@pytest.mark.parametrize("into", list(INTO))
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_formatted_paste_shows_every_block_as_line_by_line(
    qtbot: QtBot, kind: str, into: str
) -> None:
    start, at = INTO[into]
    big = into == "end" and kind in ("heading", "bullet", "ordered", "checked")
    lines = lines_of(KINDS[kind], LINES if big else 300)
    doc, ref_doc = doc_with(start), doc_with(start)
    editor, reference = make_editor(qtbot, doc), make_editor(qtbot, ref_doc)
    changes: list[tuple[int, int, int]] = []
    editor.document().contentsChange.connect(lambda p, r, a: changes.append((p, r, a)))

    remote_edit(doc, paste_at(at, lines))
    line_by_line(ref_doc, at, lines)

    assert len(changes) == 1
    assert str(content(doc)) == str(content(ref_doc))
    assert_same_looks(editor, reference)
    assert_mirrors(editor)


@pytest.mark.parametrize(
    ("kind", "bound"), [("heading", 10), ("bullet", 25), ("ordered", 25), ("checked", 27)]
)
def test_a_formatted_paste_writes_block_formats_per_run_not_per_line(
    qtbot: QtBot, kind: str, bound: int
) -> None:
    """2,000 lines: the per-block code wrote one or two Qt block formats per line (plus a
    char restyle and a block char format: ~0.2 ms of Python each, 2-4 s for 1 MB); the
    runs of equal lines are now written once each, a long list once per list of
    ``LIST_CHUNK`` items (two writes: the list, its items)."""
    doc = doc_with(INTO["end"][0])
    editor = make_editor(qtbot, doc)
    before = formats.block_format_calls()
    remote_edit(doc, paste_at(INTO["end"][1], lines_of(KINDS[kind])))
    calls = formats.block_format_calls() - before
    assert calls <= bound, calls
    assert_mirrors(editor)


@pytest.mark.parametrize("kind", ["bullet", "checked", "ordered"])
def test_a_long_pasted_list_is_built_in_lists_qt_builds_in_linear_time(
    qtbot: QtBot, kind: str
) -> None:
    """Qt walks a whole list for each block joining it (13,000 items: ~10 s): 2,000
    pasted list items go into lists of at most ``LIST_CHUNK`` items, adjacent and of one
    format; numbered items are still painted 1 to 2,000 (one run of ordered lines)."""
    doc = doc_with(INTO["end"][0])
    editor = make_editor(qtbot, doc)
    remote_edit(doc, paste_at(INTO["end"][1], lines_of(KINDS[kind])))
    block = editor.document().findBlock(len("first\n"))
    lists: list[QTextList] = []
    markers: list[str | None] = []
    while block.isValid() and block.textList() is not None:
        lst = block.textList()
        if not lists or lists[-1].objectIndex() != lst.objectIndex():
            lists.append(lst)
        assert lst.format() == lists[0].format()
        markers.append(list_marker(block))
        block = block.next()
    assert len(markers) == LINES
    if kind == "ordered":
        assert markers == [f"{n}." for n in range(1, LINES + 1)]
    assert all(lst.count() <= formats.LIST_CHUNK for lst in lists)
    assert len(lists) == -(-LINES // formats.LIST_CHUNK)
    assert_mirrors(editor)


def test_opening_a_document_of_headings_writes_block_formats_per_run(qtbot: QtBot) -> None:
    """The initial load goes the same way: 2,000 heading lines open with a few Qt block
    format writes, looking exactly as when they arrive one by one."""
    lines = lines_of(KINDS["headings 1-6"][:1])
    doc = doc_with([run for runs in lines for run in runs])
    before = formats.block_format_calls()
    editor = make_editor(qtbot, doc)
    assert formats.block_format_calls() - before <= 10
    ref_doc = doc_with([])
    reference = make_editor(qtbot, ref_doc)
    line_by_line(ref_doc, 0, lines)
    assert_same_looks(editor, reference)
    assert_mirrors(editor)
