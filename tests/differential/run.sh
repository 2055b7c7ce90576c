#!/usr/bin/env bash
# Differential fuzzing: inputs generated from the IR (schema-following messages with adversarial
# content and non-canonical formatting, plus mutated frames) are judged by the Rust reference
# (rrq-differential); the generated Python package (stdlib and accelerated mode) and TypeScript
# package must reach the same verdict, the same error kind and path and, for accepts, the same
# canonical bytes on every input; and the FrameError message of every reject must be
# byte-identical in Python (both modes) and TypeScript. Every protocol version (generated/v*/) in
# turn, through its own module of each package.
#
#   tests/differential/run.sh [COUNT] [SEED]     (defaults: 20000 inputs per version, seed 1; plus each corpus)
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
scratch="$(mktemp -d "${TMPDIR:-/tmp}/rrq-differential.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
status=0
python="python3"
[ -x tests/python/.venv/bin/python ] && python="tests/python/.venv/bin/python"
for version in $(ls -d generated/v*/ | sed 's|generated/v||; s|/||' | sort -n); do
inputs="$scratch/inputs-$version.tsv"
"$target_dir/debug/rrq-differential" --protocol "$version" --count "$count" --seed "$seed" > "$inputs"
# The golden corpus too, in the same format (its verdicts are the reference's as well): every
# corpus reject must also get byte-identical FrameError messages in Python and TypeScript.
python3 - "generated/v$version/golden" >> "$inputs" <<'PY'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
        if case["verdict"] == "accept":
            print(f"{case['frame']}\taccept\t{case['canonical']}\t-")
        else:
            print(f"{case['frame']}\treject\t{case['error']['kind']}\t{case['error'].get('path', '-')}")
PY
echo "== differential, protocol $version: $count inputs (seed $seed) and the golden corpus ($(($(wc -l < "$inputs") - count)) cases), Rust verdicts: $(cut -f2 "$inputs" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"

for mode in 0 1; do
  if [ "$mode" = 1 ] && ! "$python" -c "import orjson, msgspec" 2>/dev/null; then
    echo "no orjson or msgspec in $python: accelerated mode not run" >&2
    status=1
    continue
  fi
  RRQ_RUNNER_ACCELERATE=$mode PYTHONPATH=generated/python "$python" tests/differential/verdicts.py \
    --protocol "$version" --messages "$scratch/python-$mode.txt" < "$inputs" || status=1
done
node tests/differential/verdicts.mjs --protocol "$version" --messages "$scratch/typescript.txt" generated/typescript/dist < "$inputs" || status=1

# The FrameError messages, input by input: Python (each mode) against TypeScript.
for mode in 0 1; do
  [ -f "$scratch/python-$mode.txt" ] || continue
  label="python ($([ "$mode" = 0 ] && echo stdlib || echo accelerated)) vs typescript"
  "$python" - "$label" "$scratch/python-$mode.txt" "$scratch/typescript.txt" <<'PY' || status=1
import sys
label, ours, theirs = sys.argv[1], *(open(p, encoding="utf-8").read().split("\n") for p in sys.argv[2:])
if len(ours) != len(theirs):
    sys.exit(print(f"{label}: not the same number of inputs") or 1)
rejects = sum(1 for line in theirs if line and line != "accept")
differing = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
print(f"{label}: {rejects} rejects, {len(differing)} with different FrameError messages")
for i, a, b in differing[:5]:
    print(f"  input {i + 1}\n    python     {a[:300]}\n    typescript {b[:300]}")
sys.exit(1 if differing else 0)
PY
done
done
exit "$status"
