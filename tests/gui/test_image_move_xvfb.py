"""Dragging a picture to another place in the text (issue 13) in the real editor on Xvfb,
with the mouse as a user does it (xdotool mousedown, moves, mouseup: Qt's real drag and
drop over X), connected to the real relay process: the shared Y.Text read by a Qt-free
client shows the picture moved between two words with its size, in one piece, and one
Ctrl+Z puts it back.

Where things are on the screen is read from screenshots: the picture is the only magenta,
and the two words the picture is dropped between have a yellow and a cyan background
(Quill's ``background``), so the space between them is found to the pixel."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QImage

from editor_app.core.schema import content
from editor_app.core.sync_client import SyncClient
from tests.e2e import processes
from tests.gui.test_image_resize import picture_url
from tests.gui.test_images_xvfb import activate, held_open
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.gui]

DEADLINE = 30.0
MAGENTA = "#ff00ff"
YELLOW, CYAN = "#ffff00", "#00ffff"
SIZE = {"width": "120", "alt": "a magenta square"}
IMAGE = {"image": picture_url((300, 200), MAGENTA)}
ORIGINAL: list[tuple[Any, dict[str, Any] | None]] = [
    ("Look ", None),
    (IMAGE, SIZE),
    (" here: ", None),
    ("one", {"background": YELLOW}),
    (" ", None),
    ("two", {"background": CYAN}),
    ("\n", None),
]
MOVED: list[tuple[Any, dict[str, Any] | None]] = [
    ("Look  here: ", None),
    ("one", {"background": YELLOW}),
    (" ", None),
    (IMAGE, SIZE),
    ("two", {"background": CYAN}),
    ("\n", None),
]


def seed(text: pycrdt.Text, ops: list[tuple[Any, dict[str, Any] | None]] = ORIGINAL) -> None:
    """The document the editor opens (by default "Look [picture] here: one two")."""
    at = 0
    for chunk, attrs in ops:
        if isinstance(chunk, dict):
            text.insert_embed(at, chunk, attrs or {})
            at += 1
        else:
            text.insert(at, chunk, attrs or {})
            at += len(chunk.encode())


def delta(text: pycrdt.Text) -> list[tuple[Any, dict[str, Any] | None]]:
    """The shared text as Quill ops, neighbouring text of equal attributes joined."""
    ops: list[tuple[Any, dict[str, Any] | None]] = []
    for chunk, attrs in text.diff():
        attrs = attrs or None
        if ops and isinstance(chunk, str) and isinstance(ops[-1][0], str) and ops[-1][1] == attrs:
            ops[-1] = (ops[-1][0] + chunk, attrs)
        else:
            ops.append((chunk, attrs))
    return ops


def described(ops: list[tuple[Any, dict[str, Any] | None]]) -> str:
    return repr([("<image>" if isinstance(c, dict) else c, a) for c, a in ops])


def bounds(
    image: QImage, *colors: str, within: QRect | None = None, tolerance: int = 8
) -> dict[str, QRect]:
    """The bounding box of the pixels of each of ``colors`` (within ``tolerance`` per
    channel; every other row is looked at), in the screen's coordinates; only inside
    ``within`` when given."""
    area = within if within is not None else image.rect()
    image = image.copy(area).convertToFormat(QImage.Format.Format_RGB32)
    width, stride = image.width(), image.bytesPerLine()
    data = bytes(image.constBits())
    wanted = {c: QColor(c) for c in colors}
    boxes = {c: QRect() for c in colors}
    for y in range(0, image.height(), 2):
        row = data[y * stride : y * stride + 4 * width]
        for color, want in wanted.items():
            xs = [
                x
                for x in range(width)
                if abs(row[4 * x + 2] - want.red()) <= tolerance
                and abs(row[4 * x + 1] - want.green()) <= tolerance
                and abs(row[4 * x] - want.blue()) <= tolerance
            ]
            if xs:
                boxes[color] = boxes[color].united(QRect(xs[0], y, xs[-1] - xs[0] + 1, 2))
    return {c: box.translated(area.topLeft()) for c, box in boxes.items()}  # empty stays empty


async def drag(display: str, start: QPoint, to: QPoint, *, ctrl: bool = False) -> None:
    """Press at ``start``, move in steps to ``to`` (holding Ctrl when ``ctrl``), let go."""
    await processes.xdo_async(display, "mousemove", str(start.x()), str(start.y()))
    await processes.xdo_async(display, "mousedown", "1")
    if ctrl:
        await processes.xdo_async(display, "keydown", "ctrl")
    steps = 6
    for step in range(1, steps + 1):
        x = start.x() + (to.x() - start.x()) * step // steps
        y = start.y() + (to.y() - start.y()) * step // steps
        await processes.xdo_async(display, "mousemove", str(x), str(y))
    await processes.xdo_async(display, "mousemove", str(to.x()), str(to.y()))
    await processes.xdo_async(display, "mouseup", "1")
    if ctrl:
        await processes.xdo_async(display, "keyup", "ctrl")


def between(one: QRect, two: QRect) -> QPoint:
    """The last pixel of the space between the words ``one`` and ``two`` (their
    backgrounds): nearer its right edge, so the drop is after the space."""
    return QPoint(two.left() - 1, two.center().y())


class Screen:
    """Screenshots of the test's display, each kept in ``folder``."""

    def __init__(self, display: str, folder: Path) -> None:
        self.display, self.folder, self.count = display, folder, 0

    async def shot(self) -> tuple[Path, QImage]:
        self.count += 1
        path = self.folder / f"screen-{self.count}.png"
        await asyncio.to_thread(processes.screenshot, self.display, path)
        image = QImage(str(path))
        assert not image.isNull(), f"could not read {path}"
        return path, image

    async def wait_for(
        self,
        colors: tuple[str, ...],
        apps: list[subprocess.Popen[bytes]],
        log: Path,
        within: QRect | None = None,
    ) -> dict[str, QRect]:
        """Screenshots until every one of ``colors`` shows (inside ``within``)."""
        deadline = time.monotonic() + DEADLINE
        while True:
            _, image = await self.shot()
            found = bounds(image, *colors, within=within)
            if all(not box.isEmpty() for box in found.values()):
                return found
            if any(app.poll() is not None for app in apps):
                output = await asyncio.to_thread(log.read_text)
                raise AssertionError(f"an editor exited:\n{output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"never shown: {found}")


@dataclass
class Editing:
    """The real editor on its own Xvfb display, showing ``text`` (a Qt-free client's copy
    of the document, through the real relay), its window activated."""

    display: str
    doc: pycrdt.Doc[Any]
    text: pycrdt.Text
    screen: Screen
    app: subprocess.Popen[bytes]
    log: Path


@asynccontextmanager
async def editing(
    tmp_path: Path, name: str, ops: list[tuple[Any, dict[str, Any] | None]] = ORIGINAL
) -> AsyncIterator[Editing]:
    """Xvfb, the relay, a client that seeded the document ``name`` with ``ops``, and the
    editor opened on it; at the end of the block the editor is quit with Ctrl+Q and must
    exit cleanly (everything is stopped whatever happens)."""
    processes.require_x_tools()
    log = tmp_path / "editor.log"
    with (
        processes.xvfb("900x600x24") as display,
        held_open(display),
        processes.relay_server(tmp_path / "server") as base,
    ):
        url = f"{base}/{name}"
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        text = content(doc)
        seed(text, ops)
        client = SyncClient(url, doc, pycrdt.Awareness(doc))
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
                yield Editing(display, doc, text, Screen(display, tmp_path), app, log)
                await processes.xdo_async(display, "key", "ctrl+q")
                assert await asyncio.to_thread(app.wait, DEADLINE) == 0, log.read_text()
            finally:
                processes.stop(app)
                await client.close()


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_a_picture_dragged_between_two_words_moves_there_and_ctrl_z_puts_it_back(
    tmp_path: Path,
) -> None:
    async with editing(tmp_path, "moving") as ed:
        display, text, screen = ed.display, ed.text, ed.screen
        # The editor shows the document from the relay: the picture and both words.
        found = await screen.wait_for((MAGENTA, YELLOW, CYAN), [ed.app], ed.log)
        picture, one, two = found[MAGENTA], found[YELLOW], found[CYAN]
        assert picture.width() == 120, picture  # shown at its width (100 % zoom)
        assert one.right() < two.left() and picture.right() < one.left()
        # Press on the picture, move past the drag distance, on to the space between
        # "one " and "two" (its right half: the drop is after the space), let go.
        changes: list[int] = []  # the shared text's transactions from here on
        sub = text.observe(lambda _event: changes.append(1))
        await drag(display, picture.center(), between(one, two))
        await wait_until(
            lambda: delta(text) == MOVED,
            lambda: f"the picture moved between the words, have {described(delta(text))}",
            within=DEADLINE,
        )
        text.unobserve(sub)
        assert len(changes) == 1, "the move reached the relay in more than one piece"
        # The editor shows it there: the magenta is now right of "one ", left of "two".
        path, image = await screen.shot()
        after = bounds(image, MAGENTA, YELLOW, CYAN)
        moved = after[MAGENTA]
        assert moved.width() == 120, moved
        assert after[YELLOW].right() < moved.left() < moved.right() < after[CYAN].left()
        shutil.copyfile(path, tmp_path / "moved.png")
        # One Ctrl+Z puts it back where it was.
        await processes.xdo_async(display, "key", "ctrl+z")
        await wait_until(
            lambda: delta(text) == ORIGINAL,
            lambda: f"Ctrl+Z put the picture back, have {described(delta(text))}",
            within=DEADLINE,
        )


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_ctrl_drag_copies_the_picture_and_ctrl_z_takes_the_copy_out(
    tmp_path: Path,
) -> None:
    """Ctrl held while dragging leaves the picture and drops a copy between the words;
    one Ctrl+Z takes the copy out.

    A drop onto ANOTHER Coscribe window copies the picture there with its size (checked
    by hand, and by the offscreen test of a drop from another window); driven by xdotool
    between two programs under Xvfb without a window manager, that X drag and drop did
    not arrive reliably when this file ran as a whole, so it is not part of this test."""
    async with editing(tmp_path, "source") as ed:
        display, source = ed.display, ed.text
        found = await ed.screen.wait_for((MAGENTA, YELLOW, CYAN), [ed.app], ed.log)
        picture, one, two = found[MAGENTA], found[YELLOW], found[CYAN]
        await drag(display, picture.center(), between(one, two), ctrl=True)
        copied = [*ORIGINAL[:5], (IMAGE, SIZE), *ORIGINAL[5:]]
        await wait_until(
            lambda: delta(source) == copied,
            lambda: f"a copy between the words, have {described(delta(source))}",
            within=DEADLINE,
        )
        await processes.xdo_async(display, "key", "ctrl+z")
        await wait_until(
            lambda: delta(source) == ORIGINAL,
            lambda: f"Ctrl+Z took the copy out, have {described(delta(source))}",
            within=DEADLINE,
        )
