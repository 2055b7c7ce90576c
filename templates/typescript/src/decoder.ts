{{ header }}{% raw %}
/**
 * Decoding large frame bodies off the event loop: a `node:worker_threads` worker runs the
 * protocol version's own decoder (`Binding.read`, the very code the event loop would run: the
 * same verdicts, paths and messages), and hands the decoded value back in slices, so that the
 * runner keeps serving its other connections while a large body is parsed and validated.
 *
 * - The body is copied once into a buffer transferred to the worker (the runner keeps its own
 *   copy: if the worker fails, the body is decoded on the event loop instead, with the same
 *   result).
 * - The decoded value comes back by structured clone. Class instances do not survive a clone,
 *   so the worker boxes the two the decoders make ({@link JsonFloat} as a `Number` object,
 *   {@link Timestamp} as a `String` object of its text; no decoded JSON value is ever a boxed
 *   primitive) and the runner unboxes them.
 * - Arrays holding more than {@link SLICE_NODES} values (nested values counted) are sent
 *   separately, in slices of about that many values, each asked for once the previous one is
 *   in: the event loop never spends more than a slice's worth of deserializing at once.
 *   (Objects are not sliced: an object with very many keys comes back in one piece.)
 * - One worker per runner decodes one body at a time. It is started on the first large body and
 *   stopped after {@link IDLE_MS} without one (a worker costs some 20–30 MiB of memory).
 *
 * @module
 */

import { Worker, isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import { FrameError } from "./errors.js";
import { JsonFloat } from "./json.js";
import { Timestamp } from "./timestamp.js";

/** How long the worker is kept without a body to decode, in milliseconds. */
export const IDLE_MS = 2000;

/** Values per slice of a large array handed back (nested values counted). */
export const SLICE_NODES = 65536;

/** What decoding a body gave: what it asks (`incoming`), or why it is undecodable and the ids its answer echoes. */
export type Decoded<I> = { incoming: I } | { reason: string; ids: { jobId?: string | undefined; requestId?: string | undefined } };

/** The part of a protocol version's binding the worker needs. */
interface Reader {
  read(body: Uint8Array): unknown;
  idsOfBody(body: Uint8Array): { jobId?: string | undefined; requestId?: string | undefined };
}

/** Marks the worker's `workerData` (so that a user's own worker importing this module starts nothing). */
const MARK = "decoder.ts: the off-loop decoder";

/** Decodes `body` with `reader`, as the runtime does on its event loop. */
export function decodeHere<I>(reader: Reader, body: Uint8Array): Decoded<I> {
  try {
    return { incoming: reader.read(body) as I };
  } catch (error) {
    return { reason: error instanceof FrameError ? error.message : String(error), ids: reader.idsOfBody(body) };
  }
}

// ---------------------------------------------------------------------------------------------
// The worker's side

/** A large array the worker took out of the value, to hand back in slices. */
interface Part {
  /** Where it goes, from the root (keys and indices). */
  path: (string | number)[];
  items: unknown[];
  /** Where each slice ends (exclusive indices). */
  cuts: number[];
  boxed: boolean;
}

/** A path as the walk builds it (a link to its parent), turned into keys only when needed. */
interface Link {
  up: Link | null;
  key: string | number;
}

function keysOf(link: Link | null): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let at = link; at !== null; at = at.up) keys.push(at.key);
  return keys.reverse();
}

class Unpackable extends Error {}

/**
 * Prepares `holder[key]` for the clone, in place: class instances boxed, large arrays taken
 * out into `parts` (children before their parents). Returns the number of values left in it
 * and whether any was boxed (in `state`).
 */
