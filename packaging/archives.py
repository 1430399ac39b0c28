"""Wrap a PyInstaller bundle of Coscribe as a Debian package and as a portable ``.tar.gz``.

Why Python and not a page of shell: the ``.deb``'s ``Depends`` line is *computed* (every
shared library the bundle links to that is not inside it, mapped to its Debian package with
``dpkg -S``), file modes must be exact for dpkg, and the tests reuse these functions.

    python packaging/archives.py deb    BUNDLE_DIR OUT_DIR ICONS_DIR
    python packaging/archives.py tarball BUNDLE_DIR OUT_DIR ICONS_DIR

Layout of the ``.deb`` (Filesystem Hierarchy Standard: self-contained add-on software goes
to /opt)::

    /opt/coscribe/                     the one-folder bundle (coscribe + _internal/)
    /usr/bin/coscribe -> /opt/coscribe/coscribe
    /usr/share/applications/coscribe.desktop   (MimeType=x-scheme-handler/coscribe)
    /usr/share/icons/hicolor/<N>x<N>/apps/coscribe.png, scalable/apps/coscribe.svg
    /usr/share/doc/coscribe/copyright

postinst/postrm refresh the desktop database (which registers the ``coscribe://`` handler)
and the icon cache when those tools are installed.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elfdeps  # noqa: E402  (packaging/elfdeps.py)

HERE = Path(__file__).resolve().parent
DESKTOP_FILE = HERE / "linux" / "coscribe.desktop"
METAINFO_FILE = HERE / "linux" / "org.coscribe.Coscribe.metainfo.xml"
ICON_SVG = HERE.parent / "editor_app" / "resources" / "icons" / "coscribe.svg"
PACKAGE = "coscribe"
MAINTAINER = "Coscribe developers <coscribe@localhost>"
#: Fonts the bundle takes from the system: without a CJK font Hangul/Chinese/Japanese show as
#: boxes, without an emoji font emoji do. Recommends (apt installs them by default), not
#: Depends: a user may prefer other fonts with the same coverage.
FONT_RECOMMENDS = "fonts-noto-cjk | fonts-nanum, fonts-noto-color-emoji"
#: Spell check: Enchant (pyenchant, bundled, loads the system's libenchant-2) and the
#: English and Korean Hunspell dictionaries. Recommends, not Depends: without them the
#: editor runs and View ▸ Spell check says why it is unavailable.
SPELL_RECOMMENDS = "libenchant-2-2, hunspell-en-us, hunspell-ko"

POSTINST = """#!/bin/sh
# Register coscribe.desktop (and with it the coscribe:// link handler) and the icons.
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

INSTALL_SH = r"""#!/bin/sh
# Install this unpacked Coscribe for the current user: a menu entry, the icon, and the
# coscribe:// link handler. The program stays in this folder; run ./uninstall-desktop-entry.sh
# to undo. Nothing here needs root.
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
case "$here" in
    *[\"\`\$\\%]*)
        echo "install-desktop-entry.sh: move this folder to a path without \" \` \$ \\ or %" \
             "characters (a desktop entry cannot name it): $here" >&2
        exit 1 ;;
    *[!A-Za-z0-9/._+-]*)
        # Quoted, as the desktop entry specification says. Desktops (GIO, KDE) run it; plain
        # xdg-open 1.1.x without a desktop environment splits it at the spaces.
        program="\"$here/coscribe\""
        echo "note: this folder's path has spaces or special characters; coscribe:// links" \
             "opened by plain xdg-open (no desktop environment) need a path without them." >&2 ;;
    *)
        program="$here/coscribe" ;;  # unquoted: every launcher, xdg-open 1.1.x too
esac
mkdir -p "$data/applications"
while IFS= read -r line; do
    case "$line" in
        Exec=*) printf 'Exec=%s %%u\n' "$program" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < "$here/share/coscribe.desktop" > "$data/applications/coscribe.desktop"
for png in "$here"/share/icons/coscribe-*.png; do
    size=$(basename "$png" .png | sed 's/coscribe-//')
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$data/icons/hicolor/${size}x${size}/apps/coscribe.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$here/share/icons/coscribe.svg" "$data/icons/hicolor/scalable/apps/coscribe.svg"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data/applications" || true
fi
if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default coscribe.desktop x-scheme-handler/coscribe || true
fi
echo "Installed the Coscribe menu entry and the coscribe:// link handler for ${USER:-you}."
"""

