{{ header }}
/** The package's name, at the start of every line the runner logs. */
const NAME = {{ package_lit }};

/** How a job ended, as a tracing integration reports it (the same values in every language). */
export const Outcome = {
{%- for (key, value, doc) in outcomes %}
  /** {{ doc }} */
  {{ key }}: {{ value }},
{%- endfor %}
} as const;
{% raw %}
/**
 * The runner runtime, shared by every protocol version of the package: a {@link Registry} of
 * handlers served over loopback TCP (`node:net`).
 *
 * The runtime knows no protocol version itself: each version's module (`v1/`, `v2/`, …) has a
 * {@link Binding} generated from its schema's runner roles, and that version's `Registry` carries
 * it; a {@link Runner} speaks the version of the registry it serves.
 *
 * Per request: a protocol-version check, the handler lookup, the deadline (a request whose
 * deadline has passed is answered `timeout` without running; otherwise the handler's
 * `AbortSignal` is aborted when it passes), then the handler runs concurrently with the other
 * requests; a cancel frame on any connection aborts it and answers it `cancelled`. Exactly one
 * response per request; responses are written whole, in the order requests finish.
 *
 * Tracing is a hook ({@link setTracing}, used by the `otel` subpath): off by default, when it
 * costs a `null` test per request and loads nothing; on, each request gets a {@link JobSpan}
 * when it arrives, its handler runs inside it, and the span ends with the job's {@link Ending}
 * right after the answer is queued (a span never changes, delays or prevents an answer).
 *
 * @module
 */

import * as net from "node:net";
import { FrameError } from "./errors.js";
import { FrameReader } from "./frame.js";
import { OffloopDecoder, type Decoded } from "./decoder.js";
import { watchParent } from "./lifecycle.js";
import type { Timestamp } from "./timestamp.js";

/** The ids an outcome echoes. */
export interface Ids {
  jobId?: string | undefined;
  requestId?: string | undefined;
}

/** The facts of a request the runtime acts on. */
export interface RequestFacts {
  ids: Required<Ids>;
  functionName: string;
  protocolVersion: string;
  /** When the request's result is no longer wanted (the context's deadline), if ever. */
  due: Timestamp | null;
}

/** Which requests a cancellation targets: by request id when given, else every request of the job. */
export interface CancelFacts {
  jobId: string;
  requestId: string | undefined;
  hardKill: boolean;
}

/** What a decoded frame asks of the runner. */
export type Incoming<Req> =
  | { kind: "run"; request: Req }
  | { kind: "stop"; cancel: CancelFacts }
  | { kind: "reply"; ids: Ids };

/** How a request failed. */
export type FailureStatus = "retry" | "timeout" | "error";

/** The situations the runtime answers with one of its own messages (`x-rrq.error_messages`). */
export type MessageRole =
  | "notFound"
  | "cancelled"
  | "shuttingDown"
  | "deadlinePassed"
  | "deadlineExceeded"
  | "busy"
  | "invalidFrame"
  | "unsupportedVersion"
  | "unexpected";

/** What a tracing integration learns of a request ({@link Binding.traceFacts}); `null` where the protocol version has no such field or the request leaves it empty. */
export interface TraceFacts {
  functionName: string;
  queue: string | null;
  attempt: number | null;
  worker: string | null;
  enqueued: Timestamp | null;
  /** The deadline. */
  due: Timestamp | null;
  /** The trace-context propagation fields (W3C `traceparent`, `tracestate`, …). */
  carrier: { readonly [key: string]: string } | null;
  /** The correlation fields the producer attached. */
  correlation: { readonly [key: string]: string } | null;
}

/** How a job ended, as its answer says: the outcome ({@link Outcome}), the answer's error message and type, what the handler threw (errors), the retry delay asked for (retries). */
export interface Ending {
  outcome: string;
  message?: string | undefined;
  errorType?: string | undefined;
  exception?: unknown;
  retryAfterSeconds?: number | undefined;
}

/** A tracing integration's view of one job, from {@link Tracing.start}. */
export interface JobSpan {
  /** Runs `fn` (the request's checks and its handler) with the span current; returns what `fn` returns. */
  run<T>(fn: () => T): T;
  /** Ends the span; called once, right after the job's answer was queued (also when none could be). */
  end(ending: Ending): void;
}

/** A tracing integration (the `otel` subpath): made current with {@link setTracing}. */
export interface Tracing {
  /** Starts the span of a job when its request arrives (before any check of it). */
  start(ids: Required<Ids>, facts: TraceFacts): JobSpan;
}

