#!/usr/bin/env bash
# A schema written by someone else (no x-rrq, no runner roles; codegen/tests/foreign.rs defines
# its Rust types and makes its frames): the rendered packages type-check (mypy --strict, ruff) and
# every Rust-made frame round-trips byte for byte (checked by the Rust test itself in Python).
# Uses the Python test venv (tests/python/run.sh creates it; test.sh runs that first).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv=tests/python/.venv
if [ ! -x "$venv/bin/mypy" ]; then
  echo "foreign schema: no mypy in $venv: run tests/python/run.sh first" >&2
  exit 1
fi
out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-foreign.XXXXXX")"
trap 'rm -rf "$out"' EXIT
echo "== foreign schema: render from the schema alone, round-trip Rust-made frames (Python)"
RRQ_FOREIGN_OUT="$out" PYTHON="$root/$venv/bin/python" cargo test --quiet -p rrq-codegen --test foreign -- --nocapture
[ -f "$out/gen/python/billing_message/__init__.py" ] || { echo "foreign schema: nothing rendered" >&2; exit 1; }
echo "== foreign schema: mypy --strict and ruff on the rendered Python package"
(cd "$out/gen/python" && "$root/$venv/bin/mypy" --strict billing_message && "$root/$venv/bin/ruff" check billing_message)
