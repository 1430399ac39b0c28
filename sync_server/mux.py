"""coscribe.v2 sessions on the server: many documents over one connection, any carrier.

A :class:`MuxSession` is one client's session: its :class:`~shared.reliable.ReliableLink`
(sequence numbers, acknowledgements, resending), the documents it opened
(:class:`DocChannel`, one per document, each the room's ``Peer`` exactly like a coscribe.v1
WebSocket) and its carrier: a WebSocket (``serve_websocket``) or HTTP long polls
(``poll_get``/``poll_post``, from ``sync_server.polling``), with the polling timers of
:class:`~shared.polling.PollingServer`. A carrier may come and go: a session outlives its
WebSocket for ``PollTiming.timeout`` seconds, so a client that lost it (or moves from
polling to a WebSocket) resumes without losing or repeating a message.

What stays per document (as on a coscribe.v1 connection): admission with that document's
token (:meth:`Admission.admit_document`), the room's session and gate, the message rate,
the whole-document sync rate, expiry of the token (4408), revocation (4410, through the
server's live set) and protocol errors, each closing that document only
(``CLOSE_DOCUMENT``). What is per session: the outbound bound (the link's unacknowledged
bytes: over ``max_outbound_bytes``, or stalled for ``stall_timeout``, the session closes
with 4429), per-address accounting, expiry of a session nobody polls, and shutdown.

:class:`SessionHub` owns every session (a lifecycle ``Resource``: one task per session in
its task group) and finds them by id. Session ids are 144 random bits, prefixed with the
node's id when one is configured (so a load balancer can route a session's polls to the
node that holds it, docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from shared.errors import CloseCode, DecodeError, ProtocolError
from shared.mux import (
    CloseDocument,
    OpenDocument,
    decode_control,
    decode_payload,
    document_of,
    name_prefix,
)
from shared.polling import ClientClosed, PollingServer, PollTiming
from shared.reliable import CloseFrame, DataFrame, ReliableLink, SessionParams, decode_frame
from shared.session import SyncSession

from .admission import Admission, Refusal, SessionGrant
from .auth import Principal
from .config import ServerConfig
from .connection import LARGE_MESSAGE, PROBE_TIMEOUT, deliver, expiry_timer, send_close
from .lifecycle import Resource
from .metrics import Metrics, render_rows
from .outbound import OutboundMonitor
from .ratelimit import TokenBucket
from .registry import RoomRefused, RoomRegistry
from .upgraded import reset

if TYPE_CHECKING:
    from .room import Room

log = logging.getLogger("coscribe.session")

#: Seconds before a pure acknowledgement goes out on a WebSocket when nothing else does.
ACK_DELAY = 0.2
#: Ended sessions remembered (to tell a late poll why), at most, and for how long.
TOMBSTONES = 4096


class DocChannel:
    """One document opened in a session: the room's ``Peer``."""

    __slots__ = (
        "_expiry",
        "_mux",
        "_prefix",
        "_rate",
        "_sync_requests",
        "close_code",
        "closing",
        "key",
        "label",
        "name",
        "principal",
        "room",
        "session",
    )

    session: SyncSession

    def __init__(self, mux: MuxSession, key: str, principal: Principal) -> None:
        config = mux.hub.config
        self._mux = mux
        self.key = key  # the channel: the document's name, or name#n
        self.name = document_of(key)
        self.principal = principal
        self.label = f"{mux.label}/{key}"
        self._prefix = name_prefix(key)
        self._rate = TokenBucket(config.message_rate, config.message_burst)
        self._sync_requests = TokenBucket(config.sync_request_rate, config.sync_request_burst)
        self._expiry: asyncio.TimerHandle | None = None
        self.room: Room | None = None
        self.closing = False
        self.close_code: CloseCode | None = None

    # ------------------------------------------------------------------ Peer

    def write(self, message: bytes) -> None:
        if self.closing:
            return
        hub = self._mux.hub
        if len(message) >= LARGE_MESSAGE and not hub.monitor.admits(len(message)):
            hub.metrics.errors_by_kind["outbound_total"] += 1
            self.kick(CloseCode.TRY_AGAIN_LATER, "server is busy; try again later")
            return
        hub.metrics.messages_out += 1
        hub.metrics.bytes_out += len(message)
        self._mux.send_payload(self._prefix + message)

    def kick(self, code: CloseCode, reason: str) -> None:
        """Close this document only (CLOSE_DOCUMENT); the session goes on."""
        if self.closing:
            return
        self._mux.hub.metrics.closes_by_code[int(code)] += 1
        self._end(code, reason)

    def probe(self) -> None:
        self._mux.probe()

    def state_requested(self, size: int) -> None:
        if not self._sync_requests.take():
            self._mux.hub.metrics.errors_by_kind["sync_request_rate"] += 1
            self.kick(CloseCode.POLICY_VIOLATION, "too many sync requests")

    # ------------------------------------------------------------------ session side

    def receive(self, message: bytes) -> None:
        room = self.room
        if self.closing or room is None:
            return
        deliver(room, self, message, rate=self._rate, metrics=self._mux.hub.metrics,
                fields={"peer": self.label}, logger=log)  # fmt: skip

    def joined(self, room: Room) -> None:
        """The room is loaded: start the document's conversation (HELLO, step 1...)."""
        hub = self._mux.hub
        self.room = room
        self.session = room.new_session(
            self, extensions=True, role=self.principal.role, limits=hub.config.limits
        )
        self._expiry = expiry_timer(self.principal, self.kick)
        hub.live.add(self)
        hub.metrics.connections_opened += 1
        room.join(self)

    def _end(self, code: CloseCode, reason: str, *, tell: bool = True) -> None:
        self.closing = True
        self.close_code = code
        if tell:
            self._mux.send_payload(self._prefix + CloseDocument(int(code), reason).encode())
        # Leave on the next turn: this may run inside the room's own receive().
        asyncio.get_running_loop().call_soon(self.finish)

    def finish(self) -> None:
        """Leave the room and forget the document (idempotent)."""
        self.closing = True
        self._mux.forget(self)
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        room, self.room = self.room, None
        if room is None:
            return
        hub = self._mux.hub
        room.leave(self)
        hub.registry.release(room)
        hub.live.discard(self)
        hub.metrics.connections_closed += 1