let tracing: Tracing | null = null;
let tracingErrors = 0;

/** Makes `integration` the process's tracing integration for the requests that arrive from now on (`null`: off). */
export function setTracing(integration: Tracing | null): void {
  tracing = integration;
  tracingErrors = 0;
}

/** The process's tracing integration, if any. */
export function currentTracing(): Tracing | null {
  return tracing;
}

/** Logs the first few failures of the tracing integration (the jobs go on unaffected). */
function tracingFailed(log: (line: string) => void, error: unknown): void {
  if (++tracingErrors <= 3) log(`${NAME}: tracing failed (the job goes on): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}

/**
 * A protocol version as the runtime sees it: generated for each version (`v1/glue.ts`, …) from
 * its schema's runner roles, and carried by that version's {@link Registry}. `Req` is the
 * version's decoded request, `Out` its outcome as given for encoding. One object per version,
 * made once: the runtime calls its methods and allocates nothing for the indirection.
 */
export interface Binding<Req = unknown, Out = unknown> {
  /** The protocol version spoken: requests of another version are answered `unsupportedVersion`. */
  readonly protocolVersion: string;
  /** Longest frame body accepted, in bytes (checked from each header). */
  readonly maxFrameLen: number;
  /** The tag of a response message (named when a runner is sent one). */
  readonly replyTag: string;
  /** Decodes a frame body (strictly) and says what it asks. @throws FrameError */
  read(body: Uint8Array): Incoming<Req>;
  /**
   * The URL of the module exporting this object as `binding`: a worker thread imports it to
   * decode large bodies off the event loop (without it, every body is decoded on the loop).
   */
  readonly module?: string;
  /** The ids, function name, protocol version and deadline of a request. */
  requestFacts(request: Req): RequestFacts;
  /** The ids an undecodable body's answer echoes (the answering rule). */
  idsOfBody(body: Uint8Array): Ids;
  /** The response frame carrying `outcome`. @throws FrameError when it cannot be encoded */
  encodeReply(outcome: Out): Uint8Array;
  /** A `success` outcome with `result` (`undefined` and `null`: none). */
  success(ids: Ids, result: unknown): Out;
  /** A failed outcome. */
  failure(ids: Ids, status: FailureStatus, message: string, errorType?: string, retryAfterSeconds?: number): Out;
  /** A handler's own outcome with the request's ids filled in where it has none. */
  withIds(outcome: Out, ids: Ids): Out;
  /** The ids an outcome carries (those that are strings). */
  idsOfOutcome(outcome: Out): Ids;
  /** The runtime's own message and error type for `role`, its placeholders filled from `values`. */
  message(role: MessageRole, values?: { readonly [name: string]: string | number | bigint }): { message: string; errorType: string };
  /** What a tracing integration reads of a request. */
  traceFacts(request: Req): TraceFacts;
  /** The {@link Ending} an outcome says (its status as an {@link Outcome}, its error, its retry delay). */
  ending(outcome: Out): Ending;
}

/**
 * A job handler: gets the decoded request and an `AbortSignal` that aborts on cancel, on the
 * deadline and on shutdown. Returns (or resolves to) the result, any JSON-encodable value
 * (`undefined` or `null`: a success without a result), or an outcome made with {@link outcome}; throws
 * {@link RetryError} to ask for a retry, anything else to fail the job.
 *
 * A handler declaring exactly one parameter (`(request) => …`, `Function.length` 1) is called
 * without the signal, which is then not created at all (it costs more than a small handler);
 * cancellation, deadlines and shutdown answer its request all the same.
 */
export type Handler<Req = any> = (request: Req, signal: AbortSignal) => unknown;

/**
 * Handlers by function name, for one protocol version: each version's module exports a
 * `Registry` bound to its {@link Binding} (`new Registry()` from `…/v1` serves protocol "1").
 */
export class Registry<Req = any, Out = any> {
  private readonly handlers = new Map<string, Handler<Req>>();

  /** A registry of handlers for the protocol version of `binding`. */
  constructor(readonly binding: Binding<Req, Out>) {}

  /** The protocol version this registry's handlers are served with. */
  get protocolVersion(): string {
    return this.binding.protocolVersion;
  }

  /** Registers `handler` under `name` (replacing any previous one); returns the registry. */
  register(name: string, handler: Handler<Req>): this {
    if (typeof handler !== "function") throw new TypeError(`handler for ${JSON.stringify(name)} is not a function`);
    this.handlers.set(name, handler);
    return this;
  }

  /** The handler registered under `name`. */
  get(name: string): Handler<Req> | undefined {
    return this.handlers.get(name);
  }

  /** Whether a handler is registered under `name`. */
  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** The registered names. */
  get names(): string[] {
    return [...this.handlers.keys()];
  }
}

/** Thrown by a handler to ask for the job to be retried, after `retryAfterSeconds` if given. */
export class RetryError extends Error {
  /** How long to wait before the next attempt, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message = "retry requested", options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RetryError";
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

const outcomes = new WeakSet<object>();

/**
 * Marks an outcome for a handler to return as is (instead of as a `success` result); its job
 * and request ids are filled in from the request when absent.
 */
export function outcome<T extends object>(value: T): T {
  outcomes.add(value);
  return value;
}

/** Settings of a {@link Runner}. */
export interface RunnerOptions {
  /** Requests in flight per connection before new ones are answered `busy` (default 1024). */
  maxInFlight?: number;
  /** Unsent response bytes per connection above which reading pauses (default 1 MiB). */
  highWaterMark?: number;
  /** Where diagnostics go, one line each (default: standard error). */
  log?: (line: string) => void;
  /** How long shutdown waits for responses to flush, in milliseconds (default 5000). */
  shutdownGraceMs?: number;
  /**
   * Bodies of at least this many bytes are decoded by a worker thread, off the event loop, so
   * that other connections are served meanwhile (default 8 MiB: a smaller body takes at most
   * some 100–200 ms of the loop, less than the worker's own cost; `Infinity`: never). The
   * connection's later frames wait for it: frames of one connection are handled in order.
   * Decoding in the worker costs memory (its heap holds the value too, until handed over).
   */
  offloadBytes?: number;
}

/** A host and port to listen on. */
export interface Address {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (`[::1]:PORT` for IPv6). */
export function parseAddress(text: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`invalid address ${JSON.stringify(text)}: expected HOST:PORT`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  if (net.isIPv6(host)) {
    const h = host.toLowerCase();
    return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
  }
  return false;
}

function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function abortReason(message: string, name: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

class Job {
  /** The handler's signal, when it takes one. */
  controller: AbortController | undefined = undefined;
  done = false;
  /** When the job is due in epoch milliseconds (`Infinity`: never), and its place in the heap (-1: not in it). */
  due = Infinity;
  slot = -1;
  /** A synchronous handler's result (`ok`) or exception, until it is settled. */
  value: unknown = undefined;
  ok = true;

  constructor(
    readonly connection: Connection,
    readonly facts: RequestFacts,
    /** The job's span while tracing is on. */
    readonly span: JobSpan | null,
  ) {}
}

/** The jobs that are due some time, earliest first (a binary heap that knows each job's place). */
class DueHeap {
  private readonly jobs: Job[] = [];

  get size(): number {
    return this.jobs.length;
  }

  /** The job with the earliest deadline. */
  peek(): Job | undefined {
    return this.jobs[0];
  }

  add(job: Job): void {
    job.slot = this.jobs.length;
    this.jobs.push(job);
    this.up(job.slot);
  }

  remove(job: Job): void {
    const at = job.slot;
    if (at < 0) return;
    job.slot = -1;
    const last = this.jobs.pop() as Job;
    if (last === job) return;
    this.jobs[at] = last;
    last.slot = at;
    this.up(at);
    this.down(last.slot);
  }

  private up(at: number): void {
    const jobs = this.jobs;
    const job = jobs[at] as Job;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = jobs[parent] as Job;
      if (above.due <= job.due) break;
      jobs[at] = above;
      above.slot = at;
      at = parent;
    }
    jobs[at] = job;
    job.slot = at;
  }

  private down(at: number): void {
    const jobs = this.jobs;
    const n = jobs.length;
    const job = jobs[at] as Job;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (jobs[right] as Job).due < (jobs[child] as Job).due) child = right;
      const below = jobs[child] as Job;
      if (job.due <= below.due) break;
      jobs[at] = below;
      below.slot = at;
      at = child;
    }
    jobs[at] = job;
    job.slot = at;
  }
}

class Connection {
  readonly jobs = new Set<Job>();
  private readonly reader: FrameReader;
  private paused = false;
  /** A body of this connection is being decoded off the loop: its later frames wait. */
  private waiting = false;
  closed = false;
  /** Response frames not yet handed to the socket: written together at the end of the tick. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private peerText: string | undefined = undefined;

  constructor(
    private readonly runner: Runner,
    readonly socket: net.Socket,
  ) {
    this.reader = new FrameReader(runner.binding.maxFrameLen);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => {
      // A reset peer: "close" follows and cleans up.
    });
    socket.on("close", () => this.onClose());
  }

  /** `HOST:PORT` of the peer, for log lines (looked up when first needed: it costs a system call). */
  get peer(): string {
    return (this.peerText ??= formatAddress(this.socket.remoteAddress ?? "?", this.socket.remotePort ?? 0));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.reader.push(chunk);
    } catch (error) {
      this.runner.log(`${NAME}: closing a connection: ${(error as Error).message}`);
      this.socket.destroy();
      this.onClose();
      return;
    }
    this.pump();
  }

  private pump(): void {
    const runner = this.runner;
    while (!this.paused && !this.waiting && !this.closed) {
      const body = this.reader.next();
      if (body === undefined) break;
      if (body.length >= runner.offloadBytes && runner.offload(this, body)) {
        // Reading pauses too: what this connection sends next is not buffered meanwhile.
        this.waiting = true;
        this.socket.pause();
        break;
      }
      runner.handleBody(this, body);
    }
  }

  /** @internal The body decoded off the loop was handled: the frames after it go on. */
  resumeAfterDecode(): void {
    this.waiting = false;
    if (this.closed) return;
    if (!this.paused) this.socket.resume();
    this.pump();
  }

  private onDrain(): void {
    if (this.paused && this.socket.writableLength <= this.runner.highWaterMark) {
      this.paused = false;
      if (!this.waiting) this.socket.resume();
      this.pump();
    }
  }

  /**
   * Queues one response frame (whole); the frames queued in one tick of the event loop go to
   * the socket in one write, in order. Reading pauses while output backs up.
   */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.pending.length === 0) process.nextTick(flushConnection, this);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  /** Hands the queued frames to the socket. */
  flush(): void {
    const frames = this.pending;
    if (frames.length === 0) return;
    this.pending = [];
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    if (this.closed) return;
    this.socket.write(frames.length === 1 ? (frames[0] as Uint8Array) : Buffer.concat(frames, bytes));
    if (!this.paused && this.socket.writableLength > this.runner.highWaterMark) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.runner.dropConnection(this);
  }
}

function flushConnection(connection: Connection): void {
  connection.flush();
}

/** Serves a {@link Registry} on a loopback TCP address, in the registry's protocol version. */
export class Runner {
  readonly highWaterMark: number;
  /** The protocol version spoken: the registry's. */
  readonly binding: Binding;
  private readonly maxInFlight: number;
  private readonly shutdownGraceMs: number;
  readonly log: (line: string) => void;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** Jobs in flight by request id and by job id (a lone job as is, several in a set). */
  private readonly byRequest = new Map<string, Job | Set<Job>>();
  private readonly byJob = new Map<string, Job | Set<Job>>();
  /** Jobs that are due some time, and the one timer armed for the earliest (`timerAt`: when it fires). */
  private readonly dueJobs = new DueHeap();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private timerAt = Infinity;
  private readonly onTimer = (): void => this.expire();
  /** Bodies at least this long are decoded off the loop (when the binding names its module). */
  readonly offloadBytes: number;
  private decoder: OffloopDecoder | null = null;
  /** Decodes off the loop not yet handled. */
  private readonly decoding = new Set<Promise<void>>();
  /** For each decode off the loop, the cancels read meanwhile; those of the request now starting. */
  private readonly cancelsMeanwhile = new Set<CancelFacts[]>();
  private cancelledMeanwhile: CancelFacts[] | null = null;
  private stopping: Promise<void> | null = null;
  private bound: Address | null = null;

  constructor(
    private readonly registry: Registry,
    options: RunnerOptions = {},
  ) {
    if (!(typeof registry?.binding === "object" && registry.binding !== null)) {
      throw new TypeError("a Runner serves a Registry of one protocol version (new Registry() from the package or one of its version subpaths)");
    }
    this.binding = registry.binding as Binding;
    this.maxInFlight = options.maxInFlight ?? 1024;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.shutdownGraceMs = options.shutdownGraceMs ?? 5000;
    this.offloadBytes = this.binding.module === undefined ? Infinity : (options.offloadBytes ?? 8 * 1024 * 1024);
    this.log = options.log ?? ((line) => void process.stderr.write(line + "\n"));
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** The address listened on, once listening. */
  get address(): Address | null {
    return this.bound;
  }

  /**
   * Listens on a loopback address (`HOST:PORT` or an {@link Address}; port 0 picks a free one).
   * @throws Error for a non-loopback address, or when the address cannot be bound
   */
  async listen(address: string | Address): Promise<Address> {
    const { host, port } = typeof address === "string" ? parseAddress(address) : address;
    if (!isLoopback(host)) {
      throw new Error(`refusing to listen on ${formatAddress(host, port)}: the runner binds only loopback addresses (127.0.0.1, ::1, localhost)`);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const info = this.server.address() as net.AddressInfo;
    this.bound = { host: info.address, port: info.port };
    return this.bound;
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(this, socket));
  }

  /** @internal A connection went away: its requests are cancelled, their responses dropped. */
  dropConnection(connection: Connection): void {
    this.connections.delete(connection);
    for (const job of connection.jobs) this.settle(job, null, abortReason("the connection closed", "AbortError"));
  }

  /** @internal One frame body from a connection, decoded here. */
  handleBody(connection: Connection, body: Uint8Array): void {
    const binding = this.binding;
    let incoming: Incoming<unknown>;
    try {
      incoming = binding.read(body);
    } catch (error) {
      this.undecodable(connection, error instanceof FrameError ? error.message : String(error), binding.idsOfBody(body));
      return;
    }
    this.handleIncoming(connection, incoming);
  }

  /**
   * @internal Decodes a large body of `connection` off the loop, then handles it and resumes
   * the connection; `false` when it cannot (the caller decodes it here).
   */
  offload(connection: Connection, body: Uint8Array): boolean {
    const module = this.binding.module;
    // Once shutting down, a body is decoded here (and answered shuttingDown at once): the
    // shutdown waits only for the decodes already under way.
    if (module === undefined || this.stopping) return false;
    if (this.decoder === null) this.decoder = new OffloopDecoder(module, this.binding);
    // The cancels that arrive while it decodes apply to it too, as if it had been decoded at once.
    const cancels: CancelFacts[] = [];
    this.cancelsMeanwhile.add(cancels);
    const handled = this.decoder.decode<Incoming<unknown>>(body).then((decoded: Decoded<Incoming<unknown>>) => {
      this.decoding.delete(handled);
      this.cancelsMeanwhile.delete(cancels);
      if (!connection.closed) {
        if (!("incoming" in decoded)) this.undecodable(connection, decoded.reason, decoded.ids);
        else if (cancels.length === 0 || decoded.incoming.kind !== "run") this.handleIncoming(connection, decoded.incoming);
        else {
          this.cancelledMeanwhile = cancels;
          try {
            this.handleIncoming(connection, decoded.incoming);
          } finally {
            this.cancelledMeanwhile = null;
          }
        }
      }
      connection.resumeAfterDecode();
    });
    this.decoding.add(handled);
    return true;
  }

  /** The answering rule: the ids the lenient reading found are echoed; with neither, nothing is answered. */
  private undecodable(connection: Connection, reason: string, ids: Ids): void {
    if (ids.jobId !== undefined || ids.requestId !== undefined) {
      this.send(connection, failure(this.binding, ids, "error", "invalidFrame", { error: reason }));
    } else {
      this.log(`${NAME}: ignoring an undecodable frame from ${connection.peer} (no readable ids): ${reason}`);
    }
  }

  private handleIncoming(connection: Connection, incoming: Incoming<unknown>): void {
    const binding = this.binding;
    switch (incoming.kind) {
      case "run":
        this.start(connection, incoming.request);
        break;
      case "stop":
        this.cancel(incoming.cancel);
        break;
      case "reply":
        this.send(connection, failure(binding, incoming.ids, "error", "unexpected", { type: binding.replyTag }));
        break;
    }
  }

  private start(connection: Connection, request: unknown): void {
    const integration = tracing;
    if (integration === null) this.run(connection, request, null);
    else this.runTraced(integration, connection, request);
  }

  /** {@link run} inside a span of `integration` (untraced if the integration fails to start one). */
  private runTraced(integration: Tracing, connection: Connection, request: unknown): void {
    let span: JobSpan;
    try {
      span = integration.start(this.binding.requestFacts(request).ids, this.binding.traceFacts(request));
    } catch (error) {
      tracingFailed(this.log, error);
      this.run(connection, request, null);
      return;
    }
    let ran = false;
    try {
      span.run(() => {
        ran = true;
        this.run(connection, request, span);
      });
    } catch (error) {
      tracingFailed(this.log, error);
      if (!ran) this.run(connection, request, span);
    }
  }

  /** A request's answer without a job (refused before its handler ran), and its span's end (`reason`: as a job's). */
  private refuse(connection: Connection, outcome: unknown, span: JobSpan | null, reason?: Error): void {
    const sent = this.send(connection, outcome);
    if (span !== null) this.endSpan(span, sent, reason, undefined);
  }

  private run(connection: Connection, request: unknown, span: JobSpan | null): void {
    const binding = this.binding;
    const facts = binding.requestFacts(request);
    const { ids, due } = facts;
    if (facts.protocolVersion !== binding.protocolVersion) {
      const values = { received: facts.protocolVersion, supported: binding.protocolVersion };
      this.refuse(connection, failure(binding, ids, "error", "unsupportedVersion", values), span);
      return;
    }
    const handler = this.registry.get(facts.functionName);
    if (handler === undefined) {
      this.refuse(connection, failure(binding, ids, "error", "notFound", { function: facts.functionName }), span);
      return;
    }
    if (due !== null && due.epochMilliseconds <= Date.now()) {
      this.refuse(connection, failure(binding, ids, "timeout", "deadlinePassed", { when: due.toString() }), span);
      return;
    }
    if (this.stopping) {
      this.refuse(connection, failure(binding, ids, "error", "shuttingDown"), span, abortReason("the runner is shutting down", "AbortError"));
      return;
    }
    if (connection.jobs.size >= this.maxInFlight) {
      this.refuse(connection, failure(binding, ids, "error", "busy", { limit: this.maxInFlight }), span);
      return;
    }
    const job = new Job(connection, facts, span);
    connection.jobs.add(job);
    index(this.byRequest, ids.requestId, job);
    index(this.byJob, ids.jobId, job);
    if (due !== null) {
      job.due = due.epochMilliseconds;
      this.dueJobs.add(job);
      if (job.due < this.timerAt) this.arm(job.due);
    }
    const meanwhile = this.cancelledMeanwhile;
    if (meanwhile !== null && meanwhile.some((c) => (c.requestId !== undefined ? c.requestId === ids.requestId : c.jobId === ids.jobId))) {
      // Cancelled while it was decoded off the loop: answered as a cancel right after its start.
      this.settle(job, failure(binding, ids, "error", "cancelled"), abortReason("the request was cancelled", "AbortError"));
      return;
    }
    let result: unknown;
    try {
      if (handler.length === 1) {
        result = (handler as (request: unknown) => unknown)(request);
      } else {
        job.controller = new AbortController();
        result = handler(request, job.controller.signal);
      }
    } catch (error) {
      this.later(job, error, false);
      return;
    }
    if (((typeof result === "object" && result !== null) || typeof result === "function") && typeof (result as { then?: unknown }).then === "function") {
      Promise.resolve(result).then(
        (value) => this.settle(job, resultOutcome(binding, ids, value)),
        (error: unknown) => this.settle(job, errorOutcome(binding, ids, error), undefined, error),
      );
    } else {
      this.later(job, result, true);
    }
  }

  /** Jobs whose handlers did not return a promise (their results on them): settled together in one microtask. */
  private settling: Job[] = [];
  private readonly settleLater = (): void => {
    const batch = this.settling;
    this.settling = [];
    const binding = this.binding;
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i] as Job;
      const value = job.value;
      job.value = undefined;
      const ids = job.facts.ids;
      if (job.ok) this.settle(job, resultOutcome(binding, ids, value));
      else this.settle(job, errorOutcome(binding, ids, value), undefined, value);
    }
  };

  /**
   * Settles a job with a handler's synchronous result (`ok`) or exception one microtask later,
   * as a resolved promise would (a cancel read in the same chunk still wins).
   */
  private later(job: Job, value: unknown, ok: boolean): void {
    if (this.settling.length === 0) queueMicrotask(this.settleLater);
    job.value = value;
    job.ok = ok;
    this.settling.push(job);
  }

  /** Arms the runner's one timer for `at` (epoch milliseconds). */
  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
    this.timer.unref();
  }

  /** The timer fired: every job now due is answered `timeout`; re-armed for the next. */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let job = this.dueJobs.peek(); job !== undefined; job = this.dueJobs.peek()) {
      if (job.due > now) {
        this.arm(job.due);
        return;
      }
      const outcome = failure(this.binding, job.facts.ids, "timeout", "deadlineExceeded", { when: job.facts.due?.toString() ?? "" });
      this.settle(job, outcome, abortReason("the request's deadline passed", "TimeoutError"));
    }
  }

  private cancel(target: CancelFacts): void {
    for (const cancels of this.cancelsMeanwhile) cancels.push(target);
    const found = target.requestId !== undefined ? this.byRequest.get(target.requestId) : this.byJob.get(target.jobId);
    if (found === undefined) return;
    // A hard kill is handled like a cancel: the handler's signal is aborted at once.
    for (const job of found instanceof Job ? [found] : [...found]) {
      const outcome = failure(this.binding, job.facts.ids, "error", "cancelled");
      this.settle(job, outcome, abortReason("the request was cancelled", "AbortError"));
    }
  }

  /**
   * Answers a job once: `outcome` (or nothing when `null`); aborts its signal when `reason`;
   * `thrown` is what the handler threw (for its span).
   */
  private settle(job: Job, outcome: unknown, reason?: Error, thrown?: unknown): void {
    if (job.done) return;
    job.done = true;
    this.dueJobs.remove(job);
    job.connection.jobs.delete(job);
    unindex(this.byRequest, job.facts.ids.requestId, job);
    unindex(this.byJob, job.facts.ids.jobId, job);
    if (reason !== undefined) job.controller?.abort(reason);
    const sent = outcome === null ? null : this.send(job.connection, outcome);
    if (job.span !== null) this.endSpan(job.span, sent, reason, thrown);
  }

  /**
   * Ends a job's span with what its answer says (`sent`: the outcome queued, `null` when none
   * was): a cancel, a shutdown or a closed connection (`reason` an AbortError) is `cancelled`.
   * A failing integration is logged, never thrown.
   */
  private endSpan(span: JobSpan, sent: unknown, reason: Error | undefined, thrown: unknown): void {
    try {
      let ending: Ending = sent === null ? { outcome: Outcome.CANCELLED } : this.binding.ending(sent);
      if (reason?.name === "AbortError") ending = { ...ending, outcome: Outcome.CANCELLED };
      else if (thrown !== undefined && !(thrown instanceof RetryError) && ending.outcome === Outcome.ERROR) ending = { ...ending, exception: thrown };
      span.end(ending);
    } catch (error) {
      tracingFailed(this.log, error);
    }
  }

  /** Queues the response frame of `outcome`; returns the outcome queued (an error instead when it cannot be encoded; `null`: none). */
  private send(connection: Connection, outcome: unknown): unknown {
    const binding = this.binding;
    let frame: Uint8Array;
    try {
      frame = binding.encodeReply(outcome);
    } catch (error) {
      // A result or outcome that cannot be encoded: answer with an error instead.
      const reason = error instanceof Error ? error.message : String(error);
      const ids = binding.idsOfOutcome(outcome);
      outcome = binding.failure(ids, "error", `the handler's answer cannot be sent: ${reason}`, "FrameError");
      try {
        frame = binding.encodeReply(outcome);
      } catch (again) {
        this.log(`${NAME}: dropping a response that cannot be encoded: ${(again as Error).message}`);
        return null;
      }
    }
    connection.send(frame);
    return outcome;
  }

  /**
   * Stops: no new connections, every request in flight aborted and answered `cancelled`,
   * responses flushed, connections closed. Resolves when done (idempotent).
   */
  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      // Bodies being decoded off the loop are requests too: they are answered (shuttingDown).
      if (this.decoding.size > 0) {
        let wait: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.all(this.decoding), new Promise<void>((resolve) => (wait = setTimeout(resolve, this.shutdownGraceMs)))]);
        clearTimeout(wait);
      }
      this.decoder?.close();
      for (const connection of this.connections) {
        for (const job of [...connection.jobs]) {
          const outcome = failure(this.binding, job.facts.ids, "error", "shuttingDown");
          this.settle(job, outcome, abortReason("the runner is shutting down", "AbortError"));
        }
      }
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      const flushed = [...this.connections].map(
        (connection) =>
          new Promise<void>((resolve) => {
            connection.flush();
            if (connection.socket.destroyed) return resolve();
            connection.socket.once("close", () => resolve());
            connection.socket.end();
          }),
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.shutdownGraceMs);
        timer.unref();
      });
      await Promise.race([Promise.all(flushed), grace]);
      clearTimeout(timer);
      for (const connection of this.connections) connection.socket.destroy();
      await closed;
    })();
    return this.stopping;
  }
}

