#!/usr/bin/env bash
# End-to-end test: the conformance suite (conformance/, binary rrq-conformance) against the
# generated Python and TypeScript runners (examples/*/run.sh), in both protocol versions, the way
# the RRQ orchestrators use a runner: the behaviour, framing and corpus suites at every level.
# Every case must pass against both runners (apart from the cases listed in
# tests/e2e/expected-failures/LANG-vN.txt, each with its reason), and every case's outcome must
# be byte-identical across the two runners (`rrq-conformance compare`; the differences known,
# with their reasons, in tests/e2e/expected-failures/known-differences.txt). The hostile and
# load suites run in tests/hostile.
#
#   tests/e2e/run.sh                              # both runners, both protocol versions
#   tests/e2e/run.sh --protocol 1 --lang python   # a subset
#   tests/e2e/run.sh --peers                      # also RRQ's own Python runners (rrq==0.9.9 and
#                                                 # 0.11.1 from PyPI), their known failures pinned
#                                                 # (conformance/peers/run.sh; about 1.5 min more)
#   RRQ_E2E_OUT=DIR tests/e2e/run.sh              # keep each run's JSON lines and stderr in DIR
#
# Self-contained: run it from anywhere. It builds the suite, and sets up what the runners need
# exactly as the README's set-up does (see tests/typescript/run.sh for the npm side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
. "$root/tests/e2e/runners.sh"

protocols=(1 2)
langs=(python typescript)
peers=0
while [ $# -gt 0 ]; do
  case "$1" in
    --peers) peers=1; shift ;;
    --protocol) IFS=, read -r -a protocols <<< "$2"; shift 2 ;;
    --lang) IFS=, read -r -a langs <<< "$2"; shift 2 ;;
    *) echo "tests/e2e/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

prepare_runners e2e
echo "== e2e: build rrq-conformance"
cargo build --quiet -p rrq-conformance --bin rrq-conformance
suite="$(target_dir)/debug/rrq-conformance"
for protocol in "${protocols[@]}"; do
  for lang in "${langs[@]}"; do warm_up "$suite" "$lang" "$protocol"; done
done

if [ -n "${RRQ_E2E_OUT:-}" ]; then
  out="$RRQ_E2E_OUT"
  mkdir -p "$out"
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-e2e.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi

status=0
for protocol in "${protocols[@]}"; do
  suites=behaviour,framing
  if [ -d "generated/v$protocol/golden" ]; then
    suites="$suites,corpus"
  else
    echo "== e2e: protocol $protocol: no generated/v$protocol/golden yet, the corpus suite is left out"
  fi
  runs=()
  for lang in "${langs[@]}"; do
    if ! command="$(runner_command "$lang" "$protocol")"; then
      echo "== e2e: protocol $protocol: examples/$lang/run.sh has no --protocol yet: skipped"
      continue
    fi
    echo "== e2e: protocol $protocol, examples/$lang/run.sh: $suites"
    run_suite "$suite" "$out/$lang-v$protocol" "$lang" "$protocol" --suite "$suites" || status=1
    runs+=("$lang=$out/$lang-v$protocol.jsonl")
  done
  if [ "${#runs[@]}" -gt 1 ]; then
    echo "== e2e: protocol $protocol: agreement"
    "$suite" compare --known-differences tests/e2e/expected-failures/known-differences.txt "${runs[@]}" \
      | tail -n 30 || status=1
  fi
done
if [ "$peers" = 1 ]; then
  conformance/peers/run.sh || status=1
fi
exit "$status"
