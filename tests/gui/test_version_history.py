"""File ▸ Version history against a real relay and its HTTP API (docs/api.md).

Everything is real: the relay on port 0, a full editor app typing through Qt key events,
a plain y-websocket peer (tests/support/client.py) on the same document, the dialog's
own buttons. Waits are conditions with deadlines (tests/support/waiting.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QInputDialog

from editor_app.core.api_client import HistoryClient, list_versions, name_version
from editor_app.core.errors import ServerRefused
from editor_app.core.version_diff import author_color
from editor_app.qt import formats
from editor_app.qt.document_model import UNDO_CAPTURE_MS
from editor_app.ui.app import OpenDocument
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.shortcuts import shortcut_rows
from editor_app.ui.version_history import VersionHistoryDialog
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token
from sync_server.config import ServerConfig
from tests.e2e.harness import SAVED, editor_app, relay, type_text, wait_until
from tests.support.client import py_client
from tests.support.waiting import stays

SECRET = b"0123456789abcdef-test-secret"
OLD = "Hello 한국어 😀 e\u0301"
NEWER = OLD + " — and more ✍️"


async def saved(opened: OpenDocument) -> None:
    await wait_until(
        lambda: opened.window.status_badge.text == SAVED,
        lambda: f"saved, status {opened.window.status_badge.text!r}",
    )


async def opened_history(opened: OpenDocument) -> VersionHistoryDialog:
    """File ▸ Version history, through its menu action, once the list has loaded."""
    before = set(opened.window.findChildren(VersionHistoryDialog))
    opened.window.actions_by_name["versionHistory"].trigger()
    (dialog,) = set(opened.window.findChildren(VersionHistoryDialog)) - before
    await wait_until(
        lambda: bool(dialog.versions) or not dialog.message.startswith("Loading"),
        lambda: f"the version list, message {dialog.message!r}",
    )
    return dialog


async def named(dialog: VersionHistoryDialog, label: str) -> int:
    """The "Name current version…" button, a label typed and saved: the new version's id."""
    dialog.name_button.click()
    ask = dialog.findChild(QInputDialog, "nameVersionDialog")
    assert ask is not None
    ask.setTextValue(label)
    ask.accept()
    await wait_until(
        lambda: any(v.label == label for v in dialog.versions),
        lambda: f"version {label!r} listed, message {dialog.message!r}",
    )
    return next(v.id for v in dialog.versions if v.label == label)


@pytest.mark.asyncio
async def test_name_preview_restore_and_undo(tmp_path: Path) -> None:
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "me", "Ada") as app:
        opened = app.open_document(f"{server.url}/history")
        keys = QKeySequence("Ctrl+Alt+Shift+H").toString(QKeySequence.SequenceFormat.NativeText)
        assert ("File", "Version history", keys) in shortcut_rows(opened.window.menuBar())
        await saved(opened)  # connected
        first = await opened_history(opened)
        type_text(opened.editor, OLD)
        cursor = opened.editor.textCursor()
        cursor.setPosition(0)
        cursor.setPosition(5, cursor.MoveMode.KeepAnchor)  # "Hello"
        opened.editor.setTextCursor(cursor)
        opened.editor.toggle_bold()
        opened.model.set_title("Draft one")
        # Named at once: the dialog first lets the last keystrokes reach the server.
        old_delta = formats.document_delta(opened.editor.document())

        version_id = await named(first, "First draft")
        first.close_button.click()

        cursor.movePosition(cursor.MoveOperation.End)
        opened.editor.setTextCursor(cursor)
        type_text(opened.editor, NEWER[len(OLD) :])
        opened.model.set_title("Draft two")
        await saved(opened)
        # The typing's undo group closes after UNDO_CAPTURE_MS without another edit: the
        # restore is then an undo step of its own, as it is for a person.
        await stays(opened.model.can_undo, "the typing is undoable", within=UNDO_CAPTURE_MS / 1e3)

        async with py_client(server.url, "history") as peer:
            await peer.wait_synced()
            await wait_until(lambda: str(peer.text) == NEWER, lambda: f"peer has {peer.text}")

            dialog = await opened_history(opened)
            assert [v.label for v in dialog.versions if v.label] == ["First draft"]
            dialog.select_version(version_id)
            await wait_until(
                lambda: dialog.shown is not None and dialog.shown.id == version_id,
                lambda: f"the preview of version {version_id}, message {dialog.message!r}",
            )
            preview = dialog.preview
            assert preview is not None
            assert preview.toPlainText() == OLD
            assert formats.document_delta(preview.document()) == old_delta
            assert preview.isReadOnly()
            assert dialog.preview_title.text() == "Title: Draft one"
            assert dialog.restore_button.isEnabled()

            dialog.restore_button.click()
            assert not dialog.isVisible()
            editor = opened.editor
            assert editor.toPlainText() == OLD
            assert formats.document_delta(editor.document()) == old_delta
            assert opened.window.title_edit.text() == "Draft one"
            await wait_until(lambda: str(peer.text) == OLD, lambda: f"peer has {peer.text}")

            opened.window.actions_by_name["undo"].trigger()
            assert editor.toPlainText() == NEWER
            await wait_until(lambda: str(peer.text) == NEWER, lambda: f"peer has {peer.text}")
            # The page and the CRDT agree, formats included.
            assert formats.document_delta(editor.document()) == formats.crdt_delta(
                opened.model.text.diff()
            )


