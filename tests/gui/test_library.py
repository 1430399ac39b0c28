"""The start window's *On this server* tab (the document library) against a real relay.

Everything is real: the relay on port 0 and its HTTP API, y-websocket peers
(tests/support/client.py) that make and title the documents, the panel's own buttons,
keys and dialogs (the confirmation, Rename…, Make a copy); a full editor app for opening
a listed document. Waits are
conditions with deadlines (tests/support/waiting.py).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from pycrdt import Map
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from editor_app.core.library_client import list_documents
from editor_app.ui.library_dialogs import LibraryRequestDialog, MakeCopyDialog, RenameDialog
from editor_app.ui.open_dialog import OpenDocumentDialog
from editor_app.ui.start_window import LibraryPanel, StartWindow
from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from sync_server.config import ServerConfig
from tests.e2e.harness import editor_app
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient, synced_client
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.asyncio

HANGUL = "여행 계획 — Trip"
#: name -> (title, author)
DOCUMENTS = {"plan-a": (HANGUL, "Ann"), "plan-b": ("Budget", "Bo"), "plan-c": ("", "Cy")}


@asynccontextmanager
async def titled_documents(url: str, token: str | None = None) -> AsyncIterator[list[TestClient]]:
    """DOCUMENTS on the server at ``url``, each with a peer still in it, once the library
    lists their titles."""
    query = f"?token={token}" if token else ""
    async with AsyncExitStack() as stack:
        peers = []
        for name, (title, author) in DOCUMENTS.items():
            peer = await stack.enter_async_context(
                synced_client(f"{url}/{name}{query}", user={"name": author})
            )
            await peer.append(f"text of {name}")
            if title:
                peer.doc.get("meta", type=Map)["title"] = title
            await peer.flush()
            peers.append(peer)

        async def noted() -> bool:
            listed = await list_documents(url, token)
            names, titles = {d.name for d in listed}, {d.title for d in listed}
            return names == set(DOCUMENTS) and titles >= {HANGUL, "Budget"}

        await wait_until_async(noted, "the documents and their titles in the library")
        yield peers


async def listed(panel: LibraryPanel, titles: list[str] | set[str], what: str) -> None:
    def shows() -> bool:
        shown = panel.titles()
        return not panel.busy and (set(shown) if isinstance(titles, set) else shown) == titles

    await wait_until(shows, lambda: f"{what}: {panel.titles()} / {panel.message!r}")


def press_enter(panel: LibraryPanel) -> None:
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        event = QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(panel.list, event)


async def test_lists_searches_trashes_and_restores() -> None:
    # The relay lives inside the test, on the loop the test runs on (qasync): a
    # pytest-asyncio fixture closed it after the loop stopped, now and then.
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as server:
        async with titled_documents(server.url) as peers:
            window = StartWindow([], servers=[server.url])
            window.show()
            panel = window.show_library()
            everything = {HANGUL, "Budget", "plan-c"}  # no title: the name
            await listed(panel, everything, "the three documents")
            rows = {e.name: e for e in panel.entries()}
            assert rows["plan-a"].last_editor == "Ann" and rows["plan-b"].people == 1
            item = panel.list.topLevelItem(panel.titles().index(HANGUL))
            assert item is not None and item.text(2) == "Ann" and item.text(3) == "1 here"
            assert item.text(1) in ("Just now", "1 min ago")

            panel.search_edit.setText("여행")  # filtered by the server after a short pause
            await listed(panel, [HANGUL], "the search for 여행")
            panel.search_edit.setText("zzz")
            await listed(panel, [], "a search matching nothing")
            assert "Nothing matches" in panel.message
            panel.search_edit.clear()
            await listed(panel, everything, "all again")

            assert panel.select("plan-b")
            box = panel.trash_selected()
            assert isinstance(box, QMessageBox) and "Budget" in box.text()
            cancel = box.button(QMessageBox.StandardButton.Cancel)
            assert cancel is not None
            cancel.click()
            assert {e.name for e in panel.entries()} == set(DOCUMENTS)  # nothing happened
            box = panel.trash_selected()
            assert box is not None
            confirm = box.findChild(QPushButton, "confirmTrashButton")
            assert confirm is not None
            confirm.click()
            await listed(panel, {HANGUL, "plan-c"}, "the list without the trashed document")
            budget_peer = peers[1]
            await wait_until(lambda: budget_peer.closed, "the trashed document's peer closed")
            assert budget_peer.close_code == CloseCode.DOCUMENT_DELETED

            panel.trash_button.click()
            await listed(panel, ["Budget"], "the trash")
            assert panel.in_trash and panel.restore_button.isVisible()
            assert not panel.open_button.isVisible()
            assert panel.select("plan-b")
            panel.restore_button.click()
            await listed(panel, [], "the emptied trash")
            assert panel.message == "The trash is empty."
            panel.trash_button.click()
            await listed(panel, everything, "the restored document back in the list")

            opened: list[str] = []
            window.openRequested.connect(opened.append)
            assert panel.select("plan-a")
            press_enter(panel)
            assert opened == [f"{server.url}/plan-a"]
            window.hide()  # closing the last window would end the test's Qt loop
            window.deleteLater()


async def answer(dialog: LibraryRequestDialog, text: str, what: str) -> None:
    """Type ``text`` in the dialog, press its button and wait for the server's answer."""
    dialog.edit.setText(text)
    dialog.ok_button.click()
    await wait_until(lambda: not dialog.busy, f"the server's answer to {what}")


