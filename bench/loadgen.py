"""Load-generator worker processes, driven by relay_bench.py over stdin/stdout.

Each role runs in its own process so that the server's CPU and the clients' CPU are
separate (the server process is the one measured). Clients speak the stock y-websocket
protocol, with no subprotocol. Protocol with the orchestrator, one line each way:

    worker -> READY ...        connections open (and synced, when the server is a CRDT)
    orch   -> GO               (writer) start sending
    worker -> DONE             (writer) everything sent; send times written
    orch   -> DONE             (reader) the writer has finished: stop once idle
    orch   -> CLOSE            (writer, idle) close the connections and exit
    worker -> STOPPED          (reader) no longer receiving; decoding now
    worker -> RESULT <path>    the JSON result file

Readers keep (receive time, raw message) and decode only after the run: decoding while
receiving would make the load generator, not the server, the bottleneck.

Usage: python loadgen.py ROLE CONFIG_JSON   (ROLE: read | write | idle | cold)
"""

from __future__ import annotations

import array
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import fastws
import ywire
from pycrdt import Doc, Text, create_update_message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Config = dict[str, Any]


def say(line: str) -> None:
    print(line, flush=True)


async def stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def wait_command(stdin: asyncio.StreamReader, word: str, limit_s: float) -> None:
    """Wait for ``word`` on stdin; EOF counts as "stop now", so an orphan never lingers."""
    async with asyncio.timeout(limit_s):
        while True:
            line = await stdin.readline()
            if not line or line.decode().strip() == word:
                return


async def open_conn(url: str, handshake: bool, limit_s: float) -> ClientConnection:
    """Connect; with ``handshake``, do the stock sync exchange and wait for step 2."""
    ws = await connect(
        url,
        max_size=None,
        compression=None,
        ping_interval=None,
        open_timeout=limit_s,
        close_timeout=2,
        max_queue=None,
    )
    if not handshake:
        return ws
    await ws.send(ywire.STEP1_EMPTY)
    async with asyncio.timeout(limit_s):
        while True:
            message = await ws.recv()
            parsed = ywire.sync_payload(message if isinstance(message, bytes) else b"")
            if parsed is None:
                continue
            if parsed[0] == ywire.STEP1:
                await ws.send(ywire.STEP2_EMPTY)
            elif parsed[0] == ywire.STEP2:
                return ws


async def open_fast(url: str, handshake: bool, limit_s: float) -> fastws.FastClient:
    """Like :func:`open_conn` on the lean client; recording starts empty afterwards."""
    client = await fastws.connect(url, limit_s)
    if handshake:
        await client.send(ywire.STEP1_EMPTY)
        while True:
            parsed = ywire.sync_payload(await client.next_message(limit_s))
            if parsed is None:
                continue
            if parsed[0] == ywire.STEP1:
                await client.send(ywire.STEP2_EMPTY)
            elif parsed[0] == ywire.STEP2:
                break
    client.clear()
    return client


C = TypeVar("C")  # a connection type


async def _open_all(
    urls: list[str], parallel: int, open_one: Callable[[str], Awaitable[C]]
) -> list[C]:
    """``open_one`` every URL, at most ``parallel`` at a time; the connections that opened,
    in the order of ``urls``."""
    gate = asyncio.Semaphore(parallel)
    conns: list[C | None] = [None] * len(urls)

    async def one(i: int) -> None:
        async with gate:
            conns[i] = await open_one(urls[i])

    async with asyncio.TaskGroup() as tg:
        for i in range(len(urls)):
            tg.create_task(one(i))
    return [c for c in conns if c is not None]


async def open_many_fast(
    urls: list[str], handshake: bool, limit_s: float, parallel: int = 50
) -> list[fastws.FastClient]:
    """Like :func:`open_many`, with the fast client."""
    return await _open_all(urls, parallel, lambda url: open_fast(url, handshake, limit_s))


async def open_many(
    urls: list[str], handshake: bool, limit_s: float, parallel: int = 50
) -> list[ClientConnection]:
    """Open every URL with at most ``parallel`` handshakes in flight."""
    return await _open_all(urls, parallel, lambda url: open_conn(url, handshake, limit_s))


