// Large frames: bodies at least `offloadBytes` long are decoded by a worker thread, off the
// event loop. Other connections are answered meanwhile, the frames of one connection stay in
// order, and answers (values, verdicts, messages) are those of the decoder on the event loop.
// Also: the canonical encoder's JSON.stringify shortcut writes what the tree writer does.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { versions } from "./helpers.mjs";
import { JsonFloat, writeAny, formatFloat, formatInteger, compareCodePoints } from "../../generated/typescript/dist/json.js";

const OFFLOAD = 64 * 1024;

for (const V of versions) {
  const { rrq, glue } = V;
  const F = glue.Failures;
  // Where the large values go: the first input that is an array, else member `items` of the
  // first input (a map).
  const empty = Object.entries(V.emptyInputs());
  const arrayInput = empty.find(([, v]) => Array.isArray(v))?.[0];
  const mapInput = empty[0][0];
  const withItems = (items) => ({ inputs: arrayInput !== undefined ? { [arrayInput]: items } : { [mapInput]: { items } } });
  const itemsOf = (result) => (arrayInput !== undefined ? result[arrayInput] : result[mapInput].items);

  // Small echoes handled so far, and how many had been when the large request's handler ran.
  let echoes = 0;
  let echoesAtLarge = -1;
  let largeDue = null;
  const registry = new rrq.Registry()
    .register("echo", (request) => (echoes++, glue.inputsOf(request)))
    .register("large", (request) => ((echoesAtLarge = echoes), (largeDue = glue.requestFacts(request).due), glue.inputsOf(request)))
    .register("wait", (request, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))));

  describe(`${V.module}: large frames decoded off the event loop`, async () => {
    const off = await V.startRunner(registry, { offloadBytes: OFFLOAD });
    const here = await V.startRunner(registry, { offloadBytes: Infinity });
    after(() => Promise.all([off.runner.shutdown(), here.runner.shutdown()]));

    test("another connection is answered while a large frame decodes; the large one is answered once, correctly", async () => {
      const a = await V.connect(off.address);
      const b = await V.connect(off.address);
      const items = new Array(2_000_000).fill(0);
      // A deadline far ahead: a Timestamp in the decoded request, handed back from the worker.
      const due = rrq.Timestamp.fromEpochMilliseconds(Date.now() + 3_600_000);
      const { ids, frame } = V.requestFrame("large", { ...withItems(items), due });
      // All but the last byte first; once they are written, round trips on b give the runner
      // time to read them.
      await new Promise((resolve) => a.socket.write(frame.subarray(0, frame.length - 1), resolve));
      for (let i = 0; i < 5; i++) {
        b.send(V.requestFrame("echo").frame);
        await b.next();
      }
      let answered = null;
      const big = a.next(60_000).then((out) => (answered = out));
      const echoesAtLastByte = echoes;
      a.send(frame.subarray(frame.length - 1));
      // Serial echoes on b until a's answer is in. With the body decoded on the event loop, its
      // handler would run before (almost) any of them: a handful at most, against hundreds.
      while (answered === null) {
        const { ids: echoIds, frame: echo } = V.requestFrame("echo");
        b.send(echo);
        const out = await b.next(60_000);
        assert.equal(out.ids.requestId, echoIds.requestId);
      }
      await big;
      const meanwhile = echoesAtLarge - echoesAtLastByte;
      if (process.env.RRQ_BIGFRAME_DEBUG) console.log(`# ${V.module}: ${meanwhile} echoes meanwhile`);
      assert.ok(meanwhile >= 50, `only ${meanwhile} echoes on another connection were handled while the large frame decoded`);
      assert.equal(answered.status, glue.Statuses.success);
      assert.equal(answered.ids.requestId, ids.requestId);
      assert.ok(largeDue instanceof rrq.Timestamp, "the deadline is a Timestamp");
      assert.equal(largeDue.toString(), due.toString());
      assert.equal(itemsOf(answered.result).length, items.length);
      assert.ok(itemsOf(answered.result).every((x) => x === 0));
      // Exactly once: the next answer on a is that of the next request.
      const next = V.requestFrame("echo");
      a.send(next.frame);
      assert.equal((await a.next()).ids.requestId, next.ids.requestId);
      a.close();
      b.close();
    });

    test("the frames after a large one on its connection wait for it: a cancel right behind it applies", async () => {
      const a = await V.connect(off.address);
      const { ids, frame } = V.requestFrame("wait", withItems(new Array(100_000).fill("x")));
      const cancel = rrq.encodeFrame(glue.cancelMessage({ jobId: ids.jobId, requestId: ids.requestId }));
      a.send(Buffer.concat([frame, cancel]));
      const out = await a.next(30_000);
      assert.equal(out.ids.requestId, ids.requestId);
      assert.equal(out.errorType, F.cancelled);
      a.close();
    });

    test("a cancel from another connection read while a large frame decodes applies to it", async () => {
      const a = await V.connect(off.address);
      const b = await V.connect(off.address);
      const { ids, frame } = V.requestFrame("wait", withItems(new Array(1_000_000).fill(0)));
      await new Promise((resolve) => a.socket.write(frame.subarray(0, frame.length - 1), resolve));
      for (let i = 0; i < 5; i++) {
        b.send(V.requestFrame("echo").frame);
        await b.next();
      }
      a.send(frame.subarray(frame.length - 1));
      // Once an echo sent after the last byte is answered, the runner has read that byte and is decoding.
      b.send(V.requestFrame("echo").frame);
      await b.next();
      b.send(rrq.encodeFrame(glue.cancelMessage({ jobId: ids.jobId, requestId: ids.requestId })));
      const out = await a.next(30_000);
      assert.equal(out.ids.requestId, ids.requestId);
      assert.equal(out.errorType, F.cancelled);
      a.close();
      b.close();
    });

    test("a shutdown answers the large frame being decoded and the large frame read behind it, once each", async () => {
      const own = await V.startRunner(registry, { offloadBytes: 1024 });
      const a = await V.connect(own.address);
      const b = await V.connect(own.address);
      const first = V.requestFrame("large", withItems(new Array(1_000_000).fill(0)));
      const second = V.requestFrame("large", withItems(new Array(600).fill(0)));
      // All of the first but its last byte; then that byte and the whole second frame in one
      // write: the second is read while the first decodes (and would go to the worker too).
      await new Promise((resolve) => a.socket.write(first.frame.subarray(0, first.frame.length - 1), resolve));
      for (let i = 0; i < 5; i++) {
        b.send(V.requestFrame("echo").frame);
        await b.next();
      }
      a.send(Buffer.concat([first.frame.subarray(first.frame.length - 1), second.frame]));
      while (own.runner.decoding.size === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      const stopped = own.runner.shutdown();
      const answers = [await a.next(30_000), await a.next(30_000)];
      await stopped;
      assert.deepEqual(answers.map((out) => out.ids.requestId), [first.ids.requestId, second.ids.requestId]);
      for (const out of answers) assert.equal(out.errorType, F.shuttingDown);
      await a.whenClosed();
      b.close();
    });

    test("values come back exactly: integral floats, big integers, -0.0, nested large arrays, strings, objects", async () => {
      const nested = Array.from({ length: 3 }, (_, i) => new Array(70_000).fill(i % 2 === 0 ? new JsonFloat(1) : 2n ** 63n));
      const items = [
        new JsonFloat(-0),
        new JsonFloat(1e300),
        2n ** 64n - 1n,
        -(2n ** 63n),
        0.5,
        "é\u2028\"\\",
        { b: [1, { __proto__: 3, a: null }], a: true },
        ...nested,
        ...Array.from({ length: 80_000 }, (_, i) => ({ k: i, f: new JsonFloat(i) })),
      ];
      const { frame } = V.requestFrame("echo", withItems(items));
      const bodies = [];
      for (const { address } of [off, here]) {
        const c = await V.connect(address);
        c.send(frame);
        bodies.push((await c.next(60_000)).body);
        c.close();
      }
      assert.ok(bodies[0].length > OFFLOAD);
      assert.ok(Buffer.from(bodies[0]).equals(Buffer.from(bodies[1])), "the answers differ");
    });

    test("undecodable large bodies get the verdict and message of the decoder on the event loop", async () => {
      const fill = new Array(60_000).fill("filler");
      const good = V.requestFrame("echo", withItems(fill));
      const text = Buffer.from(good.frame.subarray(4)).toString("utf8");
      const variants = [
        text.replace('"filler"', '"\\ud800"'), // a lone surrogate escape
        text.replace('"filler"', "1.5e999"), // a float out of range
        text.replace('"filler"', "[".repeat(200) + "]".repeat(200)), // too deep
        text.replace(`"${good.ids.requestId}"`, "17"), // a field of the wrong type
        text.slice(0, -1), // cut short
      ];
      for (const variant of variants) {
        const frame = Buffer.concat([Buffer.alloc(4), Buffer.from(variant)]);
        frame.writeUInt32BE(frame.length - 4, 0);
        const answers = [];
        for (const { address } of [off, here]) {
          const c = await V.connect(address);
          c.send(frame);
          // A probe behind it: an undecodable frame without readable ids gets no answer.
          const probe = V.requestFrame("echo");
          c.send(probe.frame);
          const first = await c.next(60_000);
          answers.push(first.ids.requestId === probe.ids.requestId ? null : { ...first, body: undefined });
          if (answers.at(-1) !== null) assert.equal((await c.next()).ids.requestId, probe.ids.requestId);
          c.close();
        }
        assert.ok(frame.length > OFFLOAD);
        assert.deepEqual(answers[0], answers[1]);
      }
    });
  });
}

