// `npm pack` of generated/typescript installs into an empty folder (offline: the tarball has no
// dependencies); every version's subpath and the top level import by name (and type-check
// through the package's `exports`), and the package's bin serves a handlers module of each
// version that imports the package by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { packageDir, manifest, versions, here, sleep } from "./helpers.mjs";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("npm pack → npm install into an empty folder → every subpath imports, type-checks and serves", async () => {
  const work = mkdtempSync(join(tmpdir(), "rrq-pack-"));
  try {
    execFileSync(npm, ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], { cwd: packageDir });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote no tarball");
    assert.equal(tarball, `${manifest.name}-${manifest.version}.tgz`);
    assert.deepEqual(manifest.dependencies ?? {}, {});
    const app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync(npm, ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, tarball)], { cwd: app });
    const name = manifest.name;

    // Every subpath by name: its version, and the top level is the latest.
    const probe = [
      `import * as top from ${JSON.stringify(name)};`,
      ...versions.map((v) => `import * as ${v.module} from ${JSON.stringify(`${name}/${v.module}`)};`),
      `console.log(JSON.stringify({ top: top.PROTOCOL_VERSION, ${versions.map((v) => `${v.module}: [${v.module}.PROTOCOL_VERSION, typeof ${v.module}.Registry, typeof ${v.module}.encodeFrame, new ${v.module}.Registry().protocolVersion]`).join(", ")} }));`,
    ].join("\n");
    writeFileSync(join(app, "probe.mjs"), probe);
    const seen = JSON.parse(execFileSync(process.execPath, ["probe.mjs"], { cwd: app }).toString());
    assert.equal(seen.top, versions[versions.length - 1].version);
    for (const v of versions) assert.deepEqual(seen[v.module], [v.version, "function", "function", v.version]);

    // The subpaths' declarations resolve through `exports` (NodeNext), under --strict.
    writeFileSync(
      join(app, "consumer.ts"),
      [
        `import { Registry, PROTOCOL_VERSION } from ${JSON.stringify(name)};`,
        ...versions.map((v) => `import * as ${v.module} from ${JSON.stringify(`${name}/${v.module}`)};`),
        `export const all: string[] = [PROTOCOL_VERSION, ${versions.map((v) => `${v.module}.PROTOCOL_VERSION`).join(", ")}];`,
        `export const registries = [new Registry(), ${versions.map((v) => `new ${v.module}.Registry()`).join(", ")}];`,
        ...versions.map((v) => `export const h${v.module}: ${v.module}.Handler = (request: ${v.module}.ExecutionRequest) => typeof request;`),
      ].join("\n"),
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: ["node"], typeRoots: [join(here, "node_modules/@types")] }, files: ["consumer.ts"] }),
    );
    execFileSync(join(here, "node_modules/.bin/tsc"), ["-p", join(app, "tsconfig.json")], { cwd: app });

    // The bin serves a registry of each version, importing the package by name.
    for (const v of versions) {
      writeFileSync(
        join(app, `handlers-${v.module}.js`),
        `import { Registry } from ${JSON.stringify(`${name}/${v.module}`)};\nexport default new Registry().register("hello", () => ({ hello: ${JSON.stringify(v.module)} }));\n`,
      );
      const port = await freePort();
      const child = spawn(join(app, "node_modules/.bin", name), ["--handlers", `./handlers-${v.module}.js`, "--tcp-socket", `127.0.0.1:${port}`], { cwd: app, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
      let client;
      for (let i = 0; client === undefined; i++) {
        try {
          client = await v.connect({ host: "127.0.0.1", port });
        } catch (error) {
          if (i > 400) throw new Error(`${error}: ${stderr}`);
          await sleep(25);
        }
      }
      const { ids, frame } = v.requestFrame("hello");
      client.send(frame);
      const out = await client.next();
      assert.equal(out.status, v.glue.Statuses.success);
      assert.deepEqual(out.ids, ids);
      assert.deepEqual(out.result, { hello: v.module });
      client.close();
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.equal(stderr, "");
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
