"""A viewer (read-only link) sees an honest status and a toolbar that does not lie
(issue 13, bug 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor_app.ui.app import OpenDocument
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token
from sync_server.config import ServerConfig
from tests.e2e.harness import SAVED, editor_app, type_text, wait_until

SECRET = b"0123456789abcdef-test-secret"


@asynccontextmanager
async def viewer_of_saved_text(tmp_path: Path, text: str) -> AsyncIterator[OpenDocument]:
    """A document on a relay that checks links: an editor ("Ada") types ``text`` and waits
    until it is saved, then a viewer ("Vic") opens a read-only link; yields the viewer's
    window, just opened."""
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "srv", secret=SECRET)
    (tmp_path / "srv").mkdir()
    async with (
        RelayServer(config) as server,
        editor_app(tmp_path / "ed", "Ada") as app,
        editor_app(tmp_path / "vi", "Vic") as viewer_app,
    ):
        writer = app.open_document(
            f"{server.url}/doc?token={mint_token(SECRET, 'doc', Role.EDITOR)}"
        )
        type_text(writer.editor, text)
        await wait_until(lambda: writer.window.status_badge.text == SAVED, lambda: "saved")
        yield viewer_app.open_document(
            f"{server.url}/doc?token={mint_token(SECRET, 'doc', Role.VIEWER)}"
        )


@pytest.mark.asyncio
async def test_ctrl_b_in_a_viewer_changes_nothing_and_leaves_b_unpressed(tmp_path: Path) -> None:
    async with viewer_of_saved_text(tmp_path, "hello") as viewer:
        await wait_until(
            lambda: viewer.editor.isReadOnly() and viewer.editor.toPlainText() == "hello",
            lambda: f"read-only viewer with the text, has {viewer.editor.toPlainText()!r}",
        )
        bold = viewer.window.actions_by_name["bold"]
        QTest.keyClick(viewer.editor, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
        assert not bold.isChecked()
        assert not bold.isEnabled()
        assert "bold" not in viewer.editor.current_format()
        assert str(viewer.model.text) == "hello"


@pytest.mark.asyncio
async def test_a_fresh_viewer_reads_as_up_to_date(tmp_path: Path) -> None:
    async with viewer_of_saved_text(tmp_path, "hello") as viewer:
        await wait_until(
            lambda: (
                viewer.editor.toPlainText() == "hello"
                and not viewer.window.status_badge.text.startswith("Saving")
            ),
            lambda: f"viewer status {viewer.window.status_badge.text!r}",
            within=3.0,
        )
