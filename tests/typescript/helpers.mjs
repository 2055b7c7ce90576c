// Shared helpers: the package under test, corpus access, a runner in-process, and a client.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import * as net from "node:net";
import * as rrq from "../../generated/typescript/dist/index.js";
import * as glue from "../../generated/typescript/dist/glue.js";

export { rrq, glue };
export const here = dirname(fileURLToPath(import.meta.url));
export const packageDir = join(here, "../../generated/typescript");
export const goldenDir = join(here, "../../generated/golden");

/** Every corpus case, from generated/golden/*.json. */
export function corpusCases() {
  return readdirSync(goldenDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join(goldenDir, f), "utf8")).cases);
}

/** A decoded request to start from: the first accepted corpus case that is a request. */
export function baseRequest() {
  for (const c of corpusCases()) {
    if (c.verdict !== "accept") continue;
    const incoming = glue.classify(rrq.decodeFrame(Buffer.from(c.frame, "base64")));
    if (incoming.kind === "run") return incoming.request;
  }
  throw new Error("the corpus has no accepted request");
}

let counter = 0;
/** A request frame for `functionName` with fresh ids (override anything via `changes`). */
export function requestFrame(functionName, changes = {}) {
  counter++;
  const ids = { jobId: `job-${counter}`, requestId: `req-${counter}` };
  const base = baseRequest();
  return {
    ids: { jobId: changes.jobId ?? ids.jobId, requestId: changes.requestId ?? ids.requestId },
    frame: rrq.encodeFrame(glue.requestWith(base, { deadline: null, kwargs: {}, args: [], ...ids, functionName, ...changes })),
  };
}

/** Starts a runner on 127.0.0.1 (free port) serving `registry`; returns it and its address. */
export async function startRunner(registry, options = {}) {
  const lines = [];
  const runner = new rrq.Runner(registry, { log: (line) => lines.push(line), ...options });
  const address = await runner.listen("127.0.0.1:0");
  return { runner, address, lines };
}

/** A client connection that collects response frames. */
export class Client {
  static async connect(address) {
    const socket = net.connect(address.port, address.host);
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new Client(socket);
  }

  constructor(socket) {
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

import { execFileSync } from "node:child_process";
let irCache;
/** The IR, as `rrq-codegen ir` prints it (from $RRQ_IR when run.sh wrote it already). */
export function loadIr() {
  if (irCache) return irCache;
  const text = process.env.RRQ_IR
    ? readFileSync(process.env.RRQ_IR, "utf8")
    : execFileSync("cargo", ["run", "-q", "-p", "rrq-codegen", "--", "ir"], { cwd: join(here, "../..") }).toString();
  irCache = JSON.parse(text);
  return irCache;
}

/** The runner message `name` of the IR (`meta.error_messages`) with its placeholders filled. */
export function irMessage(name, values = {}) {
  const message = loadIr().meta.error_messages.find((m) => m.name === name);
  if (message === undefined) throw new Error(`no message ${name} in the IR`);
  let text = message.template;
  for (const [key, value] of Object.entries(values)) text = text.split(`{${key}}`).join(String(value));
  return text;
}

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
