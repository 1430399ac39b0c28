"""Build ``coscribe-server_<version>_<arch>.deb``: the relay server as a Debian service.

No Qt and no bundled interpreter: the server runs on the system's ``python3`` (3.11 or
newer: Debian 12, Ubuntu 24.04) with its Python dependencies (pycrdt, websockets,
platformdirs, ...) installed into a private directory, so they never clash with the
system's Python packages. Layout::

    /usr/lib/coscribe-server/          coscribe (shared, sync_server) and its dependencies
    /usr/bin/coscribe-server           launcher: python3 -m sync_server with that PYTHONPATH
    /lib/systemd/system/coscribe-server.service   deploy/coscribe-server.service, ExecStart
                                       pointed at /usr/bin/coscribe-server
    /etc/coscribe/server.env           settings (COSCRIBE_* variables; a conffile)
    /var/lib/coscribe/                 documents, owned by the system user ``coscribe`` (0750)

postinst creates the ``coscribe`` system user and group and the data directory, and enables
and starts the unit where systemd runs (it listens on 127.0.0.1:1234 until configured).
Purging the package keeps ``/var/lib/coscribe`` (the documents) and the user.

    python packaging/server_deb.py OUT_DIR            (needs pip access to PyPI or its cache)
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import archives  # noqa: E402
import elfdeps  # noqa: E402

PACKAGE = "coscribe-server"
LIB = "/usr/lib/coscribe-server"
UNIT = REPO / "deploy" / "coscribe-server.service"
DEPLOY_EXEC = "ExecStart=/opt/coscribe/bin/coscribe-server serve"
PACKAGE_EXEC = "ExecStart=/usr/bin/coscribe-server serve"

LAUNCHER = f"""#!/bin/sh
# coscribe-server from the coscribe-server package: the system's python3 with the server's
# own copy of its dependencies ({LIB}); user site-packages are ignored.
PYTHONPATH={LIB}${{PYTHONPATH:+:$PYTHONPATH}} PYTHONNOUSERSITE=1 \\
    exec /usr/bin/python3 -m sync_server "$@"
"""

SERVER_ENV = """# Settings of the Coscribe relay server (coscribe-server.service reads this file).
# One VARIABLE=value per line; every command-line option has one (coscribe-server serve
# --help shows them). The data directory is /var/lib/coscribe.
#
# Listen on all interfaces (the default is 127.0.0.1; put TLS in front, see docs/deploy.md):
#COSCRIBE_HOST=0.0.0.0
#COSCRIBE_PORT=1234
# Require signed access tokens (create the secret with: openssl rand -base64 32):
#COSCRIBE_SECRET_FILE=/etc/coscribe/secret
"""

POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if ! getent passwd coscribe >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/coscribe --no-create-home \\
            --shell /usr/sbin/nologin --comment "Coscribe relay server" coscribe
    fi
    install -d -o coscribe -g coscribe -m 0750 /var/lib/coscribe
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable coscribe-server.service || true
        systemctl restart coscribe-server.service || true
    fi
fi
exit 0
"""

PRERM = """#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
    systemctl disable --now coscribe-server.service || true
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
# The documents in /var/lib/coscribe and the coscribe user are kept, also on purge.
exit 0
"""


def packaged_unit() -> str:
    """deploy/coscribe-server.service with ExecStart pointing at the packaged launcher."""
    text = UNIT.read_text()
    if DEPLOY_EXEC not in text:
        raise SystemExit(f"server_deb.py: {UNIT} has no line {DEPLOY_EXEC!r}")
    lines = [
        "# Installed by the coscribe-server package; settings go in /etc/coscribe/server.env.",
        *(
            line
            for line in text.replace(DEPLOY_EXEC, PACKAGE_EXEC).splitlines()
            if not line.startswith("#   ")  # the manual-install commands of deploy/
        ),
    ]
    return "\n".join(lines) + "\n"


def _install_python_packages(target: Path) -> None:
    """``pip install --target`` of this source tree (a copy: building in place would write
    build/ into the repository), without the editor extra."""
    with tempfile.TemporaryDirectory(prefix="coscribe-src-") as tmp:
        source = Path(tmp)
        for item in ("pyproject.toml", "README.md"):
            shutil.copy(REPO / item, source / item)
        for package in ("shared", "sync_server", "editor_app"):
            shutil.copytree(
                REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(target),
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            raise SystemExit(f"server_deb.py: pip install failed:\n{install.stderr[-3000:]}")
    shutil.rmtree(target / "bin", ignore_errors=True)  # entry points with the build's python
    shutil.rmtree(target / "editor_app", ignore_errors=True)  # the Qt editor: not a server's


def build(out_dir: Path) -> Path:
    version = md.version("coscribe")
    arch = archives.deb_arch()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coscribe-server-deb-") as tmp:
        root = Path(tmp) / "root"
        lib = root / LIB.lstrip("/")
        _install_python_packages(lib)
        archives._write(root / "usr/bin/coscribe-server", LAUNCHER, 0o755)
        archives._write(root / "lib/systemd/system/coscribe-server.service", packaged_unit())
        archives._write(root / "etc/coscribe/server.env", SERVER_ENV)
        archives._write(
            root / "usr/share/doc" / PACKAGE / "copyright",
            "Coscribe: MIT license. Python packages in /usr/lib/coscribe-server: see their "
            "*.dist-info folders (pycrdt MIT, websockets BSD-3-Clause, platformdirs MIT, ...).\n",
        )
        archives._normalise_modes(root)
        floor = elfdeps.glibc_floor(lib)
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        control = "\n".join(
            [
                f"Package: {PACKAGE}",
                f"Version: {version}",
                "Section: net",
                "Priority: optional",
                f"Architecture: {arch}",  # pycrdt is a compiled extension
                f"Maintainer: {archives.MAINTAINER}",
                f"Installed-Size: {archives._installed_size_kib(root)}",
                f"Depends: libc6 (>= {floor}), python3 (>= {python}), passwd",
                "Description: Coscribe relay server (real-time document sync)",
                " The self-hosted server of the Coscribe collaborative editor: it relays",
                " Yjs (y-websocket protocol) document updates between editors and keeps the",
                " documents in /var/lib/coscribe. Runs as the coscribe system user under",
                " systemd (coscribe-server.service); settings in /etc/coscribe/server.env.",
                "",
            ]
        )
        archives._write(root / "DEBIAN/control", control)
        archives._write(root / "DEBIAN/conffiles", "/etc/coscribe/server.env\n")
        archives._write(root / "DEBIAN/postinst", POSTINST, 0o755)
        archives._write(root / "DEBIAN/prerm", PRERM, 0o755)
        archives._write(root / "DEBIAN/postrm", POSTRM, 0o755)
        target = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(target)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: server_deb.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    print(build(Path(sys.argv[1])))
