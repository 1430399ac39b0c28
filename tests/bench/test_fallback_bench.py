"""bench/fallback_bench.py still runs (its smallest part, a few seconds): the figures in
bench/README.md come from it. The bench itself stays out of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_fallback_bench_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fallback_bench.py"), "--quick", "--parts", "1"],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| HTTP long polling")]
    assert len(rows) == 1, done.stdout
    p99 = float(rows[0].split("|")[4])
    assert 0 < p99 < 10_000, rows[0]
