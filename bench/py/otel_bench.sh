#!/usr/bin/env bash
# The OpenTelemetry integration's cost per request in the Python runner (issue 15), outside the
# test command: tracing off against the runtime before the tracing hooks (BASELINE_REV's
# generated/python), and tracing on with opentelemetry-api alone and with the SDK.
#
#   bench/py/otel_bench.sh [--quick] [--rev BASELINE_REV]     # writes bench/results/otel-py.{md,json}
#
# Installs its own venv (bench/py/.venv: orjson and the OpenTelemetry API and SDK, pinned as in
# tests/python). The runners run in accelerated mode (orjson), as the load benchmark's `py-accel`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REV=da66063   # the last commit before the tracing hooks (branch otel)
ROUNDS=30
REQUESTS=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) ROUNDS=5; REQUESTS=500 ;;
        --rev) REV="$2"; shift ;;
        *) echo "otel_bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
TOOLS="orjson==3.13.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2"
VENV="$ROOT/bench/py/.venv"
if [ "$(cat "$VENV/.tools" 2>/dev/null || true)" != "$TOOLS" ]; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $TOOLS
    echo "$TOOLS" > "$VENV/.tools"
fi
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
git -C "$ROOT" archive "$REV" generated/python | tar -x -C "$SCRATCH"
mkdir -p "$ROOT/bench/results"
echo "== otel bench: $ROUNDS rounds x $REQUESTS requests; baseline $REV; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RRQ_RUNNER_ACCELERATE=1 "$VENV/bin/python" "$ROOT/bench/py/otel_bench.py" "$ROOT/generated/python" \
    --baseline "$SCRATCH/generated/python" --rounds "$ROUNDS" --requests "$REQUESTS" \
    --json "$ROOT/bench/results/otel-py.json" --md "$ROOT/bench/results/otel-py.md"
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