async def test_renames_and_copies_from_the_list() -> None:
    # The relay lives inside the test, on the loop the test runs on (qasync): a
    # pytest-asyncio fixture closed it after the loop stopped, now and then.
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as server:
        async with titled_documents(server.url) as peers:
            panel = LibraryPanel([server.url])
            panel.show()
            panel.activateWindow()
            await listed(panel, {HANGUL, "Budget", "plan-c"}, "the three documents")
            assert panel.select("plan-b")
            assert panel.rename_button.isEnabled() and panel.copy_button.isEnabled()

            QTest.keyClick(panel.list, Qt.Key.Key_F2)  # F2 renames, as in a file manager
            rename = panel.findChild(RenameDialog)
            assert rename is not None and rename.isVisible()
            assert rename.edit.text() == "Budget"  # prefilled with the title
            await answer(rename, "Budget 2026 예산", "the rename")
            assert not rename.isVisible() and rename.error == ""
            await listed(panel, {HANGUL, "Budget 2026 예산", "plan-c"}, "the new title listed")
            budget_meta = peers[1].doc.get("meta", type=Map)
            await wait_until(
                lambda: budget_meta.get("title") == "Budget 2026 예산", "the title in the open peer"
            )
            rename.deleteLater()

            assert panel.select("plan-a")
            copy = panel.copy_selected()
            assert isinstance(copy, MakeCopyDialog) and copy.edit.text() == "plan-a-copy"
            await answer(copy, "plan-b", "a copy named like another document")
            assert copy.isVisible()  # still asking, the name taken said in words
            assert copy.error == (
                "There is already a document named “plan-b” on this server. Choose another name."
            )
            await answer(copy, "plan-a-copy", "the copy")
            assert not copy.isVisible()
            copied = f"Copy of {HANGUL}"
            await listed(panel, {HANGUL, copied, "Budget 2026 예산", "plan-c"}, "the copy listed")
            chosen = panel.selected()
            assert chosen is not None and chosen.name == "plan-a-copy" and chosen.title == copied
            copy.deleteLater()
            async with synced_client(f"{server.url}/plan-a-copy") as reader:
                assert str(reader.text) == "text of plan-a"

            panel.trash_button.click()  # nothing to rename or copy in the trash
            await listed(panel, [], "the empty trash")
            assert not panel.rename_button.isVisible() and not panel.copy_button.isVisible()
            panel.hide()
            panel.deleteLater()


async def test_opening_a_listed_document_opens_it(tmp_path: Path) -> None:
    # The relay lives inside the test, on the loop the test runs on (qasync): a
    # pytest-asyncio fixture closed it after the loop stopped, now and then.
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as server:
        async with (
            titled_documents(server.url),
            editor_app(tmp_path / "me", "Ada", server=server.url) as app,
        ):
            start = app.show_start()
            panel = start.show_library()
            panel.set_server(server.url)
            await listed(panel, {HANGUL, "Budget", "plan-c"}, "the server's documents")
            assert panel.select("plan-a")
            panel.open_button.click()
            assert list(app.documents) == [f"{server.url}/plan-a"]
            opened = app.documents[f"{server.url}/plan-a"]
            await wait_until(lambda: opened.model.title() == HANGUL, "the document's title")
            assert opened.window.isVisible() and not start.isVisible()


