"""The editor's document-library requests (editor_app/core/library_client.py) against a
real relay on port 0.

docs/api.md, "Documents (the library)": the listing carries titles (Hangul too), last
changes, last editors and the people in a document now; search; renaming (an edit every
open peer sees) and making a copy; the trash and restoring from it; a link lists only
what it grants; refusals and an unreachable server are typed
errors with the server's own sentence.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator

import pytest
from pycrdt import Map

from editor_app.core.errors import LinkError, ServerRefused, Unreachable
from editor_app.core.library_client import (
    DocumentEntry,
    LibraryClient,
    changed_ago,
    document_link,
    library_call,
    list_documents,
    parse_server,
)
from shared.access import Role
from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient, synced_client
from tests.support.waiting import wait_until, wait_until_async

HANGUL = "여행 계획 — Trip"


async def titled(client: TestClient, title: str) -> None:
    client.doc.get("meta", type=Map)["title"] = title
    await client.flush()


async def stored(url: str, text: str) -> None:
    """Write ``text`` into the document at ``url``; return once the server has stored it."""
    async with synced_client(url) as peer:
        await peer.append(text)
        await wait_until(lambda: peer.saved, f"{url} stored")


async def titles_noted(url: str, expected: set[str], token: str | None = None) -> None:
    async def noted() -> bool:
        return {d.title for d in await list_documents(url, token)} >= expected

    await wait_until_async(noted, f"the titles {expected} in the listing")


@pytest.mark.asyncio
async def test_lists_titles_editors_people_and_searches(memory_server: RelayServer) -> None:
    srv = memory_server
    async with (
        synced_client(srv.url + "/plan-a", user={"name": "Ann"}) as ann,
        synced_client(srv.url + "/plan-b", user={"name": "Bo"}) as bo,
    ):
        before = time.time()
        await ann.append("alpha")
        await titled(ann, HANGUL)
        await bo.append("beta")
        await titled(bo, "Budget")
        await titles_noted(srv.url, {HANGUL, "Budget"})

        docs = {d.name: d for d in await list_documents(srv.url)}
        assert set(docs) == {"plan-a", "plan-b"}
        a = docs["plan-a"]
        assert a.title == HANGUL and a.display_title == HANGUL and a.last_editor == "Ann"
        assert a.people == 1 and a.size > 0 and a.trashed_at is None
        assert a.updated_at >= before - 1 and a.created_at <= a.updated_at
        assert [d.name for d in await list_documents(srv.url, query="여행")] == ["plan-a"]
        assert [d.name for d in await list_documents(srv.url, query=" PLAN-B ")] == ["plan-b"]
        assert await list_documents(srv.url, query="%") == []
        assert await library_call(srv.url, None, lambda lib: lib.entry("plan-b")) == docs["plan-b"]


@contextlib.asynccontextmanager
async def notes(srv: RelayServer, text: str) -> AsyncIterator[TestClient]:
    """A peer on the document "notes" of ``srv``, titled "Notes", holding ``text``, stored."""
    async with synced_client(srv.url + "/notes") as peer:
        await peer.append(text)
        await titled(peer, "Notes")
        await wait_until(lambda: peer.saved, "stored")
        yield peer


@pytest.mark.asyncio
async def test_rename_reaches_open_peers_and_a_copy_holds_the_text(server: RelayServer) -> None:
    srv = server
    async with notes(srv, "kept 여행") as peer:
        meta = peer.doc.get("meta", type=Map)

        renamed = await library_call(
            srv.url, None, lambda lib: lib.rename("notes", f"  {HANGUL}  ")
        )
        assert renamed.name == "notes" and renamed.title == HANGUL  # blanks trimmed
        await wait_until(lambda: meta.get("title") == HANGUL, "the new title in the peer's meta")

        copy = await library_call(srv.url, None, lambda lib: lib.duplicate("notes", "notes-2"))
        assert copy.name == "notes-2" and copy.title == f"Copy of {HANGUL}"
        async with synced_client(srv.url + "/notes-2") as reader:
            assert str(reader.text) == "kept 여행"
            assert reader.doc.get("meta", type=Map).get("title") == f"Copy of {HANGUL}"
            await reader.append(" (copy)")  # the two are not linked
            await wait_until(lambda: reader.saved, "the copy's edit stored")
        assert str(peer.text) == "kept 여행"

        with pytest.raises(ServerRefused) as taken:
            await library_call(srv.url, None, lambda lib: lib.duplicate("notes", "notes-2"))
        assert taken.value.status == 409 and "notes-2" in str(taken.value)
        assert "exists" in str(taken.value)
        async with LibraryClient(srv.url) as library:
            await library.trash("notes")
            with pytest.raises(ServerRefused) as trashed:
                await library.rename("notes", "Again")
            assert trashed.value.status == 409 and "trash" in str(trashed.value)


@pytest.mark.asyncio
async def test_trash_and_restore(server: RelayServer) -> None:
    srv = server
    async with notes(srv, "kept") as peer:
        trashed = await library_call(srv.url, None, lambda lib: lib.trash("notes"))
        assert trashed.name == "notes" and trashed.trashed_at is not None
        await wait_until(lambda: peer.closed, "the trashed document's peer closed")
        assert peer.close_code == CloseCode.DOCUMENT_DELETED

    async with LibraryClient(srv.url) as library:
        assert await library.documents() == []
        in_trash = await library.documents(trash=True)
        assert [d.name for d in in_trash] == ["notes"]
        restored = await library.restore("notes")
        assert restored.trashed_at is None
        assert [d.name for d in await library.documents()] == ["notes"]
        assert await library.documents(trash=True) == []
        with pytest.raises(ServerRefused) as missing:
            await library.trash("no-such-doc")
        assert missing.value.status == 404 and "does not exist" in str(missing.value)

    async with synced_client(srv.url + "/notes") as back:
        assert str(back.text) == "kept"
    assert (
        await library_call(srv.url, None, lambda lib: lib.restore("notes"))
    ).trashed_at is None  # idempotent


@pytest.mark.asyncio
async def test_tokens_scope_the_listing_and_refusals_carry_the_servers_sentence() -> None:
    async with RelayServer(secured()) as srv:
        anyone = mint_token(SECRET, "*", Role.EDITOR)
        for name in ("team-x", "team-y", "private"):
            await stored(f"{srv.url}/{name}?token={anyone}", "text")
        team = mint_token(SECRET, "team-*", Role.VIEWER)
        assert sorted(d.name for d in await list_documents(srv.url, team)) == ["team-x", "team-y"]
        # A token in the server address is used too (as a share link carries it).
        assert len(await list_documents(f"{srv.url}?token={team}")) == 2

        with pytest.raises(ServerRefused) as anonymous:
            await list_documents(srv.url)
        assert anonymous.value.status == 401 and str(anonymous.value)
        with pytest.raises(ServerRefused) as viewer:
            await list_documents(srv.url, team, trash=True)
        assert viewer.value.status == 403 and "trash" in str(viewer.value)
        with pytest.raises(ServerRefused) as delete:
            await library_call(srv.url, team, lambda lib: lib.trash("team-x"))
        assert delete.value.status == 403 and "may not" in str(delete.value)
        with pytest.raises(ServerRefused) as rename:
            await library_call(srv.url, team, lambda lib: lib.rename("team-x", "Mine"))
        assert rename.value.status == 403 and "may not rename" in str(rename.value)
        team_editor = mint_token(SECRET, "team-*", Role.EDITOR)
        with pytest.raises(ServerRefused) as outside:
            await library_call(
                srv.url, team_editor, lambda lib: lib.duplicate("team-x", "private-2")
            )
        assert outside.value.status == 403 and "private-2" in str(outside.value)
        copy = await library_call(
            srv.url, team_editor, lambda lib: lib.duplicate("team-x", "team-z")
        )
        assert copy.name == "team-z"


@pytest.mark.asyncio
async def test_an_unreachable_server_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens on it once closed
    with pytest.raises(Unreachable):
        await list_documents(f"ws://127.0.0.1:{port}", timeout=2)


def test_server_addresses_as_people_type_them() -> None:
    assert parse_server("ws://127.0.0.1:1234") == ("ws://127.0.0.1:1234", None)
    assert parse_server(" 127.0.0.1:1234/ ") == ("ws://127.0.0.1:1234", None)
    assert parse_server("https://docs.example.org") == ("wss://docs.example.org", None)
    assert parse_server("ws://h:1/some-doc?token=abc") == ("ws://h:1", "abc")
    assert parse_server("coscribe://localhost:9/x") == ("ws://localhost:9", None)
    for bad in ("", "ftp://h", "ws://", "http://h:notaport"):
        with pytest.raises(LinkError):
            parse_server(bad)
    assert document_link("ws://h:1", "doc") == "ws://h:1/doc"
    assert document_link("ws://h:1", "doc", "t k") == "ws://h:1/doc?token=t+k"


def test_changed_ago_reads_like_a_file_list() -> None:
    now = time.mktime((2026, 3, 10, 15, 30, 0, 0, 0, -1))
    assert changed_ago(now - 20, now) == "Just now"
    assert changed_ago(now + 30, now) == "Just now"
    assert changed_ago(now - 5 * 60, now) == "5 min ago"
    assert changed_ago(now - 2 * 3600, now) == "13:30"
    yesterday = time.mktime((2026, 3, 9, 14, 2, 0, 0, 0, -1))
    assert changed_ago(yesterday, now) == "Yesterday 14:02"
    assert changed_ago(time.mktime((2026, 1, 3, 9, 0, 0, 0, 0, -1)), now) == "3 Jan"
    assert changed_ago(time.mktime((2025, 12, 3, 9, 0, 0, 0, 0, -1)), now) == "3 Dec 2025"


def test_entries_read_from_the_api_and_refuse_other_shapes() -> None:
    entry = DocumentEntry.from_json(
        {"name": "n", "title": "", "created_at": 1, "updated_at": None, "size": 3}
    )
    assert entry.display_title == "n" and entry.updated_at == 1.0 and entry.people == 0
    with pytest.raises(Exception, match="cannot read"):
        DocumentEntry.from_json({"title": "no name"})
