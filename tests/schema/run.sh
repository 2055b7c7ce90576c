#!/usr/bin/env bash
# Validates the committed JSON Schema with a third-party validator (Python `jsonschema`) and
# compares its verdicts with the Rust crate's on the golden corpus. Installs into its own venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "jsonschema==4.25.1"
exec "$venv/bin/python" "$here/check_schema.py"
