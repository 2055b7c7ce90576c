#!/usr/bin/env bash
# The OpenTelemetry integration's cost per request (issue 15), in the Python and the TypeScript
# runner, outside the test command: tracing off against the runtime before the tracing hooks
# (BASELINE_REV's generated/python and generated/typescript), and tracing on with the API alone
# and with the SDK. See bench/py/otel_bench.py.
#
#   bench/py/otel_bench.sh [--quick] [--rev BASELINE_REV] [--lang py,ts]
#                                    # writes bench/results/otel-py.{md,json} and otel-ts.{md,json}
#
# Installs what it needs: bench/py/.venv (orjson and the OpenTelemetry API and SDK, pinned as in
# tests/python) and `npm ci` in tests/typescript (its compiler and OpenTelemetry packages). The
# Python runners run in accelerated mode (orjson), as the load benchmark's `py-accel`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REV=509d4ca   # main just before the tracing hooks were merged in (branch otel)
ROUNDS=30
REQUESTS=2000
LANGS="py,ts"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) ROUNDS=5; REQUESTS=500 ;;
        --rev) REV="$2"; shift ;;
        --lang) LANGS="$2"; shift ;;
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
git -C "$ROOT" archive "$REV" generated/python generated/typescript | tar -x -C "$SCRATCH"
mkdir -p "$ROOT/bench/results"
run() {  # run LANG PACKAGE BASELINE
    echo "== otel bench ($1): $ROUNDS rounds x $REQUESTS requests; baseline $REV; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    RRQ_RUNNER_ACCELERATE=1 "$VENV/bin/python" "$ROOT/bench/py/otel_bench.py" "$2" --baseline "$3" --lang "$1" \
        --rounds "$ROUNDS" --requests "$REQUESTS" --json "$ROOT/bench/results/otel-$1.json" --md "$ROOT/bench/results/otel-$1.md"
    echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}
case ",$LANGS," in *,py,*) run py "$ROOT/generated/python" "$SCRATCH/generated/python" ;; esac
case ",$LANGS," in *,ts,*)
    TESTS="$ROOT/tests/typescript"
    if [ ! -x "$TESTS/node_modules/.bin/tsc" ] || [ ! -d "$TESTS/node_modules/@opentelemetry/sdk-trace-base" ]; then
        (cd "$TESTS" && npm ci --no-audit --no-fund --silent)
    fi
    for side in current baseline; do
        src="$ROOT/generated/typescript"
        [ "$side" = baseline ] && src="$SCRATCH/generated/typescript"
        "$TESTS/node_modules/.bin/tsc" -p "$src/tsconfig.json" --outDir "$SCRATCH/ts-$side" --typeRoots "$TESTS/node_modules/@types"
        echo '{"type": "module"}' > "$SCRATCH/ts-$side/package.json"
    done
    run ts "$SCRATCH/ts-current" "$SCRATCH/ts-baseline" ;;
esac
