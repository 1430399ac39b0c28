"""bench/hotpath_bench.py still runs (a small count, both stores): bench/README.md quotes
its figures, and it checks every room's text after typing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_hotpath_bench_types_into_every_room_and_reports(store: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hotpath_bench.py"), "--rooms", "4",
         "--people", "3", "--keys", "300", "--repeat", "1", "--store", store],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"CPU ([0-9.]+) µs per keystroke.* ([0-9.]+) transport writes", done.stdout)
    assert found is not None, done.stdout
    assert float(found.group(1)) > 0
    # Each keystroke reaches the two other people of its room, update and cursor in one write.
    assert float(found.group(2)) == 2.0, done.stdout
