"""Collaborators' name flags behave like Google Docs' (issue 13, bug 2): shown while the
person types or moves, or on hover, faded out after that, stacked when carets meet, and
repainted where they were when a keystroke moves them (no stale flag left on the text)."""

from __future__ import annotations

import itertools

import pycrdt
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPaintEvent, QRegion
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.core.flags import FlagClock
from editor_app.core.offsets import TextIndex
from editor_app.core.presence import PresenceTracker
from editor_app.core.schema import content
from editor_app.qt.document_model import DocumentModel
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.remote_cursors import flag_rects
from shared.origins import Origin
from tests.gui.test_binding import remote_edit
from tests.gui.test_edit_in_place import on_screen, repainted, settle

TEXT = "first line of text\nsecond line here\nthird"


class Peer:
    def __init__(self, source: pycrdt.Doc, name: str, color: str) -> None:
        self.doc = pycrdt.Doc()
        self.doc.apply_update(source.get_update())
        self.awareness = pycrdt.Awareness(self.doc)
        self.tracker = PresenceTracker(
            self.awareness, content(self.doc), TextIndex(str(content(self.doc)))
        )
        self.tracker.set_user(name, color)

    def at(self, pos: int, editor: EditorWidget, qtbot: QtBot) -> None:
        self.tracker.set_local_cursor(pos, pos)
        ours = editor.model.presence
        assert ours is not None
        with qtbot.waitSignal(editor.model.remotePresenceChanged):
            ours.awareness.apply_awareness_update(
                self.awareness.encode_awareness_update([self.awareness.client_id]), "remote"
            )


def make(qtbot: QtBot, doc: pycrdt.Doc | None = None, width: int = 600) -> EditorWidget:
    """An editor shown on ``doc`` (default: :data:`TEXT`), with our own presence."""
    if doc is None:
        doc = pycrdt.Doc()
        content(doc).insert(0, TEXT, {})
    model = DocumentModel(doc)
    ours = PresenceTracker(pycrdt.Awareness(doc), model.text, model.index)
    ours.set_user("Me", "#000000")
    model.set_presence(ours)
    editor = EditorWidget(model)
    editor.resize(width, 300)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def flags_after_paint(editor: EditorWidget, qtbot: QtBot) -> list[tuple[str, float]]:
    editor.viewport().grab()  # paints now (repaint() may wait for the backing store)
    return [(f.name, f.opacity) for f in editor.visible_flags()]


def test_a_flag_shows_when_the_person_moves_and_fades_out(qtbot: QtBot) -> None:
    editor = make(qtbot)
    editor.flag_clock = FlagClock(show_seconds=0.3, fade_seconds=0.2)
    ada = Peer(editor.model.doc, "Ada", "#ee6352")
    ada.at(25, editor, qtbot)
    assert flags_after_paint(editor, qtbot) == [("Ada", 1.0)]
    qtbot.waitUntil(lambda: not flags_after_paint(editor, qtbot), timeout=3000)
    ada.at(3, editor, qtbot)  # moved: shown again
    assert [name for name, _ in flags_after_paint(editor, qtbot)] == ["Ada"]


