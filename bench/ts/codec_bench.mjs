// TypeScript codec micro-benchmarks of ./bench.sh: decode (frame bytes -> validated typed
// message) and encode (typed message -> frame bytes) of the typical request and response fixtures,
// in each protocol version (`rrq-bench fixtures --protocol N`; keys `decode/request` for protocol
// 1, `decode/request-v2` for protocol 2, as the Python benchmark names them).
//
// Every case runs in this one process, interleaved: in each round every case times one batch (the
// case order rotated each round); reported: the median over rounds of the per-round ratio to the
// floor (JSON.parse / JSON.stringify) and the median ns/op.
//
//   node codec_bench.mjs FIXTURES_DIR PACKAGE_DIST_DIR SCHEMA_JSON [--v2 FIXTURES_DIR_V2 SCHEMA_JSON_V2] \
//       --rounds 60 --json out.json
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as z from "zod";
import * as v from "valibot";
import Ajv2020 from "ajv/dist/2020.js";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const [fixtures, dist, schemaPath] = argv;
const v2Index = argv.indexOf("--v2");
const [fixturesV2, schemaPathV2] = v2Index === -1 ? [null, null] : argv.slice(v2Index + 1, v2Index + 3);
const rounds = Number(opt("--rounds", "60"));
const batchMs = Number(opt("--batch-ms", "5"));
const jsonOut = opt("--json", null);
const onlyOurs = argv.includes("--only-ours"); // for profiling: the floor and ours only

const pkg = await import(pathToFileURL(path.join(dist, "index.js")).href);

// ---------------------------------------------------------------------------------------------
// Peers: the protocol written by hand for zod and valibot, and ajv compiled from the project's
// own JSON Schema (generated/schema), as a user would.

const TS_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;

const zU32 = z.number().int().min(0).max(4294967295);
const zTs = z.iso.datetime({ offset: true });
const zContext = z.object({
  job_id: z.string(),
  attempt: zU32,
  enqueue_time: zTs,
  queue_name: z.string(),
  deadline: zTs.nullable().optional(),
  trace_context: z.record(z.string(), z.string()).nullable().optional(),
  worker_id: z.string().nullable().optional(),
});
const zRequest = z.object({
  protocol_version: z.string().default("1"),
  request_id: z.string(),
  job_id: z.string(),
  function_name: z.string(),
  args: z.array(z.unknown()).default([]),
  kwargs: z.record(z.string(), z.unknown()).default({}),
  context: zContext,
});
const zError = z.object({
  message: z.string(),
  type: z.string().nullable().optional(),
  code: z.string().nullable().optional(),
  details: z.unknown().optional(),
});
const zOutcome = z.object({
  job_id: z.string().nullable().optional(),
  request_id: z.string().nullable().optional(),
  status: z.enum(["success", "retry", "timeout", "error"]),
  result: z.unknown().optional(),
  error: zError.nullable().optional(),
  retry_after_seconds: z.number().nullable().optional(),
});
const zCancel = z.object({
  protocol_version: z.string().default("1"),
  job_id: z.string(),
  request_id: z.string().nullable().optional(),
  hard_kill: z.boolean().default(false),
});
const zMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("request"), payload: zRequest }),
  z.object({ type: z.literal("response"), payload: zOutcome }),
  z.object({ type: z.literal("cancel"), payload: zCancel }),
]);
// Protocol 2: named `params` only, `correlation_context` in the context, default version "2".
const zRequestV2 = z.object({
  protocol_version: z.string().default("2"),
  request_id: z.string(),
  job_id: z.string(),
  function_name: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  context: zContext.extend({ correlation_context: z.record(z.string(), z.string()).nullable().optional() }),
});
const zMessageV2 = z.discriminatedUnion("type", [
  z.object({ type: z.literal("request"), payload: zRequestV2 }),
  z.object({ type: z.literal("response"), payload: zOutcome }),
  z.object({ type: z.literal("cancel"), payload: zCancel.extend({ protocol_version: z.string().default("2") }) }),
]);

const vU32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4294967295));
const vTs = v.pipe(v.string(), v.regex(TS_RE));
const vContext = v.object({
  job_id: v.string(),
  attempt: vU32,
  enqueue_time: vTs,
  queue_name: v.string(),
  deadline: v.nullish(vTs),
  trace_context: v.nullish(v.record(v.string(), v.string())),
  worker_id: v.nullish(v.string()),
});
const vRequest = v.object({
  protocol_version: v.optional(v.string(), "1"),
  request_id: v.string(),
  job_id: v.string(),
  function_name: v.string(),
  args: v.optional(v.array(v.unknown()), []),
  kwargs: v.optional(v.record(v.string(), v.unknown()), {}),
  context: vContext,
});
const vError = v.object({
  message: v.string(),
  type: v.nullish(v.string()),
  code: v.nullish(v.string()),
  details: v.optional(v.unknown()),
});
const vOutcome = v.object({
  job_id: v.nullish(v.string()),
  request_id: v.nullish(v.string()),
  status: v.picklist(["success", "retry", "timeout", "error"]),
  result: v.optional(v.unknown()),
  error: v.nullish(vError),
  retry_after_seconds: v.nullish(v.number()),
});
const vCancel = v.object({
  protocol_version: v.optional(v.string(), "1"),
  job_id: v.string(),
  request_id: v.nullish(v.string()),
  hard_kill: v.optional(v.boolean(), false),
});
const vMessage = v.variant("type", [
  v.object({ type: v.literal("request"), payload: vRequest }),
  v.object({ type: v.literal("response"), payload: vOutcome }),
  v.object({ type: v.literal("cancel"), payload: vCancel }),
]);
const vRequestV2 = v.object({
  protocol_version: v.optional(v.string(), "2"),
  request_id: v.string(),
  job_id: v.string(),
  function_name: v.string(),
  params: v.optional(v.record(v.string(), v.unknown()), {}),
  context: v.object({ ...vContext.entries, correlation_context: v.nullish(v.record(v.string(), v.string())) }),
});
const vMessageV2 = v.variant("type", [
  v.object({ type: v.literal("request"), payload: vRequestV2 }),
  v.object({ type: v.literal("response"), payload: vOutcome }),
  v.object({ type: v.literal("cancel"), payload: v.object({ ...vCancel.entries, protocol_version: v.optional(v.string(), "2") }) }),
]);

