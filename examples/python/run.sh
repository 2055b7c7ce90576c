#!/usr/bin/env bash
# Starts the generated Python runner (generated/python, package `rrq_runner`) with the example
# handlers of this folder:
#
#   examples/python/run.sh [--protocol 1|2] [--tcp-socket HOST:PORT] [runner options...]
#
# --protocol picks the protocol version (default: the latest, 2): 1 for RRQ 0.9.x, 2 for RRQ 0.10
# onward. The address comes from --tcp-socket, anywhere on the line (RRQ 0.11 appends it), or
# from RRQ_RUNNER_TCP_SOCKET (RRQ 0.9 sets it). Other arguments go to the runner (--verbose,
# --max-in-flight N).
#
# The package needs only the standard library, so nothing is installed: it runs from the
# generated sources. Set PYTHON to pick the interpreter (default: python3, 3.10 or later), e.g.
# a virtualenv where `pip install generated/python` was done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
protocol=2
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) protocol="${2:?--protocol needs 1 or 2}"; shift 2 ;;
    --protocol=*) protocol="${1#--protocol=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$protocol" in
  1|2) ;;
  *) echo "run.sh: --protocol must be 1 or 2, got $protocol" >&2; exit 2 ;;
esac
export PYTHONPATH="$here:$root/generated/python${PYTHONPATH:+:$PYTHONPATH}"
# exec: the runner replaces this shell, so it is the orchestrator's direct child (its signals
# reach it, and it notices when the orchestrator dies).
exec "${PYTHON:-python3}" -m rrq_runner --handlers "handlers:registry_v$protocol" ${args[@]+"${args[@]}"}
