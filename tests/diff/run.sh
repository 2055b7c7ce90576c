#!/usr/bin/env bash
# Compatibility with the released versions (docs/COMPATIBILITY.md):
#
# For every protocol version with released schemas (generated/v<N>/history/):
# 1. `rrq-codegen diff --rules strict` of the built-in schema of that version against its latest
#    released schema. Fails on a change that breaks either direction (new writer → old
#    reader, old writer → new reader), data loss and suspected renames included, unless the
#    protocol_version was bumped, which is how a breaking release is declared.
# 2. Version skew, for every release in the history: the release's golden frames
#    (<version>.golden.tsv, frozen at the release) are decoded by the current bindings in all
#    three languages, and the result must be what the diff (`--rules wire --format json`) predicts:
#    `rrq-differential --skew` checks the current Rust reference against the prediction and
#    writes the expected verdicts, which the generated Python package (stdlib and accelerated
#    mode) and TypeScript package must then reproduce exactly.
#
# Needs the TypeScript package built (tests/typescript/run.sh) and, for the accelerated Python
# mode, the Python test venv (tests/python/run.sh): test.sh runs those first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

cargo build --quiet -p rrq-codegen --bins
target_dir="${CARGO_TARGET_DIR:-target}"
codegen="$target_dir/debug/rrq-codegen"
differential="$target_dir/debug/rrq-differential"

# The replays need the other languages' packages; say so rather than skip.
dist=generated/typescript/dist
if [ ! -f "$dist/index.js" ]; then
  echo "version skew: $dist/index.js is missing: build the TypeScript package first (tests/typescript/run.sh)" >&2
  exit 1
fi
python="python3"
[ -x tests/python/.venv/bin/python ] && python="tests/python/.venv/bin/python"
if ! "$python" -c "import orjson, msgspec" 2>/dev/null; then
  echo "version skew: no orjson or msgspec in $python for the accelerated Python mode: create the venv first (tests/python/run.sh)" >&2
  exit 1
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/rrq-skew.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
shopt -s nullglob
status=0
for dir in generated/v*/; do
protocol="$(basename "$dir" | sed 's/^v//')"
history="generated/v$protocol/history"
released=("$history"/*.schema.json)
if [ "${#released[@]}" -eq 0 ]; then
  echo "== protocol $protocol: no released schema under $history yet (the first release of it records one)"
  continue
fi
latest="$(printf '%s\n' "${released[@]}" | sort -V | tail -n 1)"
echo "== protocol $protocol: diff against $latest"
diff_exit=0
"$codegen" diff --rules strict "$latest" || diff_exit=$?
case "$diff_exit" in
  0) echo "compatible with $latest" ;;
  1)
    if "$codegen" diff --rules strict "$latest" --format json 2>/dev/null \
        | grep -q '"category": "protocol_version_changed"'; then
      echo "breaking changes, declared by a new protocol_version: allowed"
    else
      echo "breaking change against $latest: make it compatible, or release it as a new protocol_version" >&2
      status=1; continue
    fi
    ;;
  *) echo "rrq-codegen diff failed (exit $diff_exit)" >&2; status=1; continue ;;
esac

for schema in $(printf '%s\n' "${released[@]}" | sort -V); do
  version="$(basename "$schema" .schema.json)"
  record="$history/$version.golden.tsv"
  echo
  echo "== version skew, protocol $protocol: release $version's golden frames through the current bindings"
  if [ ! -f "$record" ]; then
    echo "no $record: every release keeps its golden frames " >&2
    status=1
    continue
  fi
  diff_status=0
  # The prediction is about decoding: the wire rules (data the reader drops shows in no verdict).
  "$codegen" diff --rules wire "$schema" --format json > "$scratch/$version.diff.json" || diff_status=$?
  if [ "$diff_status" -gt 1 ]; then
    echo "rrq-codegen diff $schema failed (exit $diff_status)" >&2
    status=1
    continue
  fi
  # Rust: the prediction, checked against the current reference; the expected lines for the rest.
  if ! "$differential" --protocol "$protocol" --skew "$scratch/$version.diff.json" --old-schema "$schema" --old-frames "$record" \
      > "$scratch/$version.expected.tsv"; then
    status=1
    continue
  fi
  for mode in 0 1; do
    RRQ_RUNNER_ACCELERATE=$mode PYTHONPATH=generated/python "$python" tests/differential/verdicts.py \
      --protocol "$protocol" < "$scratch/$version.expected.tsv" || status=1
  done
  node tests/differential/verdicts.mjs --protocol "$protocol" "$dist" < "$scratch/$version.expected.tsv" || status=1
done
done
if [ "$status" -ne 0 ]; then
  echo "version skew: the current bindings do not treat old frames as the diff predicts (see above)" >&2
fi
exit "$status"
