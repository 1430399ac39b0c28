"""The Qt <-> CRDT text binding: incremental both ways, UTF-16 exact, cursor-stable,
formatting as Quill attributes, undo of own edits only, IME pre-edit never sent.

Real parts only: real pycrdt docs whose updates travel as real Yjs updates (REMOTE origin),
real QTextEdit widgets (offscreen). The helpers at the top are shared with
test_editor_widget.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pycrdt
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QInputMethodEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from editor_app.qt.document_model import DocumentModel
from editor_app.qt.formats import crdt_delta, document_delta
from editor_app.ui.editor_widget import EditorWidget
from shared.origins import Origin
from tests.e2e.harness import place_cursor


def content(doc: pycrdt.Doc) -> pycrdt.Text:
    return doc.get("content", type=pycrdt.Text)


def qt_text(editor: EditorWidget) -> str:
    """The widget's text with Qt's paragraph separators as "\\n" (what the CRDT holds)."""
    return editor.document().toRawText().replace("\u2029", "\n")


def type_text(widget: QWidget, text: str) -> None:
    """Type ``text`` one key event per code point (non-ASCII safe, unlike keyClicks)."""
    for ch in text:
        key = Qt.Key.Key_Return if ch == "\n" else 0
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))


def assert_mirrors(editor: EditorWidget) -> None:
    """Widget text and formatting equal the CRDT's, and the model's index is in step."""
    text = editor.model.text
    assert qt_text(editor) == str(text)
    assert editor.model.index.text == qt_text(editor)
    assert document_delta(editor.document()) == crdt_delta(text.diff())


@dataclass
class Link:
    """Carries every update of ``src`` to ``dst`` when :meth:`flush` is called."""

    src: pycrdt.Doc
    dst: pycrdt.Doc
    pending: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sub = self.src.observe(self._on_update)

    def _on_update(self, event: pycrdt.TransactionEvent) -> None:
        if not _is_remote(event):
            self.pending.append(event.update)

    def flush(self) -> None:
        updates, self.pending = self.pending, []
        for update in updates:
            with self.dst.transaction(origin=Origin.REMOTE):
                self.dst.apply_update(update)


def _is_remote(event: pycrdt.TransactionEvent) -> bool:
    return event.transaction.origin() == hash(Origin.REMOTE)


def remote_edit(doc: pycrdt.Doc, edit: Callable[[pycrdt.Text], object]) -> None:
    """Make a change on a peer replica of ``doc`` and deliver it with the REMOTE origin."""
    peer = pycrdt.Doc()
    peer.apply_update(doc.get_update())
    before = peer.get_state()
    edit(content(peer))
    with doc.transaction(origin=Origin.REMOTE):
        doc.apply_update(peer.get_update(before))


def make_editor(qtbot: QtBot, doc: pycrdt.Doc | None = None) -> EditorWidget:
    model = DocumentModel(doc if doc is not None else pycrdt.Doc())
    editor = EditorWidget(model)
    qtbot.addWidget(editor)
    return editor


class Recorder:
    """Records the transactions a doc commits: origin hash and text delta."""

    def __init__(self, doc: pycrdt.Doc) -> None:
        self.updates: list[bytes] = []
        self.deltas: list[list[dict[str, object]]] = []
        # pycrdt ends a subscription when its handle is garbage-collected: keep them.
        self._subs = (
            doc.observe(lambda e: self.updates.append(e.update)),
            content(doc).observe(lambda e: self.deltas.append(list(e.delta))),
        )


# ------------------------------------------------------------------ local -> CRDT


def test_initial_load_fills_widget_with_text_and_formats(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    text = content(doc)
    text.insert(0, "Title\nbold 😀 é\u0301 한\nitem\nend", {})
    text.format(0, 5, {"bold": True})
    text.format(5, 6, {"header": 1})
    text.format(
        len("Title\nbold 😀 é\u0301 한\nitem".encode()),
        len("Title\nbold 😀 é\u0301 한\nitem\n".encode()),
        {"list": "bullet"},
    )
    editor = make_editor(qtbot, doc)
    assert_mirrors(editor)
    assert editor.document().firstBlock().blockFormat().headingLevel() == 1


def test_typing_sends_one_small_change_per_key(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    rec = Recorder(editor.model.doc)
    typed = "Hi 한글 😀 e\u0301 中文"
    type_text(editor, typed)
    assert str(editor.model.text) == typed
    assert qt_text(editor) == typed
    assert len(rec.deltas) == len(typed)  # one transaction per key event
    for delta in rec.deltas:
        inserts = [d for d in delta if "insert" in d]
        assert len(inserts) == 1 and len(str(inserts[0]["insert"])) == 1
    assert_mirrors(editor)


def test_edits_in_the_middle_and_deletions_use_utf16_positions(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    editor.insertPlainText("a😀b\ncd")
    place_cursor(editor, 3)  # after the emoji (2 UTF-16 units)
    type_text(editor, "X한")
    assert str(editor.model.text) == "a😀X한b\ncd"
    place_cursor(editor, 1, 3).removeSelectedText()
    assert str(editor.model.text) == "aX한b\ncd"
    cursor = editor.textCursor()
    cursor.setPosition(2)
    cursor.setPosition(6, cursor.MoveMode.KeepAnchor)  # across the line break
    cursor.insertText("Z")
    assert str(editor.model.text) == "aXZd"
    assert_mirrors(editor)


def test_same_length_replacement_is_an_edit_not_a_format(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    editor.insertPlainText("cat")
    place_cursor(editor, 0, 1).insertText("b")
    assert str(editor.model.text) == "bat"
    assert_mirrors(editor)


# ------------------------------------------------------------------ CRDT -> Qt


def test_remote_keystroke_is_applied_incrementally(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "line\n" * 2000, {})
    editor = make_editor(qtbot, doc)
    changes: list[tuple[int, int, int]] = []
    editor.document().contentsChange.connect(lambda p, r, a: changes.append((p, r, a)))
    offset = len("line\n" * 1000)
    remote_edit(doc, lambda t: t.insert(offset, "😀", {}))
    assert changes and all(r <= 1 and a <= 3 for _, r, a in changes)
    assert all(p >= offset - 1 for p, _, _ in changes)
    remote_edit(doc, lambda t: t.__delitem__(slice(offset, offset + 4)))
    assert all(r <= 5 and a <= 5 for _, r, a in changes)
    assert_mirrors(editor)


def test_remote_change_is_not_echoed_back(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    rec = Recorder(doc)
    remote_edit(doc, lambda t: t.insert(0, "from afar ✓", {"italic": True}))
    assert len(rec.updates) == 1  # the remote update only: nothing written back
    assert qt_text(editor) == "from afar ✓"
    assert_mirrors(editor)


def test_cursor_and_selection_stay_with_their_text(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "hello world, bye", {})
    editor = make_editor(qtbot, doc)
    place_cursor(editor, 6, 11)  # "world" selected
    remote_edit(doc, lambda t: t.insert(0, "😀 ", {}))  # before the selection: +3 units
    cur = editor.textCursor()
    assert (cur.anchor(), cur.position()) == (9, 14)
    assert cur.selectedText() == "world"
    remote_edit(doc, lambda t: t.insert(len("😀 hello wo".encode()), "-", {}))  # inside it
    cur = editor.textCursor()
    assert cur.selectedText() == "wo-rld"
    remote_edit(doc, lambda t: t.__delitem__(slice(0, len("😀 ".encode()))))  # before again
    cur = editor.textCursor()
    assert (cur.anchor(), cur.position(), cur.selectedText()) == (6, 12, "wo-rld")
    remote_edit(doc, lambda t: t.insert(len(str(t).encode()), "!", {}))  # after it
    assert editor.textCursor().selectedText() == "wo-rld"
    assert_mirrors(editor)


def test_remote_lines_and_block_attributes(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "one\ntwo\nthree", {})
    editor = make_editor(qtbot, doc)
    remote_edit(doc, lambda t: t.format(3, 4, {"header": 2}))
    assert editor.document().firstBlock().blockFormat().headingLevel() == 2
    remote_edit(doc, lambda t: t.format(7, 8, {"list": "ordered"}))
    assert_mirrors(editor)
    # split a heading line: both halves end with a header "\n" (Quill semantics)
    remote_edit(doc, lambda t: t.insert(1, "\n", {"header": 2}))
    assert_mirrors(editor)
    # merge: the merged line keeps the LAST line's "\n" (here the list item's)
    remote_edit(doc, lambda t: t.__delitem__(slice(4, 5)))
    assert_mirrors(editor)
    assert [editor.document().findBlockByNumber(i).text() for i in range(3)] == [
        "o",
        "netwo",
        "three",
    ]


# ------------------------------------------------------------------ formatting both ways


def test_local_formatting_becomes_quill_attributes(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    editor.insertPlainText("bold and link\nheading\nitem one\nitem two\nlast")
    place_cursor(editor, 0, 4)
    editor.toggle_bold()
    editor.toggle_italic()
    place_cursor(editor, 9, 13)
    editor.set_link("https://example.org/")
    editor.toggle_underline()
    editor.toggle_strike()
    place_cursor(editor, 16)
    editor.set_heading(1)
    place_cursor(editor, 25, 35)
    editor.toggle_list("bullet")
    diff = editor.model.text.diff()
    runs = crdt_delta(diff)
    assert ("bold", {"bold": True, "italic": True}) in runs
    assert (
        "link",
        {"link": "https://example.org/", "underline": True, "strike": True},
    ) in runs
    newline_attrs = [attrs for chunk, attrs in runs if chunk == "\n"]
    assert newline_attrs == [{}, {"header": 1}, {"list": "bullet"}, {"list": "bullet"}]
    assert_mirrors(editor)
    editor.toggle_list("bullet")  # toggles off
    place_cursor(editor, 16)
    editor.set_heading(None)
    assert crdt_delta(editor.model.text.diff())[-1] == ("last", {})
    assert all(
        attrs == {} for chunk, attrs in crdt_delta(editor.model.text.diff()) if chunk == "\n"
    )
    assert_mirrors(editor)


def test_heading_on_the_last_line_gets_a_line_break_to_carry_it(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    editor.insertPlainText("Title")
    editor.set_heading(1)
    assert str(editor.model.text) == "Title\n"
    assert crdt_delta(editor.model.text.diff()) == [("Title", {}), ("\n", {"header": 1})]
    assert editor.textCursor().position() == 5  # the caret did not jump to the new line
    type_text(editor, "\n")  # Enter at the end of a heading: the next line is plain
    type_text(editor, "body")
    assert str(editor.model.text) == "Title\nbody"  # no stray empty line (issue 13, bug 4)
    assert_mirrors(editor)


def test_remote_formatting_reaches_the_widget(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    content(doc).insert(0, "plain text here\nmore", {})
    editor = make_editor(qtbot, doc)
    remote_edit(doc, lambda t: t.format(0, 5, {"bold": True, "link": "https://q.example/"}))
    remote_edit(doc, lambda t: t.format(6, 10, {"strike": True}))
    remote_edit(doc, lambda t: t.format(2, 4, {"bold": None}))
    remote_edit(doc, lambda t: t.format(0, 2, {"link": None}))
    assert_mirrors(editor)
    fmt = editor.document().firstBlock().begin().fragment().charFormat()
    assert fmt.fontWeight() >= 700 and not fmt.isAnchor()


def test_typing_next_to_bold_text_sends_explicit_attributes(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "ab")
    editor.toggle_bold()  # no selection: the typing format becomes bold
    type_text(editor, "CD")
    editor.toggle_bold()
    type_text(editor, "ef")
    assert crdt_delta(editor.model.text.diff()) == [("ab", {}), ("CD", {"bold": True}), ("ef", {})]
    assert_mirrors(editor)


# ------------------------------------------------------------------ undo / redo


def test_undo_reverts_only_own_edits(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    model = editor.model
    type_text(editor, "mine ")
    remote_edit(doc, lambda t: t.insert(len(str(t).encode()), "theirs", {}))
    assert str(model.text) == "mine theirs"
    assert model.can_undo()
    model.undo()
    assert str(model.text) == "theirs"
    assert qt_text(editor) == "theirs"
    model.redo()
    assert str(model.text) == "mine theirs"
    assert_mirrors(editor)


def test_undo_keys_use_the_crdt_undo_manager(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "abc")
    assert not editor.document().isUndoRedoEnabled()
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert str(editor.model.text) == ""
    qtbot.keyClick(
        editor,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert str(editor.model.text) == "abc"
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert str(editor.model.text) == "abc"
    assert_mirrors(editor)


def test_undo_is_sent_like_a_local_change(qtbot: QtBot) -> None:
    a, b = pycrdt.Doc(), pycrdt.Doc()
    ab, ba = Link(a, b), Link(b, a)
    editor_a, editor_b = make_editor(qtbot, a), make_editor(qtbot, b)
    type_text(editor_a, "draft")
    ab.flush()
    assert qt_text(editor_b) == "draft"
    editor_a.model.undo()
    ab.flush()
    ba.flush()
    assert qt_text(editor_b) == qt_text(editor_a) == ""


# ------------------------------------------------------------------ input methods


def test_ime_preedit_is_not_sent_only_the_commit(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "a")
    rec = Recorder(editor.model.doc)
    for preedit in ("ㅎ", "하", "한"):
        QApplication.sendEvent(editor, QInputMethodEvent(preedit, []))
        assert rec.updates == []
        assert str(editor.model.text) == "a"
    commit = QInputMethodEvent("", [])
    commit.setCommitString("한")
    QApplication.sendEvent(editor, commit)
    assert str(editor.model.text) == "a한"
    assert len(rec.updates) == 1
    assert_mirrors(editor)


# ------------------------------------------------------------------ convergence property

ALPHABET = ["a", "b", " ", "\n", "한", "中", "😀", "𝄞", "e\u0301"]
INLINE_TOGGLES = ("bold", "italic", "underline", "strike", "link")


def _u16(editor: EditorWidget, cp: int) -> int:
    """UTF-16 position of code point ``cp`` of the widget's text (users never land inside
    a surrogate pair)."""
    return len(qt_text(editor)[:cp].encode("utf-16-le")) // 2


def _random_edit(editor: EditorWidget, data: st.DataObject) -> None:
    n = len(qt_text(editor))
    kind = data.draw(st.sampled_from(["insert", "insert", "delete", "inline", "block", "key"]))
    a = data.draw(st.integers(0, n))
    b = data.draw(st.integers(a, min(n, a + 6)))
    place_cursor(editor, _u16(editor, a), _u16(editor, b))
    if kind == "insert":
        piece = "".join(data.draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4)))
        editor.textCursor().insertText(piece)
    elif kind == "delete" and a < b:
        editor.textCursor().removeSelectedText()
    elif kind == "inline" and a < b:
        toggle = data.draw(st.sampled_from(INLINE_TOGGLES))
        if toggle == "link":
            editor.set_link(data.draw(st.sampled_from(["https://a.example/", None])))
        else:
            getattr(editor, f"toggle_{toggle}")()
    elif kind == "key":  # QTextEdit's own key handling (lists end on Enter/Backspace)
        key = data.draw(
            st.sampled_from([Qt.Key.Key_Return, Qt.Key.Key_Backspace, Qt.Key.Key_Delete])
        )
        for event_type in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(event_type, key, Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(editor, event)
    elif kind == "block":
        choice = data.draw(st.sampled_from(["h1", "h2", "none", "bullet", "ordered"]))
        if choice in ("bullet", "ordered"):
            editor.toggle_list(choice)
        else:
            editor.set_heading(None if choice == "none" else int(choice[1]))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_two_editors_converge_to_identical_text_and_formatting(
    qtbot: QtBot, data: st.DataObject
) -> None:
    a, b = pycrdt.Doc(client_id=1), pycrdt.Doc(client_id=2)  # fixed ids: reproducible
    ab, ba = Link(a, b), Link(b, a)
    editors = (EditorWidget(DocumentModel(a)), EditorWidget(DocumentModel(b)))
    try:
        for _ in range(data.draw(st.integers(1, 12))):
            step = data.draw(st.sampled_from(["edit0", "edit1", "edit0", "edit1", "sync"]))
            if step == "sync":
                link = data.draw(st.sampled_from([ab, ba]))
                note(f"sync {'a->b' if link is ab else 'b->a'}")
                link.flush()
            else:
                _random_edit(editors[int(step[-1])], data)
                note(f"{step}: {editors[int(step[-1])].model.text.diff()!r}")
            for editor in editors:
                assert_mirrors(editor)
        ab.flush()
        ba.flush()
        ab.flush()
        for editor in editors:
            assert_mirrors(editor)
        assert str(content(a)) == str(content(b))
        assert document_delta(editors[0].document()) == document_delta(editors[1].document())
    finally:
        for editor in editors:
            editor.close_binding()
            editor.model.close()
            editor.deleteLater()
