"""Awareness (presence) between a stock Yjs client and a Python client, via a relay.

Presence states must cross in both directions, reach late joiners, and disappear from the
other side promptly when a client goes away without saying goodbye: the relay removes the
states a connection owned when it closes, instead of leaving the peers to wait for the
30-second awareness timeout.

A trap these tests guard: a stock y-websocket client re-broadcasts every awareness update
it applies, remote ones included, with the original clock (``WebsocketProvider`` sends on
every awareness 'update' event, whatever its origin). A relay that hands ownership of a
client id to whichever connection last mentioned it therefore lets an echo steal the id,
and then forgets to remove the state when its real owner leaves.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.client import py_client
from tests.support.waiting import DEADLINE, wait_until, wait_until_async

from .conftest import Peers, SpawnNode
from .node_client import NodeClient
from .servers import Relay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

#: A departed client's state must be gone well before y-protocols' 30 s outdated timeout.
PROMPT_REMOVAL = 2.0

MINJUN: dict[str, Any] = {"user": {"name": "김민준", "color": "#e91e63"}}
ADA: dict[str, Any] = {
    "user": {"name": "Ada 😀", "color": "#3f51b5"},
    "cursor": {"anchor": 3, "head": 7},
}


async def node_sees(
    js: NodeClient, client_id: int, state: dict[str, Any] | None, within: float = DEADLINE
) -> None:
    """Wait until Node's ``awareness.getStates()[client_id]`` equals ``state``."""

    async def check() -> bool:
        return (await js.awareness_states()).get(client_id) == state

    await wait_until_async(check, f"node awareness[{client_id}] == {state}", within=within)


async def test_python_presence_reaches_node(peers: Peers) -> None:
    py, js = peers.py, peers.js
    await py.set_presence(MINJUN)
    await node_sees(js, py.awareness.client_id, MINJUN)
    # A changed state replaces the old one.
    moved = {**MINJUN, "cursor": {"anchor": 1, "head": 1}}
    await py.set_presence(moved)
    await node_sees(js, py.awareness.client_id, moved)


async def test_node_presence_reaches_python(peers: Peers) -> None:
    py, js = peers.py, peers.js
    js_id = await js.set_presence(ADA)
    assert js_id == await js.client_id()
    await wait_until(
        lambda: py.awareness_states().get(js_id) == ADA,
        f"python awareness[{js_id}] == {ADA} (have {py.awareness_states()})",
    )


async def test_late_joiners_get_existing_presence(
    relay: Relay, room: str, node_clients: SpawnNode
) -> None:
    """A client that connects after the others set their state still sees them."""
    async with relay.serve() as url:
        first_js = await node_clients(url, room)
        js_id = await first_js.set_presence(ADA)
        async with py_client(url, room) as py:
            await py.wait_synced()
            await wait_until(
                lambda: py.awareness_states().get(js_id) == ADA,
                f"late python client sees node presence (have {py.awareness_states()})",
            )
            await py.set_presence(MINJUN)
            late_js = await node_clients(url, room)
            await node_sees(late_js, py.awareness.client_id, MINJUN)
            await node_sees(late_js, js_id, ADA)


@pytest.mark.parametrize("how", ["killed", "disconnect"])
async def test_node_presence_disappears_when_node_leaves(peers: Peers, how: str) -> None:
    """``killed``: SIGKILL, the socket just drops. ``disconnect``: provider.disconnect()."""
    py, js = peers.py, peers.js
    js_id = await js.set_presence(ADA)
    await wait_until(lambda: js_id in py.awareness_states(), "python sees node presence")
    left = time.monotonic()
    if how == "killed":
        await js.kill()
    else:
        await js.disconnect()
    await wait_until(
        lambda: js_id not in py.awareness_states(),
        f"node presence removed after the node client {how}",
        within=PROMPT_REMOVAL,
    )
    print(f"node presence removed {1000 * (time.monotonic() - left):.0f} ms after {how}")


async def test_python_presence_disappears_when_python_leaves(
    relay: Relay, room: str, node_clients: SpawnNode
) -> None:
    async with relay.serve() as url:
        js = await node_clients(url, room)
        async with py_client(url, room) as py:
            await py.wait_synced()
            await py.set_presence(MINJUN)
            py_id = py.awareness.client_id
            await node_sees(js, py_id, MINJUN)
            left = time.monotonic()
        # The Python client closed its socket without sending a null state: only the relay
        # can tell the Node client that it is gone.

        async def gone() -> bool:
            return py_id not in await js.awareness_states()

        await wait_until_async(gone, "python presence removed on node", within=PROMPT_REMOVAL)
        print(f"python presence removed {1000 * (time.monotonic() - left):.0f} ms after close")


async def test_presence_removal_survives_echoes_from_other_stock_clients(
    relay: Relay, room: str, node_clients: SpawnNode
) -> None:
    """Two stock clients and a Python one: when the first Node client dies, both others
    stop seeing it, although the second Node client echoed its state to the relay."""
    async with relay.serve() as url, py_client(url, room) as py:
        await py.wait_synced()
        leaving = await node_clients(url, room)
        staying = await node_clients(url, room)
        leaving_id = await leaving.set_presence(ADA)
        await node_sees(staying, leaving_id, ADA)  # staying has applied (and echoed) it
        await wait_until(lambda: leaving_id in py.awareness_states(), "python sees ADA")
        await leaving.kill()
        await node_sees(staying, leaving_id, None, within=PROMPT_REMOVAL)
        await wait_until(
            lambda: leaving_id not in py.awareness_states(),
            "python stops seeing the killed node client",
            within=PROMPT_REMOVAL,
        )
