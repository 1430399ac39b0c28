"""Build the installers with ``packaging/build.sh`` and use them like a user would.

One build per session (the ``artifacts`` fixture in conftest.py, about a minute with
``COSCRIBE_DEB_COMPRESSION=none``), then: the bundled binary runs from a clean environment
(``env -i``) against a real server on the offscreen, X11 (Xvfb) and Wayland (headless
Weston) platforms, opens a document, types Hangul and emoji, syncs and exits cleanly; every
ELF file's glibc need is within the declared floor and every library it links to resolves;
the tarball unpacks, installs a desktop entry that plain ``xdg-open`` can launch and
uninstalls cleanly; the ``.deb`` installs with dpkg, registers the ``coscribe://`` handler,
its installed app starts and syncs, and it uninstalls without leftovers. Opt-in (see
conftest.py).
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.conftest import Artifacts
from tests.packaging.helpers import (
    REPO,
    Server,
    Weston,
    Xvfb,
    clean_env,
    read_document,
    run_desktop_script,
    run_self_test,
)

sys.path.insert(0, str(REPO / "packaging"))
import elfdeps  # noqa: E402
import licenses  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(900)]

#: Cold start to a visible window, measured from spawn (target 1.5 s; CI machines are slow,
#: so the test only fails well beyond it; the measured value is printed).
COLD_START_LIMIT = 5.0
#: What the tests type: a system without CJK or emoji fonts would show boxes, and the
#: self-test fails on that.
TEXT = "from the bundle 한글 😀"


def _sync_on(program: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> float:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    with Server(tmp_path / "server") as server:
        url = f"{server.url}/bundle-doc"
        result, shown = run_self_test(program, url, TEXT, home, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "coscribe-self-test: saved" in result.stdout
        assert "Traceback" not in result.stderr
        assert read_document(url) == TEXT
    assert shown is not None
    return shown


def test_bundle_runs_from_a_clean_environment_and_syncs(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    shown = _sync_on([str(artifacts.bundle / "coscribe")], tmp_path)
    print(f"\ncold start of the bundle to a visible window (offscreen): {shown:.2f} s")
    assert shown < COLD_START_LIMIT


def test_bundle_runs_on_x11(artifacts: Artifacts, tmp_path: Path) -> None:
    """The xcb platform plugin loads with the system's libX11/libxcb and the bundled xcb-util
    libraries (Xvfb; no window manager)."""
    with Xvfb() as display:
        env = {"HOME": str(tmp_path / "home"), "PATH": os.defpath, **display}
        shown = _sync_on([str(artifacts.bundle / "coscribe")], tmp_path, env)
    print(f"\ncold start of the bundle to a visible window (Xvfb): {shown:.2f} s")


def test_bundle_runs_on_wayland(artifacts: Artifacts, tmp_path: Path) -> None:
    """The Wayland platform plugin with its xdg-shell integration shows a window on a real
    compositor (headless Weston); before, the shell plugin shipped without its library."""
    if shutil.which("weston") is None:
        pytest.fail("weston is not installed (dev.sh APT_TEST installs it)")
    with Weston(tmp_path / "xdg-runtime") as display:
        env = {
            "HOME": str(tmp_path / "home"),
            "PATH": os.defpath,
            "QT_QPA_PLATFORM": "wayland",  # no fallback: fail if Wayland does not work
            **display,
        }
        shown = _sync_on([str(artifacts.bundle / "coscribe")], tmp_path, env)
    print(f"\ncold start of the bundle to a visible window (Wayland, Weston): {shown:.2f} s")


def test_build_smoke_test_opens_a_document(artifacts: Artifacts) -> None:
    """build.sh's own smoke test starts the GUI and syncs, not just ``--help``."""
    assert re.search(r"coscribe \S+: opened ws://\S+/smoke, typed, saved", artifacts.build_log)


