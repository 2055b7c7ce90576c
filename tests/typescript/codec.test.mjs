// The codec beyond the corpus: validator error paths driven by the IR (every field of every
// struct in accepted corpus messages, broken in every way its type allows), encoder checks,
// both decode paths agreeing on values, timestamps and key order.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rrq, corpusCases, loadIr, formatPath } from "./helpers.mjs";

const ir = loadIr();
const types = new Map(ir.types.map((t) => [t.name, t]));
const accepted = corpusCases().filter((c) => c.verdict === "accept");
const bodyOf = (c) => Buffer.from(c.frame, "base64").subarray(rrq.FRAME_HEADER_LEN);

/** Every struct field present in `value` (a JSON value of type `name`), with its path. */
function fieldsIn(name, value, path, out) {
  const def = types.get(name);
  if (def.kind === "union") {
    const variant = def.variants.find((v) => v.tag_value === value[def.tag]);
    fieldsIn(variant.ty, value[def.content], [...path, def.content], out);
  } else if (def.kind === "struct") {
    for (const field of def.fields) {
      out.push({ owner: value, field, path: [...path, field.name] });
      const v = value[field.name];
      if (field.ty.kind === "named" && v !== undefined && v !== null) fieldsIn(field.ty.name, v, [...path, field.name], out);
    }
  }
  return out;
}

/** Ways to break a value of `field`'s type: [description, value (or undefined to delete), kind]. */
function breakages(field) {
  const ty = field.ty;
  const out = [];
  if (field.required && field.default === undefined && !field.nullable) out.push(["absent", undefined, "missing"]);
  if (!field.nullable && ty.kind !== "any") out.push(["null", null, "type"]);
  const named = ty.kind === "named" ? types.get(ty.name) : null;
  switch (named ? named.kind : ty.kind) {
    case "string":
      out.push(["a number", 12, "type"], ["an array", [], "type"]);
      break;
    case "bool":
      out.push(["a string", "true", "type"], ["an integer", 1, "type"]);
      break;
    case "integer":
      out.push(["a string", "1", "type"], ["a boolean", true, "type"], ["a float", 1.5, "type"]);
      if (ty.min !== null && ty.min !== undefined) out.push(["below the minimum", `RAW:${BigInt(ty.min) - 1n}`, "value"]);
      if (ty.max !== null && ty.max !== undefined) out.push(["above the maximum", `RAW:${BigInt(ty.max) + 1n}`, "value"]);
      out.push(["an integral float", "RAW:1.0", "type"]);
      break;
    case "float":
      out.push(["a string", "1.5", "type"], ["a boolean", false, "type"]);
      break;
    case "timestamp":
      out.push(["a number", 1700000000, "type"], ["a malformed string", "2024-01-01 00:00:00", "value"], ["an impossible date", "2024-02-30T00:00:00Z", "value"]);
      break;
    case "array":
      out.push(["an object", {}, "type"], ["a string", "[]", "type"]);
      break;
    case "map":
      out.push(["an array", [], "type"], ["a string", "{}", "type"]);
      if (ty.values.kind !== "any") out.push(["a bad value", { k: [[1]] }, "type"]);
      break;
    case "enum":
      out.push(["an unknown value", "no_such_value", "value"], ["a number", 3, "type"]);
      break;
    case "struct":
      out.push(["an array", [], "type"], ["a string", "x", "type"]);
      break;
  }
  return out;
}

describe("validator error paths (IR-driven)", () => {
  const seen = new Set();
  for (const c of accepted) {
    const json = JSON.parse(bodyOf(c).toString("utf8"));
    for (const { owner, field, path } of fieldsIn(ir.root, json, [], [])) {
      for (const [what, value, kind] of breakages(field)) {
        const label = `${formatPath(path)} ${what}`;
        if (seen.has(label)) continue;
        seen.add(label);
        test(`${label} → ${kind}`, () => {
          const saved = owner[field.name];
          if (value === undefined) delete owner[field.name];
          else owner[field.name] = typeof value === "string" && value.startsWith("RAW:") ? "__RAW__" : value;
          let text = JSON.stringify(json);
          if (typeof value === "string" && value.startsWith("RAW:")) text = text.replace('"__RAW__"', value.slice(4));
          owner[field.name] = saved;
          if (saved === undefined) delete owner[field.name];
          const expectedPath = kind === "type" && value !== null && field.ty.kind === "map" && typeof value === "object" && !Array.isArray(value)
            ? formatPath([...path, "k"])
            : formatPath(path);
          for (const parser of ["auto", "exact"]) {
            assert.throws(
              () => rrq.decodeMessage(Buffer.from(text), { parser }),
              (error) => error instanceof rrq.FrameError && error.kind === kind && error.path === expectedPath && error.message.startsWith(`${expectedPath}: expected `),
              `${parser}: ${text}`,
            );
          }
        });
      }
    }
  }
  test("the IR-driven cases cover every struct field of the schema", () => {
    const covered = new Set([...seen].map((l) => l.split(" ")[0].replace(/\[\d+\]/g, "")));
    assert.ok(covered.size >= 10, [...covered].join(", "));
  });
});

