#!/usr/bin/env bash
# Compatibility with the last release: `rrq-codegen diff` of the built-in protocol schema against
# the latest schema in generated/schema/history. Fails on a change that breaks either direction
# (new writer → old reader, old writer → new reader), unless the protocol_version was bumped,
# which is how a breaking release is declared (docs/COMPATIBILITY.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

shopt -s nullglob
released=(generated/schema/history/*.schema.json)
if [ "${#released[@]}" -eq 0 ]; then
  echo "no released schema under generated/schema/history" >&2
  exit 1
fi
latest="$(printf '%s\n' "${released[@]}" | sort -V | tail -n 1)"
echo "diff against $latest"

status=0
cargo run --quiet -p rrq-codegen -- diff "$latest" || status=$?
case "$status" in
  0) echo "compatible with $latest" ;;
  1)
    if cargo run --quiet -p rrq-codegen -- diff "$latest" --format json 2>/dev/null \
        | grep -q '"category": "protocol_version_changed"'; then
      echo "breaking changes, declared by a new protocol_version: allowed"
    else
      echo "breaking change against $latest: make it compatible, or release it as a new protocol_version" >&2
      exit 1
    fi
    ;;
  *) echo "rrq-codegen diff failed (exit $status)" >&2; exit "$status" ;;
esac
