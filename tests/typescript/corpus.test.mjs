// Every golden-corpus case through both decode paths: accepts decode and re-encode to exactly
// the canonical bytes (and re-decode to the same message); rejects throw FrameError with the
// corpus's kind (and path, where it gives one). Cases come from generated/golden/*.json.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import * as rrq from "../../generated/typescript/dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = join(here, "../../generated/golden");
const groups = readdirSync(goldenDir).filter((f) => f.endsWith(".json")).sort();
const b64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
const hex = (bytes) => Buffer.from(bytes).toString("utf8");

let total = 0;
let fast = 0;
test("the corpus is there", () => {
  assert.ok(groups.length > 0, "no corpus groups under generated/golden");
});

for (const file of groups) {
  const corpus = JSON.parse(readFileSync(join(goldenDir, file), "utf8"));
  describe(`corpus ${corpus.group}`, () => {
    for (const c of corpus.cases) {
      total++;
      const frame = b64(c.frame);
      for (const parser of ["auto", "exact"]) {
        test(`${c.name} [${parser}]`, () => {
          if (c.verdict === "accept") {
            const message = rrq.decodeFrame(frame, { parser });
            const encoded = rrq.encodeFrame(message);
            const canonical = b64(c.canonical);
            // `canonical` is the whole frame the Rust reference encodes: header and body.
            assert.equal(hex(encoded), hex(canonical), c.description);
            assert.deepEqual(Buffer.from(encoded), Buffer.from(canonical));
            // The canonical frame is a fixed point, on either path.
            const again = rrq.decodeFrame(canonical, { parser });
            assert.deepEqual(Buffer.from(rrq.encodeFrame(again)), Buffer.from(canonical));
          } else {
            assert.throws(
              () => rrq.decodeFrame(frame, { parser }),
              (error) => {
                assert.ok(error instanceof rrq.FrameError, `not a FrameError: ${error}`);
                assert.equal(error.kind, c.error.kind, `${c.description}: ${error.message}`);
                if (c.error.path !== undefined && c.error.path !== null) {
                  assert.equal(error.path, c.error.path, `${c.description}: ${error.message}`);
                  assert.ok(error.message.startsWith(`${c.error.path}: `), error.message);
                }
                return true;
              },
            );
          }
        });
      }
    }
  });
}
