#!/usr/bin/env bash
# Tests of the generated Python package (generated/python), self-contained from any cwd:
#   - a venv of its own (tests/python/.venv) with the pinned test tools and the `fast` extra's
#     accelerators (msgspec, orjson);
#   - mypy --strict and ruff check over generated/python;
#   - the pytest suite (golden corpus, models, runtime over loopback, CLI) for every protocol
#     version module (rrq_runner.v1, v2, ...), in stdlib mode and in accelerated (msgspec + orjson) mode;
#   - the package pip-installs into a fresh venv and `python -m rrq_runner --help` works from it;
#     without the `otel` extra nothing imports OpenTelemetry and `rrq_runner.otel` names the extra;
#     mypy --strict passes on the installed package without the extras and with them (`[fast]`).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
TOOLS="pytest==9.2.0 mypy==2.4.1 ruff==0.17.6 orjson==3.13.0 msgspec==0.22.0 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.tools" 2>/dev/null || true)" != "$TOOLS" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $TOOLS
    echo "$TOOLS" > "$VENV/.tools"
fi

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cd "$ROOT"
VERSIONS="$(ls -d generated/v*/ | sed 's|generated/v||; s|/||' | sort -n)"
mkdir -p "$SCRATCH/ir"
for version in $VERSIONS; do
    cargo run --quiet -p rrq-codegen -- ir --protocol "$version" > "$SCRATCH/ir/v$version.json"
done
export RRQ_IR_DIR="$SCRATCH/ir"
export RRQ_PYTHON_PACKAGE="$ROOT/generated/python"
export MYPY_CACHE_DIR="$VENV/.mypy_cache" RUFF_CACHE_DIR="$VENV/.ruff_cache" PYTHONDONTWRITEBYTECODE=1

echo "== python: mypy --strict, ruff check (generated/python)"
(cd generated/python && "$VENV/bin/mypy" --strict rrq_runner && "$VENV/bin/ruff" check rrq_runner)

for version in $VERSIONS; do
    for mode in 0 1; do
        echo "== python: pytest, protocol $version, $([ $mode = 0 ] && echo stdlib || echo accelerated) mode"
        RRQ_RUNNER_ACCELERATE=$mode "$VENV/bin/python" -c \
            "import sys; sys.path.insert(0, 'generated/python'); import rrq_runner; assert rrq_runner.ACCELERATED == bool($mode)"
        RRQ_TEST_PROTOCOL=$version RRQ_RUNNER_ACCELERATE=$mode "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE"
    done
done

echo "== python: pip install into a fresh venv"
cp -r generated/python "$SCRATCH/package"
"$PYTHON" -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$SCRATCH/package"
(cd "$SCRATCH" && "$SCRATCH/venv/bin/python" -m rrq_runner --help > /dev/null && "$SCRATCH/venv/bin/rrq-runner" --help > /dev/null)
echo "== python: mypy --strict on the installed package, without and with the fast extra"
"$VENV/bin/mypy" --strict --no-incremental --python-executable "$SCRATCH/venv/bin/python" -p rrq_runner
"$PYTHON" -m venv "$SCRATCH/venv-fast"
"$SCRATCH/venv-fast/bin/python" -m pip install --quiet --disable-pip-version-check "$SCRATCH/package[fast]"
"$VENV/bin/mypy" --strict --no-incremental --python-executable "$SCRATCH/venv-fast/bin/python" -p rrq_runner
(cd "$SCRATCH" && RRQ_RUNNER_ACCELERATE=1 "$SCRATCH/venv-fast/bin/python" -c "
import rrq_runner, rrq_runner.v1._fast, rrq_runner.v2._fast
assert rrq_runner.ACCELERATED and rrq_runner.v1._fast.decode is not None and rrq_runner.v2._fast.decode is not None
print('installed rrq-runner[fast]: accelerated')")
(cd "$SCRATCH" && "$SCRATCH/venv/bin/python" -c "
import sys
import rrq_runner, rrq_runner.v1, rrq_runner.v2
assert not rrq_runner.ACCELERATED
assert rrq_runner.Registry().version == rrq_runner.PROTOCOL_VERSION == rrq_runner.v2.PROTOCOL_VERSION
assert rrq_runner.v1.Registry().version == rrq_runner.v1.PROTOCOL_VERSION
assert not any(m.startswith('opentelemetry') for m in sys.modules)
try:
    import rrq_runner.otel
except ImportError as exc:
    assert 'rrq-runner[otel]' in str(exc), exc
else:
    raise AssertionError('rrq_runner.otel imported without opentelemetry-api')
print('installed rrq-runner', rrq_runner.__version__, 'protocols', rrq_runner.v1.PROTOCOL_VERSION, rrq_runner.v2.PROTOCOL_VERSION)")
"$SCRATCH/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$SCRATCH/package[otel]"
(cd "$SCRATCH" && "$SCRATCH/venv/bin/python" -c "
from rrq_runner import otel
otel.enable()
assert otel.is_enabled()
print('installed rrq-runner[otel]: tracing enables')")
