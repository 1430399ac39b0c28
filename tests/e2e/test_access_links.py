"""Share links with access tokens, through the real editor and a secured relay."""

from __future__ import annotations

from pathlib import Path

import pytest

from editor_app.ui.app import OpenDocument
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token
from sync_server.config import ServerConfig
from tests.e2e.harness import SAVED, editor_app, type_text, wait_until
from tests.support.client import TestClient

SECRET = b"e2e-secret-0123456789abcdef"


def status(opened: OpenDocument) -> str:
    return opened.window.status_badge.text


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_editor_viewer_and_refused_links(tmp_path: Path) -> None:
    async with RelayServer(ServerConfig(port=0, secret=SECRET)) as srv:
        base = f"{srv.url}/roadmap"
        editor_link = f"{base}?token={mint_token(SECRET, 'roadmap', Role.EDITOR)}"
        viewer_link = f"{base}?token={mint_token(SECRET, 'road*', Role.VIEWER)}"
        wrong_link = f"{base}?token={mint_token(SECRET, 'other-doc', Role.EDITOR)}"
        async with (
            editor_app(tmp_path / "owner", "Owner") as owner_app,
            editor_app(tmp_path / "guest", "Guest") as guest_app,
            editor_app(tmp_path / "stranger", "Stranger") as stranger_app,
        ):
            owner = owner_app.open_document(editor_link)
            await wait_until(lambda: status(owner) == SAVED, "owner saved")
            # The token travels in the Authorization header, not in the URL.
            assert "token=" not in owner.client.url
            type_text(owner.editor, "Q3 goals")
            await wait_until(lambda: status(owner) == SAVED, "owner's typing saved")

            guest = guest_app.open_document(viewer_link)
            await wait_until(
                lambda: guest.editor.toPlainText() == "Q3 goals", "viewer sees the text"
            )
            await wait_until(lambda: guest.model.read_only, "viewer link opens read-only")
            assert guest.editor.isReadOnly()
            type_text(guest.editor, "scribble")  # a read-only widget ignores the keys
            assert guest.editor.toPlainText() == "Q3 goals"

            stranger = stranger_app.open_document(wrong_link)
            await wait_until(lambda: status(stranger).startswith("Access denied"), "refusal shown")
            assert "roadmap" in status(stranger)
            attempts = stranger.client.connections
            # Refused when the document was opened on the server's shared connection (or at
            # its own handshake), and not retried in a loop.
            assert attempts <= 1

        async with TestClient(f"{base}?token={mint_token(SECRET, 'roadmap', Role.VIEWER)}") as c:
            await wait_until(lambda: c.synced, "reader synced")
            assert str(c) == "Q3 goals"


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_link_expiring_mid_session_asks_for_a_new_link(tmp_path: Path) -> None:
    async with RelayServer(ServerConfig(port=0, secret=SECRET)) as srv:
        short = mint_token(SECRET, "minutes", Role.EDITOR, expires_in=2)
        async with editor_app(tmp_path / "me", "Me") as app:
            opened = app.open_document(f"{srv.url}/minutes?token={short}")
            await wait_until(lambda: status(opened) == SAVED, "saved before expiry")
            await wait_until(
                lambda: status(opened).startswith("Access link expired"),
                lambda: f"expiry shown, have {status(opened)!r}",
                within=10,
            )
            connections = opened.client.connections
            assert connections == 1  # no retry loop on an expired link
