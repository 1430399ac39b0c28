"""Relay benchmark: our sync server against @y/websocket-server and pycrdt-websocket.

Runs the same scenarios, in the same run, against every selected server (a fresh server
process per scenario) with stock y-websocket clients in separate processes, then prints a
markdown table (ours, theirs, ratio ours/Node) and writes it, plus the raw JSON, to
``bench/results/<date>-relay.md``/``.json``. See bench/README.md for what each scenario
measures.

    .venv/bin/python bench/relay_bench.py --quick
    .venv/bin/python bench/relay_bench.py --servers ours,node --scenarios fanout
    .venv/bin/python bench/relay_bench.py --url ws://127.0.0.1:8765 --pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import scenarios
import servers
import typing_load
import ywire
from report import render_markdown
from scenarios import Metrics, Workloads

DEFAULT_TRACE = servers.REPO_DIR.parent / "shared" / "traces" / "automerge-paper.json.gz"
RESULTS_DIR = servers.BENCH_DIR / "results"
ALL_SCENARIOS = ("fanout", "rate", "trace", "cold", "memory", "typing", "ramp", "join")
#: Scenarios every server runs; the others only run on ``servers.PLAIN_SERVERS``.
TYPING_SCENARIOS = {"typing", "ramp", "join"}


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run does; ``--quick`` shrinks every size, never the shape."""

    fanout_readers: tuple[int, ...]
    fast_updates: Callable[[int], int]
    rate_updates: int
    rate: float
    trace_edits: int | None
    cold_reps: int
    idle_conns: int
    idle_rooms: int
    #: (rooms, people) of the typing cases, keystrokes/s per person, seconds per case.
    typing_shapes: tuple[tuple[int, int], ...] = ((50, 5), (100, 5))
    typing_rate: float = 5.0
    typing_s: float = 20.0
    #: Room counts of the sustainable-rate ramp (5 people each), seconds per step.
    ramp_rooms: tuple[int, ...] = (50, 100, 150, 200, 250, 300, 350, 400, 500)
    ramp_s: float = 10.0
    #: Join storm: clients, rooms, seconds over which they dial, document bytes.
    join: tuple[int, int, float, int] = (1000, 100, 1.0, 50_000)


FULL = Plan(
    fanout_readers=(1, 10, 100, 500),
    fast_updates=lambda n: min(20_000, max(2_000, 1_000_000 // n)),
    rate_updates=1_000,
    rate=100.0,
    trace_edits=None,
    cold_reps=7,
    idle_conns=2_000,
    idle_rooms=200,
)
QUICK = Plan(
    fanout_readers=(1, 10, 100),
    fast_updates=lambda n: 2_000,
    rate_updates=200,
    rate=100.0,
    trace_edits=20_000,
    cold_reps=3,
    idle_conns=200,
    idle_rooms=20,
    typing_shapes=((10, 5),),
    typing_s=5.0,
    ramp_rooms=(10, 20),
    ramp_s=4.0,
    join=(100, 10, 1.0, 50_000),
)


def build_workloads(plan: Plan, trace: Path | None, work_dir: Path, wanted: set[str]) -> Workloads:
    """Generate every writer's updates up front, so no server pays for it in its timing."""
    typing: dict[int, Path] = {}
    counts = set()
    if "fanout" in wanted:
        counts |= {plan.fast_updates(n) for n in plan.fanout_readers}
    if "rate" in wanted:
        counts.add(plan.rate_updates)
    for count in sorted(counts):
        path = work_dir / f"typing-{count}.bin"
        ywire.write_messages(path, ywire.typing_workload(count))
        typing[count] = path
    paths: list[Path | None] = [None, None, None, None]
    edits = 0
    if trace is not None and wanted & {"trace", "cold"}:
        started = time.monotonic()
        load = ywire.trace_workload(trace, plan.trace_edits)
        edits = len(load.messages)
        paths = [work_dir / n for n in ("trace.bin", "full.bin", "end.txt", "state.bin")]
        ywire.write_messages(paths[0], load.messages)  # type: ignore[arg-type]
        paths[1].write_bytes(load.full_update)  # type: ignore[union-attr]
        paths[2].write_text(load.end_text)  # type: ignore[union-attr]
        paths[3].write_bytes(load.final_state)  # type: ignore[union-attr]
        took = time.monotonic() - started
        print(f"# trace {trace.name}: {edits} edits, doc {len(load.full_update)} B ({took:.1f} s)")
    join_seed = None
    if "join" in wanted:
        join_seed = work_dir / "join-seed.bin"
        join_seed.write_bytes(join_document(plan.join[3]))
    if wanted & {"typing", "ramp"}:
        typing_load.check_forgery()
    return Workloads(work_dir, typing, *paths, trace_edits=edits, join_seed=join_seed)


def join_document(target_bytes: int) -> bytes:
    """A document with an editing history (inserts of words and phrases at random places
    and some deletions, by three clients) whose Yjs encoding is about ``target_bytes``."""
    import random

    from pycrdt import Doc, Text

    rng = random.Random(50)
    words = "the of and to in is that for it as with was on be by this are or an at".split()
    docs = [Doc(client_id=1000 + i) for i in range(3)]
    texts = [d.get(typing_load.TEXT_NAME, type=Text) for d in docs]
    length = 0
    while len(docs[0].get_update()) < target_bytes:
        for _ in range(50):
            i = rng.randrange(3)
            doc, text = docs[i], texts[i]
            length = len(str(text))
            if length > 200 and rng.random() < 0.1:
                at = rng.randrange(length - 20)
                del text[at : at + rng.randrange(1, 20)]
            else:
                phrase = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 30))) + " "
                text.insert(rng.randrange(length + 1) if length else 0, phrase)
            update = doc.get_update()
            for other in docs:
                if other is not doc:
                    other.apply_update(update)
    return docs[0].get_update()


