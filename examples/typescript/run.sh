#!/usr/bin/env bash
# Starts the generated TypeScript runner (generated/typescript, npm package `rrq-runner`) with the
# example handlers of this folder, listening on RRQ_RUNNER_TCP_SOCKET (set by RRQ, or by you):
#
#   RRQ_RUNNER_TCP_SOCKET=127.0.0.1:9000 examples/typescript/run.sh
#   examples/typescript/run.sh --tcp-socket 127.0.0.1:9000
#
# It compiles first when it must (the package's dist/ and this folder's dist/handlers.js, when
# missing or older than their sources), with the TypeScript compiler of the README's set-up
# (tests/typescript/node_modules, from `npm ci` there); it installs nothing. `rrq-runner` is
# resolved through a link examples/typescript/node_modules/rrq-runner -> generated/typescript,
# as `npm install` of the package would. Extra arguments go to the runner.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
package="$root/generated/typescript"
tools="$root/tests/typescript/node_modules"

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
if stale "$here/dist/handlers.js" "$here/handlers.ts" "$here/tsconfig.json" "$package/dist/index.d.ts"; then
  echo "examples/typescript/run.sh: compiling handlers.ts" >&2
  compile -p "$here/tsconfig.json"
fi
# exec: the runner replaces this shell, so RRQ's signals (SIGTERM on shutdown) reach it.
exec node "$package/dist/cli.js" --handlers "$here/dist/handlers.js" "$@"
