// Shared helpers: the package under test and its protocol versions, each version's IR, golden
// corpus and Rust-judged frames, a request built from the IR, a runner in-process, and a client.
//
// Everything a test needs to know about a version comes from its IR and its generated binding
// (`dist/v<N>/glue.js`: the runner roles in TypeScript names), never from field names.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import { execFileSync } from "node:child_process";
import * as net from "node:net";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "../..");
export const packageDir = join(root, "generated/typescript");
export const distDir = join(packageDir, "dist");
/** The package's top level (the latest version plus the shared API). */
export const top = await import(pathToFileURL(join(distDir, "index.js")).href);
/** The package manifest. */
export const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));

/** The package's protocol versions, oldest first, from its subpath exports (`./v1`, `./v2`, …). */
export const modules = Object.keys(manifest.exports)
  .filter((k) => /^\.\/v\d+$/.test(k))
  .map((k) => k.slice(2))
  .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));

/** Where `run.sh` left the IRs and the Rust-judged frames ($RRQ_TEST_DIR), if it did. */
const scratch = process.env.RRQ_TEST_DIR;

function readIr(module) {
  const version = module.slice(1);
  const file = scratch && join(scratch, `ir-${module}.json`);
  const text = file && existsSync(file)
    ? readFileSync(file, "utf8")
    : execFileSync("cargo", ["run", "-q", "-p", "rrq-codegen", "--", "ir", "--protocol", version], { cwd: root }).toString();
  return JSON.parse(text);
}

/**
 * The golden corpus of `module`: `generated/<module>/golden/*.json`; for v1, while the corpus
 * builder still writes the old layout, `generated/golden/` (protocol "1"). `null` when none.
 */
function readCorpus(module) {
  const dirs = [join(root, "generated", module, "golden")];
  if (module === "v1") dirs.push(join(root, "generated/golden"));
  const dir = dirs.find((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith(".json")));
  if (dir === undefined) return null;
  const groups = readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
  for (const g of groups) {
    const declared = g.provenance?.protocol_version ?? g.provenance?.schemas?.[0]?.protocol_version;
    if (declared !== undefined && declared !== module.slice(1)) throw new Error(`${dir}: corpus of protocol ${declared}, not ${module}`);
  }
  return { dir, groups };
}

/**
 * Frames generated from the IR and judged by the Rust reference of `module` (rrq-differential,
 * written by run.sh): `{ name, frame, verdict, canonical | error: { kind, path } }`, as corpus cases.
 */
function readJudged(module) {
  const file = scratch && join(scratch, `frames-${module}.tsv`);
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((line, i) => {
      const [frame, verdict, detail, path] = line.split("\t");
      const name = `judged-${module}-${i}`;
      return verdict === "accept"
        ? { name, description: name, frame, verdict, canonical: detail }
        : { name, description: name, frame, verdict, error: { kind: detail, path: path === "-" ? undefined : path } };
    });
}

/** One protocol version of the package: its modules, IR, corpus and judged frames. */
export class Version {
  constructor(module, rrq, glue) {
    this.module = module;
    this.version = module.slice(1);
    this.rrq = rrq;
    this.glue = glue;
    this.ir = readIr(module);
    this.types = new Map(this.ir.types.map((t) => [t.name, t]));
    const corpus = readCorpus(module);
    this.corpusDir = corpus?.dir ?? null;
    this.corpusGroups = corpus?.groups ?? [];
    this.judged = readJudged(module);
    this.counter = 0;
    this.base = null;
  }

  /** Every golden-corpus case. */
  corpusCases() {
    return this.corpusGroups.flatMap((g) => g.cases);
  }

  /** Corpus cases and judged frames: every frame whose Rust verdict is known. */
  knownCases() {
    return [...this.corpusCases(), ...this.judged];
  }

  /** The request struct of the IR (the type of the request variant's content). */
  requestDef() {
    const rootDef = this.types.get(this.ir.root);
    const variant = rootDef.variants.find((v) => v.role === "request");
    return this.types.get(variant.ty);
  }

  /** A value of IR type `ty` (required fields only, for structs), deterministic and valid. */
  sample(ty) {
    switch (ty.kind) {
      case "bool":
        return false;
      case "string":
        return "x";
      case "integer":
        return ty.min !== null && ty.min !== undefined && ty.min > 1 ? ty.min : 1;
      case "float":
        return 0.5;
      case "timestamp":
        return "2024-05-01T12:00:00Z";
      case "any":
        return null;
      case "array":
        return [];
      case "map":
        return {};
      case "named": {
        const def = this.types.get(ty.name);
        if (def.kind === "enum") return def.values[0].value;
        if (def.kind === "union") {
          const v = def.variants[0];
          return { [def.tag]: v.tag_value, [def.content]: this.sample({ kind: "named", name: v.ty }) };
        }
        const out = {};
        for (const f of def.fields) if (f.required) out[f.name] = this.sample(f.ty);
        return out;
      }
    }
    throw new Error(`no sample for ${JSON.stringify(ty)}`);
  }