def char_format(page: EditorWidget, word: str) -> QTextCharFormat:
    """The format of the first character of ``word`` on ``page``."""
    cursor = QTextCursor(page.document())
    cursor.setPosition(page.toPlainText().index(word) + 1)
    return cursor.charFormat()


@pytest.mark.asyncio
async def test_show_changes_marks_what_the_newer_version_changed(tmp_path: Path) -> None:
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "me", "Ada") as app:
        opened = app.open_document(f"{server.url}/changes")
        await saved(opened)
        editor = opened.editor
        type_text(editor, "The quick fox jumps")
        first = await opened_history(opened)
        await named(first, "One")
        first.close_button.click()

        cursor = editor.textCursor()
        cursor.setPosition(4)
        cursor.setPosition(9, QTextCursor.MoveMode.KeepAnchor)  # "quick"
        editor.setTextCursor(cursor)
        type_text(editor, "sleepy")
        await saved(opened)
        dialog = await opened_history(opened)
        newer = await named(dialog, "Two")
        await wait_until(
            lambda: dialog.shown is not None and dialog.shown.id == newer,
            lambda: f"the preview of version {newer}, message {dialog.message!r}",
        )
        assert dialog.changes is None and not dialog.changes_label.isVisible()

        dialog.changes_box.click()  # "Show changes"
        await wait_until(
            lambda: dialog.changes is not None, lambda: f"the changes, {dialog.message!r}"
        )
        page = dialog.preview
        assert page is not None and page.isReadOnly()
        assert page.toPlainText() == "The quicksleepy fox jumps"
        inserted = char_format(page, "sleepy")
        assert inserted.fontUnderline() and not inserted.fontStrikeOut()
        assert inserted.underlineColor() == QColor(author_color("Ada"))
        assert inserted.background().style() == Qt.BrushStyle.SolidPattern
        deleted = char_format(page, "quick")
        assert deleted.fontStrikeOut() and not deleted.fontUnderline()
        same = char_format(page, "fox")
        assert not same.fontStrikeOut() and not same.fontUnderline()
        assert same.background().style() == Qt.BrushStyle.NoBrush
        assert dialog.changes_label.isVisible() and "Ada" in dialog.changes_label.text()

        dialog.changes_box.click()  # off: the version as it reads
        await wait_until(lambda: dialog.changes is None, "the plain preview")
        assert dialog.preview is not None
        assert dialog.preview.toPlainText() == "The sleepy fox jumps"


@asynccontextmanager
async def checked_relay(tmp_path: Path) -> AsyncIterator[RelayServer]:
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "srv", secret=SECRET)
    (tmp_path / "srv").mkdir()
    async with RelayServer(config) as server:
        yield server


def link(server: RelayServer, role: Role) -> str:
    return f"{server.url}/shared?token={mint_token(SECRET, 'shared', role)}"


@pytest.mark.asyncio
async def test_a_viewer_sees_the_history_but_cannot_restore_or_name(tmp_path: Path) -> None:
    async with (
        checked_relay(tmp_path) as server,
        editor_app(tmp_path / "ed", "Ada") as app,
        editor_app(tmp_path / "vi", "Vic") as viewer_app,
    ):
        writer = app.open_document(link(server, Role.EDITOR))
        type_text(writer.editor, "kept")
        await saved(writer)
        entry = await name_version(link(server, Role.EDITOR), "Kept")
        assert entry.label == "Kept" and not entry.automatic

        viewer = viewer_app.open_document(link(server, Role.VIEWER))
        await wait_until(lambda: viewer.editor.isReadOnly(), "the viewer's page is read-only")
        dialog = await opened_history(viewer)
        await wait_until(
            lambda: dialog.shown is not None, lambda: f"a preview, message {dialog.message!r}"
        )
        assert dialog.preview is not None and dialog.preview.toPlainText() == "kept"
        assert not dialog.restore_button.isEnabled()
        assert not dialog.name_button.isEnabled()
        assert dialog.restore_selected() is None
        assert viewer.editor.toPlainText() == "kept"

        # The server says no too, in words the dialog can show.
        with pytest.raises(ServerRefused) as refused:
            await name_version(link(server, Role.VIEWER), "Mine")
        assert refused.value.status == 403 and str(refused.value)
        assert [v.label for v in await list_versions(link(server, Role.VIEWER))] == ["Kept"]


@pytest.mark.asyncio
async def test_errors_are_said_in_words(tmp_path: Path) -> None:
    async with checked_relay(tmp_path) as server:
        async with HistoryClient(f"{server.url}/shared?token=not-a-token") as api:
            with pytest.raises(ServerRefused) as refused:
                await api.versions()
        assert refused.value.status == 401 and str(refused.value)
        async with HistoryClient(link(server, Role.EDITOR)) as api:
            with pytest.raises(ServerRefused) as missing:
                await api.content(12345)
        assert missing.value.status == 404 and missing.value.why == "not_found"
