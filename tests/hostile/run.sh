#!/usr/bin/env bash
# Hostile clients against the Python and the TypeScript example runners (examples/*/run.sh,
# started with RRQ_RUNNER_TCP_SOCKET as RRQ does): bad length headers, malformed bodies, slow
# senders and readers, floods of connections and of requests. After each scenario the runner must
# be alive, answer a fresh request, have answered every well-formed request exactly once, and its
# memory (RSS of its process group, sampled every 20 ms) must have grown by no more than the
# scenario's stated budget. `target/debug/rrq-hostile --list` shows the scenarios and budgets;
# docs/RUNNER-LIMITS.md records what was measured.
#
# Self-contained: run it from anywhere. It builds the client (examples/orchestrator, binary
# rrq-hostile) and sets up what the runners need as tests/e2e/run.sh does.
#
#   tests/hostile/run.sh                         # both runners, every scenario
#   tests/hostile/run.sh --scenario slowloris    # extra arguments go to rrq-hostile
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [ ! -x tests/typescript/node_modules/.bin/tsc ]; then
  echo "== hostile: npm ci in tests/typescript (the TypeScript compiler examples/typescript/run.sh uses)"
  (cd tests/typescript && npm ci --no-audit --no-fund --silent)
fi

echo "== hostile: build rrq-hostile"
cargo build --quiet -p rrq-example-orchestrator --bin rrq-hostile
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
hostile="$target_dir/debug/rrq-hostile"

# RRQ_HOSTILE_OUT=DIR keeps each runner's results (DIR/LANG.jsonl) and stderr (DIR/LANG.log).
if [ -n "${RRQ_HOSTILE_OUT:-}" ]; then
  out="$RRQ_HOSTILE_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-hostile.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi

runners=(python typescript)
status=0
for lang in "${runners[@]}"; do
  echo "== hostile: scenarios against examples/$lang/run.sh"
  start=$SECONDS
  if "$hostile" --runner "$root/examples/$lang/run.sh --protocol 1" "$@" >"$out/$lang.jsonl" 2>"$out/$lang.log"; then
    echo "   all passed ($((SECONDS - start)) s)"
  else
    status=1
    echo "   FAILED ($((SECONDS - start)) s)"
    # Each failed scenario: its problems and the runner's stderr while it ran.
    failed="$(grep '"passed":false' "$out/$lang.jsonl" | sed -n 's/.*"scenario":"\([^"]*\)".*/\1/p' || true)"
    if [ -z "$failed" ]; then
      tail -n 40 "$out/$lang.log" | sed 's/^/   | /'
    fi
    for name in $failed; do
      echo "   -- $name: problems, and the runner's stderr meanwhile (first 60 lines)"
      awk -v name="$name" '
        $0 == "rrq-hostile: == " name { on = 1; next }
        on && /^rrq-hostile: == / { exit }
        on { print }
      ' "$out/$lang.log" | head -n 60 | sed 's/^/   | /'
    done
  fi
done

echo "== hostile: results"
args=()
for lang in "${runners[@]}"; do args+=("$lang=$out/$lang.jsonl"); done
if [ "$#" -eq 0 ]; then
  "$hostile" table "${args[@]}" || status=1
fi
exit "$status"
