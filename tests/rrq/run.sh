#!/usr/bin/env bash
# The generated runners under the real RRQ orchestrators (issue #13, item 6), and the tests of
# the parent-watch modules (templates/python/package/_lifecycle.py, templates/typescript/src/lifecycle.ts).
#
#   tests/rrq/run.sh [--quick] [--rrq 0.9.9,0.11.1] [--runner python,python-accel,typescript]
#                    [--scenario NAME,...] [--list] [--no-lifecycle] [--only-lifecycle]
#
# Self-contained on a fresh Debian machine, from any cwd. It installs what it needs:
#   - tests/rrq/.venv-0.9.9 and .venv-0.11.1: `pip install rrq==V` (the real orchestrator binary
#     `rrq` and its producer client, from PyPI);
#   - tests/rrq/.venv-runner: the interpreter of the Python runners, with orjson for the
#     accelerated mode (RRQ_RUNNER_ACCELERATE=1) and the OpenTelemetry SDK for the otel_trace
#     scenario, pinned as in tests/python;
#   - Debian's redis-server (apt-get) when it is missing;
#   - `npm ci` in tests/typescript (the TypeScript compiler examples/typescript/run.sh uses, and the
#     OpenTelemetry SDK of the otel_trace scenario), and
#     builds the TypeScript runner once so that RRQ does not wait for a compilation.
# It starts redis-server on a free loopback port and stops it on exit (also on failure), then runs
# driver.py (the matrix) and lifecycle/test_lifecycle.py. Exit status 1 when anything failed.
# See tests/rrq/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
releases=(0.9.9 0.11.1)
runner_tools="orjson==3.13.0 msgspec==0.22.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2"  # as tests/python pins them (opentelemetry: the otel_trace scenario)
static_tools="mypy==2.4.1 ruff==0.17.6"  # as tests/python pins them

lifecycle=1
matrix=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-lifecycle) lifecycle=0 ;;
    --only-lifecycle) matrix=0 ;;
    --list) exec "$python" "$here/driver.py" --list ;;
    *) args+=("$1") ;;
  esac
  shift
done

step() { printf '== rrq: %s\n' "$*"; }

venv() {  # venv DIR "PACKAGES": a virtualenv with exactly these pinned packages
  local dir="$1" packages="$2"
  if [ "$(cat "$dir/.packages" 2>/dev/null || true)" != "$packages" ]; then
    step "virtualenv $(basename "$dir"): $packages"
    rm -rf "$dir"
    "$python" -m venv "$dir"
    # shellcheck disable=SC2086
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check $packages
    echo "$packages" > "$dir/.packages"
  fi
}

if [ "$matrix" = 1 ]; then
  for release in "${releases[@]}"; do
    venv "$here/.venv-$release" "rrq==$release"
  done
  venv "$here/.venv-runner" "$runner_tools"

  if ! command -v redis-server > /dev/null; then
    step "installing redis-server (apt-get)"
    if [ "$(id -u)" != 0 ]; then
      echo "tests/rrq/run.sh: redis-server is missing; install it (apt-get install redis-server)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq redis-server > /dev/null 2>&1 \
      || { apt-get update -qq > /dev/null && apt-get install -y -qq redis-server > /dev/null; }
  fi
fi

if [ ! -x "$root/tests/typescript/node_modules/.bin/tsc" ] || [ ! -d "$root/tests/typescript/node_modules/@opentelemetry/sdk-trace-base" ]; then
  step "npm ci in tests/typescript (the TypeScript compiler, the OpenTelemetry SDK of otel_trace)"
  (cd "$root/tests/typescript" && npm ci --no-audit --no-fund --silent)
fi

status=0
if [ "$matrix" = 1 ]; then
  step "building the TypeScript runner (examples/typescript/run.sh compiles when stale, on its first start)"
  warm="$(mktemp)"
  "$root/examples/typescript/run.sh" --protocol 2 --tcp-socket 127.0.0.1:0 --verbose 2> "$warm" &
  warm_pid=$!
  for _ in $(seq 600); do
    grep -q "listening on" "$warm" && break
    kill -0 "$warm_pid" 2> /dev/null || break
    sleep 0.1
  done
  kill "$warm_pid" 2> /dev/null || true
  wait "$warm_pid" 2> /dev/null || true
  grep -q "listening on" "$warm" || { cat "$warm" >&2; echo "the TypeScript runner did not start" >&2; exit 1; }
  rm -f "$warm"

  scratch="$(mktemp -d "${TMPDIR:-/tmp}/rrq-redis.XXXXXX")"
  redis_pid=""
  cleanup() {
    if [ -n "$redis_pid" ]; then
      kill "$redis_pid" 2> /dev/null || true
      wait "$redis_pid" 2> /dev/null || true
    fi
    rm -rf "$scratch"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$scratch" \
    --logfile "$scratch/redis.log" --databases 16 &
  redis_pid=$!
  for _ in $(seq 100); do
    if "$here/.venv-${releases[0]}/bin/python" -c "import redis, sys; redis.Redis(port=int(sys.argv[1])).ping()" "$port" 2> /dev/null; then
      break
    fi
    sleep 0.05
  done
  step "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$port (pid $redis_pid)"

  export RRQ_TEST_REDIS_URL="redis://127.0.0.1:$port"
  export RRQ_TEST_RUNNER_PYTHON="$here/.venv-runner/bin/python"
  export PYTHONDONTWRITEBYTECODE=1
  start=$SECONDS
  "$python" "$here/driver.py" "${args[@]+"${args[@]}"}" || status=1
  step "matrix done in $((SECONDS - start)) s"
fi

if [ "$lifecycle" = 1 ]; then
  step "parent watch: mypy --strict and ruff over templates/python/package/_lifecycle.py"
  venv "$here/.venv-tools" "$static_tools"
  checks="$(mktemp -d "${TMPDIR:-/tmp}/rrq-lifecycle.XXXXXX")"
  mkdir "$checks/pkg"
  touch "$checks/pkg/__init__.py"
  tail -n +2 "$root/templates/python/package/_lifecycle.py" > "$checks/pkg/_lifecycle.py"  # minus the header line
  (cd "$checks" \
    && MYPY_CACHE_DIR="$checks/.mypy" "$here/.venv-tools/bin/mypy" --strict --python-version 3.10 pkg \
    && RUFF_CACHE_DIR="$checks/.ruff" "$here/.venv-tools/bin/ruff" check --quiet --target-version py310 --line-length 120 pkg) \
    || status=1
  rm -rf "$checks"
  step "parent watch: a child ends within 1 s of its parent's death (Python and TypeScript)"
  PYTHONDONTWRITEBYTECODE=1 "$python" "$here/lifecycle/test_lifecycle.py" || status=1
fi
exit "$status"
