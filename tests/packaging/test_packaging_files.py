"""Fast checks of the packaging sources (no build): each platform's own validators on the
desktop entry and AppStream metadata, the ELF checker on real libraries, the per-user
install scripts, the licence lookup on a Windows layout, and what the release workflow and
the Inno Setup script promise about what cannot run here."""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO, run_desktop_script

sys.path.insert(0, str(REPO / "packaging"))
import archives  # noqa: E402
import elfdeps  # noqa: E402
import licenses  # noqa: E402

LINUX = REPO / "packaging" / "linux"
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
#: The oldest GitHub-hosted Ubuntu runner for each glibc floor the artefacts may declare.
RUNNER_FOR_GLIBC = {"2.35": "ubuntu-22.04", "2.39": "ubuntu-24.04"}


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (dev.sh APT_TEST has it)")
    return path


def test_desktop_entry_passes_desktop_file_validate() -> None:
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    run = subprocess.run([tool, str(LINUX / "coscribe.desktop")], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_appstream_metadata_validates_and_matches_the_package() -> None:
    tool = _tool("appstreamcli", "appstream")
    metainfo = LINUX / "org.coscribe.Coscribe.metainfo.xml"
    run = subprocess.run(
        [tool, "validate", "--no-net", str(metainfo)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    root = ET.parse(metainfo).getroot()
    assert root.findtext("launchable") == "coscribe.desktop"
    newest = root.find("releases/release")
    assert newest is not None and newest.get("version") == md.version("coscribe")


def test_elfdeps_reads_the_same_glibc_versions_as_objdump() -> None:
    for lib in (Path(sys.executable).resolve(), Path(sysconfig.get_config_var("LIBDIR"))):
        if lib.is_dir():
            lib = next(lib.glob("libpython3*.so.1.0"), lib)
        if not lib.is_file():
            continue
        out = subprocess.run(["objdump", "-T", str(lib)], capture_output=True, text=True).stdout
        assert elfdeps.glibc_versions(lib) == set(re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)", out))


def _host_library(name: str) -> Path:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    match = re.search(rf"\s{re.escape(name)} \(libc6,x86-64\) => (\S+)", out)
    if match is None:
        pytest.skip(f"{name} is not installed here")
    return Path(match.group(1))


def test_elfdeps_fails_a_bundle_that_needs_a_newer_glibc(tmp_path: Path) -> None:
    """A library copied from the build host raises the floor (Debian 12's libexpat needs
    GLIBC_2.36), and the check names it."""
    internal = tmp_path / "_internal"
    internal.mkdir()
    libc = _host_library("libc.so.6")
    newest = max(
        (v for v in re.findall(r"GLIBC_(\d+\.\d+)", libc.read_bytes().decode("latin-1"))),
        key=elfdeps.parse_version,
    )
    shutil.copy(_host_library("libc.so.6").parent / "libexpat.so.1", internal)
    assert elfdeps.glibc_floor(tmp_path) == max(
        elfdeps.glibc_versions(internal / "libexpat.so.1"), key=elfdeps.parse_version
    )
    problems = elfdeps.check(tmp_path, declared="2.17")
    assert any("libexpat.so.1 needs GLIBC_" in p and "2.17" in p for p in problems), problems
    assert elfdeps.check(tmp_path, declared=newest) == []


def test_elfdeps_fails_a_plugin_shipped_without_its_library(tmp_path: Path) -> None:
    import PySide6

    plugin = (
        Path(PySide6.__file__).parent / "Qt/plugins/wayland-shell-integration/libwl-shell-plugin.so"
    )
    if not plugin.is_file():
        pytest.skip("this PySide6 has no wl-shell plugin")
    assert "libQt6WlShellIntegration.so.6" in elfdeps.needed_libraries(plugin)
    internal = tmp_path / "_internal"
    internal.mkdir()
    shutil.copy(plugin, internal)
    missing = elfdeps.unresolved(tmp_path)
    assert "libQt6WlShellIntegration.so.6" in missing[internal / plugin.name]
    assert any("libQt6WlShellIntegration" in p for p in elfdeps.check(tmp_path, "99.0"))


def test_python_licence_is_found_where_windows_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python.org's Windows installer has LICENSE.txt beside python.exe, not in Lib\\."""
    prefix = tmp_path / "Python311"
    (prefix / "Lib").mkdir(parents=True)
    (prefix / "LICENSE.txt").write_text("PSF LICENSE AGREEMENT")
    paths = dict(sysconfig.get_paths(), stdlib=str(prefix / "Lib"))
    monkeypatch.setattr(licenses.sysconfig, "get_paths", lambda: paths)
    monkeypatch.setattr(licenses.sys, "base_prefix", str(prefix))
    assert licenses.python_license_file() == prefix / "LICENSE.txt"
    (prefix / "LICENSE.txt").unlink()
    with pytest.raises(FileNotFoundError):
        licenses.python_license_file()  # the build fails instead of shipping without it


def _unpacked(tmp_path: Path, folder: str) -> Path:
    """A tarball's extra files (share/, the scripts) unpacked under ``folder``."""
    root = tmp_path / folder
    (root / "share" / "icons").mkdir(parents=True)
    shutil.copy(archives.DESKTOP_FILE, root / "share" / "coscribe.desktop")
    for size in (16, 48):
        shutil.copy(
            REPO / f"editor_app/resources/icons/coscribe-{size}.png", root / "share" / "icons"
        )
    shutil.copy(archives.ICON_SVG, root / "share" / "icons" / "coscribe.svg")
    (root / "install-desktop-entry.sh").write_text(archives.INSTALL_SH)
    (root / "uninstall-desktop-entry.sh").write_text(archives.UNINSTALL_SH)
    return root


def _run_script(root: Path, name: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_desktop_script(
        root, name, {"HOME": str(home), "PATH": "/usr/bin:/bin", "USER": "test"}
    )


@pytest.mark.parametrize(
    ("folder", "exec_line"),
    [
        ("apps/coscribe-0.1.0", "Exec={root}/coscribe %u"),  # unquoted: xdg-open 1.1.x
        ("my apps/coscribe", 'Exec="{root}/coscribe" %u'),  # quoted per the specification
    ],
)
def test_install_script_writes_a_valid_entry_and_uninstall_removes_everything(
    tmp_path: Path, folder: str, exec_line: str
) -> None:
    root = _unpacked(tmp_path, folder)
    home = tmp_path / "home"
    home.mkdir()
    installed = _run_script(root, "install-desktop-entry.sh", home)
    assert installed.returncode == 0, installed.stderr
    entry = home / ".local/share/applications/coscribe.desktop"
    assert exec_line.format(root=root) in entry.read_text().splitlines()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True)
        assert check.returncode == 0 and not check.stdout, check.stdout
    mimeapps = home / ".config" / "mimeapps.list"
    mimeapps.parent.mkdir(exist_ok=True)
    if not mimeapps.exists():  # no xdg-mime here: write what it writes
        mimeapps.write_text("[Default Applications]\nx-scheme-handler/coscribe=coscribe.desktop\n")
    with mimeapps.open("a") as f:
        f.write("text/plain=other.desktop\n")
    removed = _run_script(root, "uninstall-desktop-entry.sh", home)
    assert removed.returncode == 0, removed.stderr
    assert not entry.exists()
    assert not list((home / ".local/share/icons").rglob("coscribe.*"))
    text = mimeapps.read_text()
    assert "x-scheme-handler/coscribe" not in text and "text/plain=other.desktop" in text


def test_install_script_refuses_a_path_a_desktop_entry_cannot_name(tmp_path: Path) -> None:
    root = _unpacked(tmp_path, "price$5")
    home = tmp_path / "home"
    home.mkdir()
    run = _run_script(root, "install-desktop-entry.sh", home)
    assert run.returncode == 1 and "move this folder" in run.stderr
    assert not (home / ".local/share/applications/coscribe.desktop").exists()


def _job_step(name: str) -> str:
    """The text of one step of release.yml (from its ``- name:`` to the next)."""
    text = WORKFLOW.read_text()
    match = re.search(rf"\n      - name: {re.escape(name)}.*?(?=\n      - |\Z)", text, re.S)
    assert match is not None, name
    return match.group(0)


def test_release_workflow_builds_linux_on_the_oldest_system_it_claims() -> None:
    text = WORKFLOW.read_text()
    linux = re.search(r"- os: (\S+)\s*\n\s*kind: linux", text)
    assert linux is not None
    assert linux.group(1) == RUNNER_FOR_GLIBC[elfdeps.DECLARED_GLIBC]
    docs = (REPO / "docs" / "packaging.md").read_text()
    assert f"glibc {elfdeps.DECLARED_GLIBC}" in docs and "Ubuntu 22.04" in docs


def test_release_workflow_pins_inno_setup_6_3_or_newer() -> None:
    step = _job_step("Inno Setup 6")
    pinned = re.search(r"choco install innosetup --version=(\d+)\.(\d+)\.(\d+)", step)
    assert pinned is not None and tuple(map(int, pinned.groups()[:2])) >= (6, 3)
    assert "-lt [version]'6.3'" in step
    iss = (REPO / "packaging" / "windows" / "coscribe.iss").read_text()
    assert "ArchitecturesAllowed=x64compatible" in iss
    assert re.search(r"#if VER < EncodeVer\(6, 3, 0\)\s*\n\s*#error", iss)


def test_windows_smoke_test_can_fail() -> None:
    """Exit code 1 alone is also 'the window never became visible': the step must demand the
    'window shown' line, read from --report (the windowed exe has no stdout)."""
    step = _job_step("Smoke test (Windows")
    assert "'--report'" in step
    assert "'coscribe-self-test: window shown'" in step
    assert "FAILED: not connected" in step


def test_docs_name_the_pyside6_that_is_bundled() -> None:
    docs = (REPO / "docs" / "packaging.md").read_text()
    major_minor = ".".join(md.version("PySide6-Essentials").split(".")[:2])
    assert f"PySide6-Essentials {major_minor}" in docs or f"PySide6 {major_minor}" in docs
    assert "PySide6 6.12.0" not in docs


def test_ssl_hook_points_openssl_at_the_distributions_ca_bundle() -> None:
    """The bundled (Debian) OpenSSL looks in /usr/lib/ssl; on Fedora that is empty."""
    sys.path.insert(0, str(REPO / "packaging" / "rthooks"))
    import ssl_certs

    fedora = {"/etc/pki/tls/certs/ca-bundle.crt"}
    debian_paths = ("/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs")
    chosen = ssl_certs.choose_ca_bundle(
        *debian_paths, {}, is_file=fedora.__contains__, has_files=lambda d: False
    )
    assert chosen == "/etc/pki/tls/certs/ca-bundle.crt"
    # On Debian OpenSSL finds its own; a user's SSL_CERT_FILE/SSL_CERT_DIR always wins.
    debian = {"/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt"}
    assert ssl_certs.choose_ca_bundle(*debian_paths, {}, is_file=debian.__contains__) is None
    assert (
        ssl_certs.choose_ca_bundle(
            *debian_paths, {"SSL_CERT_DIR": "/x"}, is_file=fedora.__contains__
        )
        is None
    )
