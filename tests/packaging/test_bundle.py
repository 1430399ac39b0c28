"""Build the installers with ``packaging/build.sh`` and use them like a user would.

One build per session (about a minute with ``COSCRIBE_DEB_COMPRESSION=none``), then: the
bundled binary runs from a clean environment (``env -i``) against a real server, opens a
document, syncs an edit and exits cleanly; the tarball unpacks to a runnable app; the
``.deb`` installs with dpkg, registers the ``coscribe://`` handler, its installed app
starts and syncs, and it uninstalls without leftovers. Opt-in (see conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO, Server, clean_env, read_document, run_self_test

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(900)]

#: Cold start to a visible window, measured from spawn (target 1.5 s; CI machines are slow,
#: so the test only fails well beyond it; the measured value is printed).
COLD_START_LIMIT = 5.0


@dataclass(frozen=True)
class Artifacts:
    bundle: Path
    tarball: Path
    deb: Path | None


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    out = tmp_path_factory.mktemp("dist")
    env = dict(
        os.environ,
        COSCRIBE_DIST=str(out),
        COSCRIBE_BUILD_DIR=str(tmp_path_factory.mktemp("build")),
        COSCRIBE_DEB_COMPRESSION="none",  # xz takes 80 s and changes nothing we test
    )
    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "build.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    debs = list(out.glob("coscribe_*.deb"))
    (tarball,) = out.glob("coscribe-*-linux-*.tar.gz")
    return Artifacts(out / "coscribe", tarball, debs[0] if debs else None)


def test_bundle_runs_from_a_clean_environment_and_syncs(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Server(tmp_path / "server") as server:
        url = f"{server.url}/bundle-doc"
        result, shown = run_self_test(
            [str(artifacts.bundle / "coscribe")], url, "from the bundle", home
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "coscribe-self-test: saved" in result.stdout
        assert "Traceback" not in result.stderr
        assert read_document(url) == "from the bundle"
    assert shown is not None
    print(f"\ncold start of the bundle to a visible window (offscreen): {shown:.2f} s")
    assert shown < COLD_START_LIMIT


def test_bundle_help_and_about_metadata(artifacts: Artifacts, tmp_path: Path) -> None:
    help_run = subprocess.run(
        [str(artifacts.bundle / "coscribe"), "--help"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert help_run.returncode == 0
    assert "usage: coscribe" in help_run.stdout
    internal = artifacts.bundle / "_internal"
    metadata = [*internal.glob("coscribe-*.dist-info"), *internal.glob("coscribe.egg-info")]
    assert metadata, "the About box reads the version from this"
    assert list(internal.glob("pycrdt-*.dist-info"))


def test_bundle_is_stripped_and_ships_licenses(artifacts: Artifacts) -> None:
    internal = artifacts.bundle / "_internal"
    qt = internal / "PySide6" / "Qt"
    assert not (qt / "translations").exists()
    libs = {p.name for p in (qt / "lib").iterdir()}
    assert "libQt6Widgets.so.6" in libs
    for unused in ("libQt6Network.so.6", "libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Pdf.so.6"):
        assert unused not in libs
        assert not (internal / unused).exists()
    platforms = {p.name for p in (qt / "plugins" / "platforms").iterdir()}
    assert platforms == {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"}
    assert not list(internal.rglob("libgtk-3*")) and not list(internal.rglob("libcairo*"))
    assert not list(internal.glob("libstdc++*"))
    licenses = internal / "licenses"
    for required in ("README.txt", "Qt/LGPL-3.0.txt", "Qt/GPL-3.0.txt", "Qt/QT-LGPL-NOTICE.txt"):
        assert (licenses / required).is_file(), required
    for dist in ("pycrdt", "websockets", "qasync", "platformdirs", "Python"):
        assert list(licenses.glob(f"{dist}-*/*")), dist
    size = sum(p.lstat().st_size for p in artifacts.bundle.rglob("*") if not p.is_dir())
    print(f"\nbundle: {size / 2**20:.0f} MiB")
    assert size < 160 * 2**20


def test_tarball_unpacks_to_a_working_app(artifacts: Artifacts, tmp_path: Path) -> None:
    with tarfile.open(artifacts.tarball) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path, filter="tar")
    top = names[0].split("/")[0]
    root = tmp_path / top
    for item in ("coscribe", "install-desktop-entry.sh", "share/coscribe.desktop"):
        assert (root / item).exists(), item
    home = tmp_path / "home"
    home.mkdir()
    # The per-user desktop entry points at the unpacked program.
    subprocess.run(
        ["sh", str(root / "install-desktop-entry.sh")],
        env=clean_env(home, PATH=os.defpath, USER="test"),
        check=True,
        capture_output=True,
        timeout=60,
    )
    entry = (home / ".local/share/applications/coscribe.desktop").read_text()
    assert f'Exec="{root}/coscribe" %u' in entry
    assert "MimeType=x-scheme-handler/coscribe;" in entry
    with Server(tmp_path / "server") as server:
        result, _ = run_self_test([str(root / "coscribe")], f"{server.url}/tar-doc", "tar", home)
        assert result.returncode == 0, result.stdout + result.stderr


def _dpkg_status(package: str) -> str:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else ""


@pytest.fixture
def installed_deb(artifacts: Artifacts) -> Iterator[Path]:
    """``dpkg -i`` the package for one test and ``dpkg --purge`` it afterwards."""
    if artifacts.deb is None or shutil.which("dpkg") is None:
        pytest.skip("no dpkg on this machine")
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root")
    if "installed" in _dpkg_status("coscribe"):
        pytest.skip("a coscribe package is already installed here; not touching it")
    install = subprocess.run(
        ["dpkg", "-i", str(artifacts.deb)], capture_output=True, text=True, timeout=300
    )
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        yield artifacts.deb
    finally:
        subprocess.run(["dpkg", "--purge", "coscribe"], capture_output=True, timeout=300)
    assert _dpkg_status("coscribe") == ""
    assert not Path("/opt/coscribe").exists()
    assert not Path("/usr/bin/coscribe").exists()


def test_deb_metadata(artifacts: Artifacts) -> None:
    if artifacts.deb is None:
        pytest.skip("no dpkg-deb on this machine")
    info = subprocess.run(
        ["dpkg-deb", "--field", str(artifacts.deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "Package: coscribe" in info
    assert "Depends: libc6 (>= 2.34)" in info
    files = subprocess.run(
        ["dpkg-deb", "--contents", str(artifacts.deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./opt/coscribe/coscribe",
        "./usr/bin/coscribe -> /opt/coscribe/coscribe",
        "./usr/share/applications/coscribe.desktop",
        "./usr/share/icons/hicolor/256x256/apps/coscribe.png",
        "./usr/share/icons/hicolor/scalable/apps/coscribe.svg",
    ):
        assert path in files, path


def test_deb_installs_registers_the_link_handler_and_runs(
    installed_deb: Path, tmp_path: Path
) -> None:
    desktop = Path("/usr/share/applications/coscribe.desktop").read_text()
    assert "MimeType=x-scheme-handler/coscribe;" in desktop
    cache = Path("/usr/share/applications/mimeinfo.cache")
    if shutil.which("update-desktop-database"):
        assert "x-scheme-handler/coscribe=coscribe.desktop" in cache.read_text()
    home = tmp_path / "home"
    home.mkdir()
    if shutil.which("xdg-mime"):
        query = subprocess.run(
            ["xdg-mime", "query", "default", "x-scheme-handler/coscribe"],
            env=clean_env(home, PATH=os.defpath, XDG_DATA_DIRS="/usr/share"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert query.stdout.strip() == "coscribe.desktop"
    with Server(tmp_path / "server") as server:
        port = server.url.rsplit(":", 1)[1]
        app_link = f"coscribe://127.0.0.1:{port}/deb-doc"  # what a web page would hand over
        result, _ = run_self_test(["/usr/bin/coscribe"], app_link, "from the .deb", home)
        assert result.returncode == 0, result.stdout + result.stderr
        assert read_document(f"{server.url}/deb-doc") == "from the .deb"