function pack(holder: Record<string | number, unknown>, key: string | number, link: Link | null, parts: Part[], state: { boxed: boolean }): number {
  const value = holder[key];
  if (typeof value !== "object" || value === null) return 1;
  if (value instanceof JsonFloat) {
    holder[key] = new Number(value.value);
    state.boxed = true;
    return 1;
  }
  if (value instanceof Timestamp) {
    holder[key] = new String(value.toString());
    state.boxed = true;
    return 1;
  }
  if (Array.isArray(value)) {
    const n = value.length;
    const here: Link = { up: link, key };
    const inner = { boxed: false };
    const sizes = n > SLICE_NODES ? new Uint32Array(n) : null;
    let total = 1;
    for (let i = 0; i < n; i++) {
      const size = pack(value as unknown as Record<number, unknown>, i, here, parts, inner);
      if (sizes !== null) sizes[i] = size;
      total += size;
    }
    if (inner.boxed) state.boxed = true;
    if (total <= SLICE_NODES || n < 2) return total;
    // Cut into slices of about SLICE_NODES values each (at least one item each).
    const cuts: number[] = [];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const size = sizes === null ? countOf(value[i]) : (sizes[i] as number);
      if (sum > 0 && sum + size > SLICE_NODES) {
        cuts.push(i);
        sum = 0;
      }
      sum += size;
    }
    cuts.push(n);
    parts.push({ path: keysOf(here), items: value, cuts, boxed: inner.boxed });
    holder[key] = [];
    return 1;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new Unpackable();
  const here: Link = { up: link, key };
  let total = 1;
  for (const k of Object.keys(value)) total += pack(value as Record<string, unknown>, k, here, parts, state);
  return total;
}

/** The values in an already packed value (what is left in it). */
function countOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 1;
  let total = 1;
  if (Array.isArray(value)) for (const item of value) total += countOf(item);
  else for (const k of Object.keys(value)) total += countOf((value as Record<string, unknown>)[k]);
  return total;
}

/** The worker's loop: decode requests in, results and slices out. */
async function serveDecoder(port: MessagePort, module: string): Promise<void> {
  const { binding } = (await import(module)) as { binding: Reader };
  /** The parts still to send, by decode id, in the order to send them (parents first). */
  const sending = new Map<number, { parts: Part[]; part: number; slice: number }>();
  port.on("message", (message: { op: "decode"; id: number; body: Uint8Array } | { op: "more"; id: number }) => {
    if (message.op === "more") {
      const state = sending.get(message.id);
      if (state === undefined) return;
      const part = state.parts[state.part] as Part;
      const from = state.slice === 0 ? 0 : (part.cuts[state.slice - 1] as number);
      const to = part.cuts[state.slice] as number;
      const items = part.items.slice(from, to);
      // Dropped here as they go: the two threads do not hold the whole value at once.
      part.items.fill(0, from, to);
      if (++state.slice === part.cuts.length) {
        state.part++;
        state.slice = 0;
        if (state.part === state.parts.length) sending.delete(message.id);
      }
      port.postMessage({ id: message.id, items });
      return;
    }
    const { id, body } = message;
    const decoded = decodeHere<unknown>(binding, body);
    if (!("incoming" in decoded)) {
      port.postMessage({ id, reason: decoded.reason, ids: decoded.ids });
      return;
    }
    const root: Record<string, unknown> = { value: decoded.incoming };
    const parts: Part[] = [];
    const state = { boxed: false };
    try {
      pack(root, "value", null, parts, state);
    } catch (error) {
      if (!(error instanceof Unpackable)) throw error;
      port.postMessage({ id, local: true });
      return;
    }
    parts.reverse();
    if (parts.length > 0) sending.set(id, { parts, part: 0, slice: 0 });
    port.postMessage({
      id,
      incoming: root.value,
      boxed: state.boxed,
      parts: parts.map((p) => ({ path: p.path.slice(1), slices: p.cuts.length, boxed: p.boxed })),
    });
  });
}

if (!isMainThread && parentPort !== null && (workerData as { [MARK]?: unknown } | null)?.[MARK] === true) {
  void serveDecoder(parentPort, (workerData as { module: string }).module);
}

// ---------------------------------------------------------------------------------------------
// The runner's side

/** Replaces the boxed values in `holder[key]` by the instances they stand for. */
function unbox(holder: Record<string | number, unknown>, key: string | number): void {
  const value = holder[key];
  if (typeof value !== "object" || value === null) return;
  if (value instanceof Number) holder[key] = new JsonFloat(value.valueOf());
  else if (value instanceof String) holder[key] = Timestamp.parse(value.valueOf());
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) unbox(value as unknown as Record<number, unknown>, i);
  else for (const k of Object.keys(value)) unbox(value as Record<string, unknown>, k);
}

interface Pending {
  body: Uint8Array;
  resolve: (decoded: Decoded<unknown>) => void;
  /** The decoded value while its parts come in, and the parts still to come. */
  root?: Record<string, unknown>;
  parts?: { path: (string | number)[]; slices: number; boxed: boolean }[];
  part?: number;
  slice?: number;
  /** The array the current part's slices go into. */
  into?: unknown[];
}

