"""coscribe.v2 delivery: frames, the reliable link, and polling with a fake clock.

The property tests run a client and a server end over a network that drops, duplicates
and reorders poll requests and answers, cuts WebSockets with frames in flight, and moves
the session between polling and WebSocket at random. Whatever happens, each side receives
a prefix of what the other sent, in order and without repeats; once the network behaves,
everything arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import reliable
from shared.errors import DecodeError, ProtocolError
from shared.polling import (
    ClientClosed,
    PollingClient,
    PollingServer,
    PollQuery,
    PollTiming,
    SessionEnded,
    is_polling_query,
    parse_open_answer,
    parse_poll_query,
)

TIMING = PollTiming(hold=20.0, timeout=25.0, grace=10.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    "frame",
    [
        reliable.DataFrame(0, 1, ()),
        reliable.DataFrame(7, 3, (b"a", b"", b"\x00" * 300)),
        reliable.CloseFrame(4429, "peer reads too slowly — 느림"),
        reliable.SessionParams("n1.abc", 20.0, 25.0, 64 << 20),
        reliable.UpgradedFrame(),
    ],
)
def test_frames_round_trip(frame: object) -> None:
    assert reliable.decode_frame(frame.encode()) == frame  # type: ignore[attr-defined]


def test_data_frame_bytes() -> None:
    assert reliable.DataFrame(2, 3, (b"xy",)).encode() == bytes([0, 2, 3, 1, 2]) + b"xy"


@given(st.binary(max_size=64))
def test_decoding_garbage_raises_only_decode_error(data: bytes) -> None:
    try:
        reliable.decode_frame(data)
    except DecodeError:
        pass


@pytest.mark.parametrize(
    "data",
    [b"", b"\x09", b"\x00\x01", b"\x00\x00\x01\x05\x01", b"\x02\x02{}", b"\x03\x00", b"\x01"],
)
def test_malformed_frames(data: bytes) -> None:
    with pytest.raises(DecodeError):
        reliable.decode_frame(data)


def test_poll_query() -> None:
    q = PollQuery("n1.x-y_z", 42)
    assert is_polling_query(q.encode())
    assert parse_poll_query(q.encode()) == q
    assert parse_poll_query("transport=polling") == PollQuery(None, 0)
    assert not is_polling_query("token=abc")
    for bad in ("transport=websocket", "transport=polling&sid=a&ack=-1", "transport=polling&ack=x"):
        with pytest.raises(DecodeError):
            parse_poll_query(bad)


# ---------------------------------------------------------------------------- link


def test_link_resends_until_acknowledged_and_drops_repeats() -> None:
    a, b = reliable.ReliableLink(), reliable.ReliableLink()
    for p in (b"1", b"2", b"3"):
        a.send(p)
    first = a.take_frame()
    assert first.payloads == (b"1", b"2", b"3") and not a.has_unsent
    assert a.unacked_bytes == 3
    assert b.receive(first) == [b"1", b"2", b"3"]
    assert b.receive(first) == [] and b.dropped == 3  # the same frame again
    a.rewind()  # a new carrier: everything unacknowledged goes again
    assert a.take_frame().payloads == (b"1", b"2", b"3")
    a.on_ack(b.ack_frame().ack)
    assert a.unacked == 0 and a.unacked_bytes == 0
    a.rewind()
    assert a.take_frame().payloads == ()


def test_gap_is_dropped_until_resent() -> None:
    a, b = reliable.ReliableLink(), reliable.ReliableLink()
    a.send(b"1")
    lost = a.take_frame()
    a.send(b"2")
    assert b.receive(a.take_frame()) == []  # 2 without 1
    assert b.receive(lost) == [b"1"]
    a.rewind()
    assert b.receive(a.take_frame()) == [b"2"]


def test_ack_of_payloads_never_sent_is_a_protocol_error() -> None:
    a = reliable.ReliableLink()
    a.send(b"x")  # queued, not yet in a frame
    with pytest.raises(ProtocolError):
        a.on_ack(1)


def test_frames_are_bounded_but_carry_at_least_one_payload() -> None:
    a = reliable.ReliableLink(max_frame_bytes=10)
    a.send(b"x" * 30)
    a.send(b"y" * 4)
    a.send(b"z" * 4)
    assert a.take_frame().payloads == (b"x" * 30,)
    assert a.take_frame().payloads == (b"y" * 4, b"z" * 4)


# ---------------------------------------------------------------------------- polling


def test_poll_is_held_then_answered_with_data_or_heartbeat() -> None:
    clock = Clock()
    server = PollingServer(reliable.ReliableLink(), TIMING, clock)
    poll = server.get(0)
    assert server.answers() == [] and server.holding
    server.link.send(b"hello")
    server.wake()
    [(answered, body)] = server.answers()
    assert answered == poll and reliable.decode_frame(body) == reliable.DataFrame(0, 1, (b"hello",))
    poll = server.get(1)
    assert server.answers() == []
    clock.now += TIMING.hold - 0.1
    server.tick()
    assert server.answers() == []
    clock.now += 0.1
    assert server.deadline() == clock.now
    server.tick()
    assert server.answers() == [(poll, reliable.DataFrame(0, 2, ()).encode())]  # the heartbeat


def test_a_new_poll_answers_the_held_one_and_a_lost_answer_is_resent() -> None:
    clock = Clock()
    server = PollingServer(reliable.ReliableLink(), TIMING, clock)
    server.link.send(b"a")
    first = server.get(0)
    [(p, body)] = server.answers()
    assert p == first and reliable.decode_frame(body) == reliable.DataFrame(0, 1, (b"a",))
    # That answer is lost: the next poll still acknowledges 0, so "a" comes again.
    server.get(0)
    [(_, body)] = server.answers()
    assert reliable.decode_frame(body) == reliable.DataFrame(0, 1, (b"a",))
    held = server.get(1)
    newer = server.get(1)  # the client gave up on `held`
    assert server.answers() == [(held, reliable.DataFrame(0, 2, ()).encode())]
    server.link.send(b"b")
    server.wake()
    assert [p for p, _ in server.answers()] == [newer]


def test_session_expires_without_polls_but_not_while_one_is_held_or_streaming() -> None:
    clock = Clock()
    server = PollingServer(reliable.ReliableLink(), TIMING, clock)
    poll = server.get(0)
    clock.now += 100
    assert not server.expired
    server.abandon(poll)  # the poll's connection died
    clock.now += TIMING.timeout - 1
    assert not server.expired
    clock.now += 1
    assert server.expired
    server.attach_stream()
    clock.now += 1000
    assert not server.expired
    server.detach_stream()
    assert not server.expired
    clock.now += TIMING.timeout
    assert server.expired


def test_after_a_tick_the_deadline_is_never_in_the_past_unless_expired() -> None:
    """The adapter sleeps until ``deadline()``: a deadline that stays in the past after
    ``tick()`` makes it spin and hold the server's event loop (it did, 25 s after an
    editor's session moved onto a WebSocket)."""
    clock = Clock()
    server = PollingServer(reliable.ReliableLink(), TIMING, clock)
    server.attach_stream()
    for step in (1.0, TIMING.timeout, 1000.0):
        clock.now += step
        server.tick()
        assert server.deadline() > clock.now and not server.expired
    server.detach_stream()
    assert server.deadline() == clock.now + TIMING.timeout
    poll = server.get(0)
    clock.now += TIMING.hold
    server.tick()  # the heartbeat answers the held poll
    assert [p for p, _ in server.answers()] == [poll]
    assert server.deadline() > clock.now or server.expired


