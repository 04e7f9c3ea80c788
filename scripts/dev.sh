#!/usr/bin/env bash
# roomscope's one entry point for setting up and running from a checkout.
#
#   scripts/dev.sh run [ARGS...]   set up, then start roomscope (the window on a sample room)
#   scripts/dev.sh test [PYTEST ARGS...]
#                                  set up, then lint, type-check and run the whole test suite
#   scripts/dev.sh setup           only set up
#
# Set-up is idempotent and quick when nothing changed: the Debian packages Qt
# needs (installed with apt-get, through sudo when not root), a virtual
# environment in .venv, and roomscope with its test tools installed into it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOMSCOPE_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

# What Qt (PySide6) needs at run time on Debian 12, plus venv and a font.
DEBIAN_PACKAGES=(
    python3-venv python3-pip
    libegl1 libgl1 libopengl0 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4
    libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
    libxcb-xfixes0 libxcb-xkb1 libxcb-xinerama0 libxcb-sync1 libxcb-shm0 libxrender1
    fonts-dejavu-core
)

log() { printf 'roomscope setup: %s\n' "$*" >&2; }

install_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { log "not Debian: skipping system packages"; return; }
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing Debian packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

setup_venv() {
    local stamp="$VENV/.roomscope-installed"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the project's dependencies changed.
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        log "installing roomscope and its test tools into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
        touch "$stamp"
    fi
}

setup() {
    install_debian_packages
    setup_venv
}

run_tests() {
    cd "$ROOT"
    export QT_QPA_PLATFORM=offscreen
    echo "== ruff check"
    "$VENV/bin/ruff" check app tests tools benchmarks scripts
    echo "== ruff format --check"
    "$VENV/bin/ruff" format --check app tests tools benchmarks scripts
    echo "== mypy --strict app"
    "$VENV/bin/mypy" --strict app
    echo "== pytest"
    "$VENV/bin/python" -m pytest "$@"
}

cmd="${1:-run}"
shift || true
case "$cmd" in
    setup) setup ;;
    run) setup; exec "$VENV/bin/roomscope" "$@" ;;
    test) setup; run_tests "$@" ;;
    *) echo "usage: scripts/dev.sh run|test|setup [ARGS...]" >&2; exit 2 ;;
esac
