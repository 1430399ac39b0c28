"""bench/frame_bench.py still runs (a small count): bench/README.md quotes its figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_frame_bench_runs_and_reports_both_parsers() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "frame_bench.py"), "--messages", "500",
         "--repeat", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = re.findall(r"([0-9.]+) µs per message", done.stdout)
    assert len(figures) == 2 and all(float(f) > 0 for f in figures), done.stdout
