"""Just enough of the y-websocket wire format for a load generator, plus workload files.

The load generator must not decode updates while it measures (on 2 cores that alone
caps it near 80k deliveries/s), so readers keep raw messages and this module attributes
them to the writer's updates afterwards. Each benchmark writer update inserts one ASCII
character, so the writer's clock after update ``k`` is ``k + 1``; a message whose update
starts at the writer's clock ``c0`` and is followed by one starting at ``c1`` delivered
updates ``c0 .. c1-1``, whether the server relayed them one by one or merged them.

Workloads (the updates a writer sends) are generated once per run, before any timing,
into a file of length-prefixed, ready-to-send messages, so every server gets the same bytes.
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pycrdt import Doc, Text, TransactionEvent, create_update_message

SYNC = 0
STEP1 = 0
STEP2 = 1
UPDATE = 2

#: Sync step 1 with an empty state vector: "send me everything".
STEP1_EMPTY = bytes([SYNC, STEP1, 1, 0])
#: Sync step 2 carrying an empty update: the answer of a client that has nothing.
STEP2_EMPTY = bytes([SYNC, STEP2, 2, 0, 0])

#: The writer's fixed client id, so readers can find its clock in any update.
WRITER_CLIENT_ID = 4242
TEXT_NAME = "text"


def read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one lib0 varUint at ``pos``; return (value, next position)."""
    value = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def sync_payload(message: bytes) -> tuple[int, bytes] | None:
    """(sync kind, payload) of a SYNC message, or None for anything else (awareness...)."""
    if len(message) < 3 or message[0] != SYNC:
        return None
    length, pos = read_var_uint(message, 2)
    return message[1], message[pos : pos + length]


def _first_block(update: bytes, client: int) -> tuple[int, int, int] | None:
    """(struct count, first clock, position of the first struct) of the first client block
    of a v1 update if it is ``client``'s, else None. Only the writer writes in these
    scenarios, so its block is the first one."""
    clients, pos = read_var_uint(update, 0)
    if clients == 0:
        return None
    structs, pos = read_var_uint(update, pos)
    who, pos = read_var_uint(update, pos)
    clock, pos = read_var_uint(update, pos)
    return (structs, clock, pos) if who == client else None


def writer_start_clock(update: bytes, client: int = WRITER_CLIENT_ID) -> int | None:
    """The first clock of ``client``'s structs in a v1 update, or None if it has none."""
    block = _first_block(update, client)
    return None if block is None else block[1]


def decode_state_vector(sv: bytes) -> dict[int, int]:
    """Decode an encoded state vector into {client: clock}."""
    count, pos = read_var_uint(sv, 0)
    out: dict[int, int] = {}
    for _ in range(count):
        client, pos = read_var_uint(sv, pos)
        clock, pos = read_var_uint(sv, pos)
        out[client] = clock
    return out


def _skip_var_string(buf: bytes, pos: int) -> tuple[int, int]:
    """Skip a lib0 varString; return (its length in UTF-16 units, next position)."""
    length, pos = read_var_uint(buf, pos)
    text = buf[pos : pos + length].decode("utf-8")
    return len(text.encode("utf-16-le")) // 2, pos + length


_GC, _DELETED, _STRING, _SKIP = 0, 1, 4, 10


def writer_end_clock(update: bytes, client: int = WRITER_CLIENT_ID) -> int | None:
    """The writer's clock after ``update`` (exclusive end of its first client block).

    ``pycrdt.get_state`` cannot answer this: for an update that does not start at clock 0
    it returns an empty state vector. So this walks the structs, which in these
    scenarios are only strings, deleted items, GC and skips; anything else is refused.
    """
    block = _first_block(update, client)
    if block is None:
        return None
    structs, clock, pos = block
    for _ in range(structs):
        info = update[pos]
        pos += 1
        ref = info & 0x1F
        if ref in (_GC, _SKIP):
            length, pos = read_var_uint(update, pos)
            clock += length
            continue
        if info & 0x80:  # origin
            pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
        if info & 0x40:  # right origin
            pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
        if not info & 0xC0:  # parent info is written only without origins
            is_key, pos = read_var_uint(update, pos)
            if is_key:
                pos = _skip_var_string(update, pos)[1]
            else:
                pos = read_var_uint(update, read_var_uint(update, pos)[1])[1]
            if info & 0x20:
                pos = _skip_var_string(update, pos)[1]
        if ref == _DELETED:
            length, pos = read_var_uint(update, pos)
        elif ref == _STRING:
            length, pos = _skip_var_string(update, pos)
        else:
            raise ValueError(f"unexpected struct content ref {ref} in a bench update")
        clock += length
    return clock


