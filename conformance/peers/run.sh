#!/usr/bin/env bash
# The conformance suite against the upstream runners, pinned: RRQ's own Python runner from the
# PyPI wheels rrq==0.9.9 (protocol 1) and rrq==0.11.1 (protocol 2), with the suite's handlers
# (upstream_handlers.py, started by upstream.sh). Each release's known failures are listed in
# rrq-RELEASE.expected; the run fails when a listed case passes or an unlisted one fails, so
# the lists are the measured results (docs/CONFORMANCE.md, "Peers") and evidence that the suite
# tells runners apart.
#
#   conformance/peers/run.sh                     # both releases: behaviour, framing, corpus
#   conformance/peers/run.sh --release 0.9.9 --suite behaviour
#   conformance/peers/run.sh --update            # rewrite the .expected lists from this run
#
# Installs the wheels on first use (upstream.sh); builds rrq-conformance.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
releases=(0.9.9 0.11.1)
update=0
suites=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) IFS=, read -r -a releases <<< "$2"; shift 2 ;;
    --update) update=1; shift ;;
    --suite) suites="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done

cargo build --quiet -p rrq-conformance --bin rrq-conformance
dir="${CARGO_TARGET_DIR:-target}"
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
suite="$dir/debug/rrq-conformance"
out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-peers.XXXXXX")"
trap 'rm -rf "$out"' EXIT

status=0
for release in "${releases[@]}"; do
  case "$release" in
    0.9.*) protocol=1 ;;
    *) protocol=2 ;;
  esac
  run_suites="$suites"
  if [ -z "$run_suites" ]; then
    run_suites=behaviour,framing
    [ -d "generated/v$protocol/golden" ] && run_suites="$run_suites,corpus"
  fi
  "$here/upstream.sh" "$release" --install
  list="$here/rrq-$release.expected"
  echo "== peers: rrq $release (protocol $protocol): $run_suites"
  args=(--runner "$here/upstream.sh $release" --protocol "$protocol" --suite "$run_suites" --json)
  if [ "$update" = 0 ] && [ -f "$list" ]; then
    args+=(--expected-failures "$list")
  fi
  start=$SECONDS
  if "$suite" "${args[@]}" "${extra[@]+"${extra[@]}"}" > "$out/$release.jsonl" 2> "$out/$release.log"; then
    echo "   $(sed -n 's/^rrq-conformance: \([0-9]* passed, .*\)$/\1/p' "$out/$release.log" | tail -n 1) ($((SECONDS - start)) s)"
  elif [ "$update" = 0 ]; then
    status=1
    echo "   FAILED: $(sed -n 's/^rrq-conformance: \([0-9]* passed, .*\)$/\1/p' "$out/$release.log" | tail -n 1) ($((SECONDS - start)) s)"
    grep -E '"result":"(fail|unexpected_pass)"' "$out/$release.jsonl" | cut -c1-400 | sed 's/^/   | /' || true
  fi
  if [ "$update" = 1 ]; then
    {
      echo "# rrq==$release (protocol $protocol), RRQ's own Python runner with upstream_handlers.py:"
      echo "# the cases it fails ($run_suites), as measured by conformance/peers/run.sh --update."
      for level in required recommended; do
        echo
        echo "# $level"
        grep -E "\"level\":\"$level\",\"result\":\"fail\"" "$out/$release.jsonl" | sed -n 's/^{"case":"\([^"]*\)".*/\1/p'
      done
    } > "$list"
    echo "   wrote $list ($(grep -c -v -e '^#' -e '^$' "$list") cases)"
  fi
done
exit "$status"
