"""The decorations the editor paints itself (list markers, check boxes, quote bars,
collaborators' carets, selections and name flags) are painted for the repainted rectangle
only, and look as a full repaint makes them look.

A keystroke repaints its paragraph, but the painters walked every visible block: ~1.6 ms
of Python per keystroke in a view of list items, for the one item that changed. They take
the repainted rectangle (``clip``) now and walk only the blocks it meets. What could go
wrong is a decoration left out of a repaint that shows part of it: a marker of a block
the walk skipped (a block the clip only touches, the first or the last one in view), a
number counted wrongly across the Qt lists a long run is kept in, a caret or a flag.

So: painted with and without ``clip`` under the same clip, the pixels are the same, for
many clips over views of every kind of decorated block; and in the real editor, what the
window shows after typing in a list item (at the top and at the bottom of the view, with
collaborators' carets in view) is what a full repaint shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QRegion, QTextBlock, QTextCursor
from pytestqt.qtbot import QtBot

from editor_app.core.flags import FlagClock
from editor_app.ui.editor_widget import LIST_GUTTER, EditorWidget
from editor_app.ui.remote_cursors import Flag, list_marker, paint_collaborators, paint_list_markers
from tests.gui.test_binding import remote_edit
from tests.gui.test_edit_in_place import on_screen, repainted, settle, steady_caret
from tests.gui.test_name_flags import PaintRegions, Peer, make
from tests.gui.test_paste_formatted_lines import INTO, KINDS, lines_of, paste_at
from tests.gui.test_paste_many_lines import doc_with

ITEMS = 600  # a collaborator's paste: three Qt lists of 256, 256 and 88 items
BOUNDARY = 257  # block number of the first item of the second Qt list ("first" is block 0)


def pasted(qtbot: QtBot, kind: str, items: int = ITEMS, *, pageless: bool = False) -> EditorWidget:
    """An editor (with our presence) showing "first" and ``items`` lines of ``kind``
    that a collaborator pasted in one update, laid out on pages (or pageless)."""
    doc = doc_with(INTO["end"][0])
    editor = make(qtbot, doc)
    editor.set_pageless(pageless)
    remote_edit(doc, paste_at(INTO["end"][1], lines_of(KINDS[kind], items)))
    # The spell checker done with the paste (it checks a paste in slices, and every
    # block it marks is to be placed again), and then every block placed: a keystroke
    # takes the short path (its paragraph alone is repainted).
    spell = editor.spell
    if spell is not None:
        qtbot.waitUntil(lambda: not spell.spelling.loading, timeout=30_000)
        settle()
        spell.check_now()
    qtbot.waitUntil(lambda: pageless or editor.page_layout.is_paginated, timeout=20_000)
    settle()
    return editor


def show_block(editor: EditorWidget, number: int) -> None:
    """Scroll ``number`` into the middle of the view (the caret goes there)."""
    editor.setTextCursor(QTextCursor(editor.document().findBlockByNumber(number)))
    editor.centerCursor()
    settle()


def top(editor: EditorWidget, block: QTextBlock) -> float:
    """``block``'s top in the viewport (as the view places it now)."""
    return editor.blockBoundingGeometry(block).translated(editor.contentOffset()).top()


def bottom(editor: EditorWidget, block: QTextBlock) -> float:
    """``block``'s bottom in the viewport."""
    return editor.blockBoundingGeometry(block).translated(editor.contentOffset()).bottom()


def view_blocks(editor: EditorWidget) -> list[QTextBlock]:
    """The blocks wholly in view, top to bottom."""
    height = editor.viewport().height()
    out = []
    block = editor.firstVisibleBlock()
    while block.isValid() and top(editor, block) < height:
        if top(editor, block) >= 0 and bottom(editor, block) <= height:
            out.append(block)
        block = block.next()
    return out


# ------------------------------------------------------------------ painted with a clip


def painted(editor: EditorWidget, clip: QRect, draw: Callable[[QPainter], Any]) -> QImage:
    """What ``draw`` paints on a blank image of the viewport's size, clipped to ``clip``
    (as Qt clips a paint to its region)."""
    image = QImage(editor.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(255, 255, 255, 0))
    painter = QPainter(image)
    try:
        painter.setClipRect(clip)
        draw(painter)
    finally:
        painter.end()
    return image


