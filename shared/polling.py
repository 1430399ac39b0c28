"""HTTP long polling for coscribe.v2 sessions: when to answer, when a session is dead.

Sans-I/O, with an injected clock: the server's HTTP handler and the editor's polling loop
are thin pumps around :class:`PollingServer` and :class:`PollingClient`; delivery itself
(sequence numbers, acknowledgements, resending) is :class:`~shared.reliable.ReliableLink`.

The conversation (docs/protocol.md §10)::

    GET  /?transport=polling                     -> OPEN frame (a new session)
    GET  /?transport=polling&sid=S&ack=A         -> DATA frame: payloads after A, held until
                                                    there are some or ``hold`` s passed (an
                                                    empty DATA frame is the heartbeat)
    POST /?transport=polling&sid=S   body: DATA  -> DATA frame with the server's ack only

A GET that arrives while another is held answers the older one at once (empty): the client
gave up on it. The GET's ``ack`` tells the server what the client has, so a response lost
on the way is simply sent again by the next GET; a POST carries every payload the server
has not acknowledged yet, so a lost POST is repeated by the next one; duplicates are
dropped by sequence number. A session that a WebSocket carries answers polls with
UPGRADED; a closed one with its CLOSE frame. A session with no poll held and no request
for ``timeout`` s is expired by the server.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from .errors import CloseCode, DecodeError, RemoteError
from .reliable import (
    CloseFrame,
    DataFrame,
    ReliableLink,
    SessionParams,
    UpgradedFrame,
    decode_frame,
)

Clock = Callable[[], float]

#: The query parameter that marks a polling request (Engine.IO's name).
TRANSPORT_PARAM = "transport"
POLLING = "polling"


@dataclass(frozen=True, slots=True)
class PollTiming:
    """The timers of a polling session, in seconds.

    ``hold``: the server answers a poll without data after this (heartbeat). It must stay
    below proxies' idle timeouts (nginx: 60 s by default). ``timeout``: a session without
    any request for this long is dead (the server expires it; the client resumes within
    it). ``grace``: a client gives up on a poll unanswered after ``hold + grace``.
    """

    hold: float = 20.0
    timeout: float = 25.0
    grace: float = 10.0


@dataclass(frozen=True, slots=True)
class PollQuery:
    """The query of a polling request."""

    sid: str | None = None
    ack: int = 0

    def encode(self) -> str:
        params: dict[str, str] = {TRANSPORT_PARAM: POLLING}
        if self.sid is not None:
            params["sid"] = self.sid
            params["ack"] = str(self.ack)
        return urlencode(params)


def is_polling_query(query: str) -> bool:
    return f"{TRANSPORT_PARAM}={POLLING}" in query.split("&")


def parse_poll_query(query: str) -> PollQuery:
    """Parse the query of a polling request.

    Raises:
        DecodeError: not a polling query, or a malformed ``ack``.
    """
    fields = parse_qs(query, keep_blank_values=True, max_num_fields=16)
    if fields.get(TRANSPORT_PARAM) != [POLLING]:
        raise DecodeError("not a polling request")
    sid = fields.get("sid", [None])[0]
    raw_ack = fields.get("ack", ["0"])[0]
    if not raw_ack.isdigit() or len(raw_ack) > 16:
        raise DecodeError("malformed ack")
    return PollQuery(sid or None, int(raw_ack))


class PollingServer:
    """The server end of one session's polling carrier (and of its hand-over to a stream).

    Event style, like ``SyncSession``: the adapter reports what happened (:meth:`get`,
    :meth:`post`, :meth:`wake` after payloads were queued on ``link``, :meth:`abandon`,
    :meth:`tick` at :meth:`deadline`) and takes the poll answers to send with
    :meth:`answers`, each ``(poll id, response body)``.
    """

    __slots__ = (
        "_answers",
        "_clock",
        "_held",
        "_held_at",
        "_last_seen",
        "_next_id",
        "closed",
        "link",
        "polls",
        "streaming",
        "timing",
    )

    def __init__(self, link: ReliableLink, timing: PollTiming, clock: Clock) -> None:
        self.link = link
        self.timing = timing
        self._clock = clock
        self._held = 0  # id of the poll being held (0: none)
        self._held_at = 0.0
        self._next_id = 1
        self._last_seen = clock()
        self._answers: list[tuple[int, bytes]] = []
        #: A WebSocket carries the session: polls are answered UPGRADED.
        self.streaming = False
        #: Set once the session is over; every poll gets it.
        self.closed: CloseFrame | None = None
        #: Polls answered so far.
        self.polls = 0

    # ------------------------------------------------------------------ events

    def get(self, ack: int) -> int:
        """A poll arrived: the client has every payload up to ``ack``. Returns its id.

        Raises:
            ProtocolError: ``ack`` names payloads never sent.
        """
        self._last_seen = self._clock()
        poll = self._next_id
        self._next_id += 1
        if self._held:
            self._answer(self._held, self.link.ack_frame().encode())  # superseded
        self._held, self._held_at = poll, self._last_seen
        if self.closed is None and not self.streaming:
            self.link.on_ack(ack)
            self.link.rewind()
        self._service()
        return poll

    def post(self, body: bytes) -> tuple[list[bytes], bytes]:
        """A POST: returns the new payloads and the response body (our acknowledgement).

        Raises:
            ClientClosed: the body is the client's CLOSE frame (it leaves).
            DecodeError: the body is not a DATA frame.
            ProtocolError: it acknowledges payloads never sent.
        """
        self._last_seen = self._clock()
        frame = decode_frame(body)
        if isinstance(frame, CloseFrame):
            raise ClientClosed(frame.code, frame.reason)
        if not isinstance(frame, DataFrame):
            raise DecodeError("a poll request carries a DATA frame")
        if self.closed is not None:
            return [], self.closed.encode()
        fresh = self.link.receive(frame)
        return fresh, self.link.ack_frame().encode()

    def wake(self) -> None:
        """Payloads were queued on ``link``: a held poll carries them now."""
        if self._held:
            self._service()

    def abandon(self, poll: int) -> None:
        """The connection of poll ``poll`` went away before it was answered."""
        if poll == self._held:
            self._held = 0
            self._last_seen = self._clock()

    def tick(self) -> None:
        """Time passed: answer a held poll whose hold time is over (the heartbeat)."""
        self._service()

    def nudge(self) -> None:
        """Answer a held poll now, empty: a live client polls again at once (a probe)."""
        if self._held:
            self._answer(self._held, self.link.ack_frame().encode())
            self._held = 0

    def attach_stream(self) -> None:
        """A WebSocket carries the session from now on; a held poll is told UPGRADED.

        The caller rewinds ``link`` to the client's acknowledgement on the stream.
        """
        self.streaming = True
        self._last_seen = self._clock()
        self._service()

    def detach_stream(self) -> None:
        """The WebSocket went away; polls (or a new WebSocket) may resume the session."""
        self.streaming = False
        self._last_seen = self._clock()

    def close(self, code: CloseCode | int, reason: str = "") -> None:
        """End the session: a held poll and every later one get the CLOSE frame."""
        if self.closed is None:
            self.closed = CloseFrame(int(code), reason)
        self._service()

    # ------------------------------------------------------------------ queries

    def answers(self) -> list[tuple[int, bytes]]:
        """Take the answers to send now: (poll id, response body)."""
        out, self._answers = self._answers, []
        return out

    @property
    def holding(self) -> bool:
        return self._held != 0

    def deadline(self) -> float:
        """When :meth:`tick` (or the expiry check) must run next; ``math.inf`` while a
        stream carries the session and no poll is held (nothing can fall due: the stream's
        own keepalive notices a dead peer, and :meth:`detach_stream` starts the clock).

        After :meth:`tick`, the deadline is in the future unless the session
        :attr:`expired`, so an adapter that sleeps until it never spins.
        """
        if self._held:
            return self._held_at + self.timing.hold
        if self.streaming:
            return math.inf
        return self._last_seen + self.timing.timeout

    @property
    def expired(self) -> bool:
        """No poll held, no stream, and no request for ``timeout`` s: the client is gone."""
        if self._held or self.streaming:
            return False
        return self._clock() - self._last_seen >= self.timing.timeout

    # ------------------------------------------------------------------ internals

    def _service(self) -> None:
        poll = self._held
        if not poll:
            return
        if self.closed is not None:
            body = self.closed.encode()
        elif self.streaming:
            body = UpgradedFrame().encode()
        elif self.link.has_unsent:
            body = self.link.take_frame().encode()
        elif self._clock() >= self._held_at + self.timing.hold:
            body = self.link.ack_frame().encode()  # heartbeat
        else:
            return
        self._answer(poll, body)
        self._held = 0

    def _answer(self, poll: int, body: bytes) -> None:
        self._answers.append((poll, body))
        self.polls += 1
        self._last_seen = self._clock()


class ClientClosed(RemoteError):
    """Server: the client ended the session with a CLOSE frame (from ``PollingServer.post``)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason or "client closed the session")
        self.code = code


