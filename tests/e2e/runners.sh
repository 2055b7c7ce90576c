# Shared by tests/e2e/run.sh and tests/hostile/run.sh (sourced): how the example runners are
# started for a protocol version, and how one rrq-conformance run is reported.

# The set-up the README describes: the TypeScript compiler (npm ci in tests/typescript).
prepare_runners() {
  local what="$1"
  if [ ! -x "$root/tests/typescript/node_modules/.bin/tsc" ]; then
    echo "== $what: npm ci in tests/typescript (the TypeScript compiler examples/typescript/run.sh uses)"
    (cd "$root/tests/typescript" && npm ci --no-audit --no-fund --silent)
  fi
}

# warm_up SUITE LANG PROTOCOL: starts the runner once (one quick case), so that a run.sh that
# compiles when stale (TypeScript) has compiled before the runs that watch its output and time.
warm_up() {
  local command
  command="$(runner_command "$2" "$3")" || return 0
  "$1" --runner "$command" --protocol "$3" --suite behaviour --case behaviour/probe_harmless > /dev/null 2>&1 || true
}

target_dir() {
  local dir="${CARGO_TARGET_DIR:-target}"
  case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
  printf '%s\n' "$dir"
}

# runner_command LANG PROTOCOL: the command line that starts the example runner of LANG for
# PROTOCOL; fails when its run.sh does not know --protocol yet and PROTOCOL is not 1 (the
# runners of that time speak only protocol 1).
runner_command() {
  local script="$root/examples/$1/run.sh"
  if grep -q -- '--protocol' "$script"; then
    printf '%s --protocol %s\n' "$script" "$2"
  elif [ "$2" = 1 ]; then
    printf '%s\n' "$script"
  else
    return 1
  fi
}

# run_suite SUITE OUT LANG PROTOCOL ARGS...: one rrq-conformance run, its JSON lines in OUT.jsonl
# and its stderr in OUT.log; prints the closing line and every failing case with its problems.
run_suite() {
  local suite="$1" out="$2" lang="$3" protocol="$4"
  shift 4
  local command start=$SECONDS xfail=()
  command="$(runner_command "$lang" "$protocol")"
  local list="$root/tests/e2e/expected-failures/$lang-v$protocol.txt"
  [ -f "$list" ] && xfail=(--expected-failures "$list")
  if "$suite" --runner "$command" --protocol "$protocol" --json "${xfail[@]+"${xfail[@]}"}" "$@" \
      > "$out.jsonl" 2> "$out.log"; then
    echo "   $(summary "$out.log") ($((SECONDS - start)) s)"
    return 0
  fi
  echo "   FAILED: $(summary "$out.log") ($((SECONDS - start)) s)"
  grep -E '"result":"(fail|unexpected_pass)"' "$out.jsonl" | cut -c1-600 | sed 's/^/   | /' || true
  if ! grep -q '"summary"' "$out.jsonl"; then
    tail -n 30 "$out.log" | sed 's/^/   | /'
  fi
  return 1
}

# The closing line of a run (`N passed, M failed ...`), from its stderr.
summary() {
  sed -n 's/^rrq-conformance: \([0-9]* passed, .*\)$/\1/p' "$1" | tail -n 1
}
