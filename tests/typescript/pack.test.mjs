// `npm pack` of generated/typescript installs into an empty folder (offline: the tarball has no
// dependencies) and its `rrq-runner` bin runs a handler that imports the package by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, requestFrame, glue, packageDir } from "./helpers.mjs";

test("npm pack → npm install into an empty folder → rrq-runner runs a handler", async () => {
  const work = mkdtempSync(join(tmpdir(), "rrq-pack-"));
  try {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    execFileSync(npm, ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], { cwd: packageDir });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote no tarball");
    const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
    assert.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
    assert.deepEqual(pkg.dependencies ?? {}, {});
    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync(npm, ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, tarball)], { cwd: app });
    writeFileSync(
      join(app, "handlers.js"),
      `import { Registry } from ${JSON.stringify(pkg.name)};\nexport default new Registry().register("hello", () => ({ hello: "world" }));\n`,
    );
    const child = spawn(join(app, "node_modules/.bin", pkg.name), ["--handlers", "./handlers.js", "--tcp-socket", "127.0.0.1:0"], { cwd: app, stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let stderr = "";
    const address = await new Promise((resolve, reject) => {
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        const m = /listening on (\S+):(\d+)/.exec(stderr);
        if (m) resolve({ host: m[1], port: Number(m[2]) });
      });
      child.once("exit", () => reject(new Error(stderr)));
    });
    const client = await Client.connect(address);
    const { ids, frame } = requestFrame("hello");
    client.send(frame);
    const out = await client.next();
    assert.equal(out.status, glue.Statuses.success);
    assert.deepEqual(out.ids, ids);
    assert.deepEqual(out.result, { hello: "world" });
    client.close();
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
