#!/usr/bin/env bash
# Benchmarks of the generated bindings (issue 7), outside the test command:
#   codec-py  Python codec micro-benchmarks over samples like an orchestrator's (random UUIDs,
#             trace contexts; protocols 1 and 2; floor json.loads / JSONEncoder; peers pydantic v2
#             strict, msgspec; ours in stdlib and accelerated mode), interleaved in one process
#   codec-ts  TypeScript codec micro-benchmarks, protocols 1 and 2 (floor JSON.parse /
#             JSON.stringify; peers zod, valibot, ajv compiled from generated/vN/schema.json;
#             ours from generated/typescript/dist)
#   load      runner throughput, both protocol versions in one interleaved run: the Rust load
#             generator (rrq-bench load, speaking each runner's version) against, per version,
#             the raw echo runners (the floor: asyncio.Protocol / node:net), the generated
#             Python (stdlib and accelerated) and TypeScript runners, RRQ's own Python runner of
#             that version (PyPI: rrq 0.9.9 for protocol 1, rrq 0.11.1 for 2) and the Rust
#             reference runner; four modes
#   codegen   `rrq-codegen generate` / `check` wall time (release build)
#
#   ./bench.sh                    # everything (~9 min); writes bench/results/latest.{md,json}
#   ./bench.sh --quick            # everything, short (~2 min); writes bench/results/quick.{md,json}
#   ./bench.sh --only codec-py,load [--quick]   # a subset; writes bench/results/partial.{md,json}
#   ./bench.sh --profile          # also write pyinstrument profiles of our Python codec and a
#                                 # node --cpu-prof of our TypeScript codec to bench/results/profiles/
#
# It installs what it needs itself: bench/.venv (pydantic, msgspec, orjson, pyinstrument),
# the rrq==0.9.9 and rrq==0.11.1 wheels (conformance/peers/upstream.sh, for their runners),
# `npm ci` in bench/ (zod, ajv, valibot), `npm ci` in tests/typescript when its TypeScript
# compiler is missing (the README's set-up, used to build generated/typescript/dist), and release
# builds of rrq-codegen and the conformance crate's rrq-bench and rrq-reference-runner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$ROOT/bench"
ALL="codec-py,codec-ts,load,codegen"
QUICK=0
ONLY="$ALL"
PROFILE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --only) ONLY="$2"; shift ;;
        --only=*) ONLY="${1#--only=}" ;;
        --profile) PROFILE=1 ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for part in ${ONLY//,/ }; do
    case ",$ALL," in *",$part,"*) ;; *) echo "bench.sh: unknown part $part (parts: $ALL)" >&2; exit 2 ;; esac
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
if [ "$ONLY" != "$ALL" ]; then NAME=partial; elif [ $QUICK = 1 ]; then NAME=quick; else NAME=latest; fi

if [ $QUICK = 1 ]; then
    PY_ROUNDS=10; TS_ROUNDS=16; LOAD_ROUNDS=2; SLICE_MS=400; WARMUP_MS=100; CG_RUNS=3
else
    # load: 14 runners x 4 modes x (5 x 1.2 s + 0.5 s warm-up) = about 6 min
    PY_ROUNDS=150; TS_ROUNDS=250; LOAD_ROUNDS=5; SLICE_MS=1200; WARMUP_MS=500; CG_RUNS=15
fi

start=$SECONDS
RUN="$(mktemp -d)"
trap 'rm -rf "$RUN"' EXIT
mkdir -p "$BENCH/results"
cd "$ROOT"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== build (release): rrq-codegen, rrq-bench, rrq-reference-runner" >&2
cargo build --quiet --release -p rrq-codegen -p rrq-conformance \
    --bin rrq-codegen --bin rrq-bench --bin rrq-reference-runner
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
"$BIN/rrq-bench" fixtures --out "$RUN/fixtures"
"$BIN/rrq-bench" fixtures --protocol 2 --out "$RUN/fixtures-v2"

# msgspec and orjson are also the `fast` extra of the generated package (its accelerated mode).
PY_TOOLS="pydantic==2.14.3 msgspec==0.22.0 orjson==3.13.0 pyinstrument==5.1.3"
VPY="$BENCH/.venv/bin/python"
if want codec-py || want load; then
    if [ ! -x "$VPY" ]; then
        echo "== python venv (bench/.venv)" >&2
        "${PYTHON:-python3}" -m venv "$BENCH/.venv"
    fi
    if [ "$(cat "$BENCH/.venv/.tools" 2>/dev/null || true)" != "$PY_TOOLS" ]; then
        "$VPY" -m pip install --quiet --disable-pip-version-check $PY_TOOLS
        echo "$PY_TOOLS" > "$BENCH/.venv/.tools"
    fi
