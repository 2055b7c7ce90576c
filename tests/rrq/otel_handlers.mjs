// The example handlers (examples/typescript) with OpenTelemetry on (`rrq-runner/otel`), for the
// otel_trace scenario: the TypeScript twin of otel_handlers.py.
//
// Started as `examples/typescript/run.sh --protocol N --handlers tests/rrq/otel_handlers.mjs` (the
// last --handlers wins) with RRQ_TEST_PROTOCOL=N and RRQ_TEST_OTEL_DIR naming a folder: each runner
// process appends every finished span to DIR/spans-PID.jsonl as it ends (a synchronous processor).
// The OpenTelemetry packages are tests/typescript's (@opentelemetry/sdk-trace-base, the W3C
// propagator, the AsyncLocalStorage context manager). One more handler, `trace_seen`, returns the
// trace context the runner received (through the package's own binding, by role) and the trace
// id active in the handler.
import { appendFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(new URL("../typescript/package.json", import.meta.url));
const api = require("@opentelemetry/api");
const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
const { W3CTraceContextPropagator } = require("@opentelemetry/core");
const { BasicTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");

const protocol = process.env.RRQ_TEST_PROTOCOL;
const { default: registry } = await import(`../../examples/typescript/dist/v${protocol}/handlers.js`);
const otel = await import("../../generated/typescript/dist/otel.js");

const file = join(process.env.RRQ_TEST_OTEL_DIR, `spans-${process.pid}.jsonl`);
const exporter = {
  export(spans, done) {
    const lines = spans.map((span) =>
      JSON.stringify({
        name: span.name,
        kind: api.SpanKind[span.kind],
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
        parent_id: span.parentSpanContext?.spanId ?? null,
        status: api.SpanStatusCode[span.status.code],
        attributes: span.attributes,
      }),
    );
    appendFileSync(file, lines.map((line) => line + "\n").join(""));
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
otel.enable({ api });

registry.register("trace_seen", (request) => {
  const active = api.trace.getActiveSpan()?.spanContext();
  return { carrier: registry.binding.traceFacts(request).carrier, current_trace_id: active?.traceId ?? null };
});

export default registry;