describe("both decode paths give the same values", () => {
  test("every accepted corpus case decodes to deep-equal values on both paths", () => {
    let fast = 0;
    for (const c of accepted) {
      const body = bodyOf(c);
      if (rrq.fastPathApplies(body.toString("utf8"), rrq.MAX_NESTING_DEPTH)) fast++;
      assert.deepEqual(rrq.decodeMessage(body, { parser: "auto" }), rrq.decodeMessage(body, { parser: "exact" }), c.name);
    }
    assert.ok(fast > 0 && fast < accepted.length, `fast path taken for ${fast} of ${accepted.length}`);
  });
});

describe("encoding", () => {
  const message = rrq.decodeMessage(bodyOf(accepted[0]));
  const fields = fieldsIn(ir.root, message, [], []);

  test("a required field absent, a wrong type, a bound broken: FrameError with the path", () => {
    let checked = 0;
    for (const { owner, field, path } of fields) {
      const saved = owner[field.name];
      for (const [, value, kind] of breakages(field)) {
        if (kind === "value" || (typeof value === "string" && value.startsWith("RAW:"))) continue;
        if (field.ty.kind === "timestamp" && typeof value === "string") continue;
        if (value === undefined) delete owner[field.name];
        else owner[field.name] = value;
        assert.throws(() => rrq.encodeFrame(message), (e) => e instanceof rrq.FrameError && e.path.startsWith(formatPath(path)), `${formatPath(path)} = ${String(value)}`);
        checked++;
        owner[field.name] = saved;
      }
    }
    assert.ok(checked > 10);
    assert.doesNotThrow(() => rrq.encodeFrame(message));
  });

  test("values no Rust message can hold are refused", () => {
    const anyField = fields.find(({ field }) => field.ty.kind === "array" && field.ty.items.kind === "any");
    const saved = anyField.owner[anyField.field.name];
    const cyclic = [];
    cyclic.push(cyclic);
    for (const bad of [[() => 1], [Symbol("s")], ["\ud800"], [new Map()], [undefined], cyclic]) {
      anyField.owner[anyField.field.name] = bad;
      assert.throws(() => rrq.encodeFrame(message), (e) => e instanceof rrq.FrameError && e.path.startsWith(formatPath(anyField.path)));
    }
    anyField.owner[anyField.field.name] = saved;
  });

  test("integers, bigints and JsonFloats re-decode to the same representation", () => {
    const anyField = fields.find(({ field }) => field.ty.kind === "array" && field.ty.items.kind === "any");
    const saved = anyField.owner[anyField.field.name];
    const values = [0, -1, 2 ** 53 - 1, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, new rrq.JsonFloat(1), new rrq.JsonFloat(-0), new rrq.JsonFloat(1e16), 0.1, 1e-7, new rrq.JsonFloat(-1.5e300), "\uffff", "😀", { "😀": 1, "\uffff": 2, a: [] }];
    anyField.owner[anyField.field.name] = values;
    const frame = rrq.encodeFrame(message);
    anyField.owner[anyField.field.name] = saved;
    for (const parser of ["auto", "exact"]) {
      const again = rrq.decodeFrame(frame, { parser });
      const got = fieldsIn(ir.root, again, [], []).find((f) => formatPath(f.path) === formatPath(anyField.path));
      assert.deepEqual(got.owner[got.field.name], values);
      assert.deepEqual(Buffer.from(rrq.encodeFrame(again)), Buffer.from(frame));
    }
  });
});

describe("timestamps and key order", () => {
  test("Timestamp keeps nanoseconds and converts to and from Date", () => {
    for (const c of accepted) {
      const text = bodyOf(c).toString("utf8");
      for (const [, ts] of text.matchAll(/"(\d{4}-\d\d-\d\dT[^"]+Z)"/g)) {
        const t = rrq.Timestamp.parse(ts);
        assert.ok(rrq.Timestamp.parse(t.toString()).equals(t), ts);
        assert.ok(rrq.Timestamp.fromEpochNanoseconds(t.epochNanoseconds).equals(t), ts);
        const d = t.toDate();
        assert.equal(rrq.Timestamp.fromDate(d).toDate().getTime(), d.getTime());
        assert.equal(d.getTime(), t.seconds * 1000 + Math.floor(t.nanoseconds / 1e6));
      }
    }
  });

  test("compareCodePoints orders as UTF-8 bytes do", () => {
    const alphabet = ["a", "Z", "\u00e9", "\uffff", "\ue000", "\ud7ff", "😀", "\u{10000}", "\u{10ffff}", ""];
    const words = [];
    for (const x of alphabet) for (const y of alphabet) words.push(x + y);
    const byCodePoint = [...words].sort(rrq.compareCodePoints);
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(byCodePoint, byBytes);
  });
});

