#!/usr/bin/env bash
# Build the Coscribe desktop editor for Linux: a one-folder PyInstaller bundle, a .deb and a
# .tar.gz. One command, from the repository root:
#
#     packaging/build.sh            # -> dist/coscribe/, dist/coscribe_<v>_<arch>.deb,
#                                   #    dist/coscribe-<v>-linux-<machine>.tar.gz
#
# Environment: PYTHON (default .venv/bin/python, with `pip install -e .[editor]` done),
# COSCRIBE_DIST (output folder, default dist/), COSCRIBE_BUILD_DIR (scratch, default
# build/packaging), COSCRIBE_BUNDLE_STRIP=0 (keep unused Qt parts, to measure the saving),
# COSCRIBE_SKIP_DEB=1 (bundle and tarball only, e.g. on non-Debian hosts).
# Details and the Windows/macOS story: docs/packaging.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
dist=$(mkdir -p "${COSCRIBE_DIST:-$repo/dist}" && cd "${COSCRIBE_DIST:-$repo/dist}" && pwd)
work=$(mkdir -p "${COSCRIBE_BUILD_DIR:-$repo/build/packaging}" &&
       cd "${COSCRIBE_BUILD_DIR:-$repo/build/packaging}" && pwd)
export COSCRIBE_BUILD_DIR=$work
started=$SECONDS

say() { printf '==> %s\n' "$*"; }
size() { du -sh --apparent-size "$1" | cut -f1; }

if ! "$python" -c "import PySide6, qasync, pycrdt, websockets" 2>/dev/null; then
    echo "build.sh: $python lacks the editor's dependencies; run: pip install -e '.[editor]'" >&2
    exit 1
fi
if ! "$python" -m PyInstaller --version >/dev/null 2>&1; then
    say "installing PyInstaller into $("$python" -c 'import sys; print(sys.prefix)')"
    "$python" -m pip install --quiet "pyinstaller>=6.10,<7"
fi
version=$("$python" -c "import importlib.metadata as m; print(m.version('coscribe'))")
say "Coscribe $version, PyInstaller $("$python" -m PyInstaller --version)"

say "rendering icons from editor_app/resources/icons/coscribe.svg"
"$python" "$repo/packaging/render_icons.py" "$work/icons" >/dev/null

say "bundling with PyInstaller (one folder)"
rm -rf "$dist/coscribe"
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath "$dist" \
    --workpath "$work/pyinstaller" "$repo/packaging/coscribe.spec"
bundle=$dist/coscribe

say "checking the bundle's ELF files (glibc floor, unresolved libraries)"
if ! floor=$("$python" "$repo/packaging/elfdeps.py" check "$bundle"); then
    echo "build.sh: the bundle would not run where the documentation says it runs" >&2
    exit 1
fi
echo "needs glibc >= $floor"
"$python" "$repo/packaging/licenses.py" system "$bundle" >/dev/null

say "smoke test: the bundle opens a document on a real server (clean environment, offscreen)"
"$python" "$repo/packaging/smoke.py" "$bundle" "$work"

say "tar.gz"
tarball=$("$python" "$repo/packaging/archives.py" tarball "$bundle" "$dist" "$work/icons")
deb=""
if [ "${COSCRIBE_SKIP_DEB:-0}" != 1 ] && command -v dpkg-deb >/dev/null; then
    say ".deb"
    deb=$("$python" "$repo/packaging/archives.py" deb "$bundle" "$dist" "$work/icons")
fi

say "done in $((SECONDS - started)) s"
echo "bundle:  $bundle ($(size "$bundle"), glibc >= $floor)"
echo "tar.gz:  $tarball ($(size "$tarball"))"
[ -n "$deb" ] && echo "deb:     $deb ($(size "$deb"))"
exit 0