def test_bundle_version_help_and_about_metadata(artifacts: Artifacts, tmp_path: Path) -> None:
    for flag, expected in (("--version", f"coscribe {md.version('coscribe')}\n"), ("--help", "")):
        run = subprocess.run(
            [str(artifacts.bundle / "coscribe"), flag],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith(expected or "usage: coscribe")
    internal = artifacts.bundle / "_internal"
    metadata = [*internal.glob("coscribe-*.dist-info"), *internal.glob("coscribe.egg-info")]
    assert metadata, "the About box and --version read the version from this"
    assert list(internal.glob("pycrdt-*.dist-info"))


def _objdump_glibc(path: Path) -> set[str]:
    out = subprocess.run(
        ["objdump", "-T", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", out))


def test_glibc_floor_is_computed_declared_and_in_the_package(artifacts: Artifacts) -> None:
    """The newest GLIBC_x.y any ELF file in the bundle needs, found independently with
    objdump, is what the .deb depends on, and within the floor the docs promise."""
    newest = "0"
    for path in elfdeps.elf_files(artifacts.bundle):
        versions = _objdump_glibc(path)
        assert versions == elfdeps.glibc_versions(path), path
        for version in versions:
            if elfdeps.parse_version(version) > elfdeps.parse_version(newest):
                newest = version
    print(f"\nthe bundle needs glibc >= {newest} (declared floor {elfdeps.DECLARED_GLIBC})")
    assert elfdeps.parse_version(newest) <= elfdeps.parse_version(elfdeps.DECLARED_GLIBC)
    assert f"needs glibc >= {newest}" in artifacts.build_log
    if artifacts.deb is not None:
        depends = _deb_field(artifacts.deb, "Depends")
        assert depends.startswith(f"libc6 (>= {newest}),"), depends


def test_every_library_a_bundled_file_links_to_resolves(artifacts: Artifacts) -> None:
    """No plugin without its library (the wl-shell plugin shipped without
    libQt6WlShellIntegration); system libraries come from packages the .deb depends on."""
    assert elfdeps.unresolved(artifacts.bundle) == {}


def test_bundle_is_stripped_and_ships_licenses(artifacts: Artifacts) -> None:
    internal = artifacts.bundle / "_internal"
    qt = internal / "PySide6" / "Qt"
    assert not (qt / "translations").exists()
    libs = {p.name for p in (qt / "lib").iterdir()}
    assert "libQt6Widgets.so.6" in libs
    # QtNetwork (system proxy settings) and QtPrintSupport (Print) are used: kept.
    assert {"libQt6Network.so.6", "libQt6PrintSupport.so.6"} <= libs
    for unused in ("libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Pdf.so.6"):
        assert unused not in libs
        assert not (internal / unused).exists()
    plugins = qt / "plugins"
    platforms = {p.name for p in (plugins / "platforms").iterdir()}
    assert platforms == {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"}
    shells = {p.name for p in (plugins / "wayland-shell-integration").iterdir()}
    assert shells == {"libxdg-shell.so"}
    assert not list(internal.rglob("libgtk-3*")) and not list(internal.rglob("libcairo*"))
    # A GUI app needs no terminal line editor: GNU readline (GPL-3+) and its terminfo library.
    assert not list(internal.rglob("libreadline*")) and not list(internal.rglob("readline.*"))
    assert not list(internal.rglob("libtinfo*"))
    for host_lib in ("libstdc++", "libexpat", "libfontconfig", "libfreetype", "libX11.", "libz."):
        assert not list(internal.glob(f"{host_lib}*")), host_lib
    license_dir = internal / "licenses"
    for required in ("README.txt", "Qt/LGPL-3.0.txt", "Qt/GPL-3.0.txt", "Qt/QT-LGPL-NOTICE.txt"):
        assert (license_dir / required).is_file(), required
    for dist in ("pycrdt", "websockets", "qasync", "platformdirs", "Python"):
        assert list(license_dir.glob(f"{dist}-*/*")), dist
    size = sum(p.lstat().st_size for p in artifacts.bundle.rglob("*") if not p.is_dir())
    print(f"\nbundle: {size / 2**20:.0f} MiB")
    assert size < 160 * 2**20


def test_license_notes_list_every_bundled_library(artifacts: Artifacts) -> None:
    """README.txt names each shared library and extension module with its licence; none is
    unknown or GPL (LGPL is fine: Qt)."""
    internal = artifacts.bundle / "_internal"
    readme = (internal / "licenses" / "README.txt").read_text()
    listed = dict(
        re.findall(r"^  (\S+\.so\S*)\s+(.+)$", readme.split("Shared libraries in this")[1], re.M)
    )
    files = {
        p.relative_to(internal).as_posix()
        for p in internal.rglob("*")
        if p.is_file() and not p.is_symlink() and ".so" in p.name
    }
    assert set(listed) == files
    for path, note in listed.items():
        license = note.rpartition(": ")[2]
        assert license != "UNKNOWN", path
        assert "LGPL" in license or not licenses._STRONG_COPYLEFT.search(license), (path, note)
    for package in {n.split(":")[0].split()[-1] for n in listed.values() if "Debian" in n}:
        assert (internal / "licenses" / "system" / f"{package}.copyright").is_file(), package


# -- tarball ------------------------------------------------------------------------------


def _xdg_env(home: Path, **extra: str) -> dict[str, str]:
    """A user session without a desktop environment: xdg-utils take their generic paths."""
    return clean_env(home, PATH=os.defpath, USER="test", XDG_DATA_DIRS="/usr/share", **extra)


def _desktop_file_validate(path: Path) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.fail("desktop-file-validate is missing (desktop-file-utils, in dev.sh APT_TEST)")
    run = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def _launched(program: Path, link: str, seconds: float) -> int | None:
    """The pid of a running ``program link`` process, waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if os.fsencode(program) in argv and os.fsencode(link) in argv:
                return int(proc.name)
        time.sleep(0.05)
    return None


def test_tarball_installs_a_desktop_entry_xdg_open_can_run(
    artifacts: Artifacts, tmp_path: Path
) -> None:
    with tarfile.open(artifacts.tarball) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path, filter="tar")
    root = tmp_path / names[0].split("/")[0]
    for item in ("coscribe", "install-desktop-entry.sh", "share/coscribe.desktop"):
        assert (root / item).exists(), item
    home = tmp_path / "home"
    home.mkdir()
    env = _xdg_env(home)
    installed = run_desktop_script(root, "install-desktop-entry.sh", env)
    assert installed.returncode == 0, installed.stderr
    entry_file = home / ".local/share/applications/coscribe.desktop"
    entry = entry_file.read_text()
    assert f"\nExec={root}/coscribe %u\n" in entry  # unquoted: xdg-open 1.1.x splits words
    assert "MimeType=x-scheme-handler/coscribe;" in entry
    _desktop_file_validate(entry_file)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(Server(tmp_path / "server"))
        result, _ = run_self_test([str(root / "coscribe")], f"{server.url}/tar-doc", "tar", home)
        assert result.returncode == 0, result.stdout + result.stderr

        if shutil.which("xdg-open") is None:
            pytest.fail("xdg-open is missing (xdg-utils, in dev.sh APT_TEST)")
        link = f"coscribe://127.0.0.1:{server.url.rsplit(':', 1)[1]}/xdg-doc"
        # An X session without a desktop environment: xdg-open reads the desktop entry
        # itself and runs the app in the foreground until it quits.
        display = stack.enter_context(Xvfb())
        opener = subprocess.Popen(
            ["xdg-open", link],
            env={**env, **display},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            pid = _launched(root / "coscribe", link, 30)
            if pid is None:
                opener.kill()
                out = opener.communicate(timeout=30)[0].decode(errors="replace")
                rc = opener.returncode
                raise AssertionError(f"xdg-open did not start the app (rc {rc}): {out}")
        finally:
            if opener.poll() is None:
                os.killpg(opener.pid, signal.SIGTERM)
            opener.wait(30)

    mimeapps = home / ".config" / "mimeapps.list"
    assert "x-scheme-handler/coscribe=coscribe.desktop" in mimeapps.read_text()
    removed = run_desktop_script(root, "uninstall-desktop-entry.sh", env)
    assert removed.returncode == 0, removed.stderr
    assert not entry_file.exists()
    assert "x-scheme-handler/coscribe" not in mimeapps.read_text()
    assert not list((home / ".local/share/icons").rglob("coscribe.*"))


# -- .deb ---------------------------------------------------------------------------------


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


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
    assert _deb_field(artifacts.deb, "Package") == "coscribe"
    depends = _deb_field(artifacts.deb, "Depends")
    for package in ("libfontconfig1", "libx11-6", "libxcb1", "libwayland-client0"):
        assert package in depends  # taken from the system, not bundled
    recommends = _deb_field(artifacts.deb, "Recommends")
    assert "fonts-noto-cjk | fonts-nanum" in recommends  # Hangul, Chinese, Japanese
    assert "fonts-noto-color-emoji" in recommends
    files = subprocess.run(
        ["dpkg-deb", "--contents", str(artifacts.deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./opt/coscribe/coscribe",
        "./usr/bin/coscribe -> /opt/coscribe/coscribe",
        "./usr/share/applications/coscribe.desktop",
        "./usr/share/metainfo/org.coscribe.Coscribe.metainfo.xml",
        "./usr/share/icons/hicolor/256x256/apps/coscribe.png",
        "./usr/share/icons/hicolor/scalable/apps/coscribe.svg",
    ):
        assert path in files, path


def test_docs_state_what_the_deb_depends_on(artifacts: Artifacts) -> None:
    """docs/packaging.md names every package of the built .deb's Depends and Recommends."""
    if artifacts.deb is None:
        pytest.skip("no dpkg-deb on this machine")
    docs = (REPO / "docs" / "packaging.md").read_text()
    for field in ("Depends", "Recommends"):
        for package in re.findall(r"[a-z0-9][a-z0-9.+-]+", _deb_field(artifacts.deb, field)):
            if not re.fullmatch(r"[0-9.]+", package):
                assert package in docs, f"{field}: {package} is not in docs/packaging.md"


def test_deb_installs_registers_the_link_handler_and_runs(
    installed_deb: Path, tmp_path: Path
) -> None:
    desktop = Path("/usr/share/applications/coscribe.desktop")
    assert "MimeType=x-scheme-handler/coscribe;" in desktop.read_text()
    _desktop_file_validate(desktop)
    cache = Path("/usr/share/applications/mimeinfo.cache")
    if shutil.which("update-desktop-database"):
        assert "x-scheme-handler/coscribe=coscribe.desktop" in cache.read_text()
    home = tmp_path / "home"
    home.mkdir()
    if shutil.which("xdg-mime"):
        query = subprocess.run(
            ["xdg-mime", "query", "default", "x-scheme-handler/coscribe"],
            env=_xdg_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert query.stdout.strip() == "coscribe.desktop"
    with Server(tmp_path / "server") as server:
        port = server.url.rsplit(":", 1)[1]
        app_link = f"coscribe://127.0.0.1:{port}/deb-doc"  # what a web page would hand over
        result, _ = run_self_test(["/usr/bin/coscribe"], app_link, "from the .deb 한글 😀", home)
        assert result.returncode == 0, result.stdout + result.stderr
        assert read_document(f"{server.url}/deb-doc") == "from the .deb 한글 😀"
