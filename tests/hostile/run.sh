#!/usr/bin/env bash
# Hostile clients and load against the generated Python and TypeScript runners
# (examples/*/run.sh), in both protocol versions: the hostile and load suites of the conformance
# suite (conformance/, binary rrq-conformance). Bad length headers, malformed bodies, slow
# senders and readers, floods of connections and of requests: after each scenario the runner
# must be alive, answer a fresh request, have answered every well-formed request exactly once,
# and its memory (RSS of its process group, sampled every 20 ms) must have grown by no more than
# the scenario's stated budget (the `.memory` cases). The load suite runs the load generator of
# ./bench.sh briefly, every response verified. `rrq-conformance --list --suite hostile` shows the
# cases and budgets; docs/RUNNER-LIMITS.md records what was measured.
#
#   tests/hostile/run.sh                                      # both runners, both versions
#   tests/hostile/run.sh --protocol 2 --lang typescript --case hostile/slow_reader
#   RRQ_HOSTILE_OUT=DIR tests/hostile/run.sh                  # keep the JSON lines and stderr
#
# Self-contained: run it from anywhere (set-up as tests/e2e/run.sh). Other options go to
# rrq-conformance.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
. "$root/tests/e2e/runners.sh"

protocols=(1 2)
langs=(python typescript)
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) IFS=, read -r -a protocols <<< "$2"; shift 2 ;;
    --lang) IFS=, read -r -a langs <<< "$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done

prepare_runners hostile
echo "== hostile: build rrq-conformance"
cargo build --quiet -p rrq-conformance --bin rrq-conformance
suite="$(target_dir)/debug/rrq-conformance"
for protocol in "${protocols[@]}"; do
  for lang in "${langs[@]}"; do warm_up "$suite" "$lang" "$protocol"; done
done

if [ -n "${RRQ_HOSTILE_OUT:-}" ]; then
  out="$RRQ_HOSTILE_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-hostile.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi

status=0
runs=()
for protocol in "${protocols[@]}"; do
  for lang in "${langs[@]}"; do
    if ! runner_command "$lang" "$protocol" > /dev/null; then
      echo "== hostile: protocol $protocol: examples/$lang/run.sh has no --protocol yet: skipped"
      continue
    fi
    echo "== hostile: protocol $protocol, examples/$lang/run.sh: hostile, load"
    run_suite "$suite" "$out/$lang-v$protocol" "$lang" "$protocol" --suite hostile,load \
      "${extra[@]+"${extra[@]}"}" || status=1
    runs+=("$lang-v$protocol=$out/$lang-v$protocol.jsonl")
  done
done

if [ "${#extra[@]}" -eq 0 ] && [ "${#runs[@]}" -gt 0 ]; then
  echo "== hostile: results (memory growth of each scenario against its budget)"
  "$suite" table "${runs[@]}" | grep -E '^case|\.memory|load/|cases passed|failed or missing' || status=1
fi
exit "$status"