async def close_all(conns: list[ClientConnection]) -> None:
    async with asyncio.timeout(20):
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)


async def drain(ws: ClientConnection) -> None:
    """Discard what the server sends (Node echoes updates to their sender)."""
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        return


def write_result(cfg: Config, result: dict[str, Any]) -> None:
    result["cpu_s"] = round(time.process_time(), 2)  # is the load generator the bottleneck?
    path = Path(cfg["out"])
    path.write_text(json.dumps(result))
    say(f"RESULT {path}")


# --- reader ---------------------------------------------------------------------------


def complete(client: fastws.FastClient, expect: int) -> bool:
    """Has ``client`` received the writer's last update? Counting messages alone is not
    enough (a server may send empty updates, or merge several into one message)."""
    if not client.messages:
        return False
    if len(client.messages) < expect and client.times[-1] > time.time_ns() - 500_000_000:
        return False  # still streaming one by one: do not decode yet
    return (ywire.delivered_through(client.messages[-1]) or 0) >= expect


async def role_read(cfg: Config) -> None:
    stdin = await stdin_reader()
    conns = await open_many_fast(cfg["urls"], cfg["handshake"], cfg["open_timeout"])
    say(f"READY {len(conns)}")
    writer_done = asyncio.Event()

    async def watch_stdin() -> None:
        await wait_command(stdin, "DONE", cfg["deadline_s"] + 60)
        writer_done.set()

    timed_out = False
    started = time.monotonic()
    expect = cfg.get("expect_msgs", 0)
    async with asyncio.TaskGroup() as tg:
        watcher = tg.create_task(watch_stdin())
        done_at: float | None = None
        while True:
            await asyncio.sleep(0.05)
            if expect and all(complete(c, expect) for c in conns):
                break
            if time.monotonic() - started > cfg["deadline_s"]:
                timed_out = True
                break
            if writer_done.is_set():
                done_at = done_at or time.monotonic()
                last = max((c.times[-1] for c in conns if c.times), default=0) / 1e9
                quiet = time.time() - last > cfg["idle_s"]
                if quiet and time.monotonic() - done_at > cfg["idle_s"]:
                    break
        for c in conns:
            c.record = False
        cpu_run = time.process_time()  # before decoding: what receiving cost
        try:  # the writer's send times exist only once it has said DONE
            async with asyncio.timeout(120):
                await writer_done.wait()
        except TimeoutError:
            timed_out = True
        watcher.cancel()
    say("STOPPED")
    times = [c.times for c in conns]
    messages = [c.messages for c in conns]
    if cfg["kind"] == "fanout":
        result = fanout_result(cfg, times, messages)
    else:
        result = trace_result(cfg, times, messages)
    result["timed_out"] = timed_out
    result["cpu_run_s"] = round(cpu_run, 2)
    write_result(cfg, result)
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.close() for c in conns))


def fanout_result(cfg: Config, times: list[list[int]], messages: list[list[bytes]]) -> Config:
    """Per delivered update: latency = receive time - writer send time of that update."""
    sends = array.array("q")
    sends.frombytes(Path(cfg["sends"]).read_bytes())
    total = len(sends)
    latencies = array.array("q")
    delivered = 0
    first_recv = last_recv = 0
    for t_list, m_list in zip(times, messages, strict=True):
        seen_to = 0
        for seg in ywire.attribute(m_list, t_list):
            lo, hi = max(seg.first, seen_to), min(seg.end, total)
            for clock in range(lo, hi):
                latencies.append(seg.t_ns - sends[clock])
            if hi > lo:
                delivered += hi - lo
                seen_to = hi
                last_recv = max(last_recv, seg.t_ns)
                first_recv = min(first_recv or seg.t_ns, seg.t_ns)
    lat_path = Path(cfg["out"]).with_suffix(".lat")
    lat_path.write_bytes(latencies.tobytes())
    return {
        "conns": len(times),
        "messages": sum(len(m) for m in messages),
        "delivered": delivered,
        "first_recv_ns": first_recv,
        "last_recv_ns": last_recv,
        "latency_file": str(lat_path),
    }


