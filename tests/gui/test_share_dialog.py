"""The Share dialog (editor_app/ui/share_dialog.py) against a real relay and its HTTP API.

Everything is real: a relay on port 0 that wants signed links, a full editor app opened
with a link, the dialog's own buttons, and a plain y-websocket peer that opens the link
the dialog made. Waits are conditions with deadlines (tests/support/waiting.py).

Set ``COSCRIBE_SCREENSHOT=path.png`` to keep a picture of the owner's dialog (this is how
docs/share.png is made, under Xvfb with ``QT_QPA_PLATFORM=xcb``).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from editor_app.ui.app import OpenDocument
from editor_app.ui.share_dialog import NOT_OWNER, OPEN_MODE, ShareDialog
from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from tests.e2e.harness import editor_app, relay, wait_until
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient

DOC = "plans"


@asynccontextmanager
async def secured_relay(tmp_path: Path) -> AsyncIterator[RelayServer]:
    (tmp_path / "srv").mkdir()
    async with RelayServer(secured(host="127.0.0.1", data_dir=tmp_path / "srv")) as server:
        yield server


def link(server: RelayServer, role: Role) -> str:
    return f"{server.url}/{DOC}?token={mint_token(SECRET, DOC, role)}"


def clipboard() -> str:
    return QApplication.clipboard().text()


async def opened_share(opened: OpenDocument, *, menu: bool = False) -> ShareDialog:
    """The Share button (or *File ▸ Share…*), once the server's answer is in."""
    before = set(opened.window.findChildren(ShareDialog))
    if menu:
        opened.window.actions_by_name["share"].trigger()
    else:
        opened.window.share_button.click()
    (dialog,) = set(opened.window.findChildren(ShareDialog)) - before
    await wait_until(lambda: dialog.mode != "loading", "the server's answer to Share")
    return dialog


async def created(dialog: ShareDialog, role_name: str, expiry: str) -> str:
    """Pick a role and an expiry, "Create link": the new link's id."""
    dialog.role_combo.setCurrentText(role_name)
    dialog.expiry_combo.setCurrentText(expiry)
    count = len(dialog.links)
    dialog.create_button.click()
    await wait_until(
        lambda: len(dialog.links) == count + 1, lambda: f"a new link, message {dialog.message!r}"
    )
    return dialog.links[0].id


@pytest.mark.asyncio
async def test_an_owner_creates_a_commenter_link_and_revokes_it(tmp_path: Path) -> None:
    async with secured_relay(tmp_path) as server, editor_app(tmp_path / "me", "Olga") as app:
        opened = app.open_document(link(server, Role.OWNER))
        opened.model.set_title("Q3 plans")
        dialog = await opened_share(opened)
        assert dialog.heading.text() == "Share “Q3 plans”"
        assert dialog.mode == "owner" and dialog.links == []
        assert dialog.create_button.isVisible()

        commenter_id = await created(dialog, "Commenter", "7 days")
        url = dialog.new_link.text()
        assert url.startswith(f"{server.url}/{DOC}?token=")
        assert clipboard() == url and dialog.copied_note.text() == "Copied"
        entry = dialog.links[0]
        assert entry.role is Role.COMMENTER and entry.expires_at is not None
        assert dialog.link_url(entry) == url

        async with TestClient(url) as guest:
            await guest.wait_synced()
            assert guest.session is not None and guest.session.server_role is Role.COMMENTER

            viewer_id = await created(dialog, "Viewer", "Never")
            assert [e.id for e in dialog.links] == [viewer_id, commenter_id]  # newest first
            row = dialog.row(commenter_id)
            assert row is not None and row.copy_button.isVisible()
            row.copy_button.click()
            assert clipboard() == url

            row.revoke_button.click()
            ask = dialog.findChild(QMessageBox, "revokeConfirm")
            assert ask is not None and ask.isVisible()
            confirm = ask.findChild(QPushButton, "confirmRevoke")
            assert confirm is not None
            started = time.monotonic()
            confirm.click()
            await wait_until(lambda: guest.closed, "the revoked link's session closed", within=1)
            assert time.monotonic() - started < 1
            assert guest.close_code == CloseCode.TOKEN_REVOKED

        await wait_until(
            lambda: (r := dialog.row(commenter_id)) is not None and r.revoked_label.isVisible(),
            lambda: f"the row says Revoked, message {dialog.message!r}",
        )
        revoked = dialog.row(commenter_id)
        kept = dialog.row(viewer_id)
        assert revoked is not None and kept is not None
        assert not revoked.revoke_button.isVisible() and not revoked.copy_button.isVisible()
        assert not kept.revoked_label.isVisible() and kept.revoke_button.isVisible()
        target = os.environ.get("COSCRIBE_SCREENSHOT")
        if target:
            dialog.grab().save(target)

        # The list is the server's: a dialog opened afterwards shows the same.
        dialog.done_button.click()
        again = await opened_share(opened, menu=True)
        assert [(e.id, e.revoked) for e in again.links] == [
            (viewer_id, False),
            (commenter_id, True),
        ]
        again.reject()


@pytest.mark.asyncio
async def test_a_non_owner_reads_why_and_copies_their_own_link(tmp_path: Path) -> None:
    async with secured_relay(tmp_path) as server, editor_app(tmp_path / "ed", "Ed") as app:
        editor_link = link(server, Role.EDITOR)
        opened = app.open_document(editor_link)
        dialog = await opened_share(opened, menu=True)
        assert dialog.mode == "not_owner"
        assert dialog.not_owner_page.isVisible()
        assert not dialog.create_button.isVisible() and not dialog.owner_page.isVisible()
        assert NOT_OWNER.startswith("Only the document's owners can share it")
        dialog.not_owner_copy.click()
        assert clipboard() == editor_link  # what File ▸ Copy link copies
        dialog.reject()


@pytest.mark.asyncio
async def test_open_mode_offers_the_address_and_failures_are_said_in_words(
    tmp_path: Path,
) -> None:
    async with relay(tmp_path / "open") as server, editor_app(tmp_path / "me", "Ada") as app:
        opened = app.open_document(f"{server.url}/{DOC}")
        dialog = await opened_share(opened)
        assert dialog.mode == "open" and dialog.open_page.isVisible()
        assert OPEN_MODE.startswith("This server is in open mode")
        assert dialog.address.text() == f"{server.url}/{DOC}"
        dialog.open_copy.click()
        assert clipboard() == f"{server.url}/{DOC}"
        dialog.reject()

    async with secured_relay(tmp_path) as server, editor_app(tmp_path / "x", "Xi") as app:
        opened = app.open_document(f"{server.url}/{DOC}?token=not-a-token")
        dialog = await opened_share(opened)
        assert dialog.mode == "error" and dialog.retry_button.isVisible()
        text = dialog.error_text
        assert text.startswith("Couldn't load this document's sharing settings.")
        assert "token" in text.lower() and "HTTP" not in text  # the server's sentence
        dialog.reject()
