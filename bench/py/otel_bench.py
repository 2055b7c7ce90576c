#!/usr/bin/env python3
"""What the OpenTelemetry integration costs the Python runner per request (issue 15): tracing
off against the runtime before the tracing hooks, and tracing on.

    otel_bench.py PACKAGE_DIR [--baseline DIR] [--lang py|ts] [--rounds N] [--requests N] [--json OUT] [--md OUT]

With ``--lang ts`` PACKAGE_DIR and DIR are built TypeScript packages (their ``dist``) and the
runners are bench/ts/otel_runner.mjs (the same variants, with tests/typescript's OpenTelemetry).

Runners, each its own process serving an echo handler (protocol 2, the latest):
  baseline  the package at --baseline (rendered before the tracing hooks existed), when given;
  off       PACKAGE_DIR, tracing never enabled (nothing of OpenTelemetry imported);
  on-null   the runtime's tracing hook with an integration that does nothing (its span's context
            a plain copy): what the runtime's traced path costs, OpenTelemetry aside;
  on-api    tracing on with opentelemetry-api alone (no SDK: spans do not record, the trace
            context still propagates to the handler);
  on-sdk    tracing on with opentelemetry-sdk: every span recorded and handed to a
            BatchSpanProcessor whose exporter drops it (the cost short of the network).

Every request carries a W3C traceparent. Per round and runner (the order rotated each round):
`--requests` requests serially on one connection, then as many pipelined 16 at a time. The
measure is the runner's own CPU time per request (`time.process_time()` read in the runner
before and after, through a `cpu` request), so the client's CPU does not count; wall time per
request is reported beside it. Medians over the rounds, and ratios to `off` (and `off` to
`baseline`). Runs on loopback only and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MODES = ("serial", "pipelined16")


def serve(variant: str, package: str) -> None:
    """The runner process: serves echo and cpu on a free port, prints the port."""
    sys.path.insert(0, package)
    from rrq_runner import v2

    if variant == "on-null":
        import contextvars

        from rrq_runner import _runtime

        class NullSpan(_runtime.JobSpan):
            def context(self) -> contextvars.Context:
                return contextvars.copy_context()

            def end(self, ending: _runtime.Ending) -> None:
                pass

        class NullTracing(_runtime.Tracing):
            def start(self, job_id: str, request_id: str, facts: _runtime.TraceFacts) -> _runtime.JobSpan:
                return NullSpan()

        _runtime.set_tracing(NullTracing())
    if variant in ("on-api", "on-sdk"):
        from rrq_runner import otel

        if variant == "on-sdk":
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

            class Drop(SpanExporter):
                def export(self, spans: Any) -> SpanExportResult:
                    return SpanExportResult.SUCCESS

            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(Drop()))
            otel.enable(tracer_provider=provider)
        else:
            otel.enable()
    registry = v2.Registry()

    @registry.register("echo")
    async def echo(request: Any) -> object:
        return request.params

    registry.register("cpu", lambda request: time.process_time())

    async def main() -> None:
        runner = v2.Runner(registry)
        _, port = await runner.start("127.0.0.1", 0)
        print(port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps({"type": "request", "payload": payload}, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


def request(function: str, n: int) -> bytes:
    """A typical protocol-2 request (about 600 bytes) with a traceparent."""
    now = datetime.now(timezone.utc)
    return frame({
        "protocol_version": "2",
        "request_id": f"req-{n:08d}",
        "job_id": f"job-{n:08d}-5f2c8e7a",
        "function_name": function,
        "params": {"user_id": 42, "report": "monthly", "filters": {"region": "eu-west", "tags": ["a", "b", "c"]},
                   "limit": 100, "dry_run": False},
        "context": {
            "job_id": f"job-{n:08d}-5f2c8e7a",
            "attempt": 1,
            "enqueue_time": (now - timedelta(milliseconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "queue_name": "rrq:queue:reports",
            "deadline": (now + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "trace_context": {"traceparent": f"00-4bf92f3577b34da6a3ce929d0e0e{n % 10000:04x}-00f067aa0ba902b7-01"},
            "correlation_context": {"tenant": "acme"},
            "worker_id": "rrq_worker_1234_abcdef",
        },
    })


async def read_body(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    return await reader.readexactly(int.from_bytes(header, "big"))


async def cpu_of(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    writer.write(request("cpu", 0))
    body = json.loads(await read_body(reader))
    return float(body["payload"]["result"])


async def slice_of(port: int, mode: str, count: int) -> tuple[float, float]:
    """(runner CPU seconds, wall seconds) per request over `count` requests."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frames = [request("echo", n) for n in range(count)]
    try:
        before = await cpu_of(reader, writer)
        started = time.perf_counter()
        if mode == "serial":
            for data in frames:
                writer.write(data)
                body = await read_body(reader)
                assert b'"success"' in body, body[:200]
        else:
            depth = 16
            for at in range(0, count, depth):
                batch = frames[at:at + depth]
                writer.write(b"".join(batch))
                for _ in batch:
                    body = await read_body(reader)
                    assert b'"success"' in body, body[:200]
        wall = time.perf_counter() - started
        after = await cpu_of(reader, writer)
    finally:
        writer.close()
    return (after - before) / count, wall / count


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", nargs="?")
    parser.add_argument("--baseline")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--json")
    parser.add_argument("--md")
    parser.add_argument("--variants", default="baseline,off,on-null,on-api,on-sdk", help="runners to measure (default: all)")
    parser.add_argument("--lang", choices=("py", "ts"), default="py")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.package)
        return
    wanted = args.variants.split(",")
    variants = {name: (args.baseline if name == "baseline" else args.package) for name in wanted}
    if "off" not in variants or ("baseline" in variants and not args.baseline):
        variants.pop("baseline", None)
        variants = {"off": args.package, **variants}
    procs: dict[str, subprocess.Popen[str]] = {}
    ports: dict[str, int] = {}
    env = dict(os.environ, RRQ_RUNNER_ACCELERATE=os.environ.get("RRQ_RUNNER_ACCELERATE", "1"), PYTHONDONTWRITEBYTECODE="1")
    try:
        for name, package in variants.items():
            if args.lang == "ts":
                command = ["node", str(Path(__file__).resolve().parents[1] / "ts" / "otel_runner.mjs"), package, name]
            else:
                command = [sys.executable, __file__, package, "--serve", name]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
            procs[name] = proc
            assert proc.stdout is not None
            ports[name] = int(proc.stdout.readline())
        results: dict[str, dict[str, list[tuple[float, float]]]] = {v: {m: [] for m in MODES} for v in variants}
        names = list(variants)

        async def measure() -> None:
            for name in names:  # warm-up
                for mode in MODES:
                    await slice_of(ports[name], mode, args.requests // 4)
            for r in range(args.rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                for name in order:
                    for mode in MODES:
                        results[name][mode].append(await slice_of(ports[name], mode, args.requests))
                print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)

        asyncio.run(measure())
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=10)

    runtime = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if args.lang == "ts" else sys.version.split()[0]
    report: dict[str, Any] = {"lang": args.lang, "rounds": args.rounds, "requests": args.requests, "runtime": runtime,
                              "accelerated": env["RRQ_RUNNER_ACCELERATE"] != "0", "modes": {}}
    for mode in MODES:
        rows = {}
        off_cpu = [c for c, _ in results["off"][mode]]
        for name in variants:
            cpu = [c for c, _ in results[name][mode]]
            wall = [w for _, w in results[name][mode]]
            # Paired: each round's ratio to `off` measured in the same round (the load of a shared
            # machine drifts between rounds, much less within one).
            ratios = [c / o for c, o in zip(cpu, off_cpu)]
            rows[name] = {
                "cpu_us": statistics.median(cpu) * 1e6,
                "wall_us": statistics.median(wall) * 1e6,
                "ratio_to_off": statistics.median(ratios),
                "ratio_iqr": quartiles(ratios),
            }
        report["modes"][mode] = rows
    lines = [
        f"# {'TypeScript' if args.lang == 'ts' else 'Python'} runner: the OpenTelemetry integration's cost per request",
        "",
        f"{args.rounds} rounds × {args.requests} requests per runner and mode, interleaved (order rotated each "
        f"round); {'Node' if args.lang == 'ts' else 'Python'} {report['runtime']}"
        f"{'' if args.lang == 'ts' else ', accelerated=' + str(report['accelerated'])}; every request carries a "
        "traceparent. CPU: the runner process's own CPU time per request (median over the rounds). × off: the "
        "median of each round's ratio to `off` in the same round, with its interquartile range.",
        "",
        "| mode | runner | CPU µs/request | × off | IQR of × off | wall µs/request |",
        "|---|---|---|---|---|---|",
    ]
    for mode, rows in report["modes"].items():
        for name, row in rows.items():
            low, high = row["ratio_iqr"]
            lines.append(
                f"| {mode} | {name} | {row['cpu_us']:.1f} | {row['ratio_to_off']:.3f} | {low:.3f}–{high:.3f} | {row['wall_us']:.1f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        Path(args.md).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
