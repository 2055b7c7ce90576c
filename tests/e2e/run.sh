#!/usr/bin/env bash
# End-to-end test: the Rust orchestrator (examples/orchestrator) drives the Python and the
# TypeScript example runners (examples/*/run.sh) through the same scenario list, on real
# sockets, the way the RRQ orchestrator does (protocol "1": the example orchestrator speaks it;
# protocol "2" runs under the real RRQ 0.11 orchestrator in tests/rrq). Every scenario must pass against both runners and
# the two outputs must be byte-identical. Prints a per-scenario agreement table.
#
# Self-contained: run it from anywhere. It builds the orchestrator, and sets up what the runners
# need exactly as the README's set-up does (see tests/typescript/run.sh for the npm side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [ ! -x tests/typescript/node_modules/.bin/tsc ]; then
  echo "== e2e: npm ci in tests/typescript (the TypeScript compiler examples/typescript/run.sh uses)"
  (cd tests/typescript && npm ci --no-audit --no-fund --silent)
fi

echo "== e2e: build the orchestrator"
cargo build --quiet -p rrq-example-orchestrator
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
orchestrator="$target_dir/debug/rrq-orchestrator"

out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-e2e.XXXXXX")"
trap 'rm -rf "$out"' EXIT

runners=(python typescript)
status=0
for lang in "${runners[@]}"; do
  echo "== e2e: scenarios against examples/$lang/run.sh"
  start=$SECONDS
  if "$orchestrator" --runner "$root/examples/$lang/run.sh --protocol 1" >"$out/$lang.jsonl" 2>"$out/$lang.log"; then
    echo "   all passed ($((SECONDS - start)) s)"
  else
    status=1
    echo "   FAILED ($((SECONDS - start)) s); orchestrator and runner stderr (last 40 lines):"
    tail -n 40 "$out/$lang.log" | sed 's/^/   | /'
  fi
done

echo "== e2e: agreement"
args=()
for lang in "${runners[@]}"; do args+=("$lang=$out/$lang.jsonl"); done
"$orchestrator" compare "${args[@]}" || status=1
exit "$status"