  /** A decoded request built from the IR: every required field of the request with a sample value. */
  baseRequest() {
    if (this.base === null) {
      const rootDef = this.types.get(this.ir.root);
      const variant = rootDef.variants.find((v) => v.role === "request");
      const message = { [rootDef.tag]: variant.tag_value, [rootDef.content]: this.sample({ kind: "named", name: variant.ty }) };
      const incoming = this.glue.classify(this.rrq.decodeMessage(Buffer.from(JSON.stringify(message))));
      if (incoming.kind !== "run") throw new Error("the sample request is not a request");
      this.base = incoming.request;
    }
    return this.base;
  }

  /** The handler inputs of a request with every input empty (`[]`, `{}`). */
  emptyInputs() {
    const request = this.requestDef();
    const out = {};
    for (const name of this.glue.INPUTS) {
      const field = request.fields.find((f) => f.name === name);
      out[name] = field.ty.kind === "array" ? [] : field.ty.kind === "map" ? {} : this.sample(field.ty);
    }
    return out;
  }

  /**
   * A request frame for `functionName` with fresh ids; `changes` as `glue.requestWith` takes
   * them (`jobId`, `requestId`, `due`, `protocolVersion`, `inputs`); `options` (a map of named
   * inputs) go into the input map.
   */
  requestFrame(functionName, changes = {}, options = undefined) {
    this.counter++;
    const ids = { jobId: `${this.module}-job-${this.counter}`, requestId: `${this.module}-req-${this.counter}` };
    const inputs = { ...this.emptyInputs(), ...(changes.inputs ?? {}) };
    if (options !== undefined) inputs[this.glue.INPUT_MAP] = options;
    const all = { due: null, ...ids, functionName, ...changes, inputs };
    return {
      ids: { jobId: all.jobId, requestId: all.requestId },
      frame: this.rrq.encodeFrame(this.glue.requestWith(this.baseRequest(), all)),
    };
  }

  /** The runner message `name` of the IR (`meta.error_messages`) with its placeholders filled. */
  irMessage(name, values = {}) {
    const message = this.ir.meta.error_messages.find((m) => m.name === name);
    if (message === undefined) throw new Error(`no message ${name} in the IR`);
    let text = message.template;
    for (const [key, value] of Object.entries(values)) text = text.split(`{${key}}`).join(String(value));
    return text;
  }

  /** Starts a runner on 127.0.0.1 (free port) serving `registry`; returns it and its address. */
  async startRunner(registry, options = {}) {
    const lines = [];
    const runner = new this.rrq.Runner(registry, { log: (line) => lines.push(line), ...options });
    const address = await runner.listen("127.0.0.1:0");
    return { runner, address, lines };
  }

  /** A client connection that collects this version's response frames. */
  connect(address) {
    return Client.connect(this, address);
  }
}

/** Every protocol version of the package, oldest first. */
export const versions = await Promise.all(
  modules.map(async (m) => {
    const rrq = await import(pathToFileURL(join(distDir, m, "index.js")).href);
    const glue = await import(pathToFileURL(join(distDir, m, "glue.js")).href);
    return new Version(m, rrq, glue);
  }),
);

/** A client connection that collects response frames. */
export class Client {
  static async connect(version, address) {
    const socket = net.connect(address.port, address.host);
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new Client(version, socket);
  }

  constructor(version, socket) {
    const { rrq, glue } = version;
    this.socket = socket;
    this.reader = new rrq.FrameReader();
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.closeWaiters = [];
    socket.on("data", (chunk) => {
      this.reader.push(chunk);
      for (let body; (body = this.reader.next()) !== undefined; ) {
        const incoming = glue.classify(rrq.decodeMessage(body));
        const facts = { ...(incoming.kind === "reply" ? glue.outcomeFacts(incoming.outcome) : incoming), body };
        const waiter = this.waiters.shift();
        if (waiter) waiter(facts);
        else this.queue.push(facts);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.closeWaiters) w();
    });
  }

  send(frame) {
    this.socket.write(frame);
  }

  /** The next response's facts (status, ids, result, errorType, message, retryAfterSeconds, body). */
  next(timeoutMs = 5000) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no response in time")), timeoutMs);
      this.waiters.push((facts) => {
        clearTimeout(timer);
        resolve(facts);
      });
    });
  }

  /** Resolves when the runner closed the connection (rejects after `timeoutMs`). */
  whenClosed(timeoutMs = 5000) {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("connection not closed in time")), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close() {
    this.socket.destroy();
  }
}

/** A promise with its resolve function. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A path as FrameError names it (the Rust crate's convention). */
export function formatPath(segments) {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out === "" ? "$" : out;
}

/** A frame with `text` as its body. */
export function rawFrame(text, headerLen = 4) {
  const body = Buffer.from(text, "utf8");
  const header = Buffer.alloc(headerLen);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}