def test_hovering_a_caret_shows_its_flag(qtbot: QtBot) -> None:
    editor = make(qtbot)
    editor.flag_clock = FlagClock(show_seconds=0.0, fade_seconds=0.0)
    ada = Peer(editor.model.doc, "Ada", "#ee6352")
    ada.at(25, editor, qtbot)
    assert flags_after_paint(editor, qtbot) == []
    cursor = editor.textCursor()
    cursor.setPosition(25)
    point = editor.cursorRect(cursor).center()
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(point),
        QPointF(editor.viewport().mapToGlobal(point)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(editor.viewport(), move)
    assert flags_after_paint(editor, qtbot) == [("Ada", 1.0)]


def test_flags_at_one_spot_stack_cleanly(qtbot: QtBot) -> None:
    editor = make(qtbot)
    peers = [Peer(editor.model.doc, n, c) for n, c in (("Ada", "#ee6352"), ("Bo", "#30bced"))]
    peers.append(Peer(editor.model.doc, "Chandrasekhar", "#8acb88"))
    for peer in peers:
        peer.at(25, editor, qtbot)
    editor.viewport().grab()
    flags = editor.visible_flags()
    assert sorted(f.name for f in flags) == ["Ada", "Bo", "Chandrasekhar"]
    for a, b in itertools.combinations(flags, 2):
        assert not a.rect.intersects(b.rect), (a, b)


class PaintRegions(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.region = QRegion()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if isinstance(event, QPaintEvent):
            self.region = self.region.united(event.region())
        return False


def test_a_keystroke_that_moves_a_flag_repaints_where_it_was(qtbot: QtBot) -> None:
    """The collaborator types at their caret: no awareness change (their relative position
    is the same), Qt repaints only the edited line, and the flag above it moves."""
    editor = make(qtbot)
    ada = Peer(editor.model.doc, "Ada", "#ee6352")
    ada.at(25, editor, qtbot)  # in "second line"; the flag is drawn over the first line
    editor.viewport().grab()
    (before,) = editor.visible_flags()
    regions = PaintRegions()
    editor.viewport().installEventFilter(regions)
    remote_edit(editor.model.doc, lambda t: t.insert(19, "typing more words "))
    qtbot.waitUntil(
        lambda: regions.region.contains(before.rect.toAlignedRect().center()), timeout=2000
    )
    old = QRegion(before.rect.toAlignedRect())
    assert regions.region.intersected(old) == old  # the whole old flag was repainted
    (after,) = editor.visible_flags()
    assert after.rect.left() > before.rect.left()  # it moved with the caret
    assert QRegion(after.rect.toAlignedRect()).subtracted(regions.region).isEmpty()


def test_a_collaborator_moving_repaints_their_caret_and_flag_not_the_view(qtbot: QtBot) -> None:
    """A remote keystroke moves the typist's caret: only where it (and its flag) was and
    is are repainted, and the screen then shows what a full repaint shows; a selection
    (which may cover many lines) repaints the view."""
    editor = make(qtbot)
    flash = QApplication.cursorFlashTime()
    QApplication.setCursorFlashTime(0)  # a steady caret: two grabs show the same one
    try:
        ada = Peer(editor.model.doc, "Ada", "#ee6352")
        bo = Peer(editor.model.doc, "Bo", "#30bced")
        bo.at(40, editor, qtbot)
        settle()  # the view as it stays (its scroll bar may have come with the first paint)
        regions = PaintRegions()
        editor.viewport().installEventFilter(regions)
        whole = editor.viewport().rect()
        for pos in (3, 4, 25, 26, 41, 2):
            regions.region = QRegion()
            ada.at(pos, editor, qtbot)
            settle()
            painted = regions.region.boundingRect()
            assert not painted.isEmpty()
            assert painted.height() * painted.width() < whole.height() * whole.width() // 3, pos
            assert on_screen(editor) == repainted(editor), f"stale after moving to {pos}"
        regions.region = QRegion()
        ada.tracker.set_local_cursor(3, 30)  # a selection across lines
        editor.model.presence.awareness.apply_awareness_update(  # type: ignore[union-attr]
            ada.awareness.encode_awareness_update([ada.awareness.client_id]), "remote"
        )
        settle()
        assert regions.region.boundingRect() == whole
        assert on_screen(editor) == repainted(editor)
    finally:
        QApplication.setCursorFlashTime(flash)


def test_a_collaborator_typing_until_the_line_wraps_leaves_no_stale_flag(qtbot: QtBot) -> None:
    """Found by hand: a flag above a heading's caret lies outside the heading's own
    repaint; when the typist's line wrapped, the flag stayed drawn where the caret was."""
    doc = pycrdt.Doc()
    content(doc).insert(0, "Heading words\nbody\n", {})
    content(doc).format(13, 14, {"header": 1})
    editor = make(qtbot, doc, width=420)
    ours = editor.model.presence
    assert ours is not None
    flash = QApplication.cursorFlashTime()
    QApplication.setCursorFlashTime(0)
    try:
        bob_doc = pycrdt.Doc()
        bob_doc.apply_update(doc.get_update())
        bob_model = DocumentModel(bob_doc)  # keeps Bob's text index, for his caret
        bob_awareness = pycrdt.Awareness(bob_doc)
        bob = PresenceTracker(bob_awareness, bob_model.text, bob_model.index)
        bob.set_user("Bob 🦊", "#c2185b")
        heading = editor.document().firstBlock()
        start = heading.layout().lineCount()
        typed = "Heading words"
        for ch in " 안녕하세요 hello and more words typed here until it wraps":
            state = bob_doc.get_state()
            bob_model.text.insert(len(typed.encode()), ch)
            typed += ch
            with doc.transaction(origin=Origin.REMOTE):
                doc.apply_update(bob_doc.get_update(state))
            caret = len(typed.encode("utf-16-le")) // 2
            # At the end of a line his caret stays "before the line's end": the same
            # relative position, so no presence change every time (as in the app).
            bob.set_local_cursor(caret, caret)
            ours.awareness.apply_awareness_update(
                bob_awareness.encode_awareness_update([bob_awareness.client_id]), "remote"
            )
            settle()
            if heading.layout().lineCount() > start:
                break
        assert heading.layout().lineCount() > start, "the heading never wrapped"
        assert on_screen(editor) == repainted(editor)
    finally:
        QApplication.setCursorFlashTime(flash)


def test_carets_follow_remote_edits_as_yjs_resolves_them(qtbot: QtBot) -> None:
    """After a collaborator's edit the editor moves the others' carets through the edit
    instead of resolving every relative position again; they must land where the exact
    resolution (PresenceTracker.collaborators) puts them: a caret stays before the
    character after it, so the typist's own text pushes their caret on."""
    editor = make(qtbot)
    editor.flag_clock = FlagClock(show_seconds=60.0, fade_seconds=1.0)
    ada = Peer(editor.model.doc, "Ada", "#ee6352")
    bo = Peer(editor.model.doc, "Bo", "#30bced")
    ada.at(25, editor, qtbot)  # in "second line"
    bo.at(5, editor, qtbot)  # in "first line"
    editor.viewport().grab()
    doc = editor.model.doc
    presence = editor.model.presence
    assert presence is not None
    edits = [
        lambda t: t.insert(25, "한글🙂"),  # Ada types at her caret
        lambda t: t.insert(3, "xy"),  # someone types before both carets
        lambda t: t.insert(5 + 2, "z"),  # ... exactly at Bo's caret
        lambda t: t.__delitem__(slice(20, 23)),  # a deletion just before Ada's caret
        lambda t: t.__delitem__(slice(0, 9)),  # a deletion across Bo's caret
    ]
    for edit in edits:
        remote_edit(doc, edit)
        editor.viewport().grab()  # paints with the moved carets
        drawn = {f.client_id: f.rect for f in editor.visible_flags()}
        exact = presence.collaborators()  # resolved from the relative positions
        assert drawn == dict(flag_rects(editor, exact, lambda _cid: 1.0))
