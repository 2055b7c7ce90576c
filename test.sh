#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what it needs itself (cargo crates, Python venvs,
# npm ci). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== [%4ds] %s\n' "$SECONDS" "$*"; }
trap 'printf "\n== [%4ds] done\n" "$SECONDS"' EXIT

step "rust: workspace tests (serde_json with preserve_order, unified from codegen)"
cargo test --workspace --quiet

step "rust: rrq-protocol built alone (serde_json without preserve_order): same canonical bytes"
cargo test -p rrq-protocol --quiet

step "codegen: generated/ is exactly what the generator produces"
cargo run --quiet -p rrq-codegen -- check

step "schema: draft 2020-12 metaschema and verdicts against the Rust crate (Python jsonschema)"
tests/schema/run.sh

step "python: generated package (mypy --strict, ruff, pytest in stdlib and accelerated mode, pip install)"
tests/python/run.sh

step "typescript: generated package (tsc --strict, node:test, npm pack)"
tests/typescript/run.sh

step "foreign schema (no x-rrq, no roles): codec rendered from the schema alone, type-checked, Rust frames round-trip in Python and TypeScript"
tests/foreign/run.sh

step "schema: compatibility with the latest release (rrq-codegen diff) and version skew"
tests/diff/run.sh

step "differential fuzzing: Rust, Python (both modes) and TypeScript agree on IR-generated inputs (10 000 per protocol version)"
tests/differential/run.sh 10000

step "end to end: rrq-conformance (behaviour, framing, corpus over the wire) against the Python and TypeScript runners, both protocol versions"
tests/e2e/run.sh

step "the real RRQ orchestrators (0.9.9: protocol 1, 0.11.1: protocol 2, from PyPI, with Redis) drive every runner; parent watch"
tests/rrq/run.sh

step "rrq-conformance hostile and load suites against both runners, both versions (bad frames, slow and idle clients, floods, memory bounds)"
tests/hostile/run.sh
