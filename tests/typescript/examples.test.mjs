// examples/typescript/run.sh, for every protocol version (DESIGN.md, "Examples contract"):
// `--protocol N` serves that version (default: the latest), `--tcp-socket` anywhere on the
// line or RRQ_RUNNER_TCP_SOCKET gives the address, nothing is printed on a normal start; echo
// returns the request's inputs by wire name (v1: args and kwargs, v2: params), sleep sleeps
// `seconds` and is cancellable, fail throws `message` (a default when absent), retry asks for
// a retry after `seconds`.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as net from "node:net";
import { root, versions, sleep } from "./helpers.mjs";

const script = join(root, "examples/typescript/run.sh");

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts run.sh with `args`; resolves once a client of version `v` is connected. */
async function start(v, args, env = {}, port) {
  const child = spawn(script, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  for (let i = 0; ; i++) {
    try {
      const client = await v.connect({ host: "127.0.0.1", port });
      return { child, client, exited, output: () => output };
    } catch (error) {
      if (i > 2400 || child.exitCode !== null) throw new Error(`${error}: ${output}`);
      await sleep(25);
    }
  }
}

for (const v of versions) {
  const { glue } = v;
  const latest = v === versions[versions.length - 1];
  describe(`${v.module}: examples/typescript/run.sh`, () => {
    test(`${latest ? "(default) " : ""}--protocol ${v.version}: echo, sleep, cancel, fail and retry`, async () => {
      const port = await freePort();
      // The first start may build; later ones print nothing.
      const first = await start(v, ["--protocol", v.version, "--tcp-socket", `127.0.0.1:${port}`], {}, port);
      first.client.close();
      first.child.kill("SIGTERM");
      assert.equal(await first.exited, 0);

      const args = latest ? [] : [`--protocol=${v.version}`];
      const { child, client, exited, output } = await start(v, [...args, "--tcp-socket", `127.0.0.1:${port}`], { RRQ_RUNNER_TCP_SOCKET: "127.0.0.1:1" }, port);
      const inputs = v.emptyInputs();
      for (const name of glue.INPUTS) if (name !== glue.INPUT_MAP) inputs[name] = Array.isArray(inputs[name]) ? [1, "two", null] : inputs[name];
      inputs[glue.INPUT_MAP] = { a: 1, nested: { b: [true] } };
      client.send(v.requestFrame("echo", { inputs }).frame);
      let out = await client.next();
      assert.equal(out.status, glue.Statuses.success);
      assert.deepEqual(Object.keys(out.result).sort(), [...glue.INPUTS].sort());
      assert.deepEqual(out.result, inputs);

      client.send(v.requestFrame("sleep", {}, { seconds: 0.05 }).frame);
      out = await client.next();
      assert.deepEqual(out.result, { slept: 0.05 });

      const long = v.requestFrame("sleep", {}, { seconds: 30 });
      client.send(long.frame);
      await sleep(100);
      client.send(v.rrq.encodeFrame(glue.cancelMessage({ jobId: long.ids.jobId, requestId: long.ids.requestId })));
      out = await client.next();
      assert.equal(out.errorType, glue.Failures.cancelled);

      client.send(v.requestFrame("fail", {}, { message: "boom" }).frame);
      out = await client.next();
      assert.deepEqual([out.status, out.message, out.errorType], [glue.Statuses.error, "boom", "ExampleError"]);
      client.send(v.requestFrame("fail", {}, {}).frame);
      out = await client.next();
      assert.ok(out.message.length > 0 && out.errorType === "ExampleError");

      client.send(v.requestFrame("retry", {}, { seconds: 3 }).frame);
      out = await client.next();
      assert.deepEqual([out.status, out.retryAfterSeconds], [glue.Statuses.retry, 3]);

      // Another version's request is answered by version.
      for (const other of versions.filter((o) => o !== v)) {
        client.send(other.requestFrame("echo").frame);
        const reply = await client.next();
        assert.equal(reply.status, glue.Statuses.error);
        assert.ok([glue.Failures.unsupportedVersion, glue.Failures.invalidFrame].includes(reply.errorType), reply.errorType);
      }
      client.close();
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.equal(output(), "", "nothing printed on a normal start and stop");
    });

    test("the address from RRQ_RUNNER_TCP_SOCKET (as RRQ 0.9 sets it)", async () => {
      const port = await freePort();
      const { child, client, exited, output } = await start(v, ["--protocol", v.version], { RRQ_RUNNER_TCP_SOCKET: `127.0.0.1:${port}` }, port);
      client.send(v.requestFrame("echo").frame);
      assert.equal((await client.next()).status, glue.Statuses.success);
      client.close();
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.equal(output(), "");
    });
  });
}

test("run.sh refuses a protocol version the package does not serve", async () => {
  const child = spawn(script, ["--protocol", "999", "--tcp-socket", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.equal(code, 2);
  assert.match(stderr, /unknown protocol version "999"/);
});
