"""Version history with a stock Yjs client in the room (issue 14).

Restoring a version is an ordinary edit (docs/api.md): a stock y-websocket client that is
connected while someone restores merges it like typing, ends with the version's text, and
keeps editing with everyone; its own edits are in the next version like anyone's.
"""

from __future__ import annotations

import json
from typing import Any

import pycrdt
import pytest

from editor_app.core.restore import document_from_update, restore
from tests.interop.conftest import Peers, Relay, SpawnNode
from tests.support.client import py_client
from tests.support.http_api import call
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


def api(url: str, path: str) -> str:
    return url.replace("ws://", "http://", 1) + path


async def named_version(url: str, room: str, label: str) -> int:
    """Name the current version of ``room`` ``label`` over the API; its id."""
    request = json.dumps({"label": label}).encode()
    status, body, _ = await call(api(url, f"/api/v1/documents/{room}/versions"), "POST", request)
    assert status == 201, body
    version_id: int = json.loads(body)["id"]
    return version_id


async def test_a_stock_client_merges_a_restore_and_edits_on(
    coscribe_peers: Peers, room: str
) -> None:
    url, py, js = coscribe_peers.url, coscribe_peers.py, coscribe_peers.js
    await py.append("첫 판 🎉 first")
    await js.wait_text("첫 판 🎉 first")
    await wait_until(lambda: py.saved, "the first text stored")
    version_id = await named_version(url, room, "first")
    await js.insert(0, "JS wrote this. ")
    await py.wait_text("JS wrote this. 첫 판 🎉 first")
    status, update, _ = await call(api(url, f"/api/v1/documents/{room}/versions/{version_id}"))
    assert status == 200
    restore(py.doc, document_from_update(update), origin="restore")
    await py.flush()
    await js.wait_text("첫 판 🎉 first")
    await js.insert(0, "Again: ")
    await py.wait_text("Again: 첫 판 🎉 first")
    await wait_until(lambda: py.saved, "the restore stored")
    async with py_client(url, room) as late:  # what the server holds is what both saw
        await late.wait_text("Again: 첫 판 🎉 first")


async def test_versions_hold_a_stock_clients_edits(
    coscribe: Relay, room: str, node_clients: SpawnNode
) -> None:
    async with coscribe.serve() as url:
        js = await node_clients(url, room)
        await js.insert(0, "only JS typed here")
        async with py_client(url, room, coscribe_v1=True) as py:
            await py.wait_text("only JS typed here")
        vid = await named_version(url, room, "js")
        status, update, _ = await call(api(url, f"/api/v1/documents/{room}/versions/{vid}"))
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        doc.apply_update(update)
        assert str(doc.get("content", type=pycrdt.Text)) == "only JS typed here"