def test_upgraded_and_closed_sessions_answer_polls_at_once() -> None:
    clock = Clock()
    server = PollingServer(reliable.ReliableLink(), TIMING, clock)
    held = server.get(0)
    server.attach_stream()
    assert server.answers() == [(held, reliable.UpgradedFrame().encode())]
    client = PollingClient(reliable.ReliableLink(), TIMING, clock)
    assert client.on_get_answer(reliable.UpgradedFrame().encode()) == [] and client.moved
    server.close(1012, "restarting")
    poll = server.get(0)
    [(p, body)] = server.answers()
    assert p == poll
    with pytest.raises(SessionEnded) as ended:
        client.on_get_answer(body)
    assert ended.value.code == 1012
    with pytest.raises(ClientClosed):
        server.post(reliable.CloseFrame(1000, "bye").encode())
    with pytest.raises(SessionEnded):
        parse_open_answer(reliable.CloseFrame(4401).encode())


# ---------------------------------------------------------------------------- property


@dataclass
class Net:
    """Two ends and what is in flight between them."""

    clock: Clock = field(default_factory=Clock)
    server_sent: list[bytes] = field(default_factory=list)
    client_sent: list[bytes] = field(default_factory=list)
    server_got: list[bytes] = field(default_factory=list)
    client_got: list[bytes] = field(default_factory=list)
    up: list[bytes] = field(default_factory=list)  # POST bodies in flight
    down: list[bytes] = field(default_factory=list)  # poll and POST answers in flight
    stream_up: list[reliable.DataFrame] | None = None  # a WebSocket, when one carries the session
    stream_down: list[reliable.DataFrame] | None = None
    n: int = 0

    def __post_init__(self) -> None:
        self.server = PollingServer(reliable.ReliableLink(max_frame_bytes=64), TIMING, self.clock)
        self.client = PollingClient(reliable.ReliableLink(max_frame_bytes=64), TIMING, self.clock)

    def check(self) -> None:
        assert self.client_got == self.server_sent[: len(self.client_got)]
        assert self.server_got == self.client_sent[: len(self.server_got)]

    def collect(self) -> None:
        self.down.extend(body for _, body in self.server.answers())

    # -- actions
    def server_send(self) -> None:
        self.n += 1
        p = f"s{self.n}".encode()
        self.server_sent.append(p)
        self.server.link.send(p)
        if self.stream_down is None:
            self.server.wake()
            self.collect()

    def client_send(self) -> None:
        self.n += 1
        p = f"c{self.n}".encode()
        self.client_sent.append(p)
        self.client.link.send(p)

    def poll(self) -> None:
        self.server.get(self.client.link.received)
        self.collect()

    def post(self) -> None:
        if self.stream_up is None:
            body = self.client.post_body()
            if body is not None:
                self.up.append(body)

    @staticmethod
    def _take(in_flight: list[bytes], i: int, fate: str) -> bytes | None:
        """Body ``i`` (modulo) leaves ``in_flight`` to be delivered, or None: nothing in
        flight, or it is dropped. A duplicated body also stays in flight."""
        if not in_flight:
            return None
        body = in_flight.pop(i % len(in_flight))
        if fate == "drop":
            return None
        if fate == "duplicate":
            in_flight.append(body)
        return body

    def deliver_up(self, i: int, fate: str) -> None:
        body = self._take(self.up, i, fate)
        if body is not None:
            fresh, answer = self.server.post(body)
            self.server_got.extend(fresh)
            self.down.append(answer)

    def deliver_down(self, i: int, fate: str) -> None:
        body = self._take(self.down, i, fate)
        if body is not None:
            self.client_got.extend(self.client.on_get_answer(body))

    def tick(self, dt: float) -> None:
        self.clock.now += dt
        self.server.tick()
        self.collect()

    def attach(self) -> None:
        if self.stream_up is not None:
            return
        self.stream_up, self.stream_down = [], []
        # The client's first frame on the socket carries its ack; both ends resend from there.
        self.server.link.on_ack(self.client.link.received)
        self.server.link.rewind()
        self.client.link.rewind()
        self.server.attach_stream()
        self.collect()

    def flush(self) -> None:
        if self.stream_up is None or self.stream_down is None:
            return
        if self.server.link.has_unsent or self.server.link.ack_due:
            self.stream_down.append(self.server.link.take_frame())
        if self.client.link.has_unsent or self.client.link.ack_due:
            self.stream_up.append(self.client.link.take_frame())

    def stream_deliver(self) -> None:
        if self.stream_up:
            self.server_got.extend(self.server.link.receive(self.stream_up.pop(0)))
        if self.stream_down:
            self.client_got.extend(self.client.link.receive(self.stream_down.pop(0)))

    def cut(self) -> None:
        if self.stream_up is not None:
            self.stream_up = self.stream_down = None  # frames in flight are gone
            self.server.detach_stream()

    # -- the network heals: polling with nothing lost
    def heal(self) -> None:
        self.cut()
        for _ in range(200):
            self.down.clear()
            self.up.clear()
            self.post()
            while self.up:
                self.deliver_up(0, "deliver")
            self.poll()
            if not self.down:
                self.tick(TIMING.hold)
            while self.down:
                self.deliver_down(0, "deliver")
            if self.client_got == self.server_sent and self.server_got == self.client_sent:
                return
        raise AssertionError("the healed network did not deliver everything")


ACTIONS = st.one_of(
    st.tuples(st.just("server_send")),
    st.tuples(st.just("client_send")),
    st.tuples(st.just("poll")),
    st.tuples(st.just("post")),
    st.tuples(
        st.just("deliver_up"),
        st.integers(0, 5),
        st.sampled_from(["deliver", "deliver", "drop", "duplicate"]),
    ),
    st.tuples(
        st.just("deliver_down"),
        st.integers(0, 5),
        st.sampled_from(["deliver", "deliver", "drop", "duplicate"]),
    ),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 5.0, 21.0])),
    st.tuples(st.just("attach")),
    st.tuples(st.just("flush")),
    st.tuples(st.just("stream_deliver")),
    st.tuples(st.just("cut")),
)


@settings(max_examples=300)
@given(st.lists(ACTIONS, max_size=80))
def test_nothing_lost_or_repeated_across_drops_duplicates_reorders_and_carrier_moves(
    actions: list[tuple[object, ...]],
) -> None:
    net = Net()
    for name, *args in actions:
        getattr(net, str(name))(*args)
        net.check()
    net.heal()
    assert net.client_got == net.server_sent
    assert net.server_got == net.client_sent
