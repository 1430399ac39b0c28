"""bench/editor_bench.py's latency-apart parts still run: the writer here, the relay
(``python -m sync_server``) and the reader each in their own process, every keystroke
timed to its arrival in the reader (docs/editor.md quotes the figures)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_latency_large_apart_runs_and_reports_each_process() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "editor_bench.py"), "--part",
         "latency-large-apart", "--size-mb", "0.02", "--latency-keys", "20",
         "--warmup-keys", "5"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    steady = re.search(
        r"both settled: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms.*\(n=20\); CPU ms per keystroke: "
        r"writer ([0-9.]+), relay ([0-9.]+), reader ([0-9.]+)",
        done.stdout,
    )
    assert steady is not None, done.stdout
    p50, p99, *cpu = (float(x) for x in steady.groups())
    assert 0 < p50 <= p99 < 5000
    assert all(x > 0 for x in cpu)
    assert "the first 5 keys" in done.stdout
