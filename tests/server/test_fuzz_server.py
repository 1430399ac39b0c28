"""Hostile input against a REAL in-process relay (Hypothesis).

An attacker connection sends random and mutated frames (random bytes, text frames,
truncated varints, huge length prefixes, invalid updates, mutated valid messages,
oversized frames, awareness for another client's id) while an honest client edits. For
every example:

* the server never crashes: no internal error is counted, and a new client still syncs;
* a frame the server rejects closes the attacker with a fitting code (1002 malformed,
  1003 unknown type, 1007 invalid update, 1008 policy, 1009 too big) and leaves the
  room's document exactly as it was;
* the honest client is never disconnected, and the room's document equals its document.

Each frame is followed by a QUERY_AWARENESS probe: the server handles a connection's
messages in order, so its reply proves the frame was processed (and accepted).

Crashing inputs found by this fuzzer are kept below as explicit regression tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pycrdt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from shared import SUBPROTOCOL, CloseCode
from shared.limits import ProtocolLimits
from shared.messages import (
    AwarenessEntry,
    AwarenessUpdate,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
)
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import TestClient
from tests.support.waiting import wait_until
from tests.support.yjs_fuzz import REFUSAL_CODES

HONEST = 4242  # the honest client's Yjs client id (also its awareness id)
ROOM = "target"
LIMITS = ProtocolLimits(max_message_size=64 * 1024, max_awareness_state_size=1024)
DEADLINE = 5.0


def _real_update() -> tuple[bytes, bytes]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=777)
    text = doc.get("content", type=pycrdt.Text)
    text += "attacker text"
    del text[0:3]
    return doc.get_update(), doc.get_state()


UPDATE, STATE = _real_update()


def varint(n: int) -> bytes:
    return pycrdt.write_var_uint(n)


def awareness(client_id: int, clock: int, state: Any) -> bytes:
    entry = AwarenessEntry(client_id, clock, json.dumps(state))
    return AwarenessUpdate.from_entries((entry,)).encode()


VALID = [
    SyncStep1(STATE).encode(),
    SyncStep1(b"\x00").encode(),
    SyncStep2(UPDATE).encode(),
    SyncUpdate(UPDATE).encode(),
    awareness(999, 1, {"user": {"name": "mallory"}}),
    awareness(HONEST, 50, {"user": {"name": "spoofed"}}),  # another client's id
    QueryAwareness().encode(),
]

Frame = bytes | str


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "append"]))
        pos = draw(st.integers(0, len(data)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        else:
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


FRAMES: st.SearchStrategy[Frame] = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=16),
    mutated(),
    st.sampled_from(VALID),
    # truncated varints, in the type and in a length prefix
    st.integers(1, 10).map(lambda k: b"\x80" * k),
    st.integers(1, 10).map(lambda k: b"\x00\x02" + b"\xff" * k),
    # huge lengths with few bytes behind them
    st.integers(2**20, 2**60).map(lambda n: b"\x00\x02" + varint(n) + b"\x00\x00"),
    st.integers(2**20, 2**60).map(lambda n: b"\x01" + varint(n) + b"\x01"),
    # invalid updates in every sync sub-type
    st.tuples(st.integers(0, 2), st.binary(max_size=48)).map(
        lambda t: b"\x00" + varint(t[0]) + varint(len(t[1])) + t[1]
    ),
    # awareness: other clients' ids, oversized states, too many entries
    st.tuples(st.sampled_from([HONEST, 1, 2**53 - 1]), st.integers(0, 2**32)).map(
        lambda t: awareness(t[0], t[1], {"user": {"name": "x"}})
    ),
    st.just(awareness(999, 2, {"blob": "x" * 2000})),
    st.just(b"\x01" + varint(3 + 2000 * 3) + varint(2000) + b"\x01\x01\x00" * 2000),
    # oversized frame
    st.just(b"\x00\x02" + varint(70_000) + bytes(70_000)),
)


def state_vector(doc: pycrdt.Doc[Any]) -> dict[int, int]:
    d = pycrdt.Decoder(doc.get_state())
    return {d.read_var_uint(): d.read_var_uint() for _ in range(d.read_var_uint())}


class Attacker:
    """A raw WebSocket that records what it receives, with a reader task in ``tg``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[bytes] = []
        self.closed = False

    async def read(self) -> None:
        try:
            async for message in self.ws:
                self.received.append(message if isinstance(message, bytes) else b"")
        except ConnectionClosed:
            pass
        self.closed = True

    def awareness_after(self, index: int) -> bool:
        return any(m[:1] == b"\x01" for m in self.received[index:])

    @property
    def close_code(self) -> int | None:
        rcvd = self.ws.protocol.close_rcvd
        return None if rcvd is None else rcvd.code


