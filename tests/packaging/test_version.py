"""``--version`` on both commands (from the package metadata), run as a user runs them."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "prog"), [("editor_app", "coscribe"), ("sync_server", "coscribe-server")]
)
def test_version_prints_the_package_version_and_exits_0(module: str, prog: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{prog} {md.version('coscribe')}"
