"""A local paste of many lines: one CRDT transaction with exactly Qt's formats, built in
O(size of the paste) (issue 13: 1 MB took ~100 s, one CRDT insert and format per line,
each walking the text), arriving identical in a second editor, undone in one step.

Real parts only: real pycrdt docs, real editor widgets (offscreen); updates travel as the
real Yjs updates the first doc emits.
"""

from __future__ import annotations

from typing import Any

import pycrdt
from PySide6.QtGui import QTextCursor, QTextDocumentFragment
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import (
    Link,
    Recorder,
    assert_mirrors,
    content,
    make_editor,
    qt_text,
    remote_edit,
)

#: Hangul, an emoji (a surrogate pair in Qt), a combining mark, CJK.
WORDS = ("한국어 문장", "😀 smile", "e\u0301te\u0301", "中文", "plain words")


def mixed_runs(lines: int) -> list[tuple[str, dict[str, Any]]]:
    """A document of ``lines`` lines, Quill-style: headings, ordered/bullet/check lists,
    quotes, centred lines and plain lines, with bold, italic and link runs inside."""
    block_kinds: list[dict[str, Any]] = [
        {"header": 1},
        {},
        {"list": "ordered"},
        {"list": "ordered"},
        {"list": "bullet"},
        {"header": 2},
        {"list": "unchecked"},
        {"list": "checked"},
        {"blockquote": True},
        {"align": "center"},
        {},
    ]
    runs: list[tuple[str, dict[str, Any]]] = []
    for i in range(lines):
        word = WORDS[i % len(WORDS)]
        runs.append((f"line {i} {word} ", {}))
        if i % 3 == 0:
            runs.append((f"bold {word}", {"bold": True}))
        if i % 4 == 1:
            runs.append((" italic", {"italic": True}))
            runs.append((" link", {"link": "https://example.org/x"}))
        runs.append((" end", {}))
        runs.append(("\n", block_kinds[i % len(block_kinds)]))
    return runs


def doc_with(runs: list[tuple[str, dict[str, Any]]]) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    pos = 0
    for piece, attrs in runs:
        text.insert(pos, piece, attrs)
        pos += len(piece.encode())
    return doc


def copied_fragment(qtbot: QtBot, runs: list[tuple[str, dict[str, Any]]]) -> QTextDocumentFragment:
    """What Ctrl+C in an editor showing ``runs`` puts in a rich clipboard: Qt's fragment."""
    source = make_editor(qtbot, doc_with(runs))
    cursor = source.textCursor()
    cursor.select(QTextCursor.SelectionType.Document)
    return QTextDocumentFragment(cursor)


def second_editor(qtbot: QtBot, doc: pycrdt.Doc[Any]) -> tuple[EditorWidget, Link]:
    """An editor on a replica of ``doc`` that receives ``doc``'s later updates."""
    replica: pycrdt.Doc[Any] = pycrdt.Doc()
    replica.apply_update(doc.get_update())
    return make_editor(qtbot, replica), Link(doc, replica)


def test_a_formatted_paste_is_one_transaction_with_exactly_its_delta(qtbot: QtBot) -> None:
    runs = mixed_runs(600)
    fragment = copied_fragment(qtbot, runs)
    doc = doc_with([("before", {"italic": True}), ("\n", {"header": 3}), ("after\n", {})])
    editor = make_editor(qtbot, doc)
    other, link = second_editor(qtbot, doc)
    rec = Recorder(doc)
    cursor = editor.textCursor()
    cursor.setPosition(len("before\n"))  # the start of the line "after"
    cursor.insertFragment(fragment)

    # Qt merges the fragment's first line into the line it lands in, which keeps its own
    # (plain) block format: the first heading becomes a plain line, as Qt shows it.
    pasted = [(piece, dict(attrs)) for piece, attrs in runs]
    first_newline = next(i for i, (piece, _) in enumerate(pasted) if piece == "\n")
    pasted[first_newline] = ("\n", {})
    expected = crdt_delta(
        [("before", {"italic": True}), ("\n", {"header": 3}), *pasted, ("after\n", None)]
    )
    assert len(rec.updates) == 1  # one transaction, one update for the whole paste
    assert crdt_delta(content(doc).diff()) == expected
    assert_mirrors(editor)

    link.flush()
    assert crdt_delta(content(other.model.doc).diff()) == expected
    assert qt_text(other) == qt_text(editor)
    assert_mirrors(other)

    assert editor.model.undo()  # the paste is one undo step
    assert crdt_delta(content(doc).diff()) == crdt_delta(
        [("before", {"italic": True}), ("\n", {"header": 3}), ("after\n", None)]
    )
    assert_mirrors(editor)
    link.flush()
    assert qt_text(other) == "before\nafter\n"
    assert editor.model.redo()
    assert crdt_delta(content(doc).diff()) == expected
    link.flush()
    assert_mirrors(other)


