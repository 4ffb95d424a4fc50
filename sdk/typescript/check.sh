#!/usr/bin/env bash
# Checks the TypeScript client (@otn/client).
#   packaging (needs neither Rust nor a server): npm ci; the generated code (ts-proto stubs, the
#   limits, client-rules and fields modules) fresh against proto/ and sdk/client-rules.json; the
#   package built as an artefact with `npm pack` into $OTN_ARTEFACTS (default <repo>/artefacts,
#   where only this package's own tarball is replaced); that tarball installed into a fresh, clean
#   directory, where both `import` and `require` of @otn/client work;
#   tests (need $OTN_SERVER_BIN, the release otn-server; skipped with --package-only): the whole
#   suite run from the clean directory against the installed package.
# Usage: check.sh [--package-only]. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
ARTEFACTS="${OTN_ARTEFACTS:-$ROOT/artefacts}"
PACKAGE_ONLY=0
case "${1:-}" in
  --package-only) PACKAGE_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--package-only]" >&2; exit 2 ;;
esac
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export NO_COLOR=1 npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
if [ "$PACKAGE_ONLY" = 0 ]; then  # fail early, before the packaging steps, when the tests cannot run
  : "${OTN_SERVER_BIN:?set OTN_SERVER_BIN to the otn-server binary to test against (or pass --package-only)}"
  case "$OTN_SERVER_BIN" in /*) ;; *) OTN_SERVER_BIN="$ROOT/$OTN_SERVER_BIN" ;; esac
  [ -x "$OTN_SERVER_BIN" ] || { echo "FATAL: no server binary at $OTN_SERVER_BIN" >&2; exit 1; }
  export OTN_SERVER_BIN
fi

step() { printf '\n--> typescript: %s\n' "$*"; }
# Runs a command quietly; on failure prints its output and what failed, and exits.
quiet() {
  local what="$1"
  shift
  if ! "$@" >"$TMP/step.log" 2>&1; then
    cat "$TMP/step.log" >&2
    echo "FATAL: $what failed" >&2
    exit 1
  fi
}

step "toolchain"
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
echo "node: $(node --version), npm: $(npm --version 2>/dev/null)"
quiet "npm ci in sdk/typescript" npm ci --no-audit --no-fund
[ -x node_modules/.bin/tsc ] && [ -x node_modules/.bin/buf ] \
  || { echo "FATAL: npm ci did not install the toolchain" >&2; exit 1; }

step "generated code is fresh (npm run generate: buf + the limits and fields modules)"
quiet "npm run generate" npm run --silent generate -- -o "$TMP/ts"
for f in limits.ts client-rules.ts fields.ts; do
  [ -f "$TMP/ts/src/gen/$f" ] || { echo "FATAL: generate wrote no src/gen/$f" >&2; exit 1; }
done
if ! diff -r src/gen "$TMP/ts/src/gen" >"$TMP/ts.diff"; then
  diff -rq src/gen "$TMP/ts/src/gen" || true
  cut -c1-160 "$TMP/ts.diff" | head -40
  echo "typescript stubs: STALE (run: cd sdk/typescript && npm run generate)" >&2
  exit 1
fi
echo "typescript stubs: fresh"

step "npm pack (prepack builds dist/ with tsc) into $ARTEFACTS"
mkdir -p "$ARTEFACTS"
ARTEFACTS="$(cd "$ARTEFACTS" && pwd)"
rm -f "$ARTEFACTS"/otn-client-*.tgz
quiet "npm pack" npm pack --pack-destination "$ARTEFACTS"
version="$(node -p 'require("./package.json").version')"
tarball="$ARTEFACTS/otn-client-$version.tgz"
[ -f "$tarball" ] || { ls -la "$TMP" >&2; echo "FATAL: npm pack wrote no $tarball" >&2; exit 1; }
tar -tzf "$tarball" >"$TMP/contents"
for f in package/package.json package/README.md package/dist/src/index.js package/dist/src/index.d.ts \
  package/dist/esm/index.mjs package/dist/esm/index.d.mts package/dist/src/gen/limits.js \
  package/dist/src/gen/client-rules.js package/dist/src/gen/fields.js; do
  grep -qx "$f" "$TMP/contents" || { echo "FATAL: $f is not in the package" >&2; exit 1; }
done
if grep -E '^package/(dist/test|dist/examples|src|test|node_modules)/' "$TMP/contents"; then
  echo "FATAL: the package holds files it should not (above)" >&2
  exit 1
fi
echo "artefact: $tarball ($(wc -l <"$TMP/contents") files)"

step "install the artefact $tarball into a clean directory"
CLEAN="$TMP/clean"
mkdir -p "$CLEAN"
(cd "$CLEAN" && quiet "npm init" npm init -y && quiet "npm install of the tarball" npm install --no-audit --no-fund "$tarball")
resolved="$(cd "$CLEAN" && node -p 'require.resolve("@otn/client")')"
case "$resolved" in
  "$CLEAN/node_modules/@otn/client/"*) ;;
  *) echo "FATAL: @otn/client resolves to $resolved, not the clean install" >&2; exit 1 ;;
esac
installed="$(cd "$CLEAN" && node -p 'require("@otn/client/package.json").version')"
[ "$installed" = "$version" ] || { echo "FATAL: installed $installed, packed $version" >&2; exit 1; }
echo "installed: @otn/client@$installed at ${resolved#"$CLEAN/"}"
(cd "$CLEAN" && node --input-type=module -e '
import { createRequire } from "node:module";
import * as esm from "@otn/client";
const cjs = createRequire(import.meta.url)("@otn/client");
const names = (m) => Object.keys(m).filter((k) => k !== "default").sort().join(" ");
if (names(esm) !== names(cjs)) throw new Error(`import and require differ:\n${names(esm)}\n${names(cjs)}`);
if (esm.OtnError !== cjs.OtnError || esm.Client !== cjs.Client) throw new Error("two copies of the classes");
if (!import.meta.resolve("@otn/client").endsWith("/dist/esm/index.mjs")) throw new Error("import: not the ESM entry");
console.log(`import and require: the same ${Object.keys(cjs).length} exports, one copy`);
') || { echo "FATAL: import / require of the installed package" >&2; exit 1; }

if [ "$PACKAGE_ONLY" = 1 ]; then
  echo "typescript client: packaged (--package-only: tests not run)"
  exit 0
fi

# The compiled tests and example, run from the clean directory: `@otn/client` is the install.
mkdir -p "$CLEAN/test" "$CLEAN/examples"
cp dist/test/*.js "$CLEAN/test/"
cp dist/examples/*.mjs "$CLEAN/examples/"
if grep -lE "(require\(|from )\"\.\.?/(\.\./)*src" "$CLEAN"/test/*.js "$CLEAN"/examples/*.mjs; then
  echo "FATAL: the files above import the sources, not @otn/client" >&2
  exit 1
fi

step "tests against the installed package (server: $OTN_SERVER_BIN)"
if ! (cd "$CLEAN" && OTN_REPO_ROOT="$ROOT" node --test --test-reporter=spec test/*.test.js) | tee "$TMP/tests.log"; then
  grep -E '^ℹ (tests|pass|fail|cancelled|skipped|todo) ' "$TMP/tests.log" >&2 || true
  echo "FATAL: typescript tests failed" >&2
  exit 1
fi
for line in "ℹ fail 0" "ℹ cancelled 0" "ℹ skipped 0" "ℹ todo 0"; do
  grep -qx "$line" "$TMP/tests.log" || { echo "FATAL: the test run did not report '$line'" >&2; exit 1; }
done
grep -qE '^ℹ tests [1-9][0-9]*$' "$TMP/tests.log" || { echo "FATAL: no test ran" >&2; exit 1; }
echo "typescript client: OK ($(grep -E '^ℹ tests ' "$TMP/tests.log" | cut -d' ' -f3) tests)"
