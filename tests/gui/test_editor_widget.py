"""EditorWidget and DocumentModel: formatting actions and shortcuts, find/replace, title,
word count, undo signals, read-only mode. Real docs and widgets (offscreen)."""

from __future__ import annotations

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from editor_app.core.offsets import TextIndex
from editor_app.core.presence import PresenceTracker
from editor_app.core.schema import content, meta
from editor_app.qt.document_model import DocumentModel
from editor_app.qt.formats import crdt_delta
from editor_app.ui.editor_widget import EditorWidget
from shared.origins import Origin
from tests.e2e.harness import place_cursor
from tests.gui.test_binding import assert_mirrors, make_editor, qt_text, remote_edit, type_text

# ------------------------------------------------------------------ formatting


def test_shortcuts_toggle_inline_formats(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "one two")
    place_cursor(editor, 0, 3)
    ctrl = Qt.KeyboardModifier.ControlModifier
    for key in (Qt.Key.Key_B, Qt.Key.Key_I, Qt.Key.Key_U):
        qtbot.keyClick(editor, key, ctrl)
    assert crdt_delta(editor.model.text.diff())[0] == (
        "one",
        {"bold": True, "italic": True, "underline": True},
    )
    qtbot.keyClick(editor, Qt.Key.Key_B, ctrl)  # all bold -> toggles off
    assert crdt_delta(editor.model.text.diff())[0] == ("one", {"italic": True, "underline": True})
    assert_mirrors(editor)


def test_toggle_on_mixed_selection_makes_all_bold(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "abcd")
    place_cursor(editor, 0, 2)
    editor.toggle_bold()
    place_cursor(editor, 0, 4)
    editor.toggle_bold()
    assert crdt_delta(editor.model.text.diff()) == [("abcd", {"bold": True})]


def test_format_changed_reports_attributes_at_the_cursor(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "plain bold\nhead\n", {})
    text.format(6, 10, {"bold": True})
    text.format(15, 16, {"header": 2})
    editor = make_editor(qtbot, doc)
    cursor = editor.textCursor()
    for pos, expected in ((8, {"bold": True}), (13, {"header": 2}), (2, {})):
        with qtbot.waitSignal(editor.formatChanged) as blocker:
            cursor.setPosition(pos)
            editor.setTextCursor(cursor)
        assert blocker.args == [expected]


def test_numbered_list_and_link_actions(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "first\nsecond\nthird")
    place_cursor(editor, 0, 8)
    editor.toggle_list("ordered")
    place_cursor(editor, 6, 12)
    editor.set_link("https://example.org/")
    runs = crdt_delta(editor.model.text.diff())
    assert [attrs for chunk, attrs in runs if chunk == "\n"] == [
        {"list": "ordered"},
        {"list": "ordered"},
    ]
    assert ("second", {"link": "https://example.org/"}) in runs
    place_cursor(editor, 8)  # inside the link, no selection
    editor.set_link(None)
    assert ("second", {}) in crdt_delta(editor.model.text.diff())
    assert_mirrors(editor)


# ------------------------------------------------------------------ find / replace


def test_find_wraps_and_respects_case(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "Cat cat CAT")
    assert editor.find("cat")
    assert editor.textCursor().selectionStart() == 0
    assert editor.find("cat")
    assert editor.textCursor().selectionStart() == 4
    assert editor.find("cat", case_sensitive=True)  # wraps around to the only match
    assert editor.textCursor().selectionStart() == 4
    assert editor.find("CAT", case_sensitive=True, backward=True)
    assert editor.textCursor().selectionStart() == 8
    assert not editor.find("dog")


def test_replace_selection_and_replace_all_reach_the_crdt(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "a😀 b😀 c")
    assert editor.find("😀")
    editor.replace_selection("한")
    assert str(editor.model.text) == "a한 b😀 c"
    assert editor.replace_all("b😀", "bee") == 1
    assert editor.replace_all("x", "y") == 0
    assert editor.replace_all(" ", "__") == 2
    assert str(editor.model.text) == "a한__bee__c"
    assert_mirrors(editor)


# ------------------------------------------------------------------ model: title, words, undo


