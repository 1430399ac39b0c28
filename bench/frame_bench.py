"""Cost of reading small WebSocket frames: the relay's reader against websockets' parser.

The relay reads a document connection's frames itself after the opening handshake
(``sync_server/frames.py``). This measures what one small client message costs in each
parser alone, in one process, on the same masked frames (the sizes of a keystroke's
update and cursor update). websockets' asyncio layer (its connection object, the
message assembler, the handler) comes on top of its figure in a real server.

    .venv/bin/python bench/frame_bench.py [--messages 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.protocol import Protocol, Side, State  # noqa: E402

from sync_server.frames import FrameReader  # noqa: E402


def masked_frame(payload: bytes) -> bytes:
    key = os.urandom(4)
    return (
        bytes((0x82, 0x80 | len(payload)))
        + key
        + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    )


class _Count:
    def __init__(self) -> None:
        self.messages = 0

    def on_message(self, data: bytes, text: bool) -> None:
        self.messages += 1

    def on_ping(self, data: bytes) -> None:
        pass

    def on_pong(self, data: bytes) -> None:
        pass

    def on_close(self, code: int, reason: str) -> None:
        pass


def ours(frames: list[bytes]) -> float:
    sink = _Count()
    reader = FrameReader(sink, 1 << 26)
    started = time.perf_counter()
    for frame in frames:
        reader.feed(frame)
    elapsed = time.perf_counter() - started
    assert sink.messages == len(frames)
    return elapsed / len(frames) * 1e6


def websockets_parser(frames: list[bytes]) -> float:
    protocol = Protocol(Side.SERVER, state=State.OPEN, max_size=1 << 26)
    count = 0
    started = time.perf_counter()
    for frame in frames:
        protocol.receive_data(frame)
        count += len(protocol.events_received())
    elapsed = time.perf_counter() - started
    assert count == len(frames)
    return elapsed / len(frames) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = (28, 60)  # a one-character update and a y-quill cursor update, about
    frames = [masked_frame(os.urandom(sizes[i % 2])) for i in range(args.messages)]
    a = statistics.median(ours(frames) for _ in range(args.repeat))
    b = statistics.median(websockets_parser(frames) for _ in range(args.repeat))
    print(f"sync_server.frames.FrameReader: {a:.2f} µs per message")
    print(f"websockets sans-I/O Protocol:   {b:.2f} µs per message ({b / a:.1f}x)")


if __name__ == "__main__":
    main()