async def test_errors_are_said_in_plain_words() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    panel = LibraryPanel([f"ws://127.0.0.1:{port}"])
    panel.show()
    await wait_until(lambda: not panel.busy and bool(panel.message), "the failure")
    assert panel.message.startswith("Can't reach the server") and panel.titles() == []

    panel.set_server("ftp://nowhere")
    assert "not a server address" in panel.message.lower()

    async with RelayServer(secured()) as srv:
        token = mint_token(SECRET, "plan-*", Role.EDITOR)
        async with titled_documents(srv.url, token):
            panel.set_server(srv.url)
            await wait_until(lambda: not panel.busy and "token" in panel.message, "the 401")
            assert panel.titles() == []
            panel.set_server(f"{srv.url}?token={token}")
            await listed(panel, {HANGUL, "Budget", "plan-c"}, "the documents the link grants")
            assert panel.select("plan-c")
            viewer = mint_token(SECRET, "plan-*", Role.VIEWER)
            panel.set_server(f"{srv.url}?token={viewer}")
            await listed(panel, {HANGUL, "Budget", "plan-c"}, "the viewer's listing")
            panel.trash_button.click()
            await wait_until(lambda: not panel.busy and "trash" in panel.message, "the 403")
            assert panel.message == "This link may not see the trash."
    panel.hide()
    panel.deleteLater()


async def test_the_open_dialog_lists_the_current_documents_server() -> None:
    async with RelayServer(secured()) as srv:
        token = mint_token(SECRET, "plan-*", Role.EDITOR)
        async with titled_documents(srv.url, token):
            dialog = OpenDocumentDialog(f"{srv.url}/plan-a?token={token}", token=token)
            chosen: list[str] = []
            dialog.linkChosen.connect(chosen.append)
            dialog.open()
            await listed(dialog.library, {HANGUL, "Budget", "plan-c"}, "the team's documents")
            assert dialog.library.select("plan-b")
            press_enter(dialog.library)
            assert chosen == [f"{srv.url}/plan-b?token={token}"]
            assert not dialog.isVisible()
            dialog.deleteLater()


async def test_file_open_lists_this_server_and_opens_the_choice(tmp_path: Path) -> None:
    # The relay lives inside the test, on the loop the test runs on (qasync): a
    # pytest-asyncio fixture closed it after the loop stopped, now and then (one clean-clone
    # run: an error at this test's teardown).
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as server:
        async with (
            titled_documents(server.url),
            editor_app(tmp_path / "me", "Ada") as app,
        ):
            first = app.open_document(f"{server.url}/plan-c")
            action = first.window.actions_by_name["openDocument"]
            assert action.shortcut().toString() == "Ctrl+O"
            action.trigger()
            dialog = first.window.findChild(OpenDocumentDialog)
            assert dialog is not None and dialog.isVisible()
            await listed(dialog.library, {HANGUL, "Budget", "plan-c"}, "this server's documents")
            assert dialog.library.select("plan-b")
            dialog.library.open_button.click()
            assert set(app.documents) == {f"{server.url}/plan-c", f"{server.url}/plan-b"}


async def test_file_make_a_copy_opens_the_copy(tmp_path: Path) -> None:
    # The relay lives inside the test, on the loop the test runs on (qasync): a
    # pytest-asyncio fixture closed it after the loop stopped, now and then.
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as server:
        async with (
            titled_documents(server.url),
            editor_app(tmp_path / "me", "Ada") as app,
        ):
            first = app.open_document(f"{server.url}/plan-a")
            await wait_until(lambda: first.model.title() == HANGUL, "the document's title")
            first.window.actions_by_name["makeCopy"].trigger()
            dialog = first.window.findChild(MakeCopyDialog)
            assert dialog is not None and dialog.isVisible()
            assert dialog.edit.text() == "plan-a-copy"
            await answer(dialog, "plan-b", "a copy named like another document")
            assert dialog.isVisible() and "already a document named “plan-b”" in dialog.error
            await answer(dialog, "plan-a-copy", "the copy")
            assert not dialog.isVisible()
            copy_url = f"{server.url}/plan-a-copy"
            assert set(app.documents) == {f"{server.url}/plan-a", copy_url}
            copy = app.documents[copy_url]
            await wait_until(
                lambda: copy.editor.toPlainText() == "text of plan-a",
                lambda: f"the copy's text: {copy.editor.toPlainText()!r}",
            )
            assert copy.model.title() == f"Copy of {HANGUL}" and copy.window.isVisible()
            assert first.editor.toPlainText() == "text of plan-a"
