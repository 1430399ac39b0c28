"""WebSocket framing after the handshake (sync_server/frames.py, sync_server/upgraded.py).

The relay reads frames itself once websockets finished the opening handshake, so the
RFC 6455 rules websockets used to enforce are held here: first by the sans-I/O reader
(any split of the byte stream gives the same messages; each violation raises its close
code), then against the real relay through a raw TCP socket, as an attacker would write:
unmasked frames, reserved bits, unknown opcodes, bad control frames, lengths of 2^63,
bad close frames, frames pipelined before the 101 response, byte-by-byte delivery. A
violation closes only that connection with its code; an honest client in the same room
keeps editing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import CloseCode
from shared.limits import ProtocolLimits
from shared.messages import QueryAwareness, SyncStep1
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from sync_server.frames import FrameError, FrameReader, close_payload
from tests.support.client import TestClient
from tests.support.waiting import DEADLINE, wait_until

LIMITS = ProtocolLimits(max_message_size=64 * 1024)


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, rsv: int = 0
) -> bytes:
    """One client frame, built by hand (RFC 6455 5.2)."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    size = len(payload)
    if size < 126:
        head = bytes((first, (0x80 if mask else 0) | size))
    elif size < 65536:
        head = bytes((first, (0x80 if mask else 0) | 126)) + struct.pack("!H", size)
    else:
        head = bytes((first, (0x80 if mask else 0) | 127)) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Sink:
    """Collects what a FrameReader reads."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_message(self, data: bytes, text: bool) -> None:
        self.events.append(("text" if text else "binary", data))

    def on_ping(self, data: bytes) -> None:
        self.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.events.append(("pong", data))

    def on_close(self, code: int, reason: str) -> None:
        self.events.append(("close", (code, reason)))


# ---------------------------------------------------------------- sans I/O


STREAM = (
    frame(0x2, b"one")
    + frame(0x2, b"t", fin=False)
    + frame(0x9, b"in between")
    + frame(0x0, b"w", fin=False)
    + frame(0x0, b"o")
    + frame(0x2, bytes(300))
    + frame(0x2, bytes(70_000))
    + frame(0xA, b"pong")
    + frame(0x1, "텍스트".encode())
    + frame(0x8, close_payload(1000, "bye"))
)
EXPECTED = [
    ("binary", b"one"),
    ("ping", b"in between"),
    ("binary", b"two"),
    ("binary", bytes(300)),
    ("binary", bytes(70_000)),
    ("pong", b"pong"),
    ("text", "텍스트".encode()),
    ("close", (1000, "bye")),
]


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_of_the_stream_reads_the_same_messages(cuts: list[int]) -> None:
    sink = Sink()
    reader = FrameReader(sink, max_size=1 << 20)
    bounds = [0, *sorted(cuts), len(STREAM)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        reader.feed(STREAM[start:stop])
    assert sink.events == EXPECTED


def test_one_byte_at_a_time_reads_the_same_messages() -> None:
    sink = Sink()
    reader = FrameReader(sink, max_size=1 << 20)
    for i in range(len(STREAM)):
        reader.feed(STREAM[i : i + 1])
    assert sink.events == EXPECTED


BAD_FRAMES = [
    (frame(0x2, b"x", mask=False), CloseCode.PROTOCOL_ERROR, "masking"),
    (frame(0x2, b"x", rsv=4), CloseCode.PROTOCOL_ERROR, "reserved"),
    (frame(0x3, b"x"), CloseCode.PROTOCOL_ERROR, "opcode"),
    (frame(0x9, b"x", fin=False), CloseCode.PROTOCOL_ERROR, "fragmented control"),
    (frame(0x9, bytes(126)), CloseCode.PROTOCOL_ERROR, "control frame too long"),
    (frame(0x0, b"x"), CloseCode.PROTOCOL_ERROR, "continuation"),
    (frame(0x2, b"x", fin=False) + frame(0x2, b"y"), CloseCode.PROTOCOL_ERROR, "continuation"),
    (b"\x82\xff" + struct.pack("!Q", 2**63) + os.urandom(4), CloseCode.MESSAGE_TOO_BIG, "exceeds"),
    (
        frame(0x2, bytes(40_000), fin=False) + frame(0x0, bytes(40_000)),
        CloseCode.MESSAGE_TOO_BIG,
        "too big",
    ),
    (frame(0x8, b"\x03\xe7"), CloseCode.PROTOCOL_ERROR, "close"),  # code 999
    (frame(0x8, b"\x03\xe8\xff\xfe"), CloseCode.INVALID_PAYLOAD, "close"),  # bad UTF-8
    (frame(0x8, b"\x03"), CloseCode.PROTOCOL_ERROR, "close"),
]


@pytest.mark.parametrize(("data", "code", "words"), BAD_FRAMES)
def test_each_framing_violation_raises_its_close_code(
    data: bytes, code: CloseCode, words: str
) -> None:
    reader = FrameReader(Sink(), max_size=64 * 1024)
    with pytest.raises(FrameError) as raised:
        reader.feed(data)
    assert raised.value.code == code
    assert words in raised.value.reason


def test_a_huge_length_is_refused_from_its_header_alone() -> None:
    """Nothing of a 2^63-byte frame is buffered: the header is enough to refuse it."""
    reader = FrameReader(Sink(), max_size=64 * 1024)
    with pytest.raises(FrameError):
        reader.feed(b"\x82\xff" + struct.pack("!Q", 2**40))


def test_close_payload_cuts_the_reason_to_whole_characters() -> None:
    payload = close_payload(4410, "가" * 100)
    assert len(payload) <= 125
    assert payload[:2] == (4410).to_bytes(2, "big")
    payload[2:].decode("utf-8")  # whole characters only
    assert close_payload(1005, "ignored") == b""


# ---------------------------------------------------------------- against the relay


class RawPeer:
    """A WebSocket client written by hand over a TCP stream: sends any bytes at all."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str, *, early: bytes = b"") -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            + early
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def read_frame(self) -> tuple[int, bytes]:
        """The next server frame (opcode, payload); the server never masks."""
        b0, b1 = await asyncio.wait_for(self.reader.readexactly(2), DEADLINE)
        assert not b1 & 0x80, "a server frame must not be masked"
        size = b1 & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return b0 & 0x0F, await self.reader.readexactly(size)

    async def close_code(self) -> int:
        """Read until the server's close frame; its code."""
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")

    async def eof(self) -> bool:
        """Whether the server then closed the TCP connection (EOF or reset)."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), DEADLINE)
        except ConnectionResetError:
            return True
        return rest == b""

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def close(self) -> None:
        self.writer.close()


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[RelayServer]:
    async with RelayServer(ServerConfig(port=0, data_dir=None, limits=LIMITS)) as srv:
        yield srv


@pytest.mark.asyncio
@pytest.mark.parametrize(("data", "code", "words"), BAD_FRAMES)
async def test_the_relay_closes_a_bad_frame_with_its_code_and_the_room_goes_on(
    relay: RelayServer, data: bytes, code: CloseCode, words: str
) -> None:
    async with TestClient(f"{relay.url}/room") as honest:
        await wait_until(lambda: honest.synced, "honest synced")
        attacker = await RawPeer.connect(relay.port, "/room")
        try:
            attacker.send(data)
            assert await attacker.close_code() == code
            assert await attacker.eof()
        finally:
            attacker.close()
        await honest.append("still editing")
        await wait_until(lambda: honest.saved and not honest.closed, "honest unaffected")
    assert relay.metrics.errors_by_kind["internal"] == 0


@pytest.mark.asyncio
async def test_ping_is_answered_and_close_is_echoed(relay: RelayServer) -> None:
    peer = await RawPeer.connect(relay.port, "/room")
    try:
        peer.send(frame(0x9, b"are you there"))
        while (answer := await peer.read_frame())[0] != 0xA:
            pass  # the server's own sync step 1 may come first
        assert answer == (0xA, b"are you there")
        peer.send(frame(0x8, close_payload(4000, "done")))
        assert await peer.close_code() == 4000
        assert await peer.eof(), "the server closes the TCP connection after the close frames"
    finally:
        peer.close()
    await wait_until(lambda: relay.connection_count == 0, "connection released")


@pytest.mark.asyncio
async def test_frames_sent_with_the_request_and_split_byte_by_byte_are_read(
    relay: RelayServer,
) -> None:
    """A client that pipelines its first frames behind the HTTP request, and one whose
    frames arrive a byte at a time, fragmented around a ping: both are served."""
    early = frame(0x2, SyncStep1(b"\x00").encode())
    peer = await RawPeer.connect(relay.port, "/room", early=early)
    try:
        query = QueryAwareness().encode()
        stream = frame(0x2, query[:1], fin=False) + frame(0x9, b"p") + frame(0x0, query[1:])
        for i in range(len(stream)):
            peer.send(stream[i : i + 1])
            await peer.writer.drain()
        wanted = {(0x2, b"\x00\x01"), (0xA, b""), (0x2, b"\x01")}
        # sync step 2 (the answer to the pipelined step 1), the pong, an awareness reply
        # to the fragmented query (each a kind: opcode and first bytes of the payload)
        while wanted:
            opcode, payload = await peer.read_frame()
            kind = payload[:2] if payload[:1] == b"\x00" else payload[:1]
            wanted.discard((opcode, b"" if opcode == 0xA else kind))
    finally:
        peer.close()


@pytest.mark.asyncio
async def test_a_peer_gone_during_the_handshake_leaves_nothing(relay: RelayServer) -> None:
    for _ in range(20):
        peer = await RawPeer.connect(relay.port, "/room", early=frame(0x2, b"\x00\x00\x01\x00"))
        peer.writer.transport.abort()
    await wait_until(lambda: relay.connection_count == 0, "all released")
    assert relay.metrics.errors_by_kind["internal"] == 0
