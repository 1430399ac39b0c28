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

#: Licences of bundled system libraries whose Debian copyright file is not machine-readable
#: (DEP-5), read by hand. A bundled library found neither here nor in a DEP-5 file fails the
#: build: somebody must look at its licence before it ships.
SYSTEM_LICENSES = {
    "libxkbcommon0": "MIT",
    "libxkbcommon-x11-0": "MIT",
}
#: Copyleft that would extend to Coscribe itself if a library under it were bundled (GNU
#: readline, for instance). LGPL is fine: it is matched separately.
_STRONG_COPYLEFT = re.compile(r"(?<![L])GPL|AGPL", re.IGNORECASE)


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


def python_license_file() -> Path:
    """Python's own licence text: ``Lib/LICENSE.txt`` on Linux/macOS builds, but the Windows
    installer keeps it as ``LICENSE.txt`` beside ``python.exe`` and Debian's python3 as
    ``/usr/share/doc/python3.X/copyright``. Raises FileNotFoundError (the build must not ship
    Python without its licence)."""
    short = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt",
        Path(sys.base_prefix) / "LICENSE.txt",
        Path(sys.base_prefix) / "LICENSE",
        Path(sys.base_prefix) / "share" / "doc" / short / "copyright",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "Python's licence text was not found; looked at: " + ", ".join(map(str, candidates))
    )


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
    target = dest / f"Python-{sys.version.split()[0]}" / "LICENSE.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(python_license_file(), target)
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


def _dep5_main_license(text: str) -> str | None:
    """The licence of ``Files: *`` in a machine-readable Debian copyright file (the upstream
    code's; other paragraphs cover debian/ or build scripts), or None."""
    if not text.startswith("Format:"):
        return None
    for paragraph in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", paragraph, re.MULTILINE))
        if fields.get("Files", "").split()[:1] == ["*"] and fields.get("License"):
            return fields["License"].strip()
    return None


def _owning_packages(names: set[str]) -> dict[str, str]:
    """Library file name -> Debian package that installed it (one ``dpkg -S`` call)."""
    found = subprocess.run(  # one call for all: dpkg -S is slow to start
        ["dpkg", "-S", *(f"*/{name}" for name in sorted(names))],
        capture_output=True,
        text=True,
        check=False,
    )
    owners: dict[str, str] = {}
    for line in found.stdout.splitlines():  # "libffi8:amd64: /usr/lib/.../libffi.so.8"
        owner, _, path = line.rpartition(": ")
        name = Path(path).name
        if name in names and "-dev" not in owner and name not in owners:
            owners[name] = owner.split(",")[0].strip().split(":")[0]
    return owners


def library_licenses(bundle: Path) -> list[tuple[str, str, str]]:
    """Every shared library and extension module in ``bundle`` (Linux): its path inside the
    bundle, the component it belongs to and that component's licence. A library whose licence
    is unknown gets ``UNKNOWN``."""
    internal = bundle / "_internal"
    by_path: dict[str, tuple[str, str]] = {}
    for dist in bundled_distributions():
        name = str(dist.metadata["Name"])
        for f in dist.files or []:
            by_path[str(f)] = (f"{name} {dist.version}", license_name(dist))
    python = (f"Python {sys.version.split()[0]}", "PSF-2.0")
    rows: list[tuple[str, str, str]] = []
    system: list[Path] = []
    libraries = sorted(
        p for p in internal.rglob("*") if p.is_file() and not p.is_symlink() and ".so" in p.name
    )
    for lib in libraries:
        rel = lib.relative_to(internal).as_posix()
        if lib.name.startswith("libicu"):
            rows.append((rel, "ICU (bundled with Qt)", "Unicode-3.0"))
        elif rel in by_path:
            component, license = by_path[rel]
            if component.startswith(("PySide6", "shiboken6")):
                license = "LGPL-3.0-only"  # the option this bundle uses (QT-LGPL-NOTICE.txt)
            rows.append((rel, component, license))
        elif lib.name.startswith("libpython") or rel.startswith("python3"):
            rows.append((rel, *python))
        else:
            system.append(lib)
    owners = _owning_packages({lib.name for lib in system}) if shutil.which("dpkg") else {}
    for lib in system:
        package = owners.get(lib.name)
        license = None
        if package:
            copyright_file = Path("/usr/share/doc") / package / "copyright"
            if copyright_file.is_file():
                license = _dep5_main_license(copyright_file.read_text(errors="replace"))
            license = SYSTEM_LICENSES.get(package, license)
        rows.append(
            (
                lib.relative_to(internal).as_posix(),
                f"Debian package {package}" if package else "unknown origin",
                license or "UNKNOWN",
            )
        )
    return rows


def collect_system(bundle: Path, dest: Path) -> list[str]:
    """Debian copyright files of the system libraries inside ``bundle`` (dpkg hosts only), and
    the list of every bundled library with its licence appended to ``README.txt``.

    PyInstaller copies shared libraries that are not part of the Python or PySide6
    distributions (libffi, libssl, libxcb-icccm, ...) from the build host; their licenses
    come with the Debian package they were installed from. Returns the package names.
    Raises SystemExit if a library's licence is unknown or strong copyleft (GPL).
    """
    rows = library_licenses(bundle)
    packages = sorted({c.split()[-1] for _, c, _ in rows if c.startswith("Debian package")})
    for package in packages:
        source = Path("/usr/share/doc") / package / "copyright"
        if source.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / f"{package}.copyright")
    width = max(len(path) for path, _, _ in rows)
    lines = ["", "Shared libraries in this bundle (path inside _internal, component, licence):"]
    lines += [f"  {path:<{width}}  {component}: {license}" for path, component, license in rows]
    readme = bundle / "_internal" / "licenses" / "README.txt"
    with readme.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    bad = [
        f"{path} ({component}): {license}"
        for path, component, license in rows
        if license == "UNKNOWN" or (_STRONG_COPYLEFT.search(license) and "LGPL" not in license)
    ]
    if bad:
        raise SystemExit(
            "licenses.py: these bundled libraries have an unknown or GPL licence; exclude them "
            "or review them (SYSTEM_LICENSES):\n  " + "\n  ".join(bad)
        )
    return packages


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
