"""The HTTP API's version history (docs/api.md), against a real relay on port 0.

* Naming a version stores what is durable; reading it back gives that text exactly
  (Hangul, emoji, combining marks), also after more edits and a restart.
* Automatic versions: one after a stretch of editing, one when the last editor leaves,
  each with the names of the people whose edits it holds.
* Access: a viewer reads history but may not name versions; no token, a token for another
  document, a revoked token are refused; bad input gets a JSON 4xx and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token, token_id_of
from sync_server.config import ServerConfig
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient, synced_client
from tests.support.http_api import call, http_url
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.asyncio

TEXT = "한국어 e\u0301 🎉 "


async def name_version(srv: RelayServer, doc: str, label: str, token: str | None = None) -> int:
    status, body, headers = await call(
        http_url(srv, f"/api/v1/documents/{doc}/versions"),
        "POST",
        json.dumps({"label": label}).encode(),
        token,
    )
    assert status == 201, body
    assert headers["Content-Type"] == "application/json"
    created = json.loads(body)
    assert created["label"] == label.strip() and created["automatic"] is False
    return int(created["id"])


async def versions(srv: RelayServer, doc: str, token: str | None = None) -> list[dict[str, Any]]:
    status, body, _ = await call(http_url(srv, f"/api/v1/documents/{doc}/versions"), token=token)
    assert status == 200, body
    listed = json.loads(body)
    assert listed["document"] == doc
    return list(listed["versions"])


async def version_text(srv: RelayServer, doc: str, vid: int, token: str | None = None) -> str:
    status, body, headers = await call(
        http_url(srv, f"/api/v1/documents/{doc}/versions/{vid}"), token=token
    )
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    ydoc: pycrdt.Doc[Any] = pycrdt.Doc()
    ydoc.apply_update(body)
    return str(ydoc.get("content", type=pycrdt.Text))


async def test_a_named_version_holds_the_text_of_its_time(tmp_path: Path) -> None:
    config = ServerConfig(port=0, data_dir=tmp_path)
    async with RelayServer(config) as srv:
        async with synced_client(srv.url + "/notes", user={"name": "Ann"}) as ann:
            await ann.append(TEXT)
            await wait_until(lambda: ann.saved, "the edit acknowledged")
            first = await name_version(srv, "notes", "  First draft — 초안 ")
            await ann.append("later")
            await wait_until(lambda: ann.saved, "the second edit acknowledged")
            assert await version_text(srv, "notes", first) == TEXT
            second = await name_version(srv, "notes", "Second")
    async with RelayServer(config) as srv:  # restarted: history is durable
        listed = await versions(srv, "notes")
        assert [v["id"] for v in listed] == [second, first]
        assert listed[1]["label"] == "First draft — 초안"
        assert await version_text(srv, "notes", second) == TEXT + "later"


async def test_automatic_versions_while_editing_and_when_everyone_left(tmp_path: Path) -> None:
    config = ServerConfig(port=0, data_dir=tmp_path, version_every=0.3, room_idle_seconds=0.2)
    async with RelayServer(config) as srv:
        async with synced_client(srv.url + "/auto", user={"name": "Bo"}) as bo:
            typed = 0

            async def has_version() -> bool:
                nonlocal typed
                typed += 1
                await bo.append("x")  # keep editing until the stretch is over
                return bool(await versions(srv, "auto"))

            await wait_until_async(has_version, "an automatic version while editing")
            await bo.append("tail")
            await wait_until(lambda: bo.saved, "every edit acknowledged")
        # Bo left: the room unloads and the last edits get their version.
        await wait_until_listed(srv, "auto", lambda vs: "tail" in vs, "a version on leaving")
        listed = await versions(srv, "auto")
        assert all(v["automatic"] and v["authors"] == ["Bo"] for v in listed)
        assert await version_text(srv, "auto", listed[0]["id"]) == "x" * typed + "tail"


async def wait_until_listed(srv: RelayServer, doc: str, pred: Any, what: str) -> None:
    async def check() -> bool:
        listed = await versions(srv, doc)
        return bool(listed) and pred(await version_text(srv, doc, listed[0]["id"]))

    await wait_until_async(check, what)


async def test_roles_decide_who_may_read_and_name_versions() -> None:
    async with RelayServer(secured()) as srv:
        editor = mint_token(SECRET, "plans", Role.EDITOR)
        viewer = mint_token(SECRET, "plans", Role.VIEWER)
        other = mint_token(SECRET, "other", Role.EDITOR)
        async with synced_client(f"{srv.url}/plans?token={editor}") as c:
            await c.append("secret plans")
            await wait_until(lambda: c.saved, "acknowledged")
        vid = await name_version(srv, "plans", "v1", editor)
        assert [v["id"] for v in await versions(srv, "plans", viewer)] == [vid]
        assert await version_text(srv, "plans", vid, viewer) == "secret plans"
        url = http_url(srv, "/api/v1/documents/plans/versions")
        label = json.dumps({"label": "x"}).encode()
        for token, method, body, status, code in [
            (viewer, "POST", label, 403, "forbidden"),
            (None, "GET", None, 401, "unauthorized"),
            (other, "GET", None, 403, "forbidden"),
            ("not-a-token", "GET", None, 401, "unauthorized"),
        ]:
            got, raw, _ = await call(url, method, body, token)
            assert (got, json.loads(raw)["error"]) == (status, code), raw
        # A query token works as for WebSocket; a revoked one stops working at once.
        got, _, _ = await call(url + f"?token={viewer}")
        assert got == 200
        viewer_id = token_id_of(viewer)
        assert viewer_id is not None
        await srv.revoke_token(viewer_id)
        got, raw, _ = await call(url, token=viewer)
        assert got == 403 and "revoked" in json.loads(raw)["message"]
        assert len(await versions(srv, "plans", editor)) == 1  # nothing was added


async def test_bad_requests_get_a_clear_json_error_and_change_nothing() -> None:
    async with RelayServer(ServerConfig(port=0, data_dir=None)) as srv:
        async with synced_client(srv.url + "/doc") as c:
            await c.append("text")
            await wait_until(lambda: c.saved, "acknowledged")
        base = "/api/v1/documents/doc/versions"
        cases: list[tuple[str, str, bytes | None, int, str]] = [
            (base, "POST", b"{not json", 400, "bad_request"),
            (base, "POST", json.dumps({"label": "   "}).encode(), 400, "bad_request"),
            (base, "POST", json.dumps({"label": "a\x07b"}).encode(), 400, "bad_request"),
            (base, "POST", json.dumps({"title": "x"}).encode(), 400, "bad_request"),
            (base, "POST", json.dumps({"label": "x" * 201}).encode(), 400, "bad_request"),
            (base, "POST", b"x" * (64 * 1024 + 1), 413, "too_large"),
            (base, "DELETE", None, 405, "method_not_allowed"),
            (base + "/abc", "GET", None, 400, "bad_request"),
            (base + "/99999", "GET", None, 404, "not_found"),
            (base + "/1/more", "GET", None, 404, "not_found"),
            ("/api/v1/elsewhere", "GET", None, 404, "not_found"),
            ("/api/v1/documents/a%2Fb/versions", "GET", None, 400, "bad_request"),
            ("/api/v1/documents/%ff/versions", "GET", None, 400, "bad_request"),
            ("/api/v1/documents/missing/versions", "POST", b'{"label": "x"}', 404, "not_found"),
        ]
        for path, method, body, status, code in cases:
            got, raw, headers = await call(http_url(srv, path), method, body)
            answer = json.loads(raw)
            assert (got, answer["error"]) == (status, code), (path, method, raw)
            assert answer["message"]
            if status == 405:
                assert headers["Allow"] == "GET, POST"
        assert await versions(srv, "doc") == []
        assert await versions(srv, "missing") == []
        # The relay still works for WebSocket clients after all of that.
        async with TestClient(srv.url + "/doc") as again:
            await again.wait_text("text")
