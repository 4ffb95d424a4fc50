#!/usr/bin/env bash
# rust-version is true: no dependency in the resolved tree (this platform's) declares a newer
# `rust_version` than the workspace's `rust-version`. Prints the newest ones either way.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
cargo metadata --format-version 1 --locked --filter-platform "$host" | python3 -c '
import json, sys
m = json.load(sys.stdin)
members = set(m["workspace_members"])
def v(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
declared = {p["name"]: p.get("rust_version") for p in m["packages"] if p["id"] in members}
missing = [n for n, r in declared.items() if not r]
if missing:
    sys.exit("FATAL: no rust-version in " + ", ".join(sorted(missing)))
ours = min(v(r) for r in declared.values())
deps = sorted(
    ((v(p["rust_version"]), p["name"], p["version"]) for p in m["packages"]
     if p["id"] not in members and p.get("rust_version")),
    reverse=True,
)
newest = deps[0][0] if deps else (0,)
show = lambda t: ".".join(map(str, t))
print("rust-version: workspace %s, newest a dependency needs %s (%s)" % (
    show(ours), show(newest),
    ", ".join("%s %s" % (n, ver) for r, n, ver in deps if r == newest)))
over = [(r, n, ver) for r, n, ver in deps if r > ours]
if over:
    for r, n, ver in over:
        print("  %s %s needs rustc %s" % (n, ver, show(r)), file=sys.stderr)
    sys.exit("FATAL: rust-version %s is not true: raise it to %s in Cargo.toml" % (show(ours), show(newest)))
'
