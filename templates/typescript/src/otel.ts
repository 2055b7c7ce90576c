{{ header }}
/**
 * OpenTelemetry tracing for the runner (`{{ package }}/otel`): one span per job, parented by the
 * trace the producer started (the orchestrator carries its W3C trace context in the request),
 * with the handler running inside it. Needs `@opentelemetry/api` (an optional peer dependency)
 * and an SDK with an exporter.
 *
 * Turn it on once, in the handlers module:
 *
 * ```ts
 * import { enable } from "{{ package }}/otel";
 * enable();
 * ```
 *
 * Off by default: until {@link enable} is called nothing of OpenTelemetry is loaded and the
 * runtime does no tracing work. Once on, every request gets a span named `{{ span_name }}` (kind
 * CONSUMER): its parent is extracted from the request's trace context with the global
 * propagator (a missing or malformed one gives a root span, never a failed job); the handler
 * runs with the span current (with a context manager, as the SDK's `NodeTracerProvider`
 * registers, its own spans are children); the span ends right after the answer is queued, with
 * the outcome (success, retry, timeout, error, cancelled: cancels, deadlines and shutdowns
 * included). The attribute names are upstream RRQ's, the same in every {{ package }} package (the
 * constants below).
 *
 * @module
 */

import { createRequire } from "node:module";
import { Outcome, currentTracing, setTracing, type Ending, type Ids, type JobSpan, type TraceFacts, type Tracing } from "./runtime.js";

const PACKAGE = {{ package_lit }};
const VERSION = {{ version_lit }};
{% for (key, value, doc) in constants %}
/** {{ doc }} */
export const {{ key }} = {{ value }};
{%- endfor %}

/** The span's attributes. */
export const Attributes = {
{%- for (key, value, doc) in attributes %}
  /** {{ doc }} */
  {{ key }}: {{ value }},
{%- endfor %}
} as const;
{% raw %}
type AttributeValue = string | number | boolean;

/** The parts of `@opentelemetry/api` used here (structurally: the package builds without it). */
interface Api {
  trace: {
    getTracer(name: string, version?: string): Tracer;
    setSpan(context: unknown, span: Span): unknown;
  };
  context: { with(context: unknown, fn: () => unknown): unknown };
  propagation: { extract(context: unknown, carrier: unknown): unknown };
  ROOT_CONTEXT: unknown;
  SpanKind: { CONSUMER: number };
  SpanStatusCode: { ERROR: number };
}

interface Tracer {
  startSpan(name: string, options: { kind: number }, context: unknown): Span;
}

interface Span {
  isRecording(): boolean;
  setAttributes(attributes: { [key: string]: AttributeValue }): unknown;
  recordException(exception: unknown): void;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** Options of {@link enable}. */
export interface EnableOptions {
  /** The tracer provider (default: the global one, also when it is registered later). */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** Adds a `service.name` attribute to each span, as upstream RRQ does when given one (the service's name belongs in the SDK's resource: leave it out when the resource has it). */
  serviceName?: string;
  /** The `@opentelemetry/api` module (default: the one the application depends on). */
  api?: unknown;
}

function loadApi(): Api {
  try {
    return createRequire(import.meta.url)("@opentelemetry/api") as Api;
  } catch (error) {
    throw new Error(`${PACKAGE}/otel needs @opentelemetry/api: npm install @opentelemetry/api (${(error as Error).message})`);
  }
}

/** Traces every job from now on. @throws Error when `@opentelemetry/api` cannot be loaded */
export function enable(options: EnableOptions = {}): void {
  const api = (options.api as Api | undefined) ?? loadApi();
  const provider = (options.tracerProvider as Api["trace"] | undefined) ?? api.trace;
  setTracing(new OtelTracing(api, provider.getTracer(TRACER_NAME, VERSION), options.serviceName));
}

/** Stops tracing the jobs that arrive from now on. */
export function disable(): void {
  if (isEnabled()) setTracing(null);
}

/** Whether jobs are traced by this module. */
export function isEnabled(): boolean {
  return currentTracing() instanceof OtelTracing;
}

class OtelTracing implements Tracing {
  private readonly common: { [key: string]: AttributeValue };

  constructor(
    private readonly api: Api,
    private readonly tracer: Tracer,
    serviceName: string | undefined,
  ) {
    this.common = {
      [Attributes.MESSAGING_SYSTEM]: MESSAGING_SYSTEM_REDIS,
      [Attributes.MESSAGING_DESTINATION_KIND]: DESTINATION_KIND_QUEUE,
      [Attributes.MESSAGING_OPERATION]: MESSAGING_OPERATION_PROCESS,
      [Attributes.SPAN_KIND]: SPAN_KIND_CONSUMER,
    };
    if (serviceName) this.common[Attributes.SERVICE_NAME] = serviceName;
  }

