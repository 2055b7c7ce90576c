// Replays differential-fuzzing inputs through the generated TypeScript package (built to
// generated/typescript/dist): same input, report and `--messages FILE` output as verdicts.py.
import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const args = process.argv.slice(2);
const at = args.indexOf("--messages");
const messagesFile = at === -1 ? null : args.splice(at, 2)[1];
const atProtocol = args.indexOf("--protocol");
const protocol = atProtocol === -1 ? null : args.splice(atProtocol, 2)[1];
// The protocol version's subpath module (dist/v<N>/index.js), or the package's top level.
const dist = resolve(args[0] ?? "generated/typescript/dist", protocol === null ? "index.js" : `v${protocol}/index.js`);
const rrq = await import(pathToFileURL(dist).href);

let total = 0;
const disagreements = [];
const lines = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line) continue;
  const [frameB64, verdict, detail, path] = line.split("\t");
  const frame = new Uint8Array(Buffer.from(frameB64, "base64"));
  total += 1;
  let ours;
  try {
    const canonical = rrq.encodeFrame(rrq.decodeFrame(frame));
    ours = ["accept", Buffer.from(canonical).toString("base64"), "-"];
    lines.push("accept");
  } catch (error) {
    if (!(error instanceof rrq.FrameError)) throw error;
    ours = ["reject", error.kind, ["type", "missing", "value"].includes(error.kind) ? error.path : "-"];
    lines.push(`${error.kind}\t${error.path}\t${error.message}`);
  }
  if (ours[0] !== verdict || ours[1] !== detail || ours[2] !== path) disagreements.push([frame, [verdict, detail, path], ours]);
}
if (messagesFile !== null) writeFileSync(messagesFile, lines.join("\n") + "\n", "utf8");
console.log(`typescript: ${total} inputs, ${total - disagreements.length} agree with Rust (verdict, kind, path, canonical bytes), ${disagreements.length} disagree`);
for (const [frame, rust, ours] of disagreements.slice(0, 10)) {
  const text = Buffer.from(frame).toString("latin1").slice(0, 300);
  const show = (v) => v.map((x) => x.slice(0, 120)).join(" ");
  console.log(`  frame ${JSON.stringify(text)}\n    rust       ${show(rust)}\n    typescript ${show(ours)}`);
}
process.exit(disagreements.length ? 1 : 0);