describe("the canonical encoder's JSON.stringify shortcut", () => {
  // The canonical writer, written out plainly: keys by code point, numbers as Rust writes them.
  function reference(value) {
    if (value === null) return "null";
    if (value instanceof JsonFloat) return formatFloat(value.value);
    switch (typeof value) {
      case "string":
        return JSON.stringify(value);
      case "number":
        return Number.isInteger(value) ? formatInteger(value) : formatFloat(value);
      case "bigint":
        return formatInteger(value);
      case "boolean":
        return String(value);
    }
    if (typeof value.toJSON === "function") return reference(value.toJSON());
    if (Array.isArray(value)) return "[" + Array.prototype.map.call(value, reference).join(",") + "]";
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(compareCodePoints);
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + reference(value[k])).join(",") + "}";
  }
  const cases = [
    [1, 2.5, -0, 1e-5, 1.5e-6, 9007199254740991, 9007199254740992, 1e21, 0.1, -1e-7],
    { b: 1, a: 2 },
    { a: 1, b: { d: [1, 2], c: "x" } },
    { 10: 1, 9: 2 },
    { "\u{1F600}": 1, "\uFFFF": 2 },
    { z: undefined, a: [null, true, false, ""] },
    ["\u0000\u001f\u2028\"\\/", "é", "\u{10FFFF}"],
    Object.assign(Object.create(null), { y: 1, x: 2 }),
    [new JsonFloat(2), 2n ** 63n, { when: new Date(0) }],
    new Array(1000).fill({ b: 0.25, a: [1, 2, 3] }),
    { __proto__: null, ["__proto__"]: 1 },
    // Keys that need escaping beside plain ones (written, and ordered, the careful way).
    { 'q"': 1, "\n": [2], b: { "\\": "x", a: 0 } },
    // Objects and arrays that are not plain (another prototype) are written like plain ones.
    new (class Point { constructor() { this.y = 1; this.x = 2; } })(),
    Object.setPrototypeOf([3, 1], Object.prototype),
  ];
  // Large containers (more than 64 items or keys) are where the shortcut applies.
  const large = (value) => [
    new Array(100).fill(value),
    Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${String(i).padStart(2, "0")}`, value])),
    Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${69 - i}`, value])),
    Object.fromEntries(Array.from({ length: 70 }, (_, i) => [String(i * 7), value])),
  ];
  for (const [i, value] of cases.entries()) {
    test(`case ${i}`, () => {
      assert.equal(writeAny(value, null, null, 0, 127), reference(value));
      for (const container of large(value)) assert.equal(writeAny(container, null, null, 0, 127), reference(container));
      assert.equal(writeAny([large(value)], null, null, 0, 127), reference([large(value)]));
    });
  }
  test("a lone surrogate and too deep nesting are refused as before", () => {
    assert.throws(() => writeAny({ a: "\ud800" }, null, null, 0, 127), /lone surrogate/);
    assert.throws(() => writeAny({ "\udc00": 1 }, null, null, 0, 127), /lone surrogate/);
    let deep = [];
    for (let i = 0; i < 130; i++) deep = [deep];
    assert.throws(() => writeAny(deep, null, null, 0, 127), /nested at most 127/);
    assert.throws(() => writeAny([1, undefined], null, null, 0, 127), /JSON-encodable/);
    assert.throws(() => writeAny(new Array(100).fill("\ud800"), null, null, 0, 127), /lone surrogate/);
    assert.throws(() => writeAny([...new Array(100).fill(0), undefined], null, null, 0, 127), /JSON-encodable/);
    assert.throws(() => writeAny(new Array(100).fill(deep), null, null, 0, 127), /nested at most 127/);
    assert.throws(() => writeAny([new Map()], null, null, 0, 127), /JSON-encodable/);
    assert.throws(() => writeAny({ m: new Set() }, null, null, 0, 127), /JSON-encodable/);
    assert.throws(() => writeAny({ a: new Uint8Array(1) }, null, null, 0, 127), /JSON-encodable/);
  });
  test("an error below a key names the path, plain or escaped", () => {
    const paths = { plain: "plain[1]", 'q"uote': '["q\\"uote"][1]' };
    for (const [key, path] of Object.entries(paths)) {
      assert.throws(() => writeAny({ z: 0, [key]: [1, () => 1] }, null, null, 0, 127), {
        message: `${path}: expected a JSON-encodable value, got function`,
      });
    }
  });
});
