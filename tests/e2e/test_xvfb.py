"""The real application under a real X server: typed into with xdotool, photographed.

``python -m editor_app <url> --data-dir ...`` runs as a separate process on a private Xvfb
display against ``python -m sync_server --port 0`` (also a separate process). xdotool types
ASCII and Hangul, uses the formatting shortcuts, and edits the title; a second client in this
test process (E1's Qt-free SyncClient + PresenceTracker) checks that the server has the
typed text, then adds a Korean line and puts its named cursor in the document. The test
waits until the collaborator's color is on screen and keeps the screenshot.

Set ``COSCRIBE_SCREENSHOT=path.png`` to copy the final screenshot somewhere (this is how
docs/screenshot.png is refreshed).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pycrdt
import pytest

from shared import Origin
from tests.e2e import processes
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.gui]

COLLABORATOR = "Minji"
COLLABORATOR_COLOR = "#e37400"
SCREEN = "1000x760x24"  # the main window's default size: no black border
DEADLINE = 20.0


def color_pixels(image: Path, color: str) -> int:
    """How many pixels of ``image`` have ``color`` (ImageMagick; Debian's convert by full
    path, since a stand-in ``convert`` may come first on PATH)."""
    convert = "/usr/bin/convert" if Path("/usr/bin/convert").exists() else "convert"
    done = subprocess.run(
        [
            convert,
            str(image),
            "-alpha",
            "off",
            "-fuzz",
            "4%",
            "-fill",
            "#000000",
            "+opaque",
            color,
            "-fill",
            "#ffffff",
            "-opaque",
            color,
            "-format",
            "%[fx:round(mean*w*h)]",
            "info:",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(float(done.stdout.strip() or 0))


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_real_editor_under_xvfb_types_syncs_and_shows_collaborator(tmp_path: Path) -> None:
    processes.require_x_tools()
    from editor_app.core.offsets import TextIndex
    from editor_app.core.presence import PresenceTracker
    from editor_app.core.schema import content, meta
    from editor_app.core.sync_client import SyncClient

    log = tmp_path / "editor.log"
    with processes.xvfb(SCREEN) as display, processes.relay_server(tmp_path / "server") as base:
        url = f"{base}/kickoff-notes"
        app = processes.start_editor(
            [url, "--data-dir", str(tmp_path / "editor"), "--name", "Sam"], display, log
        )
        try:
            window = await asyncio.to_thread(
                processes.wait_for_window, display, "Coscribe", app, log
            )
            x, y, width, height = await asyncio.to_thread(
                processes.window_geometry, display, window
            )

            # The collaborator: a real client on the same document, in this process.
            doc = pycrdt.Doc()
            awareness = pycrdt.Awareness(doc)
            client = SyncClient(url, doc, awareness)
            text = content(doc)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(client.run())
                try:
                    # Title: click the title field (top left), type.
                    await processes.xdo_async(
                        display, "mousemove", str(x + 120), str(y + 50), "click", "1"
                    )
                    await processes.xdo_async(display, "type", "--delay", "20", "Project kickoff")
                    await wait_until(
                        lambda: meta(doc).get("title") == "Project kickoff",
                        lambda: f"the title on the server, have {meta(doc).get('title')!r}",
                        within=DEADLINE,
                    )
                    # Body: click into the page, then type with formatting shortcuts.
                    await processes.xdo_async(
                        display,
                        "mousemove",
                        str(x + width // 2),
                        str(y + height // 2),
                        "click",
                        "1",
                    )
                    steps: list[tuple[str, ...]] = [
                        ("key", "ctrl+alt+1"),
                        ("type", "Kickoff notes"),
                        ("key", "Return"),
                        ("type", "We ship on "),
                        ("key", "ctrl+b"),
                        ("type", "Friday"),
                        ("key", "ctrl+b"),
                        ("type", ", "),
                        ("key", "ctrl+i"),
                        ("type", "no matter what"),
                        ("key", "ctrl+i"),
                        ("type", ". "),
                        ("type", "회의는 금요일 오후 3시입니다."),
                        ("key", "Return"),
                        ("key", "ctrl+shift+8"),
                        ("type", "Design review"),
                        ("key", "Return"),
                        ("type", "Release notes"),
                    ]
                    for step in steps:
                        if step[0] == "type" and not step[1].isascii():
                            # One character at a time, each confirmed on the server.
                            await processes.type_confirmed(
                                display, step[1], lambda: str(text), within=DEADLINE
                            )
                        elif step[0] == "type":
                            await processes.xdo_async(display, "type", "--delay", "15", step[1])
                        else:
                            await processes.xdo_async(display, *step)
                    typed = ("Kickoff notes", "We ship on Friday", "회의는 금요일 오후 3시입니다.")
                    await wait_until(
                        lambda: all(t in str(text) for t in typed) and "Release notes" in str(text),
                        lambda: f"the typed text on the server, have {str(text)!r}",
                        within=DEADLINE,
                    )
                    diff = text.diff()
                    assert any(chunk == "Friday" and (a or {}).get("bold") for chunk, a in diff), (
                        diff
                    )
                    assert any((a or {}).get("header") == 1 for _, a in diff), diff
                    assert any((a or {}).get("list") == "bullet" for _, a in diff), diff

                    # The collaborator writes a Korean line and leaves a named cursor.
                    line = "민지: 좋아요, 금요일에 봐요! 👍"
                    with doc.transaction(origin=Origin.LOCAL_EDIT):
                        # After a list item the document already ends with an empty line.
                        prefix = "" if str(text).endswith("\n") else "\n"
                        text.insert(len(str(text).encode()), prefix + line)
                    tracker = PresenceTracker(awareness, text, TextIndex(str(text)))
                    tracker.set_user(COLLABORATOR, COLLABORATOR_COLOR)
                    end16 = len(str(text).encode("utf-16-le")) // 2
                    tracker.set_local_cursor(end16 - 9, end16 - 3)

                    shot = tmp_path / "shot.png"

                    def collaborator_visible() -> bool:
                        processes.screenshot(display, shot)
                        return color_pixels(shot, COLLABORATOR_COLOR) > 150

                    deadline = time.monotonic() + DEADLINE
                    while not await asyncio.to_thread(collaborator_visible):
                        assert time.monotonic() < deadline, (
                            f"the collaborator's color never appeared on screen; see {shot}"
                        )
                        await asyncio.sleep(0.2)
                    assert shot.stat().st_size > 10_000
                finally:
                    await client.close()
            # Ctrl+Q quits; closing the last window ends the event loop and the process.
            await processes.xdo_async(display, "key", "ctrl+q")
            exit_status = await asyncio.to_thread(app.wait, DEADLINE)
            assert exit_status == 0, log.read_text(errors="replace")
        finally:
            processes.stop(app)