def trace_result(cfg: Config, times: list[list[int]], messages: list[list[bytes]]) -> Config:
    """When did each reader's document first equal the writer's final document?"""
    final_state = Path(cfg["final_state"]).read_bytes()
    end_text = Path(cfg["end_text"]).read_text()
    readers = []
    for t_list, m_list in zip(times, messages, strict=True):
        doc = Doc()
        text = doc.get(ywire.TEXT_NAME, type=Text)
        converged_ns = 0
        for message, t_ns in zip(m_list, t_list, strict=True):
            parsed = ywire.sync_payload(message)
            if parsed is None or parsed[0] == ywire.STEP1:
                continue
            doc.apply_update(parsed[1])
            if doc.get_state() == final_state and str(text) == end_text:
                converged_ns = t_ns
                break
        readers.append(
            {
                "messages": len(m_list),
                "converged_ns": converged_ns,
                "final_length": len(str(text)),
            }
        )
    return {"readers": readers, "end_length": len(end_text)}


# --- writer ---------------------------------------------------------------------------


async def role_write(cfg: Config) -> None:
    stdin = await stdin_reader()
    to_send = ywire.read_messages(Path(cfg["messages"]))
    ws = await open_fast(cfg["url"], cfg["handshake"], cfg["open_timeout"])
    ws.record = False  # Node echoes every update to its sender: discard without decoding
    sends = array.array("q", bytes(8 * len(to_send)))
    say("READY 1")
    await wait_command(stdin, "GO", cfg["deadline_s"])
    rate = float(cfg.get("rate", 0))
    now = time.time_ns
    t0 = time.monotonic()
    deadline = t0 + cfg["deadline_s"]
    sent = 0
    for k, message in enumerate(to_send):
        if rate:
            delay = t0 + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        elif k % 64 == 0:
            await asyncio.sleep(0)  # let the echo stream be read
        if time.monotonic() > deadline:
            break
        sends[k] = now()
        await ws.send(message)
        sent += 1
    await asyncio.to_thread(Path(cfg["sends"]).write_bytes, sends[:sent].tobytes())
    say("DONE")
    await wait_command(stdin, "CLOSE", cfg["deadline_s"] + 600)
    await ws.close()
    write_result(cfg, {"sent": sent, "first_send_ns": sends[0], "last_send_ns": sends[sent - 1]})


# --- idle connections (memory) --------------------------------------------------------


async def role_idle(cfg: Config) -> None:
    stdin = await stdin_reader()
    started = time.monotonic()
    conns = await open_many(cfg["urls"], cfg["handshake"], cfg["open_timeout"])
    opened_s = time.monotonic() - started
    say(f"READY {len(conns)}")
    async with asyncio.TaskGroup() as tg:
        for ws in conns:
            tg.create_task(drain(ws))
        await wait_command(stdin, "CLOSE", cfg["deadline_s"])
        await close_all(conns)
    say("CLOSED")
    write_result(cfg, {"opened": len(conns), "open_s": opened_s})


# --- cold initial sync ----------------------------------------------------------------


async def synced_text(url: str, limit_s: float) -> tuple[str, float, int]:
    """Open a fresh client, sync, return (text, seconds from dialling to applied, bytes)."""
    t0 = time.perf_counter()
    ws = await connect(
        url, max_size=None, compression=None, ping_interval=None, open_timeout=limit_s
    )
    try:
        await ws.send(ywire.STEP1_EMPTY)
        doc = Doc()
        text = doc.get(ywire.TEXT_NAME, type=Text)
        async with asyncio.timeout(limit_s):
            while True:
                message = await ws.recv()
                parsed = ywire.sync_payload(message if isinstance(message, bytes) else b"")
                if parsed is not None and parsed[0] == ywire.STEP2:
                    doc.apply_update(parsed[1])
                    elapsed = time.perf_counter() - t0
                    return str(text), elapsed, len(parsed[1])
    finally:
        await ws.close()