UNINSTALL_SH = r"""#!/bin/sh
# Undo install-desktop-entry.sh: the menu entry, the icons and the coscribe:// handler.
set -e
data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
rm -f "$data/applications/coscribe.desktop" "$data"/icons/hicolor/*/apps/coscribe.png \
    "$data/icons/hicolor/scalable/apps/coscribe.svg"
# xdg-mime wrote "x-scheme-handler/coscribe=coscribe.desktop" into mimeapps.list (the
# second path is where older xdg-utils and desktops kept it); remove only that line.
for list in "$config/mimeapps.list" "$data/applications/mimeapps.list"; do
    if [ -f "$list" ] && grep -q '^x-scheme-handler/coscribe=' "$list"; then
        sed '/^x-scheme-handler\/coscribe=coscribe\.desktop;*$/d' "$list" > "$list.tmp"
        cat "$list.tmp" > "$list" && rm -f "$list.tmp"
    fi
done
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data/applications" || true
fi
echo "Removed the Coscribe menu entry and the coscribe:// link handler."
"""


def version() -> str:
    return md.version(PACKAGE)


def deb_arch() -> str:
    try:
        return subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def system_libraries(bundle: Path) -> set[Path]:
    """Shared libraries the bundle links to directly and loads from the system (resolved like
    at run time: the PyInstaller bootloader puts ``_internal`` first on the library path).
    Only direct links (DT_NEEDED): the libraries *those* need are their packages' business."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(bundle / "_internal"))
    inside = str(bundle.resolve())
    libs: set[Path] = set()
    for elf in elfdeps.elf_files(bundle):
        direct = set(elfdeps.needed_libraries(elf))
        out = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env).stdout
        for match in re.finditer(r"^\s*(\S+)\s+=>\s+(/\S+)", out, re.MULTILINE):
            path = Path(match.group(2)).resolve()
            if match.group(1) in direct and not str(path).startswith(inside):
                libs.add(path)
    return libs


def debian_dependencies(bundle: Path) -> list[str]:
    """The Debian packages providing :func:`system_libraries`, ``libc6 (>= x.y)`` first with
    the glibc version the bundle's ELF files really need (:func:`elfdeps.glibc_floor`)."""
    packages: set[str] = set()
    for lib in system_libraries(bundle):
        candidates = {str(lib), str(lib).replace("/usr/lib/", "/lib/", 1)}
        candidates.add(str(lib).replace("/lib/", "/usr/lib/", 1))
        for candidate in sorted(candidates):
            found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if found.returncode == 0:
                owner = found.stdout.splitlines()[0].rpartition(": ")[0]
                packages.update(p.strip().split(":")[0] for p in owner.split(","))
                break
        else:
            print(f"warning: no Debian package owns {lib}", file=sys.stderr)
    packages.discard("libc6")
    return [f"libc6 (>= {elfdeps.glibc_floor(bundle)})", *sorted(packages)]


def _installed_size_kib(root: Path) -> int:
    total = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    return (total + 1023) // 1024


