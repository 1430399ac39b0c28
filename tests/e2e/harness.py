"""Helpers for in-process editor tests: a restartable relay, editor apps, typing, waiting.

Used by tests/e2e and tests/gui/test_app_shell.py. Everything is real: the relay is
``sync_server.app.RelayServer`` on 127.0.0.1, each editor is a full :class:`CoscribeApp`
with its own data dir, and typing goes through Qt key events into the EditorWidget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from editor_app.ui.app import CoscribeApp
from sync_server.app import RelayServer
from sync_server.config import ServerConfig

#: Deadline for anything crossing loopback; a pass takes milliseconds.
DEADLINE = 10.0
#: Reconnection after a server restart waits for the client's jittered backoff.
RECONNECT_DEADLINE = 40.0
POLL = 0.01

SAVED = "All changes saved"
OFFLINE = "Can't reach the server — changes saved on this computer"


async def wait_until(
    predicate: Callable[[], bool], what: str | Callable[[], str], *, within: float = DEADLINE
) -> None:
    """Return once ``predicate()`` is true; AssertionError naming ``what`` after ``within`` s.

    Never a qtbot wait: inside an async test that would nest a Qt loop (stack-notes §2).
    """
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"timed out after {within} s waiting for {detail}")
        await asyncio.sleep(POLL)


def qapp() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication), "the qasync loop factory creates the QApplication"
    return app


class Relay:
    """A RelayServer that can be stopped and started again on the same port and data dir
    (what a server crash and restart looks like to clients)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.server: RelayServer | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> RelayServer:
        config = ServerConfig(host="127.0.0.1", port=self.port, data_dir=self.data_dir)
        server = RelayServer(config)
        await server.__aenter__()
        self.server = server
        self.port = server.port
        return server

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.__aexit__(None, None, None)


@asynccontextmanager
async def relay(data_dir: Path) -> AsyncIterator[Relay]:
    r = Relay(data_dir)
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@asynccontextmanager
async def editor_app(
    data_dir: Path, name: str, server: str | None = None
) -> AsyncIterator[CoscribeApp]:
    """One editor instance (as if started with ``--data-dir data_dir --name name``)."""
    app = CoscribeApp(qapp(), data_dir=data_dir, name=name, server=server)
    try:
        yield app
    finally:
        await app.aclose()


def type_text(widget: QWidget, text: str) -> None:
    """Type like a keyboard: one key event per character (works for Hangul and emoji,
    unlike QTest.keyClicks, which aborts on non-ASCII)."""
    for ch in text:
        if ch == "\n":
            press = QKeyEvent(
                QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r"
            )
        else:
            press = QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch)
        QApplication.sendEvent(widget, press)
