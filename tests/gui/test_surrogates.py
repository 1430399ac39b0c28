"""No Coscribe edit ever splits a UTF-16 surrogate pair in the Yjs updates it produces.

Yjs and yrs diverge when an insert, a delete or a formatting boundary falls between the two
halves of an emoji (Yjs turns both halves into U+FFFD, yrs keeps the character), and the
relay refuses such updates with 1007. Every path from the Qt editor to the Y.Text is driven
here on a real EditorWidget (offscreen): typing, input methods (Hangul composition, a commit
that replaces text before the caret), paste, cut, Backspace/Delete over emoji, ZWJ
sequences, skin tones and combining marks, find/replace, formatting ranges, undo/redo, and
programmatic cursor positions between the two halves of a pair. Every update the document
emits is checked with the relay's own gate (:class:`shared.update_gate.UpdateGate`) against
the state before it, and the widget must still mirror the CRDT exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import pycrdt
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QMimeData, Qt
from PySide6.QtGui import QInputMethodEvent, QKeyEvent, QTextCharFormat
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.qt.document_model import DocumentModel
from editor_app.ui.editor_widget import EditorWidget
from shared.errors import InvalidUpdate
from shared.update_gate import DocumentFacts, UpdateGate
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import Link, assert_mirrors, content, make_editor, qt_text, type_text

FAMILY = "👨\u200d👩\u200d👧"  # ZWJ sequence: three pairs and two joiners
THUMB = "👍🏽"  # skin tone: two pairs
SAMPLES = ["a😀b", f"x{FAMILY}y", f"{THUMB}{THUMB}", "한글 😀 e\u0301 中", "𝄞😀\n😀𝄞"]


class GatedDoc:
    """Checks every update of ``doc`` with the relay's update gate, in order, against a
    shadow replica holding exactly what came before it."""

    def __init__(self, doc: pycrdt.Doc) -> None:
        self.shadow: pycrdt.Doc = pycrdt.Doc()
        self.shadow.apply_update(doc.get_update())
        self.updates = 0
        self.refused: list[str] = []
        self._sub = doc.observe(self._check)

    def _check(self, event: pycrdt.TransactionEvent) -> None:
        facts = DocumentFacts.of_document(self.shadow.get_update(), self.shadow.get_state())
        try:
            UpdateGate(facts).admit(event.update)
        except InvalidUpdate as exc:
            self.refused.append(str(exc))
        self.shadow.apply_update(event.update)
        self.updates += 1


def editor_with(qtbot: QtBot, text: str) -> tuple[EditorWidget, GatedDoc]:
    doc = pycrdt.Doc()
    if text:
        content(doc).insert(0, text)
    editor = make_editor(qtbot, doc)
    return editor, GatedDoc(doc)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def key(editor: EditorWidget, k: Qt.Key, text: str = "") -> None:
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(editor, QKeyEvent(kind, k, Qt.KeyboardModifier.NoModifier, text))


def ime_commit(editor: EditorWidget, text: str, replace_from: int = 0, length: int = 0) -> None:
    event = QInputMethodEvent("", [])
    event.setCommitString(text, replace_from, length)
    QApplication.sendEvent(editor, event)


def paste(editor: EditorWidget, text: str) -> None:
    mime = QMimeData()
    mime.setText(text)
    editor.insertFromMimeData(mime)


def check(editor: EditorWidget, gate: GatedDoc, where: str = "") -> None:
    assert gate.refused == [], where
    try:
        assert_mirrors(editor)
    except AssertionError as exc:
        raise AssertionError(f"{where}: {exc}") from None
    assert str(content(gate.shadow)) == str(editor.model.text)
    assert "\ufffd" not in str(editor.model.text) or "\ufffd" in qt_text(editor)


def test_the_gate_check_catches_a_split_pair() -> None:
    """The checker used below does see a split: a deletion of half an emoji."""
    doc: pycrdt.Doc = pycrdt.Doc(client_id=5)
    content(doc).insert(0, "a😀b")
    facts = DocumentFacts.of_document(doc.get_update(), doc.get_state())
    low_half_only = bytes([0, 1, 5, 1, 2, 1])  # delete set: client 5, clock 2, length 1
    with pytest.raises(InvalidUpdate, match="surrogate"):
        UpdateGate(facts).admit(low_half_only)


# ------------------------------------------------------------------ one path at a time


@pytest.mark.parametrize("text", SAMPLES)
def test_typing_emoji_zwj_skin_tones_hangul_and_marks(qtbot: QtBot, text: str) -> None:
    editor, gate = editor_with(qtbot, "")
    type_text(editor, text)
    type_text(editor, FAMILY + THUMB + "e\u0301")
    check(editor, gate)
    assert str(editor.model.text) == text + FAMILY + THUMB + "e\u0301"


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("k", [Qt.Key.Key_Backspace, Qt.Key.Key_Delete], ids=["bs", "del"])
def test_backspace_and_delete_until_empty(qtbot: QtBot, text: str, k: Qt.Key) -> None:
    editor, gate = editor_with(qtbot, text)
    place_cursor(editor, units(text) if k == Qt.Key.Key_Backspace else 0)
    for _ in range(units(text) + 1):
        key(editor, k)
        check(editor, gate)
    assert str(editor.model.text) == ""


@pytest.mark.parametrize("text", SAMPLES)
def test_cursor_at_every_unit_then_type_paste_and_ime(qtbot: QtBot, text: str) -> None:
    for pos in range(units(text) + 1):
        for act in ("type", "paste", "ime", "ime-replace", "backspace", "delete"):
            editor, gate = editor_with(qtbot, text)
            place_cursor(editor, pos)
            if act == "type":
                type_text(editor, "y")
            elif act == "paste":
                paste(editor, "p😀q")
            elif act == "ime":
                ime_commit(editor, "한")
            elif act == "ime-replace":  # an input method replacing the unit before the caret
                ime_commit(editor, "X", -1, 1)
            elif act == "backspace":
                key(editor, Qt.Key.Key_Backspace)
            else:
                key(editor, Qt.Key.Key_Delete)
            check(editor, gate, f"{act} at {pos} in {text!r}: {qt_text(editor)!r}")


@pytest.mark.parametrize("text", SAMPLES)
def test_selection_boundaries_at_every_unit(qtbot: QtBot, text: str) -> None:
    """Format, cut, replace and delete every selection, pair halves included."""
    n = units(text)
    for a in range(n + 1):
        for b in range(a + 1, n + 1):
            for act in ("bold", "link", "heading", "cut", "replace", "delete", "merge-format"):
                editor, gate = editor_with(qtbot, text)
                cursor = place_cursor(editor, a, b)
                if act == "bold":
                    editor.toggle_bold()
                elif act == "link":
                    editor.set_link("https://example.org/")
                elif act == "heading":
                    editor.set_heading(2)
                elif act == "cut":
                    editor.cut()
                elif act == "replace":
                    editor.replace_selection("한😀")
                elif act == "delete":
                    cursor.removeSelectedText()
                else:  # any code that formats through a QTextCursor
                    fmt = QTextCharFormat()
                    fmt.setFontItalic(True)
                    cursor.mergeCharFormat(fmt)
                check(editor, gate, f"{act} on {a}..{b} of {text!r}")


def test_find_and_replace_over_emoji(qtbot: QtBot) -> None:
    editor, gate = editor_with(qtbot, f"a😀 b{THUMB} c{FAMILY} 😀")
    assert editor.find("😀")
    editor.replace_selection("한")
    assert editor.replace_all(THUMB, "😀") == 1
    assert editor.replace_all("\ud83d", "Z") >= 1  # half a pair: Qt finds it; we never split
    assert editor.replace_all("\u200d", "") == 2  # take a ZWJ family apart
    check(editor, gate)


@pytest.mark.parametrize(
    ("text", "at", "enter", "entered", "expected"),
    [
        pytest.param(
            "ab", 1, paste, "x\ud83dy\ude00z", "ax\ufffdy\ufffdzb", id="paste-unpaired-halves"
        ),
        pytest.param("a😀b", 2, type_text, "y", "a\ufffdy\ufffdb", id="type-between-halves"),
    ],
)
def test_unpaired_halves_become_replacement_characters_as_in_yjs(
    qtbot: QtBot,
    text: str,
    at: int,
    enter: Callable[[EditorWidget, str], None],
    entered: str,
    expected: str,
) -> None:
    """A pasted unpaired half, or a pair split by typing between its halves: Yjs replaces
    each half with U+FFFD; so does the editor, in the widget and in the update, which
    keeps every half whole."""
    editor, gate = editor_with(qtbot, text)
    place_cursor(editor, at)
    enter(editor, entered)
    check(editor, gate)
    assert str(editor.model.text) == expected


def test_formatting_half_a_pair_formats_the_whole_pair(qtbot: QtBot) -> None:
    editor, gate = editor_with(qtbot, "a😀b")
    place_cursor(editor, 1, 2)
    editor.toggle_bold()
    check(editor, gate)
    assert editor.model.text.diff() == [("a", None), ("😀", {"bold": True}), ("b", None)]


def test_hangul_composition_then_emoji_ime(qtbot: QtBot) -> None:
    editor, gate = editor_with(qtbot, "")
    for preedit in ("ㅎ", "하", "한"):
        QApplication.sendEvent(editor, QInputMethodEvent(preedit, []))
    ime_commit(editor, "한")
    QApplication.sendEvent(editor, QInputMethodEvent(":smile", []))
    ime_commit(editor, "😀")
    ime_commit(editor, THUMB, -2, 2)  # the emoji picker swaps the emoji for a skin tone
    check(editor, gate)
    assert str(editor.model.text) == "한" + THUMB


def test_undo_and_redo_of_every_kind_of_edit(qtbot: QtBot) -> None:
    editor, gate = editor_with(qtbot, "")
    model = editor.model
    steps: list[Callable[[], object]] = [
        lambda: type_text(editor, "a😀b" + FAMILY),
        lambda: key(editor, Qt.Key.Key_Backspace),
        lambda: (place_cursor(editor, 1, 3), editor.toggle_bold()),
        lambda: (place_cursor(editor, 2), type_text(editor, "y")),
        lambda: (place_cursor(editor, 0, 4), editor.cut()),
        lambda: paste(editor, THUMB + "\ud83d"),
    ]
    for step in steps:
        step()
        model._undo.clear()  # one undo step per action (the capture timeout would merge them)
        check(editor, gate)
    while model.undo():
        check(editor, gate)
    while model.redo():
        check(editor, gate)
    assert gate.updates > len(steps)


# ------------------------------------------------------------------ everything at random

ALPHABET = ["a", " ", "\n", "한", "e\u0301", "中", "😀", "𝄞", THUMB, FAMILY, "\u200d", "\u0301"]


def _random_action(editor: EditorWidget, peer: pycrdt.Doc, data: st.DataObject) -> None:
    n = editor.document().characterCount() - 1
    a = data.draw(st.integers(0, n), label="anchor")
    b = data.draw(st.integers(0, n), label="position")
    kind = data.draw(
        st.sampled_from(
            [
                "type",
                "paste",
                "ime",
                "ime-replace",
                "key",
                "cut",
                "format",
                "heading",
                "replace-all",
                "undo",
                "redo",
                "remote",
            ]  # fmt: skip
        )
    )
    piece = "".join(data.draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=3)))
    note(f"{kind} {a}..{b} {piece!r} on {qt_text(editor)!r}")
    place_cursor(editor, a, b)
    if kind == "type":
        type_text(editor, piece)
    elif kind == "paste":
        paste(editor, piece + data.draw(st.sampled_from(["", "\ud83d", "\ude00"])))
    elif kind == "ime":
        ime_commit(editor, piece)
    elif kind == "ime-replace":
        ime_commit(editor, piece, -data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    elif kind == "key":
        key(editor, data.draw(st.sampled_from([Qt.Key.Key_Backspace, Qt.Key.Key_Delete])))
    elif kind == "cut":
        editor.cut()
    elif kind == "format":
        data.draw(st.sampled_from([editor.toggle_bold, editor.toggle_italic]))()
    elif kind == "heading":
        editor.set_heading(data.draw(st.sampled_from([1, None])))
    elif kind == "replace-all":
        editor.replace_all(data.draw(st.sampled_from(["😀", "\ud83d", "\u200d", "a"])), piece)
    elif kind == "undo":
        editor.model.undo()
    elif kind == "redo":
        editor.model.redo()
    else:  # a collaborator's edit, at a code point boundary of their text
        text = content(peer)
        cuts = [0] + [i + 1 for i, _ in enumerate(str(text))]
        at = len(str(text)[: data.draw(st.sampled_from(cuts))].encode())
        with peer.transaction():
            text.insert(at, piece)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_sequence_of_edits_splits_a_pair(qtbot: QtBot, data: st.DataObject) -> None:
    doc, peer = pycrdt.Doc(client_id=1), pycrdt.Doc(client_id=2)
    content(doc).insert(0, data.draw(st.sampled_from(SAMPLES)))
    peer.apply_update(doc.get_update())
    to_peer, from_peer = Link(doc, peer), Link(peer, doc)
    gate = GatedDoc(doc)
    editor = EditorWidget(DocumentModel(doc))
    try:
        for _ in range(data.draw(st.integers(1, 10))):
            _random_action(editor, peer, data)
            if data.draw(st.booleans(), label="sync"):
                from_peer.flush()
                to_peer.flush()
            check(editor, gate)
        from_peer.flush()
        to_peer.flush()
        check(editor, gate)
        assert str(content(peer)) == str(content(doc))
    finally:
        editor.close_binding()
        editor.model.close()
        editor.deleteLater()
