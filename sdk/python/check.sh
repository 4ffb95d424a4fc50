#!/usr/bin/env bash
# Checks the Python SDK (otn-client) from scratch, as CI does on a fresh machine:
#   1. a tool venv ($OTN_SDK_VENV, default sdk/python/.venv) with the pins of requirements-dev.txt
#   2. the generated code (stubs + limits) is fresh against proto/ (generate.py --out, diff)
#   3. mypy --strict on the package
#   4. the artefacts: `python -m build` -> sdist + wheel in $OTN_SDK_DIST (default sdk/python/dist)
#   5. a fresh, clean venv with only the wheel (pins as constraints) and the test extras
#   6. pytest from an empty directory against the installed wheel and $OTN_SERVER_BIN
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")"
PY_DIR="$PWD"
VENV="${OTN_SDK_VENV:-$PY_DIR/.venv}"
DIST="${OTN_SDK_DIST:-$PY_DIR/dist}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
: "${OTN_SERVER_BIN:?set OTN_SERVER_BIN to the otn-server binary to test against}"
case "$OTN_SERVER_BIN" in /*) ;; *) OTN_SERVER_BIN="$PWD/$OTN_SERVER_BIN" ;; esac
[ -x "$OTN_SERVER_BIN" ] || { echo "FATAL: no executable otn-server at $OTN_SERVER_BIN" >&2; exit 1; }
export OTN_SERVER_BIN
PYTHON="$(command -v python3 || command -v python)"
echo "python: $("$PYTHON" --version 2>&1)"
step() { printf -- '--- python: %s\n' "$*"; }

step "tool venv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -r requirements-dev.txt
"$VENV/bin/python" -m pip check

step "generated code"
"$VENV/bin/python" generate.py --out "$TMP/gen" >/dev/null
if ! diff -r -x __pycache__ otn_client/_gen "$TMP/gen" >"$TMP/gen.diff"; then
  diff -rq -x __pycache__ otn_client/_gen "$TMP/gen" || true
  cut -c1-160 "$TMP/gen.diff" | head -40
  echo "python stubs/limits: STALE (run: python sdk/python/generate.py)" >&2
  exit 1
fi
echo "python stubs and limits: fresh"

step "mypy --strict"
"$VENV/bin/python" -m mypy --cache-dir "$TMP/mypy-cache"

step "build sdist + wheel into $DIST"
rm -rf "$DIST" build ./*.egg-info
"$VENV/bin/python" -m build --outdir "$DIST" . >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; exit 1; }
rm -rf build ./*.egg-info
VERSION="$("$VENV/bin/python" -c 'import tomllib,sys; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])' 2>/dev/null \
  || sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"
WHEEL="$DIST/otn_client-$VERSION-py3-none-any.whl"
SDIST="$DIST/otn_client-$VERSION.tar.gz"
[ -f "$WHEEL" ] && [ -f "$SDIST" ] || { ls -la "$DIST"; echo "FATAL: expected $WHEEL and $SDIST" >&2; exit 1; }
"$VENV/bin/python" - "$WHEEL" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["otn_client/py.typed", "otn_client/_gen/limits.py", "otn_client/_gen/otn/v1/service_pb2.pyi",
        "otn_client/_gen/otn/v1/service_pb2_grpc.py", "otn_client/aio.py", "otn_client/validate.py"]
missing = [n for n in need if n not in names]
if missing or any(n.startswith("tests/") for n in names):
    sys.exit(f"wheel content wrong: missing {missing}")
PY
ls -la "$DIST"

step "fresh venv with the wheel"
"$PYTHON" -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install -q -c requirements-dev.txt "$WHEEL[test]"
"$TMP/venv/bin/python" -m pip check
"$TMP/venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(otn-client|grpcio|protobuf) '

step "tests against the installed wheel"
mkdir "$TMP/run"
cd "$TMP/run"  # otn_client is not importable from here: only the installed wheel is
OTN_SDK_TEST_INSTALLED=1 "$TMP/venv/bin/python" -m pytest -v -p no:cacheprovider \
  --rootdir "$PY_DIR" -c "$PY_DIR/pyproject.toml" "$PY_DIR/tests"