async def role_cold(cfg: Config) -> None:
    full_update = await asyncio.to_thread(Path(cfg["full_update"]).read_bytes)
    end_text = await asyncio.to_thread(Path(cfg["end_text"]).read_text)
    seed = await open_conn(cfg["url"], True, cfg["open_timeout"])
    async with asyncio.TaskGroup() as tg:
        tg.create_task(drain(seed))  # the seed stays connected: Node drops empty rooms
        await seed.send(create_update_message(full_update))
        ready_by = time.monotonic() + cfg["deadline_s"]
        while time.monotonic() < ready_by:
            got, _, _ = await synced_text(cfg["url"], cfg["open_timeout"])
            if got == end_text:
                break
            await asyncio.sleep(0.05)
        else:
            write_result(cfg, {"error": "the server never held the seeded document"})
            await seed.close()
            return
        samples: list[float] = []
        size = 0
        for _ in range(cfg["reps"]):
            got, elapsed, size = await synced_text(cfg["url"], cfg["open_timeout"])
            if got != end_text:
                raise RuntimeError("cold sync returned a different document")
            samples.append(elapsed)
        await seed.close()
    write_result(
        cfg,
        {
            "samples_s": samples,
            "median_s": statistics.median(samples),
            "step2_bytes": size,
            "seed_bytes": len(full_update),
        },
    )


ROLES: dict[str, Callable[[Config], Awaitable[None]]] = {
    "read": role_read,
    "write": role_write,
    "idle": role_idle,
    "cold": role_cold,
}


# --- typing in many small rooms (typing_load.py) --------------------------------------


async def open_typing(url: str, wire: Any, limit_s: float) -> tuple[fastws.FastClient, int]:
    """Connect and sync (with Hocuspocus' auth first when framed); (client, step-2 bytes)."""
    import typing_load as tl

    client = await fastws.connect(url, limit_s)
    if wire.prefix:
        await client.send(wire.wrap(bytes([2, 0]) + tl.var_string("")))
        while True:
            msg = wire.unwrap(await client.next_message(limit_s))
            if msg is not None and msg[:2] == bytes([2, 2]):
                break
            if msg is not None and msg[:2] == bytes([2, 1]):
                raise ConnectionError("hocuspocus refused authentication")
    await client.send(wire.wrap(ywire.STEP1_EMPTY))
    reply = bytes([4 if wire.prefix else 0]) + ywire.STEP2_EMPTY[1:]
    while True:
        msg = wire.unwrap(await client.next_message(limit_s))
        if msg is None or len(msg) < 2 or msg[0] not in (0, 4):
            continue
        if msg[1] == ywire.STEP1:
            await client.send(wire.wrap(reply))
        elif msg[1] == ywire.STEP2:
            size = len(msg)
            break
    client.clear()
    return client, size