@dataclass(frozen=True, slots=True)
class Segment:
    """Updates ``first .. end-1`` of the writer arrived in one message at ``t_ns``."""

    first: int
    end: int
    t_ns: int


def attribute(messages: Sequence[bytes], times: Sequence[int]) -> list[Segment]:
    """Turn one reader's raw messages into the writer updates each one delivered.

    Each message's range is read from its own structs, so a re-sent full state (a sync
    step 2 in the middle of the stream) or an empty update cannot shift the attribution.
    """
    segments: list[Segment] = []
    for message, t_ns in zip(messages, times, strict=True):
        parsed = sync_payload(message)
        if parsed is None or parsed[0] == STEP1:
            continue
        start = writer_start_clock(parsed[1])
        if start is None:
            continue
        end = writer_end_clock(parsed[1])
        if end is not None and end > start:
            segments.append(Segment(start, end, t_ns))
    return segments


def delivered_through(message: bytes) -> int | None:
    """The writer's clock after this message, if it carries writer structs."""
    parsed = sync_payload(message)
    if parsed is None or parsed[0] == STEP1:
        return None
    return writer_end_clock(parsed[1])


def write_messages(path: Path, messages: Sequence[bytes]) -> None:
    """Store ready-to-send messages as 4-byte length + bytes records."""
    with path.open("wb") as f:
        for message in messages:
            f.write(struct.pack("<I", len(message)))
            f.write(message)


def read_messages(path: Path) -> list[bytes]:
    """Inverse of :func:`write_messages`."""
    data = path.read_bytes()
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        pos += 4
        out.append(data[pos : pos + length])
        pos += length
    return out


def _recording_doc() -> tuple[Doc, Text, list[bytes]]:
    doc = Doc(client_id=WRITER_CLIENT_ID)
    text = doc.get(TEXT_NAME, type=Text)
    updates: list[bytes] = []

    def on_transaction(event: TransactionEvent) -> None:
        updates.append(create_update_message(event.update))

    doc.observe(on_transaction)
    return doc, text, updates


def typing_workload(count: int) -> list[bytes]:
    """``count`` update messages, each appending one ASCII letter (clock k -> k+1)."""
    _doc, text, updates = _recording_doc()
    letters = "abcdefghijklmnopqrstuvwxyz "
    for k in range(count):
        text.insert(k, letters[k % len(letters)])
    return updates


@dataclass(frozen=True, slots=True)
class TraceWorkload:
    """A replayed editing trace: its update messages and what the document must become."""

    messages: list[bytes]
    end_text: str
    final_state: bytes
    full_update: bytes


def iter_trace_patches(path: Path) -> Iterator[tuple[int, int, str]]:
    """Yield (position, deleted, inserted) in codepoints from a josephg-format trace."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        trace = json.load(f)
    for txn in trace["txns"]:
        for pos, deleted, inserted in txn["patches"]:
            yield int(pos), int(deleted), str(inserted)


def trace_end_content(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return str(json.load(f)["endContent"])


def trace_workload(path: Path, limit: int | None = None) -> TraceWorkload:
    """Replay a trace into a pycrdt Doc, one transaction per patch, recording every update.

    pycrdt positions are UTF-8 bytes and trace positions are codepoints; the bench uses
    ASCII traces (automerge-paper is pure ASCII), and a non-ASCII trace is rejected rather
    than silently replayed at wrong positions.
    """
    doc, text, updates = _recording_doc()
    shadow = ""  # only kept for partial replays, which have no endContent to check against
    for n, (pos, deleted, inserted) in enumerate(iter_trace_patches(path)):
        if limit is not None and n >= limit:
            break
        if not inserted.isascii():
            raise ValueError(f"{path.name}: non-ASCII insert at patch {n}; use an ASCII trace")
        with doc.transaction():
            if deleted:
                del text[pos : pos + deleted]
            if inserted:
                text.insert(pos, inserted)
        if limit is not None:
            shadow = shadow[:pos] + inserted + shadow[pos + deleted :]
    end_text = trace_end_content(path) if limit is None else shadow
    if str(text) != end_text:
        raise ValueError(f"{path.name}: the replayed document differs from the trace's")
    return TraceWorkload(updates, end_text, doc.get_state(), doc.get_update())
