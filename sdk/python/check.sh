#!/usr/bin/env bash
# Checks the Python SDK (otn-client) from scratch, as CI does on a fresh machine:
#   packaging (needs neither Rust nor a server):
#   1. a tool venv ($OTN_SDK_VENV, default sdk/python/.venv) with the pins of requirements-dev.txt
#   2. the generated code (stubs, limits, client rules) is fresh against proto/ and
#      sdk/client-rules.json (generate.py --out, diff)
#   3. mypy --strict on the package and the example
#   4. the artefacts: `python -m build` -> sdist + wheel in $OTN_SDK_DIST (else $OTN_ARTEFACTS,
#      default <repo>/artefacts, where only this package's own files are replaced)
#   5. the sdist installed into a fresh, clean venv: it imports, with the right version, and a
#      consumer (tests/typing/consumer.py) passes `mypy --strict` with the package's own
#      dependencies while tests/typing/consumer_typo.py fails with the expected errors
#   tests (need $OTN_SERVER_BIN, the release otn-server; skipped with --package-only):
#   6. a fresh, clean venv with only the wheel (pins as constraints) and the test extras
#   7. pytest from an empty directory against the installed wheel and $OTN_SERVER_BIN (no test
#      may fail or be skipped)
# Usage: check.sh [--package-only]. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")"
PY_DIR="$PWD"
ROOT="$(cd ../.. && pwd)"
VENV="${OTN_SDK_VENV:-$PY_DIR/.venv}"
DIST="${OTN_SDK_DIST:-${OTN_ARTEFACTS:-$ROOT/artefacts}}"
PACKAGE_ONLY=0
case "${1:-}" in
  --package-only) PACKAGE_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--package-only]" >&2; exit 2 ;;
esac
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
if [ "$PACKAGE_ONLY" = 0 ]; then  # fail early, before the packaging steps, when the tests cannot run
  : "${OTN_SERVER_BIN:?set OTN_SERVER_BIN to the otn-server binary to test against (or pass --package-only)}"
  case "$OTN_SERVER_BIN" in /*) ;; *) OTN_SERVER_BIN="$PWD/$OTN_SERVER_BIN" ;; esac
  [ -x "$OTN_SERVER_BIN" ] || { echo "FATAL: no executable otn-server at $OTN_SERVER_BIN" >&2; exit 1; }
  export OTN_SERVER_BIN
fi
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
  echo "python stubs/limits/client rules: STALE (run: python sdk/python/generate.py)" >&2
  exit 1
fi
echo "python stubs, limits and client rules: fresh"

step "mypy --strict"
"$VENV/bin/python" -m mypy --cache-dir "$TMP/mypy-cache"

step "build sdist + wheel into $DIST"
mkdir -p "$DIST"
rm -rf "$DIST"/otn_client-* build ./*.egg-info
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
need = ["otn_client/py.typed", "otn_client/_gen/limits.py", "otn_client/_gen/client_rules.py",
        "otn_client/_gen/otn/v1/service_pb2.pyi",
        "otn_client/_gen/otn/v1/service_pb2_grpc.py", "otn_client/aio.py", "otn_client/validate.py"]
missing = [n for n in need if n not in names]
if missing or any(n.startswith("tests/") for n in names):
    sys.exit(f"wheel content wrong: missing {missing}")
PY
ls -la "$WHEEL" "$SDIST"

step "fresh venv with the sdist"
"$PYTHON" -m venv "$TMP/sdist-venv"
"$TMP/sdist-venv/bin/python" -m pip install -q -c requirements-dev.txt "$SDIST"
(cd "$TMP" && "$TMP/sdist-venv/bin/python" - "$VERSION" <<'PY'
import importlib.metadata, pathlib, sys
import otn_client
from otn_client import limits, v1
assert otn_client.__version__ == importlib.metadata.version("otn-client") == sys.argv[1], otn_client.__version__
here = pathlib.Path(otn_client.__file__).resolve()
assert "site-packages" in here.parts and (here.parent / "py.typed").is_file(), here
assert limits.TEXT_MAX_CHARS > 0 and v1.ERROR_REASON_API_KEY_INVALID
print(f"sdist: otn-client {otn_client.__version__} installs and imports from {here.parent}")
PY
)

step "a consumer type-checks with mypy --strict (message fields typed, not Any)"
"$TMP/sdist-venv/bin/python" -m pip install -q -c requirements-dev.txt mypy
mkdir "$TMP/consumer"
cp tests/typing/consumer.py tests/typing/consumer_typo.py "$TMP/consumer/"
(cd "$TMP/consumer" && "$TMP/sdist-venv/bin/python" -m mypy --strict --no-incremental consumer.py) \
  || { echo "FATAL: a consumer of otn_client does not pass mypy --strict" >&2; exit 1; }
if (cd "$TMP/consumer" && "$TMP/sdist-venv/bin/python" -m mypy --strict --no-incremental consumer_typo.py \
  >"$TMP/typo.log" 2>&1); then
  echo "FATAL: mypy --strict accepted consumer_typo.py: message fields are Any" >&2
  exit 1
fi
for want in '"DeliveryCounts" has no attribute "sentt"' 'got "str", expected "int"'; do
  grep -qF "$want" "$TMP/typo.log" || { cat "$TMP/typo.log"; echo "FATAL: mypy did not report: $want" >&2; exit 1; }
done
echo "consumer: typed (a misspelt field and a wrong type are errors)"

if [ "$PACKAGE_ONLY" = 1 ]; then
  echo "python client: packaged (--package-only: tests not run)"
  exit 0
fi

step "fresh venv with the wheel"
"$PYTHON" -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install -q -c requirements-dev.txt "$WHEEL[test]"
"$TMP/venv/bin/python" -m pip check
"$TMP/venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(otn-client|grpcio|protobuf) '

step "tests against the installed wheel"
mkdir "$TMP/run"
cd "$TMP/run"  # otn_client is not importable from here: only the installed wheel is
if ! OTN_SDK_TEST_INSTALLED=1 "$TMP/venv/bin/python" -m pytest -v -p no:cacheprovider \
  --rootdir "$PY_DIR" -c "$PY_DIR/pyproject.toml" "$PY_DIR/tests" | tee "$TMP/tests.log"; then
  echo "FATAL: python tests failed" >&2
  exit 1
fi
summary="$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$TMP/tests.log" | tail -1)"
case "$summary" in
  *failed* | *error* | *skipped* | *xfail* | *xpass* | *deselected* | "")
    echo "FATAL: the test run was not clean: ${summary:-no summary}" >&2
    exit 1 ;;
esac
echo "python client: OK ($(echo "$summary" | grep -oE '[0-9]+ passed' | cut -d' ' -f1) tests)"
