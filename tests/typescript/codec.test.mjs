// The codec of every protocol version beyond the corpus, driven by that version's IR (no field
// is named here): validator error paths (every field of every struct in messages built from
// the IR and in accepted corpus frames, broken in every way its type allows), encoder checks,
// dynamic values wherever the schema has them, both decode paths agreeing on values,
// timestamps and key order.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { top, versions, formatPath } from "./helpers.mjs";

const json = await import("../../generated/typescript/dist/json.js");

/** Every struct field present in `value` (a JSON value of type `name`), with its path. */
function fieldsIn(v, name, value, path, out) {
  const def = v.types.get(name);
  if (def.kind === "union") {
    const variant = def.variants.find((x) => x.tag_value === value[def.tag]);
    fieldsIn(v, variant.ty, value[def.content], [...path, def.content], out);
  } else if (def.kind === "struct") {
    for (const field of def.fields) {
      out.push({ owner: value, field, path: [...path, field.name] });
      const x = value[field.name];
      if (field.ty.kind === "named" && x !== undefined && x !== null) fieldsIn(v, field.ty.name, x, [...path, field.name], out);
    }
  }
  return out;
}

/** A JSON value of IR type `ty` with every field present and holding a value (not `null`). */
function full(v, ty) {
  if (ty.kind === "named") {
    const def = v.types.get(ty.name);
    if (def.kind === "struct") {
      const out = {};
      for (const f of def.fields) out[f.name] = full(v, f.ty);
      return out;
    }
  }
  if (ty.kind === "array") return [full(v, ty.items)];
  if (ty.kind === "map") return { k: full(v, ty.values) };
  if (ty.kind === "any") return { any: [1, "two"] };
  return v.sample(ty);
}

/** One message per variant of the root union with every field holding a value. */
function fullMessages(v) {
  const root = v.types.get(v.ir.root);
  if (root.kind !== "union") return [full(v, { kind: "named", name: v.ir.root })];
  return root.variants.map((x) => ({ [root.tag]: x.tag_value, [root.content]: full(v, { kind: "named", name: x.ty }) }));
}

