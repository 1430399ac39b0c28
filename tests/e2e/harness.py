"""Helpers for in-process editor tests: a restartable relay, editor apps, typing, waiting.

Used by tests/e2e and tests/gui/test_app_shell.py. Everything is real: the relay is
``sync_server.app.RelayServer`` on 127.0.0.1, each editor is a full :class:`CoscribeApp`
with its own data dir, and typing goes through Qt key events into the EditorWidget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QWidget

from editor_app.ui.app import CoscribeApp, OpenDocument
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.waiting import DEADLINE as DEADLINE
from tests.support.waiting import wait_until as wait_until

#: Reconnection after a server restart waits for the client's jittered backoff.
RECONNECT_DEADLINE = 40.0

SAVED = "All changes saved"
OFFLINE = "Can't reach the server — changes saved on this computer"


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


@asynccontextmanager
async def solo_document(tmp_path: Path, name: str) -> AsyncIterator[OpenDocument]:
    """Document ``name`` open in one editor ("Ada") on a relay of its own, both under
    ``tmp_path``: the setup of a test of one user's window."""
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "me", "Ada") as app:
        yield app.open_document(f"{server.url}/{name}")


@dataclass
class TwoEditors:
    """Alice's and Bob's editors, each a full app, with the same document open."""

    server: Relay
    url: str
    alice_app: CoscribeApp
    bob_app: CoscribeApp
    alice: OpenDocument
    bob: OpenDocument


@asynccontextmanager
async def alice_and_bob(tmp_path: Path, name: str) -> AsyncIterator[TwoEditors]:
    """A relay (data in ``tmp_path/server``) and two editors, Alice and Bob (data dirs
    ``tmp_path/alice`` and ``tmp_path/bob``), each with document ``name`` open."""
    async with (
        relay(tmp_path / "server") as server,
        editor_app(tmp_path / "alice", "Alice") as alice_app,
        editor_app(tmp_path / "bob", "Bob") as bob_app,
    ):
        url = f"{server.url}/{name}"
        alice, bob = alice_app.open_document(url), bob_app.open_document(url)
        yield TwoEditors(server, url, alice_app, bob_app, alice, bob)


def place_cursor(editor: QPlainTextEdit, anchor: int, position: int | None = None) -> QTextCursor:
    """Put the widget's caret at ``anchor``, selecting to ``position`` if given (Qt's UTF-16
    positions, wherever they are: between the halves of a pair too, as only a program can);
    returns the widget's new cursor."""
    cursor = editor.textCursor()
    cursor.setPosition(anchor)
    if position is not None:
        cursor.setPosition(position, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    return editor.textCursor()


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
