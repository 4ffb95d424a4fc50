#!/usr/bin/env bash
# Checks the TypeScript client: npm ci, stubs fresh against proto/, tsc build, then the
# end-to-end tests against $OTN_SERVER_BIN.
set -euo pipefail
cd "$(dirname "$0")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 npm_config_fund=false npm_config_audit=false
: "${OTN_SERVER_BIN:?set OTN_SERVER_BIN to the otn-server binary to test against}"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
echo "node: $(node --version), npm: $(npm --version 2>/dev/null)"

if ! npm ci --no-audit --no-fund >"$TMP/npm-ci.log" 2>&1; then
  cat "$TMP/npm-ci.log" >&2
  echo "FATAL: npm ci failed in sdk/typescript" >&2
  exit 1
fi
[ -x node_modules/.bin/tsc ] || { echo "FATAL: npm ci did not install the toolchain" >&2; exit 1; }

npm run --silent generate -- -o "$TMP/ts"
if ! diff -r src/gen "$TMP/ts/src/gen" >"$TMP/ts.diff"; then
  diff -rq src/gen "$TMP/ts/src/gen" || true
  cut -c1-160 "$TMP/ts.diff" | head -40
  echo "typescript stubs: STALE (run: cd sdk/typescript && npm run generate)" >&2
  exit 1
fi
echo "typescript stubs: fresh"

npm run --silent build
node --test --test-reporter=spec dist/test/end-to-end.test.js