async def attack(frames: list[Frame], extensions: bool) -> None:
    config = ServerConfig(port=0, data_dir=None, limits=LIMITS)
    async with RelayServer(config) as srv:
        url = f"{srv.url}/{ROOM}"
        honest_doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=HONEST)
        async with TestClient(url, doc=honest_doc, user={"name": "honest"}) as honest:
            await wait_until(lambda: honest.synced, "honest synced", within=DEADLINE)
            room = srv.registry.get(ROOM)
            assert room is not None
            kwargs: dict[str, Any] = {"max_size": None}
            if extensions:
                kwargs["subprotocols"] = [SUBPROTOCOL]
            async with connect(url, **kwargs) as ws, asyncio.TaskGroup() as tg:
                attacker = Attacker(ws)
                tg.create_task(attacker.read())
                # The presence snapshot sent on join: later awareness messages are replies.
                await wait_until(lambda: attacker.awareness_after(0), "joined", within=DEADLINE)
                for i, frame in enumerate(frames):
                    await honest.append(f"<h{i}>")
                    await wait_until(lambda: honest.saved, "honest edit saved", within=DEADLINE)
                    text_before = str(room.doc.get("content", type=pycrdt.Text))
                    sv_before = state_vector(room.doc)
                    mark = len(attacker.received)
                    try:
                        await ws.send(frame)
                        await ws.send(QueryAwareness().encode())
                    except ConnectionClosed:
                        pass
                    await wait_until(
                        lambda: attacker.closed or attacker.awareness_after(mark),  # noqa: B023
                        "frame processed",
                        within=DEADLINE,
                    )
                    if attacker.closed:
                        assert attacker.close_code in REFUSAL_CODES, (
                            f"closed with {attacker.close_code}"
                        )
                        assert str(room.doc.get("content", type=pycrdt.Text)) == text_before
                        assert state_vector(room.doc) == sv_before
                        break
                await ws.close()
            await honest.append("<end>")
            room_text: Callable[[], str] = lambda: str(room.doc.get("content", type=pycrdt.Text))  # noqa: E731
            await wait_until(
                lambda: honest.saved and str(honest) == room_text(), "converged", within=DEADLINE
            )
            assert state_vector(room.doc) == state_vector(honest.doc)
            assert not honest.closed, f"honest client disconnected ({honest.close_code})"
        assert srv.metrics.errors_by_kind["internal"] == 0
        async with TestClient(url) as late:  # the server still serves
            await wait_until(
                lambda: late.synced and str(late) == room_text(), "late", within=DEADLINE
            )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=st.lists(FRAMES, min_size=1, max_size=3), extensions=st.booleans())
@example(frames=[b"\x80\x80\x80"], extensions=True)  # truncated varint
@example(frames=[b"\x00\x02" + varint(2**40) + b"\x00"], extensions=False)  # huge length
@example(frames=["hello"], extensions=True)  # text frame
@example(frames=[b"\x00\x02\x05\x01\x02\x03\x04\x05"], extensions=True)  # invalid update
@example(frames=[b"\x00\x02" + varint(70_000) + bytes(70_000)], extensions=True)  # oversized
@example(frames=[awareness(HONEST, 9, {"user": {"name": "x"}})], extensions=False)
@example(frames=[b"\x64" + varint(2) + b"{}"], extensions=True)  # HELLO from a client
def test_hostile_frames_never_hurt_the_room_or_the_honest_client(
    frames: list[Frame], extensions: bool
) -> None:
    asyncio.run(attack(frames, extensions))


# ---------------------------------------------------------------- explicit cases


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x80\x80\x80", CloseCode.PROTOCOL_ERROR),
        (b"\x00\x02" + varint(2**40), CloseCode.PROTOCOL_ERROR),
        ("text", CloseCode.PROTOCOL_ERROR),
        (b"\x07", CloseCode.UNSUPPORTED_DATA),
        (b"\x00\x02\x03\x01\x02\x03", CloseCode.INVALID_PAYLOAD),
        (awareness(5, 1, {"blob": "x" * 2000}), CloseCode.POLICY_VIOLATION),
        (b"\x00\x02" + varint(70_000) + bytes(70_000), CloseCode.MESSAGE_TOO_BIG),
    ],
)
async def test_each_kind_of_bad_frame_gets_its_close_code(frame: Frame, code: CloseCode) -> None:
    config = ServerConfig(port=0, data_dir=None, limits=LIMITS)
    async with RelayServer(config) as srv:
        async with connect(f"{srv.url}/{ROOM}", max_size=None) as ws:
            await ws.send(frame)
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), DEADLINE)
            rcvd = ws.protocol.close_rcvd
            assert rcvd is not None and rcvd.code == code


@pytest.mark.asyncio
async def test_awareness_for_another_clients_id_does_not_affect_others() -> None:
    config = ServerConfig(port=0, data_dir=None, limits=LIMITS)
    async with RelayServer(config) as srv:
        url = f"{srv.url}/{ROOM}"
        honest_doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=HONEST)
        async with (
            TestClient(url, doc=honest_doc, user={"name": "honest"}) as honest,
            TestClient(url) as observer,
        ):
            await honest.set_presence({"user": {"name": "honest"}})

            def honest_name() -> str | None:
                state = observer.awareness.states.get(HONEST)
                return None if state is None else state["user"]["name"]

            await wait_until(lambda: honest_name() == "honest", "presence seen", within=DEADLINE)
            clock = int(honest.awareness.meta[HONEST]["clock"])
            async with connect(url) as ws:
                await ws.send(awareness(HONEST, clock + 1, {"user": {"name": "mallory"}}))
                await ws.send(QueryAwareness().encode())
                while (await asyncio.wait_for(ws.recv(), DEADLINE))[:1] != b"\x01":
                    pass  # the snapshot sent on join
                while (await asyncio.wait_for(ws.recv(), DEADLINE))[:1] != b"\x01":
                    pass  # the reply to the probe: the spoof was processed
            assert not honest.closed
            # After the attacker left, the honest presence is still shown, unaltered.
            await honest.append("sync point")
            await wait_until(
                lambda: str(observer) == "sync point", "observer synced", within=DEADLINE
            )
            assert honest_name() == "honest"
