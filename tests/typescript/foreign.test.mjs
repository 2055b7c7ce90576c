// A foreign schema (foreign/ledger.schema.json: written by hand, no x-rrq, no runner roles;
// u64 and i64 integers, an enum, nested arrays, maps of strings and of float arrays, a nullable
// timestamp, an optional float, a defaulted boolean, any-JSON, a nullable enum reference) that
// run.sh renders with `rrq-codegen generate --schema` into a scratch folder and builds with
// `tsc --strict`. No Rust crate defines these types, so no Rust-made frame exists: instead each
// input's canonical frame is stated here, by the rules of docs/PROTOCOL.md (fields in declaration
// order; required and defaulted fields always written, optional ones omitted when absent or
// null; map and object keys in code-point order; integers exact over i64/u64; floats as
// serde_json writes them; timestamps in UTC with 0/3/6/9 fraction digits), and decode → encode
// must give exactly it, on both decode paths, and be a fixed point. Rejects name serde's kind
// and path.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.RRQ_FOREIGN_PACKAGE;

describe("a foreign schema without x-rrq: codec only", { skip: dir === undefined ? "RRQ_FOREIGN_PACKAGE not set (run through run.sh)" : false }, async () => {
  const pkg = dir === undefined ? null : await import(pathToFileURL(join(dir, "dist/index.js")).href);
  const manifest = dir === undefined ? null : JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

  /** `[input text, canonical text]`: the canonical form as the rules above state it. */
  const accepted = [
    [
      '{"body":{"side":"credit","matrix":[],"amount":-9223372036854775808,"account":18446744073709551615},"kind":"posting"}',
      '{"kind":"posting","body":{"account":18446744073709551615,"amount":-9223372036854775808,"side":"credit","matrix":[],"flag":false}}',
    ],
    [
      '{"kind":"posting","body":{"account":0,"amount":9223372036854775807,"side":"memo-only","rate":1.0,"booked_at":"2024-02-29T23:30:00.5-01:00","matrix":[[1,2],[255],[]],"labels":{"z":"1","a":"2","é":"3","Z":"4"},"buckets":{"b":[1.5,2,1e21,0.00001,1e-7],"a":[]},"flag":true,"note":"n","extra":{"b":1,"a":[1.0,-0,18446744073709551616,9007199254740993]}}}',
      '{"kind":"posting","body":{"account":0,"amount":9223372036854775807,"side":"memo-only","rate":1.0,"booked_at":"2024-03-01T00:30:00.500Z","matrix":[[1,2],[255],[]],"labels":{"Z":"4","a":"2","z":"1","é":"3"},"buckets":{"a":[],"b":[1.5,2.0,1e+21,0.00001,1e-7]},"flag":true,"note":"n","extra":{"a":[1.0,-0.0,1.8446744073709552e+19,9007199254740993],"b":1}}}',
    ],
    [
      '{"kind":"posting","body":{"account":7,"amount":-1,"side":"debit","matrix":[],"booked_at":null,"note":null,"extra":null,"labels":{},"flag":false}}',
      '{"kind":"posting","body":{"account":7,"amount":-1,"side":"debit","matrix":[],"labels":{},"flag":false}}',
    ],
    [
      '{"kind":"batch","body":{"postings":[{"account":1,"amount":2,"side":"debit","matrix":[[0]]}],"id":"b1","settled":"memo-only"}}',
      '{"kind":"batch","body":{"id":"b1","postings":[{"account":1,"amount":2,"side":"debit","matrix":[[0]],"flag":false}],"settled":"memo-only"}}',
    ],
    ['{"kind":"batch","body":{"id":"b2","postings":[],"settled":null,"unknown":[1,{"x":2}]}}', '{"kind":"batch","body":{"id":"b2","postings":[]}}'],
    [' { "kind" : "batch" , "body" : { "id" : "\\u00e9\\ud83d\\ude00\\u2028" , "postings" : [ ] } } ', '{"kind":"batch","body":{"id":"é😀\u2028","postings":[]}}'],
    ['{"kind":"batch","kind":"posting","body":{"account":1,"amount":1,"side":"debit","matrix":[],"matrix":[[3]]}}', '{"kind":"posting","body":{"account":1,"amount":1,"side":"debit","matrix":[[3]],"flag":false}}'],
  ];

  /** `[input text, kind, path]`: what serde reports for the corresponding Rust types. */
  const rejected = [
    ['{"kind":"posting","body":{"account":18446744073709551616,"amount":0,"side":"debit","matrix":[]}}', "type", "body.account"],
    ['{"kind":"posting","body":{"account":-1,"amount":0,"side":"debit","matrix":[]}}', "value", "body.account"],
    ['{"kind":"posting","body":{"account":0,"amount":9223372036854775808,"side":"debit","matrix":[]}}', "value", "body.amount"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[[1,256]]}}', "value", "body.matrix[0][1]"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"sideways","matrix":[]}}', "value", "body.side"],
    ['{"kind":"posting","body":{"amount":0,"side":"debit","matrix":[]}}', "missing", "body.account"],
    ['{"kind":"refund","body":{}}', "value", "kind"],
    ['{"kind":"batch","body":{"id":"b","postings":[{"account":1,"amount":1.0,"side":"debit","matrix":[]}]}}', "type", "body.postings[0].amount"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[],"booked_at":"2024-02-30T00:00:00Z"}}', "value", "body.booked_at"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[],"labels":{"a":1}}}', "type", "body.labels.a"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[],"rate":null}}', "type", "body.rate"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[],"buckets":{"a":[1,"x"]}}}', "type", 'body.buckets.a[1]'],
    ['{"kind":"posting","body":[]}', "type", "body"],
    ['{"kind":"posting","body":{"account":0,"amount":0,"side":"debit","matrix":[]}', "json", "$"],
  ];

  test("rendered as a codec only, named after the schema, no runner", () => {
    assert.equal(manifest.name, "ledger-event");
    assert.equal(manifest.bin, undefined);
    assert.deepEqual(Object.keys(manifest.exports).sort(), [".", "./package.json"]);
    for (const absent of ["runtime.js", "cli.js", "glue.js"]) assert.ok(!existsSync(join(dir, "dist", absent)), absent);
    assert.equal(pkg.Registry, undefined);
    assert.equal(pkg.PROTOCOL_VERSION, undefined);
    assert.equal(typeof pkg.encodeFrame, "function");
    assert.equal(pkg.Side.MemoOnly, "memo-only");
  });

  for (const parser of ["auto", "exact"]) {
    test(`accepted inputs re-encode to their stated canonical frame, a fixed point [${parser}]`, () => {
      for (const [input, canonical] of accepted) {
        const message = pkg.decodeMessage(Buffer.from(input), { parser });
        assert.equal(pkg.encodeMessageText(message), canonical, input);
        const frame = pkg.encodeFrame(message);
        assert.equal(Buffer.from(frame).readUInt32BE(0), Buffer.byteLength(canonical));
        assert.equal(Buffer.from(frame).subarray(pkg.FRAME_HEADER_LEN).toString("utf8"), canonical);
        const again = pkg.decodeFrame(frame, { parser });
        assert.deepEqual(again, pkg.decodeMessage(Buffer.from(canonical), { parser }));
        assert.deepEqual(Buffer.from(pkg.encodeFrame(again)), Buffer.from(frame));
      }
    });

    test(`rejected inputs: FrameError with serde's kind and path [${parser}]`, () => {
      for (const [input, kind, path] of rejected) {
        assert.throws(
          () => pkg.decodeMessage(Buffer.from(input), { parser }),
          (e) => e instanceof pkg.FrameError && e.kind === kind && e.path === path && e.message.startsWith(`${path}: expected `),
          input,
        );
      }
    });
  }

  test("u64 and i64 values decode exactly (bigint beyond 2^53) and encode from number or bigint", () => {
    const message = pkg.decodeMessage(Buffer.from(accepted[0][0]));
    assert.equal(message.body.account, 18446744073709551615n);
    assert.equal(message.body.amount, -9223372036854775808n);
    const small = pkg.decodeMessage(Buffer.from(accepted[2][0]));
    assert.equal(small.body.account, 7);
    assert.equal(small.body.booked_at, undefined);
    const init = { kind: "posting", body: { account: 2n ** 64n - 1n, amount: -5, side: pkg.Side.Debit, matrix: [[1]], booked_at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) } };
    assert.equal(pkg.encodeMessageText(init), '{"kind":"posting","body":{"account":18446744073709551615,"amount":-5,"side":"debit","booked_at":"2024-01-02T03:04:05.006Z","matrix":[[1]],"flag":false}}');
    for (const bad of [2n ** 64n, -1, 1.5]) {
      assert.throws(() => pkg.encodeFrame({ ...init, body: { ...init.body, account: bad } }), (e) => e instanceof pkg.FrameError && e.path === "body.account");
    }
  });

  test("frames through a FrameReader, one byte at a time", () => {
    const frames = accepted.map(([input]) => pkg.encodeFrame(pkg.decodeMessage(Buffer.from(input))));
    const stream = Buffer.concat(frames.map((f) => Buffer.from(f)));
    const reader = new pkg.FrameReader();
    const got = [];
    for (let i = 0; i < stream.length; i++) {
      reader.push(stream.subarray(i, i + 1));
      for (let m; (m = reader.nextMessage()) !== undefined; ) got.push(pkg.encodeMessageText(m));
    }
    assert.deepEqual(got, accepted.map(([, canonical]) => canonical));
  });
});
