"""A minimal WebSocket client (RFC 6455) for the load generator's hot path.

Why not the ``websockets`` library here: its per-message cost (~30 us in Python) capped
two reader processes at ~28k messages/s on this 2-core machine, while the Node server sat
mostly idle, so the benchmark measured the load generator. This client only splits
frames in ``data_received`` and stamps each message with the arrival time of its chunk;
it answers pings (Node's server drops peers that miss a pong within 30 s) and sends
masked frames as RFC 6455 requires. It speaks plain WebSocket, so the server sees an
ordinary y-websocket client; decoding happens after the run.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from urllib.parse import urlsplit

_OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0, 1, 2, 8, 9, 10
_ZERO_MASK = b"\x00\x00\x00\x00"  # a mask is required; its value does not matter to a bench


def frame(payload: bytes, opcode: int = _OP_BINARY) -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + _ZERO_MASK + payload


class FastClient(asyncio.Protocol):
    """One connection. ``times``/``messages`` fill while ``record`` is true."""

    def __init__(self) -> None:
        self.times: list[int] = []
        self.messages: list[bytes] = []
        self.record = True
        self.closed = asyncio.Event()
        self._upgraded = asyncio.get_running_loop().create_future()
        self._arrived = asyncio.Event()
        self._head = b""
        self._buf = bytearray()
        self._partial: bytearray | None = None
        self._transport: asyncio.Transport | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.set_write_buffer_limits(high=1 << 20)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self._can_write.set()
        if not self._upgraded.done():
            self._upgraded.set_exception(ConnectionError(f"closed during upgrade: {exc}"))

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self._upgraded.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self._head[: self._head.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self._upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            data = self._head[end + 4 :]
            self._upgraded.set_result(None)
        buf = self._buf
        buf += data
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if n - pos < 4:
                    break
                length, start = int.from_bytes(buf[start : start + 2], "big"), start + 2
            elif length == 127:
                if n - pos < 10:
                    break
                length, start = int.from_bytes(buf[start : start + 8], "big"), start + 8
            end = start + length
            if end > n:
                break
            self._on_frame(b0, bytes(buf[start:end]), now)
            pos = end
        if pos:
            del buf[:pos]

    def _on_frame(self, b0: int, payload: bytes, now: int) -> None:
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode in (_OP_BINARY, _OP_TEXT, _OP_CONT):
            if not fin or self._partial is not None:
                self._partial = (self._partial or bytearray()) + payload
                if not fin:
                    return
                payload, self._partial = bytes(self._partial), None
            if self.record:
                self.times.append(now)
                self.messages.append(payload)
                self._arrived.set()
        elif opcode == _OP_PING and self._transport is not None:
            self._transport.write(frame(payload, _OP_PONG))
        elif opcode == _OP_CLOSE and self._transport is not None:
            self._transport.write(frame(payload[:2], _OP_CLOSE))
            self._transport.close()

    # -- API -------------------------------------------------------------------------

    async def send(self, payload: bytes) -> None:
        """Send one binary message, waiting while the kernel buffer is full."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("connection closed")
        await self._can_write.wait()
        self._transport.write(frame(payload))

    async def next_message(self, limit_s: float) -> bytes:
        """Pop the oldest recorded message (used only during handshakes)."""
        async with asyncio.timeout(limit_s):
            while not self.messages:
                if self.closed.is_set():
                    raise ConnectionError("connection closed")
                self._arrived.clear()
                await self._arrived.wait()
        self.times.pop(0)
        return self.messages.pop(0)

    def clear(self) -> None:
        self.times.clear()
        self.messages.clear()

    async def close(self, limit_s: float = 2.0) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(frame(b"\x03\xe8", _OP_CLOSE))
        try:
            async with asyncio.timeout(limit_s):
                await self.closed.wait()
        except TimeoutError:
            self._transport.abort()


async def connect(url: str, limit_s: float) -> FastClient:
    """Open ``url`` (ws://host:port/path) and finish the HTTP upgrade."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(limit_s):
        _, client = await loop.create_connection(FastClient, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert client._transport is not None
        client._transport.write(request.encode())
        await client._upgraded
    return client
