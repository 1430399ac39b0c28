"""``ServerConnection.flush`` under back-pressure: while the network takes nothing, a flush
leaves the frames to the writer task instead of piling them into the transport's buffer,
and nothing is lost or reordered once the network drains.

Why it matters: the editor flushes at the end of every key press (test_flush_now.py). On a
network that stopped taking data, a flush that wrote anyway would put one frame per key
into the WebSocket transport's buffer, in memory, without bound; left to the writer task
(which waits for the buffer to drain), what is typed meanwhile stays in the reliable link
and leaves as a few frames of many messages once the network moves again.

How it is checked with real parts only: the editor's real ServerConnection reaches the
real relay through :class:`UpstreamGate`, a TCP proxy that can stop reading what the
editor sends (a peer that stops reading: the kernel's buffers fill, then the transport's).
The proxy counts the WebSocket data frames the editor sends. The editor types more than
the kernel's buffers can hold, flushing after each message as at the end of a key press,
then the gate opens. Each flush that wrote would be one frame per message; left to the
writer, the messages typed once the buffers were full share frames. "Nothing lost or
reordered" is checked the strong way (as in test_server_connection.py): the document
stays on one session and one carrier (no resync could repair a loss; the relay's
reliable link refuses a gap or a repeat), it reaches "All changes saved" (the relay
acknowledged exactly what was sent), and an observer on the relay ends with every
message, in the order typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import string
from pathlib import Path
from typing import Any

import pytest

from editor_app.core.sync_client import Status
from shared import Origin
from tests.app.test_server_connection import Editor, relay, running_editor
from tests.support.client import TestClient
from tests.support.tasks import TaskGroupOwner
from tests.support.waiting import wait_until

#: Size of each typed message (a paste, say): far below the reliable link's 1 MiB frames,
#: so that messages queued while the network is backed up can share a frame.
MESSAGE = 128 * 1024
#: The proxy's receive buffer (small: the editor's send buffer is what fills).
PROXY_RCVBUF = 16 * 1024
#: Messages typed beyond what the buffers between the editor and the proxy can hold.
BEYOND = 24


def kernel_send_buffer_limit() -> int:
    """Upper bound of a TCP socket's send buffer here (Linux autotunes up to
    ``tcp_wmem``'s maximum; 4 MiB elsewhere, the usual default)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return 4 * 1024 * 1024


class _FrameCounter:
    """Counts the WebSocket data frames in a client's byte stream (after its HTTP
    upgrade request), reading only frame headers."""

    def __init__(self) -> None:
        self.frames = 0
        self._handshake = True
        self._buffer = b""
        self._skip = 0  # payload bytes of the current frame still to pass

    def feed(self, data: bytes) -> None:
        if self._handshake:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            data, self._buffer, self._handshake = self._buffer[end + 4 :], b"", False
        view = memoryview(data)
        while view:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            self._buffer += bytes(view)
            view = memoryview(b"")
            self._parse_headers()

    def _parse_headers(self) -> None:
        buf = self._buffer
        while len(buf) >= 2:
            opcode, short = buf[0] & 0x0F, buf[1] & 0x7F
            extra = {126: 2, 127: 8}.get(short, 0)
            header = 2 + extra + (4 if buf[1] & 0x80 else 0)
            if len(buf) < header:
                break
            length = int.from_bytes(buf[2 : 2 + extra], "big") if extra else short
            if opcode in (0x1, 0x2):
                self.frames += 1
            rest = buf[header:]
            if len(rest) < length:
                self._skip = length - len(rest)
                buf = b""
                break
            buf = rest[length:]
        self._buffer = buf


