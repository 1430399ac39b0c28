"""The long run of the structure-aware update fuzzer (the suite runs a short one over sockets).

Drives a real ``sync_server.room.Room`` in-process (MemoryStore, no sockets, so a million
messages fit in minutes): two honest editors type Hangul, emoji and formatting through
pycrdt, each behind a client-role ``SyncSession``; an attacker sends generated updates
(``tests/support/yjs_fuzz.py``) as SYNC update and SYNC step 2 messages. Each peer has a
server-role session over the room's document, as ``sync_server/connection.py`` gives it.

Per message it checks what is cheap: a refused message closes the attacker with a
documented code and leaves the room document byte for byte as it was; no other exception
escapes the room; no honest editor is closed or fails to apply what the room relays.
Every ``--check-every`` messages and at the end of each episode it checks the invariant
(``invariant_violations``): live document == replay of the stored log == what a late
joiner gets, and both editors converged to it; at the end of an episode a real late joiner
also syncs through step 1/step 2.

The run is a series of episodes (a fresh room every ``--episode`` messages) so the
document stays small and each failure has a short history. The first failure of each class
is shrunk (delta debugging over the episode's messages) and printed as hex::

    .venv/bin/python bench/update_fuzz.py --messages 100000 --seed 1
    .venv/bin/python bench/update_fuzz.py --messages 1000000 --check-every 50 --jobs 2

Exit status 0 only if no failure was found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support from a checkout

from pycrdt import Doc, Text, TransactionEvent  # noqa: E402

from shared import (  # noqa: E402
    DEFAULT_LIMITS,
    CloseCode,
    Origin,
    ProtocolError,
    Side,
    SyncSession,
    origin_matches,
)
from sync_server.memory_store import MemoryStore  # noqa: E402
from sync_server.metrics import Metrics  # noqa: E402
from sync_server.room import Room  # noqa: E402
from tests.support.yjs_forge import ID  # noqa: E402
from tests.support.yjs_fuzz import (
    CONTENT,
    REFUSAL_CODES,  # noqa: E402
    Attack,
    DocModel,
    HonestOp,
    UpdateFuzzer,
    apply_honest_op,
    honest_op,
    invariant_violations,
    peer_divergence,
)

ROOM = "fuzz"
#: The honest editors' client ids (5 is the client the issue's poison examples wait for).
HONEST_IDS = (5, 4242)

# An event of an episode, enough to replay it: ("attack", message) or ("honest", i, HonestOp).
Event = tuple[Any, ...]


class Failure(Exception):
    """An invariant broke. ``kind`` is the failure class, ``detail`` the evidence."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class BenchPeer:
    """A ``room.Peer`` without a socket: what the server writes lands in ``inbox``.

    An honest peer also has its own document behind a client-role session, fed from the
    inbox, whose replies and local edits go back to the room, as a real editor's would.
    """

    def __init__(self, room: Room, label: str, client_id: int | None) -> None:
        self.label = label
        self.session = _server_session(room, self)
        self.inbox: list[bytes] = []
        self.kicked: tuple[int, str] | None = None
        self.doc: Doc[Any] | None = None
        self.client: SyncSession | None = None
        if client_id is not None:
            self.doc = Doc(client_id=client_id)
            self.text = self.doc.get(CONTENT, type=Text)
            self.client = SyncSession(self.doc, Side.CLIENT, extensions=True)
            self.doc.observe(self._on_change)
            self.client.start()

    def _on_change(self, event: TransactionEvent) -> None:
        if origin_matches(event.transaction.origin(), Origin.REMOTE):
            return
        assert self.client is not None
        self.client.send_update(event.update)

    # Peer protocol
    def write(self, message: bytes) -> None:
        self.inbox.append(message)

    def kick(self, code: CloseCode, reason: str) -> None:
        if self.kicked is None:
            self.kicked = (int(code), reason)

    def probe(self) -> None:
        return None

    def state_requested(self, size: int) -> None:
        return None


def _server_session(room: Room, peer: object) -> SyncSession:
    """The peer's server-role session, as sync_server/connection.py makes it."""
    new_session = getattr(room, "new_session", None)
    if new_session is not None:  # rooms with an update gate hand out gated sessions
        session: SyncSession = new_session(
            peer, extensions=True, writable=True, limits=DEFAULT_LIMITS
        )
        return session
    return SyncSession(
        room.doc, Side.SERVER, extensions=True, incarnation=room.incarnation, origin=peer
    )


