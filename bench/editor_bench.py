"""Editor binding benchmark: remote keystrokes on a 1 MB document, and a real editing trace.

Run (offscreen, no display needed):

    .venv/bin/python bench/editor_bench.py [--part NAME ...] \\
        [--trace ../shared/traces/automerge-paper.json.gz] [--size-mb 1] [--keystrokes 300]

Measures, with a real EditorWidget bound to a real pycrdt document:

1. ``remote keystroke``: one remote single-character insert (a real Yjs update from a peer,
   applied with the REMOTE origin) at a random position of a ~1 MB document, until the
   QTextDocument holds it; the median/p99 include pycrdt's own apply_update. The widget is
   shown (offscreen) and events are processed between keystrokes, so relayout work is real.
2. ``trace local``: every patch of an editing trace typed into the widget through a
   QTextCursor (contentsChange -> binding -> CRDT), then checked against the trace's end text.
3. ``trace remote``: the same patches made on a peer document and delivered to the bound
   document as one Yjs update per patch (CRDT -> binding -> widget), checked likewise.

The trace (JSON, gzipped) is an argument, never a dependency of the test suite.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pycrdt  # noqa: E402
from PySide6.QtGui import QTextCursor  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from editor_app.document_model import DocumentModel  # noqa: E402
from editor_app.offsets import TextIndex  # noqa: E402
from editor_app.schema import content  # noqa: E402
from editor_app.ui.editor_widget import EditorWidget  # noqa: E402
from shared.origins import Origin  # noqa: E402

DEFAULT_TRACE = Path(__file__).resolve().parents[2] / "shared/traces/automerge-paper.json.gz"
LINE = "The quick brown fox jumps over the lazy dog, 한국어 😀 and more text. "


def _editor(app: QApplication, doc: pycrdt.Doc[Any], *, shown: bool = True) -> EditorWidget:
    editor = EditorWidget(DocumentModel(doc))
    editor.resize(900, 700)
    if shown:
        editor.show()
    app.processEvents()
    return editor


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_remote_keystrokes(
    app: QApplication, size_mb: float, keystrokes: int, *, line_repeat: int, shown: bool
) -> None:
    line = LINE * line_repeat + "\n"
    lines = int(size_mb * 1_000_000 / len(line.encode()))
    body = line * lines
    peer: pycrdt.Doc[Any] = pycrdt.Doc()
    content(peer).insert(0, body, {})
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(peer.get_update())
    started = time.perf_counter()
    editor = _editor(app, doc, shown=shown)
    load = time.perf_counter() - started
    text = content(peer)
    mirror = TextIndex(body)
    rng = random.Random(7)
    updates = []
    for _ in range(keystrokes):
        pos16 = mirror.u8_to_u16(mirror.u16_to_u8(rng.randrange(mirror.len16)))
        pos8 = mirror.u16_to_u8(pos16)
        before = peer.get_state()
        text.insert(pos8, "x", {})
        mirror.apply(pos16, 0, "x")
        updates.append(peer.get_update(before))
    times = []
    for update in updates:
        t0 = time.perf_counter()
        with doc.transaction(origin=Origin.REMOTE):
            doc.apply_update(update)
        times.append(time.perf_counter() - t0)
        app.processEvents()
    assert editor.document().characterCount() - 1 == mirror.len16
    size = len(str(content(doc)).encode())
    print(
        f"remote keystroke, {'shown' if shown else 'hidden'} widget, {size / 1e6:.2f} MB "
        f"({lines} lines of {len(line)} chars): "
        f"median {statistics.median(times) * 1e3:.3f} ms, "
        f"p99 {_pct(times, 0.99) * 1e3:.3f} ms, max {max(times) * 1e3:.3f} ms "
        f"(n={len(times)}); initial load {load:.2f} s"
    )
    editor.close_binding()
    editor.close()


def _patches(trace: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [(p[0], p[1], p[2]) for txn in trace["txns"] for p in txn["patches"]]


def bench_trace_local(app: QApplication, trace: dict[str, Any], *, shown: bool) -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    editor = _editor(app, doc, shown=shown)
    qdoc = editor.document()
    cursor = QTextCursor(qdoc)
    mirror = TextIndex("")  # trace positions are code points; Qt wants UTF-16
    patches = _patches(trace)
    t0 = time.perf_counter()
    for pos, deleted, inserted in patches:
        a16 = pos if mirror.len16 == mirror.len8 else _cp_to_u16(mirror, pos)
        b16 = a16 + deleted if mirror.len16 == mirror.len8 else _cp_to_u16(mirror, pos + deleted)
        cursor.setPosition(a16)
        if b16 > a16:
            cursor.setPosition(b16, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(inserted) if inserted else cursor.removeSelectedText()
        mirror.apply(a16, b16 - a16, inserted)
    elapsed = time.perf_counter() - t0
    ok = str(content(doc)) == trace["endContent"]
    print(
        f"trace local, {'shown' if shown else 'hidden'} widget "
        f"({len(patches)} patches through QTextCursor -> binding -> CRDT): "
        f"{elapsed:.2f} s, {elapsed / len(patches) * 1e6:.1f} us/patch, end text ok={ok}"
    )
    editor.close_binding()
    editor.close()


def _cp_to_u16(mirror: TextIndex, cp: int) -> int:
    # Only reached for non-ASCII traces: O(n), fine for a benchmark helper.
    return len(mirror.text[:cp].encode("utf-16-le")) // 2


def bench_trace_pycrdt_only(trace: dict[str, Any]) -> None:
    """Baseline: the same patches on a bare pycrdt Text (no Qt, no observer, no undo)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    patches = _patches(trace)
    t0 = time.perf_counter()
    for pos, deleted, inserted in patches:
        with doc.transaction(origin=Origin.LOCAL_EDIT):
            if deleted:
                del text[pos : pos + deleted]  # ASCII trace: code points == bytes
            if inserted:
                text.insert(pos, inserted, {})
    elapsed = time.perf_counter() - t0
    print(
        f"baseline, pycrdt alone ({len(patches)} patches, one transaction each): "
        f"{elapsed:.2f} s, {elapsed / len(patches) * 1e6:.1f} us/patch"
    )


