"""Issue 13: Ctrl+End in a long document, then typing, keeps the caret (and what is typed)
in view, as Google Docs does: right after the key, while typing, once the background
pagination has placed every block where it goes, pageless and zoomed too. Qt measures its
scroll range and its own scrolls with its shorter layout of the blocks it has not shown
yet, and counts a line pushed to the next page as shown when only the desk above it is;
the caret was left below the view (the user typed blind). A user who scrolls away on
purpose is not pulled back to the caret when the pagination moves the text."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.ui.editor_widget import EditorWidget
from tests.gui.test_binding import type_text
from tests.gui.test_page_estimate import shown

#: What the user types at the end: ASCII, Hangul and an emoji (one key event each).
TYPED = "end 한국어 😀"


def long_text(lines: int = 2500) -> str:
    return "".join(f"line {i} of a long document, with a few words\n" for i in range(lines))


def wrapped_text(lines: int = 2500) -> str:
    """Every 7th line a paragraph that wraps: the line counts Qt assumed (one per block
    it has not laid out) change as the pagination lays them out, and with them the line
    Qt's scroll value names."""
    wraps = "a longer paragraph that wraps over more than one line of the page, " * 2
    return "".join(
        (f"Paragraph {i}: {wraps}" if i % 7 == 3 else f"line {i} of a long document") + "\n"
        for i in range(lines)
    )


def caret_shown(editor: EditorWidget) -> bool:
    """Whether the whole caret rectangle (viewport coordinates) lies inside the viewport."""
    return editor.viewport().rect().contains(editor.cursorRect())


def where(editor: EditorWidget) -> str:
    bar = editor.verticalScrollBar()
    return (
        f"caret {editor.cursorRect()} in a viewport {editor.viewport().rect()}, "
        f"scroll {bar.value()} of {bar.maximum()}, paginated {editor.page_layout.is_paginated}"
    )


def assert_caret_stays_shown(qtbot: QtBot, editor: EditorWidget) -> None:
    """The caret comes into view once the events queued now are handled (the paint that
    lays out the view and scrolls to the caret), and is still in view after a second
    round of events (nothing moves it out again)."""
    qtbot.wait(0)  # the events queued now: the paint that shows the caret's line
    try:
        qtbot.waitUntil(lambda: caret_shown(editor), timeout=5_000)
    except qtbot.TimeoutError:
        raise AssertionError(f"the caret is out of view: {where(editor)}") from None
    editor.viewport().grab()  # one more paint of the view as it is now
    qtbot.wait(0)
    assert caret_shown(editor), where(editor)


def wheel_up(editor: EditorWidget) -> None:
    point = QPointF(100, 100)
    wheel = QWheelEvent(
        point,
        QPointF(editor.viewport().mapToGlobal(point.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(editor.viewport(), wheel)


def end_and_type(qtbot: QtBot, editor: EditorWidget) -> None:
    """Ctrl+End, then type a few characters one key at a time; the caret stays shown."""
    QTest.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert_caret_stays_shown(qtbot, editor)
    for ch in TYPED:
        type_text(editor, ch)
        assert_caret_stays_shown(qtbot, editor)
    assert str(editor.model.text).endswith(f"{TYPED}\n")


@pytest.mark.parametrize(
    ("view", "lines"),
    # 3000 lines on pages and 2520 at 150 %: the pagination moves the caret's line down
    # (out of view unless the view follows it); at 2500 it moves it up.
    [("pages", 2500), ("pages", 3000), ("pageless", 2500), ("zoom 150", 2500), ("zoom 150", 2520)],
)
def test_ctrl_end_then_typing_keeps_the_caret_in_view(qtbot: QtBot, view: str, lines: int) -> None:
    editor = shown(qtbot, long_text(lines))
    if view == "pageless":
        editor.set_pageless(True)
    elif view == "zoom 150":
        editor.set_zoom(150)
    editor.viewport().grab()
    end_and_type(qtbot, editor)
    if view != "pageless":
        # The background pagination places the view's blocks where they go (page breaks
        # move): the caret that was shown stays shown.
        assert not editor.page_layout.is_paginated
        qtbot.waitUntil(lambda: editor.page_layout.is_paginated, timeout=30_000)
        assert_caret_stays_shown(qtbot, editor)
        count = editor.page_count()
        assert editor.page_status() == (count, count)
    type_text(editor, "!")
    assert_caret_stays_shown(qtbot, editor)
    # At the end of the scroll range the document's end is shown, however Qt measured it.
    bar = editor.verticalScrollBar()
    bar.setValue(bar.maximum())
    assert_caret_stays_shown(qtbot, editor)


def test_the_pagination_does_not_scroll_back_a_user_who_scrolled_away(qtbot: QtBot) -> None:
    editor = shown(qtbot, long_text())
    end_and_type(qtbot, editor)
    bar = editor.verticalScrollBar()
    assert not editor.page_layout.is_paginated
    for _ in range(15):  # the user scrolls up with the wheel to read, the caret out of view
        wheel_up(editor)
    editor.viewport().grab()
    read = bar.value()
    assert not caret_shown(editor)
    qtbot.waitUntil(lambda: editor.page_layout.is_paginated, timeout=30_000)
    editor.viewport().grab()
    qtbot.wait(0)
    assert bar.value() == read
    assert not caret_shown(editor)


def test_a_long_paste_keeps_the_caret_in_view_while_it_is_paginated(qtbot: QtBot) -> None:
    editor = shown(qtbot, "\n")
    QApplication.clipboard().setText(wrapped_text().removesuffix("\n"))
    QTest.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert_caret_stays_shown(qtbot, editor)
    qtbot.waitUntil(lambda: editor.page_layout.is_paginated, timeout=30_000)
    assert_caret_stays_shown(qtbot, editor)
    end_and_type(qtbot, editor)
