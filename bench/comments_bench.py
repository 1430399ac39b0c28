"""Comment anchors under a real editing trace (issue 14): are they exact afterwards?

Replays the first part of a trace (default automerge-paper), opens comment threads on N
spans of the text through the editor's own model (``editor_app.core.comments``: Yjs
relative positions, schema §3.1), replays the rest of the trace around and inside them,
and checks every thread against a shadow model of where its ends must be (an insert at a
thread's start goes before it, one at its end after it; a deleted end lands where its
character was — Yjs's rules for relative positions with assoc 0 and -1). Reports how many
anchors are exact, and the time to resolve all threads.

    .venv/bin/python bench/comments_bench.py [--trace PATH] [--threads 50] [--split 0.3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import pycrdt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ywire import iter_trace_patches  # noqa: E402
from editor_app.core.comments import Comments  # noqa: E402
from editor_app.core.offsets import TextIndex  # noqa: E402
from editor_app.core.text_ops import apply_local_change  # noqa: E402

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
DEFAULT_TRACE = TRACES / "automerge-paper.json.gz"


def moved(x: int, pos: int, deleted: int, inserted: int, *, is_end: bool) -> int:
    """Where index ``x`` goes when ``deleted`` units at ``pos`` become ``inserted`` ones."""
    if deleted:
        x = x if x <= pos else max(pos, x - deleted)
    if inserted and (pos < x or (pos == x and not is_end)):
        x += inserted
    return x


def run(trace: Path, threads: int, split: float) -> None:
    patches = list(iter_trace_patches(trace))
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    index = TextIndex()
    first = int(len(patches) * split)

    def apply(pos: int, deleted: int, inserted: str) -> None:
        with doc.transaction():
            apply_local_change(text, index, pos, deleted, inserted)

    for pos, deleted, inserted in patches[:first]:
        apply(pos, deleted, inserted)
    comments = Comments(doc, text, index, lambda: "bench")
    rng = random.Random(7)
    expected: dict[str, list[int]] = {}
    for _ in range(threads):
        start = rng.randrange(0, max(1, index.len16 - 40))
        end = start + rng.randint(1, 40)
        thread = comments.open_thread((start, end), "anchored here")
        assert thread is not None
        expected[thread] = [start, end]
    for pos, deleted, inserted in patches[first:]:
        apply(pos, deleted, inserted)
        for span in expected.values():
            span[0] = moved(span[0], pos, deleted, len(inserted), is_end=False)
            span[1] = moved(span[1], pos, deleted, len(inserted), is_end=True)
    started = time.perf_counter()
    found = {t.id: t for t in comments.threads()}
    resolve_ms = (time.perf_counter() - started) * 1000
    exact = 0
    wrong: list[str] = []
    for thread_id, (start, end) in expected.items():
        t = found[thread_id]
        got = (t.start, t.end)
        want = (start, max(start, end))
        if got == want or (t.text_deleted and want[0] == want[1]):
            exact += 1
        else:
            wrong.append(f"{thread_id}: got {got}, want {want}")
    print(f"# trace {trace.name}: {first:,} patches before the threads, "
          f"{len(patches) - first:,} after; document {index.len16:,} UTF-16 units")  # fmt: skip
    print(f"anchors exact: {exact} of {len(expected)}; "
          f"resolving every thread: {resolve_ms:.0f} ms")  # fmt: skip
    for line in wrong[:10]:
        print("  wrong", line)
    comments.close()
    if wrong:
        sys.exit(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trace", type=Path, default=DEFAULT_TRACE, help="josephg-format trace")
    p.add_argument("--threads", type=int, default=50)
    p.add_argument("--split", type=float, default=0.3, help="share of the trace before")
    args = p.parse_args()
    if not args.trace.exists():
        p.error(f"no trace at {args.trace}; pass --trace PATH (see ../shared/traces/)")
    if args.threads < 1 or not 0 < args.split < 1:
        p.error("--threads must be at least 1 and --split between 0 and 1")
    run(args.trace, args.threads, args.split)


if __name__ == "__main__":
    main()
