// The OpenTelemetry integration (`rrq-runner/otel`) with the real SDK (@opentelemetry/sdk-trace-base,
// an in-memory exporter, the AsyncLocalStorage context manager and the W3C propagator), over real
// loopback sockets, once per protocol version. Requests are written from the IR (every field found
// by its role); the attribute names are checked against upstream RRQ's runners (rrq-py
// rrq/integrations/otel.py, rrq-ts src/otel.ts), and against the Python package's (one table in
// the generator).
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as api from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { versions, distDir, root, sleep } from "./helpers.mjs";

const otel = await import(pathToFileURL(join(distDir, "otel.js")).href);
const runtime = await import(pathToFileURL(join(distDir, "runtime.js")).href);

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

const UPSTREAM_START = [
  "rrq.job_id", "rrq.function", "rrq.queue", "rrq.attempt", "rrq.worker_id", "rrq.deadline",
  "rrq.deadline_remaining_ms", "rrq.queue_wait_ms", "messaging.system", "messaging.destination.name",
  "messaging.destination_kind", "messaging.operation", "span.kind",
];
const UPSTREAM_END = ["rrq.outcome", "rrq.duration_ms", "rrq.retry_delay_ms", "rrq.error_message", "rrq.error_type", "rrq.reason", "rrq.timeout_seconds"];

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const handlerTracer = provider.getTracer("handler");

function runnerSpans() {
  return exporter.getFinishedSpans().filter((s) => s.name === otel.SPAN_NAME);
}

async function settle(count) {
  for (let i = 0; i < 200 && runnerSpans().length < count; i++) await sleep(5);
  return runnerSpans().sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
}

function assertParented(span) {
  assert.equal(span.spanContext().traceId, TRACE_ID);
  assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
  assert.equal(span.parentSpanContext?.isRemote, true);
  assert.equal(span.kind, api.SpanKind.CONSUMER);
}

test("the attribute names are upstream's, and the Python package's", () => {
  const names = new Set(Object.values(otel.Attributes));
  for (const name of [...UPSTREAM_START, ...UPSTREAM_END]) assert.ok(names.has(name), name);
  assert.equal(otel.SPAN_NAME, "rrq.runner");
  assert.equal(otel.TRACER_NAME, "rrq");
  const python = execFileSync("python3", ["-c", [
    "import ast, sys",
    "tree = ast.parse(open(sys.argv[1]).read())",
    "print('\\n'.join(sorted(n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str) and n.targets[0].id.isupper())))",
  ].join("\n"), join(root, "generated/python/rrq_runner/otel.py")]).toString().trim().split("\n");
  const ours = [...names, ...["TRACER_NAME", "SPAN_NAME", "MESSAGING_SYSTEM_REDIS", "MESSAGING_OPERATION_PROCESS", "DESTINATION_KIND_QUEUE", "SPAN_KIND_CONSUMER"].map((k) => otel[k])].sort();
  assert.deepEqual(ours, [...python].sort());
});

