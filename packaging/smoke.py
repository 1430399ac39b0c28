"""Smoke test of a freshly built bundle, run by build.sh: start the GUI and open a document.

``coscribe --help`` never loads Qt, so it proves little. This starts a real relay server
(``python -m sync_server`` of the build environment) on a free port, then runs the bundle
from a clean environment (``env -i``, offscreen, an empty HOME) in its ``--self-test`` mode:
it opens the document in a window, types Latin, Hangul and emoji text (checking that fonts
cover it), waits until the server saved the edit and quits. The build fails unless that
exits 0. Also checks ``--version``. Prints the cold start (spawn to a visible window).

    python packaging/smoke.py BUNDLE_DIR WORK_DIR
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

READY = re.compile(r"coscribe-server listening on (ws://\S+)")
TEXT = "smoke test 한글 😀"


def start_server(work: Path) -> tuple[subprocess.Popen[str], str]:
    data = work / "smoke-server"
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_server", "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=(work / "smoke-server.log").open("w"),
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # the server prints its address first
        if not line:
            break
        if match := READY.search(line):
            return proc, match.group(1)
    proc.kill()
    raise SystemExit(f"smoke: the relay server did not start (see {work}/smoke-server.log)")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: smoke.py BUNDLE_DIR WORK_DIR", file=sys.stderr)
        return 2
    program = Path(argv[0]).resolve() / "coscribe"
    work = Path(argv[1]).resolve()
    home = work / "smoke-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "PATH": os.defpath}

    version = subprocess.run(
        [str(program), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    if version.returncode != 0 or not version.stdout.startswith("coscribe "):
        print(f"smoke: coscribe --version failed: {version.stdout}{version.stderr}")
        return 1

    server, url = start_server(work)
    try:
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(program), "--self-test", f"{url}/smoke", "--text", TEXT, "--timeout", "60"],
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        shown = None
        output = []
        for line in proc.stdout:
            output.append(line)
            if shown is None and "coscribe-self-test: window shown" in line:
                shown = time.monotonic() - started
        code = proc.wait(90)
    finally:
        server.terminate()
        server.wait(30)
    if code != 0 or "coscribe-self-test: saved\n" not in output:
        print(f"smoke: the bundle failed to open and edit a document (exit {code}):")
        print("".join(output[-40:]))
        return 1
    print(f"{version.stdout.strip()}: opened {url}/smoke, typed, saved; window after {shown:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
