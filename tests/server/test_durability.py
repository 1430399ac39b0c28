"""Durability: every acknowledged update survives ``kill -9`` of the server process."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from shared.session import Acknowledged
from tests.server.processes import ServerProcess
from tests.support.client import TestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


async def test_acknowledged_edits_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Writers go as fast as they can: lift the per-connection message rate limit.
    server = ServerProcess("--port", "0", "--data-dir", str(data), "--message-rate", "0").start()
    url = server.url + "/durable"
    # sent index (1-based document message number) -> token inserted by that message
    tokens: dict[tuple[int, int], str] = {}
    acked: dict[int, int] = {}
    clients = [TestClient(url) for _ in range(3)]
    try:
        for c in clients:
            await c.__aenter__()
        await wait_until(lambda: all(c.synced for c in clients), "synced")

        async def writer(n: int, c: TestClient) -> None:
            for i in range(10_000):
                token = f"<{n}:{i}>"
                with contextlib.suppress(Exception):
                    await c.append(token)
                assert c.session is not None
                tokens[(n, c.session.sent_document_messages)] = token
                acked[n] = max(
                    [e.count for e in c.events if isinstance(e, Acknowledged)], default=0
                )
                if c.closed:
                    return
                await asyncio.sleep(0)

        async with asyncio.TaskGroup() as tg:
            for n, c in enumerate(clients):
                tg.create_task(writer(n, c))

            # Let real edits and acks flow, then kill the server without warning.
            # Counted from the clients' events, not from the writers' loops: a fast writer may
            # finish its 10,000 appends before the acknowledgements (group commits) arrive.
            def acks() -> int:
                return sum(
                    max((e.count for e in c.events if isinstance(e, Acknowledged)), default=0)
                    for c in clients
                )

            await wait_until(lambda: acks() > 300, "acks flowing", within=30)
            server.kill()
        for n, c in enumerate(clients):
            acked[n] = max([e.count for e in c.events if isinstance(e, Acknowledged)], default=0)
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.__aexit__(None, None, None)
        server.stop()

    must_survive = [t for (n, idx), t in tokens.items() if idx <= acked[n]]
    assert len(must_survive) > 300
    restarted = ServerProcess("--port", "0", "--data-dir", str(data)).start()
    try:
        async with TestClient(restarted.url + "/durable") as reader:
            await wait_until(lambda: reader.synced, "reader synced")
            text = str(reader)
        missing = [t for t in must_survive if t not in text]
        assert not missing, f"{len(missing)} acknowledged edits lost, e.g. {missing[:5]}"
        for t in must_survive:
            assert text.count(t) == 1, f"duplicated {t}"
    finally:
        restarted.terminate()
        restarted.stop()


async def test_sigterm_flushes_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess("--port", "0", "--data-dir", str(data)).start()
    try:
        async with TestClient(server.url + "/flushed", extensions=False) as c:
            await wait_until(lambda: c.synced, "synced")
            for i in range(200):
                await c.append(f"[{i}]")
        assert server.terminate() == 0
    finally:
        server.stop()
    restarted = ServerProcess("--port", "0", "--data-dir", str(data)).start()
    try:
        async with TestClient(restarted.url + "/flushed") as reader:
            await wait_until(lambda: reader.synced, "synced")
            assert str(reader) == "".join(f"[{i}]" for i in range(200))
    finally:
        restarted.terminate()
        restarted.stop()
