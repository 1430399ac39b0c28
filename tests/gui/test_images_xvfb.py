"""Insert ▸ Image… in the real editor on Xvfb, driven with xdotool as a user does (the
menu by its keys, the file dialog by typing the path), connected to the real relay
process: the shared Y.Text gets ``{"image": "data:image/..."}`` at the caret's index
(read by a Qt-free client), and a second editor shows it as a picture."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from editor_app.core.schema import content
from editor_app.core.sync_client import SyncClient
from editor_app.qt import images
from tests.e2e import processes
from tests.e2e.harness import editor_app
from tests.gui.test_images import decoded, embeds, encoded, image_fragments, photo
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.gui]

DEADLINE = 30.0


@contextmanager
def held_open(display: str) -> Iterator[None]:
    """Keep one client connected to ``display`` while the block runs.

    Xvfb resets itself whenever its last client disconnects and refuses connections while
    it does: here every ``xdotool search`` of :func:`processes.wait_for_window` is the only
    client until the editor has connected, so the editor could start in a reset and die
    with "could not connect to display" (seen once in ten runs; 8 of 200 back-to-back
    xdotool connections were refused on a plain Xvfb, none with ``-noreset``). A client
    held from the start means the server never resets.
    """
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    assert connection, f"could not connect to the test's own X server {display}"
    try:
        yield
    finally:
        x11.XCloseDisplay(connection)


async def activate(display: str, window: str) -> None:
    """Give ``window`` the X input focus and return once the server reports it has it.

    With no window manager nobody activates a new window: the editor's window is shown
    but not active, and Qt lets window shortcuts (menu mnemonics such as Alt+I) act only
    in the active window, so Alt+I then types an "i" into the page. The server queues the
    FocusIn event before any key sent after this returns, so Qt sees the window active
    before it sees those keys: no race, nothing to retry.
    """
    await processes.xdo_async(display, "windowfocus", "--sync", window)


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_insert_image_from_the_menu_reaches_the_shared_text_and_another_editor(
    tmp_path: Path,
) -> None:
    processes.require_x_tools()
    picture = tmp_path / "holiday.jpg"
    picture.write_bytes(encoded(photo(2400, 1600), b"jpg"))
    log = tmp_path / "editor.log"
    with (
        processes.xvfb("1000x760x24") as display,
        held_open(display),
        processes.relay_server(tmp_path / "server") as base,
    ):
        url = f"{base}/pictures"
        app = processes.start_editor(
            [url, "--data-dir", str(tmp_path / "ed"), "--name", "Sam"], display, log
        )
        try:
            window = await asyncio.to_thread(
                processes.wait_for_window, display, "Coscribe", app, log
            )
            doc: pycrdt.Doc[Any] = pycrdt.Doc()
            client = SyncClient(url, doc, pycrdt.Awareness(doc))
            text = content(doc)
            async with (
                asyncio.TaskGroup() as tg,
                editor_app(tmp_path / "second", "Ana") as second_app,
            ):
                tg.create_task(client.run())
                second = second_app.open_document(url)
                try:
                    # The window opens with the caret in the page; once it is active,
                    # keys typed go there (offline first: no need to wait for the server).
                    await activate(display, window)
                    await processes.xdo_async(display, "type", "--delay", "12", "Look here")
                    await wait_until(
                        lambda: str(text) == "Look here",
                        lambda: f"the typed text on the server, have {str(text)!r}",
                        within=DEADLINE,
                    )
                    # The caret between "Look " and "here", then Insert ▸ Image… by its keys.
                    for _ in range(4):
                        await processes.xdo_async(display, "key", "Left")
                    await processes.xdo_async(display, "key", "alt+i")
                    await processes.xdo_async(display, "key", "i")
                    try:
                        dialog = await asyncio.to_thread(
                            processes.wait_for_window, display, "Insert image", app, log, DEADLINE
                        )
                    except AssertionError as exc:
                        raise AssertionError(
                            "Alt+I, I did not open the file dialog; the shared text is "
                            f"{str(text)!r} (an 'i' in it: the keys reached the page, "
                            "not the menu)"
                        ) from exc
                    await activate(display, dialog)
                    await processes.xdo_async(display, "type", "--delay", "8", str(picture))
                    await processes.xdo_async(display, "key", "Return")
                    await wait_until(
                        lambda: bool(embeds(text)),
                        lambda: f"no image in the shared text: {text.diff()!r:.200}",
                        within=DEADLINE,
                    )
                    ((index, value, attrs),) = embeds(text)
                    assert index == len("Look ") and attrs in (None, {})
                    source = value["image"]
                    assert source.startswith("data:image/jpeg;base64,")
                    assert decoded(source).width() == 1600  # scaled to the longest side
                    assert str(text) == "Look here"
                    # The second editor shows it as a picture, at the same place.
                    editor = second.editor
                    await wait_until(
                        lambda: [p for p, _ in image_fragments(editor)] == [5],
                        lambda: f"the second editor has {editor.toPlainText()!r}",
                        within=DEADLINE,
                    )
                    fmt = image_fragments(editor)[0][1]
                    shown = images.picture(editor.document(), fmt)
                    assert shown is not None and shown.width() == 1600
                    assert not images.is_placeholder(shown)
                    await asyncio.to_thread(processes.screenshot, display, tmp_path / "shot.png")
                finally:
                    await client.close()
            # No window manager: the closed dialog left no window focused.
            await activate(display, window)
            await processes.xdo_async(display, "key", "ctrl+q")
            assert await asyncio.to_thread(app.wait, DEADLINE) == 0, log.read_text()
        finally:
            processes.stop(app)