def clips(editor: EditorWidget) -> list[QRect]:
    """Rectangles a repaint may have: the whole view; each block in view, with and
    without its neighbours' edges; a line's height across each boundary between two
    blocks; thin strips at the view's top and bottom; a rectangle right of the gutter."""
    width, height = editor.viewport().width(), editor.viewport().height()
    out = [QRect(0, 0, width, height), QRect(0, 0, width, 1), QRect(0, height - 1, width, 1)]
    out.append(QRect(0, height - 3, width, 10))  # partly below the view
    out.append(QRect(0, -5, width, 8))  # partly above it
    block = editor.firstVisibleBlock()
    while block.isValid() and top(editor, block) < height:
        a, b = int(top(editor, block)), int(bottom(editor, block))
        out.append(QRect(0, a, width, b - a))  # as a keystroke's repaint (updateBlock)
        out.append(QRect(0, a + 1, width, max(1, b - a - 2)))  # inside it only
        out.append(QRect(0, b - 6, width, 12))  # across its bottom edge
        out.append(QRect(0, b, width, 1))  # the first row below it
        out.append(QRect(0, a - 1, width, 1))  # the last row above it
        block = block.next()
    out.append(QRect(int(LIST_GUTTER) + 40, 0, width, height))  # beside the markers
    return out


def assert_clip_paints_as_whole(
    editor: EditorWidget, draw: Callable[[QPainter, QRect | None], Any]
) -> None:
    """``draw(painter, clip)`` paints under each of :func:`clips` what
    ``draw(painter, None)`` (the whole view) paints there."""
    whole = painted(editor, editor.viewport().rect(), lambda p: draw(p, None))
    blank = QImage(whole)
    blank.fill(QColor(255, 255, 255, 0))
    assert whole != blank, "nothing painted: the test would prove nothing"
    for clip in clips(editor):
        expected = painted(editor, clip, lambda p: draw(p, None))
        assert painted(editor, clip, lambda p, c=clip: draw(p, c)) == expected, clip


@pytest.mark.parametrize("kind", ["bullet", "ordered", "checklist", "mixed"])
@pytest.mark.parametrize("where", [30, BOUNDARY, BOUNDARY + 256, ITEMS])
def test_list_markers_painted_for_a_clip_are_those_the_whole_view_paints(
    qtbot: QtBot, kind: str, where: int
) -> None:
    """Bullets, numbers across Qt list boundaries (256 | 257, 512 | 513), check boxes,
    quote bars and code blocks among headings and indents; the view near the start, in
    the middle of the run and at its end (where the lines and the last page end)."""
    editor = pasted(qtbot, kind)
    show_block(editor, where)
    assert_clip_paints_as_whole(
        editor, lambda p, clip: paint_list_markers(p, editor, LIST_GUTTER, clip)
    )
    if kind == "ordered":  # the numbers drawn are Quill's: 257 follows 256
        assert list_marker(editor.document().findBlockByNumber(BOUNDARY)) == f"{BOUNDARY}."


