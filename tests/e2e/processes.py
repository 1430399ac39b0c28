"""Real processes for the end-to-end tests: Xvfb, the relay server, the editor, xdotool.

Every process is started with a deadline on its readiness line and stopped by its own pid
(terminate, then kill) so that no test leaves anything running.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.waiting import wait_until

#: Packages that provide the tools (Debian names), for the error message.
X_PACKAGES = "xvfb libxcb-icccm4 libxcb-keysyms1 xdotool x11-apps imagemagick"
X_TOOLS = ("Xvfb", "xdotool", "import")
STARTUP_DEADLINE = 20.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_x_tools() -> list[str]:
    return [tool for tool in X_TOOLS if shutil.which(tool) is None]


def require_tools(missing: Sequence[str], packages: str) -> None:
    """Skip the test (fail it on CI) when the ``missing`` tools are, naming the Debian
    ``packages`` that provide them."""
    import pytest

    if not missing:
        return
    message = (
        f"this test needs {', '.join(missing)} on PATH; install them with "
        f"`apt-get install -y --no-install-recommends {packages}`"
    )
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_x_tools() -> None:
    require_tools(missing_x_tools(), X_PACKAGES)


def _read_line(proc: subprocess.Popen[bytes], within: float, what: str) -> str:
    """The next stdout line of ``proc``, or AssertionError after ``within`` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + within
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        if proc.poll() is not None and not buffer:
            raise AssertionError(f"{what}: the process exited with status {proc.returncode}")
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.2))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                raise AssertionError(f"{what}: stdout closed (exit status {proc.poll()})")
            buffer += chunk
    return buffer.decode().strip()


def stop(proc: subprocess.Popen[bytes], within: float = 10.0) -> None:
    """Terminate ``proc`` (SIGTERM), then kill it if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(within)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(within)
    if proc.stdout is not None:
        proc.stdout.close()


@contextmanager
def xvfb(size: str = "1280x860x24") -> Iterator[str]:
    """A private X server; yields its DISPLAY (``:N``, a number Xvfb picked itself)."""
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        number = _read_line(proc, STARTUP_DEADLINE, "Xvfb to report its display number")
        yield f":{number}"
    finally:
        stop(proc)


@contextmanager
def relay_server(data_dir: Path) -> Iterator[str]:
    """``python -m sync_server --port 0``; yields its ws:// base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_server", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        line = _read_line(proc, STARTUP_DEADLINE, "the server's 'listening on' line")
        match = re.search(r"listening on (ws://\S+)", line)
        assert match, f"unexpected first line from the server: {line!r}"
        yield match.group(1)
    finally:
        stop(proc)


def start_editor(
    args: Sequence[str], display: str, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The real application as a user runs it (``python -m editor_app ...``) on ``display``."""
    env = dict(os.environ)
    env.update({"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"})
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra_env or {})
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "editor_app", *args], env=env, stdout=out, stderr=out
        )


def xdo(display: str, *args: str) -> str:
    """Run one xdotool command on ``display``; returns its stdout."""
    done = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


async def xdo_async(display: str, *args: str) -> str:
    """:func:`xdo` in a worker thread, for async tests."""
    return await asyncio.to_thread(xdo, display, *args)


def wait_for_window(
    display: str, name: str, app: subprocess.Popen[bytes], log: Path, within: float = 30.0
) -> str:
    """The X window id of the first window whose title matches ``name``."""
    deadline = time.monotonic() + within
    while True:
        if app.poll() is not None:
            output = log.read_text(errors="replace")
            raise AssertionError(f"the editor exited with status {app.returncode}:\n{output}")
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", name],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.split()
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no window named {name!r} after {within} s; editor output:\n"
                + log.read_text(errors="replace")
            )
        time.sleep(0.1)


def window_geometry(display: str, window: str) -> tuple[int, int, int, int]:
    """(x, y, width, height) of an X window."""
    values = dict(
        line.split("=", 1)
        for line in xdo(display, "getwindowgeometry", "--shell", window).split()
        if "=" in line
    )
    return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])


def screenshot(display: str, path: Path) -> Path:
    """Capture the whole screen with ImageMagick's ``import``; with
    ``COSCRIBE_SCREENSHOT=path.png`` set, a copy is kept there too (the last one wins), to
    look at."""
    subprocess.run(
        ["import", "-window", "root", str(path)],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=60,
        capture_output=True,
    )
    keep = os.environ.get("COSCRIBE_SCREENSHOT")
    if keep:
        shutil.copyfile(path, keep)
    return path


async def type_confirmed(
    display: str, chars: str, shared_text: Callable[[], str], *, within: float
) -> None:
    """Type ``chars`` with xdotool one character at a time, each confirmed in
    ``shared_text()`` (the document as a second client sees it) before the next.

    xdotool types a character the keymap lacks (Hangul, emoji) by remapping a spare keycode
    for a moment; under load the X client may read the key before the new mapping and the
    key is lost. Such a character is typed again, at most twice. A late key can never be
    counted twice: the check is on the whole text typed so far.
    """
    for i, ch in enumerate(chars):
        so_far = chars[: i + 1]
        for attempt in range(3):
            await asyncio.to_thread(xdo, display, "type", "--delay", "40", ch)
            try:
                await wait_until(
                    lambda t=so_far: t in shared_text(),
                    lambda t=so_far: f"{t!r} typed, have {shared_text()[-60:]!r}",
                    within=5.0 if attempt < 2 else within,
                )
                break
            except AssertionError:
                if attempt == 2:
                    raise
