#!/usr/bin/env bash
# The TypeScript package's tests, runnable from any folder: installs the toolchain (npm ci),
# type-checks and builds generated/typescript with `tsc --strict`, type-checks a consumer of its
# declarations (the top level and every version subpath), renders a foreign schema without
# x-rrq (foreign/ledger.schema.json) with `rrq-codegen generate --schema` and builds it with
# `tsc --strict`, writes each protocol version's IR and a set of frames generated from it and
# judged by that version's Rust reference (rrq-differential), then runs the node:test suite:
# every version's golden corpus and judged frames on both decode paths, IR-driven validator
# errors, the runtime over loopback sockets per version, the CLI, the foreign codec, and
# `npm pack` + install.
#
#   tests/typescript/run.sh [JUDGED_FRAMES_PER_VERSION]     (default 3000)
#   RRQ_KEEP_TAP=FILE tests/typescript/run.sh               (keeps the TAP report, with durations)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pkg="$root/generated/typescript"
judged="${1:-3000}"
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
[ -n "${RRQ_KEEP_TAP:-}" ] && trap 'cp "$tmp/tap" "$RRQ_KEEP_TAP"; rm -rf "$tmp"' EXIT
(cd "$root" && cargo build --quiet -p rrq-codegen --bins)
bin="${CARGO_TARGET_DIR:-$root/target}/debug"

echo "-- rrq-codegen generate --schema foreign/ledger.schema.json (no x-rrq), tsc --strict"
"$bin/rrq-codegen" generate --schema "$here/foreign/ledger.schema.json" --lang typescript --out "$tmp/foreign" 2> "$tmp/foreign.log" > /dev/null
grep -q "no runner runtime" "$tmp/foreign.log" || { cat "$tmp/foreign.log"; echo "expected a note that the foreign schema gets no runtime" >&2; exit 1; }
"$tsc" -p "$tmp/foreign/typescript/tsconfig.json" --strict "${types[@]}"

versions=$(node -e 'const m=require(process.argv[1]);console.log(Object.keys(m.exports).filter(k=>/^\.\/v\d+$/.test(k)).map(k=>k.slice(3)).join(" "))' "$pkg/package.json")
echo "-- per protocol version (${versions}): IR, and $judged frames judged by the Rust reference"
for v in $versions; do
  "$bin/rrq-codegen" ir --protocol "$v" > "$tmp/ir-v$v.json"
  "$bin/rrq-differential" --protocol "$v" --count "$judged" --seed "$((v * 1000 + 7))" > "$tmp/frames-v$v.tsv"
  if [ ! -d "$root/generated/v$v/golden" ] && ! { [ "$v" = 1 ] && [ -d "$root/generated/golden" ]; }; then
    echo "   WARNING: no golden corpus for v$v (generated/v$v/golden): only its judged frames are checked (a 'todo' below)"
  fi
done

echo "-- node --test"
status=0
RRQ_TEST_DIR="$tmp" RRQ_FOREIGN_PACKAGE="$tmp/foreign/typescript" node --test \
  --test-reporter=dot --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tmp/tap" \
  "$here"/*.test.mjs || status=$?
grep -E '^# (tests|pass|fail|skipped|todo) ' "$tmp/tap" | tr '\n' ' '; echo
if [ "$status" -ne 0 ]; then
  grep -B2 -A30 '^ *not ok' "$tmp/tap" | head -200
  exit "$status"
fi
echo "-- typescript tests passed in $((SECONDS - start)) s"
