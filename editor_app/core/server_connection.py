"""One connection per server: every document the editor has open there shares it.

A :class:`ServerConnection` keeps one coscribe.v2 session with one server (see
docs/protocol.md §10): documents are :class:`Channel` s multiplexed over it
(``shared.mux``), and the session's payloads travel over a
:class:`~shared.reliable.ReliableLink`, so the carrier underneath can change without a
message being lost or repeated. How it gets through, Engine.IO-like:

1. a WebSocket to ``<server>/`` with the ``coscribe.v2`` subprotocol (through the
   proxy's CONNECT when one is configured), given :attr:`ws_open_timeout` (2.5 s);
2. if the upgrade is refused (426/400/403 from something in between, any non-101, a
   close before the handshake, no answer in time, a proxy refusing CONNECT): HTTP long
   polling at once (``GET``/``POST /?transport=polling``; through a proxy as plain HTTP
   in absolute form for ``ws://`` servers, through CONNECT for ``wss://``), and the
   blocked WebSocket is remembered, so later reconnects start with polling;
3. while polling, WebSocket probes run in the background (after ``probe_delays``); one
   that opens resumes the *same* session: polling stops, the session moves to the
   WebSocket, and the link resends exactly what was not acknowledged;
4. a server that does not speak coscribe.v2 (a stock y-websocket server, an older
   Coscribe) puts the connection in ``LEGACY`` mode: each document then opens its own
   WebSocket (``SyncClient``), still through the proxy.

A lost carrier resumes the same session (``PollTiming.timeout`` on the server), so a
short outage costs no resync; only a new session makes the documents start over (a full
state-vector exchange, as after any reconnect). :class:`ConnectionInfo` is what the
"Connection details" view shows; every problem has a :class:`Problem` kind that the status
texts put in a person's words. Qt-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from shared import mux
from shared.errors import CloseCode, DecodeError, ProtocolError, RemoteError
from shared.limits import SUBPROTOCOL_V2
from shared.polling import (
    PollingClient,
    PollQuery,
    PollTiming,
    SessionEnded,
    parse_open_answer,
)
from shared.reliable import CloseFrame, DataFrame, ReliableLink, SessionParams, decode_frame

from . import errors
from .backoff import Backoff
from .net import Endpoint, HttpConnection, open_websocket, status_error
from .proxy import ProxyResolver, direct

log = logging.getLogger(__name__)

#: Largest WebSocket message the editor accepts (also on SyncClient's own WebSockets).
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
#: Seconds before an acknowledgement goes out alone on a WebSocket.
ACK_DELAY = 0.1
#: Background WebSocket probes while polling: seconds before each (the last repeats).
PROBE_DELAYS = (1.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: Seconds a WebSocket upgrade may take before the editor polls instead. Below 3 s so
#: that even an upgrade that is never answered (a proxy that buffers it) syncs in < 3 s
#: (bench/fallback_bench.py); a slow network that needed longer only polls for a moment:
#: the first background probe (1 s later) moves the session to its WebSocket.
WS_OPEN_TIMEOUT = 2.5
#: Immediate retries of a failed poll before the carrier counts as lost.
POLL_RETRIES = 2


class Transport(Enum):
    NONE = "none"
    WEBSOCKET = "websocket"
    POLLING = "polling"
    LEGACY = "legacy"  # one WebSocket per document: the server does not speak coscribe.v2


class Problem(Enum):
    UNREACHABLE = "unreachable"  # no answer from the server
    BLOCKED = "blocked"  # a proxy or firewall refuses even compatibility mode
    PROXY_AUTH = "proxy_auth"  # the proxy needs (other) credentials; no retry until asked
    DENIED = "denied"  # the server refused the session itself; no retry until asked


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """The "Connection details" of one server connection."""

    server: str
    transport: Transport = Transport.NONE
    proxy: str = "none (direct connection)"
    up: bool = False
    rtt: float | None = None  # seconds
    problem: Problem | None = None
    last_error: str = ""
    since: float = field(default_factory=time.time)  # the state (up or problem) since then
    retry_in: float | None = None
    websocket_blocked: bool = False
    #: DENIED: the server's refusal kind (``X-Coscribe-Refusal``: revoked, expired, token...).
    refusal: str = ""


class ConnectionLost(errors.NetworkError):
    """The session (or the connection) ended; a document reopens on the next one."""


class ChannelClosed(RemoteError):
    """The server closed a document (CLOSE_DOCUMENT) with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason or f"document closed ({code})")
        self.code = code
        self.reason = reason


