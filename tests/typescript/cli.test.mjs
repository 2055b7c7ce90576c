// The `rrq-runner` command in a child process: listening line, environment address,
// SIGTERM with requests in flight (each answered cancelled, exit 0), refused addresses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { rrq, glue, Client, requestFrame, packageDir } from "./helpers.mjs";

const dir = mkdtempSync(join(tmpdir(), "rrq-cli-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const handlers = join(dir, "handlers.mjs");
writeFileSync(
  handlers,
  `import { Registry } from ${JSON.stringify(pathToFileURL(join(packageDir, "dist/index.js")).href)};
const registry = new Registry();
registry.register("hold", (request, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve("aborted"))));
registry.register("echo", () => "hi");
export default registry;
`,
);
const cli = join(packageDir, "dist/cli.js");

/** Starts the CLI; resolves with the child and its address once it prints the listening line. */
function startCli(args, env = {}) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const listening = new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const match = /rrq-runner listening on (\S+):(\d+)/.exec(stderr);
      if (match) resolve({ host: match[1], port: Number(match[2]) });
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  listening.catch(() => {}); // awaited only by tests that expect the runner to start
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, stderr: () => stderr })));
  return { child, listening, exited };
}

test("SIGTERM with requests in flight: each answered cancelled, exit 0", async () => {
  const { child, listening, exited } = startCli(["--handlers", handlers, "--tcp-socket", "127.0.0.1:0"]);
  const address = await listening;
  const a = await Client.connect(address);
  const b = await Client.connect(address);
  const held = [requestFrame("hold"), requestFrame("hold"), requestFrame("hold")];
  a.send(held[0].frame);
  a.send(held[1].frame);
  b.send(held[2].frame);
  // Make sure all three are running before the signal.
  const probe = requestFrame("echo");
  a.send(probe.frame);
  assert.equal((await a.next()).result, "hi");
  b.send(requestFrame("echo").frame);
  assert.equal((await b.next()).result, "hi");
  child.kill("SIGTERM");
  const answers = [await a.next(), await a.next(), await b.next()];
  for (const out of answers) {
    assert.equal(out.status, glue.Statuses.error);
    assert.equal(out.errorType, glue.Failures.cancelled);
    assert.match(out.message, /shutting down/);
  }
  assert.deepEqual(answers.map((o) => o.ids.requestId).sort(), held.map((h) => h.ids.requestId).sort());
  const { code } = await exited;
  assert.equal(code, 0);
  await a.whenClosed();
  await b.whenClosed();
});

test("the address from RRQ_RUNNER_TCP_SOCKET; SIGINT exits 0", async () => {
  const { child, listening, exited } = startCli(["--handlers", handlers], { RRQ_RUNNER_TCP_SOCKET: "127.0.0.1:0" });
  const address = await listening;
  const client = await Client.connect(address);
  client.send(requestFrame("echo").frame);
  assert.equal((await client.next()).result, "hi");
  client.close();
  child.kill("SIGINT");
  assert.equal((await exited).code, 0);
});

test("a non-loopback address is refused with a clear error", async () => {
  const { exited } = startCli(["--handlers", handlers, "--tcp-socket", "0.0.0.0:0"]);
  const { code, stderr } = await exited;
  assert.equal(code, 1);
  assert.match(stderr(), /loopback/);
});

test("usage errors: no handlers, no address", async () => {
  const none = await startCli([]).exited;
  assert.equal(none.code, 2);
  assert.match(none.stderr(), /--handlers/);
  const noAddress = await startCli(["--handlers", handlers], { RRQ_RUNNER_TCP_SOCKET: "" }).exited;
  assert.equal(noAddress.code, 1);
  assert.match(noAddress.stderr(), /RRQ_RUNNER_TCP_SOCKET/);
});
