"""Dragging a selection of text to another place in the same editor (issue 13) in the
real editor on Xvfb, with the mouse as a user does it (xdotool: select by dragging, then
press on the selection, move and let go: Qt's real drag and drop over X), connected to the
real relay process: the shared Y.Text read by a Qt-free client has the words moved with
their formats, from ONE transaction that does not rewrite the words in between, and one
Ctrl+Z puts them back.

The moved words have a yellow background and the word they are dropped before a cyan
one, so where they are is read from screenshots (helpers of test_image_move_xvfb)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import QPoint

from editor_app.core.schema import content
from editor_app.core.sync_client import SyncClient
from tests.e2e import processes
from tests.gui.test_image_move_xvfb import (
    CYAN,
    DEADLINE,
    YELLOW,
    Screen,
    between,
    bounds,
    delta,
    described,
    drag,
    seed,
)
from tests.gui.test_images_xvfb import activate, held_open
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
    processes.require_x_tools()
    log = tmp_path / "editor.log"
    with (
        processes.xvfb("900x600x24") as display,
        held_open(display),
        processes.relay_server(tmp_path / "server") as base,
    ):
        url = f"{base}/moving-text"
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        text = content(doc)
        seed(text, ORIGINAL)
        client = SyncClient(url, doc, pycrdt.Awareness(doc))
        screen = Screen(display, tmp_path)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(client.run())
            app = processes.start_editor(
                [url, "--data-dir", str(tmp_path / "ed"), "--name", "Sam"], display, log
            )
            try:
                window = await asyncio.to_thread(
                    processes.wait_for_window, display, "Coscribe", app, log
                )
                await activate(display, window)
                found = await screen.wait_for((YELLOW, CYAN), [app], log)
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
                await processes.xdo_async(display, "key", "ctrl+q")
                assert await asyncio.to_thread(app.wait, DEADLINE) == 0, log.read_text()
            finally:
                processes.stop(app)
                await client.close()