def _copy_icons(icons: Path, hicolor: Path) -> None:
    for png in sorted(icons.glob("coscribe-*.png")):
        size = png.stem.split("-")[-1]
        target = hicolor / f"{size}x{size}" / "apps" / "coscribe.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
    scalable = hicolor / "scalable" / "apps" / "coscribe.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICON_SVG, scalable)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def _normalise_modes(root: Path) -> None:
    """dpkg and lintian want 0755 directories/executables and 0644 files, owned by root
    (``dpkg-deb --root-owner-group`` sets the owner)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(0o755 if executable else 0o644)


def build_deb(bundle: Path, out_dir: Path, icons: Path) -> Path:
    """Build ``coscribe_<version>_<arch>.deb`` from the one-folder ``bundle``.

    Compressed with xz (35 MB, ~80 s on 2 cores); ``COSCRIBE_DEB_COMPRESSION=gzip`` or
    ``none`` trades size for speed (the build test uses ``none``).
    """
    compression = os.environ.get("COSCRIBE_DEB_COMPRESSION", "xz")
    ver, arch = version(), deb_arch()
    out_dir.mkdir(parents=True, exist_ok=True)
    depends = debian_dependencies(bundle)
    with tempfile.TemporaryDirectory(prefix="coscribe-deb-") as tmp:
        root = Path(tmp) / "root"
        shutil.copytree(bundle, root / "opt" / "coscribe", symlinks=True)
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "bin" / "coscribe").symlink_to("/opt/coscribe/coscribe")
        applications = root / "usr" / "share" / "applications"
        applications.mkdir(parents=True)
        shutil.copyfile(DESKTOP_FILE, applications / "coscribe.desktop")
        metainfo = root / "usr" / "share" / "metainfo"
        metainfo.mkdir(parents=True)
        shutil.copyfile(METAINFO_FILE, metainfo / METAINFO_FILE.name)
        _copy_icons(icons, root / "usr" / "share" / "icons" / "hicolor")
        _write(
            root / "usr" / "share" / "doc" / PACKAGE / "copyright",
            "Coscribe: MIT license.\nBundled components and their licenses: "
            "/opt/coscribe/_internal/licenses/README.txt\n",
        )
        _normalise_modes(root)
        control = "\n".join(
            [
                f"Package: {PACKAGE}",
                f"Version: {ver}",
                "Section: editors",
                "Priority: optional",
                f"Architecture: {arch}",
                f"Maintainer: {MAINTAINER}",
                f"Installed-Size: {_installed_size_kib(root)}",
                f"Depends: {', '.join(depends)}",
                f"Recommends: {FONT_RECOMMENDS}, {SPELL_RECOMMENDS}, xdg-desktop-portal",
                "Description: real-time collaborative document editor",
                " Coscribe lets several people write one document at the same time, online",
                " or offline, through a self-hosted relay server that speaks the Yjs",
                " (y-websocket) protocol. This package ships the desktop editor as a",
                " self-contained bundle in /opt/coscribe and opens coscribe:// links.",
                "",
            ]
        )
        _write(root / "DEBIAN" / "control", control)
        _write(root / "DEBIAN" / "postinst", POSTINST, 0o755)
        _write(root / "DEBIAN" / "postrm", POSTRM, 0o755)
        target = out_dir / f"{PACKAGE}_{ver}_{arch}.deb"
        subprocess.run(
            [
                "dpkg-deb",
                "--root-owner-group",
                f"-Z{compression}",
                "--build",
                str(root),
                str(target),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


def build_tarball(bundle: Path, out_dir: Path, icons: Path) -> Path:
    """Build ``coscribe-<version>-linux-<machine>.tar.gz``: the bundle plus the .desktop
    entry, icons and a per-user install script (no root needed)."""
    ver = version()
    out_dir.mkdir(parents=True, exist_ok=True)
    top = f"coscribe-{ver}"
    target = out_dir / f"{top}-linux-{platform.machine()}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="coscribe-tar-") as tmp:
        extra = Path(tmp)
        share = extra / "share"
        (share / "icons").mkdir(parents=True)
        shutil.copyfile(DESKTOP_FILE, share / "coscribe.desktop")
        for png in sorted(icons.glob("coscribe-*.png")):
            shutil.copyfile(png, share / "icons" / png.name)
        shutil.copyfile(ICON_SVG, share / "icons" / "coscribe.svg")
        _write(extra / "install-desktop-entry.sh", INSTALL_SH, 0o755)
        _write(extra / "uninstall-desktop-entry.sh", UNINSTALL_SH, 0o755)

        def reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        with tarfile.open(target, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=top, filter=reset)
            for item in sorted(extra.iterdir()):
                tar.add(item, arcname=f"{top}/{item.name}", filter=reset)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in ("deb", "tarball"):
        print("usage: archives.py deb|tarball BUNDLE_DIR OUT_DIR ICONS_DIR", file=sys.stderr)
        return 2
    build = build_deb if argv[0] == "deb" else build_tarball
    print(build(Path(argv[1]), Path(argv[2]), Path(argv[3])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
