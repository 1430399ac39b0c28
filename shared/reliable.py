"""Reliable, ordered delivery of messages over carriers that come and go (coscribe.v2).

A coscribe.v2 *session* is carried by a WebSocket or by HTTP long polls, and may move
from one carrier to the next (a dropped WebSocket, a switch from polling to WebSocket, a
poll response lost in a proxy). :class:`ReliableLink` is the part of the session that
makes this invisible to the y-websocket conversation above it: every message (a
*payload*) gets a sequence number, the receiver accepts each number exactly once and in
order, acknowledgements are cumulative, and the sender keeps what was not acknowledged
until it is, so a carrier change resends exactly what may have been lost and the receiver
drops exactly what it already had. Nothing is lost, nothing is delivered twice.

Frames (each WebSocket message, each poll response and each poll request body is one)::

    frame   ::= varUint(0) • varUint(ack) • varUint(seq) • varUint(n) • varUint8Array(payload){n}
              | varUint(1) • varUint(code) • varString(reason)       -- the session is closed
              | varUint(2) • varString(paramsJSON)                   -- the session (server first)
              | varUint(3)                                           -- moved to another carrier

``DATA``: ``ack`` is the last sequence number the sender received in order (0: none),
``seq`` the number of the first payload (the others follow); ``n`` may be 0 (a pure
acknowledgement, or a heartbeat). ``CLOSE`` ends the session with a :class:`CloseCode`.
``OPEN`` is the server's description of the session (:class:`SessionParams`), sent when a
carrier attaches. ``UPGRADED`` answers a poll of a session that a WebSocket now carries.

Pure: no I/O, no clock. The carriers' timing lives in ``shared.polling``.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import write_var_uint

from .errors import DecodeError, ProtocolError
from .lib0 import Lib0Reader, encode_var_string

#: Largest frame a sender builds from its queue (one payload may be bigger: it is sent
#: alone). Keeps one poll response from carrying a whole backlog at once.
DEFAULT_MAX_FRAME = 1024 * 1024


class FrameKind(IntEnum):
    DATA = 0
    CLOSE = 1
    OPEN = 2
    UPGRADED = 3


@dataclass(frozen=True, slots=True)
class DataFrame:
    """Payloads numbered from ``seq``, and the sender's cumulative acknowledgement."""

    ack: int
    seq: int
    payloads: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        parts = [
            b"\x00",
            write_var_uint(self.ack),
            write_var_uint(self.seq),
            write_var_uint(len(self.payloads)),
        ]
        for p in self.payloads:
            parts.append(write_var_uint(len(p)))
            parts.append(p)
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class CloseFrame:
    """The session is over; ``code`` is a :class:`~shared.errors.CloseCode` value."""

    code: int
    reason: str = ""

    def encode(self) -> bytes:
        return b"\x01" + write_var_uint(self.code) + encode_var_string(self.reason)


@dataclass(frozen=True, slots=True)
class SessionParams:
    """What the server tells a client about its session (the OPEN frame).

    ``sid`` names the session in every later request; ``hold`` is how long the server
    holds a poll without data before it answers it empty (the heartbeat), ``timeout`` how
    long a session without any request lives on (the client must poll more often than
    that, and may resume the session within it after losing its carrier), ``max_frame``
    the largest request body the server accepts.
    """

    sid: str
    hold: float
    timeout: float
    max_frame: int
    upgrades: tuple[str, ...] = ("websocket",)

    def encode(self) -> bytes:
        body = json.dumps(
            {
                "sid": self.sid,
                "hold": self.hold,
                "timeout": self.timeout,
                "maxFrame": self.max_frame,
                "upgrades": list(self.upgrades),
            },
            separators=(",", ":"),
        )
        return b"\x02" + encode_var_string(body)


@dataclass(frozen=True, slots=True)
class UpgradedFrame:
    """Answer to a poll of a session that moved to a WebSocket: stop polling."""

    def encode(self) -> bytes:
        return b"\x03"


Frame = DataFrame | CloseFrame | SessionParams | UpgradedFrame


