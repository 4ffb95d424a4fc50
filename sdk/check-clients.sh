#!/usr/bin/env bash
# Checks the Python (sdk/python) and TypeScript (sdk/typescript) clients against the real
# release server: builds ${CARGO_TARGET_DIR:-target}/release/otn-server (incrementally) unless
# $OTN_SERVER_BIN is set, then runs sdk/python/check.sh and sdk/typescript/check.sh, each of
# which installs what it needs, checks its generated code is fresh, builds its package as an
# artefact, installs that artefact into a clean environment and runs its tests.
# Exits non-zero when either fails; prints one closing line per client.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export NO_COLOR=1

step() { printf '\n==> %s\n' "$*"; }

step "server binary"
if [ -n "${OTN_SERVER_BIN:-}" ]; then
  case "$OTN_SERVER_BIN" in /*) ;; *) OTN_SERVER_BIN="$ROOT/$OTN_SERVER_BIN" ;; esac
else
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  OTN_SERVER_BIN="$target_dir/release/otn-server"
  # Incremental: a no-op when the binary is up to date, so a stale binary is never tested. The
  # same packages as the README's quickstart, so their features (and the build) are shared.
  cargo build --release -p otn-server -p otn-sdk
fi
[ -x "$OTN_SERVER_BIN" ] || { echo "FATAL: no server binary at $OTN_SERVER_BIN" >&2; exit 1; }
export OTN_SERVER_BIN
echo "server: $OTN_SERVER_BIN"

failures=()
for client in python typescript; do
  step "$client client"
  if ! bash "$ROOT/sdk/$client/check.sh"; then
    failures+=("$client")
  fi
done

step "summary"
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f client"; done
[ "${#failures[@]}" -eq 0 ]
