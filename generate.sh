#!/usr/bin/env bash
# Generates everything (schema, golden corpus, Python and TypeScript packages) from the
# built-in protocol into generated/.
set -euo pipefail
cd "$(dirname "$0")"
exec cargo run --quiet --release -p rrq-codegen -- generate "$@"