class Channel:
    """One document on a :class:`ServerConnection`: a coscribe.v1 conversation's link.

    ``recv`` returns the next message of the document (raising :class:`ChannelClosed` when
    the server closed it, :class:`ConnectionLost` when the session ended); ``queue`` queues
    a message and ``flush`` writes what is queued; ``close`` ends the document (the server
    confirms with CLOSE_DOCUMENT).
    """

    extensions = True

    def __init__(self, conn: ServerConnection, key: str, token: str | None, session: str):
        self.key = key  # the document's name, or name#n if it is open twice
        self.name = mux.document_of(key)
        self.token = token
        self.session = session
        self._conn = conn
        self._prefix = mux.name_prefix(key)
        self._inbox: list[bytes] = []
        self._ready = asyncio.Event()
        self._end: BaseException | None = None
        #: Set once the server closed the document or the session ended.
        self.ended = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""

    async def recv(self) -> bytes:
        while not self._inbox:
            if self._end is not None:
                raise self._end
            self._ready.clear()
            await self._ready.wait()
        return self._inbox.pop(0)

    def queue(self, message: bytes) -> None:
        """Queue ``message`` for the server (it leaves with the connection's next frame:
        at the next event-loop turn, or at :meth:`flush`)."""
        if self._end is None:
            self._conn._send(self._prefix + message)

    def flush(self) -> None:
        """Write what is queued now, in this call (see :meth:`ServerConnection.flush`)."""
        if self._end is None:
            self._conn.flush()

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """End the document (idempotent); the server's CLOSE_DOCUMENT finishes it."""
        if self._end is None and not self._conn._closing_channel(self):
            self._conn._send(self._prefix + mux.CloseDocument(int(code), reason).encode())

    # ------------------------------------------------------------------ from the connection

    def _deliver(self, message: bytes) -> None:
        self._inbox.append(message)
        self._ready.set()

    def _finish(self, exc: BaseException) -> None:
        if self._end is None:
            self._end = exc
            if isinstance(exc, ChannelClosed):
                self.close_code, self.close_reason = exc.code, exc.reason
            self._ready.set()
            self.ended.set()


@dataclass(slots=True)
class _Outcome:
    """How a carrier ended: an error, or a WebSocket that took over the session."""

    error: BaseException | None = None
    websocket: ClientConnection | None = None
    params: SessionParams | None = None


#: What a carrier's task calls to say how the carrier ended (the first call counts).
Finish = Callable[[_Outcome], None]


async def _first_outcome(*workers: Callable[[Finish], Coroutine[Any, Any, None]]) -> _Outcome:
    """Run the tasks of one carrier until one of them reports how it ended; stop the rest."""
    outcome: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()

    def finish(result: _Outcome) -> None:
        if not outcome.done():
            outcome.set_result(result)

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(work(finish)) for work in workers]
        result = await outcome
        for task in tasks:
            task.cancel()
    return result


