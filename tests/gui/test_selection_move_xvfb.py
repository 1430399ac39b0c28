"""Dragging a selection of text to another place in the same editor (issue 13) in the
real editor on Xvfb, with the mouse as a user does it (xdotool: select by dragging, then
press on the selection, move and let go: Qt's real drag and drop over X), connected to the
real relay process: the shared Y.Text read by a Qt-free client has the words moved with
their formats, from ONE transaction that does not rewrite the words in between, and one
Ctrl+Z puts them back.

The moved words have a yellow background and the word they are dropped before a cyan
one, so where they are is read from screenshots (helpers of test_image_move_xvfb)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint

from tests.e2e import processes
from tests.gui.test_image_move_xvfb import (
    CYAN,
    DEADLINE,
    YELLOW,
    between,
    bounds,
    delta,
    described,
    drag,
    editing,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.gui]

MIDDLE = "fox and the lazy dog "
ORIGINAL: list[tuple[Any, dict[str, Any] | None]] = [
    ("the quick ", None),
    ("brown ", {"background": YELLOW}),
    (MIDDLE, None),
    ("jumps", {"background": CYAN}),
    ("\n", None),
]
MOVED: list[tuple[Any, dict[str, Any] | None]] = [
    ("the quick " + MIDDLE, None),
    ("brown ", {"background": YELLOW}),
    ("jumps", {"background": CYAN}),
    ("\n", None),
]


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_a_selection_dragged_before_a_word_moves_there_in_one_small_update(
    tmp_path: Path,
) -> None:
    async with editing(tmp_path, "moving-text", ORIGINAL) as ed:
        display, doc, text, screen = ed.display, ed.doc, ed.text, ed.screen
        found = await screen.wait_for((YELLOW, CYAN), [ed.app], ed.log)
        brown, jumps = found[YELLOW], found[CYAN]
        assert brown.right() < jumps.left()
        # Select "brown " by dragging across its background (first pixel to last).
        y = brown.center().y()
        await drag(display, QPoint(brown.left() + 1, y), QPoint(brown.right() - 1, y))
        updates: list[bytes] = []  # the shared text's transactions from here on
        sub = doc.observe(lambda event: updates.append(event.update))
        # Press on the selection, drag it to just before "jumps", let go.
        await drag(display, brown.center(), between(brown, jumps))
        await wait_until(
            lambda: delta(text) == MOVED,
            lambda: f"the words moved before 'jumps', have {described(delta(text))}",
            within=DEADLINE,
        )
        doc.unobserve(sub)
        assert len(updates) == 1, "the move reached the relay in more than one piece"
        # Only "brown " was deleted and inserted, not the words in between.
        assert b"lazy" not in updates[0] and b"brown" in updates[0]
        # The screen shows it there: the yellow words now touch the cyan word.
        path, image = await screen.shot()
        shutil.copyfile(path, tmp_path / "moved.png")
        # (The moved words are drawn selected, so not yellow: only "jumps" shows.)
        assert not bounds(image, CYAN)[CYAN].isEmpty()
        # One Ctrl+Z puts it back.
        await processes.xdo_async(display, "key", "ctrl+z")
        await wait_until(
            lambda: delta(text) == ORIGINAL,
            lambda: f"Ctrl+Z put the words back, have {described(delta(text))}",
            within=DEADLINE,
        )