class UpstreamGate(TaskGroupOwner):
    """A TCP proxy to ``port`` whose client -> server direction can stop reading
    (:meth:`close_gate` / :meth:`open_gate`); the other direction always flows.
    :attr:`frames_up` counts the WebSocket data frames clients sent through it."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self._counters: list[_FrameCounter] = []  # one per connection
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    @property
    def frames_up(self) -> int:
        return sum(counter.frames for counter in self._counters)

    def close_gate(self) -> None:
        self._open.clear()

    def open_gate(self) -> None:
        self._open.set()

    async def _start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before listen(): accepted sockets inherit it, and it caps the window the
        # proxy offers, so the editor's own send buffer is what fills.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PROXY_RCVBUF)
        listener.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._accept, sock=listener, limit=PROXY_RCVBUF)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()

    async def _stopped(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tg.create_task(self._serve(reader, writer))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writers += [writer, up_writer]
        counter = _FrameCounter()
        self._counters.append(counter)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(reader, up_writer, counter))
                tg.create_task(self._pump(up_reader, writer, None))
        except* (ConnectionError, OSError):
            pass  # one side went away: the connection is over
        finally:
            writer.transport.abort()
            up_writer.transport.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        counter: _FrameCounter | None,
    ) -> None:
        while True:
            if counter is not None:
                await self._open.wait()  # closed: nothing is read, the editor's buffers fill
            data = await reader.read(PROXY_RCVBUF)
            if not data:
                writer.transport.abort()
                return
            if counter is not None:
                counter.feed(data)
            writer.write(data)
            await writer.drain()


def message(i: int) -> str:
    """Message ``i``: its number, then one letter repeated (no compression is negotiated:
    what is typed is what the buffers hold)."""
    head = f"<{i:05d}>"
    return head + string.ascii_letters[i % len(string.ascii_letters)] * (MESSAGE - len(head))


def append(editor: Editor, at: int, text: str) -> int:
    """Type ``text`` at UTF-8 offset ``at`` (the end); returns the new end. (Editor.type
    measures the whole text each time: too slow for megabytes.)"""
    with editor.doc.transaction(origin=Origin.LOCAL_EDIT):
        editor.text.insert(at, text)
    return at + len(text.encode())


def assert_appended_in_order(start: str, deltas: list[list[dict[str, Any]]], expected: str) -> None:
    """``deltas`` (a Text's events) built ``expected`` from ``start`` by appending only,
    each at the end of what came before: the messages arrived whole and in order. (Short
    failure messages: the texts are megabytes.)"""
    text = start
    for n, delta in enumerate(deltas):
        ops = [op for op in delta if op != {"retain": 0}]
        if ops and "retain" in ops[0]:
            assert ops[0]["retain"] == len(text.encode()), f"event {n} inserts before the end"
            ops = ops[1:]
        assert [list(op) for op in ops] == [["insert"]], f"event {n} is not one insert"
        piece = str(ops[0]["insert"])
        assert expected.startswith(piece, len(text)), f"event {n}: {piece[:8]!r} out of order"
        text += piece
    assert len(text) == len(expected), f"{len(text)} of {len(expected)} characters arrived"


@pytest.mark.asyncio
async def test_flush_leaves_frames_to_the_writer_while_the_network_is_backed_up() -> None:
    # Enough to fill the editor's send buffer, the proxy's receive buffer and its
    # reader's, then BEYOND messages more.
    held = kernel_send_buffer_limit() + 2 * PROXY_RCVBUF + 256 * 1024
    count = held // MESSAGE + 1 + BEYOND
    doc = "backed-up"
    typed = ["start "]
    deltas: list[list[dict[str, Any]]] = []
    async with relay() as server, UpstreamGate(server.port) as gate:
        async with (
            TestClient(f"{server.url}/{doc}") as observer,
            running_editor(gate.url, doc) as (conn, editor),
        ):
            await observer.wait_synced()
            end = append(editor, 0, typed[0])
            editor.client.flush()
            await wait_until(lambda: editor.status is Status.SAVED, "the first message saved")
            await wait_until(lambda: observer.value == typed[0], "the first at the observer")
            frames_before = gate.frames_up  # everything so far went through and was counted
            sub = observer.text.observe(lambda event: deltas.append(list(event.delta)))

            gate.close_gate()
            for i in range(count):
                typed.append(message(i))
                end = append(editor, end, typed[-1])
                editor.client.flush()  # as at the end of a key press
                await asyncio.sleep(0)  # the loop turns between keys: the writer runs
            gate.open_gate()
            expected = "".join(typed)

            await wait_until(lambda: editor.status is Status.SAVED, "all changes saved")
            await wait_until(lambda: observer.value == expected, "every message arrived")
            frames = gate.frames_up - frames_before
            sessions = (conn.sessions_opened, conn.carriers)
            observer.text.unobserve(sub)

    # Nothing lost, repeated or reordered: one session on one carrier, all acknowledged,
    # and the observer's text grew by whole messages at its end, in the order typed.
    assert sessions == (1, 1)
    assert_appended_in_order(typed[0], deltas, expected)
    # Left to the writer, the messages typed once the buffers were full shared frames; a
    # flush that wrote into the full transport would have sent one frame per message.
    assert frames < count - BEYOND // 2, (frames, count)