async def role_type(cfg: Config) -> None:
    """R rooms x K people: connect, seed, then type on GO; decode after the run."""
    import random

    import typing_load as tl

    stdin = await stdin_reader()
    people, rate, duration = int(cfg["people"]), float(cfg["rate"]), float(cfg["duration_s"])
    seed_no = int(cfg["run_seed"])
    rooms: list[dict[str, Any]] = cfg["rooms"]  # {"index", "name", "url"}
    cids: list[int] = []
    wires: list[tl.Wire] = []
    room_of: list[int] = []
    plans: list[list[float]] = []
    payloads: list[list[bytes]] = []  # per connection, per keystroke: the update
    frames: list[list[bytes]] = []  # per connection, per keystroke: both frames, ready
    seeds: list[bytes] = []
    for ri, room in enumerate(rooms):
        text = tl.seed_text(room["index"], people)
        seeds.append(tl.seed_update(text))
        ends = tl.paragraph_ends(text)
        wire = tl.Wire.for_server(cfg["framed"], room["name"])
        for k in range(people):
            cid = tl.client_id(seed_no, room["index"], k)
            plan = tl.schedule(random.Random(f"{seed_no}:{room['index']}:{k}"), rate, duration)
            updates = tl.keystrokes(cid, ends[k], len(plan))
            state = tl.awareness_state(k, ends[k])
            cids.append(cid)
            wires.append(wire)
            room_of.append(ri)
            plans.append(plan)
            payloads.append(updates)
            frames.append(
                [
                    fastws.frame(wire.wrap(tl.sync_update_message(u)))
                    + fastws.frame(wire.wrap(tl.awareness_message(cid, i + 2, state)))
                    for i, u in enumerate(updates)
                ]
            )
    conns: list[fastws.FastClient | None] = [None] * len(cids)
    connect_ms: list[float] = []
    gate = asyncio.Semaphore(int(cfg.get("parallel", 50)))

    async def join(j: int) -> None:
        async with gate:
            started = time.perf_counter()
            url = rooms[room_of[j]]["url"]
            conns[j], _ = await open_typing(url, wires[j], cfg["open_timeout"])
            connect_ms.append((time.perf_counter() - started) * 1000)

    async def open_room(ri: int) -> None:
        first = ri * people
        await join(first)
        client = conns[first]
        assert client is not None
        await client.send(wires[first].wrap(tl.sync_update_message(seeds[ri])))
        await asyncio.sleep(0.05)
        async with asyncio.TaskGroup() as tg:
            for j in range(first + 1, first + people):
                tg.create_task(join(j))

    async with asyncio.TaskGroup() as tg:
        for ri in range(len(rooms)):
            tg.create_task(open_room(ri))
    live = [c for c in conns if c is not None]
    for j, c in enumerate(live):  # everyone's presence, as a y-quill client on connect
        state = tl.awareness_state(j % people, 0)
        await c.send(wires[j].wrap(tl.awareness_message(cids[j], 1, state)))
    await asyncio.sleep(0.5)
    for c in live:
        c.clear()
    connect_ms.sort()
    say(f"READY {len(live)}")
    await wait_command(stdin, "GO", cfg["deadline_s"])
    events = sorted((t, j, i) for j, plan in enumerate(plans) for i, t in enumerate(plan))
    sends = [array.array("q", bytes(8 * len(p))) for p in plans]
    now, mono = time.time_ns, time.monotonic
    t0 = mono() + 0.05
    sent = 0
    transports = [c._transport for c in live]
    for offset, j, i in events:
        delay = t0 + offset - mono()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        transport = transports[j]
        if transport is None or transport.is_closing():
            continue
        sends[j][i] = now()
        transport.write(frames[j][i])
        sent += 1
    say("DONE")
    send_end = mono()
    timed_out = False
    while True:  # receive until nothing arrived for idle_s
        await asyncio.sleep(0.1)
        last = max((c.times[-1] for c in live if c.times), default=0) / 1e9
        if time.time() - last > cfg["idle_s"] and mono() - send_end > cfg["idle_s"]:
            break
        if mono() - send_end > cfg["deadline_s"]:
            timed_out = True
            break
    for c in live:
        c.record = False
    cpu_run = time.process_time()
    say("STOPPED")
    # -- decode, after the run --
    latencies = array.array("q")
    delivered = duplicates = 0
    converged = rooms_checked = 0
    messages = sum(len(c.messages) for c in live)
    for ri in range(len(rooms)):
        idx = list(range(ri * people, ri * people + people))
        send_times = {cids[j]: sends[j] for j in idx}
        got, n, dup = tl.attribute(
            [cids[j] for j in idx],
            send_times,
            [(live[j].times, live[j].messages) for j in idx],
            [wires[j] for j in idx],
        )
        latencies.extend(got)
        delivered += n
        duplicates += dup
        if cfg.get("check", True):
            rooms_checked += 1
            converged += int(
                _room_converged(
                    seeds[ri],
                    [payloads[j] for j in idx],
                    [live[j] for j in idx],
                    [wires[j] for j in idx],
                )
            )
    expected = sum(len(p) for p in plans) * (people - 1)
    lat_path = Path(cfg["out"]).with_suffix(".lat")
    lat_path.write_bytes(latencies.tobytes())
    first_send = min((s[0] for s in sends if len(s)), default=0)
    write_result(
        cfg,
        {
            "conns": len(live),
            "sent": sent,
            "expected": expected,
            "delivered": delivered,
            "duplicates": duplicates,
            "messages": messages,
            "rooms_checked": rooms_checked,
            "converged": converged,
            "first_send_ns": first_send,
            "latency_file": str(lat_path),
            "connect_ms": connect_ms,
            "timed_out": timed_out,
            "cpu_run_s": round(cpu_run, 2),
        },
    )
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.close() for c in live))


