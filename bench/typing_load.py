"""The typing workload: R rooms x K people typing at a human rate, and the join storm.

Each person types into their own paragraph of a seeded document, at the end of it, the way
y-quill does it: every keystroke is one Yjs update inserting one character between the
person's previous character (origin) and the paragraph's newline (right origin), followed
by one y-quill-style awareness update (user name and colour, cursor anchor and head as
Yjs relative positions, JSON as ``JSON.stringify`` writes it). Because a person's origins
are their own characters, every keystroke's bytes are known in advance: they are forged
here (and checked once against pycrdt), so the load generator only writes ready bytes.

Keystroke times: bursts start as a Poisson process and hold 1 + Poisson(0.5) keystrokes
40 ms apart, so the mean is the configured rate per person and some keystrokes come in
quick runs. Every person's schedule comes from a seeded RNG, so every server sees the same
keystrokes at the same offsets.

Latency is attributed after the run (never while measuring): a received update, relayed
as sent or merged with others, carries for each client a run of clocks; keystroke ``i``
of a person is clock ``i`` of that person's client id, so (client id, clock) identifies it
whatever the server merged. The first arrival at each other person counts.

Hocuspocus frames carry the document name first and want an auth message before sync
(``framed``): :class:`Wire` adds and strips that.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ywire import read_var_uint

from shared.lib0 import encode_var_string as var_string
from shared.lib0 import encode_var_uint as var_uint

TEXT_NAME = "text"
SEED_CLIENT = 7
#: Characters the people type (ASCII: one UTF-16 unit = one byte = one clock each).
TYPED = "the quick brown fox jumps over the lazy dog. "
COLOURS = ("#30bced", "#6eeb83", "#ffbc42", "#ecd444", "#ee6352", "#9ac2c9", "#8acb88")
BURST_GAP_S = 0.040
BURST_EXTRA_MEAN = 0.5


def client_id(run_seed: int, room: int, person: int) -> int:
    """A Yjs-like random 32-bit client id, the same for every server in a run."""
    rng = random.Random(f"{run_seed}/{room}/{person}")
    return rng.randrange(1 << 20, 1 << 32)


# --------------------------------------------------------------------------- documents


def seed_text(room: int, people: int, paragraph_chars: int = 80) -> str:
    """K paragraphs, one per person, each ending in a newline."""
    parts = []
    for k in range(people):
        head = f"Room {room}, paragraph of person {k}: "
        filler = ("lorem ipsum dolor sit amet " * 10)[: max(0, paragraph_chars - len(head))]
        parts.append(head + filler + "\n")
    return "".join(parts)


def seed_update(text: str) -> bytes:
    """One string item by SEED_CLIENT at the start of the root text ``TEXT_NAME``."""
    struct = bytes([4]) + var_uint(1) + var_string(TEXT_NAME) + var_string(text)
    return var_uint(1) + var_uint(1) + var_uint(SEED_CLIENT) + var_uint(0) + struct + var_uint(0)


def paragraph_ends(text: str) -> list[int]:
    """Clock (= index, ASCII) of each paragraph's newline."""
    return [i for i, ch in enumerate(text) if ch == "\n"]


def keystroke_update(
    cid: int, clock: int, origin: tuple[int, int], right: tuple[int, int], ch: str
) -> bytes:
    """A one-character insert with origin and right origin (info 0xC4), no deletes."""
    body = (
        bytes([0xC4])
        + var_uint(origin[0])
        + var_uint(origin[1])
        + var_uint(right[0])
        + var_uint(right[1])
        + var_string(ch)
    )
    return var_uint(1) + var_uint(1) + var_uint(cid) + var_uint(clock) + body + var_uint(0)


def keystrokes(cid: int, newline_clock: int, count: int) -> list[bytes]:
    """The update payloads of a person typing ``count`` characters at the end of their
    paragraph (before the newline at ``newline_clock`` of the seed)."""
    out = []
    origin = (SEED_CLIENT, newline_clock - 1)
    right = (SEED_CLIENT, newline_clock)
    for i in range(count):
        out.append(keystroke_update(cid, i, origin, right, TYPED[i % len(TYPED)]))
        origin = (cid, i)
    return out


def awareness_state(person: int, newline_clock: int) -> str:
    """y-quill's awareness state: user + cursor (relative positions, JSON.stringify form).

    Typing at the end of a paragraph, the cursor's relative position (assoc 0) names the
    item right of it: the paragraph's newline.
    """
    item = f'{{"client":{SEED_CLIENT},"clock":{newline_clock}}}'
    rel = f'{{"type":null,"tname":null,"item":{item},"assoc":0}}'
    user = f'{{"name":"Person {person}","color":"{COLOURS[person % len(COLOURS)]}"}}'
    return f'{{"user":{user},"cursor":{{"anchor":{rel},"head":{rel}}}}}'


def awareness_message(cid: int, clock: int, state_json: str) -> bytes:
    payload = var_uint(1) + var_uint(cid) + var_uint(clock) + var_string(state_json)
    return bytes([1]) + var_uint(len(payload)) + payload


def sync_update_message(update: bytes) -> bytes:
    return bytes([0, 2]) + var_uint(len(update)) + update


