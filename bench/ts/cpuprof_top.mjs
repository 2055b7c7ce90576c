// Prints the top functions by self time of V8 .cpuprofile files (node --cpu-prof), with the
// share of all samples and of the samples outside the idle/GC/program pseudo-frames.
//
//   node cpuprof_top.mjs FILE.cpuprofile... [--top 30]
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const ti = args.indexOf("--top");
const top = ti === -1 ? 30 : Number(args.splice(ti, 2)[1]);
const self = new Map();
let total = 0;
for (const file of args) {
  const prof = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const deltas = prof.timeDeltas;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
    const dt = deltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`self time of ${args.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled`);
for (const [key, t] of rows) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(1).padStart(8)} ms  ${key}`);