def test_collaborators_painted_for_a_clip_are_those_the_whole_view_paints(qtbot: QtBot) -> None:
    """Carets (with their flags, also a flag above the view's first line, which lies
    outside a repaint of that line) and a selection over several lines: the flags are
    returned whole whatever is painted (they are hit-tested and repainted from them)."""
    editor = pasted(qtbot, "bullet")
    editor.flag_clock = FlagClock(show_seconds=600.0, fade_seconds=1.0)
    show_block(editor, BOUNDARY)
    blocks = view_blocks(editor)
    first, last = blocks[0], blocks[-1]
    for name, color, pos in (
        ("Ada", "#ee6352", first.position() + 2),  # her flag is over the line above
        ("Bo", "#30bced", last.position() + 1),
        ("Chandrasekhar", "#8acb88", blocks[len(blocks) // 2].position()),
    ):
        Peer(editor.model.doc, name, color).at(pos, editor, qtbot)
    presence = editor.model.presence
    assert presence is not None
    third = blocks[len(blocks) // 3]
    selector = Peer(editor.model.doc, "Sel", "#c2185b")
    selector.tracker.set_local_cursor(third.position() + 1, blocks[-2].position() + 3)
    with qtbot.waitSignal(editor.model.remotePresenceChanged):
        presence.awareness.apply_awareness_update(
            selector.awareness.encode_awareness_update([selector.awareness.client_id]),
            "remote",
        )
    collaborators = presence.collaborators()
    assert len(collaborators) == 4

    def opacity(_client_id: int) -> float:
        return 1.0

    flags: list[list[Flag]] = []

    def draw(painter: QPainter, clip: QRect | None) -> None:
        flags.append(paint_collaborators(painter, editor, collaborators, opacity, clip))

    assert_clip_paints_as_whole(editor, draw)
    assert len(flags[0]) == 4
    assert all(drawn == flags[0] for drawn in flags)


# ------------------------------------------------------------------ in the editor


def typed_in_place(editor: EditorWidget, qtbot: QtBot, block: QTextBlock, keys: str) -> None:
    """Type ``keys`` in ``block`` (after its first two characters); after each key the
    window shows what a full repaint shows, and each key repainted a small part of it."""
    cursor = QTextCursor(block)
    cursor.movePosition(QTextCursor.MoveOperation.Right, n=min(2, block.length() - 1))
    editor.setTextCursor(cursor)
    settle()
    regions = PaintRegions()
    editor.viewport().installEventFilter(regions)
    whole = editor.viewport().rect()
    try:
        for key in keys:
            regions.region = QRegion()
            qtbot.keyClicks(editor, key)
            settle()
            painted_rect = regions.region.boundingRect()
            assert not painted_rect.isEmpty()
            assert painted_rect.height() < whole.height() // 3, f"{key!r}: a full repaint"
            assert on_screen(editor) == repainted(editor), f"stale after {key!r}"
    finally:
        editor.viewport().removeEventFilter(regions)


@pytest.mark.parametrize("pageless", [False, True])
@pytest.mark.parametrize("kind", ["bullet", "ordered", "checklist"])
def test_typing_in_list_items_at_the_top_and_bottom_of_the_view(
    qtbot: QtBot, kind: str, pageless: bool
) -> None:
    """The first and last items wholly in view, with the second Qt list starting in
    the middle of the view (numbers 256 | 257)."""
    with steady_caret():
        editor = pasted(qtbot, kind, pageless=pageless)
        editor.setFocus()
        show_block(editor, BOUNDARY)
        blocks = view_blocks(editor)
        numbers = [b.blockNumber() for b in blocks]
        assert numbers[0] < BOUNDARY < numbers[-1]
        for number in (numbers[0], numbers[-1], BOUNDARY):
            block = editor.document().findBlockByNumber(number)
            typed_in_place(editor, qtbot, block, "ab")
            qtbot.keyClick(editor, Qt.Key.Key_Backspace)
            settle()
            assert on_screen(editor) == repainted(editor)
        assert [b.blockNumber() for b in view_blocks(editor)] == numbers  # no scroll


@pytest.mark.parametrize("kind", ["bullet", "ordered", "checklist"])
def test_typing_in_the_items_around_a_page_break(qtbot: QtBot, kind: str) -> None:
    """The last item of a page and the first of the next, with the desk between the
    sheets in view (a keystroke's repaint ends at the desk or starts after it)."""
    with steady_caret():
        editor = pasted(qtbot, kind)
        editor.setFocus()
        layout = editor.page_layout
        block = editor.document().findBlockByNumber(BOUNDARY)
        page = layout.page_of(block.position())
        while layout.page_of(block.position()) == page:
            block = block.next()
        number = block.blockNumber()  # the first item of the next page
        editor.resize(600, 800)  # room for the sheets' margins and the desk between them
        settle()
        show_block(editor, number)
        assert {number - 1, number} <= {b.blockNumber() for b in view_blocks(editor)}
        for at in (number - 1, number):
            typed_in_place(editor, qtbot, editor.document().findBlockByNumber(at), "ab")


def test_typing_next_to_collaborators_carets(qtbot: QtBot) -> None:
    """Collaborators' carets in the item typed in (pushed along, their flag above it,
    in the item above) and in the last item in view, which the repaints do not cover."""
    with steady_caret():
        editor = pasted(qtbot, "ordered")
        editor.flag_clock = FlagClock(show_seconds=600.0, fade_seconds=1.0)
        editor.setFocus()
        show_block(editor, BOUNDARY)
        blocks = view_blocks(editor)
        typed = blocks[1]
        for name, color, pos in (
            ("Ada", "#ee6352", typed.position() + 3),
            ("Bo", "#30bced", blocks[-1].position() + 1),
        ):
            Peer(editor.model.doc, name, color).at(pos, editor, qtbot)
        settle()
        assert {f.name for f in editor.visible_flags()} == {"Ada", "Bo"}
        typed_in_place(editor, qtbot, typed, "xyz")
        typed_in_place(editor, qtbot, blocks[-1], "q")


def test_a_collaborators_keystroke_in_a_list_item(qtbot: QtBot) -> None:
    """A remote keystroke in the last check item in view (its repaint is that item)."""
    with steady_caret():
        editor = pasted(qtbot, "checklist")
        show_block(editor, BOUNDARY)
        number = next(b.blockNumber() for b in reversed(view_blocks(editor)) if b.length() > 3)
        lines = str(editor.model.text).split("\n")
        at = len("\n".join(lines[:number]).encode()) + 1 + 1  # after its first character
        for ch in "XY":
            remote_edit(editor.model.doc, lambda t, ch=ch: t.insert(at, ch))
            settle()
            assert on_screen(editor) == repainted(editor)
        assert editor.document().findBlockByNumber(number).text()[1:3] in ("XY", "YX")
