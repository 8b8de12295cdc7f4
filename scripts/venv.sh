#!/usr/bin/env bash
# Creates the virtual environment VENV on Python 3.14 (see python314.sh) with pip, unless it already runs.
# Usage: scripts/venv.sh VENV
set -euo pipefail
venv=${1:?usage: venv.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
  exit 0
fi
python=$("$here/python314.sh" "${PY314_PREFIX:-$here/../.python314}")
rm -rf "$venv"
"$python" -m venv --without-pip "$venv"
# Debian's ensurepip looks for its wheels in the host's folder; bootstrap pip from the interpreter's own wheel,
# or from ensurepip where the interpreter is not Debian's.
wheel=$(ls "$(dirname "$python")"/../share/python-wheels/pip-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$wheel" ]; then
  "$venv/bin/python" "$wheel/pip" install --quiet --no-index --root-user-action=ignore "$wheel"
else
  "$venv/bin/python" -m ensurepip --upgrade >/dev/null
fi
"$venv/bin/python" -m pip --version