def test_paste_without_formatting_maps_offsets_once_not_per_line(qtbot: QtBot) -> None:
    """2,000 lines pasted into a list item: every new line is a list item, the update is
    one, and the UTF-16 -> UTF-8 mapping is done a few times, not per line (it was 4 per
    line and per run, plus a re-assert of every run's formats: an O(document) walk in
    yrs each, ~100 s for 1 MB)."""
    doc = doc_with([("intro\n", {}), ("item 😀", {}), ("\n", {"list": "bullet"}), ("tail\n", {})])
    editor = make_editor(qtbot, doc)
    other, link = second_editor(qtbot, doc)
    rec = Recorder(doc)
    lines = [f"{i} {WORDS[i % len(WORDS)]}" for i in range(2000)]
    QApplication.clipboard().setText("\r\n".join(lines))
    cursor = editor.textCursor()
    cursor.setPosition(len("intro\nitem 😀".encode("utf-16-le")) // 2)  # end of the item
    editor.setTextCursor(cursor)
    before = editor.model.index.conversions
    editor.paste_plain()
    conversions = editor.model.index.conversions - before

    assert len(rec.updates) == 1
    body = "".join(f"{line}\n" for line in lines[:-1]) + lines[-1]
    assert str(content(doc)) == f"intro\nitem 😀{body}\ntail\n"
    # Qt gives each new line the block format of the line it splits: a list item.
    pieces: list[tuple[str, dict[str, Any]]] = [("intro\n", {}), ("item 😀", {})]
    for i, line in enumerate(lines):
        if i:
            pieces.append(("\n", {"list": "bullet"}))
        pieces.append((line, {}))
    expected = crdt_delta([*pieces, ("\n", {"list": "bullet"}), ("tail\n", {})])
    assert crdt_delta(content(doc).diff()) == expected
    assert conversions <= 100, conversions  # the caret and presence convert a few too
    assert_mirrors(editor)
    link.flush()
    assert crdt_delta(content(other.model.doc).diff()) == expected
    assert_mirrors(other)


def test_a_collaborators_paste_arrives_in_one_change_of_the_widget(qtbot: QtBot) -> None:
    """A collaborator's 2,000-line paste is one Yjs update; the editor takes it in one
    Qt change (it made two per line, each laid out and reported on its own: 5-7 s for
    1 MB), and a formatted one arrives with every line's format."""
    doc = doc_with([("first\n", {})])
    editor = make_editor(qtbot, doc)
    changes: list[tuple[int, int, int]] = []
    editor.document().contentsChange.connect(lambda p, r, a: changes.append((p, r, a)))
    lines = "".join(f"{i} {WORDS[i % len(WORDS)]}\n" for i in range(2000))
    remote_edit(doc, lambda text: text.insert(len("first\n"), lines, {}))
    assert len(changes) == 1
    assert qt_text(editor) == f"first\n{lines}"
    assert_mirrors(editor)

    runs = mixed_runs(300)
    at = len(str(content(doc)).encode())

    def paste_runs(text: pycrdt.Text) -> None:
        for piece, attrs in reversed(runs):
            text.insert(at, piece, attrs)

    remote_edit(doc, paste_runs)
    assert crdt_delta(content(doc).diff())[-len(crdt_delta(runs)) :] == crdt_delta(runs)
    assert_mirrors(editor)
