#!/usr/bin/env bash
# Runs the README's quickstart verbatim (the sh block between the quickstart markers) from the
# repository root, as a reader of a fresh clone would; then checks what the reader should have
# seen, and that the sandbox's grants survive a restart of the server the quickstart started.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
unset OTN_DATABASE_URL OTN_CONFIG OTN_URL OTN_API_KEY OTN_SANDBOX_URL OTN_SANDBOX
block=$(sed -n '/<!-- quickstart -->/,/<!-- \/quickstart -->/p' README.md \
  | sed -n '/^```sh$/,/^```$/p' | grep -v '^```')
[ -n "$block" ] || { echo "FATAL: no quickstart block in README.md" >&2; exit 1; }
state=$(mktemp -d)
cleanup() { [ -f "$state/pid" ] && kill "$(cat "$state/pid")" 2>/dev/null || true; }
trap cleanup EXIT
echo "--- the README's quickstart:"; echo "$block"; echo "---"
# After the block: where it left the reader, and the server it started in the background.
if ! bash -e -c "$block
pwd > '$state/dir'; echo \$! > '$state/pid'" > "$state/out" 2>&1; then
  cat "$state/out"; echo "FATAL: the quickstart failed as written" >&2; exit 1
fi
cat "$state/out"
fail() { echo "FATAL: $*" >&2; exit 1; }
# Piped, otnctl prints JSON (a table on a terminal).
grep -q '"psid":"alice"' "$state/out" && grep -q '"psid":"bob"' "$state/out" \
  || fail "the two opt-ins are not listed"
grep -q '"state":"COMPLETED"' "$state/out" && grep -q '"sent":2' "$state/out" \
  || fail "the alert did not reach both shoppers"
grep -q "The SL13 is back in stock" "$state/out" || fail "the simulator shows no message"
grep -q "GRANT_CONSUMED" "$state/out" || fail "the events tail shows no spent grant"

echo "--- restart: the sandbox keeps its grants"
export PATH="$CARGO_TARGET_DIR/release:$PATH"
cd "$(cat "$state/dir")"
otnctl sandbox notify-me --psid carol --topic back-in-stock:sku-123
sleep 1
kill "$(cat "$state/pid")"; sleep 1
otn-server > server2.log 2>&1 &
echo $! > "$state/pid"; sleep 2
otnctl send --page sandbox-page --topic back-in-stock:sku-123 --text "Carol too" --wait | tee after.txt
grep -q '"sent":1' after.txt || { cat server2.log; fail "a grant did not survive the restart"; }
echo "quickstart: ok"
