// Replays differential-fuzzing inputs through the generated TypeScript package (built to
// generated/typescript/dist): same input and report as verdicts.py.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const dist = resolve(process.argv[2] ?? "generated/typescript/dist", "index.js");
const rrq = await import(pathToFileURL(dist).href);

let total = 0;
const disagreements = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line) continue;
  const [frameB64, verdict, detail] = line.split("\t");
  const frame = new Uint8Array(Buffer.from(frameB64, "base64"));
  total += 1;
  let ours;
  try {
    const canonical = rrq.encodeFrame(rrq.decodeFrame(frame));
    ours = ["accept", Buffer.from(canonical).toString("base64")];
  } catch (error) {
    if (!(error instanceof rrq.FrameError)) throw error;
    ours = ["reject", error.kind];
  }
  if (ours[0] !== verdict || ours[1] !== detail) disagreements.push([frame, [verdict, detail], ours]);
}
console.log(`typescript: ${total} inputs, ${total - disagreements.length} agree with Rust, ${disagreements.length} disagree`);
for (const [frame, rust, ours] of disagreements.slice(0, 10)) {
  const text = Buffer.from(frame).toString("latin1").slice(0, 300);
  console.log(`  frame ${JSON.stringify(text)}\n    rust       ${rust[0]} ${rust[1].slice(0, 120)}\n    typescript ${ours[0]} ${ours[1].slice(0, 120)}`);
}
process.exit(disagreements.length ? 1 : 0);
