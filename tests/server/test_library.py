"""The document library and the trash (docs/api.md "Documents"), on a real relay.

* The listing shows each document's title, last change, last editor, size and the people
  in it now; search matches titles (Hangul too) and names; a link sees only what it
  grants.
* Moving a document to the trash closes its peers (4404) and refuses it until it is
  restored; restoring brings it back with its content and history.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Map

from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from sync_server.config import ServerConfig
from sync_server.library import TRASH_POLL
from sync_server.memory_store import MemoryDatabase, MemoryStore
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient, synced_client
from tests.support.http_api import call, http_url
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.asyncio


async def listing(srv: RelayServer, query: str = "", token: str | None = None) -> list[Any]:
    status, body, _ = await call(http_url(srv, f"/api/v1/documents{query}"), token=token)
    assert status == 200, body
    return list(json.loads(body)["documents"])


async def titled(client: TestClient, title: str) -> None:
    client.doc.get("meta", type=Map)["title"] = title
    await client.flush()


async def test_the_listing_shows_titles_changes_and_people() -> None:
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as srv:
        async with (
            synced_client(srv.url + "/plan-a", user={"name": "Ann"}) as ann,
            synced_client(srv.url + "/plan-b", user={"name": "Bo"}) as bo,
        ):
            await ann.append("alpha")
            await titled(ann, "여행 계획 — Trip")
            await bo.append("beta beta")
            await titled(bo, "Budget")

            async def both_noted() -> bool:
                docs = {d["name"]: d for d in await listing(srv)}
                return {d.get("title") for d in docs.values()} == {"여행 계획 — Trip", "Budget"}

            await wait_until_async(both_noted, "both titles in the listing")
            docs = {d["name"]: d for d in await listing(srv)}
            assert docs["plan-a"]["last_editor"] == "Ann" and docs["plan-b"]["people"] == 1
            assert docs["plan-b"]["size"] > 0 and docs["plan-a"]["trashed_at"] is None
            assert [d["name"] for d in await listing(srv, "?q=%EC%97%AC%ED%96%89")] == ["plan-a"]
            assert [d["name"] for d in await listing(srv, "?q=PLAN-B")] == ["plan-b"]
            assert await listing(srv, "?q=%25") == []  # a literal %, not a wildcard


async def test_people_typing_in_turns_leave_the_last_of_them_as_last_editor() -> None:
    """Editors in turns are noted at most every few seconds while they type (not on each
    commit), and the one who typed last is the last editor once they have left."""
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as srv:
        async with (
            synced_client(srv.url + "/turns", user={"name": "Ann"}) as ann,
            synced_client(srv.url + "/turns", user={"name": "Bo"}) as bo,
        ):
            for i in range(10):
                await ann.append(f"a{i}")
                await wait_until(lambda: ann.saved, "Ann's edit stored")
                await bo.append(f"b{i}")
                await wait_until(lambda: bo.saved, "Bo's edit stored")
            await wait_until_async(
                lambda: _has_entry(srv, "turns"), "the document is in the listing"
            )

        async def bo_noted() -> bool:
            docs = {d["name"]: d for d in await listing(srv)}
            return docs["turns"]["last_editor"] == "Bo" and docs["turns"]["people"] == 0

        await wait_until_async(bo_noted, "Bo, who typed last, noted as the last editor")


async def _has_entry(srv: RelayServer, name: str) -> bool:
    return name in {d["name"] for d in await listing(srv)}


async def test_a_link_lists_only_what_it_grants() -> None:
    async with RelayServer(secured()) as srv:
        for name in ("team-x", "team-y", "private"):
            url = f"{srv.url}/{name}?token={mint_token(SECRET, name, Role.EDITOR)}"
            async with synced_client(url) as c:
                await c.append(name)
                await wait_until(lambda c=c: c.saved, "stored")
        team = mint_token(SECRET, "team-*", Role.VIEWER)
        assert sorted(d["name"] for d in await listing(srv, token=team)) == ["team-x", "team-y"]
        one = mint_token(SECRET, "private", Role.VIEWER)
        assert [d["name"] for d in await listing(srv, token=one)] == ["private"]
        status, body, _ = await call(http_url(srv, "/api/v1/documents"))
        assert (status, json.loads(body)["error"]) == (401, "unauthorized")
        status, body, _ = await call(http_url(srv, "/api/v1/documents?trash=1"), token=team)
        assert (status, json.loads(body)["error"]) == (403, "forbidden")
        status, _, _ = await call(http_url(srv, "/api/v1/documents/team-x"), "DELETE", token=team)
        assert status == 403


async def test_the_trash_closes_refuses_and_restores() -> None:
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as srv:
        async with synced_client(srv.url + "/old", user={"name": "Ann"}) as ann:
            await ann.append("keep me 🎉")
            await wait_until(lambda: ann.saved, "stored")
            status, body, _ = await call(http_url(srv, "/api/v1/documents/old"), "DELETE")
            assert status == 200 and json.loads(body)["trashed_at"] is not None
            await wait_until(lambda: ann.closed, "the open editor closed")
            assert ann.close_code == CloseCode.DOCUMENT_DELETED
        async with TestClient(srv.url + "/old") as again:
            await wait_until(lambda: again.closed, "a new peer refused")
            assert again.close_code == CloseCode.DOCUMENT_DELETED
        assert await listing(srv) == []
        assert [d["name"] for d in await listing(srv, "?trash=1")] == ["old"]
        status, body, _ = await call(http_url(srv, "/api/v1/documents/old/restore"), "POST")
        assert status == 200 and json.loads(body)["trashed_at"] is None
        async with TestClient(srv.url + "/old") as back:
            await back.wait_text("keep me 🎉")
        status, body, _ = await call(http_url(srv, "/api/v1/documents/nope"), "DELETE")
        assert (status, json.loads(body)["error"]) == (404, "not_found")


async def test_renaming_is_an_edit_everyone_sees() -> None:
    async with RelayServer(secured()) as srv:
        editor = mint_token(SECRET, "report", Role.EDITOR)
        viewer = mint_token(SECRET, "report", Role.VIEWER)
        async with synced_client(f"{srv.url}/report?token={editor}") as ed:
            await ed.append("body")
            await wait_until(lambda: ed.saved, "stored")
            url = http_url(srv, "/api/v1/documents/report")
            body = json.dumps({"title": "  보고서 — Q3 "}).encode()
            status, raw, _ = await call(url, "PATCH", body, editor)
            assert status == 200 and json.loads(raw)["title"] == "보고서 — Q3", raw
            meta = ed.doc.get("meta", type=Map)
            await wait_until(lambda: meta.get("title") == "보고서 — Q3", "the editor sees it")
            for token, payload, expected in [
                (viewer, {"title": "x"}, (403, "forbidden")),
                (editor, {"title": 5}, (400, "bad_request")),
                (editor, {"title": "a\nb"}, (400, "bad_request")),
                (editor, {"name": "x"}, (400, "bad_request")),
            ]:
                status, raw, _ = await call(url, "PATCH", json.dumps(payload).encode(), token)
                assert (status, json.loads(raw)["error"]) == expected, (payload, raw)
        assert [d["title"] for d in await listing(srv, token=editor)] == ["보고서 — Q3"]
        async with synced_client(f"{srv.url}/report?token={viewer}") as late:
            assert late.doc.get("meta", type=Map).get("title") == "보고서 — Q3"
        missing = http_url(srv, "/api/v1/documents/nothing-here")
        token = mint_token(SECRET, "nothing-here", Role.EDITOR)
        status, raw, _ = await call(missing, "PATCH", b'{"title": "x"}', token)
        assert (status, json.loads(raw)["error"]) == (404, "not_found")


async def test_duplicating_makes_an_independent_copy() -> None:
    async with RelayServer(secured()) as srv:
        team = mint_token(SECRET, "team-*", Role.EDITOR)
        async with synced_client(f"{srv.url}/team-plan?token={team}") as ed:
            await ed.append("원본 text 🎉")
            await titled(ed, "Plan")
            await wait_until(lambda: ed.saved, "stored")
        url = http_url(srv, "/api/v1/documents/team-plan/duplicate")
        status, raw, _ = await call(url, "POST", b'{"name": "team-plan-2"}', team)
        assert status == 201, raw
        assert json.loads(raw)["title"] == "Copy of Plan"
        async with synced_client(f"{srv.url}/team-plan-2?token={team}") as copy:
            assert str(copy.text) == "원본 text 🎉"
            assert copy.doc.get("meta", type=Map).get("title") == "Copy of Plan"
            await copy.append(" changed")
            await wait_until(lambda: copy.saved, "the copy changed")
        async with synced_client(f"{srv.url}/team-plan?token={team}") as original:
            assert str(original.text) == "원본 text 🎉"  # not linked
        viewer = mint_token(SECRET, "team-*", Role.VIEWER)
        for token, body, expected in [
            (team, b'{"name": "team-plan-2"}', (409, "conflict")),
            (team, b'{"name": "elsewhere"}', (403, "forbidden")),
            (team, b'{"name": "a/b"}', (400, "bad_request")),
            (team, b'{"nom": "x"}', (400, "bad_request")),
            (viewer, b'{"name": "team-plan-3"}', (403, "forbidden")),
        ]:
            status, raw, _ = await call(url, "POST", body, token)
            assert (status, json.loads(raw)["error"]) == expected, (body, raw)


async def test_every_node_closes_its_peers_of_a_trashed_document() -> None:
    """Two relays sharing one store (as cluster nodes share PostgreSQL): moving a document
    to the trash through one closes its peers on the other within TRASH_POLL."""
    shared = MemoryDatabase()
    async with (
        RelayServer(ServerConfig(port=0), store=MemoryStore(shared)) as one,
        RelayServer(ServerConfig(port=0), store=MemoryStore(shared)) as two,
        synced_client(two.url + "/shared-doc") as peer,
    ):
        await peer.append("on node two")
        await wait_until(lambda: peer.saved, "stored")
        status, _, _ = await call(http_url(one, "/api/v1/documents/shared-doc"), "DELETE")
        assert status == 200
        await wait_until(lambda: peer.closed, "closed on node two", within=TRASH_POLL + 1)
        assert peer.close_code == CloseCode.DOCUMENT_DELETED