/** Ways to break a value of `field`'s type: [description, value (or undefined to delete), kind]. */
function breakages(v, field) {
  const ty = field.ty;
  const out = [];
  if (field.required && field.default === undefined && !field.nullable) out.push(["absent", undefined, "missing"]);
  if (!field.nullable && ty.kind !== "any") out.push(["null", null, "type"]);
  const named = ty.kind === "named" ? v.types.get(ty.name) : null;
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

/** Where dynamic JSON goes in a message: the first field of type any, array of any or map of any. */
function anySlot(v, message) {
  const slot = fieldsIn(v, v.ir.root, message, [], []).find(({ field: { ty } }) =>
    ty.kind === "any" || (ty.kind === "array" && ty.items.kind === "any") || (ty.kind === "map" && ty.values.kind === "any"));
  if (slot === undefined) return undefined;
  const { owner, field, path } = slot;
  const wrap = (value) => (field.ty.kind === "array" ? [value] : field.ty.kind === "map" ? { k: value } : value);
  const inner = field.ty.kind === "array" ? [...path, 0] : field.ty.kind === "map" ? [...path, "k"] : path;
  return { owner, field, path, inner, wrap };
}

const bodyOf = (v, c) => Buffer.from(c.frame, "base64").subarray(v.rrq.FRAME_HEADER_LEN);

for (const v of versions) {
  const { rrq } = v;
  const accepted = v.knownCases().filter((c) => c.verdict === "accept");
  const samples = [...fullMessages(v), ...v.corpusCases().filter((c) => c.verdict === "accept").map((c) => JSON.parse(bodyOf(v, c).toString("utf8")))];

  describe(`${v.module}: validator error paths (IR-driven)`, () => {
    const seen = new Set();
    for (const sample of samples) {
      for (const { owner, field, path } of fieldsIn(v, v.ir.root, sample, [], [])) {
        for (const [what, value, kind] of breakages(v, field)) {
          const label = `${formatPath(path)} ${what}`;
          if (seen.has(label)) continue;
          seen.add(label);
          test(`${label} → ${kind}`, () => {
            const saved = owner[field.name];
            if (value === undefined) delete owner[field.name];
            else owner[field.name] = typeof value === "string" && value.startsWith("RAW:") ? "__RAW__" : value;
            let text = JSON.stringify(sample);
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
      const covered = new Set([...seen].map((l) => l.split(" ")[0].replace(/\[\d+\]|\["k"\]/g, "")));
      const fields = v.ir.types.filter((t) => t.kind === "struct").reduce((n, t) => n + t.fields.length, 0);
      assert.ok(covered.size >= Math.min(10, fields), [...covered].join(", "));
    });
  });

  describe(`${v.module}: both decode paths give the same values`, () => {
    test("every accepted corpus case and judged frame decodes to deep-equal values on both paths", () => {
      let fast = 0;
      for (const c of accepted) {
        const body = bodyOf(v, c);
        if (rrq.fastPathApplies(body.toString("utf8"), rrq.MAX_NESTING_DEPTH)) fast++;
        assert.deepEqual(rrq.decodeMessage(body, { parser: "auto" }), rrq.decodeMessage(body, { parser: "exact" }), c.name);
      }
      assert.ok(accepted.length === 0 || (fast > 0 && fast < accepted.length), `fast path taken for ${fast} of ${accepted.length}`);
    });
  });

  describe(`${v.module}: encoding`, () => {
    test("a required field absent, a wrong type, a bound broken: FrameError with the path", () => {
      let checked = 0;
      for (const sample of fullMessages(v)) {
        const message = rrq.decodeMessage(Buffer.from(JSON.stringify(sample)));
        for (const { owner, field, path } of fieldsIn(v, v.ir.root, message, [], [])) {
          const saved = owner[field.name];
          for (const [, value, kind] of breakages(v, field)) {
            if (kind === "value" || (typeof value === "string" && value.startsWith("RAW:"))) continue;
            if (field.ty.kind === "timestamp" && typeof value === "string") continue;
            if (value === undefined) delete owner[field.name];
            else owner[field.name] = value;
            assert.throws(() => rrq.encodeFrame(message), (e) => e instanceof rrq.FrameError && e.path.startsWith(formatPath(path)), `${formatPath(path)} = ${String(value)}`);
            checked++;
            owner[field.name] = saved;
          }
        }
        assert.doesNotThrow(() => rrq.encodeFrame(message));
      }
      assert.ok(checked > 10);
    });

    const withAny = fullMessages(v).map((s) => rrq.decodeMessage(Buffer.from(JSON.stringify(s)))).find((m) => anySlot(v, m) !== undefined);

    test("values no Rust message can hold are refused, wherever the schema holds dynamic JSON", (t) => {
      if (withAny === undefined) return t.skip("no dynamic JSON in this schema");
      const slot = anySlot(v, withAny);
      const saved = slot.owner[slot.field.name];
      const cyclic = [];
      cyclic.push(cyclic);
      for (const bad of [() => 1, Symbol("s"), "\ud800", new Map(), cyclic, [undefined]]) {
        slot.owner[slot.field.name] = slot.wrap(bad);
        assert.throws(() => rrq.encodeFrame(withAny), (e) => e instanceof rrq.FrameError && e.path.startsWith(formatPath(slot.path)), String(bad));
      }
      slot.owner[slot.field.name] = saved;
    });

    test("integers, bigints and JsonFloats re-decode to the same representation", (t) => {
      if (withAny === undefined) return t.skip("no dynamic JSON in this schema");
      const slot = anySlot(v, withAny);
      const saved = slot.owner[slot.field.name];
      const values = [0, -1, 2 ** 53 - 1, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, new rrq.JsonFloat(1), new rrq.JsonFloat(-0), new rrq.JsonFloat(1e16), 0.1, 1e-7, new rrq.JsonFloat(-1.5e300), "\uffff", "😀", { "😀": 1, "\uffff": 2, a: [] }];
      slot.owner[slot.field.name] = slot.wrap(values);
      const frame = rrq.encodeFrame(withAny);
      slot.owner[slot.field.name] = saved;
      for (const parser of ["auto", "exact"]) {
        const again = rrq.decodeFrame(frame, { parser });
        const got = fieldsIn(v, v.ir.root, again, [], []).find((f) => formatPath(f.path) === formatPath(slot.path));
        assert.deepEqual(got.owner[got.field.name], slot.wrap(values));
        assert.deepEqual(Buffer.from(rrq.encodeFrame(again)), Buffer.from(frame));
      }
    });
  });

  describe(`${v.module}: the quick pre-scan`, () => {
    /** Both decode paths: the same values, or the same error (kind, path, message). */
    const outcome = (body, parser) => {
      try {
        return { value: rrq.decodeMessage(body, { parser }) };
      } catch (error) {
        return { error: [error.kind, error.path, error.message] };
      }
    };
    const base = fullMessages(v)[0];
    /** `base` with a marker in place of each number-holding field and an unknown field added, as texts `(token) => text`. */
    const placements = () => {
      const out = [];
      const root = v.types.get(v.ir.root);
      const content = root.kind === "union" ? base[root.content] : base;
      content.__x__ = "__T__";
      out.push(JSON.stringify(base));
      delete content.__x__;
      for (const { owner, field } of fieldsIn(v, v.ir.root, base, [], [])) {
        const kind = field.ty.kind;
        if (!["integer", "float", "any", "array", "map"].includes(kind)) continue;
        if (kind === "array" && field.ty.items.kind !== "any") continue;
        if (kind === "map" && field.ty.values.kind !== "any") continue;
        const saved = owner[field.name];
        owner[field.name] = kind === "array" ? ["__T__"] : kind === "map" ? { k: "__T__" } : "__T__";
        out.push(JSON.stringify(base));
        if (kind === "map") {
          owner[field.name] = { k: ["__T__"], j: "__T__" };
          out.push(JSON.stringify(base).replace('"j":', '"k":'));
        }
        owner[field.name] = saved;
      }
      return out;
    };

    test("numbers, escapes and nesting the quick scan must refuse or read exactly, in every number-holding field", () => {
      const tokens = ["0", "-0", "-0.0", "0.0", "1", "1.0", "1.5", "1.50", "-1.25", "1e5", "1E5", "1.5e1", "2e-1", "1e400", "-1e400",
        "123456789012345", "1234567890123456", "9007199254740993", "18446744073709551615", "18446744073709551616",
        "123456789012345.5", "12345678901234.5", "0.000001", "0.1000", "4294967295", "4294967296", "\"\\ud800\"",
        "\"\\ud83d\\ude00\"", "\"a\\\"b\"", "\"\\\\\"", "[[[[1.0]]]]", "{\"a\":1,\"a\":1.0}", "{\"a\":1.0,\"a\":1}"];
      let quick = 0;
      const texts = placements();
      assert.ok(texts.length >= 2, "no number-holding field");
      for (const token of tokens) {
        for (const text of texts) {
          const body = Buffer.from(text.split('"__T__"').join(token));
          if (json.quickScan(body, rrq.MAX_NESTING_DEPTH)) quick++;
          assert.deepEqual(outcome(body, "auto"), outcome(body, "exact"), body.toString("utf8"));
        }
      }
      assert.ok(quick > 0, "the quick scan accepts plain numbers");
      // Nesting in an unknown field of the message's content (level 2): `n` more levels.
      const root = v.types.get(v.ir.root);
      const contentLevel = root.kind === "union" ? 2 : 1;
      const deep = (n) => Buffer.from(texts[0].replace('"__T__"', `${"[".repeat(n)}${"]".repeat(n)}`));
      for (const n of [120, 124, 125, 126, 127, 130]) {
        assert.equal(json.quickScan(deep(n), rrq.MAX_NESTING_DEPTH), contentLevel + n <= rrq.MAX_NESTING_DEPTH, `depth ${n}`);
        assert.deepEqual(outcome(deep(n), "auto"), outcome(deep(n), "exact"));
      }
    });

    test("whatever the quick scan accepts, JSON.parse reads as the exact parser does (known frames and edits)", () => {
      let seed = 7;
      const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      const pieces = ["1", "0", ".", "e", "-", "\"", "\\", "\\u", "d8", "00", "[", "]", "{", "}", ",", ":", "5"];
      for (const c of v.knownCases().filter((c) => c.error?.kind !== "length").slice(0, 3000)) {
        const original = bodyOf(v, c);
        for (let round = 0; round < 4; round++) {
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
  });

  describe(`${v.module}: timestamps`, () => {
    test("Timestamp keeps nanoseconds and converts to and from Date (every timestamp of the known frames)", () => {
      let seen = 0;
      for (const c of accepted) {
        const text = bodyOf(v, c).toString("utf8");
        for (const [, ts] of text.matchAll(/"(\d{4}-\d\d-\d\dT[^"]+Z)"/g)) {
          let t;
          try {
            t = rrq.Timestamp.parse(ts);
          } catch {
            continue; // a string that only looks like one (in a dynamic value)
          }
          seen++;
          assert.ok(rrq.Timestamp.parse(t.toString()).equals(t), ts);
          assert.ok(rrq.Timestamp.fromEpochNanoseconds(t.epochNanoseconds).equals(t), ts);
          const d = t.toDate();
          assert.equal(rrq.Timestamp.fromDate(d).toDate().getTime(), d.getTime());
          assert.equal(d.getTime(), t.seconds * 1000 + Math.floor(t.nanoseconds / 1e6));
        }
      }
      assert.ok(accepted.length === 0 || seen > 0);
    });
  });
}

describe("shared: key order and timestamp text", () => {
  test("compareCodePoints orders as UTF-8 bytes do", () => {
    const alphabet = ["a", "Z", "\u00e9", "\uffff", "\ue000", "\ud7ff", "😀", "\u{10000}", "\u{10ffff}", ""];
    const words = [];
    for (const x of alphabet) for (const y of alphabet) words.push(x + y);
    const byCodePoint = [...words].sort(top.compareCodePoints);
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(byCodePoint, byBytes);
  });

  test("a parsed timestamp writes the text it was read from only when that text is canonical", () => {
    const texts = ["2025-03-14T09:26:53Z", "2025-03-14T09:26:53.5Z", "2025-03-14T09:26:53.500Z", "2025-03-14T09:26:53.500000Z",
      "2025-03-14T09:26:53.000Z", "2025-03-14T09:26:53.123456Z", "2025-03-14T09:26:53.123456000Z", "2025-03-14T09:26:53.123456789Z",
      "2025-03-14T09:26:53.120Z", "2025-03-14T09:26:53+00:00", "2025-03-14T09:26:53.250+01:30", "0001-01-01T00:00:00Z",
      "9999-12-31T23:59:59.999999999Z", "2024-02-29T12:00:00.001Z", "2025-03-14T09:26:53.000000001Z"];
    for (const text of texts) {
      const parsed = top.Timestamp.parse(text);
      const fresh = new top.Timestamp(parsed.seconds, parsed.nanoseconds);
      assert.equal(parsed.toString(), fresh.toString(), text);
      assert.equal(fresh.toString(), fresh.toString());
      assert.deepEqual(parsed, fresh);
    }
  });

  test("frame-level texts: each version's FRAME_MESSAGES are the shared texts with its limits", () => {
    for (const v of versions) {
      assert.equal(v.rrq.FRAME_MESSAGES.json_depth, `expected a JSON document, got arrays and objects nested deeper than ${v.rrq.MAX_NESTING_DEPTH} levels`);
      assert.ok(v.rrq.FRAME_MESSAGES.length_zero.endsWith(`1..=${v.rrq.MAX_FRAME_LEN}, got 0`));
      const deep = Buffer.from("[".repeat(v.rrq.MAX_NESTING_DEPTH + 1) + "]".repeat(v.rrq.MAX_NESTING_DEPTH + 1));
      assert.throws(() => v.rrq.decodeMessage(deep), (e) => e.message === `$: ${v.rrq.FRAME_MESSAGES.json_depth}`);
      const zero = Buffer.alloc(v.rrq.FRAME_HEADER_LEN);
      assert.throws(() => v.rrq.decodeFrame(zero), (e) => e.message === `$: ${v.rrq.FRAME_MESSAGES.length_zero}`);
    }
  });
});
