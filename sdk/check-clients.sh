#!/usr/bin/env bash
# Checks the Python (sdk/python) and TypeScript (sdk/typescript) clients:
#   1. installs what they need: a venv (sdk/python/.venv, or $OTN_SDK_VENV) with the pinned
#      requirements + the package itself, and `npm ci` in sdk/typescript;
#   2. regenerates both sets of stubs into a temp dir and fails if they differ from the committed ones;
#   3. builds the TypeScript package (tsc);
#   4. runs both end-to-end suites against the real release server: $OTN_SERVER_BIN when set,
#      else ${CARGO_TARGET_DIR:-target}/release/otn-server, built (incrementally) by this script.
# Exits non-zero on any failure; prints one closing line per suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY_DIR="$ROOT/sdk/python"
TS_DIR="$ROOT/sdk/typescript"
VENV="${OTN_SDK_VENV:-$PY_DIR/.venv}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_fund=false npm_config_audit=false

step() { printf '\n==> %s\n' "$*"; }
failures=()

step "tools"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
PYTHON="$(command -v python3 || command -v python)"
echo "python: $("$PYTHON" --version 2>&1), node: $(node --version), npm: $(npm --version 2>/dev/null)"

step "python: venv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -r "$PY_DIR/requirements-dev.txt"
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$PY_DIR"
"$VENV/bin/python" -m pip check

step "typescript: npm ci"
if ! (cd "$TS_DIR" && npm ci --no-audit --no-fund) >"$TMP/npm-ci.log" 2>&1; then
  cat "$TMP/npm-ci.log" >&2
  echo "FATAL: npm ci failed in sdk/typescript" >&2
  exit 1
fi
grep -v 'Unknown user config' "$TMP/npm-ci.log" || true
[ -x "$TS_DIR/node_modules/.bin/tsc" ] || { echo "FATAL: npm ci did not install the toolchain" >&2; exit 1; }

step "stubs are up to date with proto/"
"$VENV/bin/python" "$PY_DIR/generate.py" --out "$TMP/py" >/dev/null
if diff -r -x __pycache__ "$PY_DIR/otn_client/_gen" "$TMP/py" >"$TMP/py.diff"; then
  echo "python stubs: fresh"
else
  diff -rq -x __pycache__ "$PY_DIR/otn_client/_gen" "$TMP/py" || true
  cut -c1-160 "$TMP/py.diff" | head -40
  echo "python stubs: STALE (run: python sdk/python/generate.py)" >&2
  failures+=("python stubs stale")
fi
(cd "$TS_DIR" && npm run --silent generate -- -o "$TMP/ts")
if diff -r "$TS_DIR/src/gen" "$TMP/ts/src/gen" >"$TMP/ts.diff"; then
  echo "typescript stubs: fresh"
else
  diff -rq "$TS_DIR/src/gen" "$TMP/ts/src/gen" || true
  cut -c1-160 "$TMP/ts.diff" | head -40
  echo "typescript stubs: STALE (run: cd sdk/typescript && npm run generate)" >&2
  failures+=("typescript stubs stale")
fi

step "typescript: build"
(cd "$TS_DIR" && npm run --silent build)

step "server binary"
if [ -n "${OTN_SERVER_BIN:-}" ]; then
  case "$OTN_SERVER_BIN" in /*) ;; *) OTN_SERVER_BIN="$ROOT/$OTN_SERVER_BIN" ;; esac
else
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  OTN_SERVER_BIN="$target_dir/release/otn-server"
  # Incremental: a no-op when the binary is up to date, so a stale binary is never tested.
  cargo build --release -p otn-server --bin otn-server
fi
[ -x "$OTN_SERVER_BIN" ] || { echo "FATAL: no server binary at $OTN_SERVER_BIN" >&2; exit 1; }
export OTN_SERVER_BIN
echo "server: $OTN_SERVER_BIN"

step "python: end-to-end tests (pytest)"
set +e
(cd "$PY_DIR" && "$VENV/bin/pytest" -v -p no:cacheprovider --junitxml="$TMP/py.xml")
py_rc=$?
set -e
py_line="$("$VENV/bin/python" - "$TMP/py.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 passed, 1 failed, 0 skipped"); sys.exit()
s = root if root.tag == "testsuite" else root.find("testsuite")
t, f, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"{t - f - e - sk} passed, {f + e} failed, {sk} skipped")
EOF
)"
if [ "$py_rc" -ne 0 ]; then
  # pytest exit 5 (no test collected) is a failure too.
  failures+=("python tests (pytest exit $py_rc)")
fi

step "typescript: end-to-end tests (node --test)"
set +e
(cd "$TS_DIR" && node --test --test-reporter=spec dist/test/end-to-end.test.js) 2>&1 | tee "$TMP/ts.out"
ts_rc=${PIPESTATUS[0]}
set -e
count() { { grep -E "^ℹ $1 [0-9]+" "$TMP/ts.out" || echo "ℹ $1 0"; } | tail -1 | awk '{print $3}'; }
ts_tests=$(count tests); ts_pass=$(count pass); ts_fail=$(count fail); ts_skip=$(count skipped)
ts_cancelled=$(count cancelled)
ts_line="$ts_pass passed, $((ts_fail + ts_cancelled)) failed, $ts_skip skipped"
if [ "$ts_rc" -ne 0 ] || [ "$ts_tests" -eq 0 ]; then
  failures+=("typescript tests (exit $ts_rc, $ts_tests tests)")
  [ "$ts_tests" -eq 0 ] && ts_line="0 passed, 1 failed, 0 skipped"
fi

step "summary"
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "python: $py_line"
echo "typescript: $ts_line"
[ "${#failures[@]}" -eq 0 ]