  /** The job's parent: the trace context extracted with the global propagator, or a root. */
  private parent(carrier: { readonly [key: string]: string } | null): unknown {
    const api = this.api;
    if (carrier === null || Object.keys(carrier).length === 0) return api.ROOT_CONTEXT;
    try {
      return api.propagation.extract(api.ROOT_CONTEXT, carrier);
    } catch {
      return api.ROOT_CONTEXT; // a malformed trace context never fails a job
    }
  }

  start(ids: Required<Ids>, facts: TraceFacts): JobSpan {
    const now = Date.now();
    const started = performance.now();
    const parent = this.parent(facts.carrier);
    const span = this.tracer.startSpan(SPAN_NAME, { kind: this.api.SpanKind.CONSUMER }, parent);
    const budget = facts.due === null ? null : (facts.due.epochMilliseconds - now) / 1000;
    // Not for a span sampled out, nor without an SDK.
    if (span.isRecording()) span.setAttributes(this.attributes(ids, facts, now, budget));
    return new OtelJobSpan(this.api, span, this.api.trace.setSpan(parent, span), started, budget);
  }

  private attributes(ids: Required<Ids>, facts: TraceFacts, now: number, budget: number | null): { [key: string]: AttributeValue } {
    const attributes: { [key: string]: AttributeValue } = {};
    if (facts.correlation !== null) {
      // Under their own keys, as upstream writes them; the runner's attributes win.
      for (const [key, value] of Object.entries(facts.correlation)) if (key && value) attributes[key] = value;
    }
    Object.assign(attributes, this.common);
    attributes[Attributes.JOB_ID] = ids.jobId;
    attributes[Attributes.FUNCTION] = facts.functionName;
    if (facts.queue !== null) attributes[Attributes.QUEUE] = attributes[Attributes.MESSAGING_DESTINATION_NAME] = facts.queue;
    if (facts.attempt !== null) attributes[Attributes.ATTEMPT] = facts.attempt;
    if (facts.worker) attributes[Attributes.WORKER_ID] = facts.worker;
    if (facts.due !== null && budget !== null) {
      attributes[Attributes.DEADLINE] = facts.due.toString();
      attributes[Attributes.DEADLINE_REMAINING_MS] = Math.max(budget * 1000, 0);
    }
    if (facts.enqueued !== null) attributes[Attributes.QUEUE_WAIT_MS] = Math.max(now - facts.enqueued.epochMilliseconds, 0);
    return attributes;
  }
}

const FAILED: ReadonlySet<string> = new Set([Outcome.ERROR, Outcome.TIMEOUT]);
/** Outcomes whose message is also written as `rrq.reason` (as upstream writes it). */
const REASONED: ReadonlySet<string> = new Set([Outcome.RETRY, Outcome.CANCELLED]);

class OtelJobSpan implements JobSpan {
  constructor(
    private readonly api: Api,
    private readonly span: Span,
    private readonly context: unknown,
    private readonly started: number,
    private readonly budget: number | null,
  ) {}

  run<T>(fn: () => T): T {
    return this.api.context.with(this.context, fn) as T;
  }

  end(ending: Ending): void {
    const span = this.span;
    if (!span.isRecording()) {
      span.end();
      return;
    }
    const outcome = ending.outcome;
    const attributes: { [key: string]: AttributeValue } = {
      [Attributes.OUTCOME]: outcome,
      [Attributes.DURATION_MS]: performance.now() - this.started,
    };
    if (ending.message !== undefined) {
      attributes[Attributes.ERROR_MESSAGE] = ending.message;
      if (REASONED.has(outcome)) attributes[Attributes.REASON] = ending.message;
    }
    if (ending.errorType !== undefined) attributes[Attributes.ERROR_TYPE] = ending.errorType;
    if (ending.retryAfterSeconds !== undefined) attributes[Attributes.RETRY_DELAY_MS] = ending.retryAfterSeconds * 1000;
    if (outcome === Outcome.TIMEOUT && this.budget !== null) attributes[Attributes.TIMEOUT_SECONDS] = this.budget;
    span.setAttributes(attributes);
    if (ending.exception !== undefined) span.recordException(ending.exception);
    if (FAILED.has(outcome)) span.setStatus(ending.message === undefined ? { code: this.api.SpanStatusCode.ERROR } : { code: this.api.SpanStatusCode.ERROR, message: ending.message });
    span.end();
  }
}
{% endraw %}