def decode_frame(data: bytes, *, max_payloads: int = 1 << 20) -> Frame:
    """Decode one frame.

    Raises:
        DecodeError: truncated, trailing bytes, unknown kind, malformed session JSON.
    """
    r = Lib0Reader(bytes(data), DecodeError)
    kind = r.var_uint()
    frame: Frame
    if kind == FrameKind.DATA:
        ack = r.var_uint()
        seq = r.var_uint()
        n = r.var_uint()
        if n > max_payloads or n > r.remaining:  # each payload takes at least one byte
            raise DecodeError(f"frame announces {n} payloads")
        frame = DataFrame(ack, seq, tuple(r.var_bytes() for _ in range(n)))
    elif kind == FrameKind.CLOSE:
        frame = CloseFrame(r.var_uint(), r.var_string())
    elif kind == FrameKind.OPEN:
        try:
            fields = json.loads(r.var_string())
            frame = SessionParams(
                sid=str(fields["sid"]),
                hold=float(fields["hold"]),
                timeout=float(fields["timeout"]),
                max_frame=int(fields["maxFrame"]),
                upgrades=tuple(str(u) for u in fields.get("upgrades", ())),
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            raise DecodeError("malformed session parameters") from None
    elif kind == FrameKind.UPGRADED:
        frame = UpgradedFrame()
    else:
        raise DecodeError(f"unknown frame kind {kind}")
    r.end()
    return frame


class ReliableLink:
    """One end of a session's delivery: numbered payloads out, each payload in once.

    Outgoing: :meth:`send` queues a payload under the next sequence number; it stays
    queued (``unacked_bytes``) until the peer acknowledges it. :meth:`take_frame` builds
    the next DATA frame from the *cursor*: a streaming carrier (WebSocket) sends each
    payload once, a poll answers from wherever the peer's last acknowledgement left off,
    and a carrier change :meth:`rewind` s to the first unacknowledged payload.

    Incoming: :meth:`receive` returns the payloads that are new, in order; a payload
    already received, or beyond a gap, is dropped (the sender will resend it). Its
    acknowledgement goes out in the next frame this end builds (``ack_due`` says one is
    owed).
    """

    __slots__ = (
        "_ack_told",
        "_base",
        "_cursor",
        "_high",
        "_out",
        "dropped",
        "max_frame_bytes",
        "received",
        "sent_bytes",
        "unacked_bytes",
    )

    def __init__(self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._out: deque[bytes] = deque()
        self._base = 1  # sequence number of _out[0]
        self._cursor = 1  # next sequence number to put in a frame
        self._high = 0  # highest sequence number ever put in a frame
        self._ack_told = 0  # the ack value in the last frame we built
        #: Bytes queued and not yet acknowledged by the peer.
        self.unacked_bytes = 0
        #: Highest sequence number received in order (what we acknowledge).
        self.received = 0
        #: Payload bytes put in frames (resent ones again).
        self.sent_bytes = 0
        #: Payloads received twice or beyond a gap and dropped.
        self.dropped = 0

    # ------------------------------------------------------------------ outgoing

    def send(self, payload: bytes) -> int:
        """Queue ``payload``; returns its sequence number."""
        self._out.append(payload)
        self.unacked_bytes += len(payload)
        return self._base + len(self._out) - 1

    @property
    def next_seq(self) -> int:
        return self._base + len(self._out)

    @property
    def acked(self) -> int:
        """Highest sequence number the peer acknowledged."""
        return self._base - 1

    @property
    def unacked(self) -> int:
        """Payloads queued and not yet acknowledged."""
        return len(self._out)

    @property
    def has_unsent(self) -> bool:
        """Payloads after the cursor: the next frame carries something."""
        return self._cursor < self.next_seq

    @property
    def ack_due(self) -> bool:
        """We received payloads the peer has not been told about yet."""
        return self.received > self._ack_told

    def rewind(self) -> None:
        """Resend everything not acknowledged (a new carrier, or a poll)."""
        self._cursor = self._base

    def take_frame(self, *, max_bytes: int | None = None) -> DataFrame:
        """The next DATA frame: payloads from the cursor (at least one if any, then up to
        ``max_bytes`` in all) and our acknowledgement. Advances the cursor."""
        limit = self.max_frame_bytes if max_bytes is None else max_bytes
        start = self._cursor
        payloads: list[bytes] = []
        size = 0
        i = start - self._base
        out = self._out
        while i < len(out):
            p = out[i]
            if payloads and size + len(p) > limit:
                break
            payloads.append(p)
            size += len(p)
            i += 1
        self._cursor = start + len(payloads)
        if payloads:
            self._high = max(self._high, self._cursor - 1)
            self.sent_bytes += size
        self._ack_told = self.received
        return DataFrame(self.received, start, tuple(payloads))

    def ack_frame(self) -> DataFrame:
        """A frame with our acknowledgement only."""
        self._ack_told = self.received
        return DataFrame(self.received, self._cursor, ())

    # ------------------------------------------------------------------ incoming

    def on_ack(self, ack: int) -> None:
        """The peer has every payload up to ``ack``: forget them.

        Raises:
            ProtocolError: ``ack`` names a payload never sent.
        """
        if ack > self._high:
            raise ProtocolError(f"acknowledgement {ack} of payloads never sent (last {self._high})")
        out = self._out
        while self._base <= ack:
            self.unacked_bytes -= len(out.popleft())
            self._base += 1
        if self._cursor < self._base:
            self._cursor = self._base

    def receive(self, frame: DataFrame) -> list[bytes]:
        """Process one DATA frame; returns the payloads that are new, in order.

        Stale acknowledgements (a late frame) are ignored; payloads already received, or
        after a gap, are dropped and counted in ``dropped``.

        Raises:
            ProtocolError: the frame acknowledges payloads never sent.
        """
        self.on_ack(frame.ack)
        fresh: list[bytes] = []
        seq = frame.seq
        for payload in frame.payloads:
            if seq == self.received + 1:
                fresh.append(payload)
                self.received = seq
            else:
                self.dropped += 1
            seq += 1
        return fresh
