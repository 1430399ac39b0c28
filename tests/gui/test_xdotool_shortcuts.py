"""Google Docs' keyboard shortcuts, typed with xdotool into the real editor on Xvfb; the
shared Y.Text is read by a second client through the real server (issue 13, part B).

One editor process, one line per shortcut: type a word, select it (Shift+Home) for inline
formats, press the keys, go on to the next line. Then Hangul, emoji and a combining mark
are typed one character at a time. The collaborator (a Qt-free SyncClient in this test)
checks every line's Quill attributes in the delta.
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

#: (word typed, keys pressed with the word selected, the inline attributes it gets)
INLINE = [
    ("bold", ["ctrl+b"], {"bold": True}),
    ("italic", ["ctrl+i"], {"italic": True}),
    ("under", ["ctrl+u"], {"underline": True}),
    ("strike", ["alt+shift+5"], {"strike": True}),
    ("sup", ["ctrl+period"], {"script": "super"}),
    ("sub", ["ctrl+comma"], {"script": "sub"}),
    ("code", ["ctrl+shift+k"], {"code": True}),
    ("cleared", ["ctrl+b", "ctrl+i", "ctrl+backslash"], {}),
    ("bigger", ["ctrl+shift+period"], {"size": "large"}),
    ("biggest", ["ctrl+shift+period", "ctrl+shift+period", "ctrl+shift+period"], {"size": "huge"}),
    ("smaller", ["ctrl+shift+comma"], {"size": "small"}),
]
#: (word typed, keys pressed at the end of its line, that line's block attributes)
BLOCK = [
    *[(f"head{n}", [f"ctrl+alt+{n}"], {"header": n}) for n in range(1, 7)],
    ("normal", ["ctrl+alt+2", "ctrl+alt+0"], {}),
    ("center", ["ctrl+shift+e"], {"align": "center"}),
    ("right", ["ctrl+shift+r"], {"align": "right"}),
    ("justify", ["ctrl+shift+j"], {"align": "justify"}),
    ("left", ["ctrl+shift+e", "ctrl+shift+l"], {}),
    ("indented", ["ctrl+bracketright", "ctrl+bracketright", "ctrl+bracketleft"], {"indent": 1}),
    ("numbered", ["ctrl+shift+7"], {"list": "ordered"}),
    ("bulleted", ["ctrl+shift+8"], {"list": "bullet"}),
    ("todo", ["ctrl+shift+9"], {"list": "unchecked"}),
]
UNICODE = "한글 😀 e\u0301"


def lines(text: pycrdt.Text) -> list[tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]]:
    """The document as [(runs of the line, the line's block attributes)]."""
    out: list[tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]] = []
    runs: list[tuple[str, dict[str, Any]]] = []
    for chunk, attrs in crdt_delta(text.diff()):
        if chunk == "\n":
            out.append((runs, attrs))
            runs = []
        else:
            runs.append((chunk, attrs))
    out.append((runs, {}))
    return out


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_google_docs_shortcuts_typed_with_xdotool_reach_the_shared_text(
    tmp_path: Path,
) -> None:
    processes.require_x_tools()
    log = tmp_path / "editor.log"
    with (
        processes.xvfb("1000x760x24") as display,
        processes.relay_server(tmp_path / "server") as base,
    ):
        url = f"{base}/shortcuts"
        app = processes.start_editor(
            [url, "--data-dir", str(tmp_path / "ed"), "--name", "Sam"], display, log
        )
        try:
            window = processes.wait_for_window(display, "Coscribe", app, log)
            x, y, width, height = processes.window_geometry(display, window)
            doc: pycrdt.Doc[Any] = pycrdt.Doc()
            client = SyncClient(url, doc, pycrdt.Awareness(doc))
            text = content(doc)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(client.run())
                try:
                    # Click into the page until a probe key reaches the server (the first
                    # click may come before the window takes the focus), then erase it.
                    for _attempt in range(5):
                        await processes.xdo_async(
                            display, "mousemove", str(x + width // 2), str(y + 300)
                        )
                        await processes.xdo_async(display, "click", "1")
                        await processes.xdo_async(display, "type", "q")
                        try:
                            await wait_until(lambda: "q" in str(text), lambda: "probe", within=5.0)
                            break
                        except AssertionError:
                            continue
                    await processes.xdo_async(display, "key", "BackSpace")
                    await wait_until(
                        lambda: str(text) == "", lambda: "probe erased", within=DEADLINE
                    )
                    keys: list[str] = []
                    for word, presses, _ in INLINE:
                        # The typing format follows the text before the caret (bold goes
                        # on, as in Google Docs): Ctrl+\ resets it on the new line.
                        keys += [f"type:{word}", "shift+Home", *presses, "End", "Return"]
                        keys.append("ctrl+backslash")
                    for word, presses, _ in BLOCK:
                        keys += [f"type:{word}", *presses, "End", "Return"]
                        if word == "indented":  # Enter keeps the indent (Google Docs too)
                            keys.append("ctrl+bracketleft")
                    for key in keys:
                        if key.startswith("type:"):
                            word = key[5:]
                            await processes.xdo_async(display, "type", "--delay", "12", word)
                            # Each word on the server before its shortcuts (a loaded machine).
                            await wait_until(
                                lambda w=word: w in str(text),
                                lambda w=word: f"{w!r} on the server, have {str(text)[-60:]!r}",
                                within=DEADLINE,
                            )
                        else:
                            await processes.xdo_async(display, "key", key)
                    # The last Return made an unchecked item; leave the list, then Unicode.
                    await processes.xdo_async(display, "key", "Return")
                    await processes.type_confirmed(
                        display, UNICODE, lambda: str(text), within=DEADLINE
                    )
                    got = lines(text)
                    for i, (word, _, attrs) in enumerate(INLINE):
                        runs, block = got[i]
                        assert runs == [(word, attrs)], (word, runs)
                        assert block == {}, (word, block)
                    for j, (word, _, attrs) in enumerate(BLOCK):
                        runs, block = got[len(INLINE) + j]
                        assert "".join(t for t, _ in runs) == word, (word, runs)
                        assert block == attrs, (word, block)
                    assert got[-1][0] == [(UNICODE, {})], got[-1]
                    await asyncio.to_thread(processes.screenshot, display, tmp_path / "shot.png")
                finally:
                    await client.close()
            await processes.xdo_async(display, "key", "ctrl+q")
            assert await asyncio.to_thread(app.wait, DEADLINE) == 0, log.read_text()
        finally:
            processes.stop(app)
