#!/usr/bin/env bash
# Starts the generated Python runner (generated/python, package `rrq_runner`) with the example
# handlers of this folder, listening on RRQ_RUNNER_TCP_SOCKET (set by RRQ, or by you):
#
#   RRQ_RUNNER_TCP_SOCKET=127.0.0.1:9000 examples/python/run.sh
#   examples/python/run.sh --tcp-socket 127.0.0.1:9000
#
# The package needs only the standard library, so nothing is installed: it runs from the
# generated sources. Set PYTHON to pick the interpreter (default: python3, 3.10 or later), e.g.
# a virtualenv where `pip install generated/python` was done. Extra arguments go to the runner.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PYTHONPATH="$here:$root/generated/python${PYTHONPATH:+:$PYTHONPATH}"
# exec: the runner replaces this shell, so RRQ's signals (SIGTERM on shutdown) reach it.
exec "${PYTHON:-python3}" -m rrq_runner --handlers handlers:registry "$@"
