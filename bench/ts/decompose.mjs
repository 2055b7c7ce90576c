// Where the generated TypeScript codec spends its time on the typical request: each stage of
// decodeFrame / encodeFrame timed on its own (process CPU time, interleaved rounds, medians),
// next to the floor. Uses the package's internal modules (dist/json.js, dist/v1/codec.js): a stage
// whose internal function is missing or changed is reported as such. Run by ./bench.sh --profile.
//
//   node decompose.mjs FIXTURES_DIR PACKAGE_DIST_DIR [--rounds 40]
import fs from "node:fs";
import path from "node:path";
import buffer from "node:buffer";
import { pathToFileURL } from "node:url";

const [fixtures, dist] = process.argv.slice(2);
const ri = process.argv.indexOf("--rounds");
const rounds = ri === -1 ? 40 : Number(process.argv[ri + 1]);
const load = (m) => import(pathToFileURL(path.join(dist, m)).href);
// Protocol 1's codec (the fixture is a protocol-1 frame).
const ours = (await load("index.js")).v1;
const json = await load("json.js");
const codec = await load("v1/codec.js");

const frame = fs.readFileSync(path.join(fixtures, "request.frame"));
const body = frame.subarray(4);
const text = body.toString("utf8");
const plain = JSON.parse(text);
const msg = ours.decodeFrame(frame);
const ctx = msg.payload.context;
const ts1 = plain.payload.context.enqueue_time;
const ts2 = plain.payload.context.deadline;

const stages = {
  "floor: JSON.parse(frame.toString(utf8, 4))": () => JSON.parse(frame.toString("utf8", 4)),
  "decodeFrame (auto)": () => ours.decodeFrame(frame),
  "  buffer.isUtf8(body)": () => buffer.isUtf8(body),
  "  body -> string": () => buffer.Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"),
  "  fastPathApplies(text) (JS scan of every char)": () => json.fastPathApplies(text, 127),
  "  JSON.parse(text)": () => JSON.parse(text),
  "  readRunnerMessage(value) (typed checks, objects)": () => codec.readRunnerMessage(plain, null, null),
  "  2x Timestamp.parse (of the fixture's two timestamps)": () => [ours.Timestamp.parse(ts1), ours.Timestamp.parse(ts2)],
  "floor: frame of JSON.stringify(value)": () => Buffer.from(JSON.stringify(plain)),
  "encodeFrame": () => ours.encodeFrame(msg),
  "  encodeMessageText (canonical text)": () => ours.encodeMessageText(msg),
  "  writeAny(args) + writeAny(kwargs)": () => [json.writeAny(msg.payload.args, null, null, 3, 127), json.writeAny(msg.payload.kwargs, null, null, 3, 127)],
  "  JSON.stringify(args) + (kwargs) (not canonical in general)": () => [JSON.stringify(msg.payload.args), JSON.stringify(msg.payload.kwargs)],
  "  2x Timestamp toString": () => [ctx.enqueue_time.toString(), ctx.deadline.toString()],
};

function run(fn, n) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / n;
}
const ok = {};
for (const [k, f] of Object.entries(stages)) {
  try {
    f();
    ok[k] = f;
  } catch (e) {
    console.log(`(stage "${k}" not measurable with this build: ${e.message})`);
  }
}
for (const f of Object.values(ok)) run(f, 20000); // JIT warm-up
const res = Object.fromEntries(Object.keys(ok).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const [k, f] of Object.entries(ok)) res[k].push(run(f, 2000));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fd = median(res[Object.keys(res)[0]]);
const fe = median(res["floor: frame of JSON.stringify(value)"] ?? [1]);
console.log(`decomposition of the typical request (${frame.length} B), process CPU time, median of ${rounds} rounds`);
let encoding = false;
for (const [k, v] of Object.entries(res)) {
  const m = median(v);
  if (k.startsWith("floor: frame of")) encoding = true;
  const floor = encoding ? fe : fd;
  console.log(`${(m / 1000).toFixed(2).padStart(8)} us  ${(m / floor).toFixed(2).padStart(5)}x floor  ${k}`);
}
