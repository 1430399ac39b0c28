"""HTTP long polling on the relay's own port: the thin HTTP pump of coscribe.v2 sessions.

websockets reads a request's head and refuses any request with a body, and a handshake
must finish within ``open_timeout``; a long poll needs both a body (POST) and a request
held open for ``PollTiming.hold`` seconds. So polling requests never reach websockets:
:class:`FrontConnection` (the server's connection class) looks at the request line of
each new connection, and when it is a polling request (``/?transport=polling...``, also
in absolute form) it hands the socket to :class:`PollingHttp`, a small keep-alive
HTTP/1.1 server on ``h11`` (one request at a time per connection). Every other request,
WebSocket upgrades and the HTTP endpoints included, goes to websockets untouched.

:class:`PollingFront` decides each request: open a session (the same admission as a
WebSocket: per-address limits, Origin, access token), poll, or post, and answers with
``application/octet-stream`` frames (``shared.reliable``). Responses carry
``X-Coscribe: 2``; refusals also ``X-Coscribe-Refusal: <why>``, so a client can tell the
server's "no" from a proxy's.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import SplitResult, urlsplit

import h11

from shared.errors import DecodeError, InvalidState, ProtocolError
from shared.polling import is_polling_query, parse_poll_query
from shared.reliable import CloseFrame

from .admission import Refusal, credential_of
from .auth import token_from_request
from .mux import SessionHub
from .sockets import GuardedConnection, HandedOver, SocketGuard

log = logging.getLogger("coscribe.polling")

#: Longest request line looked at before deciding who serves the connection.
MAX_REQUEST_LINE = 8192
#: Request head size h11 accepts.
MAX_HEAD = 16 * 1024

#: Where the HTTP API lives (``sync_server.api``).
API_PREFIX = "/api/v1/"
#: Answers one API request: (method, target, headers, body, client address) -> reply.
ApiHandler = Callable[[str, str, dict[str, str], bytes, str], Awaitable["Reply"]]

SERVER_HEADERS = [(b"X-Coscribe", b"2"), (b"Cache-Control", b"no-store")]
_KNOWN = frozenset(int(s) for s in http.HTTPStatus)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    close: bool = False


def is_polling_request_line(line: bytes) -> bool:
    """``GET /?transport=polling... HTTP/1.1`` (origin or absolute form)."""
    split = _request_target(line)
    return split is not None and split.path in ("", "/") and is_polling_query(split.query)


def is_front_request_line(line: bytes) -> bool:
    """A request this front serves: a polling request, or one of the HTTP API's."""
    split = _request_target(line)
    return split is not None and (
        (split.path in ("", "/") and is_polling_query(split.query))
        or split.path.startswith(API_PREFIX)
    )


