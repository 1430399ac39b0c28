"""bench/editor_bench.py's keystroke-after-open/paste parts still run (a small document):
docs/editor.md quotes their figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("part", ["keystroke-after-open", "keystroke-after-paste"])
def test_keystroke_after_part_runs_and_reports(part: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "editor_bench.py"), "--part", part,
         "--size-mb", "0.05"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"first key \+ repaint ([0-9.]+) ms", done.stdout)
    assert found is not None and float(found.group(1)) > 0, done.stdout
    assert "caret visible True" in done.stdout, done.stdout