@dataclass
class Stats:
    """Figures of a run (summed over episodes and jobs)."""

    messages: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    honest_edits: int = 0
    invariant_checks: int = 0
    episodes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    failing_tags: Counter[str] = field(default_factory=Counter)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: First failure of each class: (episode seed, events, detail, tags), to shrink.
    first: dict[str, tuple[int, list[Event], str, str]] = field(default_factory=dict)
    seconds: float = 0.0
    shrink_seconds: float = 0.0

    def merge(self, other: Stats) -> None:
        self.messages += other.messages
        self.accepted += other.accepted
        self.refused.update(other.refused)
        self.honest_edits += other.honest_edits
        self.invariant_checks += other.invariant_checks
        self.episodes += other.episodes
        self.failures.update(other.failures)
        self.failing_tags.update(other.failing_tags)
        for k, v in other.first.items():
            self.first.setdefault(k, v)
        self.seconds = max(self.seconds, other.seconds)


class Episode:
    """One room, two honest editors and an attacker, driven message by message."""

    def __init__(self, seed: int, honest_ids: tuple[int, int] = HONEST_IDS) -> None:
        self.store = MemoryStore()
        self.metrics = Metrics()
        self.room: Room | None = None
        self.honest_ids = honest_ids
        self.rng = random.Random(seed)
        self.events: list[Event] = []
        self.peers: list[BenchPeer] = []
        self.attacker: BenchPeer | None = None
        self.poisoned = False

    async def open(self) -> None:
        await self.store.__aenter__()  # closed by close()
        stored = await self.store.load(ROOM)
        try:
            self.room = Room(
                ROOM, Doc(), stored.incarnation, self.store, self.metrics,
                on_poisoned=self._on_poisoned,
            )  # fmt: skip
        except TypeError:  # a room without the update gate's backstop
            self.room = Room(ROOM, Doc(), stored.incarnation, self.store, self.metrics)
        self.peers = [
            BenchPeer(self.room, f"honest{i}", cid) for i, cid in enumerate(self.honest_ids)
        ]
        for peer in self.peers:
            self.room.join(peer)
        self._reconnect_attacker()
        await self.settle()

    async def close(self) -> None:
        await self.store.aclose()

    def _on_poisoned(self, room: Room) -> None:
        """The backstop fired: an update the gate admitted failed inside yrs."""
        self.poisoned = True

    def _reconnect_attacker(self) -> None:
        assert self.room is not None
        if self.attacker is not None:
            self.room.leave(self.attacker)
        self.attacker = BenchPeer(self.room, "attacker", None)
        self.room.join(self.attacker)
        self.attacker.inbox.clear()

    # -------------------------------------------------------------- driving

    def _receive(self, peer: BenchPeer, message: bytes) -> str | None:
        """room.receive as connection.py calls it; the refusal reason, if any."""
        assert self.room is not None
        try:
            self.room.receive(peer, message)
        except ProtocolError as exc:
            peer.kick(exc.close_code, type(exc).__name__)
            if self.poisoned and peer is not self.attacker:
                raise Failure(
                    "room poisoned by an honest update (all peers closed 1012)",
                    f"{peer.label}: {exc}",
                ) from None
            return f"{type(exc).__name__}: {_reason(str(exc))}"
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise Failure(f"internal error {type(exc).__name__}", repr(exc)[:300]) from None
        return None

    async def settle(self) -> None:
        """Flush relays and ACKs and pump every peer until nothing moves."""
        assert self.room is not None
        for _ in range(50):
            await self.room.drain()
            await asyncio.sleep(0)
            moved = False
            for peer in self.peers:
                while peer.inbox:
                    moved = True
                    message = peer.inbox.pop(0)
                    assert peer.client is not None
                    try:
                        peer.client.receive_data(message)
                    except ProtocolError as exc:
                        raise Failure(
                            "honest peer cannot apply what the room sent",
                            f"{peer.label}: {exc}; message {message.hex()[:400]}",
                        ) from None
                    peer.client.events_received()
                    for reply in peer.client.data_to_send():
                        reason = self._receive(peer, reply)
                        if reason is not None:
                            raise Failure(
                                "honest peer closed by the room", f"{peer.label}: {reason}"
                            )
            if self.attacker is not None:
                self.attacker.inbox.clear()
            if not moved:
                return
        raise Failure("no quiescence", "peers kept exchanging messages")

    async def honest(self, index: int, op: HonestOp | None = None) -> None:
        """An honest edit: a random one (recorded), or ``op`` replayed on today's text."""
        peer = self.peers[index]
        assert peer.doc is not None and peer.client is not None
        doc, text = peer.doc, peer.text
        if op is None:
            op = _guard("an honest editor reading its text", lambda: honest_op(self.rng, text))
        edit = op

        def make() -> None:
            with doc.transaction(origin=Origin.LOCAL_EDIT):
                apply_honest_op(text, edit)

        self.events.append(("honest", index, op))
        _guard("an honest editor's own edit", make)
        for message in peer.client.data_to_send():
            reason = self._receive(peer, message)
            if reason is not None:
                raise Failure("honest peer closed by the room", f"{peer.label}: {reason}")
        await self.settle()

    async def attack(self, message: bytes) -> str | None:
        """Send one attacker message; the refusal reason, or None if accepted."""
        assert self.room is not None and self.attacker is not None
        self.events.append(("attack", message))
        doc = self.room.doc
        before = _guard("reading the room document", doc.get_update)
        reason = self._receive(self.attacker, message)
        if self.poisoned:
            raise Failure(
                "room poisoned: an admitted update failed in yrs (all peers closed 1012)",
                reason or "accepted",
            )
        if reason is not None:
            code = self.attacker.kicked[0] if self.attacker.kicked else None
            if code not in REFUSAL_CODES:
                raise Failure("refused with an undocumented close code", f"{code} {reason}")
            if _guard("reading the room document after a refusal", doc.get_update) != before:
                raise Failure("refused message changed the room document", reason)
            self._reconnect_attacker()
        await self.settle()
        if self.poisoned:
            raise Failure(
                "room poisoned: an admitted update failed in yrs (all peers closed 1012)",
                reason or "accepted",
            )
        for peer in self.peers:
            if peer.kicked is not None:
                raise Failure("honest peer closed by the room", f"{peer.label}: {peer.kicked}")
        return reason

    async def check(self, *, full: bool) -> None:
        """The invariant: live == stored log replay (== late joiner); editors converged."""
        assert self.room is not None
        await self.room.drain()
        log = (await self.store.load(ROOM)).updates
        doc = self.room.doc
        problems = _guard(
            "checking the invariant", lambda: invariant_violations(doc, log, full_check=full)
        )
        if problems:
            raise Failure(f"live document != stored log ({_category(problems[0])})", problems[0])
        for peer in self.peers:
            assert peer.doc is not None
            why = _guard("comparing a peer", partial(peer_divergence, doc, peer.doc))
            if why is not None:
                raise Failure(f"honest peer diverged ({_category(why)})", f"{peer.label}: {why}")

    async def late_joiner(self) -> None:
        """A new editor syncs through step 1 / step 2 and must see the live document."""
        assert self.room is not None
        peer = BenchPeer(self.room, "late", 77)
        self.peers.append(peer)
        self.room.join(peer)
        try:
            await self.settle()
            assert peer.doc is not None
            doc, late = self.room.doc, peer.doc
            why = _guard("comparing the late joiner", lambda: peer_divergence(doc, late))
            if why is not None:
                raise Failure(f"late joiner diverged ({_category(why)})", why)
        finally:
            self.peers.remove(peer)
            self.room.leave(peer)