/** An outcome of status `status` carrying the runner's own message for situation `role`. */
function failure(binding: Binding, ids: Ids, status: FailureStatus, role: MessageRole, values: { [name: string]: string | number } = {}): unknown {
  const { message, errorType } = binding.message(role, values);
  return binding.failure(ids, status, message, errorType);
}

function index(map: Map<string, Job | Set<Job>>, key: string, job: Job): void {
  const found = map.get(key);
  if (found === undefined) map.set(key, job);
  else if (found instanceof Job) map.set(key, new Set([found, job]));
  else found.add(job);
}

function unindex(map: Map<string, Job | Set<Job>>, key: string, job: Job): void {
  const found = map.get(key);
  if (found === job) map.delete(key);
  else if (found instanceof Set) {
    found.delete(job);
    if (found.size === 0) map.delete(key);
  }
}

function resultOutcome(binding: Binding, ids: Ids, value: unknown): unknown {
  if (typeof value === "object" && value !== null && outcomes.has(value)) {
    return binding.withIds(value, ids);
  }
  // `undefined` and `null` are no result: the outcome has none (as the reference encodes it).
  return binding.success(ids, value);
}

function errorOutcome(binding: Binding, ids: Ids, error: unknown): unknown {
  if (error instanceof RetryError) return binding.failure(ids, "retry", error.message, undefined, error.retryAfterSeconds);
  if (error instanceof Error) {
    const ctor = (error.constructor as { name?: unknown } | undefined)?.name;
    const type = error.name !== "Error" || typeof ctor !== "string" || ctor === "" ? error.name : ctor;
    return binding.failure(ids, "error", error.message, type);
  }
  return binding.failure(ids, "error", String(error), typeof error);
}