// One ajv instance per schema (both versions' schemas may carry the same $id).
const compileSchema = (file) =>
  new Ajv2020({ strict: false, validateFormats: false, allErrors: false }).compile(JSON.parse(fs.readFileSync(file, "utf8")));

// Per protocol version: the fixtures, our codec of that version, the peers written for it.
const versions = [
  { suffix: "", fixtures, ours: pkg.v1, ajvValidate: compileSchema(schemaPath), zMessage, vMessage },
];
if (fixturesV2 !== null) {
  versions.push({
    suffix: "-v2",
    fixtures: fixturesV2,
    ours: pkg.v2,
    ajvValidate: compileSchema(schemaPathV2),
    zMessage: zMessageV2,
    vMessage: vMessageV2,
  });
}

// ---------------------------------------------------------------------------------------------

function frameOf(text) {
  const n = Buffer.byteLength(text, "utf8");
  const frame = Buffer.allocUnsafe(4 + n);
  frame.writeUInt32BE(n, 0);
  frame.write(text, 4, "utf8");
  return frame;
}

function parseBody(frame) {
  return JSON.parse(frame.toString("utf8", 4));
}

function casesFor(frame, { ours, ajvValidate, zMessage, vMessage }) {
  const plain = parseBody(frame);
  const msg = ours.decodeFrame(frame);
  if (!Buffer.from(ours.encodeFrame(msg)).equals(frame)) throw new Error("encodeFrame is not canonical");
  if (!ajvValidate(plain)) throw new Error("ajv rejects the fixture: " + JSON.stringify(ajvValidate.errors));
  zMessage.parse(plain);
  v.parse(vMessage, plain);
  return {
    decode: {
      floor: () => parseBody(frame),
      zod: () => zMessage.parse(parseBody(frame)),
      ajv: () => {
        const x = parseBody(frame);
        if (!ajvValidate(x)) throw new Error("invalid");
        return x;
      },
      valibot: () => v.parse(vMessage, parseBody(frame)),
      ours: () => ours.decodeFrame(frame),
      "ours-exact": () => ours.decodeFrame(frame, { parser: "exact" }),
    },
    encode: {
      floor: () => frameOf(JSON.stringify(plain)),
      ours: () => ours.encodeFrame(msg),
    },
  };
}

let sink = 0;
// CPU time of the process (user + system, µs resolution), not wall time: steadier on a shared
// machine. It includes V8's helper threads (concurrent GC, compilers): real costs of the case.
function batch(fn, n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink ^= fn() === undefined ? 1 : 0;
  const d = process.cpuUsage(t0);
  return (d.user + d.system) * 1000;
}

function calibrate(fn) {
  let n = 16;
  for (;;) {
    const dt = batch(fn, n);
    if (dt > (batchMs * 1e6) / 4) return Math.max(16, Math.floor((n * batchMs * 1e6) / dt));
    n *= 4;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quartile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
};

function run(cases) {
  const names = Object.keys(cases);
  for (const name of names) for (let i = 0; i < 3; i++) calibrate(cases[name]); // JIT warm-up
  const sizes = Object.fromEntries(names.map((n) => [n, calibrate(cases[n])]));
  const perOp = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const k = r % names.length;
    for (const name of [...names.slice(k), ...names.slice(0, k)]) {
      perOp[name].push(batch(cases[name], sizes[name]) / sizes[name]);
    }
  }
  const out = {};
  for (const name of names) {
    const ratios = perOp[name].map((t, i) => t / perOp.floor[i]);
    out[name] = {
      ns_per_op: median(perOp[name]),
      ratio: median(ratios),
      ratio_q1: quartile(ratios, 0.25),
      ratio_q3: quartile(ratios, 0.75),
      ops_per_batch: sizes[name],
    };
  }
  return out;
}

const results = {};
for (const version of versions) for (const message of ["request", "response"]) {
  const frame = fs.readFileSync(path.join(version.fixtures, `${message}.frame`));
  for (const [op, all] of Object.entries(casesFor(frame, version))) {
    const cases = onlyOurs
      ? Object.fromEntries(Object.entries(all).filter(([n]) => n === "floor" || n === "ours"))
      : all;
    const key = `${op}/${message}${version.suffix}`;
    results[key] = { bytes: frame.length, cases: run(cases) };
    process.stderr.write(
      `  node   ${key.padEnd(17)} ` +
        Object.entries(results[key].cases)
          .map(([n, c]) => `${n} ${c.ratio.toFixed(2)}x (${(c.ns_per_op / 1000).toFixed(2)}us)`)
          .join("  ") +
        "\n",
    );
  }
}
const here = path.dirname(new URL(import.meta.url).pathname);
const version = (name) =>
  JSON.parse(fs.readFileSync(path.join(here, "..", "node_modules", name, "package.json"), "utf8")).version;
const doc = {
  node: process.version,
  versions: { zod: version("zod"), ajv: version("ajv"), valibot: version("valibot") },
  rounds,
  batch_ms: batchMs,
  results,
  sink,
};
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(doc, null, 2));
