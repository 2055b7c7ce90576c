// The package's command in a child process, for a handlers module of each protocol version:
// silent on a normal start (`--verbose`: the listening line), the address from --tcp-socket or
// RRQ_RUNNER_TCP_SOCKET, the registry's version served, SIGTERM with requests in flight (each
// answered cancelled, exit 0), refused addresses, usage errors.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as net from "node:net";
import { versions, distDir, manifest, sleep } from "./helpers.mjs";

const dir = mkdtempSync(join(tmpdir(), "rrq-cli-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const cli = join(distDir, "cli.js");

/** A handlers module on version `v`'s subpath. */
function handlersOf(v) {
  const file = join(dir, `handlers-${v.module}.mjs`);
  writeFileSync(
    file,
    `import { Registry } from ${JSON.stringify(pathToFileURL(join(distDir, v.module, "index.js")).href)};
const registry = new Registry();
registry.register("hold", (request, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve("aborted"))));
registry.register("echo", () => "hi");
export default registry;
`,
  );
  return file;
}

/** Starts the CLI; `listening` resolves with its address once it prints the listening line (with --verbose). */
function startCli(args, env = {}) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  const name = manifest.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const listening = new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const match = new RegExp(`^${name} listening on (\\S+):(\\d+)\\n`).exec(stderr);
      if (match) resolve({ host: match[1], port: Number(match[2]) });
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  listening.catch(() => {}); // awaited only by tests that expect the runner to start
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, stderr: () => stderr })));
  return { child, listening, exited, output: () => stdout + stderr };
}

/** A free loopback port (bound and released). */
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Connects to `address` until it accepts (the CLI prints nothing to wait for). */
async function connectWhenUp(v, address, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await v.connect(address);
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(25);
    }
  }
}

for (const v of versions) {
  const { glue } = v;
  const handlers = handlersOf(v);

  describe(`${v.module}: the command`, () => {
    test("SIGTERM with requests in flight: each answered cancelled, exit 0", async () => {
      const { child, listening, exited } = startCli(["--handlers", handlers, "--tcp-socket", "127.0.0.1:0", "--verbose"]);
      const address = await listening;
      const a = await v.connect(address);
      const b = await v.connect(address);
      const held = [v.requestFrame("hold"), v.requestFrame("hold"), v.requestFrame("hold")];
      a.send(held[0].frame);
      a.send(held[1].frame);
      b.send(held[2].frame);
      // Make sure all three are running before the signal.
      a.send(v.requestFrame("echo").frame);
      assert.equal((await a.next()).result, "hi");
      b.send(v.requestFrame("echo").frame);
      assert.equal((await b.next()).result, "hi");
      child.kill("SIGTERM");
      const answers = [await a.next(), await a.next(), await b.next()];
      for (const out of answers) {
        assert.equal(out.status, glue.Statuses.error);
        assert.equal(out.errorType, glue.Failures.cancelled);
        assert.equal(out.message, v.irMessage("shutting_down"));
      }
      assert.deepEqual(answers.map((o) => o.ids.requestId).sort(), held.map((h) => h.ids.requestId).sort());
      const { code } = await exited;
      assert.equal(code, 0);
      await a.whenClosed();
      await b.whenClosed();
    });

    test("silent on a normal start; the address from RRQ_RUNNER_TCP_SOCKET; the registry's version; SIGINT exits 0", async () => {
      const port = await freePort();
      const { child, exited, output } = startCli(["--handlers", handlers], { RRQ_RUNNER_TCP_SOCKET: `127.0.0.1:${port}` });
      const client = await connectWhenUp(v, { host: "127.0.0.1", port });
      client.send(v.requestFrame("echo").frame);
      assert.equal((await client.next()).result, "hi");
      // A request of another protocol version is refused by version, not run.
      client.send(v.requestFrame("echo", { protocolVersion: `${v.version}-other` }).frame);
      assert.equal((await client.next()).errorType, glue.Failures.unsupportedVersion);
      client.close();
      child.kill("SIGINT");
      assert.equal((await exited).code, 0);
      assert.equal(output(), "", "a runner prints nothing on a normal start and stop");
    });

    test("--tcp-socket anywhere on the command line wins over the environment", async () => {
      const port = await freePort();
      const { child, exited, output } = startCli(["--tcp-socket", `127.0.0.1:${port}`, "--handlers", handlers], { RRQ_RUNNER_TCP_SOCKET: "127.0.0.1:1" });
      const client = await connectWhenUp(v, { host: "127.0.0.1", port });
      client.send(v.requestFrame("echo").frame);
      assert.equal((await client.next()).result, "hi");
      client.close();
      child.kill("SIGTERM");
      assert.equal((await exited).code, 0);
      assert.equal(output(), "");
    });
  });
}

describe("the command's errors", () => {
  const handlers = handlersOf(versions[versions.length - 1]);

  test("a non-loopback address is refused with a clear error", async () => {
    const { exited } = startCli(["--handlers", handlers, "--tcp-socket", "0.0.0.0:0"]);
    const { code, stderr } = await exited;
    assert.equal(code, 1);
    assert.match(stderr(), /loopback/);
  });

  test("usage errors: no handlers, no address, a module without a Registry", async () => {
    const none = await startCli([]).exited;
    assert.equal(none.code, 2);
    assert.match(none.stderr(), /--handlers/);
    const noAddress = await startCli(["--handlers", handlers], { RRQ_RUNNER_TCP_SOCKET: "" }).exited;
    assert.equal(noAddress.code, 1);
    assert.match(noAddress.stderr(), /RRQ_RUNNER_TCP_SOCKET/);
    const empty = join(dir, "empty.mjs");
    writeFileSync(empty, "export default {};\n");
    const noRegistry = await startCli(["--handlers", empty, "--tcp-socket", "127.0.0.1:0"]).exited;
    assert.equal(noRegistry.code, 1);
    assert.match(noRegistry.stderr(), /Registry/);
  });
});
