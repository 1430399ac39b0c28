"""The commenter and owner roles (docs/security.md, "Roles").

* A commenter's updates reach everyone when they touch only the comment threads; an
  update that touches the text is refused (1007), applied nowhere and stored nowhere,
  and the other peers go on.
* HELLO announces each role; a commenter's comments are acknowledged (it has something
  to save), an owner edits like an editor.
"""

from __future__ import annotations

import json
import time

import pytest
from pycrdt import Map

from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from sync_server.config import ServerConfig
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient, synced_client
from tests.support.http_api import call, http_url
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


def link(srv: RelayServer, doc: str, role: Role) -> str:
    return f"{srv.url}/{doc}?token={mint_token(SECRET, doc, role)}"


def comments_of(client: TestClient) -> Map:
    return client.doc.get("comments", type=Map)


async def test_a_commenter_may_comment_but_not_edit_the_text() -> None:
    async with RelayServer(secured()) as srv:
        async with (
            synced_client(link(srv, "memo", Role.EDITOR)) as ann,
            synced_client(link(srv, "memo", Role.COMMENTER)) as cal,
        ):
            await ann.append("The plan")
            await cal.wait_text("The plan")
            assert cal.session is not None and cal.session.server_role is Role.COMMENTER
            thread = Map({"quote": "plan", "resolved": False})
            comments_of(cal)["t1"] = thread
            await cal.flush()
            await wait_until(lambda: "t1" in comments_of(ann), "the comment reached the editor")
            await wait_until(lambda: cal.saved, "the comment acknowledged (stored)")
            # The same commenter now types into the text: refused, nothing applied.
            await cal.append(" (cancelled)")
            await wait_until(lambda: cal.closed, "the commenter's connection closed")
            assert cal.close_code == CloseCode.INVALID_PAYLOAD
            await ann.append(" works")
            assert not ann.closed
        async with synced_client(link(srv, "memo", Role.VIEWER)) as late:
            await late.wait_text("The plan works")
            assert "t1" in comments_of(late)
            assert late.session is not None and late.session.server_role is Role.VIEWER


async def test_an_owner_edits_like_an_editor() -> None:
    async with RelayServer(secured()) as srv:
        async with synced_client(link(srv, "own", Role.OWNER)) as olga:
            assert olga.session is not None and olga.session.server_role is Role.OWNER
            await olga.append("mine")
            await wait_until(lambda: olga.saved, "the owner's edit acknowledged")
        async with synced_client(link(srv, "own", Role.VIEWER)) as v:
            await v.wait_text("mine")


async def test_an_owner_shares_lists_and_revokes_links_through_the_api() -> None:
    async with RelayServer(secured()) as srv:
        owner = mint_token(SECRET, "deck", Role.OWNER)
        editor = mint_token(SECRET, "deck", Role.EDITOR)
        links = http_url(srv, "/api/v1/documents/deck/links")
        status, body, _ = await call(
            links, "POST", json.dumps({"role": "commenter", "expires_in": 3600}).encode(), owner
        )
        assert status == 201, body
        minted = json.loads(body)
        assert minted["role"] == "commenter" and minted["revoked_at"] is None
        assert minted["expires_at"] - minted["created_at"] == pytest.approx(3600, abs=1)
        async with synced_client(f"{srv.url}/deck?token={minted['token']}") as guest:
            assert guest.session is not None and guest.session.server_role is Role.COMMENTER
            status, body, _ = await call(links, token=owner)
            assert status == 200
            assert [k["id"] for k in json.loads(body)["links"]] == [minted["id"]]
            started = time.monotonic()
            status, body, _ = await call(f"{links}/{minted['id']}", "DELETE", token=owner)
            assert (status, json.loads(body)) == (200, {"revoked": minted["id"]})
            await wait_until(lambda: guest.closed, "the revoked link's session closed", within=1)
            assert time.monotonic() - started < 1
            assert guest.close_code == CloseCode.TOKEN_REVOKED
        status, body, _ = await call(links, token=owner)
        assert json.loads(body)["links"][0]["revoked_at"] is not None
        # Only owners manage links; requests that make no sense say why.
        for token, method, path, payload, expected in [
            (editor, "GET", "", None, (403, "forbidden")),
            (editor, "POST", "", {"role": "viewer"}, (403, "forbidden")),
            (owner, "POST", "", {"role": "god"}, (400, "bad_request")),
            (owner, "POST", "", {"role": "viewer", "expires_in": 5}, (400, "bad_request")),
            (owner, "POST", "", {"role": "viewer", "expires_in": "1d"}, (400, "bad_request")),
            (owner, "DELETE", "/nope", None, (404, "not_found")),
            (owner, "PUT", "", None, (405, "method_not_allowed")),
        ]:
            data = None if payload is None else json.dumps(payload).encode()
            status, body, _ = await call(links + path, method, data, token)
            assert (status, json.loads(body)["error"]) == expected, (method, path, body)


async def test_open_mode_has_no_links_to_share() -> None:
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as srv:
        status, body, _ = await call(http_url(srv, "/api/v1/documents/x/links"), "GET", None, None)
        assert (status, json.loads(body)["error"]) == (409, "conflict")
        assert "open mode" in json.loads(body)["message"]
