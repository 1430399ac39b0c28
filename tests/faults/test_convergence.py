"""Convergence under faults: the editor's real SyncClient against the real server process.

Three editors type unique tokens (and delete whole tokens) through the fault proxy while a
seeded schedule injects latency, throttling, resets, FINs, mid-frame cuts, stalls and
partitions, and kills the server with SIGKILL twice (restarting it on the same port and
data dir). After each kill, before any client may reconnect, a fresh reader checks that
every token whose update the server had ACKNOWLEDGED is there exactly once. After healing:
every replica equals the server's document, every token appears exactly once unless it was
deleted, nothing is duplicated, every client says "All changes saved", and that is still
true after one more kill -9. The long version is ``bench/fault_soak.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import ChaosConfig, run_chaos

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("seed", [20261121])
async def test_replicas_converge_and_acknowledged_edits_survive_faults_and_kills(
    tmp_path: Path, seed: int
) -> None:
    config = ChaosConfig(seed=seed, clients=3, duration=10.0, kills=2)
    report = await run_chaos(config, tmp_path / "data")
    print("\n".join(report.lines()))
    assert report.lost == 0 and report.duplicated == 0
    assert report.kills == 3 and report.durability_checks == 2
    assert report.acked_checked > 0, "no acknowledged token was checked after a kill"
    assert report.inserts > 100 and report.deletes > 10
    assert report.injected > 20
