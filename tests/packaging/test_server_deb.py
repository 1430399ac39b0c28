"""The ``coscribe-server`` Debian package: install it, start its systemd unit's command the
way systemd would (there is no systemd here: the unit's User=, Environment=,
EnvironmentFile= and ExecStart= are read from the installed unit and run with setpriv),
check ``/healthz``, a sync, the data directory and a clean stop, then purge it. Root only;
opt-in like the other packaging tests (it builds with pip from PyPI or its cache)."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO, read_document

sys.path.insert(0, str(REPO / "packaging"))
import server_deb  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(600)]

UNIT = Path("/lib/systemd/system/coscribe-server.service")
ENV_FILE = Path("/etc/coscribe/server.env")
DATA = Path("/var/lib/coscribe")
READY = re.compile(r"coscribe-server listening on (ws://\S+)")


def _status(package: str) -> str:
    run = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True)
    return run.stdout.decode() if run.returncode == 0 else ""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="module")
def server_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_deb.build(tmp_path_factory.mktemp("server-deb"))


@pytest.fixture
def installed(server_package: Path) -> Iterator[Path]:
    if shutil.which("dpkg") is None or os.geteuid() != 0:
        pytest.skip("installing a .deb needs dpkg and root")
    if _status("coscribe-server") or DATA.exists() or _user_exists("coscribe"):
        pytest.skip("a coscribe-server installation exists here; not touching it")
    install = subprocess.run(["dpkg", "-i", str(server_package)], capture_output=True, text=True)
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        yield server_package
        purge = subprocess.run(["dpkg", "--purge", "coscribe-server"], capture_output=True)
        assert purge.returncode == 0, purge.stderr
        assert _status("coscribe-server") == ""
        assert not Path(server_deb.LIB).exists() and not UNIT.exists()
        assert not Path("/usr/bin/coscribe-server").exists()
        assert DATA.is_dir(), "purge keeps the documents"
    finally:
        subprocess.run(["dpkg", "--purge", "coscribe-server"], capture_output=True)
        shutil.rmtree(DATA, ignore_errors=True)  # created by this test: not a user's
        subprocess.run(["userdel", "coscribe"], capture_output=True)
        subprocess.run(["groupdel", "coscribe"], capture_output=True)


def _service_section(unit: Path) -> dict[str, list[str]]:
    """The [Service] settings; systemd allows repeated keys (Environment=), hence lists."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def _env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip().strip('"')
    return env


def test_deb_installs_a_service_that_runs_as_its_own_user(installed: Path, tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    user = pwd.getpwnam("coscribe")
    assert user.pw_dir == str(DATA) and user.pw_shell == "/usr/sbin/nologin"
    stat = DATA.stat()
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (user.pw_uid, user.pw_gid, 0o750)
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True
        )
        assert verify.returncode == 0, verify.stderr
    version = subprocess.run(
        ["/usr/bin/coscribe-server", "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("coscribe-server "), version

    service = _service_section(UNIT)
    assert service["User"] == ["coscribe"] and service["Group"] == ["coscribe"]
    # What an administrator would put in the settings file: a free port for the test.
    ENV_FILE.write_text(ENV_FILE.read_text() + "COSCRIBE_PORT=0\n")
    env = {  # what systemd gives a system service, then Environment=, then EnvironmentFile=
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": user.pw_dir,
        "USER": "coscribe",
        "LOGNAME": "coscribe",
        "LANG": "C.UTF-8",
    }
    for assignment in service.get("Environment", []):
        for item in shlex.split(assignment):
            key, _, value = item.partition("=")
            env[key] = value
    for name in service.get("EnvironmentFile", []):
        optional, path = name.startswith("-"), Path(name.lstrip("-"))
        if path.exists() or not optional:
            env.update(_env_file(path))
    assert env["COSCRIBE_DATA_DIR"] == str(DATA)
    (command,) = service["ExecStart"]
    proc = subprocess.Popen(
        ["setpriv", "--reuid=coscribe", "--regid=coscribe", "--init-groups", "--"]
        + shlex.split(command),
        env=env,
        cwd="/",
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()
            if not line:
                break
            if match := READY.search(line):
                url = match.group(1)
        assert url, f"the service did not start (exit {proc.poll()}): {log.read_text()}"
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{user.pw_uid}\s", status, re.M), "runs as coscribe"
        health = url.replace("ws://", "http://") + "/healthz"
        with urllib.request.urlopen(health, timeout=10) as response:
            assert response.status == 200
        assert read_document(f"{url}/packaged") == "", log.read_text()
        owned = [p for p in DATA.rglob("*") if p.stat().st_uid == user.pw_uid]
        assert owned, "the server keeps its documents in /var/lib/coscribe"
    finally:
        proc.send_signal(signal.SIGTERM)  # KillSignal=SIGTERM
        code = proc.wait(30)
    assert code == 0, "SIGTERM stops the service cleanly"
