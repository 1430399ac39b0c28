"""Keystroke latency with the programs apart, as deployed: writer, relay and reader each in
their own process (``editor_bench.py --part latency-apart`` / ``latency-large-apart``).

Why a second latency bench: ``latency``/``latency-large`` run both editors and the relay in
ONE process on one event loop, so a keystroke's time includes the writer's own repaint,
the relay's work and the reader's, one after the other. Users sit at different machines:
the writer's repaint does not delay the reader. Here the relay is ``python -m
sync_server`` (as ``bench/servers.py`` starts it), the reader B is this file run with
``--reader`` (a full Coscribe app, offscreen), and the writer A is the calling process.

How a keystroke is timed: A sends a QKeyEvent at ``t0 = time.perf_counter()``; B prints
``time.perf_counter()`` when the character is in its QTextDocument (its contentsChange).
``perf_counter`` is ``CLOCK_MONOTONIC``, one clock for every process of the machine, so
``arrival - t0`` is the latency. A learns of the arrival through B's stdout (a reader
thread); that only paces the next keystroke, it is not part of the figure.

CPU per keystroke is reported for each process (A, relay, B) from ``/proc``.

The protocol on B's pipes, one JSON object per line: B prints ``{"len": n, "at": t}`` for
every change that adds text (n: its text's length), ``{"settled": true}`` once asked with
``settle`` on stdin and idle; it exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import servers  # noqa: E402
from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

#: The line typed into the large document (as editor_bench's).
LINE = "The quick brown fox jumps over the lazy dog; 빠른 갈색 여우 🦊 e\u0301."


@dataclass
class Series:
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lat = sorted(self.latencies)
        n = len(lat)
        p99 = lat[min(n - 1, int(n * 0.99))]
        cpu = ", ".join(f"{k} {v / n * 1e3:.2f}" for k, v in self.cpu.items())
        return (
            f"p50 {lat[n // 2] * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {lat[-1] * 1e3:.2f} ms "
            f"(n={n}); CPU ms per keystroke: {cpu}"
        )


class Reader:
    """The reader process B and a thread that queues what it prints."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--reader", url, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.length = 0
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._read, args=(loop,), daemon=True)
        self._thread.start()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand each record to the loop as it comes (no polling: that would cost the
        writer's process CPU that the figures count)."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                loop.call_soon_threadsafe(self.lines.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(self.lines.put_nowait, None)

    async def next(self, within: float = 30.0) -> dict[str, Any]:
        """The next record B printed (the event loop keeps running meanwhile)."""
        record = await asyncio.wait_for(self.lines.get(), within)
        if record is None:
            raise RuntimeError("the reader process ended")
        if "len" in record:
            self.length = int(record["len"])
        return record

    async def until_length(self, length: int, within: float) -> None:
        while self.length != length:
            await self.next(within)

    async def settle(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("settle\n")
        self.proc.stdin.flush()
        while "settled" not in await self.next(300.0):
            pass

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def measure(
    app: QApplication, keystrokes: int, gap: float, size_mb: float, warmup: int, pin: bool = False
) -> tuple[Series, Series]:
    """A in this process, the relay and B apart; returns (unsettled, steady) series.
    ``pin``: A on core 0, the relay and B on core 1 (see :func:`pin_cores`)."""
    import random

    from editor_bench import _settled

    from editor_app.core.sync_client import Status
    from editor_app.ui.app import CoscribeApp
    from tests.support.waiting import wait_until

    warm, steady = Series(), Series()
    with tempfile.TemporaryDirectory() as tmp, servers.started("ours", Path(tmp)) as relay:
        assert relay.pid is not None
        url = f"{relay.url}/latency-apart"
        writer = CoscribeApp(app, data_dir=Path(tmp) / "a", name="A")
        reader = Reader(url, Path(tmp) / "b")
        if pin:
            pin_cores(relay.pid, reader.proc.pid)
        try:
            a = writer.open_document(url)
            await wait_until(lambda: a.client.status.status == Status.SAVED, "sync", poll=0.01)
            if size_mb > 0:
                line = LINE + "\n"
                body = line * int(size_mb * 1_000_000 / len(line.encode()))
                a.editor.textCursor().insertText(body)
                await reader.until_length(qt_length(a.editor.document()), within=120.0)
                cursor = a.editor.textCursor()
                cursor.setPosition(len(body) // 2)
                a.editor.setTextCursor(cursor)
            else:
                warmup = 0
                await _settled([a.editor], a)  # spelling dictionaries loaded, loop quiet
                await reader.settle()
            a.editor.setFocus()
            rng = random.Random(3)
            typed = 0

            async def type_keys(count: int, series: Series) -> None:
                nonlocal typed
                cpu0 = (
                    time.process_time(),
                    servers.cpu_seconds(relay.pid or 0),
                    servers.cpu_seconds(reader.proc.pid),
                )
                for _ in range(count):
                    ch = "abcdefghij klmnopqrstuvwxyz"[typed % 27]
                    typed += 1
                    event = QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch)
                    t0 = time.perf_counter()
                    QApplication.sendEvent(a.editor, event)
                    record = await reader.next(5.0)
                    series.latencies.append(float(record["at"]) - t0)
                    await asyncio.sleep(gap * rng.uniform(0.5, 1.5))  # typing cadence
                series.cpu = {
                    "writer": time.process_time() - cpu0[0],
                    "relay": servers.cpu_seconds(relay.pid or 0) - cpu0[1],
                    "reader": servers.cpu_seconds(reader.proc.pid) - cpu0[2],
                }

            if warmup:
                await type_keys(warmup, warm)
                await _settled([a.editor], a)
                await reader.settle()
            await type_keys(keystrokes, steady)
            await reader.until_length(qt_length(a.editor.document()), within=30.0)
        finally:
            reader.close()
            await writer.aclose()
    return warm, steady


def pin_cores(relay_pid: int, reader_pid: int) -> None:
    """The writer (this process) on core 0, the relay and the reader on core 1.

    On one 2-core machine the three programs otherwise take turns on both cores, and a
    keystroke can wait a scheduler slice (3-4 ms measured) while the writer repaints: a
    cost people at different machines do not have. The relay and the reader still share
    a core, but they work one after the other on a keystroke.

    Raises:
        SystemExit: fewer than two cores, or no CPU affinity on this system.
    """
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        raise SystemExit("--pin-cores needs two cores and os.sched_setaffinity (Linux)")
    os.sched_setaffinity(0, {0})
    os.sched_setaffinity(relay_pid, {1})
    os.sched_setaffinity(reader_pid, {1})


def bench(
    app: QApplication,
    keystrokes: int,
    gap: float,
    size_mb: float,
    warmup: int,
    pin: bool = False,
) -> None:
    import qasync

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        warm, steady = runner.run(measure(app, keystrokes, gap, size_mb, warmup, pin))
    pinned = ", writer on core 0, relay and reader on core 1" if pin else ""
    where = (
        f"(writer, relay and reader in three processes{pinned}, shown offscreen, "
        f"{size_mb:g} MB document, {gap * 1e3:.0f} ms typing gap)"
    )
    if warm.latencies:
        print(f"latency apart while unsettled, the first {len(warm.latencies)} keys {where}: "
              f"{warm.summary()}")  # fmt: skip
    print(
        f"latency apart, key event in writer A -> text in reader B {where}"
        f"{', both settled' if warm.latencies else ''}: {steady.summary()}"
        f"  [target: p99 < 10 ms]"
    )


# ---------------------------------------------------------------------- the reader process


def qt_length(doc: Any) -> int:
    """The text's length in Qt's units (UTF-16), without the final paragraph end."""
    return int(doc.characterCount()) - 1


async def _read_document(app: QApplication, url: str, data_dir: Path, out: TextIO) -> None:
    from editor_bench import _settled

    from editor_app.ui.app import CoscribeApp

    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def stdin_lines() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "")

    threading.Thread(target=stdin_lines, daemon=True).start()
    reader = CoscribeApp(app, data_dir=data_dir, name="B")
    try:
        b = reader.open_document(url)
        doc = b.editor.document()

        length = qt_length(doc)

        def on_change(_pos: int, removed: int, added: int) -> None:
            nonlocal length
            if added > removed:  # text came in (a format change adds and removes as much)
                at = time.perf_counter()
                length = qt_length(doc)
                out.write(json.dumps({"at": at, "len": length}) + "\n")
                out.flush()

        doc.contentsChange.connect(on_change)
        while (command := await commands.get()) != "":
            if command == "settle":
                await _settled([b.editor], b)
                out.write('{"settled": true}\n')
                out.flush()
    finally:
        await reader.aclose()


def reader_main(url: str, data_dir: Path) -> None:
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(_read_document(app, url, data_dir, sys.stdout))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reader", nargs=2, metavar=("URL", "DATA_DIR"), required=True)
    args = parser.parse_args()
    reader_main(args.reader[0], Path(args.reader[1]))
