#!/usr/bin/env bash
# Differential fuzzing: inputs generated from the IR (schema-following messages with adversarial
# content and non-canonical formatting, plus mutated frames) are judged by the Rust reference
# (rrq-differential); the generated Python package (stdlib and accelerated mode) and TypeScript
# package must reach the same verdict, the same error kind and, for accepts, the same canonical
# bytes on every input.
#
#   tests/differential/run.sh [COUNT] [SEED]     (defaults: 20000 inputs, seed 1)
#
# Needs the TypeScript package built (tests/typescript/run.sh builds it) and uses the Python
# test venv for the accelerated mode when tests/python/run.sh has created it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
count="${1:-20000}"
seed="${2:-1}"

cargo build --quiet -p rrq-codegen --bin rrq-differential
target_dir="${CARGO_TARGET_DIR:-target}"
inputs="$(mktemp "${TMPDIR:-/tmp}/rrq-differential.XXXXXX")"
trap 'rm -f "$inputs"' EXIT
"$target_dir/debug/rrq-differential" --count "$count" --seed "$seed" > "$inputs"
echo "== differential: $count inputs (seed $seed), Rust verdicts: $(cut -f2 "$inputs" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"

python="python3"
[ -x tests/python/.venv/bin/python ] && python="tests/python/.venv/bin/python"
status=0
for mode in 0 1; do
  if [ "$mode" = 1 ] && ! "$python" -c "import orjson" 2>/dev/null; then
    echo "no orjson in $python: accelerated mode not run" >&2
    status=1
    continue
  fi
  RRQ_RUNNER_ACCELERATE=$mode PYTHONPATH=generated/python "$python" tests/differential/verdicts.py < "$inputs" || status=1
done
node tests/differential/verdicts.mjs generated/typescript/dist < "$inputs" || status=1
exit "$status"
