"""Version history figures on a real editing trace (issue 14, docs/storage.md "Versions").

Replays a trace (default: automerge-paper, 259,778 edits) into a SQLite store the way the
relay writes it, and makes an automatic version after every 1/N of the trace. Reports:

* bytes stored per version (compressed snapshot) against the document's own size;
* the time to make a version (read the durable log, replay, encode, compress, insert);
* the time to read one back (``version_update``), and to restore it in the editor (the
  version's document built from the bytes, the smallest edit planned and applied in one
  transaction: ``editor_app.core.restore``), for the earliest, middle and latest version
  into the final document.

    .venv/bin/python bench/history_bench.py [--trace PATH] [--versions 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pycrdt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ywire import iter_trace_patches  # noqa: E402
from editor_app.core.restore import document_from_update, restore  # noqa: E402
from sync_server.sqlite_store import SQLiteStore  # noqa: E402

TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
DEFAULT_TRACE = TRACES / "automerge-paper.json.gz"


def replay(trace: Path) -> tuple[pycrdt.Doc[Any], list[bytes]]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    updates: list[bytes] = []
    subscription = doc.observe(lambda e: updates.append(e.update))
    for pos, deleted, inserted in iter_trace_patches(trace):
        with doc.transaction():
            if deleted:
                del text[pos : pos + deleted]
            if inserted:
                text.insert(pos, inserted)
    doc.unobserve(subscription)
    return doc, updates


async def run(trace: Path, count: int) -> None:
    started = time.perf_counter()
    final, updates = replay(trace)
    print(f"# trace {trace.name}: {len(updates):,} updates, replayed in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    full = final.get_update()
    with tempfile.TemporaryDirectory() as tmp:
        async with SQLiteStore(Path(tmp) / "db.sqlite3") as store:
            made_ms: list[float] = []
            ids: list[int] = []
            step = max(1, len(updates) // count)
            for start in range(0, len(updates), step):
                for update in updates[start : start + step]:
                    store.append("paper", update)
                await store.flush()
                t0 = time.perf_counter()
                info = await store.add_version("paper", automatic=True, authors=["bench"])
                made_ms.append((time.perf_counter() - t0) * 1000)
                assert info is not None
                ids.append(info.id)
            listed = await store.versions("paper")
            sizes = [v.size for v in listed]
            t0 = time.perf_counter()
            latest = await store.version_update("paper", ids[-1])
            read_ms = (time.perf_counter() - t0) * 1000
            assert latest is not None and len(latest) == len(full)
            chars = len(str(final.get("content", type=pycrdt.Text)))
            print(f"document: {len(full):,} bytes as one update; {chars:,} characters")
            print(f"versions: {len(listed)} (retention keeps them all below 50)")
            print(f"stored bytes per version: mean {statistics.mean(sizes):,.0f}, "
                  f"max {max(sizes):,}, total {sum(sizes):,} "
                  f"({max(sizes) / len(full):.2f}x the final document's update)")  # fmt: skip
            print(f"make a version: median {statistics.median(made_ms):.0f} ms, "
                  f"max {max(made_ms):.0f} ms")  # fmt: skip
            print(f"read the latest version back: {read_ms:.0f} ms")
            for label, vid in (("earliest", ids[0]), ("middle", ids[len(ids) // 2]),
                               ("latest", ids[-1])):  # fmt: skip
                update = await store.version_update("paper", vid)
                assert update is not None
                current: pycrdt.Doc[Any] = pycrdt.Doc()
                current.apply_update(full)
                t0 = time.perf_counter()
                version = document_from_update(update)
                edit = restore(current, version)
                ms = (time.perf_counter() - t0) * 1000
                got = str(current.get("content", type=pycrdt.Text))
                assert got == str(version.get("content", type=pycrdt.Text))
                print(f"restore the {label} version into the final document: {ms:.0f} ms "
                      f"(deleted {edit.delete8:,} bytes, inserted {len(edit.inserted16):,} "
                      "UTF-16 units)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trace", type=Path, default=DEFAULT_TRACE, help="josephg-format trace")
    p.add_argument("--versions", type=int, default=20, help="versions over the trace")
    args = p.parse_args()
    if not args.trace.exists():
        p.error(f"no trace at {args.trace}; pass --trace PATH (see ../shared/traces/)")
    if args.versions < 1:
        p.error("--versions must be at least 1")
    asyncio.run(run(args.trace, args.versions))


if __name__ == "__main__":
    main()
