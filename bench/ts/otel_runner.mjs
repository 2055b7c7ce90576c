// A TypeScript runner for bench/py/otel_bench.py: serves `echo` and `cpu` (the process's CPU
// seconds) with protocol 2 on a free loopback port and prints the port.
//
//   node bench/ts/otel_runner.mjs DIST VARIANT      (VARIANT: baseline, off, on-null, on-api, on-sdk)
//
// on-null: the runtime's tracing hook with an integration that does nothing (what the runtime's
// traced path costs, OpenTelemetry aside).
// on-api: tracing on with @opentelemetry/api, the W3C propagator and the AsyncLocalStorage
// context manager (what NodeTracerProvider.register() installs) but no SDK: spans do not record.
// on-sdk: the same with sdk-trace-base's BasicTracerProvider and a BatchSpanProcessor whose
// exporter drops the spans. The OpenTelemetry packages are tests/typescript's.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dist, variant] = process.argv.slice(2);
const v2 = await import(pathToFileURL(join(dist, "v2", "index.js")).href);
if (variant === "on-null") {
  const runtime = await import(pathToFileURL(join(dist, "runtime.js")).href);
  runtime.setTracing({ start: () => ({ run: (fn) => fn(), end: () => {} }) });
}
if (variant === "on-api" || variant === "on-sdk") {
  const require = createRequire(new URL("../../tests/typescript/package.json", import.meta.url));
  const api = require("@opentelemetry/api");
  const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
  const { W3CTraceContextPropagator } = require("@opentelemetry/core");
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (variant === "on-sdk") {
    const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
    const drop = { export: (spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
    api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] }));
  }
  const otel = await import(pathToFileURL(join(dist, "otel.js")).href);
  otel.enable({ api });
}
const registry = new v2.Registry()
  .register("echo", async (request) => request.params)
  .register("cpu", () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  });
const runner = new v2.Runner(registry, { log: () => {} });
const address = await runner.listen("127.0.0.1:0");
console.log(address.port);
