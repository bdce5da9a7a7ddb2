#!/usr/bin/env bash
# Create .venv and install the pinned requirements, once per change of the pins.
#   scripts/install.sh          runtime requirements
#   scripts/install.sh --dev    runtime + test/lint requirements
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "socapp needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
    echo "Install it (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

files=(requirements.txt)
[[ "${1:-}" == "--dev" ]] && files+=(requirements-dev.txt)

if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv || {
        echo "Could not create a virtual environment. On Debian: apt-get install python3-venv" >&2
        exit 1
    }
fi

stamp=".venv/.installed-$(cat "${files[@]}" | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
    echo "==> installing ${files[*]}"
    args=()
    for f in "${files[@]}"; do args+=(-r "$f"); done
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
