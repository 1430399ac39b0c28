"""A newly opened document window is active at once, even with no window manager (Xvfb):
Qt acts on window shortcuts and menu mnemonics only in the active window, so before the
app activated new windows the first Ctrl+B did nothing (and Alt+I typed an "i") until the
user clicked into the window.

The real editor on a private Xvfb, keys from xdotool with no click first; a Qt-free
SyncClient reads the result through the real relay.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from editor_app.core.schema import content
from editor_app.core.sync_client import SyncClient
from editor_app.qt.formats import crdt_delta
from tests.e2e import processes
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.gui]

DEADLINE = 30.0


def x_focus(display: str) -> str:
    """The window holding the X input focus (xdotool fails when it is PointerRoot)."""
    try:
        return processes.xdo(display, "getwindowfocus").strip()
    except AssertionError as exc:
        return f"no window ({exc})"


@pytest.mark.asyncio
async def test_a_shortcut_works_in_a_new_window_before_any_click(tmp_path: Path) -> None:
    processes.require_x_tools()
    log = tmp_path / "editor.log"
    with (
        processes.xvfb("1000x760x24") as display,
        processes.relay_server(tmp_path / "server") as base,
    ):
        url = f"{base}/activated"
        app = processes.start_editor(
            [url, "--data-dir", str(tmp_path / "ed"), "--name", "Sam"], display, log
        )
        try:
            window = processes.wait_for_window(display, "Coscribe", app, log)
            doc: pycrdt.Doc[Any] = pycrdt.Doc()
            client = SyncClient(url, doc, pycrdt.Awareness(doc))
            text = content(doc)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(client.run())
                try:
                    # The X input focus is on the new window (Qt set it when activating).
                    await wait_until(
                        lambda: processes.xdo(display, "getwindowfocus").strip() == window,
                        lambda: (
                            f"X focus on {processes.xdo(display, 'getwindowfocus')!r}, "
                            f"the window is {window!r}"
                        ),
                        within=DEADLINE,
                    )
                    # No click: a window shortcut, then text typed in the format it set.
                    await processes.xdo_async(display, "key", "ctrl+b")
                    await processes.xdo_async(display, "type", "--delay", "12", "strong")
                    await wait_until(
                        lambda: "strong" in str(text),
                        lambda: f"typed text on the server, have {str(text)!r}",
                        within=DEADLINE,
                    )
                    runs = [(s, a) for s, a in crdt_delta(text.diff()) if "strong" in s]
                    assert runs and runs[0][1].get("bold") is True, runs
                finally:
                    await client.close()
        finally:
            processes.stop(app)
