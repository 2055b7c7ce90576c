#!/usr/bin/env bash
# The TypeScript package's tests, runnable from any folder: installs the toolchain (npm ci),
# type-checks and builds generated/typescript with `tsc --strict`, type-checks a consumer of its
# declarations, then runs the node:test suite (golden corpus on both decode paths, IR-driven
# validator errors, the runtime over loopback sockets, the CLI, and `npm pack` + install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pkg="$root/generated/typescript"
cd "$here"
start=$SECONDS

echo "-- npm ci (tests/typescript)"
npm ci --no-audit --no-fund --silent

tsc="$here/node_modules/.bin/tsc"
types=(--typeRoots "$here/node_modules/@types")
echo "-- tsc --strict --noEmit (generated/typescript)"
"$tsc" -p "$pkg/tsconfig.json" --strict --noEmit "${types[@]}"
echo "-- tsc --strict (build generated/typescript/dist: JavaScript + .d.ts)"
rm -rf "$pkg/dist"
"$tsc" -p "$pkg/tsconfig.json" --strict "${types[@]}"
echo "-- tsc --strict --noEmit (a consumer of the declarations)"
"$tsc" -p "$here/tsconfig.json"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && cargo run --quiet -p rrq-codegen -- ir) > "$tmp/ir.json"

echo "-- node --test"
status=0
RRQ_IR="$tmp/ir.json" node --test \
  --test-reporter=dot --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tmp/tap" \
  "$here"/*.test.mjs || status=$?
grep -E '^# (tests|pass|fail|skipped|todo) ' "$tmp/tap" | tr '\n' ' '; echo
if [ "$status" -ne 0 ]; then
  grep -B2 -A30 '^ *not ok' "$tmp/tap" | head -200
  exit "$status"
fi
echo "-- typescript tests passed in $((SECONDS - start)) s"