async def _never() -> Metrics:
    raise AssertionError("the ramp is run by run_all itself")


def median_metrics(runs: list[Metrics]) -> Metrics:
    out: Metrics = {}
    for key in runs[0]:
        values = [r.get(key) for r in runs]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(values):
            med = statistics.median(numbers)
            out[key] = round(med, 2) if isinstance(med, float) else med
        else:
            out[key] = values[0] if len(set(map(str, values))) == 1 else "/".join(map(str, values))
    if len(runs) > 1:
        out["repeats"] = len(runs)
    return out


async def run_all(args: argparse.Namespace) -> dict[str, dict[str, Metrics]]:
    plan = QUICK if args.quick else FULL
    if args.readers:
        plan = dataclasses.replace(
            plan, fanout_readers=tuple(int(n) for n in args.readers.split(","))
        )
    if args.typing:
        shapes = tuple((int(r), int(k)) for r, k in (c.split("x") for c in args.typing.split(",")))
        plan = dataclasses.replace(plan, typing_shapes=shapes)
    if args.ramp:
        plan = dataclasses.replace(plan, ramp_rooms=tuple(int(n) for n in args.ramp.split(",")))
    if args.typing_seconds:
        plan = dataclasses.replace(plan, typing_s=args.typing_seconds, ramp_s=args.typing_seconds)
    wanted = set(args.scenarios.split(","))
    names = ["url"] if args.url else args.servers.split(",")
    for name in list(names):
        why = servers.availability(name) if name != "url" else None
        if why:
            print(f"# skipping {name}: {why}", file=sys.stderr)
            names.remove(name)
    trace = Path(args.trace) if args.trace else (DEFAULT_TRACE if DEFAULT_TRACE.exists() else None)
    if trace is None:
        wanted -= {"trace", "cold"}
        print("# no trace file: trace and cold-sync scenarios skipped", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    print(f"# work dir {work}", file=sys.stderr)
    loads = build_workloads(plan, trace, work, wanted)

    @contextlib.asynccontextmanager
    async def server_for(name: str) -> AsyncIterator[servers.Running]:
        if name == "url":
            yield servers.Running("url", args.url.rstrip("/"), args.pid)
        else:
            with servers.started(name, work, args.ours_args) as running:
                yield running

    jobs: list[tuple[str, Callable[[servers.Running, str], Awaitable[Metrics]]]] = []
    for n in plan.fanout_readers:
        if "fanout" in wanted:
            updates = plan.fast_updates(n)

            def fast(
                s: servers.Running, tag: str, n: int = n, u: int = updates
            ) -> Awaitable[Metrics]:
                return scenarios.fanout(s, loads, n, u, 0.0, args.reader_procs, tag)

            jobs.append((f"fanout N={n} fast", fast))
    for n in plan.fanout_readers:
        if "rate" in wanted:

            def paced(s: servers.Running, tag: str, n: int = n) -> Awaitable[Metrics]:
                return scenarios.fanout(
                    s, loads, n, plan.rate_updates, plan.rate, args.reader_procs, tag
                )

            jobs.append((f"fanout N={n} {plan.rate:g}/s", paced))
    if "trace" in wanted:
        jobs.append(("trace replay", lambda s, tag: scenarios.trace_replay(s, loads, tag)))
    if "cold" in wanted:
        jobs.append(
            ("cold sync", lambda s, tag: scenarios.cold_sync(s, loads, plan.cold_reps, tag))
        )
    if "memory" in wanted:
        jobs.append(
            (
                "idle memory",
                lambda s, tag: scenarios.idle_memory(
                    s, loads, plan.idle_conns, plan.idle_rooms, tag
                ),
            )
        )

    typing_labels: set[str] = set()
    if "typing" in wanted:
        for rooms, people in plan.typing_shapes:

            def type_job(
                s: servers.Running, tag: str, r: int = rooms, k: int = people
            ) -> Awaitable[Metrics]:
                return scenarios.typing(
                    s, loads, r, k, plan.typing_rate, plan.typing_s, args.typing_procs, tag
                )

            label = f"typing {rooms}x{people}"
            typing_labels.add(label)
            jobs.append((label, type_job))
    if "join" in wanted:
        clients, join_rooms, spread, _ = plan.join
        typing_labels.add("join storm")
        jobs.append(
            (
                "join storm",
                lambda s, tag: scenarios.join_storm(
                    s, loads, clients, join_rooms, spread, args.typing_procs, tag
                ),
            )
        )

    results: dict[str, dict[str, Metrics]] = {}
    if "ramp" in wanted:
        jobs.append(("sustainable rate", lambda s, tag: _never()))
    for label, job in jobs:
        results[label] = {}
        for name in names:
            if name == "raw" and label == "cold sync":
                continue  # a relay without a document has nothing to send a new client
            typing_job = label in typing_labels or label == "sustainable rate"
            if typing_job and name == "raw":
                continue  # no document: nothing to type into
            if not typing_job and name not in servers.PLAIN_SERVERS:
                continue  # Hocuspocus frames differ: only the typing scenarios speak them
            if label == "sustainable rate":
                tag = f"ramp-{name}"
                await asyncio.to_thread(servers.wait_quiet, args.quiet_wait)
                try:
                    results[label][name] = await scenarios.typing_ramp(
                        lambda name=name: server_for(name),  # type: ignore[misc]
                        loads,
                        plan.ramp_rooms,
                        5,
                        plan.typing_rate,
                        plan.ramp_s,
                        args.typing_procs,
                        tag,
                    )
                except Exception as exc:
                    results[label][name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                print(f"# {label:22} {name:7} {json.dumps(results[label][name])}", flush=True)
                continue
            runs: list[Metrics] = []
            for rep in range(args.repeat):
                tag = f"{label.replace(' ', '_').replace('/', '')}-{name}-{rep}"
                busy = await asyncio.to_thread(servers.wait_quiet, args.quiet_wait)
                started = time.monotonic()
                try:
                    async with server_for(name) as running:
                        runs.append(await job(running, tag))
                except Exception as exc:  # one failing server must not sink the others
                    runs.append({"error": f"{type(exc).__name__}: {exc}"[:300]})
                runs[-1]["busy_before"] = busy
                took = time.monotonic() - started
                print(f"# {label:22} {name:7} ({took:5.1f} s) {json.dumps(runs[-1])}", flush=True)
            results[label][name] = median_metrics(runs)
    if args.keep_work or any("error" in m for per in results.values() for m in per.values()):
        print(f"# work dir kept (logs): {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="benchmark an already-running server (ws://host:port)")
    p.add_argument("--pid", type=int, help="with --url: the server's pid, for CPU and memory")
    p.add_argument("--servers", default="ours,node,hocuspocus,pycrdt,raw", help="comma-separated")
    p.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="comma-separated")
    p.add_argument("--trace", help=f"editing trace (default {DEFAULT_TRACE} if present)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    p.add_argument("--repeat", type=int, default=1, help="runs per case; medians reported")
    p.add_argument("--readers", help="fan-out reader counts, e.g. 100,500 (default per plan)")
    p.add_argument("--reader-procs", type=int, default=2, help="reader processes for N >= 2")
    p.add_argument(
        "--typing-procs", type=int, default=2, help="load-generator processes for typing/join"
    )
    p.add_argument("--typing", help="typing cases as ROOMSxPEOPLE,... (default per plan)")
    p.add_argument("--ramp", help="room counts of the sustainable-rate ramp, e.g. 100,200")
    p.add_argument("--typing-seconds", type=float, help="seconds per typing case")
    p.add_argument(
        "--quiet-wait", type=float, default=15.0, help="max s to wait for an idle machine"
    )
    p.add_argument(
        "--ours-args",
        default=servers.OURS_BENCH_ARGS,
        help="extra arguments for python -m sync_server (default: abuse limits off)",
    )
    p.add_argument("--keep-work", action="store_true", help="keep the temp work dir")
    p.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = p.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(ALL_SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios {sorted(unknown)}; choose from {ALL_SCENARIOS}")
    bad = set(args.servers.split(",")) - set(servers.SERVER_NAMES)
    if bad:
        p.error(f"unknown servers {sorted(bad)}; choose from {servers.SERVER_NAMES}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    results = asyncio.run(run_all(args))
    title = f"Relay benchmark {started:%Y-%m-%d %H:%M} UTC" + (" (--quick)" if args.quick else "")
    markdown = render_markdown(title, results, vars(args))
    print(markdown)
    if not args.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stem = RESULTS_DIR / f"{started:%Y-%m-%d-%H%M}-relay{'-quick' if args.quick else ''}"
        stem.with_suffix(".md").write_text(markdown)
        payload = {"args": vars(args), "started": started.isoformat(), "results": results}
        stem.with_suffix(".json").write_text(json.dumps(payload, indent=1))
        print(f"# saved {stem}.md and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