def _guard(what: str, fn: Callable[[], Any]) -> Any:
    """Call ``fn``; a pycrdt panic (a BaseException) becomes a Failure naming ``what``."""
    try:
        return fn()
    except Failure:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise Failure(f"{what} raised {type(exc).__name__}", repr(exc)[:300]) from None


def _reason(message: str) -> str:
    """A refusal message without its variable parts (ids, offsets), for counting."""
    out = []
    for word in message.split():
        if any(ch.isdigit() for ch in word):
            word = "N"
        out.append(word)
    return " ".join(out)[:90]


def _category(problem: str) -> str:
    return problem.split(":")[0]


# --------------------------------------------------------------------------- running


async def run_episode(
    seed: int, messages: int, check_every: int, stats: Stats
) -> tuple[Failure | None, list[Event], str]:
    """Generate and run one episode; (failure or None, its events, last attack's tags)."""
    ep = Episode(seed)
    await ep.open()
    assert ep.room is not None
    fuzzer = UpdateFuzzer(ep.rng, ep.honest_ids)
    model = DocModel()
    last = ""
    try:
        for i in range(messages):
            if ep.rng.random() < 0.35:
                await ep.honest(ep.rng.randrange(2))
                stats.honest_edits += 1
            if i % 8 == 0:
                model = DocModel.from_doc(ep.room.doc, model)
            attack: Attack = fuzzer.attack(model)
            last = ",".join(attack.tags)
            reason = await ep.attack(attack.message)
            stats.messages += 1
            if reason is None:
                stats.accepted += 1
                model.ghosts += [ID(f.client, f.clock + n - 1) for f, n in attack.ids]
            else:
                stats.refused[reason] += 1
                model.ghosts += [f for f, _ in attack.ids]
            model.ghosts = model.ghosts[-64:]
            if check_every and (i + 1) % check_every == 0:
                ep.events.append(("check",))
                await ep.check(full=False)
                stats.invariant_checks += 1
        await ep.check(full=True)
        await ep.late_joiner()
        stats.invariant_checks += 1
    except Failure as failure:
        return failure, ep.events, last
    finally:
        await ep.close()
    return None, ep.events, last