class MuxSession:
    """One client's coscribe.v2 session (see module docstring)."""

    __slots__ = (
        "_ack_timer",
        "_flush_scheduled",
        "_last_request",
        "_opening",
        "_polls",
        "_probing",
        "_tg",
        "_wake",
        "channels",
        "close_code",
        "closed",
        "grant",
        "hub",
        "ip",
        "label",
        "link",
        "polling",
        "sid",
        "written",
        "ws",
    )

    def __init__(self, hub: SessionHub, sid: str, grant: SessionGrant, ip: str) -> None:
        loop = asyncio.get_running_loop()
        self.hub = hub
        self.sid = sid
        self.grant = grant
        self.ip = ip
        self.label = f"{ip} {sid[-6:]}"
        self.link = ReliableLink()
        self.polling = PollingServer(self.link, hub.timing, loop.time)
        self.channels: dict[str, DocChannel] = {}
        self._opening: set[str] = set()
        self._polls: dict[int, asyncio.Future[bytes]] = {}
        self.ws: ServerConnection | None = None
        self.written = 0
        self.closed = False
        self.close_code: CloseCode | None = None
        self._flush_scheduled = False
        self._ack_timer: asyncio.TimerHandle | None = None
        self._wake = asyncio.Event()
        self._last_request = loop.time()
        self._probing = False
        self._tg: asyncio.TaskGroup | None = None

    # ------------------------------------------------------------------ lifetime

    async def run(self) -> None:
        """The session's task: its timers, its documents' opening; cleans up at the end."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                while not self.closed:
                    delay = self.polling.deadline() - loop.time()
                    if delay == math.inf:  # a WebSocket carries the session: no timer
                        await self._wake.wait()
                    elif delay > 0:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay):
                                await self._wake.wait()
                    else:
                        await asyncio.sleep(0)  # never hold the loop, whatever the clock says
                    self._wake.clear()
                    self.polling.tick()
                    self._answer_polls()
                    if self.polling.expired and not self.closed:
                        self.hub.metrics.errors_by_kind["session_expired"] += 1
                        self.kick(CloseCode.GOING_AWAY, "session expired")
        finally:
            self._tg = None
            self._cleanup()

    def kick(self, code: CloseCode, reason: str) -> None:
        """Close the whole session (every document) with ``code``; idempotent."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self.hub.metrics.closes_by_code[int(code)] += 1
        for channel in list(self.channels.values()):
            channel.closing = True
        self.polling.close(code, reason)
        self._answer_polls()
        ws = self.ws
        if ws is not None and send_close(ws, code, reason, logger=log, peer=self.label):
            asyncio.get_running_loop().call_later(self.hub.config.close_timeout, _abort_if_open, ws)
        self.hub.ended(self, CloseFrame(int(code), reason))
        self._wake.set()

    def _cleanup(self) -> None:
        for channel in list(self.channels.values()):
            channel.finish()
        for fut in self._polls.values():
            if not fut.done():
                fut.cancel()
        self._polls.clear()
        if self._ack_timer is not None:
            self._ack_timer.cancel()
        self.hub.forget(self)

    def forget(self, channel: DocChannel) -> None:
        if self.channels.get(channel.key) is channel:
            del self.channels[channel.key]

    # ------------------------------------------------------------------ outbound (Backlogged)

    def buffered(self) -> int:
        """Bytes sent and not yet acknowledged by the client (and not yet sent)."""
        return self.link.unacked_bytes

    def send_payload(self, payload: bytes) -> None:
        if self.closed:
            return
        if self.link.unacked_bytes > self.hub.config.max_outbound_bytes:
            self.hub.metrics.slow_consumers += 1
            self.kick(CloseCode.SLOW_CONSUMER, "outbound queue overflow: client reads too slowly")
            return
        self.link.send(payload)
        self.written += len(payload)
        self.hub.monitor.wrote(self, len(payload), self.link.unacked_bytes)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Everything queued during this loop turn leaves in one frame (or poll answer)."""
        self._flush_scheduled = False
        if self.closed:
            return
        ws = self.ws
        if ws is None:
            self.polling.wake()
            self._answer_polls()
            return
        if ws.protocol.state is not State.OPEN:
            return
        try:
            while self.link.has_unsent:
                ws.protocol.send_binary(self.link.take_frame().encode())
            if self.link.ack_due:
                ws.protocol.send_binary(self.link.ack_frame().encode())
            ws.send_data()
        except Exception as exc:  # the transport broke; the WebSocket's reader ends
            log.debug("write failed", extra={"fields": {"peer": self.label, "error": repr(exc)}})

    def _schedule_ack(self) -> None:
        if self._ack_timer is None and self.ws is not None:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(ACK_DELAY, self._ack_now)

    def _ack_now(self) -> None:
        self._ack_timer = None
        if self.link.ack_due:
            self._flush()

    def probe(self) -> None:
        """Is the client still there? Close the session if it does not show up in time."""
        if self.closed or self._probing:
            return
        self._probing = True
        tg = self._tg
        if tg is not None:
            tg.create_task(self._probe(), name=f"probe {self.label}")

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            ws = self.ws
            if ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    pong = await ws.ping()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(pong, PROBE_TIMEOUT)
                        return
            else:
                # A held poll is answered now: a live client polls again at once.
                self.polling.nudge()
                self._answer_polls()
                await asyncio.sleep(PROBE_TIMEOUT)
                if self._last_request > started:
                    return
            self.hub.metrics.errors_by_kind["probe_timeout"] += 1
            self.kick(CloseCode.GOING_AWAY, "no answer to probe")
        finally:
            self._probing = False

    # ------------------------------------------------------------------ inbound

    def receive_payloads(self, payloads: list[bytes]) -> None:
        """Dispatch payloads the link accepted (new ones, in order)."""
        for payload in payloads:
            if self.closed:
                return
            try:
                name, message = decode_payload(
                    payload, max_name_length=self.hub.config.limits.max_document_name_length
                )
                control = decode_control(message)
            except DecodeError as exc:
                self.hub.metrics.errors_by_kind["DecodeError"] += 1
                self.kick(exc.close_code, f"malformed payload: {exc}")
                return
            if isinstance(control, OpenDocument):
                self._open(name, control.token)
            elif isinstance(control, CloseDocument):
                channel = self.channels.get(name)
                if channel is not None and not channel.closing:
                    channel._end(CloseCode.NORMAL, "closed")
            else:
                channel = self.channels.get(name)
                if channel is not None:
                    channel.receive(message)
                else:
                    # The server closed it and the client had not heard yet, or it is
                    # still opening (a client sends nothing before HELLO): discard.
                    self.hub.metrics.errors_by_kind["stray_document_message"] += 1

    def _open(self, key: str, token: str) -> None:
        if key in self.channels or key in self._opening:
            self._refuse(key, CloseCode.PROTOCOL_ERROR, "document already open")
            return
        hub = self.hub
        decided = hub.admission.admit_document(token, document_of(key))
        if isinstance(decided, Refusal):
            hub.metrics.connections_rejected += 1
            hub.metrics.errors_by_kind[f"refused_{decided.metric}"] += 1
            self._refuse(key, decided.close_code, decided.reason)
            return
        if len(self.channels) + len(self._opening) >= hub.max_documents:
            self._refuse(key, CloseCode.TRY_AGAIN_LATER, "too many documents in one session")
            return
        tg = self._tg
        if tg is None:
            return
        self._opening.add(key)
        tg.create_task(self._join(DocChannel(self, key, decided)), name=f"open {key}")

    def _refuse(self, key: str, code: CloseCode, reason: str) -> None:
        self.send_payload(name_prefix(key) + CloseDocument(int(code), reason).encode())

    async def _join(self, channel: DocChannel) -> None:
        hub = self.hub
        try:
            room = await hub.registry.acquire(channel.name)
        except RoomRefused as exc:
            hub.metrics.errors_by_kind[exc.metric] += 1
            log.warning("refused: %s", exc, extra={"fields": {"peer": channel.label}})
            self._opening.discard(channel.key)
            channel._end(exc.close_code, exc.reason)
            return
        self._opening.discard(channel.key)
        if self.closed:
            hub.registry.release(room)
            return
        self.channels[channel.key] = channel
        channel.joined(room)

    def _answer_polls(self) -> None:
        for poll, body in self.polling.answers():
            self.hub.polls_total += 1
            fut = self._polls.pop(poll, None)
            if fut is not None and not fut.done():
                fut.set_result(body)

    # ------------------------------------------------------------------ polling carrier

    async def poll_get(self, ack: int) -> bytes:
        """A long poll: the answer body, when there is one (see ``PollingServer``).

        Raises:
            ProtocolError: ``ack`` names payloads never sent (the session is closed).
        """
        self._touch()
        if self.ws is not None and not self.closed:
            # The client polls although a WebSocket was attached: it gave up on that one.
            self._drop_websocket()
        try:
            poll = self.polling.get(ack)
        except ProtocolError as exc:
            self.kick(exc.close_code, str(exc))
            raise
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._polls[poll] = fut
        self._answer_polls()
        self._wake.set()  # re-arm the hold timer
        try:
            return await fut
        except asyncio.CancelledError:
            self.polling.abandon(poll)
            self._polls.pop(poll, None)
            raise

    def poll_post(self, body: bytes) -> bytes:
        """A POST with the client's payloads; returns the answer body.

        Raises:
            DecodeError, ProtocolError: malformed (the session is closed).
        """
        self._touch()
        try:
            fresh, answer = self.polling.post(body)
        except ClientClosed:
            self.kick(CloseCode.NORMAL, "client closed the session")
            return CloseFrame(int(CloseCode.NORMAL), "").encode()
        except ProtocolError as exc:
            self.kick(exc.close_code, str(exc))
            raise
        self.receive_payloads(fresh)
        return answer

    def _touch(self) -> None:
        self._last_request = asyncio.get_running_loop().time()

    # ------------------------------------------------------------------ WebSocket carrier

    async def serve_websocket(self, ws: ServerConnection) -> None:
        """Carry the session over ``ws`` until it closes (the session may live on)."""
        params = self.hub.params(self.sid)
        try:
            await ws.send(params.encode())
            attached = False
            async for data in ws:
                self._touch()
                if self.closed:
                    continue
                if isinstance(data, str):
                    self.kick(CloseCode.PROTOCOL_ERROR, "text frame")
                    continue
                try:
                    frame = decode_frame(data)
                    if isinstance(frame, CloseFrame):
                        self.kick(CloseCode.NORMAL, "client closed the session")
                        continue
                    if not isinstance(frame, DataFrame):
                        raise DecodeError("a client sends DATA frames")
                    if not attached:
                        # The client's first frame says what it has: resend the rest here.
                        self.link.on_ack(frame.ack)
                        self._attach(ws)
                        attached = True
                    fresh = self.link.receive(frame)
                except ProtocolError as exc:
                    self.hub.metrics.errors_by_kind[type(exc).__name__] += 1
                    self.kick(exc.close_code, type(exc).__name__)
                    continue
                self.receive_payloads(fresh)
                if self.link.ack_due:
                    self._schedule_ack()
        except ConnectionClosed:
            pass
        finally:
            if self.ws is ws:
                self.ws = None
                self.polling.detach_stream()
                self._wake.set()

    def _attach(self, ws: ServerConnection) -> None:
        if self.ws is not None and self.ws is not ws:
            self._drop_websocket()
        self.ws = ws
        self.link.rewind()
        self.polling.attach_stream()
        self._answer_polls()
        self._flush()

    def _drop_websocket(self) -> None:
        ws, self.ws = self.ws, None
        self.polling.detach_stream()
        self._wake.set()  # the session's expiry clock runs again
        if ws is not None and ws.protocol.state is State.OPEN:
            with contextlib.suppress(Exception):
                ws.protocol.send_close(int(CloseCode.NORMAL), "session moved")
                ws.send_data()
            asyncio.get_running_loop().call_later(self.hub.config.close_timeout, _abort_if_open, ws)


def _abort_if_open(ws: ServerConnection) -> None:
    if ws.protocol.state is not State.CLOSED:
        reset(ws.transport)


class SessionHub(Resource):
    """Every coscribe.v2 session of the server (see module docstring)."""

    def __init__(
        self,
        *,
        config: ServerConfig,
        registry: RoomRegistry,
        metrics: Metrics,
        monitor: OutboundMonitor,
        admission: Admission,
        timing: PollTiming,
        node_id: str | None = None,
        max_documents: int = 1000,
    ) -> None:
        super().__init__("session hub")
        self.config = config
        self.registry = registry
        self.metrics = metrics
        self.monitor = monitor
        self.admission = admission
        #: The documents open in all sessions (revocation and shutdown walk them).
        self.live: set[DocChannel] = set()
        self.timing = timing
        self.max_documents = max_documents
        self._prefix = f"{node_id}." if node_id else ""
        self.sessions: dict[str, MuxSession] = {}
        self._ended: OrderedDict[str, tuple[float, CloseFrame]] = OrderedDict()
        self.opened_total = 0
        self.polls_total = 0

    async def _open(self, stack: AsyncExitStack) -> None:
        pass

    async def _close(self) -> None:
        """Close every session that is still open (the server already told them why)."""
        for session in list(self.sessions.values()):
            session.kick(CloseCode.GOING_AWAY, "server shutdown")

    def close_all(self, code: CloseCode, reason: str) -> None:
        for session in list(self.sessions.values()):
            session.kick(code, reason)

    # ------------------------------------------------------------------ sessions

    def params(self, sid: str) -> SessionParams:
        return SessionParams(
            sid=sid,
            hold=self.timing.hold,
            timeout=self.timing.timeout,
            max_frame=self.config.limits.max_message_size + 64 * 1024,
        )

    def create(self, grant: SessionGrant, ip: str) -> MuxSession:
        """A new session (the caller admitted it); raises InvalidState when closing."""
        self.life.require_open()
        sid = self._prefix + secrets.token_urlsafe(18)
        session = MuxSession(self, sid, grant, ip)
        self.run(session.run(), f"session {sid[-6:]}")
        self.sessions[sid] = session
        self.admission.opened(ip)
        self.opened_total += 1
        return session

    def find(self, sid: str, credential: bytes) -> MuxSession | CloseFrame | None:
        """The live session ``sid`` if ``credential`` matches the one it was opened with;
        the CLOSE frame of a session that ended recently; else None (unknown)."""
        session = self.sessions.get(sid)
        if session is not None:
            if hmac.compare_digest(session.grant.credential, credential):
                return session
            return None
        ended = self._ended.get(sid)
        if ended is not None and time.monotonic() - ended[0] < self.timing.timeout * 2:
            return ended[1]
        return None

    def ended(self, session: MuxSession, frame: CloseFrame) -> None:
        self._ended[session.sid] = (time.monotonic(), frame)
        while len(self._ended) > TOMBSTONES:
            self._ended.popitem(last=False)

    def forget(self, session: MuxSession) -> None:
        if self.sessions.pop(session.sid, None) is session:
            self.admission.closed(session.ip)
            self.monitor.forget(session)

    def render_metrics(self) -> str:
        websocket = sum(1 for s in self.sessions.values() if s.ws is not None)
        documents = sum(len(s.channels) for s in self.sessions.values())
        return render_rows(
            "coscribe_sessions",
            [
                ("", "gauge", "coscribe.v2 sessions open", websocket, '{transport="websocket"}'),
                ("", "gauge", "", len(self.sessions) - websocket, '{transport="polling"}'),
                ("_opened_total", "counter", "coscribe.v2 sessions opened", self.opened_total, ""),
                ("_documents", "gauge", "documents open in coscribe.v2 sessions", documents, ""),
                ("_polls_total", "counter", "long polls answered", self.polls_total, ""),
            ],
        )
