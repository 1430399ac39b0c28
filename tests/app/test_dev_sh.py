"""``./dev.sh run`` stops the server it started when the editor exits (issue 13, bug 1).

The editor is asked for ``--help``, so it exits at once (no display needed); dev.sh's EXIT
trap must then stop ``coscribe-server``. Before the fix the trap referred to a ``local``
variable that no longer existed when it ran (``server_pid: unbound variable``) and the
server kept running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(120)
def test_dev_sh_run_stops_its_server_when_the_editor_exits(tmp_path: Path) -> None:
    if not (ROOT / ".venv/bin/coscribe-server").exists():
        pytest.skip("needs the project's .venv (./dev.sh setup)")
    port = _free_port()
    env = {
        **os.environ,
        "COSCRIBE_PORT": str(port),
        "QT_QPA_PLATFORM": "offscreen",
        "COSCRIBE_DATA_DIR": str(tmp_path / "editor"),
    }
    # Files, not pipes: a server left running would hold a pipe open and hang the test.
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    try:
        with out.open("w") as stdout, err.open("w") as stderr:
            code = subprocess.run(
                ["bash", str(ROOT / "dev.sh"), "run", "--help"],
                cwd=tmp_path,
                env=env,
                stdout=stdout,
                stderr=stderr,
                timeout=100,
            ).returncode
        log = err.read_text()
        assert "starting coscribe-server" in log
        assert "unbound variable" not in log, log
        assert code == 0, log
        deadline = time.monotonic() + 10
        while _listening(port):
            assert time.monotonic() < deadline, f"coscribe-server still listens on {port}"
            time.sleep(0.05)
    finally:
        _kill_leftover_servers(port)


def _kill_leftover_servers(port: int) -> None:
    """Stop a server dev.sh left behind (found by the port in its environment)."""
    marker = f"COSCRIBE_PORT={port}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in environ and b"sync_server" in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
