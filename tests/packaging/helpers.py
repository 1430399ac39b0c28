"""Real processes for the packaging tests: a relay server, and a reader of its documents."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import pycrdt

from editor_app.core.schema import content
from editor_app.core.sync_client import Status, SyncClient

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"coscribe-server listening on (ws://\S+)")


class Server:
    """``coscribe-server --port 0`` as a subprocess (``command`` picks which installation)."""

    def __init__(self, data_dir: Path, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "sync_server"]
        self.data_dir = data_dir
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("w")
        self.proc = subprocess.Popen(
            [*self.command, "--port", "0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=self.data_dir.parent,
        )
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if match := READY.search(line):
                self.url = match.group(1)
                return self
        self.proc.kill()
        raise AssertionError(f"the server did not start: {self.command}")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def read_document(url: str, timeout: float = 20.0) -> str:
    """The text of the document at ``url`` as the server has it (a fresh, independent client)."""

    async def fetch() -> str:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        client = SyncClient(url, doc, pycrdt.Awareness(doc))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(client.run())
            deadline = time.monotonic() + timeout
            while client.status.status not in (Status.SAVED, Status.SYNCED):
                if time.monotonic() > deadline:
                    raise AssertionError(f"could not sync {url}: {client.status}")
                await asyncio.sleep(0.02)
            text = str(content(doc))
            await client.close()
        return text

    return asyncio.run(fetch())


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What ``env -i QT_QPA_PLATFORM=offscreen HOME=<home>`` gives a process."""
    return {"QT_QPA_PLATFORM": "offscreen", "HOME": str(home), **extra}


def run_desktop_script(
    root: Path, name: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``sh root/name`` (install- or uninstall-desktop-entry.sh of an unpacked tarball)."""
    return subprocess.run(
        ["sh", str(root / name)], env=env, capture_output=True, text=True, timeout=60
    )


def run_self_test(
    command: list[str],
    url: str,
    text: str,
    home: Path,
    give_up_after: float = 30.0,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], float | None]:
    """Run ``<command> --self-test URL --text TEXT`` in a clean environment (``env``, by
    default :func:`clean_env` offscreen).

    Returns the finished process and the seconds from spawn until it printed
    ``window shown`` (the cold start to a visible window), or None if it never did.
    """
    with tempfile.TemporaryFile("w+") as errors:  # a file: a full stderr pipe cannot block
        started = time.monotonic()
        proc = subprocess.Popen(
            [*command, "--self-test", url, "--text", text, "--timeout", str(give_up_after)]
            + (extra_args or []),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env if env is not None else clean_env(home, PATH=os.defpath),
            cwd=home,
        )
        assert proc.stdout is not None
        shown: float | None = None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if shown is None and "coscribe-self-test: window shown" in line:
                shown = time.monotonic() - started
        code = proc.wait(give_up_after + 30)
        errors.seek(0)
        stderr = errors.read()
    return subprocess.CompletedProcess(proc.args, code, "".join(lines), stderr), shown


def _wait_for(condition: Any, what: str, proc: subprocess.Popen[Any], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{what} did not start within {seconds} s")
        time.sleep(0.05)


class Weston:
    """A headless Weston compositor (Debian's ``weston``): a real Wayland display."""

    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> dict[str, str]:
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        socket = self.runtime_dir / "wayland-test"
        self.proc = subprocess.Popen(
            ["weston", "--backend=headless-backend.so", "--socket=wayland-test", "--idle-time=0"],
            env={"XDG_RUNTIME_DIR": str(self.runtime_dir), "PATH": os.defpath},
            stdout=subprocess.DEVNULL,
            stderr=(self.runtime_dir.parent / "weston.log").open("w"),
            start_new_session=True,
        )
        _wait_for(socket.exists, "weston", self.proc, 30)
        return {"XDG_RUNTIME_DIR": str(self.runtime_dir), "WAYLAND_DISPLAY": "wayland-test"}

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)  # weston and the helpers it launched
        self.proc.wait(20)


class Xvfb:
    """An Xvfb X server on a free display number (``-displayfd``)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> dict[str, str]:
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        os.close(write)
        with os.fdopen(read) as displayfd:  # Xvfb writes the number once it accepts clients
            number = displayfd.readline().strip()
        if not number:
            raise AssertionError("Xvfb did not start")
        return {"DISPLAY": f":{number}"}

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(20)
