#!/usr/bin/env bash
# A schema written by someone else (no x-rrq, no runner roles; codegen/tests/foreign.rs defines
# its Rust types and makes its frames): the rendered packages type-check (mypy --strict, ruff) and
# every Rust-made frame round-trips byte for byte, in Python (checked by the Rust test itself) and
# TypeScript (tsc --strict, then node). Uses the Python test venv and the TypeScript compiler of
# tests/typescript (tests/python/run.sh and tests/typescript/run.sh set them up; test.sh runs
# those first).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv=tests/python/.venv
if [ ! -x "$venv/bin/mypy" ]; then
  echo "foreign schema: no mypy in $venv: run tests/python/run.sh first" >&2
  exit 1
fi
tsc=tests/typescript/node_modules/.bin/tsc
if [ ! -x "$tsc" ]; then
  echo "foreign schema: no TypeScript compiler at $tsc: run tests/typescript/run.sh first" >&2
  exit 1
fi
out="$(mktemp -d "${TMPDIR:-/tmp}/rrq-foreign.XXXXXX")"
trap 'rm -rf "$out"' EXIT
echo "== foreign schema: render from the schema alone, round-trip Rust-made frames (Python)"
RRQ_FOREIGN_OUT="$out" PYTHON="$root/$venv/bin/python" cargo test --quiet -p rrq-codegen --test foreign -- --nocapture
[ -f "$out/gen/python/billing_message/__init__.py" ] || { echo "foreign schema: nothing rendered" >&2; exit 1; }
echo "== foreign schema: mypy --strict and ruff on the rendered Python package"
(cd "$out/gen/python" && "$root/$venv/bin/mypy" --strict billing_message && "$root/$venv/bin/ruff" check billing_message)

echo "== foreign schema: tsc --strict on the rendered TypeScript package, Rust-made frames round-trip"
"$tsc" -p "$out/gen/typescript/tsconfig.json" --strict --typeRoots tests/typescript/node_modules/@types
node --input-type=module - "$out/gen/typescript/dist/index.js" "$out/frames.txt" <<'JS'
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [pkg, framesFile] = process.argv.slice(2);
const b = await import(pathToFileURL(pkg).href);
const frames = readFileSync(framesFile, "utf8").split("\n").filter(Boolean).map((l) => Buffer.from(l, "base64"));
for (const frame of frames) {
  const again = Buffer.from(b.encodeFrame(b.decodeFrame(new Uint8Array(frame))));
  if (!again.equals(frame)) throw new Error(`round trip changed a frame:\n${frame.toString("utf8", 4)}\n${again.toString("utf8", 4)}`);
}
if ("Registry" in b) throw new Error("no runtime without roles");
console.log(`typescript: ${frames.length} Rust-made frames round-trip byte for byte`);
JS

echo "== foreign schema: the command line (generate says what it skipped; diff and ir accept it)"
cargo build --quiet -p rrq-codegen
codegen="${CARGO_TARGET_DIR:-target}/debug/rrq-codegen"
"$codegen" generate --schema "$out/billing.schema.json" --out "$out/cli" 2> "$out/generate.err"
grep -q "note: no runner runtime" "$out/generate.err" || { cat "$out/generate.err" >&2; echo "generate did not say what it skipped" >&2; exit 1; }
[ -f "$out/cli/python/billing_message/__init__.py" ] && [ -f "$out/cli/typescript/package.json" ] \
  || { echo "generate --schema rendered nothing" >&2; exit 1; }
"$codegen" ir --schema "$out/billing.schema.json" > /dev/null
"$codegen" diff "$out/billing.schema.json" "$out/billing.schema.json" > /dev/null
# A narrowed integer (u64 -> u32) is breaking: exit 1; an unreadable schema: exit 2.
sed 's/"format": "uint64"/"format": "uint32"/; s/"maximum": 18446744073709551615/"maximum": 4294967295/' \
  "$out/billing.schema.json" > "$out/narrowed.schema.json"
status=0; "$codegen" diff "$out/billing.schema.json" "$out/narrowed.schema.json" > /dev/null 2>&1 || status=$?
[ "$status" = 1 ] || { echo "diff of a narrowed field exited $status, expected 1" >&2; exit 1; }
echo '{"title": 1}' > "$out/bad.schema.json"
status=0; "$codegen" diff "$out/billing.schema.json" "$out/bad.schema.json" > /dev/null 2>&1 || status=$?
[ "$status" = 2 ] || { echo "diff of an unreadable schema exited $status, expected 2" >&2; exit 1; }
echo "generate, ir and diff (0 compatible / 1 breaking / 2 unreadable) work on the foreign schema"