for (const V of versions) {
  const { rrq, glue, ir, types } = V;
  const S = glue.Statuses;
  const rootDef = types.get(ir.root);
  const requestDef = types.get(rootDef.variants.find((v) => v.role === "request").ty);
  const contextField = requestDef.fields.find((f) => f.role === "context");
  const contextDef = types.get(contextField.ty.name);
  const field = (role) => contextDef.fields.find((f) => f.role === role)?.name;
  const enqueued = rrq.Timestamp.fromEpochMilliseconds(Date.now() - 2000);

  /** A request frame with a full context (written by role) and fresh ids. */
  function frame(functionName, { carrier = null, due = null, correlation, worker = "worker-7", options } = {}) {
    const { ids } = V.requestFrame(functionName);
    const message = glue.requestWith(V.baseRequest(), { ...ids, functionName, due, inputs: { ...V.emptyInputs(), ...(options ? { [glue.INPUT_MAP]: options } : {}) } });
    const content = message[rootDef.content];
    const context = { ...content[contextField.name] };
    context[field("attempt")] = 3;
    context[field("queue-name")] = "rrq:queue:reports";
    context[field("enqueue-time")] = enqueued;
    context[field("worker-id")] = worker;
    context[field("trace-context")] = carrier;
    if (correlation !== undefined) context[field("correlation-context")] = correlation;
    content[contextField.name] = context;
    return { ids, frame: rrq.encodeFrame(message) };
  }

  describe(`otel, protocol ${V.version}`, () => {
    let started = null;
    const registry = new rrq.Registry()
      .register("echo", () => "ok")
      .register("child", async () => {
        await handlerTracer.startActiveSpan("handler.work", async (span) => {
          await sleep(1);
          span.end();
        });
        return api.trace.getActiveSpan()?.spanContext().traceId ?? null;
      })
      .register("boom", () => {
        throw new TypeError("bad input here");
      })
      .register("retry", () => {
        throw new rrq.RetryError("later", { retryAfterSeconds: 2.5 });
      })
      .register("outcome_retry", () => rrq.outcome(glue.failure({}, "retry", "custom", undefined, 1)))
      .register("wait", (request, signal) => {
        started?.();
        return new Promise((resolve) => signal.addEventListener("abort", () => resolve("aborted"), { once: true }));
      });
    let runner;
    let address;
    before(async () => {
      ({ runner, address } = await V.startRunner(registry));
    });
    after(() => runner.shutdown());

    async function traced(fn) {
      exporter.reset();
      otel.enable({ api, tracerProvider: provider });
      try {
        return await fn();
      } finally {
        otel.disable();
      }
    }

    async function call(request) {
      const client = await V.connect(address);
      client.send(request.frame);
      const reply = await client.next();
      client.close();
      return reply;
    }

    test("success: one span, parented by the trace context, with upstream's attributes", async () => {
      const due = rrq.Timestamp.fromEpochMilliseconds(Date.now() + 60_000);
      const spans = await traced(async () => {
        const request = frame("echo", { carrier: { traceparent: TRACEPARENT }, due });
        const reply = await call(request);
        assert.equal(reply.status, S.success);
        return settle(1);
      });
      assert.equal(spans.length, 1);
      const [span] = spans;
      assertParented(span);
      assert.equal(span.instrumentationScope.name, "rrq");
      const a = span.attributes;
      for (const name of UPSTREAM_START) assert.ok(name in a, name);
      assert.equal(a["rrq.function"], "echo");
      assert.equal(a["rrq.attempt"], 3);
      assert.equal(a["rrq.queue"], "rrq:queue:reports");
      assert.equal(a["messaging.destination.name"], "rrq:queue:reports");
      assert.equal(a["rrq.worker_id"], "worker-7");
      assert.deepEqual([a["messaging.system"], a["messaging.operation"], a["messaging.destination_kind"]], ["redis", "process", "queue"]);
      assert.equal(a["rrq.deadline"], due.toString());
      assert.ok(a["rrq.deadline_remaining_ms"] > 50_000 && a["rrq.deadline_remaining_ms"] <= 60_000);
      assert.ok(a["rrq.queue_wait_ms"] > 1_900 && a["rrq.queue_wait_ms"] < 30_000);
      assert.equal(a["rrq.outcome"], "success");
      assert.ok(!("rrq.error_message" in a) && !("service.name" in a));
      assert.equal(span.status.code, api.SpanStatusCode.UNSET);
    });

    test("error: status error, the exception recorded", async () => {
      const [span] = await traced(async () => {
        assert.equal((await call(frame("boom", { carrier: { traceparent: TRACEPARENT } }))).status, S.error);
        return settle(1);
      });
      assertParented(span);
      assert.equal(span.attributes["rrq.outcome"], "error");
      assert.equal(span.attributes["rrq.error_type"], "TypeError");
      assert.equal(span.attributes["rrq.error_message"], "bad input here");
      assert.equal(span.status.code, api.SpanStatusCode.ERROR);
      const events = span.events.filter((e) => e.name === "exception");
      assert.equal(events.length, 1);
      assert.equal(events[0].attributes["exception.type"], "TypeError");
    });

    test("retry: the delay and the reason; a returned outcome says what was sent", async () => {
      const [first, second] = await traced(async () => {
        assert.equal((await call(frame("retry", { carrier: { traceparent: TRACEPARENT } }))).status, S.retry);
        assert.equal((await call(frame("outcome_retry"))).status, S.retry);
        return settle(2);
      });
      assertParented(first);
      assert.deepEqual(
        [first.attributes["rrq.outcome"], first.attributes["rrq.retry_delay_ms"], first.attributes["rrq.reason"]],
        ["retry", 2500, "later"],
      );
      assert.equal(first.status.code, api.SpanStatusCode.UNSET);
      assert.deepEqual([second.attributes["rrq.outcome"], second.attributes["rrq.retry_delay_ms"]], ["retry", 1000]);
      assert.equal(second.parentSpanContext, undefined, "no trace context: a root span");
    });

    test("timeout: the deadline passing while the handler runs, and before it", async () => {
      const [during, before] = await traced(async () => {
        const soon = rrq.Timestamp.fromEpochMilliseconds(Date.now() + 300);
        assert.equal((await call(frame("wait", { carrier: { traceparent: TRACEPARENT }, due: soon }))).status, S.timeout);
        const past = rrq.Timestamp.fromEpochMilliseconds(Date.now() - 1000);
        assert.equal((await call(frame("echo", { due: past }))).status, S.timeout);
        return settle(2);
      });
      assertParented(during);
      for (const span of [during, before]) {
        assert.equal(span.attributes["rrq.outcome"], "timeout");
        assert.equal(span.attributes["rrq.error_type"], glue.Failures.deadlineExceeded);
        assert.equal(span.status.code, api.SpanStatusCode.ERROR);
      }
      assert.ok(during.attributes["rrq.timeout_seconds"] > 0.1 && during.attributes["rrq.timeout_seconds"] <= 0.3);
      assert.ok(during.attributes["rrq.duration_ms"] >= 250);
      assert.equal(before.attributes["rrq.deadline_remaining_ms"], 0);
    });

    test("cancel: the cancelled outcome", async () => {
      const [span] = await traced(async () => {
        const request = frame("wait", { carrier: { traceparent: TRACEPARENT } });
        const client = await V.connect(address);
        const running = new Promise((resolve) => (started = resolve));
        client.send(request.frame);
        await running;
        const other = await V.connect(address);
        other.send(rrq.encodeFrame(glue.cancelMessage({ jobId: request.ids.jobId, requestId: request.ids.requestId })));
        const reply = await client.next();
        assert.equal(reply.errorType, glue.Failures.cancelled);
        client.close();
        other.close();
        return settle(1);
      });
      assertParented(span);
      assert.equal(span.attributes["rrq.outcome"], "cancelled");
      assert.equal(span.attributes["rrq.reason"], span.attributes["rrq.error_message"]);
      assert.equal(span.status.code, api.SpanStatusCode.UNSET);
    });

    test("shutdown: the jobs in flight end cancelled", async () => {
      const { runner: local, address: at } = await V.startRunner(registry);
      const [span] = await traced(async () => {
        const client = await V.connect(at);
        const running = new Promise((resolve) => (started = resolve));
        client.send(frame("wait").frame);
        await running;
        const reply = client.next();
        await local.shutdown();
        assert.equal((await reply).errorType, glue.Failures.shuttingDown);
        client.close();
        return settle(1);
      });
      assert.equal(span.attributes["rrq.outcome"], "cancelled");
      assert.equal(span.attributes["rrq.error_type"], glue.Failures.shuttingDown);
    });

    test("the handler's own spans are children of the runner's span", async () => {
      const spans = await traced(async () => {
        const reply = await call(frame("child", { carrier: { traceparent: TRACEPARENT } }));
        assert.equal(reply.result, TRACE_ID, "the handler sees the span as active");
        await settle(1);
        return exporter.getFinishedSpans();
      });
      const child = spans.find((s) => s.name === "handler.work");
      const parent = spans.find((s) => s.name === otel.SPAN_NAME);
      assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId);
      assert.equal(child.spanContext().traceId, TRACE_ID);
    });

    for (const [label, carrier] of [
      ["garbage", { traceparent: "garbage" }],
      ["zero trace id", { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" }],
      ["empty", { traceparent: "" }],
      ["no traceparent", { tracestate: "k=v" }],
      ["empty map", {}],
      ["none", null],
    ]) {
      test(`a bad trace context (${label}) gives a root span and a successful job`, async () => {
        const [span] = await traced(async () => {
          const reply = await call(frame("echo", { carrier }));
          assert.deepEqual([reply.status, reply.result], [S.success, "ok"]);
          return settle(1);
        });
        assert.equal(span.parentSpanContext, undefined);
        assert.equal(span.attributes["rrq.outcome"], "success");
      });
    }

    test("correlation context entries are attributes", async () => {
      if (field("correlation-context") === undefined) {
        // A version without a correlation context (protocol 1): only the runner's own attributes.
        const [span] = await traced(async () => {
          await call(frame("echo", { carrier: { traceparent: TRACEPARENT } }));
          return settle(1);
        });
        const foreign = Object.keys(span.attributes).filter((n) => !n.startsWith("rrq.") && !n.startsWith("messaging.") && n !== "span.kind");
        assert.deepEqual(foreign, []);
        return;
      }
      const [span] = await traced(async () => {
        await call(frame("echo", { carrier: { traceparent: TRACEPARENT }, correlation: { "tenant.id": "acme", "": "x", empty: "", "rrq.function": "spoofed" } }));
        return settle(1);
      });
      assert.equal(span.attributes["tenant.id"], "acme");
      assert.ok(!("" in span.attributes) && !("empty" in span.attributes));
      assert.equal(span.attributes["rrq.function"], "echo", "the runner's own attributes win");
    });

    test("an unknown function is an error span", async () => {
      const [span] = await traced(async () => {
        assert.equal((await call(frame("missing", { worker: null }))).status, S.error);
        return settle(1);
      });
      assert.deepEqual([span.attributes["rrq.outcome"], span.attributes["rrq.error_type"]], ["error", glue.Failures.notFound]);
      assert.ok(!("rrq.worker_id" in span.attributes));
      assert.equal(span.status.code, api.SpanStatusCode.ERROR);
    });

    test("the answers are byte for byte the same with tracing on and off", async () => {
      const requests = () => [
        frame("echo", { carrier: { traceparent: TRACEPARENT } }),
        frame("boom", { carrier: { traceparent: "garbage" } }),
        frame("retry"),
        frame("missing"),
        frame("outcome_retry"),
        frame("echo", { due: rrq.Timestamp.fromEpochMilliseconds(0) }),
      ];
      const answers = async (list) => {
        const out = [];
        for (const request of list) out.push(Buffer.from((await call(request)).body).toString("utf8").replace(/"[^"]*-(job|req)-\d+"/g, '"ID"'));
        return out;
      };
      const off = await answers(requests());
      const on = await traced(async () => {
        const result = await answers(requests());
        assert.equal((await settle(6)).length, 6);
        return result;
      });
      assert.deepEqual(on, off);
    });

    for (const where of ["start", "run", "end"]) {
      test(`a tracing integration failing in ${where} never fails a job`, async () => {
        const broken = {
          start() {
            if (where === "start") throw new Error("start failed");
            return {
              run(fn) {
                if (where === "run") throw new Error("run failed");
                return fn();
              },
              end() {
                throw new Error("end failed");
              },
            };
          },
        };
        const lines = [];
        const { runner: local, address: at } = await V.startRunner(registry, { log: (line) => lines.push(line) });
        runtime.setTracing(broken);
        try {
          for (let i = 0; i < 5; i++) {
            const client = await V.connect(at);
            client.send(frame("echo").frame);
            const reply = await client.next();
            assert.deepEqual([reply.status, reply.result], [S.success, "ok"]);
            client.close();
          }
        } finally {
          runtime.setTracing(null);
          await local.shutdown();
        }
        const logged = lines.filter((l) => l.includes("tracing failed")).length;
        assert.ok(logged >= 1 && logged <= 3, `${logged} lines`);
      });
    }

    test("disable stops the spans; service name as upstream writes it", async () => {
      exporter.reset();
      otel.enable({ api, tracerProvider: provider, serviceName: "billing" });
      assert.ok(otel.isEnabled());
      await call(frame("echo"));
      await settle(1);
      otel.disable();
      assert.ok(!otel.isEnabled());
      await call(frame("echo"));
      await sleep(20);
      const spans = runnerSpans();
      assert.equal(spans.length, 1);
      assert.equal(spans[0].attributes["service.name"], "billing");
    });
  });
}

test("off: nothing but the otel subpath refers to OpenTelemetry, and nothing imports it", () => {
  const files = readdirSync(distDir, { recursive: true }).filter((f) => String(f).endsWith(".js")).map(String);
  assert.ok(files.includes("otel.js"));
  for (const file of files) {
    const text = readFileSync(join(distDir, file), "utf8");
    if (file !== "otel.js") {
      assert.ok(!text.includes("@opentelemetry"), `${file} refers to @opentelemetry`);
      assert.ok(!/from "\.{1,2}\/otel\.js"/.test(text), `${file} imports otel.js`);
    }
  }
  // otel.js loads the API only when enable() runs, never at import.
  assert.ok(!/^import .*@opentelemetry/m.test(readFileSync(join(distDir, "otel.js"), "utf8")));
});

test("enable without @opentelemetry/api installed names the dependency", () => {
  // dist/otel.js resolves @opentelemetry/api from the package's folder, where it is not installed.
  assert.throws(() => otel.enable(), /needs @opentelemetry\/api/);
});