def _room_converged(
    seed: bytes, typed: list[list[bytes]], clients: list[fastws.FastClient], wires: list[Any]
) -> bool:
    """Every person's document (seed + own keystrokes + what it received) has the text of
    the reference (seed + every keystroke sent in the room)."""
    import typing_load as tl

    def text_of(updates: list[bytes]) -> str:
        doc = Doc()
        t = doc.get(tl.TEXT_NAME, type=Text)
        for u in updates:
            doc.apply_update(u)
        return str(t)

    received: list[list[bytes]] = []
    for c, w in zip(clients, wires, strict=True):
        mine = []
        for raw in c.messages:
            msg = w.unwrap(raw)
            upd = tl.update_of(msg) if msg is not None else None
            if upd is not None:
                mine.append(upd)
        received.append(mine)
    reference = text_of([seed, *(u for ups in typed for u in ups)])
    for k in range(len(clients)):
        if text_of([seed, *typed[k], *received[k]]) != reference:
            return False
    return True


async def role_keep(cfg: Config) -> None:
    """One connection per room holding a seeded document (Node drops empty rooms)."""
    import typing_load as tl

    stdin = await stdin_reader()
    seed = await asyncio.to_thread(Path(cfg["seed"]).read_bytes)
    conns = []
    for room in cfg["rooms"]:
        wire = tl.Wire.for_server(cfg["framed"], room["name"])
        client, _ = await open_typing(room["url"], wire, cfg["open_timeout"])
        client.record = False
        await client.send(wire.wrap(tl.sync_update_message(seed)))
        conns.append(client)
    await asyncio.sleep(1.0)
    say(f"READY {len(conns)}")
    await wait_command(stdin, "CLOSE", cfg["deadline_s"])
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.close() for c in conns))
    write_result(cfg, {"rooms": len(conns)})


async def role_join(cfg: Config) -> None:
    """The join storm: each client dials at its offset, syncs, and stays until CLOSE."""
    import typing_load as tl

    stdin = await stdin_reader()
    say("READY 0")
    await wait_command(stdin, "GO", cfg["deadline_s"])
    t0 = time.monotonic()
    samples: list[float] = []
    sizes: list[int] = []
    errors: list[str] = []
    conns: list[fastws.FastClient] = []

    async def one(room: dict[str, Any], offset: float) -> None:
        delay = t0 + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        wire = tl.Wire.for_server(cfg["framed"], room["name"])
        started = time.perf_counter()
        try:
            client, size = await open_typing(room["url"], wire, cfg["open_timeout"])
        except (OSError, TimeoutError) as exc:
            errors.append(type(exc).__name__)
            return
        samples.append(time.perf_counter() - started)
        sizes.append(size)
        client.record = False
        conns.append(client)

    async with asyncio.TaskGroup() as tg:
        for room, offset in zip(cfg["rooms"], cfg["offsets"], strict=True):
            tg.create_task(one(room, offset))
    wall = time.monotonic() - t0
    cpu = time.process_time()
    say("DONE")
    await wait_command(stdin, "CLOSE", cfg["deadline_s"])
    async with asyncio.timeout(30):
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    write_result(
        cfg,
        {"samples_s": samples, "sizes": sizes, "errors": errors, "wall_s": wall, "cpu_run_s": cpu},
    )


ROLES.update({"type": role_type, "keep": role_keep, "join": role_join})


def main() -> None:
    role, raw = sys.argv[1], sys.argv[2]
    cfg = json.loads(Path(raw).read_text()) if raw.endswith(".json") else json.loads(raw)
    asyncio.run(ROLES[role](cfg))


if __name__ == "__main__":
    main()
