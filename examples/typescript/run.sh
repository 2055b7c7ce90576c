#!/usr/bin/env bash
# Starts the generated TypeScript runner (generated/typescript, npm package `rrq-runner`) with the
# example handlers of this folder, in one protocol version:
#
#   examples/typescript/run.sh [--protocol 1|2] [--tcp-socket HOST:PORT] [runner arguments...]
#
#   --protocol N           the protocol version to serve: 1 (RRQ 0.9.x) or 2 (RRQ 0.10 onward,
#                          including 0.11.1); default: the latest the package has
#   --tcp-socket HOST:PORT the address (anywhere on the line, as RRQ 0.11 appends it); without
#                          it, RRQ_RUNNER_TCP_SOCKET (as RRQ 0.9 sets it)
#   anything else goes to the runner (`--max-in-flight N`, `--verbose`: print the address
#   listened on; a runner prints nothing on a normal start, since RRQ logs its output as warnings)
#
# It compiles first when it must (the package's dist/ and this folder's dist/, when missing or
# older than their sources), with the TypeScript compiler of the README's set-up
# (tests/typescript/node_modules, from `npm ci` there); it installs nothing. `rrq-runner` is
# resolved through a link examples/typescript/node_modules/rrq-runner -> generated/typescript,
# as `npm install` of the package would.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
package="$root/generated/typescript"
tools="$root/tests/typescript/node_modules"

usage() {
  echo "usage: examples/typescript/run.sh [--protocol N] [--tcp-socket HOST:PORT] [runner arguments...]" >&2
  exit 2
}

# The protocol versions the package serves (its src/v<N> folders), oldest first.
available=()
for dir in "$package"/src/v*/; do
  [ -d "$dir" ] && available+=("$(basename "$dir" | sed 's/^v//')")
done
[ "${#available[@]}" -gt 0 ] || { echo "examples/typescript/run.sh: no protocol versions under $package/src" >&2; exit 1; }
IFS=$'\n' available=($(printf '%s\n' "${available[@]}" | sort -n)); unset IFS
protocol="${available[${#available[@]}-1]}"

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --protocol) [ $# -ge 2 ] || usage; protocol="$2"; shift 2 ;;
    --protocol=*) protocol="${1#--protocol=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
case " ${available[*]} " in
  *" $protocol "*) ;;
  *) echo "examples/typescript/run.sh: unknown protocol version \"$protocol\" (the package serves: ${available[*]})" >&2; exit 2 ;;
esac

[ -e "$here/v$protocol/handlers.ts" ] || { echo "examples/typescript/run.sh: no example handlers for protocol $protocol ($here/v$protocol/handlers.ts)" >&2; exit 2; }

# Is $1 missing, or older than any file under the rest of the arguments?
stale() {
  local target="$1"
  shift
  [ ! -e "$target" ] || [ -n "$(find "$@" -newer "$target" -print -quit)" ]
}

compile() {
  if [ ! -x "$tools/.bin/tsc" ]; then
    echo "examples/typescript/run.sh: no TypeScript compiler at $tools/.bin/tsc;" \
      "do the README set-up first (npm ci in tests/typescript)" >&2
    exit 1
  fi
  "$tools/.bin/tsc" --typeRoots "$tools/@types" "$@" >&2
}

if stale "$package/dist/cli.js" "$package/src" "$package/tsconfig.json"; then
  echo "examples/typescript/run.sh: building generated/typescript" >&2
  compile -p "$package/tsconfig.json"
fi
mkdir -p "$here/node_modules"
if [ ! -e "$here/node_modules/rrq-runner" ]; then
  ln -sfn ../../../generated/typescript "$here/node_modules/rrq-runner"
fi
handlers="$here/dist/v$protocol/handlers.js"
if stale "$handlers" "$here/common.ts" "$here/handlers.ts" "$here/v$protocol" "$here/tsconfig.json" "$package/dist/v$protocol/index.d.ts"; then
  echo "examples/typescript/run.sh: compiling the example handlers" >&2
  compile -p "$here/tsconfig.json"
fi
# exec: the runner replaces this shell, so RRQ's signals (SIGTERM on shutdown) reach it.
exec node "$package/dist/cli.js" --handlers "$handlers" ${args[@]+"${args[@]}"}
