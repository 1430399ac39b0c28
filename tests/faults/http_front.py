"""A misbehaving reverse proxy in front of the relay, for the transport-fallback tests.

``async with HttpFront(port, mode) as front`` listens on 127.0.0.1 (``front.url``) and
forwards each connection to the relay, except that it plays one of the things real
networks do to WebSockets:

* ``"strip"``: removes ``Upgrade`` and ``Connection`` from a WebSocket request, as nginx
  does without the two ``proxy_set_header`` lines (the relay then sees a plain GET and
  answers 426); everything else passes;
* ``"hang"``: swallows WebSocket requests and never answers (a proxy that buffers them);
* ``"status:<code>"``: answers every request with that status and no Coscribe header (a
  gateway error page, or a filter that refuses everything);
* ``"gone:<node id>"``: answers 502 to every request of a session of that node (``sid=``
  starting with ``<node id>.``) and forwards the rest: a load balancer routing by session
  id (docs/deploy.md §4) when that node is gone.

* ``"cut-polls:<n>"``: serves each polling GET on a connection of its own (answers carry
  ``Connection: close``) and cuts the next ``n`` poll answers that carry data in the
  middle of their body, then resets: a proxy or a network dropping responses half-way;
* ``"reset-posts:<n>"``: resets the connection of the next ``n`` POST requests without
  an answer (a proxy dropping uploads), forwards everything else.

``mode`` and ``target_port`` may be changed at any time; they apply to new requests.

Real nginx and a real forward proxy are in tests/e2e/test_networks.py; this one is for
fast in-process tests. Every task belongs to the front's TaskGroup.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.support.tasks import TaskGroupOwner

HEAD_LIMIT = 64 * 1024


class HttpFront(TaskGroupOwner):
    def __init__(self, target_port: int, mode: str) -> None:
        super().__init__()
        self.target_port = target_port
        self.mode = mode
        self.websocket_requests = 0
        self.requests = 0
        self.posts_reset = 0
        self.responses_cut = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _stopped(self) -> None:
        assert self._server is not None
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cut_all(self) -> None:
        """Reset every connection now (the node behind the front died)."""
        for writer in list(self._writers):
            writer.transport.abort()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._tg.create_task(self._serve(reader, writer))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            self.requests += 1
            websocket = b"upgrade: websocket" in head.lower()
            self.websocket_requests += websocket
            request_line = head.split(b"\r\n", 1)[0]
            if self.mode.startswith("cut-polls:") and request_line.startswith(b"GET /?transport"):
                await self._one_poll(head, request_line, writer)
                return
            if self.mode.startswith("reset-posts:") and request_line.startswith(b"POST "):
                left = int(self.mode.split(":", 1)[1])
                if left > 0:
                    self.mode = f"reset-posts:{left - 1}"
                    self.posts_reset += 1
                    return  # ``finally`` aborts the connection: a reset, no answer
            gone = self.mode.startswith("gone:")
            refuse = self.mode.startswith("status:") or (
                gone and f"sid={self.mode[5:]}.".encode() in request_line
            )
            if refuse:
                code = "502" if gone else self.mode.split(":", 1)[1]
                body = f"{code} from the front\n".encode()
                writer.write(
                    f"HTTP/1.1 {code} Front\r\nContent-Length: {len(body)}\r\n"
                    "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                return
            if websocket and self.mode == "hang":
                await reader.read()  # until the client gives up
                return
            if websocket and self.mode == "strip":
                lines = head.split(b"\r\n")
                kept = [
                    line
                    for line in lines
                    if not line.lower().startswith((b"upgrade:", b"connection:"))
                ]
                head = b"\r\n".join(kept[:-2] + [b"Connection: close", b"", b""])
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            self._writers.add(up_writer)
            up_writer.write(head)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_pipe(reader, up_writer))
                tg.create_task(_pipe(up_reader, writer))
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _one_poll(
        self, head: bytes, request_line: bytes, writer: asyncio.StreamWriter
    ) -> None:
        """One polling GET and its answer, cut half-way if the mode says so."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.add(up_writer)
        try:
            up_writer.write(head)
            answer_head = await up_reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in answer_head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await up_reader.readexactly(length)
            left = int(self.mode.split(":", 1)[1])
            if left > 0 and b"sid=" in request_line and length > 8:
                self.mode = f"cut-polls:{left - 1}"
                self.responses_cut += 1
                writer.write(answer_head + body[: length // 2])
                await writer.drain()
                return  # the caller's ``finally`` resets the connection mid-body
            writer.write(answer_head[:-2] + b"Connection: close\r\n\r\n" + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.transport.abort()