class ServerConnection:
    """The editor's one connection to one server (see module docstring).

    Args:
        server: ``ws://host:port`` (or ``wss://``, with a path prefix if the server is
            behind a proxy that strips one).
        proxy: which proxy leads to the server (``editor_app.core.proxy``).
        ssl: TLS context for ``wss://`` (None: the system's default).
        backoff: the reconnect schedule.
        heartbeat: WebSocket ping interval (a dead WebSocket is noticed in ~2.3x this).
        ws_open_timeout: how long a WebSocket upgrade may take before polling is used.
        probe_delays: seconds between background WebSocket probes while polling.
        start_with_polling: start as if the WebSocket were known to be blocked (the
            editor remembers it per server); probes still try it in the background.
    """

    def __init__(
        self,
        server: str,
        *,
        proxy: ProxyResolver = direct,
        ssl: ssl_module.SSLContext | None = None,
        backoff: Backoff | None = None,
        heartbeat: float = 15.0,
        ws_open_timeout: float = WS_OPEN_TIMEOUT,
        probe_delays: Sequence[float] = PROBE_DELAYS,
        start_with_polling: bool = False,
    ) -> None:
        self.server = server.rstrip("/")
        self.endpoint = Endpoint.parse(self.server)
        self.proxy_resolver = proxy
        self.ssl = ssl
        self.backoff = backoff or Backoff()
        self.heartbeat = heartbeat
        self.ws_open_timeout = ws_open_timeout
        self.probe_delays = tuple(probe_delays)
        self.info = ConnectionInfo(self.server)
        #: Sessions opened so far, and carriers attached (for diagnostics and tests).
        self.sessions_opened = 0
        self.carriers = 0
        self._listeners: list[Callable[[ConnectionInfo], None]] = []
        self._tokens: dict[object, str | None] = {}
        self._token_used: str | None = None  # by the last attempt to open a session
        self._bound_token: str | None = None  # the one the session was opened with
        self._refused_tokens: set[str | None] = set()
        self._channels: dict[str, Channel] = {}
        self._link = ReliableLink()
        self._sid: str | None = None
        self._timing = PollTiming()
        self._ws: ClientConnection | None = None
        self._outbox = asyncio.Event()
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._version = 0
        self._closing = False
        self._closed = asyncio.Event()
        self._ws_blocked = start_with_polling
        self._legacy = False
        self._task: asyncio.Task[None] | None = None
        self._rtt: float | None = None
        #: When the server last answered on the session (monotonic): after
        #: ``PollTiming.timeout`` without an answer the server has expired it.
        self._heard_at = 0.0

    # ------------------------------------------------------------------ public API

    def add_listener(self, cb: Callable[[ConnectionInfo], None]) -> Callable[[], None]:
        """Call ``cb(info)`` on every change; returns the unsubscribe function."""
        self._listeners.append(cb)
        return lambda: self._listeners.remove(cb) if cb in self._listeners else None

    @property
    def up(self) -> bool:
        return self.info.up

    @property
    def legacy(self) -> bool:
        """The server does not speak coscribe.v2: documents use their own WebSockets."""
        return self._legacy

    @property
    def rtt(self) -> float | None:
        ws = self._ws
        if ws is not None and ws.latency:
            return ws.latency
        return self._rtt

    def details(self) -> ConnectionInfo:
        """:attr:`info` with the round-trip time measured now."""
        return replace(self.info, rtt=self.rtt)

    def register(self, owner: object, token: str | None) -> None:
        """A document on this server wants the connection, with its access token (the
        session is opened with one of them; each document is admitted with its own).
        The connection connects once a document is registered."""
        self._tokens[owner] = token
        if token not in self._refused_tokens and (
            self.info.problem is Problem.DENIED or len(self._tokens) == 1
        ):
            self._wake.set()  # the first document, or a token we have not tried

    def unregister(self, owner: object) -> None:
        self._tokens.pop(owner, None)

    def reconnect_now(self) -> None:
        """Skip the wait (the user pressed "Retry", or changed the proxy settings)."""
        self.backoff.reset()
        self._refused_tokens.clear()
        self._ws_blocked = False
        self._legacy = False
        self._wake.set()

    @property
    def version(self) -> int:
        """Counts the changes of :attr:`info` (see :meth:`wait_changed`)."""
        return self._version

    async def wait_changed(self, since: int) -> None:
        """Return once :attr:`info` changed after :attr:`version` was ``since`` (or the
        connection closes)."""
        while self._version == since and not self._closing:
            self._changed.clear()
            await self._changed.wait()

    async def open_channel(self, name: str, token: str | None) -> Channel:
        """Open document ``name`` on the session that is up now.

        Raises:
            ConnectionLost: the connection is not up.
        """
        if not self.up or self._sid is None or self._legacy:
            raise ConnectionLost("not connected")
        key, n = name, 0
        while key in self._channels:  # the same document open twice (two links)
            n += 1
            key = f"{name}#{n}"
        channel = Channel(self, key, token, self._sid)
        self._channels[key] = channel
        self._send(channel._prefix + mux.OpenDocument(token or "").encode())
        return channel

    async def run(self) -> None:
        """Connect and stay connected until :meth:`close`. Call once."""
        if self._task is not None or self._closing:
            return
        self._task = asyncio.current_task()
        try:
            await self._loop()
        except asyncio.CancelledError:
            if not self._closing:
                raise
        finally:
            self._lose_channels(ConnectionLost("connection closed"))
            self._set(up=False, transport=Transport.NONE)
            self._closed.set()

    async def close(self) -> None:
        """Leave the session politely and stop :meth:`run` (idempotent)."""
        if self._closing:
            if self._task is not None:
                await self._closed.wait()
            return
        self._closing = True
        self._wake.set()
        self._changed.set()
        ws = self._ws
        if ws is not None:
            # The CLOSE frame ends the session on the server; closing the WebSocket alone
            # would leave it waiting (``PollTiming.timeout``) for the carrier to come back.
            with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                async with asyncio.timeout(1.0):
                    await ws.send(CloseFrame(int(CloseCode.NORMAL), "editor closed").encode())
                    await ws.close(CloseCode.NORMAL, "editor closed")
        elif self._sid is not None and self.info.transport is Transport.POLLING:
            await self._post_close()
        if self._task is not None:
            self._task.cancel()
            await self._closed.wait()

    # ------------------------------------------------------------------ the loop

    async def _loop(self) -> None:
        while not self._closing:
            self._wake.clear()
            if not self._tokens:
                await self._wake.wait()  # nobody needs the connection yet
                continue
            delay: float | None = None
            try:
                await self._connect_and_serve()
                delay = 0.0 if self.info.up else None
            except ConnectionLost as exc:
                self._note(exc)
                delay = 0.0  # a carrier that was up dropped: resume at once
            except errors.NotCoscribeV2 as exc:
                log.info("%s does not speak coscribe.v2 (%s): one WebSocket per document",
                         self.server, exc)  # fmt: skip
                self._legacy = True
                self._set(up=False, transport=Transport.LEGACY, problem=None, last_error=str(exc))
                await self._wake.wait()
                continue
            except errors.ProxyAuthRequired as exc:
                self._set(up=False, problem=Problem.PROXY_AUTH, last_error=str(exc), retry_in=None)
                await self._wake.wait()
                continue
            except errors.ServerRefused as exc:
                if not exc.retryable:
                    self._refused_tokens.add(self._token_used)
                    if self._session_token() not in self._refused_tokens:
                        continue  # another document's token may open the session
                    self._set(
                        up=False,
                        problem=Problem.DENIED,
                        last_error=str(exc),
                        retry_in=None,
                        refusal=exc.why,
                    )
                    await self._wake.wait()
                    continue
                self._note(exc)
            except errors.Blocked as exc:
                self._set(up=False, problem=Problem.BLOCKED, last_error=str(exc))
            except (errors.Unreachable, SessionEnded, ProtocolError) as exc:
                self._note(exc)
            if self._closing:
                return
            if delay is None or delay > 0:
                delay = self.backoff.next_delay()
            elif self.carriers and self.info.since > time.time() - 1.0:
                delay = min(self.backoff.next_delay(), 1.0)  # flapping: do not spin
            self._set(up=False, retry_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _note(self, exc: BaseException) -> None:
        problem = self.info.problem if self.info.problem is Problem.BLOCKED else Problem.UNREACHABLE
        self._set(up=False, problem=problem, last_error=str(exc) or type(exc).__name__)

    async def _connect_and_serve(self) -> None:
        if self._sid is not None and time.monotonic() - self._heard_at > self._timing.timeout:
            # The server expired the session by now. Resuming it could only fail, and
            # behind a load balancer that routes by session id (docs/deploy.md §4) a dead
            # node's 502 would never say so: open a new one.
            self._new_session_needed()
        if not self._ws_blocked:
            try:
                ws, params = await self._open_ws(resume=self._sid is not None)
            except errors.WebSocketBlocked as exc:
                log.info("WebSocket to %s blocked (%s): using long polling", self.server, exc)
                self._ws_blocked = True
                self._set(websocket_blocked=True, last_error=str(exc))
            else:
                await self._serve_ws(ws, params)
                return
        await self._serve_polling()

    async def _open_ws(self, *, resume: bool) -> tuple[ClientConnection, SessionParams]:
        """A WebSocket carrying the session (resumed if ``resume``), with the server's
        session parameters (its first frame). Raises the errors of ``open_websocket``."""
        target = "/"
        if resume and self._sid is not None:
            target += "?" + urlencode({"sid": self._sid})
        url = self.endpoint.ws_url(target)
        opened = time.monotonic()
        try:
            ws = await open_websocket(
                url,
                proxy=self.proxy_resolver(self.server),
                ssl=self.ssl,
                subprotocols=[SUBPROTOCOL_V2],
                headers=self._auth_headers(new_session=not resume),
                open_timeout=self.ws_open_timeout,
                max_size=MAX_MESSAGE_SIZE,
                ping_interval=self.heartbeat,
                ping_timeout=self.heartbeat * 4 / 3,
                close_timeout=self.heartbeat / 3,
            )
        except errors.UnknownSession:
            if not resume:
                raise
            self._new_session_needed()
            return await self._open_ws(resume=False)
        if ws.subprotocol != SUBPROTOCOL_V2:
            await ws.close()
            raise errors.NotCoscribeV2("the WebSocket at / did not select coscribe.v2")
        try:
            async with asyncio.timeout(self.ws_open_timeout):
                first = await ws.recv()
            frame = decode_frame(first if isinstance(first, bytes) else first.encode())
        except (TimeoutError, ConnectionClosed, DecodeError) as exc:
            await ws.close()
            raise errors.WebSocketBlocked(f"no session on the WebSocket ({exc!r})") from None
        if not isinstance(frame, SessionParams):
            await ws.close()
            raise errors.WebSocketBlocked("the WebSocket did not start with the session")
        self._rtt = time.monotonic() - opened
        return ws, frame

    # ------------------------------------------------------------------ sessions

    def _adopt(self, params: SessionParams) -> None:
        """The server's session: a new one (documents start over) or the one we had."""
        if params.sid != self._sid:
            self._lose_channels(ConnectionLost("new session"))
            self._sid = params.sid
            self._bound_token = self._token_used
            self._link = ReliableLink()
            self.sessions_opened += 1
        self._timing = PollTiming(hold=params.hold, timeout=params.timeout)
        self._heard_at = time.monotonic()

    def _new_session_needed(self) -> None:
        self._sid = None
        self._lose_channels(ConnectionLost("the server no longer has the session"))

    def _lose_channels(self, exc: BaseException) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel._finish(exc)

    def _session_token(self) -> str | None:
        for token in self._tokens.values():
            if token not in self._refused_tokens:
                return token
        return next(iter(self._tokens.values()), None)

    def _auth_headers(self, *, new_session: bool = False) -> dict[str, str] | None:
        """The session's credentials: every request of a session presents the token it was
        opened with (the server binds the session to it); a new one picks a token."""
        if self._sid is not None and not new_session:
            token = self._bound_token
        else:
            token = self._token_used = self._session_token()
        return {"Authorization": f"Bearer {token}"} if token else None

    def _send(self, payload: bytes) -> None:
        self._link.send(payload)
        self._outbox.set()

    def flush(self) -> None:
        """Write the queued payloads to the WebSocket carrier now, in this call.

        Why: the writer task runs an event-loop turn later, and in the editor Qt repaints
        the window first: a typed character waited ~2-4 ms (the repaint and two loop hops)
        before it left. The editor flushes at the end of each key press instead. What the
        carrier cannot take at once (no WebSocket carrier, not open, or data still waiting
        in its buffer: flow control) is left to the writer task, which waits for the
        buffer to drain; the frames go out in the same order either way (each is taken
        from the reliable link and written to the transport in one step).
        """
        ws = self._ws
        link = self._link
        if ws is None or not (link.has_unsent or link.ack_due):
            return
        if ws.protocol.state is not State.OPEN or ws.transport.get_write_buffer_size():
            return
        while link.has_unsent or link.ack_due:
            ws.protocol.send_binary(link.take_frame().encode())
        ws.send_data()

    def _closing_channel(self, channel: Channel) -> bool:
        """True if ``channel`` is no longer ours (nothing to tell the server)."""
        return self._channels.get(channel.key) is not channel

    def _dispatch(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            name, message = mux.decode_payload(payload)
            control = mux.decode_control(message)
            channel = self._channels.get(name)
            if channel is None:
                continue  # a document closed meanwhile
            if isinstance(control, mux.CloseDocument):
                del self._channels[name]
                channel._finish(ChannelClosed(control.code, control.reason))
            elif isinstance(control, mux.OpenDocument):
                raise ProtocolError("the server sent OPEN_DOCUMENT")
            else:
                channel._deliver(message)

    # ------------------------------------------------------------------ WebSocket carrier

    async def _serve_ws(self, ws: ClientConnection, params: SessionParams) -> None:
        self._adopt(params)
        self._ws = ws
        self.carriers += 1
        try:
            link = self._link
            link.rewind()  # resend whatever the last carrier may have lost
            await ws.send(link.take_frame().encode())
            self._set(up=True, transport=Transport.WEBSOCKET, problem=None, retry_in=None)
            result = await _first_outcome(
                partial(self._ws_reader, ws), partial(self._ws_writer, ws)
            )
        except ConnectionClosed:
            result = _Outcome(ConnectionLost("the WebSocket closed"))
        finally:
            self._ws = None
            if not self._closing:
                with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                    await asyncio.wait_for(ws.close(), 1.0)
        self._raise(result)

    async def _ws_reader(self, ws: ClientConnection, finish: Finish) -> None:
        loop = asyncio.get_running_loop()
        ack_timer: asyncio.TimerHandle | None = None

        def ack() -> None:
            nonlocal ack_timer
            ack_timer = None
            self._outbox.set()

        try:
            async for data in ws:
                frame = decode_frame(data if isinstance(data, bytes) else data.encode())
                if isinstance(frame, CloseFrame):
                    finish(_Outcome(SessionEnded(frame.code, frame.reason)))
                    return
                if not isinstance(frame, DataFrame):
                    raise ProtocolError("unexpected frame on the WebSocket")
                self._heard_at = time.monotonic()
                self._dispatch(self._link.receive(frame))
                if self._link.ack_due and ack_timer is None:
                    ack_timer = loop.call_later(ACK_DELAY, ack)
            code = ws.close_code or 1006
            finish(_Outcome(self._closed_error(code, ws.close_reason or "")))
        except ConnectionClosed:
            finish(_Outcome(self._closed_error(ws.close_code or 1006, ws.close_reason or "")))
        except (DecodeError, ProtocolError) as exc:
            log.warning("protocol error from %s: %s", self.server, exc)
            finish(_Outcome(exc))
        finally:
            if ack_timer is not None:
                ack_timer.cancel()

    def _closed_error(self, code: int, reason: str) -> BaseException:
        if code == CloseCode.NORMAL and reason == "session moved":
            return ConnectionLost("the session moved to another connection")
        with contextlib.suppress(ValueError):
            if not CloseCode(code).retryable:
                return SessionEnded(code, reason)
        return ConnectionLost(f"the WebSocket closed ({code} {reason})".strip())

    async def _ws_writer(self, ws: ClientConnection, finish: Finish) -> None:
        link = self._link
        try:
            while True:
                await self._outbox.wait()
                self._outbox.clear()
                while link.has_unsent or link.ack_due:
                    await ws.send(link.take_frame().encode())
        except ConnectionClosed:
            finish(_Outcome(ConnectionLost("the WebSocket closed")))

    # ------------------------------------------------------------------ polling carrier

    def _poll_target(self, query: PollQuery) -> str:
        return "/?" + query.encode()

    async def _serve_polling(self) -> None:
        proxy = self.proxy_resolver(self.server)
        getter = HttpConnection(self.endpoint, proxy=proxy, ssl=self.ssl)
        poster = HttpConnection(self.endpoint, proxy=proxy, ssl=self.ssl)
        try:
            if self._sid is None:
                await self._open_polling_session(getter)
            client = PollingClient(self._link, self._timing, asyncio.get_running_loop().time)
            self.carriers += 1
            self._set(up=True, transport=Transport.POLLING, problem=None, retry_in=None)
            result = await _first_outcome(
                partial(self._poll_gets, client, getter),
                partial(self._poll_posts, client, poster),
                self._probe_websocket,
            )
        finally:
            await getter.close()
            await poster.close()
        if result.websocket is not None and result.params is not None:
            log.info("WebSocket to %s works now: the session moves to it", self.server)
            self._ws_blocked = False
            self._set(websocket_blocked=False)
            await self._serve_ws(result.websocket, result.params)
            return
        if isinstance(result.error, errors.UnknownSession):
            self._new_session_needed()
            raise ConnectionLost(str(result.error))
        self._raise(result)

    async def _open_polling_session(self, http: HttpConnection) -> None:
        started = time.monotonic()
        response = await http.request(
            "GET",
            self._poll_target(PollQuery()),
            headers=self._auth_headers(new_session=True),
            timeout=10.0,
        )
        if response.status != 200 or not response.from_coscribe:
            raise status_error(response)
        try:
            params = parse_open_answer(response.body)
        except DecodeError as exc:
            raise errors.NotCoscribeV2(f"not a session: {exc}") from None
        self._rtt = time.monotonic() - started
        self._adopt(params)

    async def _poll_gets(self, client: PollingClient, http: HttpConnection, finish: Finish) -> None:
        failures = 0
        sid = self._sid
        assert sid is not None
        while True:
            timeout = self._timing.hold + self._timing.grace
            try:
                response = await http.request(
                    "GET",
                    self._poll_target(client.get_query(sid)),
                    headers=self._auth_headers(),
                    timeout=timeout,
                )
                if response.status != 200:
                    raise status_error(response)
                self._heard_at = time.monotonic()
                self._dispatch(client.on_get_answer(response.body))
            except errors.Unreachable as exc:
                failures += 1
                if failures > POLL_RETRIES:
                    finish(_Outcome(ConnectionLost(f"polling failed: {exc}")))
                    return
                continue  # a poll cut on the way: ask again (the server resends)
            except (errors.NetworkError, SessionEnded, DecodeError, ProtocolError) as exc:
                finish(_Outcome(exc))
                return
            failures = 0
            if client.moved:
                finish(_Outcome(ConnectionLost("the session moved to another connection")))
                return

    async def _poll_posts(
        self, client: PollingClient, http: HttpConnection, finish: Finish
    ) -> None:
        sid = self._sid
        assert sid is not None
        failures = 0
        # A new carrier: what the last one left unacknowledged goes at once, not with the
        # next local message (an idle editor might send none: a document whose opening was
        # lost with a carrier would never open).
        self._outbox.set()
        while True:
            await self._outbox.wait()
            self._outbox.clear()
            while (body := client.post_body()) is not None:
                acked = self._link.acked
                started = time.monotonic()
                try:
                    response = await http.request(
                        "POST",
                        self._poll_target(PollQuery(sid, self._link.received)),
                        headers=self._auth_headers(),
                        body=body,
                        timeout=30.0,
                    )
                    if response.status != 200:
                        raise status_error(response)
                    client.on_post_answer(response.body)
                except errors.Unreachable as exc:
                    failures += 1
                    if failures > POLL_RETRIES:
                        finish(_Outcome(ConnectionLost(f"sending failed: {exc}")))
                        return
                    continue  # sent again, with whatever came meanwhile
                except (errors.NetworkError, SessionEnded, DecodeError, ProtocolError) as exc:
                    finish(_Outcome(exc))
                    return
                failures = 0
                self._heard_at = time.monotonic()
                self._rtt = self._heard_at - started
                if self._link.acked == acked:
                    break  # nothing acknowledged: wait for more to send, do not spin

    async def _probe_websocket(self, finish: Finish) -> None:
        """While polling: try the WebSocket now and then; one that opens takes over."""
        for attempt in range(1_000_000):
            delays = self.probe_delays
            if not delays:
                return
            await asyncio.sleep(delays[min(attempt, len(delays) - 1)])
            try:
                ws, params = await self._open_ws(resume=True)
            except errors.NetworkError as exc:
                log.debug("WebSocket probe to %s: %s", self.server, exc)
                continue
            if params.sid != self._sid:
                await ws.close()
                continue
            finish(_Outcome(websocket=ws, params=params))
            return

    async def _post_close(self) -> None:
        if self._sid is None:
            return
        http = HttpConnection(
            self.endpoint, proxy=self.proxy_resolver(self.server), ssl=self.ssl, connect_timeout=1
        )
        with contextlib.suppress(errors.NetworkError, OSError):
            await http.request(
                "POST",
                self._poll_target(PollQuery(self._sid, self._link.received)),
                headers=self._auth_headers(),
                body=CloseFrame(int(CloseCode.NORMAL), "editor closed").encode(),
                timeout=1.0,
            )
        await http.close()

    # ------------------------------------------------------------------ state

    def _raise(self, result: _Outcome) -> None:
        if result.error is not None:
            raise result.error
        raise ConnectionLost("carrier ended")

    def _set(self, **changes: Any) -> None:
        info = self.info
        if "up" in changes or "problem" in changes:
            if (
                changes.get("up", info.up) != info.up
                or changes.get("problem", info.problem) != info.problem
            ):
                changes["since"] = time.time()
        if changes.get("up"):
            changes.setdefault("last_error", info.last_error)
        proxy = self.proxy_resolver(self.server)
        changes["proxy"] = proxy.describe() if proxy is not None else "none (direct connection)"
        new = replace(info, **changes)
        if new == info:
            return
        self.info = new
        self._version += 1
        self._changed.set()
        for cb in list(self._listeners):
            cb(new)