async def replay_events(events: list[Event]) -> Failure | None:
    """Run recorded events on a fresh episode, then check everything; the failure.

    The cheap checks run after every message, the invariant where the original run
    checked it (``("check",)`` events) and at the end, as in the original run, so a
    failure reproduces with the same class.
    """
    ep = Episode(0)
    try:
        await ep.open()
        for event in events:
            if event[0] == "attack":
                await ep.attack(event[1])
            elif event[0] == "check":
                await ep.check(full=False)
            else:
                await ep.honest(event[1], event[2])
        await ep.check(full=True)
        await ep.late_joiner()
    except Failure as failure:
        return failure
    finally:
        await ep.close()
    return None


def shrink(events: list[Event], kind: str, budget: float = 60.0) -> list[Event]:
    """ddmin over the events: a shortest list that still fails with ``kind``."""
    deadline = time.monotonic() + budget

    def fails(candidate: list[Event]) -> bool:
        f = asyncio.run(replay_events(candidate))
        return f is not None and f.kind == kind

    if not fails(events):
        return events
    n = 2
    while len(events) >= 2 and time.monotonic() < deadline:
        chunk = max(1, len(events) // n)
        for start in range(0, len(events), chunk):
            candidate = events[:start] + events[start + chunk :]
            if candidate and fails(candidate):
                events = candidate
                n = max(n - 1, 2)
                break
            if time.monotonic() > deadline:
                break
        else:
            if chunk == 1:
                break
            n = min(len(events), n * 2)
    return events


def render_events(events: list[Event]) -> list[str]:
    out = []
    for event in events:
        if event[0] == "attack":
            out.append(f"attacker message {event[1].hex()}")
        elif event[0] == "check":
            out.append("check the invariant")
        else:
            out.append(f"honest{event[1]} (client {HONEST_IDS[event[1]]}): {event[2]}")
    return out


def job(
    seed: int,
    messages: int,
    episode: int,
    check_every: int,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Stats:
    """Run ``messages`` messages in episodes; keep the first failure of each class."""
    stats = Stats()
    started = time.monotonic()
    rng = random.Random(seed)
    next_report = started + 30
    while stats.messages < messages:
        ep_seed = rng.randrange(2**63)
        n = min(episode, messages - stats.messages)
        failure, events, tags = asyncio.run(run_episode(ep_seed, n, check_every, stats))
        stats.episodes += 1
        if failure is not None:
            stats.failures[failure.kind] += 1
            stats.failing_tags[tags] += 1
            if failure.kind not in stats.first:
                stats.first[failure.kind] = (ep_seed, events, failure.detail, tags)
                log(f"# new failure class: {failure.kind} (episode seed {ep_seed})")
        if time.monotonic() > next_report:
            next_report += 30
            rate = stats.messages / (time.monotonic() - started)
            failing = sum(stats.failures.values())
            log(f"# seed {seed}: {stats.messages} messages, {rate:.0f}/s, {failing} failing")
    stats.seconds = time.monotonic() - started
    return stats


def _job_entry(args: tuple[int, int, int, int]) -> Stats:
    return job(*args)


def shrink_examples(stats: Stats, budget: float) -> None:
    """Shrink the first failure of each class (once, after all jobs) into ``examples``."""
    started = time.monotonic()
    for kind, (ep_seed, events, detail, tags) in sorted(stats.first.items()):
        minimal = shrink(events, kind, budget)
        again = asyncio.run(replay_events(minimal))
        reproduced = again is not None and again.kind == kind
        if not reproduced:
            minimal = events  # did not reproduce: show the whole episode
        stats.examples[kind] = {
            "episode_seed": ep_seed,
            "reproduced": reproduced,
            "detail": (again.detail if again is not None and reproduced else detail)[:500],
            "events": render_events(minimal),
            "last_attack_tags": tags,
        }
    stats.shrink_seconds = time.monotonic() - started


def report(stats: Stats, args: argparse.Namespace) -> str:
    rate = stats.messages / max(stats.seconds, 1e-9)
    lines = [
        f"update fuzz: seed {args.seed}, {stats.messages:,} attacker messages in "
        f"{stats.episodes:,} episodes of <= {args.episode}, {args.jobs} job(s)",
        f"  fuzzing wall {stats.seconds:.1f} s, {rate:,.0f} messages/s (all jobs); "
        f"shrinking {stats.shrink_seconds:.0f} s",
        f"  honest edits {stats.honest_edits:,}, invariant checks {stats.invariant_checks:,}",
        f"  accepted {stats.accepted:,}, refused {sum(stats.refused.values()):,}",
        "  refusals by reason:",
    ]
    for reason, n in stats.refused.most_common(25):
        lines.append(f"    {n:>9,}  {reason}")
    lines.append(f"  failing episodes: {sum(stats.failures.values()):,}")
    for kind, n in stats.failures.most_common():
        lines.append(f"    {n:>9,}  {kind}")
    if stats.failing_tags:
        lines.append("  tags of the attack that revealed a failure (top 15):")
        for tags, n in stats.failing_tags.most_common(15):
            lines.append(f"    {n:>9,}  {tags}")
    for kind, ex in stats.examples.items():
        what = "minimal reproducer" if ex["reproduced"] else "NOT reproduced on replay; events"
        lines.append(f"\n  {what}: {kind} (episode seed {ex['episode_seed']})")
        lines.append(f"    evidence: {ex['detail']}")
        lines.append(f"    last attack tags: {ex['last_attack_tags']}")
        lines += [f"    {e}" for e in ex["events"]]
    return "\n".join(lines)


def main() -> int:
    os.environ["RUST_BACKTRACE"] = "0"  # a panic is a finding, not a page of frames
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="attacker messages in all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-every", type=int, default=50, help="full invariant every N")
    parser.add_argument("--episode", type=int, default=400, help="messages per fresh room")
    parser.add_argument("--jobs", type=int, default=1, help="processes (the machine has 2 cores)")
    parser.add_argument("--shrink-seconds", type=float, default=60.0, help="per failure class")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    per_job = [
        (args.seed * 1000 + j, args.messages // args.jobs + (j < args.messages % args.jobs),
         args.episode, args.check_every)
        for j in range(args.jobs)
    ]  # fmt: skip
    if args.jobs == 1:
        results = [_job_entry(per_job[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            results = pool.map(_job_entry, per_job)
    stats = Stats()
    for r in results:
        stats.merge(r)
    print(
        f"# fuzzing done in {stats.seconds:.0f} s; shrinking {len(stats.first)} classes", flush=True
    )
    shrink_examples(stats, args.shrink_seconds)
    print(report(stats, args))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "messages": stats.messages,
                    "seconds": stats.seconds,
                    "accepted": stats.accepted,
                    "refused": dict(stats.refused),
                    "honest_edits": stats.honest_edits,
                    "invariant_checks": stats.invariant_checks,
                    "episodes": stats.episodes,
                    "shrink_seconds": stats.shrink_seconds,
                    "failures": dict(stats.failures),
                    "examples": stats.examples,
                },
                indent=1,
            )
        )
    return 0 if not stats.failures else 1


if __name__ == "__main__":
    sys.exit(main())
