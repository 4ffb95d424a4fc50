#!/usr/bin/env bash
# One version for the whole workspace: Cargo, the Python package and the npm package agree.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo_v=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
py_v=$(sed -n 's/^version = "\(.*\)"$/\1/p' sdk/python/pyproject.toml | head -1)
npm_v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' sdk/typescript/package.json | head -1)
echo "versions: cargo $cargo_v, python $py_v, npm $npm_v"
if [ "$cargo_v" != "$py_v" ] || [ "$cargo_v" != "$npm_v" ]; then
  echo "FATAL: the workspace has more than one version (see docs/RELEASING.md)" >&2
  exit 1
fi
