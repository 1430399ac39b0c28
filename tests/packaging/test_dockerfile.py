"""The Dockerfile's runtime contract, checked without a Docker engine (none exists here).

The final stage is parsed (ENV, USER, WORKDIR, COPY, HEALTHCHECK, ENTRYPOINT, CMD) and
then *run*: ENTRYPOINT + CMD with the image's environment, as a non-root user (the image's
uid), with a secret mounted like the documented ``docker run``; the HEALTHCHECK command
(the copied script, at the path the image has it) must answer 0 while the server runs and
1 once it stopped. What cannot be checked without Docker: the base image and the build
stage itself (``pip wheel`` + ``pip install --no-index`` are exercised by
test_server_install.py's plain ``pip install``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO

DOCKERFILE = REPO / "Dockerfile"
IMAGE_UID = 10001


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = _instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def _one(stage: list[tuple[str, str]], word: str) -> str:
    (value,) = [rest for w, rest in stage if w == word]
    return value


def test_final_stage_runs_as_non_root_with_exec_form_commands() -> None:
    stage = final_stage()
    assert _one(stage, "USER") == "coscribe"
    assert f"--uid {IMAGE_UID}" in " ".join(rest for w, rest in stage if w == "RUN")
    assert json.loads(_one(stage, "ENTRYPOINT")) == ["coscribe-server"]  # PID 1 gets SIGTERM
    assert json.loads(_one(stage, "CMD")) == ["serve"]
    health = _one(stage, "HEALTHCHECK")
    assert "CMD [" in health, "exec form: no shell needed in the image"
    env = _env(stage)
    assert env["COSCRIBE_DATA_DIR"] == "/data" and _one(stage, "WORKDIR") == "/data"
    expose = _one(stage, "EXPOSE")
    assert expose == env["COSCRIBE_PORT"]
    # Every package the wheel is built from is copied into the build stage.
    copied = " ".join(rest for w, rest in _instructions(DOCKERFILE.read_text()) if w == "COPY")
    for package in ("shared", "sync_server", "pyproject.toml"):
        assert package in copied


def _copied_file(stage: list[tuple[str, str]], destination: str) -> Path:
    for word, rest in stage:
        if word == "COPY" and not rest.startswith("--from"):
            source, target = rest.split()
            if target == destination:
                return REPO / source
    raise AssertionError(f"nothing is copied to {destination}")


def _site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if Path(p).is_dir()]


def _system_python() -> str | None:
    """A Python the image's unprivileged user may run: the test venv's interpreter can live
    under /root (pyenv), which uid 10001 cannot enter. Same minor version only."""
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if python is None:
        return None
    probe = subprocess.run(
        [
            python,
            "-c",
            "import sys; print(sys.version_info[:2])",
        ],
        capture_output=True,
        text=True,
    )
    return python if probe.stdout.strip() == str(sys.version_info[:2]) else None


def _image_like_bin(bin_dir: Path) -> Path:
    """``python`` and ``coscribe-server`` on PATH, as ``pip install coscribe`` in the image
    provides them, running this checkout's code with the test environment's packages."""
    python = (_system_python() if os.geteuid() == 0 else None) or sys.executable
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(python)
    server = bin_dir / "coscribe-server"
    server.write_text(
        f"#!{python}\nimport sys\nfrom sync_server.__main__ import main\nsys.exit(main())\n"
    )
    server.chmod(0o755)
    return bin_dir


@pytest.fixture
def image_dir() -> Iterator[Path]:
    """A folder the image's user can enter (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(prefix="coscribe-image-") as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


def test_entrypoint_and_healthcheck_run_as_the_image_would(image_dir: Path) -> None:
    tmp_path = image_dir
    stage = final_stage()
    env = _env(stage)
    health = json.loads(_one(stage, "HEALTHCHECK").split("CMD", 1)[1])
    script = _copied_file(stage, health[1])
    assert script.is_file()
    command = json.loads(_one(stage, "ENTRYPOINT")) + json.loads(_one(stage, "CMD"))
    # Docker's -e / -v of the documented `docker run`: a free port, a data volume, a secret.
    data = tmp_path / "data"
    data.mkdir()
    secret = tmp_path / "secret"
    secret.write_text("s3cret-for-the-test-0123456789abcdef\n")
    secret.chmod(0o600)
    env.update(
        PATH=f"{_image_like_bin(tmp_path / 'bin')}:{os.defpath}",
        HOME=str(data),
        COSCRIBE_PORT="0",  # a free one; the health check gets the real one below
        COSCRIBE_DATA_DIR=str(data),
        COSCRIBE_SECRET_FILE=str(secret),
        PYTHONPATH=os.pathsep.join([str(REPO), *_site_packages()]),
    )
    as_image_user: list[str] = []
    if os.geteuid() == 0 and shutil.which("setpriv") and _system_python():
        for path in (data, secret):
            os.chown(path, IMAGE_UID, IMAGE_UID)
        as_image_user = [
            "setpriv",
            f"--reuid={IMAGE_UID}",
            f"--regid={IMAGE_UID}",
            "--clear-groups",
            "--",
        ]

    def healthcheck() -> int:
        run = subprocess.run(
            [*as_image_user, *health[:1], str(script), *health[2:]],
            env=env,
            cwd=data,
            capture_output=True,
            timeout=10,
        )
        return run.returncode

    # Without a secret the server refuses to listen on 0.0.0.0 in open mode, and says so.
    refused = subprocess.run(
        [*as_image_user, *command],
        env={k: v for k, v in env.items() if k != "COSCRIBE_SECRET_FILE"},
        cwd=data,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "refusing to serve 0.0.0.0" in refused.stderr

    server = subprocess.Popen(
        [*as_image_user, *command],
        env=env,
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "server.log").open("w"),
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the address, once it listens
        assert "listening on ws://0.0.0.0:" in line, (tmp_path / "server.log").read_text()
        env["COSCRIBE_PORT"] = line.strip().rsplit(":", 1)[1]
        deadline = time.monotonic() + 20
        while healthcheck() != 0:
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.1)
        log = (tmp_path / "server.log").read_text()
        assert log.startswith("{"), "JSON logs (COSCRIBE_LOG_FORMAT=json)"
    finally:
        server.send_signal(signal.SIGTERM)  # `docker stop`
        code = server.wait(30)
    assert code == 0
    assert healthcheck() == 1, "nothing listens any more"
