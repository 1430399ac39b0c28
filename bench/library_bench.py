"""Document library figures (issue 14): list 10,000 documents through the HTTP API.

Creates N documents (one small update each, a title noted for each) in a SQLite store,
starts the relay on that data directory, and times ``GET /api/v1/documents`` (the whole
listing, and a title search) over real HTTP, end to end.

    .venv/bin/python bench/library_bench.py [--documents 10000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pycrdt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync_server.app import RelayServer  # noqa: E402
from sync_server.config import ServerConfig  # noqa: E402
from sync_server.sqlite_store import SQLiteStore  # noqa: E402
from tests.support.http_api import call, http_url  # noqa: E402


def one_update(text: str) -> bytes:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def run(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        started = time.perf_counter()
        async with SQLiteStore(data / "coscribe.sqlite3") as store:
            for i in range(count):
                store.append(f"doc-{i:05d}", one_update(f"document {i}"))
            await store.flush()
            for i in range(count):
                await store.note_info(f"doc-{i:05d}", title=f"회의록 {i}", last_editor="bench")
        print(f"# {count:,} documents created in {time.perf_counter() - started:.1f} s")
        async with RelayServer(ServerConfig(port=0, data_dir=data)) as srv:
            for label, query in (("all", ""), ("search", "?q=%ED%9A%8C%EC%9D%98%EB%A1%9D%201234")):
                times: list[float] = []
                listed = 0
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    status, body, _ = await call(http_url(srv, "/api/v1/documents" + query))
                    times.append((time.perf_counter() - t0) * 1000)
                    assert status == 200
                    listed = len(json.loads(body)["documents"])
                print(f"GET /api/v1/documents ({label}): {listed:,} listed, median "
                      f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--documents", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    if args.documents < 1 or args.repeat < 1:
        p.error("--documents and --repeat must be at least 1")
    asyncio.run(run(args.documents, args.repeat))


if __name__ == "__main__":
    main()
