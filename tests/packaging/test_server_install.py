"""``pip install coscribe`` (no extras) is a working server without Qt.

Installs a copy of the source tree into a throwaway venv (about 20 s, needs PyPI or a pip
cache), then runs that venv's ``coscribe-server``: health check and a real sync. Opt-in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO, Server, read_document

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def test_plain_pip_install_gives_a_qt_free_server(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: building in place would write build/ into the repo
    source.mkdir()
    for item in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / item, source / item)
    for package in ("shared", "sync_server", "editor_app"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    no_qt = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import PySide6"], capture_output=True, timeout=60
    )
    assert no_qt.returncode != 0, "PySide6 must not be installed without the editor extra"
    with Server(tmp_path / "data", [str(venv / "bin" / "coscribe-server")]) as server:
        health = server.url.replace("ws://", "http://") + "/healthz"
        with urllib.request.urlopen(health, timeout=10) as response:
            assert response.status == 200
        assert read_document(f"{server.url}/fresh") == ""