class SessionEnded(RemoteError):
    """Client: the server closed the session (a CLOSE frame); ``code`` says why."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason or f"session closed ({code})")
        self.code = code


class PollingClient:
    """The client end of a polling carrier: what each request carries, what answers mean.

    Args:
        link: the session's delivery (shared with a WebSocket carrier after an upgrade).
        timing: the server's timers (from its :class:`SessionParams`).
        clock: monotonic seconds.
    """

    __slots__ = ("_clock", "link", "moved", "timing")

    def __init__(self, link: ReliableLink, timing: PollTiming, clock: Clock) -> None:
        self.link = link
        self.timing = timing
        self._clock = clock
        #: The server answered UPGRADED: a WebSocket carries the session now.
        self.moved = False

    def get_query(self, sid: str) -> PollQuery:
        return PollQuery(sid, self.link.received)

    def get_deadline(self, started: float) -> float:
        """A poll started at ``started`` that is unanswered at this time is given up."""
        return started + self.timing.hold + self.timing.grace

    def on_get_answer(self, body: bytes) -> list[bytes]:
        """The payloads a poll brought (new ones only, in order).

        Raises:
            SessionEnded: the server closed the session.
            DecodeError, ProtocolError: the body is not a valid answer.
        """
        frame = decode_frame(body)
        if isinstance(frame, CloseFrame):
            raise SessionEnded(frame.code, frame.reason)
        if isinstance(frame, UpgradedFrame):
            self.moved = True
            return []
        if not isinstance(frame, DataFrame):
            raise DecodeError("a poll answer is a DATA, CLOSE or UPGRADED frame")
        return self.link.receive(frame)

    def post_body(self) -> bytes | None:
        """The next POST body: every payload the server has not acknowledged (None: none)."""
        if not self.link.unacked:
            return None
        self.link.rewind()
        return self.link.take_frame().encode()

    def on_post_answer(self, body: bytes) -> None:
        """Raises SessionEnded, DecodeError or ProtocolError like :meth:`on_get_answer`."""
        self.on_get_answer(body)


def open_answer(params: SessionParams) -> bytes:
    """The body of the answer to a session-opening request."""
    return params.encode()


def parse_open_answer(body: bytes) -> SessionParams:
    """Raises SessionEnded (the server refused with a CLOSE frame) or DecodeError."""
    frame = decode_frame(body)
    if isinstance(frame, CloseFrame):
        raise SessionEnded(frame.code, frame.reason)
    if not isinstance(frame, SessionParams):
        raise DecodeError("expected the session's OPEN frame")
    return frame
