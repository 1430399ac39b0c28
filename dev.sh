#!/usr/bin/env bash
# Coscribe developer entry point. Sets up whatever is missing, then:
#   ./dev.sh run     start the relay server (embedded SQLite storage) and the editor on it
#   ./dev.sh test    lint, then run the whole test suite (what CI runs)
#   ./dev.sh lint    only the fast checks: ruff, ruff format, mypy --strict, import contracts
#   ./dev.sh setup   only install what is missing
# Idempotent: a second run skips every install that is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.coscribe-installed"

say() { printf '\033[1m[coscribe]\033[0m %s\n' "$*" >&2; }
die() { printf '[coscribe] error: %s\n' "$*" >&2; exit 1; }

# Debian packages: Qt's runtime libraries and fonts (Hangul, emoji), Enchant with the
# English and Korean Hunspell dictionaries (spell check; optional at runtime), Xvfb +
# xdotool + screenshot tools for the GUI tests, Node.js for the Yjs interop tests.
APT_RUNTIME=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libglib2.0-0 fonts-dejavu-core fonts-nanum fonts-noto-color-emoji libxcb-icccm4
  libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-shape0
  libxcb-xinerama0 libxcb-xkb1 libxcb-cursor0 libenchant-2-2 hunspell-en-us hunspell-ko)
APT_TEST=(xvfb xauth xdotool x11-apps imagemagick redis-server postgresql desktop-file-utils appstream xdg-utils weston chromium
  nginx-light tinyproxy)  # the last two: the network tests start their own (tests/e2e/network_processes.py)

missing_debs() {
  local p out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

apt_install() {
  command -v dpkg-query >/dev/null || { say "not a Debian system: install the equivalents of: $*"; return 0; }
  local need; need="$(missing_debs "$@")"
  [ -z "$need" ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      say "please install (as root): apt-get install -y $need"; return 0; fi
  fi
  say "installing system packages: $need"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
}

python_setup() {
  command -v python3 >/dev/null || die "python3 (3.11 or newer) is required"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is required (found $(python3 --version))"
  [ -x "$PY" ] || { say "creating virtual environment in .venv"; python3 -m venv "$VENV"; }
  local want; want="$(sha1sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    say "installing Python packages (editor, server, tests)"
    "$PY" -m pip install -q --upgrade pip >/dev/null
    "$PY" -m pip install -q -e ".[editor,test,dev,cluster]"
    echo "$want" > "$STAMP"
  fi
}

node_setup() {
  command -v node >/dev/null || apt_install nodejs npm
  command -v node >/dev/null || die "Node.js is required for the Yjs interop tests"
  local dir="tests/interop/node"
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
    say "installing npm packages for the interop tests"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

cmd_setup() {
  apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}"
  python_setup
  node_setup
}

cmd_lint() {
  # Fast checks first, so a style or layering slip fails in seconds, not after the suite.
  say "lint: ruff, ruff format, mypy --strict, import contracts"
  "$VENV/bin/ruff" check --quiet .
  "$VENV/bin/ruff" format --check --quiet .
  "$VENV/bin/mypy" --no-error-summary shared sync_server editor_app
  "$VENV/bin/lint-imports" --no-cache >/dev/null
}

cmd_test() {
  cmd_setup
  cmd_lint
  say "running the test suite"
  exec "$PY" -m pytest "$@"
}

stop_server() {
  if [ -n "${SERVER_PID:-}" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}

cmd_run() {
  apt_install "${APT_RUNTIME[@]}"
  python_setup
  local port="${COSCRIBE_PORT:-1234}"
  # Global, not local: the EXIT trap runs after this function has returned.
  SERVER_PID=""
  if "$PY" - "$port" <<'PYCHECK'
import socket, sys
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PYCHECK
  then
    say "a server is already listening on port $port; using it"
  else
    say "starting coscribe-server on ws://127.0.0.1:$port (embedded SQLite storage)"
    "$VENV/bin/coscribe-server" --port "$port" &
    SERVER_PID=$!
    trap stop_server EXIT
    for _ in $(seq 1 100); do
      curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
      kill -0 "$SERVER_PID" 2>/dev/null || die "the server did not start (see its error above)"
      sleep 0.1
    done
  fi
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    say "no display found: the editor needs a desktop session (or set QT_QPA_PLATFORM)"
    say "the server keeps running; press Ctrl+C to stop it"
    wait "$SERVER_PID"
    return
  fi
  say "starting the editor"
  "$VENV/bin/coscribe" --server "ws://127.0.0.1:$port" "$@"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  setup) shift; cmd_setup ;;
  lint) shift; python_setup; cmd_lint ;;
  *) echo "usage: ./dev.sh run | test [pytest args] | lint | setup" >&2; exit 2 ;;
esac
