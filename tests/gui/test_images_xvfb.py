"""Insert ▸ Image… in the real editor on Xvfb, driven with xdotool as a user does (the
menu by its keys, the file dialog by typing the path), connected to the real relay
process: the shared Y.Text gets ``{"image": "data:image/..."}`` at the caret's index
(read by a Qt-free client), and a second editor shows it as a picture."""

from __future__ import annotations

import asyncio
import os
import shutil
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
            x, y, width, _ = processes.window_geometry(display, window)
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
                    # Click into the page until typing reaches the server (the first
                    # click may come before the window has the focus).
                    for _attempt in range(5):
                        await processes.xdo_async(
                            display, "mousemove", str(x + width // 2), str(y + 300)
                        )
                        await processes.xdo_async(display, "click", "1")
                        await processes.xdo_async(display, "type", "--delay", "12", "Look here")
                        try:
                            await wait_until(
                                lambda: "Look here" in str(text), lambda: "typed", within=5.0
                            )
                            break
                        except AssertionError:
                            continue
                    await wait_until(lambda: str(text) == "Look here", lambda: str(text))
                    # The caret between "Look " and "here", then Insert ▸ Image… by its keys.
                    for _ in range(4):
                        await processes.xdo_async(display, "key", "Left")
                    dialog = ""
                    for attempt in range(3):  # a key read before the menu opened: again
                        await processes.xdo_async(display, "key", "alt+i")
                        await processes.xdo_async(display, "key", "i")
                        try:
                            dialog = await asyncio.to_thread(
                                processes.wait_for_window,
                                display,
                                "Insert image",
                                app,
                                log,
                                10.0 if attempt < 2 else DEADLINE,
                            )
                            break
                        except AssertionError:
                            if attempt == 2:
                                raise
                            await processes.xdo_async(display, "key", "Escape")
                            await processes.xdo_async(display, "windowfocus", "--sync", window)
                    await processes.xdo_async(display, "windowfocus", "--sync", dialog)
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
                    shot = await asyncio.to_thread(
                        processes.screenshot, display, tmp_path / "shot.png"
                    )
                    if os.environ.get("COSCRIBE_SCREENSHOT"):  # to look at it
                        shutil.copyfile(shot, os.environ["COSCRIBE_SCREENSHOT"])
                finally:
                    await client.close()
            # No window manager: the closed dialog left no window focused.
            await processes.xdo_async(display, "windowfocus", "--sync", window)
            await processes.xdo_async(display, "key", "ctrl+q")
            assert await asyncio.to_thread(app.wait, DEADLINE) == 0, log.read_text()
        finally:
            processes.stop(app)
