"""Packaging tests: markers, and the switch that keeps the expensive ones opt-in.

The fast tests here (links, About box, icons, the ``--self-test`` mode run from source)
always run. Tests marked ``packaging`` build real artifacts (a PyInstaller bundle, a .deb,
a throwaway venv with ``pip install``): about 1-2 minutes and network access to PyPI, so
they run only with ``COSCRIBE_TEST_PACKAGING=1`` or on CI (``CI=true``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ENABLE_VAR = "COSCRIBE_TEST_PACKAGING"


def packaging_enabled() -> bool:
    return os.environ.get(ENABLE_VAR) == "1" or os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"packaging: builds installers; runs with {ENABLE_VAR}=1 or CI=true"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if packaging_enabled():
        return
    skip = pytest.mark.skip(reason=f"builds installers (1-2 min); set {ENABLE_VAR}=1 to run")
    for item in items:
        if item.get_closest_marker("packaging") is not None:
            item.add_marker(skip)


@dataclass(frozen=True)
class Artifacts:
    bundle: Path
    tarball: Path
    deb: Path | None
    build_log: str


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """``packaging/build.sh`` once per session (about a minute on 2 cores)."""
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("dist")
    env = dict(
        os.environ,
        COSCRIBE_DIST=str(out),
        COSCRIBE_BUILD_DIR=str(tmp_path_factory.mktemp("build")),
        COSCRIBE_DEB_COMPRESSION="none",  # xz takes 80 s and changes nothing we test
    )
    result = subprocess.run(
        ["bash", str(repo / "packaging" / "build.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    debs = list(out.glob("coscribe_*.deb"))
    (tarball,) = out.glob("coscribe-*-linux-*.tar.gz")
    return Artifacts(out / "coscribe", tarball, debs[0] if debs else None, result.stdout)
