# Sourced by scripts/test and scripts/up: make .venv with EstateWatch installed in it.
# Idempotent and quick when nothing changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

apt_install() {
  # Install Debian packages that are missing; `apt-get update` only when something is.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_python() {
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "EstateWatch needs Python 3.11 or newer as python3" >&2
    exit 1
  fi
  python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null \
    || apt_install python3-venv
}

ensure_venv() {
  # $1: the extras to install, e.g. "dev"
  ensure_python
  local extras="${1:-}"
  local stamp="$VENV/.installed-$extras"
  # A venv left half-made by an interrupted run has a python but no pip: make it anew.
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -f "$VENV"/.installed-*
    python3 -m venv --clear "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing EstateWatch into .venv"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    if [ -n "$extras" ]; then
      "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
    else
      "$VENV/bin/python" -m pip install -q -e "$ROOT"
    fi
    touch "$stamp"
  fi
}