/** Options of {@link serve}. */
export interface ServeOptions extends RunnerOptions {
  /** `HOST:PORT`; default: the `RRQ_RUNNER_TCP_SOCKET` environment variable. */
  address?: string;
  /**
   * Stop on SIGTERM and SIGINT, and when the parent process dies (within a second: a killed
   * orchestrator leaves no runner behind holding its port; see `lifecycle.ts`), then exit the
   * process with status 0 (default true).
   */
  handleSignals?: boolean;
  /** The parent process to watch (default: `process.ppid` when `serve` is called). */
  parentPid?: number;
  /**
   * Log `<package> listening on HOST:PORT` once listening (default false: a runner prints
   * nothing on a normal start, since RRQ logs whatever a runner prints as a warning).
   */
  verbose?: boolean;
}

/**
 * Starts a {@link Runner} for `registry` on the given (or environment) address and (by
 * default) shuts down cleanly and exits 0 on SIGTERM / SIGINT. Prints nothing unless `verbose`.
 */
export async function serve(registry: Registry, options: ServeOptions = {}): Promise<Runner> {
  const address = options.address ?? process.env.RRQ_RUNNER_TCP_SOCKET;
  if (address === undefined || address === "") {
    throw new Error("no address: pass --tcp-socket HOST:PORT or set RRQ_RUNNER_TCP_SOCKET");
  }
  const runner = new Runner(registry, options);
  // Handlers go in before the port accepts: a signal right after the first connection must
  // shut down cleanly, never kill the process with the default action. A second signal while
  // shutting down is noted and otherwise ignored (the first one's shutdown finishes).
  const handleSignals = options.handleSignals ?? true;
  let signalled = false;
  const stop = (signal: NodeJS.Signals | "parent death"): void => {
    if (signalled) {
      runner.log(`${NAME}: ${signal} received while shutting down; still shutting down`);
      return;
    }
    signalled = true;
    void runner.shutdown().then(() => process.exit(0));
  };
  if (handleSignals) {
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  }
  let bound: Address;
  try {
    bound = await runner.listen(address);
  } catch (error) {
    if (handleSignals) {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
    }
    throw error;
  }
  if (handleSignals) {
    const parentPid = options.parentPid ?? process.ppid;
    watchParent(() => stop("parent death"), { parentPid });
  }
  if (options.verbose === true) runner.log(`${NAME} listening on ${formatAddress(bound.host, bound.port)}`);
  return runner;
}
{% endraw %}