def _request_target(line: bytes) -> SplitResult | None:
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        return None
    try:
        return urlsplit(parts[1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def _text(status: http.HTTPStatus, body: str, *headers: tuple[bytes, bytes]) -> Reply:
    return Reply(
        int(status),
        body.encode(),
        ((b"Content-Type", b"text/plain; charset=utf-8"), *headers),
    )


def _frame(body: bytes) -> Reply:
    return Reply(200, body, ((b"Content-Type", b"application/octet-stream"),))


class PollingFront:
    """Answers polling requests for the :class:`SessionHub`."""

    def __init__(self, hub: SessionHub, api: ApiHandler | None = None) -> None:
        self.hub = hub
        self.api = api
        self.connections: set[PollingHttp] = set()

    async def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        ip: str,
        admitted: Callable[[], None] = lambda: None,
    ) -> Reply:
        """Answer one polling request. ``admitted()`` is called as soon as the request is
        known to belong to a live session (before a poll is held): from then on its
        connection is a client's, not a handshake in progress."""
        hub = self.hub
        admission = hub.admission
        split = urlsplit(target)
        if self.api is not None and split.path.startswith(API_PREFIX):
            return await self.api(method, target, headers, body, ip)
        if split.path not in ("", "/"):
            return _text(http.HTTPStatus.NOT_FOUND, "not a polling endpoint\n")
        try:
            query = parse_poll_query(split.query)
        except DecodeError as exc:
            return _text(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if "upgrade" in headers.get("connection", "").lower():
            return _text(http.HTTPStatus.BAD_REQUEST, "a polling request is not an upgrade\n")
        origin = headers.get("origin")
        authorization = headers.get("authorization")
        if query.sid is None:
            if method != "GET":
                return _text(http.HTTPStatus.METHOD_NOT_ALLOWED, "open a session with GET\n")
            decision = admission.admit_session(authorization, origin, split.query, ip)
            if isinstance(decision, Refusal):
                return self._refuse(decision, ip)
            try:
                session = hub.create(decision, ip)
            except InvalidState:
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "server is shutting down\n")
            return _frame(hub.params(session.sid).encode())
        refusal = admission.check_origin(origin)
        if refusal is not None:
            return self._refuse(refusal, ip)
        credential = credential_of(token_from_request(authorization, split.query))
        found = hub.find(query.sid, credential)
        if found is None:
            return _text(http.HTTPStatus.NOT_FOUND, "unknown session; open a new one\n")
        if isinstance(found, CloseFrame):
            return _frame(found.encode())
        admitted()
        try:
            if method == "GET":
                return _frame(await found.poll_get(query.ack))
            if method == "POST":
                return _frame(found.poll_post(body))
        except ProtocolError as exc:
            return _text(http.HTTPStatus.BAD_REQUEST, f"{type(exc).__name__}: {exc}\n")
        return _text(http.HTTPStatus.METHOD_NOT_ALLOWED, "GET or POST\n")

    def _refuse(self, decision: Refusal, ip: str) -> Reply:
        metrics = self.hub.metrics
        metrics.connections_rejected += 1
        metrics.errors_by_kind[f"refused_{decision.metric}"] += 1
        log.info(
            "polling session refused",
            extra={"fields": {"status": int(decision.status), "why": decision.metric, "peer": ip}},
        )
        extra = [(b"X-Coscribe-Refusal", decision.metric.encode())]
        if decision.status is http.HTTPStatus.TOO_MANY_REQUESTS:
            extra.append((b"Retry-After", b"5"))
        return _text(decision.status, decision.reason + "\n", *extra)

    def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()


class PollingHttp(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of polling requests (h11, one at a time)."""

    def __init__(
        self,
        front: PollingFront,
        ip: str,
        release: Callable[[bool], None],
        upgraded: Callable[[], None],
    ) -> None:
        self._front = front
        self._ip = ip
        self._release = release
        self._upgraded = upgraded
        self._counted_as_open = False
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._transport: asyncio.Transport | None = None
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._task: asyncio.Task[None] | None = None
        self._max_body = front.hub.config.limits.max_message_size + 64 * 1024

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not ``isinstance(transport, asyncio.Transport)``: uvloop's TCPTransport (the
        # server's loop where uvloop is installed) has the same methods but does not
        # derive from asyncio's classes; asserting it failed every polling request there.
        self._transport = cast(asyncio.Transport, transport)
        self._front.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._h11.receive_data(data)
        self._pump()

    def eof_received(self) -> bool | None:
        self._h11.receive_data(b"")
        self._pump()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._front.connections.discard(self)
        self._transport = None
        if self._task is not None:
            self._task.cancel()  # a held poll: its session forgets it
        self._release(self._counted_as_open)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ HTTP

    def _pump(self) -> None:
        while self._task is None and self._transport is not None:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._send(_text(http.HTTPStatus.BAD_REQUEST, f"{exc}\n"), force_close=True)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._request = event
                self._body.clear()
                length = _content_length(event)
                if length is not None and length > self._max_body:
                    reply = _text(http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large\n")
                    self._send(reply, force_close=True)
                    return
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > self._max_body:
                    reply = _text(http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large\n")
                    self._send(reply, force_close=True)
                    return
            elif isinstance(event, h11.EndOfMessage):
                request, self._request = self._request, None
                assert request is not None
                body, self._body = bytes(self._body), bytearray()
                self._task = self._front.hub.spawn(self._serve(request, body), "poll")
                return
            elif isinstance(event, h11.ConnectionClosed):
                self.close()
                return

    async def _serve(self, request: h11.Request, body: bytes) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        try:
            reply = await self._front.handle(
                request.method.decode("ascii", "replace"),
                request.target.decode("ascii", "replace"),
                headers,
                body,
                self._ip,
                self._mark_open,
            )
        except Exception:
            log.exception("polling request failed")
            reply = _text(http.HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        finally:
            self._task = None
        if reply.status < 400:
            self._mark_open()
        self._send(reply)
        self._pump()  # a request that arrived meanwhile

    def _mark_open(self) -> None:
        """A real client's connection: no longer counted as "in the handshake" by the
        socket guard (whose per-address cap would otherwise count every held poll of a
        fresh connection, and reset the address's new connections past 32 of them)."""
        if not self._counted_as_open:
            self._counted_as_open = True
            self._upgraded()

    def _send(self, reply: Reply, *, force_close: bool = False) -> None:
        transport = self._transport
        if transport is None:
            return
        headers = [
            *SERVER_HEADERS,
            *reply.headers,
            (b"Content-Length", str(len(reply.body)).encode()),
        ]
        if force_close or reply.close:
            headers.append((b"Connection", b"close"))
        try:
            status = reply.status
            phrase = http.HTTPStatus(status).phrase.encode() if status in _KNOWN else b""
            out = self._h11.send(h11.Response(status_code=status, headers=headers, reason=phrase))
            out = (out or b"") + (self._h11.send(h11.Data(data=reply.body)) or b"")
            out += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            transport.close()
            return
        transport.write(out)
        if self._h11.our_state is h11.MUST_CLOSE or force_close:
            transport.close()
            return
        if self._h11.their_state is h11.DONE and self._h11.our_state is h11.DONE:
            self._h11.start_next_cycle()
        else:  # the request was not read to its end (an error answered early)
            transport.close()


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class FrontConnection(GuardedConnection):
    """The server's connection class: polling requests go to :class:`PollingHttp`."""

    #: Set per server (class attribute of a per-server subclass).
    front: PollingFront | None = None

    _head = b""
    _decided = False

    def data_received(self, data: bytes) -> None:
        if self._decided:
            super().data_received(data)
            return
        head = self._head + data
        end = head.find(b"\r\n")
        if end < 0 and len(head) < MAX_REQUEST_LINE:
            self._head = head
            return
        self._decided = True
        self._head = b""
        if self.front is not None and end >= 0 and is_front_request_line(head[:end]):
            self._hand_over(head)
        else:
            super().data_received(head)

    def _hand_over(self, data: bytes) -> None:
        assert self.front is not None
        transport = self.transport
        guard, ip, accepted = self.guard, self.peer_ip, self._accepted
        self._accepted = False  # the polling protocol owns the guard's count now

        def release(upgraded: bool) -> None:
            if accepted:
                guard.closed(ip, upgraded=upgraded)

        def upgraded() -> None:
            if accepted:
                guard.upgraded(ip)

        protocol = PollingHttp(self.front, ip, release, upgraded)
        self.transport = HandedOver()  # type: ignore[assignment]
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(data)
        # For websockets this connection is over: its handshake task ends at once.
        self.connection_lost(None)


def front_connection_class(guard: SocketGuard, front: PollingFront) -> type[FrontConnection]:
    """A FrontConnection subclass bound to ``guard`` and ``front`` (websockets takes a class)."""
    return type("CoscribeConnection", (FrontConnection,), {"guard": guard, "front": front})
