#!/usr/bin/env bash
# Checks the Python client: a venv (sdk/python/.venv, or $OTN_SDK_VENV) with the pinned
# requirements, stubs fresh against proto/, then the end-to-end tests against $OTN_SERVER_BIN.
set -euo pipefail
cd "$(dirname "$0")"
PY_DIR="$PWD"
VENV="${OTN_SDK_VENV:-$PY_DIR/.venv}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
: "${OTN_SERVER_BIN:?set OTN_SERVER_BIN to the otn-server binary to test against}"
PYTHON="$(command -v python3 || command -v python)"
echo "python: $("$PYTHON" --version 2>&1)"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -r requirements-dev.txt
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps .
"$VENV/bin/python" -m pip check

"$VENV/bin/python" generate.py --out "$TMP/py" >/dev/null
if ! diff -r -x __pycache__ otn_client/_gen "$TMP/py" >"$TMP/py.diff"; then
  diff -rq -x __pycache__ otn_client/_gen "$TMP/py" || true
  cut -c1-160 "$TMP/py.diff" | head -40
  echo "python stubs: STALE (run: python sdk/python/generate.py)" >&2
  exit 1
fi
echo "python stubs: fresh"

"$VENV/bin/pytest" -v -p no:cacheprovider
