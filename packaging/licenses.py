"""Collect the license texts of everything a Coscribe bundle ships into one ``licenses/`` folder.

Why: a binary bundle redistributes Python, Qt/PySide6 (LGPL-3.0) and a handful of
permissively licensed libraries; every one of those licenses requires its text (and
copyright notice) to travel with the binaries. The texts come from the installed
distributions' metadata (``*.dist-info/licenses/...``), so they always match the versions
that were bundled. PySide6's wheels ship no license file, so the LGPL/GPL texts and a note
on how the bundle complies are kept in ``packaging/licenses/``. On Debian-like build hosts,
:func:`collect_system` adds the Debian copyright file of each system library PyInstaller
copied into the bundle (libxcb-*, libffi, libssl, ...).

Used by ``coscribe.spec`` (all platforms) and ``build.sh`` (Linux system libraries)::

    python packaging/licenses.py system dist/coscribe
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE / "licenses"

#: Top-level distribution whose (non-extra + "editor" extra) requirements make up the bundle.
ROOT = "coscribe"
EXTRAS = ("editor",)
_LICENSE_FILE = re.compile(r"(^|/)(licen[cs]e|copying|notice|authors)[^/]*$", re.IGNORECASE)
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def bundled_distributions(
    root: str = ROOT, extras: tuple[str, ...] = EXTRAS
) -> list[md.Distribution]:
    """``root`` and its runtime requirements, recursively (markers evaluated for this Python)."""
    from packaging.requirements import Requirement  # shipped with pip/setuptools/pyinstaller

    seen: dict[str, md.Distribution] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = _normalise(name)
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency that is not installed is not bundled either
        seen[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, tuple(req.extras)))
    return sorted(seen.values(), key=lambda d: _normalise(d.metadata["Name"]))


def license_name(dist: md.Distribution) -> str:
    """The SPDX expression, else the License field, else the classifier."""
    meta = dist.metadata
    expression = meta["License-Expression"]  # None when absent
    if expression:
        return str(expression)
    text = str(meta["License"] or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return text
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License ::"):
            return str(classifier).split("::")[-1].strip()
    return "see the license file"


def collect(dest: Path) -> list[Path]:
    """Write every bundled distribution's license files, Python's license and the static
    Qt notices into ``dest``; returns the files written."""
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index = ["Licenses of the components bundled with Coscribe", "=" * 50, ""]
    for dist in bundled_distributions():
        name, version = dist.metadata["Name"], dist.version
        folder = dest / f"{name}-{version}"
        files = [f for f in dist.files or [] if _LICENSE_FILE.search(str(f))]
        for f in files:
            source = Path(str(dist.locate_file(f)))
            if source.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / source.name
                shutil.copyfile(source, target)
                written.append(target)
        note = "" if files else "  (no license file in the wheel; see below)"
        index.append(f"{name} {version}: {license_name(dist)}{note}")
    python_license = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if python_license.is_file():
        target = dest / f"Python-{sys.version.split()[0]}" / "LICENSE.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(python_license, target)
        written.append(target)
        index.append(f"Python {sys.version.split()[0]} (interpreter and standard library): PSF-2.0")
    for source in sorted(STATIC.glob("*.txt")):
        target = dest / "Qt" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    index += [
        "",
        "Qt 6 / PySide6 / Shiboken6: LGPL-3.0-only; see Qt/QT-LGPL-NOTICE.txt for how this",
        "bundle complies (dynamic linking, replaceable shared libraries, source offer).",
        "system/: Debian copyright files of system libraries copied into the bundle (Linux).",
    ]
    readme = dest / "README.txt"
    readme.write_text("\n".join(index) + "\n", encoding="utf-8")
    written.append(readme)
    return written


def collect_system(bundle: Path, dest: Path) -> list[str]:
    """Debian copyright files of the system libraries inside ``bundle`` (dpkg hosts only).

    PyInstaller copies shared libraries that are not part of the Python or PySide6
    distributions (libffi, libssl, libxcb-icccm, ...) from the build host; their licenses
    come with the Debian package they were installed from. Returns the package names.
    """
    if shutil.which("dpkg") is None:
        return []
    libs = {
        lib.name
        for lib in bundle.rglob("*.so*")
        if lib.is_file()
        and "PySide6" not in lib.parts
        and "shiboken6" not in lib.parts
        # libpython and the interpreter's own extension modules: covered by Python's license
        and not lib.name.startswith("libpython")
        and "cpython-" not in lib.name
    }
    if not libs:
        return []
    found = subprocess.run(  # one call for all: dpkg -S is slow to start
        ["dpkg", "-S", *(f"*/{name}" for name in sorted(libs))],
        capture_output=True,
        text=True,
        check=False,
    )
    packages: set[str] = set()
    for line in found.stdout.splitlines():  # "libffi8:amd64: /usr/lib/.../libffi.so.8"
        owner, _, path = line.rpartition(": ")
        if Path(path).name in libs and "-dev" not in owner:
            packages.update(p.strip().split(":")[0] for p in owner.split(","))
    for package in sorted(packages):
        source = Path("/usr/share/doc") / package / "copyright"
        if source.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / f"{package}.copyright")
    return sorted(packages)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "collect":
        for path in collect(Path(argv[1])):
            print(path)
        return 0
    if len(argv) == 2 and argv[0] == "system":
        bundle = Path(argv[1])
        packages = collect_system(bundle, bundle / "_internal" / "licenses" / "system")
        print(" ".join(packages))
        return 0
    print("usage: licenses.py collect DEST | system BUNDLE_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
