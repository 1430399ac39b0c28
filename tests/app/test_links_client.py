"""The editor's share-link requests (editor_app/core/api_client.py) against a real relay.

docs/api.md, "Sharing (owners)": an owner mints, lists and revokes links; a link opens
the document with its role; a revoked link's session closes (4410); everyone else, and a
server in open mode, is refused with the server's own sentence as a typed error.
"""

from __future__ import annotations

import time

import pytest

from editor_app.core.api_client import LinkEntry, list_links, mint_link, revoke_link
from editor_app.core.errors import NotCoscribeV2, ServerRefused
from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from sync_server.config import ServerConfig
from tests.server.access_links import SECRET, secured
from tests.support.client import synced_client
from tests.support.waiting import wait_until

WEEK = 7 * 86400


def link(srv: RelayServer, role: Role, doc: str = "deck") -> str:
    return f"{srv.url}/{doc}?token={mint_token(SECRET, doc, role)}"


@pytest.mark.asyncio
async def test_an_owner_mints_lists_and_revokes_links() -> None:
    async with RelayServer(secured()) as srv:
        owner = link(srv, Role.OWNER)
        before = time.time()
        commenter = await mint_link(owner, Role.COMMENTER, WEEK)
        viewer = await mint_link(owner, Role.VIEWER, None)
        assert commenter.role is Role.COMMENTER and not commenter.revoked
        assert commenter.created_at >= before - 1
        assert commenter.expires_at == pytest.approx(commenter.created_at + WEEK, abs=1)
        assert viewer.expires_at is None
        assert await list_links(owner) == [viewer, commenter]  # newest first

        url = commenter.url(owner)
        assert url.startswith(f"{srv.url}/deck?token=")
        assert "token=" + commenter.token in url and url.count("token=") == 1
        async with synced_client(url) as guest:
            assert guest.session is not None and guest.session.server_role is Role.COMMENTER
            await revoke_link(owner, commenter.id)
            await wait_until(lambda: guest.closed, "the revoked link's session closed", within=1)
            assert guest.close_code == CloseCode.TOKEN_REVOKED

        listed = {entry.id: entry for entry in await list_links(owner)}
        assert listed[commenter.id].revoked and not listed[viewer.id].revoked
        with pytest.raises(ServerRefused) as missing:
            await revoke_link(owner, "no-such-link")
        assert missing.value.status == 404 and "no link" in str(missing.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.COMMENTER])
async def test_only_owners_manage_links_and_the_refusal_is_the_servers_sentence(
    role: Role,
) -> None:
    async with RelayServer(secured()) as srv:
        other = link(srv, role)
        for request in (
            list_links(other),
            mint_link(other, Role.EDITOR),
            revoke_link(other, "x"),
        ):
            with pytest.raises(ServerRefused) as refused:
                await request
            assert refused.value.status == 403 and refused.value.why == "forbidden"
            assert str(refused.value) == "only the document's owners manage its links"


@pytest.mark.asyncio
async def test_bad_requests_and_open_mode_are_said_in_words() -> None:
    async with RelayServer(secured()) as srv:
        with pytest.raises(ServerRefused) as too_short:
            await mint_link(link(srv, Role.OWNER), Role.VIEWER, 5)
        assert too_short.value.status == 400 and "expires_in" in str(too_short.value)
    async with RelayServer(ServerConfig(host="127.0.0.1", port=0)) as open_server:
        with pytest.raises(ServerRefused) as open_mode:
            await list_links(f"{open_server.url}/deck")
        assert open_mode.value.status == 409 and "open mode" in str(open_mode.value)


def test_a_link_the_editor_cannot_read_is_a_typed_error() -> None:
    with pytest.raises(NotCoscribeV2):
        LinkEntry.from_json({"id": "a", "role": "viewer"})
    entry = LinkEntry.from_json(
        {"id": "a", "role": "admin", "created_at": 1, "expires_at": None, "token": "t.k"}
    )
    assert entry.role is Role.VIEWER  # an unknown (newer) role is taken as the least
    assert entry.url("ws://h:1/doc?token=mine") == "ws://h:1/doc?token=t.k"