/**
 * A worker that decodes bodies with the binding exported by `module` (its `binding`), for a
 * runner; bodies are decoded in the order given. If the worker fails, what it had not handed
 * back is decoded on the event loop ({@link decodeHere}), and the next body starts a new worker.
 */
export class OffloopDecoder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idle: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    private readonly module: string,
    private readonly local: Reader,
  ) {}

  /** Bodies given and not yet decoded. */
  get size(): number {
    return this.pending.size;
  }

  /** Decodes `body` off the event loop. */
  decode<I>(body: Uint8Array): Promise<Decoded<I>> {
    return new Promise<Decoded<unknown>>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { body, resolve });
      if (this.idle !== undefined) clearTimeout(this.idle);
      this.idle = undefined;
      const copy = new Uint8Array(body);
      try {
        this.start().postMessage({ op: "decode", id, body: copy }, [copy.buffer]);
      } catch {
        this.fail();
      }
    }) as Promise<Decoded<I>>;
  }

  /** Stops the worker (bodies not yet decoded are decoded on the event loop). */
  close(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) void worker.terminate();
    this.fail();
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL(import.meta.url), { workerData: { [MARK]: true, module: this.module } });
    worker.unref();
    worker.on("message", (message: unknown) => this.onMessage(message as Reply));
    worker.on("error", () => {
      if (this.worker === worker) this.worker = null;
      this.fail();
    });
    worker.on("exit", () => {
      if (this.worker === worker) {
        this.worker = null;
        this.fail();
      }
    });
    this.worker = worker;
    return worker;
  }

  /** The worker is gone: what it owed is decoded here. */
  private fail(): void {
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const p of owed) p.resolve(decodeHere(this.local, p.body));
  }

  private onMessage(message: Reply): void {
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    if ("reason" in message) return this.done(message.id, p, { reason: message.reason, ids: message.ids });
    if ("local" in message) return this.done(message.id, p, decodeHere(this.local, p.body));
    if ("incoming" in message) {
      const root: Record<string, unknown> = { value: message.incoming };
      if (message.boxed) unbox(root, "value");
      p.root = root;
      p.parts = message.parts;
      p.part = 0;
      p.slice = 0;
    } else {
      const part = (p.parts as NonNullable<Pending["parts"]>)[p.part as number] as { path: (string | number)[]; slices: number; boxed: boolean };
      if (p.slice === 0) {
        // A fresh array in place of the (cloned) empty one: arrays a clone made are slower to
        // grow and to stringify.
        let holder: unknown = p.root;
        const path = ["value", ...part.path];
        for (let i = 0; i < path.length - 1; i++) holder = (holder as Record<string | number, unknown>)[path[i] as string | number];
        (holder as Record<string | number, unknown>)[path[path.length - 1] as string | number] = p.into = [];
      }
      const into = p.into as unknown[];
      const items = message.items;
      if (part.boxed) for (let i = 0; i < items.length; i++) unbox(items as unknown as Record<number, unknown>, i);
      for (let i = 0; i < items.length; i++) into.push(items[i]);
      p.slice = (p.slice as number) + 1;
      if (p.slice === part.slices) {
        p.part = (p.part as number) + 1;
        p.slice = 0;
      }
    }
    if ((p.part as number) < (p.parts as unknown[]).length) {
      this.worker?.postMessage({ op: "more", id: message.id });
      return;
    }
    this.done(message.id, p, { incoming: (p.root as Record<string, unknown>).value });
  }

  private done(id: number, p: Pending, decoded: Decoded<unknown>): void {
    this.pending.delete(id);
    p.resolve(decoded);
    if (this.pending.size === 0 && this.worker !== null) {
      this.idle = setTimeout(() => {
        this.idle = undefined;
        const worker = this.worker;
        this.worker = null;
        if (worker !== null) void worker.terminate();
      }, IDLE_MS);
      this.idle.unref();
    }
  }
}

type Reply =
  | { id: number; reason: string; ids: { jobId?: string; requestId?: string } }
  | { id: number; local: true }
  | { id: number; incoming: unknown; boxed: boolean; parts: { path: (string | number)[]; slices: number; boxed: boolean }[] }
  | { id: number; items: unknown[] };
{% endraw %}