fi
# RRQ's own Python runners (`rrq-runner` of the PyPI wheels, with the suite's handlers
# conformance/peers/upstream_handlers.py) join the load run as peers: rrq 0.9.9 speaks protocol
# "1" (address in RRQ_RUNNER_TCP_SOCKET), rrq 0.11.1 protocol "2" (--tcp-socket appended).
# conformance/peers/upstream.sh installs each wheel into its own virtualenv once (the same ones
# the conformance peers and tests/rrq use) and starts it. RRQ's TypeScript runner (rrq-ts) is
# not published to the npm registry, so it is not a peer here.
UPSTREAM="$ROOT/conformance/peers/upstream.sh"
upstream_of() { case "$1" in 1) echo 0.9.9 ;; 2) echo 0.11.1 ;; esac; }
if want load; then
    for protocol in 1 2; do
        "$UPSTREAM" "$(upstream_of $protocol)" --install
    done
fi

if want codec-ts || want load; then
    if [ ! -d "$BENCH/node_modules" ] || [ "$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]; then
        echo "== npm ci (bench)" >&2
        (cd "$BENCH" && npm ci --no-audit --no-fund --silent)
    fi
    TOOLS="$ROOT/tests/typescript/node_modules"
    if [ ! -x "$TOOLS/.bin/tsc" ]; then
        echo "== npm ci (tests/typescript: the TypeScript compiler of the README set-up)" >&2
        (cd "$ROOT/tests/typescript" && npm ci --no-audit --no-fund --silent)
    fi
    PKG="$ROOT/generated/typescript"
    if [ ! -e "$PKG/dist/index.js" ] || [ -n "$(find "$PKG/src" "$PKG/tsconfig.json" -newer "$PKG/dist/index.js" -print -quit)" ]; then
        echo "== tsc (generated/typescript/dist)" >&2
        "$TOOLS/.bin/tsc" -p "$PKG/tsconfig.json" --typeRoots "$TOOLS/@types"
    fi
fi

if want codec-py; then
    echo "== python codec ($PY_ROUNDS rounds)" >&2
    prof=()
    [ $PROFILE = 1 ] && prof=(--profile "$BENCH/results/profiles")
    "$VPY" "$BENCH/py/codec_bench.py" "$RUN/fixtures" "$ROOT/generated/python" \
        --rounds "$PY_ROUNDS" --json "$RUN/codec-py.json" "${prof[@]}"
    if [ $PROFILE = 1 ]; then
        "$VPY" "$BENCH/py/decompose.py" "$RUN/fixtures" "$ROOT/generated/python" > "$BENCH/results/profiles/decompose-py.txt"
    fi
fi

if want codec-ts; then
    echo "== typescript codec ($TS_ROUNDS rounds)" >&2
    node "$BENCH/ts/codec_bench.mjs" "$RUN/fixtures" "$ROOT/generated/typescript/dist" \
        "$ROOT/generated/v1/schema.json" --v2 "$RUN/fixtures-v2" "$ROOT/generated/v2/schema.json" \
        --rounds "$TS_ROUNDS" --json "$RUN/codec-ts.json"
    if [ $PROFILE = 1 ]; then
        mkdir -p "$BENCH/results/profiles"
        node --cpu-prof --cpu-prof-dir="$RUN/cpuprof" "$BENCH/ts/codec_bench.mjs" "$RUN/fixtures" \
            "$ROOT/generated/typescript/dist" "$ROOT/generated/v1/schema.json" \
            --rounds 60 --only-ours > /dev/null 2>&1
        node "$BENCH/ts/cpuprof_top.mjs" "$RUN"/cpuprof/*.cpuprofile > "$BENCH/results/profiles/profile-ts-codec.txt"
        node "$BENCH/ts/decompose.mjs" "$RUN/fixtures" "$ROOT/generated/typescript/dist" > "$BENCH/results/profiles/decompose-ts.txt"
    fi
fi

if want load; then
    echo "== runner throughput, protocols 1 and 2 in one run ($LOAD_ROUNDS rounds x $SLICE_MS ms per mode and runner)" >&2
    PYENV="env PYTHON=$VPY"
    # Per protocol version: the floors, ours, RRQ's own runner of that version, the Rust
    # reference. `LABEL@N`: rrq-bench speaks protocol N to it and hands it the address as the
    # orchestrator of N does (1: RRQ_RUNNER_TCP_SOCKET; 2: --tcp-socket HOST:PORT appended).
    targets=()
    for p in 1 2; do
        up="$(upstream_of $p)"
        targets+=(
            --target "raw-py@$p=$VPY $BENCH/raw/echo_raw.py"
            --target "py@$p=$PYENV RRQ_RUNNER_ACCELERATE=0 $ROOT/examples/python/run.sh --protocol $p"
            --target "py-accel@$p=$PYENV RRQ_RUNNER_ACCELERATE=1 $ROOT/examples/python/run.sh --protocol $p"
            --target "up-$up@$p=$UPSTREAM $up"
            --target "raw-ts@$p=node $BENCH/raw/echo_raw.mjs"
            --target "ts@$p=$ROOT/examples/typescript/run.sh --protocol $p"
            --target "rust-ref@$p=$BIN/rrq-reference-runner --protocol $p"
        )
    done
    "$BIN/rrq-bench" load "${targets[@]}" \
        --rounds "$LOAD_ROUNDS" --slice-ms "$SLICE_MS" --warmup-ms "$WARMUP_MS" > "$RUN/load.json"
fi

if want load && [ $PROFILE = 1 ]; then
    echo "== profiles of the runners under load (16 connections): pyinstrument, node --cpu-prof" >&2
    P="$BENCH/results/profiles"
    mkdir -p "$P" "$RUN/cpuprof-ts" "$RUN/cpuprof-raw"
    "$BIN/rrq-bench" load --protocol 1 --mode conns16 --rounds 1 --slice-ms 4000 --warmup-ms 200 \
        --target "py=env PYTHON=$BENCH/py/pyinstrument-python RRQ_BENCH_PROFILE=$RUN/py.json RRQ_RUNNER_ACCELERATE=1 $ROOT/examples/python/run.sh --protocol 1" \
        --target "raw-py=env RRQ_BENCH_PROFILE=$RUN/raw-py.json $BENCH/py/pyinstrument-python $BENCH/raw/echo_raw.py" \
        --target "ts=node --cpu-prof --cpu-prof-dir=$RUN/cpuprof-ts $ROOT/generated/typescript/dist/cli.js --handlers $ROOT/examples/typescript/dist/v1/handlers.js" \
        --target "raw-ts=node --cpu-prof --cpu-prof-dir=$RUN/cpuprof-raw $BENCH/raw/echo_raw.mjs" > "$P/profiled-load.json"
    "$VPY" "$BENCH/py/flat_profile.py" "$RUN/py.json" > "$P/profile-py-runner.txt" || true
    "$VPY" "$BENCH/py/flat_profile.py" "$RUN/raw-py.json" > "$P/profile-py-raw-runner.txt" || true
    node "$BENCH/ts/cpuprof_top.mjs" "$RUN"/cpuprof-ts/*.cpuprofile > "$P/profile-ts-runner.txt" || true
    node "$BENCH/ts/cpuprof_top.mjs" "$RUN"/cpuprof-raw/*.cpuprofile > "$P/profile-ts-raw-runner.txt" || true
fi

if want codegen; then
    echo "== codegen ($CG_RUNS runs)" >&2
    python3 "$BENCH/py/codegen_time.py" "$BIN/rrq-codegen" "$CG_RUNS" "$RUN/codegen.json"
fi

versions="Python $(python3 -c 'import platform; print(platform.python_version())'), Node $(node --version), $(rustc --version | cut -d' ' -f1-2)"
python3 - "$RUN/meta.json" <<EOF
import json, os, subprocess, sys, datetime
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd="$ROOT").stdout.strip()
json.dump({"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
           "nproc": os.cpu_count(), "cpu": cpu, "load_start": "$load_start",
           "load_end": " ".join(open("/proc/loadavg").read().split()[:3]), "quick": $QUICK == 1,
           "parts": "$ONLY", "versions": "$versions", "wall_s": $SECONDS - $start}, open(sys.argv[1], "w"))
EOF
python3 "$BENCH/report.py" "$RUN" "$BENCH/results/$NAME"
echo "== bench.sh: wrote bench/results/$NAME.md and .json in $((SECONDS - start)) s" >&2