def test_title_syncs_through_meta(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    model = editor.model
    with qtbot.waitSignal(model.titleChanged) as blocker:
        model.set_title("Draft")
    assert blocker.args == ["Draft"]
    assert meta(doc)["title"] == "Draft"
    peer = pycrdt.Doc()
    peer.apply_update(doc.get_update())
    before = peer.get_state()
    meta(peer)["title"] = "Renamed by a friend"
    with qtbot.waitSignal(model.titleChanged) as blocker:
        with doc.transaction(origin=Origin.REMOTE):
            doc.apply_update(peer.get_update(before))
    assert blocker.args == ["Renamed by a friend"]
    assert model.title() == "Renamed by a friend"


def test_word_count_follows_local_and_remote_edits(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    with qtbot.waitSignal(editor.model.wordCountChanged, timeout=2000) as blocker:
        type_text(editor, "three small words")
    assert blocker.args == [3]
    with qtbot.waitSignal(editor.model.wordCountChanged, timeout=2000) as blocker:
        remote_edit(doc, lambda t: t.insert(0, "한국어 and ", {}))
    assert blocker.args == [5]


def test_can_undo_and_redo_signals(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    model = editor.model
    assert not model.can_undo()
    with qtbot.waitSignal(model.canUndoChanged) as blocker:
        type_text(editor, "x")
    assert blocker.args == [True]
    with qtbot.waitSignal(model.canRedoChanged) as blocker:
        model.undo()
    assert blocker.args == [True]
    assert qt_text(editor) == ""


def test_remote_only_changes_leave_nothing_to_undo(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    remote_edit(doc, lambda t: t.insert(0, "theirs", {}))
    assert not editor.model.can_undo()
    assert not editor.model.undo()
    assert qt_text(editor) == "theirs"


# ------------------------------------------------------------------ read-only


def test_read_only_model_makes_the_widget_read_only(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    editor = make_editor(qtbot, doc)
    type_text(editor, "mine")
    model = editor.model
    with qtbot.waitSignal(model.readOnlyChanged):
        model.read_only = True
    assert editor.isReadOnly()
    type_text(editor, "more")
    place_cursor(editor, 0, 4)
    editor.toggle_bold()
    editor.set_heading(1)
    assert editor.replace_all("mine", "yours") == 0
    assert not model.undo()
    model.set_title("nope")
    assert str(model.text) == "mine" and model.title() == ""
    assert crdt_delta(model.text.diff()) == [("mine", {})]
    remote_edit(doc, lambda t: t.insert(4, " + theirs", {}))  # viewers still see edits
    assert qt_text(editor) == "mine + theirs"


def test_model_without_widget_keeps_its_index_in_step(qtbot: QtBot) -> None:
    doc = pycrdt.Doc()
    model = DocumentModel(doc)
    remote_edit(doc, lambda t: t.insert(0, "a😀\nb", {"bold": True}))
    assert model.index.text == "a😀\nb"
    editor = EditorWidget(model)  # attached later: loads what is there
    qtbot.addWidget(editor)
    assert_mirrors(editor)


# ------------------------------------------------------------------ presence


def _presence_pair(
    qtbot: QtBot,
) -> tuple[EditorWidget, PresenceTracker, pycrdt.Awareness, pycrdt.Awareness]:
    """Our editor on doc A (with a tracker) and a collaborator's tracker on doc B."""
    a, b = pycrdt.Doc(), pycrdt.Doc()
    content(a).insert(0, "hello 😀 world\nsecond line", {})
    b.apply_update(a.get_update())
    aw_a, aw_b = pycrdt.Awareness(a), pycrdt.Awareness(b)
    model = DocumentModel(a)
    ours = PresenceTracker(aw_a, model.text, model.index)
    ours.set_user("Me", "#000000")
    model.set_presence(ours)
    editor = EditorWidget(model)
    editor.resize(500, 300)
    qtbot.addWidget(editor)
    theirs = PresenceTracker(aw_b, content(b), TextIndex(str(content(b))))
    theirs.set_user("Ada", "#ee6352")
    return editor, theirs, aw_a, aw_b


def _deliver(src: pycrdt.Awareness, dst: pycrdt.Awareness) -> None:
    dst.apply_awareness_update(src.encode_awareness_update([src.client_id]), "remote")


def _count_color(editor: EditorWidget, color: QColor) -> int:
    image = editor.viewport().grab().toImage()
    return sum(
        1
        for x in range(0, image.width(), 2)
        for y in range(image.height())
        if image.pixelColor(x, y).rgb() == color.rgb()
    )


def test_collaborator_caret_and_selection_are_painted_in_their_color(qtbot: QtBot) -> None:
    editor, theirs, aw_a, aw_b = _presence_pair(qtbot)
    ada = QColor("#ee6352")
    assert _count_color(editor, ada) == 0
    theirs.set_local_cursor(6, 14)  # selects "😀 world"
    with qtbot.waitSignal(editor.model.remotePresenceChanged):
        _deliver(aw_b, aw_a)
    people = editor.model.presence.collaborators() if editor.model.presence else []
    assert [(p.name, p.anchor, p.head) for p in people] == [("Ada", 6, 14)]
    painted = _count_color(editor, ada)  # caret bar + name label in Ada's colour
    assert painted > 20
    theirs.set_local_cursor(None, None)  # Ada leaves the text: her caret disappears
    with qtbot.waitSignal(editor.model.remotePresenceChanged):
        _deliver(aw_b, aw_a)
    assert _count_color(editor, ada) == 0


def test_local_selection_is_reported_in_utf16(qtbot: QtBot) -> None:
    editor, theirs, aw_a, aw_b = _presence_pair(qtbot)
    place_cursor(editor, 8, 14)  # after the emoji: UTF-16 8, UTF-8 byte 10
    qtbot.waitUntil(lambda: (aw_a.get_local_state() or {}).get("cursor") is not None)
    _deliver(aw_a, aw_b)
    assert [(p.name, p.anchor, p.head) for p in theirs.collaborators()] == [("Me", 8, 14)]


# ------------------------------------------------------------------ sending at once


def test_a_key_press_reports_input_handled_with_its_edit_already_in_the_crdt(
    qtbot: QtBot,
) -> None:
    """The app connects ``inputHandled`` to the sync client's flush: the key's edit must be
    in the document when it fires, once per key, before Qt lays the edited line out (the
    page layout's ``updateBlock``: the keystroke leaves before the layout and repaint
    work), and a viewer's keys fire nothing."""
    editor = make_editor(qtbot)
    seen: list[str] = []
    order: list[str] = []
    editor.model.inputHandled.connect(lambda: seen.append(str(editor.model.text)))
    editor.model.inputHandled.connect(lambda: order.append("sent"))
    editor.page_layout.updateBlock.connect(lambda _block: order.append("laid out"))
    for key in (Qt.Key.Key_H, Qt.Key.Key_I):
        qtbot.keyClick(editor, key)
    assert [t.rstrip("\n") for t in seen] == ["h", "hi"]
    assert order == ["sent", "laid out"] * 2
    editor.model.read_only = True
    qtbot.keyClick(editor, Qt.Key.Key_X)
    assert len(seen) == 2