describe("the quick pre-scan and the kept timestamp text", async () => {
  const json = await import("../../generated/typescript/dist/json.js");
  /** Both decode paths: the same values, or the same error (kind, path, message). */
  const outcome = (body, parser) => {
    try {
      return { value: rrq.decodeMessage(body, { parser }) };
    } catch (error) {
      return { error: [error.kind, error.path, error.message] };
    }
  };

  test("numbers, escapes and nesting the quick scan must refuse or read exactly, in every field", () => {
    const base = JSON.parse(bodyOf(accepted.find((c) => bodyOf(c).includes('"request"'))).toString("utf8"));
    const tokens = ["0", "-0", "-0.0", "0.0", "1", "1.0", "1.5", "1.50", "-1.25", "1e5", "1E5", "1.5e1", "2e-1", "1e400", "-1e400",
      "123456789012345", "1234567890123456", "9007199254740993", "18446744073709551615", "18446744073709551616",
      "123456789012345.5", "12345678901234.5", "0.000001", "0.1000", "4294967295", "4294967296", "\"\\ud800\"",
      "\"\\ud83d\\ude00\"", "\"a\\\"b\"", "\"\\\\\"", "[[[[1.0]]]]", "{\"a\":1,\"a\":1.0}", "{\"a\":1.0,\"a\":1}"];
    let quick = 0;
    for (const token of tokens) {
      const texts = [
        JSON.stringify(base).replace('"attempt":', `"attempt":${token},"x":`),
        JSON.stringify(base).replace('"args":[', `"args":[${token},`),
        JSON.stringify(base).replace('"kwargs":{', `"kwargs":{"k":${token},`),
        JSON.stringify(base).replace('"kwargs":{', `"kwargs":{"k":[${token}],"k":${token},`),
      ];
      for (const text of texts) {
        const body = Buffer.from(text);
        if (json.quickScan(body, rrq.MAX_NESTING_DEPTH)) quick++;
        assert.deepEqual(outcome(body, "auto"), outcome(body, "exact"), text);
      }
    }
    assert.ok(quick > 0, "the quick scan accepts plain numbers");
    const deep = (n) => Buffer.from(JSON.stringify(base).replace('"args":[', `"args":[${"[".repeat(n)}${"]".repeat(n)},`));
    for (const n of [120, 124, 125, 126, 127, 130]) {
      assert.equal(json.quickScan(deep(n), rrq.MAX_NESTING_DEPTH), n <= rrq.MAX_NESTING_DEPTH - 3, `depth ${n}`);
      assert.deepEqual(outcome(deep(n), "auto"), outcome(deep(n), "exact"));
    }
  });

  test("whatever the quick scan accepts, JSON.parse reads as the exact parser does (corpus and edits)", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pieces = ["1", "0", ".", "e", "-", "\"", "\\", "\\u", "d8", "00", "[", "]", "{", "}", ",", ":", "5"];
    for (const c of corpusCases().filter((c) => c.error?.kind !== "length")) {
      const original = Buffer.from(c.frame, "base64").subarray(rrq.FRAME_HEADER_LEN);
      for (let round = 0; round < 6; round++) {
        let body = original;
        if (round > 0) {
          const at = Math.floor(random() * (body.length + 1));
          const insert = Buffer.from(pieces[Math.floor(random() * pieces.length)]);
          body = Buffer.concat([body.subarray(0, at), insert, body.subarray(Math.min(body.length, at + Math.floor(random() * 3)))]);
        }
        if (!json.quickScan(body, rrq.MAX_NESTING_DEPTH)) continue;
        assert.deepEqual(outcome(body, "auto"), outcome(body, "exact"), body.toString("utf8"));
      }
    }
  });

  test("a parsed timestamp writes the text it was read from only when that text is canonical", () => {
    const texts = ["2025-03-14T09:26:53Z", "2025-03-14T09:26:53.5Z", "2025-03-14T09:26:53.500Z", "2025-03-14T09:26:53.500000Z",
      "2025-03-14T09:26:53.000Z", "2025-03-14T09:26:53.123456Z", "2025-03-14T09:26:53.123456000Z", "2025-03-14T09:26:53.123456789Z",
      "2025-03-14T09:26:53.120Z", "2025-03-14T09:26:53+00:00", "2025-03-14T09:26:53.250+01:30", "0001-01-01T00:00:00Z",
      "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00.001Z", "2025-03-14T09:26:53.000000001Z"];
    for (const text of texts) {
      const parsed = rrq.Timestamp.parse(text);
      const fresh = new rrq.Timestamp(parsed.seconds, parsed.nanoseconds);
      assert.equal(parsed.toString(), fresh.toString(), text);
      assert.equal(fresh.toString(), fresh.toString());
      assert.deepEqual(parsed, fresh);
    }
  });
});