def bench_trace_remote(app: QApplication, trace: dict[str, Any], *, shown: bool) -> None:
    peer: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(peer)
    updates: list[bytes] = []
    sub = peer.observe(lambda event: updates.append(event.update))
    for pos, deleted, inserted in _patches(trace):
        with peer.transaction():
            if deleted:
                del text[pos : pos + deleted]  # ASCII trace: code points == bytes
            if inserted:
                text.insert(pos, inserted, {})
    peer.unobserve(sub)
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    editor = _editor(app, doc, shown=shown)
    t0 = time.perf_counter()
    for update in updates:
        with doc.transaction(origin=Origin.REMOTE):
            doc.apply_update(update)
    elapsed = time.perf_counter() - t0
    app.processEvents()
    qt_text = editor.document().toRawText().replace("\u2029", "\n")
    ok = qt_text == trace["endContent"]
    print(
        f"trace remote, {'shown' if shown else 'hidden'} widget "
        f"({len(updates)} Yjs updates -> binding -> QTextDocument): "
        f"{elapsed:.2f} s, {elapsed / len(updates) * 1e6:.1f} us/update, end text ok={ok}"
    )
    editor.close_binding()
    editor.close()


PARTS = (
    "keystrokes-hidden",
    "keystrokes-shown",
    "keystrokes-shown-paragraphs",
    "trace-baseline",
    "trace-local-hidden",
    "trace-remote-hidden",
    "trace-local-shown",
    "trace-remote-shown",
)


def run_part(part: str, args: argparse.Namespace) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    if part.startswith("keystrokes"):
        # Hidden: the binding + QTextDocument (Qt defers layout). Shown: plus QTextEdit's
        # rich-text relayout, which Qt does in O(number of blocks) per edit.
        bench_remote_keystrokes(
            app,
            args.size_mb,
            args.keystrokes,
            line_repeat=8 if part.endswith("paragraphs") else 1,
            shown="shown" in part,
        )
        return
    if not args.trace.exists():
        print(f"trace {args.trace} not found; skipping {part}")
        return
    with gzip.open(args.trace, "rt", encoding="utf-8") as f:
        trace = json.load(f)
    if not trace["endContent"].isascii():
        print("note: non-ASCII trace; the remote replay assumes ASCII positions")
    if part == "trace-baseline":
        bench_trace_pycrdt_only(trace)
    elif part.startswith("trace-local"):
        bench_trace_local(app, trace, shown=part.endswith("shown"))
    else:
        bench_trace_remote(app, trace, shown=part.endswith("shown"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--keystrokes", type=int, default=300)
    parser.add_argument(
        "--part",
        choices=PARTS,
        action="append",
        help="run only these parts (default: all, each in a fresh process, since a heap "
        "left over from one part slows the next one's garbage collection several-fold)",
    )
    args = parser.parse_args(argv)
    if args.part and len(args.part) == 1:
        run_part(args.part[0], args)
        return 0
    common = ["--trace", str(args.trace), "--size-mb", str(args.size_mb)]
    common += ["--keystrokes", str(args.keystrokes)]
    for part in args.part or PARTS:
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--part", part, *common], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