def check_forgery() -> None:
    """The forged bytes equal what pycrdt (yrs) writes for the same edits."""
    from pycrdt import Doc, Text, TransactionEvent

    text = seed_text(0, 2)
    seed = Doc(client_id=SEED_CLIENT)
    seed_captured: list[bytes] = []
    seed.observe(lambda e: seed_captured.append(e.update))
    seed.get(TEXT_NAME, type=Text).insert(0, text)
    if seed_captured[0] != seed_update(text):
        raise AssertionError("forged seed differs from pycrdt's")
    cid = client_id(1, 0, 1)
    nl = paragraph_ends(text)[1]
    doc = Doc(client_id=cid)
    doc.apply_update(seed_captured[0])
    t = doc.get(TEXT_NAME, type=Text)
    captured: list[bytes] = []

    def on(e: TransactionEvent) -> None:
        captured.append(e.update)

    doc.observe(on)
    for i in range(12):
        t.insert(nl + i, TYPED[i % len(TYPED)])
    if captured != keystrokes(cid, nl, 12):
        raise AssertionError("forged keystrokes differ from pycrdt's")


def schedule(rng: random.Random, rate: float, duration_s: float) -> list[float]:
    """Keystroke offsets (s): Poisson bursts of 1 + Poisson(0.5) keys, 40 ms apart."""
    times: list[float] = []
    burst_rate = rate / (1 + BURST_EXTRA_MEAN)
    t = rng.expovariate(burst_rate)
    while t < duration_s:
        n = 1 + _poisson(rng, BURST_EXTRA_MEAN)
        for j in range(n):
            if t + j * BURST_GAP_S < duration_s:
                times.append(t + j * BURST_GAP_S)
        t += (n - 1) * BURST_GAP_S + rng.expovariate(burst_rate)
    return times


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# --------------------------------------------------------------------------- wire


@dataclass(frozen=True, slots=True)
class Wire:
    """y-websocket messages, optionally framed for Hocuspocus (document name first)."""

    prefix: bytes = b""

    @classmethod
    def for_server(cls, framed: bool, document: str) -> Wire:
        return cls(var_string(document) if framed else b"")

    def wrap(self, message: bytes) -> bytes:
        return self.prefix + message

    def unwrap(self, message: bytes) -> bytes | None:
        """The y-websocket message inside, or None if it is for another document."""
        if not self.prefix:
            return message
        if not message.startswith(self.prefix):
            return None
        return message[len(self.prefix) :]


# --------------------------------------------------------------------------- decoding


def update_of(message: bytes) -> bytes | None:
    """The update carried by a SYNC step 2 or update message (None for anything else)."""
    if len(message) < 3 or message[0] not in (0, 4) or message[1] not in (1, 2):
        return None  # 4: Hocuspocus' SyncReply carries sync messages too
    length, pos = read_var_uint(message, 2)
    return message[pos : pos + length]


def _skip_any(buf: bytes, pos: int) -> int:
    raise ValueError("unexpected non-string content in a typing-bench update")


def client_runs(update: bytes) -> Iterable[tuple[int, int, int]]:
    """(client, first clock, end clock) of every client block of a v1 update."""
    clients, pos = read_var_uint(update, 0)
    for _ in range(clients):
        structs, pos = read_var_uint(update, pos)
        who, pos = read_var_uint(update, pos)
        start, pos = read_var_uint(update, pos)
        clock = start
        for _ in range(structs):
            info = update[pos]
            pos += 1
            ref = info & 0x1F
            if ref in (0, 10):  # GC, skip
                length, pos = read_var_uint(update, pos)
                clock += length
                continue
            if info & 0x80:
                pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
            if info & 0x40:
                pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
            if not info & 0xC0:
                is_key, pos = read_var_uint(update, pos)
                if is_key:
                    n, pos = read_var_uint(update, pos)
                    pos += n
                else:
                    pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
                if info & 0x20:
                    n, pos = read_var_uint(update, pos)
                    pos += n
            if ref == 1:  # deleted
                length, pos = read_var_uint(update, pos)
            elif ref == 4:  # string (ASCII here: bytes = UTF-16 units)
                n, pos = read_var_uint(update, pos)
                length = len(update[pos : pos + n].decode().encode("utf-16-le")) // 2
                pos += n
            else:
                _skip_any(update, pos)
                length = 0
            clock += length
        yield who, start, clock


def attribute(
    people: Sequence[int],
    sends: dict[int, Sequence[int]],
    received: Sequence[tuple[Sequence[int], Sequence[bytes]]],
    wire: Sequence[Wire],
) -> tuple[list[int], int, int]:
    """Latencies (ns) of every first delivery of a keystroke to another person of its room.

    ``people``: the client id of each connection; ``sends[cid][i]``: send time of
    keystroke i; ``received[j]``: (times, messages) of connection j. Returns (latencies,
    delivered, duplicates).
    """
    room_ids = set(people)
    latencies: list[int] = []
    delivered = 0
    duplicates = 0
    for j, (times, messages) in enumerate(received):
        me = people[j]
        seen_to: dict[int, int] = {}
        for t_ns, raw in zip(times, messages, strict=True):
            msg = wire[j].unwrap(raw)
            if msg is None:
                continue
            update = update_of(msg)
            if update is None:
                continue
            for who, start, end in client_runs(update):
                if who == me or who not in room_ids:
                    continue
                sent = sends.get(who, ())
                lo = max(start, seen_to.get(who, 0))
                hi = min(end, len(sent))
                if hi <= lo:
                    duplicates += end - start
                    continue
                for clock in range(lo, hi):
                    latencies.append(t_ns - sent[clock])
                delivered += hi - lo
                seen_to[who] = hi
    return latencies, delivered, duplicates
