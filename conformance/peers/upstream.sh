#!/usr/bin/env bash
# RRQ's own Python runner from the PyPI wheel, with the suite's handlers (upstream_handlers.py):
# a peer the conformance suite measures (docs/CONFORMANCE.md, "Peers").
#
#   conformance/peers/upstream.sh 0.9.9  [runner options]   # protocol 1 (address: RRQ_RUNNER_TCP_SOCKET)
#   conformance/peers/upstream.sh 0.11.1 [runner options]   # protocol 2 (address: --tcp-socket HOST:PORT)
#   conformance/peers/upstream.sh 0.9.9 --install           # only install the wheel
#
# Installs `rrq==RELEASE` into conformance/peers/.venv-RELEASE on first use (pip, from PyPI), then
# `exec`s its `rrq-runner --settings upstream_handlers.settings` with the remaining arguments.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
release="${1:?usage: upstream.sh RELEASE [runner options]}"
shift
venv="$here/.venv-$release"
if [ "$(cat "$venv/.packages" 2>/dev/null || true)" != "rrq==$release" ]; then
  echo "conformance/peers/upstream.sh: installing rrq==$release into $venv" >&2
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "rrq==$release" >&2
  echo "rrq==$release" > "$venv/.packages"
fi
if [ "${1:-}" = "--install" ]; then
  exit 0
fi
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/rrq-runner" --settings upstream_handlers.settings "$@"
