"""Concurrent edits from two stock Yjs clients and a Python client converge.

Each client edits at positions chosen from its own (possibly stale) view of the text, in
its own index unit, while the others do the same; one Node client also edits offline and
merges on reconnect. In the end all three must hold the same string, and nothing typed may
be lost or duplicated.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from tests.support.client import TestClient, py_client, utf16_len
from tests.support.waiting import wait_until_async

from .conftest import SpawnNode
from .node_client import NodeClient
from .servers import Relay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

EDITS_PER_CLIENT = 25
DELETIONS = 10


def tokens(tag: str, alphabet: str) -> list[str]:
    return [f"{tag}{i}{alphabet[i % len(alphabet)]}" for i in range(EDITS_PER_CLIENT)]


async def node_edits(js: NodeClient, words: list[str], deletions: int, rng: random.Random) -> None:
    """Insert ``words`` and delete ``deletions`` code points, interleaved at random.

    Positions are code points resolved by Node at the moment of the edit, as an editor
    would: a UTF-16 index computed here could be stale by the time Node applies it and
    split a surrogate pair (see test_surrogate_split_diverges_between_yjs_and_yrs).
    """
    ops = ["insert"] * len(words) + ["delete"] * deletions
    rng.shuffle(ops)
    pending = iter(words)
    for op in ops:
        size = await js.code_points()
        if op == "insert":
            await js.insert_cp(rng.randint(0, size), next(pending))
        elif size:
            await js.delete_cp(rng.randrange(size), 1)


async def py_edits(py: TestClient, words: list[str], deletions: int, rng: random.Random) -> None:
    """Like :func:`node_edits`, in code points (the client converts to UTF-8 bytes)."""
    ops = ["insert"] * len(words) + ["delete"] * deletions
    rng.shuffle(ops)
    pending = iter(words)
    for op in ops:
        if op == "insert":
            await py.insert(rng.randint(0, len(py.value)), next(pending))
        elif py.value:
            await py.delete(rng.randrange(len(py.value)), 1)
        await asyncio.sleep(0)  # let the pump apply what arrived meanwhile


async def all_equal(py: TestClient, *nodes: NodeClient) -> str:
    """Wait until every client holds the same text; return it."""
    last: list[str] = []

    async def same() -> bool:
        last[:] = [py.value, *[await js.text() for js in nodes]]
        return len(set(last)) == 1

    try:
        await wait_until_async(same, "all clients to converge")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; texts (python first): {last}") from None
    for js in nodes:
        assert await js.length() == utf16_len(py.value)
    return py.value


async def test_two_node_clients_and_python_converge(
    relay: Relay, room: str, node_clients: SpawnNode
) -> None:
    rng = random.Random(20261121)
    async with relay.serve() as url, py_client(url, room) as py:
        await py.wait_synced()
        js1 = await node_clients(url, room)
        js2 = await node_clients(url, room)

        # Phase 1: concurrent inserts only; every character typed must survive exactly once.
        words = {
            "js1": tokens("a", "😀é中"),
            "js2": tokens("b", "안녕\u1100\u1161"),
            "py": tokens("c", "👍🏽e\u0301字"),
        }
        await asyncio.gather(
            node_edits(js1, words["js1"], 0, random.Random(rng.random())),
            node_edits(js2, words["js2"], 0, random.Random(rng.random())),
            py_edits(py, words["py"], 0, random.Random(rng.random())),
        )
        text = await all_equal(py, js1, js2)
        typed = Counter("".join(w for ws in words.values() for w in ws))
        assert Counter(text) == typed

        # Phase 2: js2 goes offline and edits there, while the others insert and delete.
        await js2.disconnect()
        more = {"js1": tokens("d", "😺"), "js2": tokens("f", "🎉"), "py": tokens("e", "가")}
        await asyncio.gather(
            node_edits(js1, more["js1"], DELETIONS, random.Random(rng.random())),
            node_edits(js2, more["js2"], DELETIONS, random.Random(rng.random())),
            py_edits(py, more["py"], DELETIONS, random.Random(rng.random())),
        )
        await js2.call("connect")
        await js2.wait_synced()
        text = await all_equal(py, js1, js2)
        # Each deletion removed one code point; concurrent ones may hit the same one.
        total = sum(typed.values()) + sum(len(w) for ws in more.values() for w in ws)
        assert total - 3 * DELETIONS <= len(text) < total
