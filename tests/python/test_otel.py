"""The OpenTelemetry integration (`rrq_runner.otel`) with the real SDK and an in-memory exporter,
over a real loopback socket, for the protocol version under test.

Requests are written as JSON from the IR (every field found by its role), so these tests need no
golden corpus. The attribute names are checked against upstream RRQ's runners (rrq-py
``rrq/integrations/otel.py``, rrq-ts ``src/otel.ts``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import CONTEXT, INPUT_MAP, IR, PACKAGE_DIR, REQUEST, TYPES, field_with, options
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from rrq_proto import ExecutionOutcome, OutcomeStatus, Registry, RetryError, Runner, decode_message, read_frame

from rrq_runner import _runtime, otel

ROOT_UNION = TYPES[IR["root"]]
TAG, CONTENT = ROOT_UNION["tag"], ROOT_UNION["content"]
CANCEL = TYPES[next(v["ty"] for v in ROOT_UNION["variants"] if v.get("role") == "cancel")]


def tag_of(role: str) -> str:
    return next(v["tag_value"] for v in ROOT_UNION["variants"] if v.get("role") == role)


def name(struct: dict[str, Any], role: str) -> str:
    return field_with(struct, role)["name"]


def has_role(struct: dict[str, Any], role: str) -> bool:
    return any(f.get("role") == role for f in struct["fields"])


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
ENQUEUED = datetime.now(timezone.utc) - timedelta(seconds=2)

#: Upstream RRQ's attribute names (the shared table in codegen/src/lang/mod.rs must give these).
UPSTREAM_START = {
    "rrq.job_id", "rrq.function", "rrq.queue", "rrq.attempt", "rrq.worker_id", "rrq.deadline",
    "rrq.deadline_remaining_ms", "rrq.queue_wait_ms", "messaging.system", "messaging.destination.name",
    "messaging.destination_kind", "messaging.operation", "span.kind",
}
UPSTREAM_END = {"rrq.outcome", "rrq.duration_ms", "rrq.retry_delay_ms", "rrq.error_message", "rrq.error_type",
                "rrq.reason", "rrq.timeout_seconds"}


def timestamp(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_frame(
    function: str,
    request_id: str = "req-1",
    job_id: str = "job-1",
    *,
    carrier: dict[str, str] | None = None,
    deadline: datetime | None = None,
    correlation: dict[str, str] | None = None,
    worker: str | None = "worker-7",
    inputs: dict[str, Any] | None = None,
) -> bytes:
    """A request frame written from the IR's roles."""
    context: dict[str, Any] = {
        name(CONTEXT, "job-id"): job_id,
        name(CONTEXT, "attempt"): 3,
        name(CONTEXT, "enqueue-time"): timestamp(ENQUEUED),
        name(CONTEXT, "queue-name"): "rrq:queue:reports",
        name(CONTEXT, "deadline"): None if deadline is None else timestamp(deadline),
        name(CONTEXT, "trace-context"): carrier,
        name(CONTEXT, "worker-id"): worker,
    }
    if correlation is not None:
        context[name(CONTEXT, "correlation-context")] = correlation
    payload: dict[str, Any] = {
        name(REQUEST, "protocol-version"): IR["meta"]["version"],
        name(REQUEST, "request-id"): request_id,
        name(REQUEST, "job-id"): job_id,
        name(REQUEST, "function-name"): function,
        name(REQUEST, "context"): context,
        **(inputs or {}),
    }
    return frame({TAG: tag_of("request"), CONTENT: payload})


def cancel_frame(request_id: str, job_id: str = "job-1") -> bytes:
    payload = {name(CANCEL, "protocol-version"): IR["meta"]["version"], name(CANCEL, "job-id"): job_id,
               name(CANCEL, "request-id"): request_id}
    return frame({TAG: tag_of("cancel"), CONTENT: payload})


def frame(message: object) -> bytes:
    body = json.dumps(message).encode()
    return len(body).to_bytes(4, "big") + body


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive_raw(self) -> bytes:
        body = await asyncio.wait_for(read_frame(self.reader), 5)
        assert body is not None, "connection closed"
        return body

    async def receive(self) -> ExecutionOutcome:
        message = decode_message(await self.receive_raw())
        return getattr(message, CONTENT)  # type: ignore[no-any-return]

    async def call(self, data: bytes) -> ExecutionOutcome:
        await self.send(data)
        return await self.receive()


@asynccontextmanager
async def running(registry: Registry, **options: Any) -> AsyncIterator[Callable[[], Awaitable[Client]]]:
    runner = Runner(registry, **options)
    host, port = await runner.start("127.0.0.1", 0)
    clients: list[Client] = []

    async def connect() -> Client:
        client = Client(*await asyncio.open_connection(host, port))
        clients.append(client)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            client.writer.close()
        await runner.shutdown()


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


@pytest.fixture()
def exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into an in-memory exporter (off again after the test)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    PROVIDER[0] = provider
    otel.enable(tracer_provider=provider)
    try:
        yield exporter
    finally:
        otel.disable()
        provider.shutdown()


PROVIDER: list[TracerProvider] = [TracerProvider()]
"""The test's provider, for the handlers' own spans."""


def registry() -> Registry:
    reg = Registry()

    @reg.register("echo")
    async def echo(r: Any) -> object:
        return "ok"

    @reg.register("child")
    async def child(r: Any) -> object:
        with PROVIDER[0].get_tracer("handler").start_as_current_span("handler.work"):
            await asyncio.sleep(0)
        return format(trace.get_current_span().get_span_context().trace_id, "032x")

    @reg.register("sync_child")
    def sync_child(r: Any) -> object:
        with PROVIDER[0].get_tracer("handler").start_as_current_span("handler.sync"):
            return threading.current_thread().name

    @reg.register("boom")
    def boom(r: Any) -> object:
        raise KeyError("no such thing")

    @reg.register("retry")
    async def retry(r: Any) -> object:
        raise RetryError("later", retry_after_seconds=2.5)

    @reg.register("sleep")
    async def sleep(r: Any) -> object:
        await asyncio.sleep(30)
        return "slept"

    @reg.register("outcome_retry")
    def outcome_retry(r: Any) -> object:
        return ExecutionOutcome(status=OutcomeStatus.RETRY, retry_after_seconds=1.0)

    return reg


def runner_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == otel.SPAN_NAME]


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = runner_spans(exporter)
    assert len(spans) == 1, [s.name for s in exporter.get_finished_spans()]
    return spans[0]


async def settle(exporter: InMemorySpanExporter, count: int = 1) -> None:
    """The span ends right after the answer is written: wait for it (a few loop turns)."""
    for _ in range(200):
        if len(runner_spans(exporter)) >= count:
            return
        await asyncio.sleep(0.005)


def assert_parented(span: ReadableSpan) -> None:
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_ID
    assert span.parent.is_remote
    assert span.kind == SpanKind.CONSUMER


def test_the_attribute_names_are_upstreams() -> None:
    names = {value for key, value in vars(otel).items() if key.isupper() and isinstance(value, str)}
    assert UPSTREAM_START | UPSTREAM_END <= names
    assert (otel.SPAN_NAME, otel.TRACER_NAME) == ("rrq.runner", "rrq")
    assert (otel.MESSAGING_SYSTEM_REDIS, otel.MESSAGING_OPERATION_PROCESS) == ("redis", "process")


def test_success_span_is_parented_by_the_trace_context(exporter: InMemorySpanExporter) -> None:
    deadline = datetime.now(timezone.utc) + timedelta(seconds=60)

    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request_frame("echo", carrier={"traceparent": TRACEPARENT}, deadline=deadline))
            assert outcome.status == OutcomeStatus.SUCCESS
            await settle(exporter)

    run(main())
    span = only_span(exporter)
    assert_parented(span)
    assert span.instrumentation_scope is not None and span.instrumentation_scope.name == "rrq"
    a = dict(span.attributes or {})
    assert UPSTREAM_START <= set(a), UPSTREAM_START - set(a)
    assert a["rrq.job_id"] == "job-1" and a["rrq.function"] == "echo" and a["rrq.attempt"] == 3
    assert a["rrq.queue"] == a["messaging.destination.name"] == "rrq:queue:reports"
    assert a["rrq.worker_id"] == "worker-7"
    assert (a["messaging.system"], a["messaging.operation"], a["messaging.destination_kind"]) == ("redis", "process", "queue")
    assert a["rrq.deadline"] == timestamp(deadline)  # the protocol's timestamp text
    assert 50_000 < float(a["rrq.deadline_remaining_ms"]) <= 60_000  # type: ignore[arg-type]
    assert 1_900 < float(a["rrq.queue_wait_ms"]) < 30_000  # type: ignore[arg-type]
    assert a["rrq.outcome"] == "success" and float(a["rrq.duration_ms"]) >= 0  # type: ignore[arg-type]
    assert "rrq.error_message" not in a and "service.name" not in a
    assert span.status.status_code == StatusCode.UNSET


def test_error_span_records_the_exception(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request_frame("boom", carrier={"traceparent": TRACEPARENT}))
            assert outcome.status == OutcomeStatus.ERROR
            await settle(exporter)

    run(main())
    span = only_span(exporter)
    assert_parented(span)
    a = dict(span.attributes or {})
    assert (a["rrq.outcome"], a["rrq.error_type"]) == ("error", "KeyError")
    assert "no such thing" in str(a["rrq.error_message"])
    assert span.status.status_code == StatusCode.ERROR
    events = [e for e in span.events if e.name == "exception"]
    assert len(events) == 1 and (events[0].attributes or {})["exception.type"] == "KeyError"


def test_retry_span(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            assert (await client.call(request_frame("retry", carrier={"traceparent": TRACEPARENT}))).status == OutcomeStatus.RETRY
            outcome = await client.call(request_frame("outcome_retry", "req-2"))
            assert outcome.status == OutcomeStatus.RETRY
            await settle(exporter, 2)

    run(main())
    first, second = sorted(runner_spans(exporter), key=lambda s: s.start_time or 0)
    assert_parented(first)
    a = dict(first.attributes or {})
    assert (a["rrq.outcome"], a["rrq.retry_delay_ms"], a["rrq.reason"], a["rrq.error_message"]) == ("retry", 2500.0, "later", "later")
    assert first.status.status_code == StatusCode.UNSET
    # A returned outcome: the span says what was sent.
    b = dict(second.attributes or {})
    assert (b["rrq.outcome"], b["rrq.retry_delay_ms"]) == ("retry", 1000.0)
    assert second.parent is None, "no trace context: a root span"


def test_timeout_spans(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            soon = datetime.now(timezone.utc) + timedelta(milliseconds=300)
            outcome = await client.call(request_frame("sleep", carrier={"traceparent": TRACEPARENT}, deadline=soon))
            assert outcome.status == OutcomeStatus.TIMEOUT
            past = datetime.now(timezone.utc) - timedelta(seconds=1)
            outcome = await client.call(request_frame("echo", "req-2", deadline=past))
            assert outcome.status == OutcomeStatus.TIMEOUT
            await settle(exporter, 2)

    run(main())
    during, before = sorted(runner_spans(exporter), key=lambda s: s.start_time or 0)
    assert_parented(during)
    for span in (during, before):
        a = dict(span.attributes or {})
        assert a["rrq.outcome"] == "timeout" and a["rrq.error_type"] == "timeout", a
        assert span.status.status_code == StatusCode.ERROR
    a = dict(during.attributes or {})
    assert 0.1 < float(a["rrq.timeout_seconds"]) <= 0.3  # type: ignore[arg-type]
    assert 250 <= float(a["rrq.duration_ms"]) < 5000  # type: ignore[arg-type]
    assert dict(before.attributes or {})["rrq.deadline_remaining_ms"] == 0.0


def test_cancel_and_shutdown_spans(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            await client.send(request_frame("sleep", "req-1", carrier={"traceparent": TRACEPARENT}))
            await asyncio.sleep(0.05)
            other = await connect()
            await other.send(cancel_frame("req-1"))
            outcome = await client.receive()
            assert outcome.status == OutcomeStatus.ERROR
            await client.send(request_frame("sleep", "req-2", "job-2"))
            await asyncio.sleep(0.05)
        # The shutdown answered req-2 as cancelled.
        await settle(exporter, 2)

    run(main())
    cancelled, shut = sorted(runner_spans(exporter), key=lambda s: s.start_time or 0)
    assert_parented(cancelled)
    for span in (cancelled, shut):
        a = dict(span.attributes or {})
        assert a["rrq.outcome"] == "cancelled" and a["rrq.error_type"] == "cancelled", a
        assert a["rrq.reason"] == a["rrq.error_message"]
        assert span.status.status_code == StatusCode.UNSET
    assert dict(shut.attributes or {})["rrq.job_id"] == "job-2"


def test_handler_spans_are_children_of_the_runner_span(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request_frame("child", carrier={"traceparent": TRACEPARENT}))
            assert outcome.result == TRACE_ID, "the handler sees the span as current"
            outcome = await client.call(request_frame("sync_child", "req-2", carrier={"traceparent": TRACEPARENT}))
            assert outcome.result == "rrq-runner-handler", "a sync handler, in its thread"
            await settle(exporter, 2)

    run(main())
    spans = {s.name: s for s in exporter.get_finished_spans() if s.name.startswith("handler.")}
    runner = sorted(runner_spans(exporter), key=lambda s: s.start_time or 0)
    for span, parent in ((spans["handler.work"], runner[0]), (spans["handler.sync"], runner[1])):
        assert span.parent is not None and span.parent.span_id == parent.context.span_id
        assert span.context.trace_id == int(TRACE_ID, 16)


@pytest.mark.parametrize(
    "carrier",
    [
        {"traceparent": "garbage"},
        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        {"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"},
        {"traceparent": ""},
        {"tracestate": "k=v"},
        {},
        None,
    ],
    ids=["garbage", "zero-trace-id", "bad-version", "empty", "no-traceparent", "empty-map", "none"],
)
def test_a_bad_trace_context_gives_a_root_span_and_a_successful_job(
    exporter: InMemorySpanExporter, carrier: dict[str, str] | None
) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request_frame("echo", carrier=carrier))
            assert (outcome.status, outcome.result) == (OutcomeStatus.SUCCESS, "ok")
            await settle(exporter)

    run(main())
    span = only_span(exporter)
    assert span.parent is None
    assert dict(span.attributes or {})["rrq.outcome"] == "success"


def test_correlation_context_entries_are_attributes(exporter: InMemorySpanExporter) -> None:
    if not has_role(CONTEXT, "correlation-context"):
        # A version without a correlation context (protocol 1): the span carries only the
        # runner's own attributes.
        async def plain() -> None:
            async with running(registry()) as connect:
                client = await connect()
                await client.call(request_frame("echo", carrier={"traceparent": TRACEPARENT}))
                await settle(exporter)

        run(plain())
        names = set(dict(only_span(exporter).attributes or {}))
        assert {n for n in names if not n.startswith(("rrq.", "messaging."))} <= {"span.kind"}, names
        return

    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            correlation = {"tenant.id": "acme", "": "ignored", "empty": "", "rrq.job_id": "spoofed"}
            await client.call(request_frame("echo", carrier={"traceparent": TRACEPARENT}, correlation=correlation))
            await settle(exporter)

    run(main())
    a = dict(only_span(exporter).attributes or {})
    assert a["tenant.id"] == "acme" and "" not in a and "empty" not in a
    assert a["rrq.job_id"] == "job-1", "the runner's own attributes win"


def test_not_found_is_an_error_span(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request_frame("missing", worker=None))
            assert outcome.status == OutcomeStatus.ERROR
            await settle(exporter)

    run(main())
    span = only_span(exporter)
    a = dict(span.attributes or {})
    assert (a["rrq.outcome"], a["rrq.error_type"], a["rrq.function"]) == ("error", "handler_not_found", "missing")
    assert "rrq.worker_id" not in a
    assert span.status.status_code == StatusCode.ERROR


def test_busy_is_an_error_span(exporter: InMemorySpanExporter) -> None:
    # As the TypeScript runner does: a request beyond the in-flight limit gets a span too, ended
    # with the busy answer (an error), and the job in flight keeps its own.
    async def main() -> None:
        async with running(registry(), max_in_flight=1) as connect:
            client = await connect()
            await client.send(request_frame("sleep", "r-sleep", "job-sleep"))
            await asyncio.sleep(0.05)
            outcome = await client.call(request_frame("echo", "r-busy", "job-busy"))
            assert (outcome.status, outcome.request_id) == (OutcomeStatus.ERROR, "r-busy")
            await settle(exporter)
            assert len(runner_spans(exporter)) == 1, "the sleeping job's span is still open"
            await client.send(cancel_frame("r-sleep", "job-sleep"))
            assert (await client.receive()).request_id == "r-sleep"
            await settle(exporter, 2)

    run(main())
    spans = {dict(s.attributes or {})["rrq.job_id"]: s for s in runner_spans(exporter)}
    assert set(spans) == {"job-busy", "job-sleep"}
    busy = spans["job-busy"]
    a = dict(busy.attributes or {})
    assert (a["rrq.outcome"], a["rrq.function"], a["rrq.error_type"]) == ("error", "echo", "busy")
    assert "1" in str(a["rrq.error_message"]), a
    assert busy.status.status_code == StatusCode.ERROR
    assert dict(spans["job-sleep"].attributes or {})["rrq.outcome"] == "cancelled"


def test_the_answers_are_the_same_with_tracing_on_and_off() -> None:
    frames = [
        request_frame("echo", "r1", carrier={"traceparent": TRACEPARENT}),
        request_frame("boom", "r2", carrier={"traceparent": "garbage"}),
        request_frame("retry", "r3"),
        request_frame("missing", "r4"),
        request_frame("outcome_retry", "r5"),
        request_frame("echo", "r6", deadline=datetime(2000, 1, 1, tzinfo=timezone.utc)),
    ]

    async def answers() -> list[bytes]:
        async with running(registry()) as connect:
            client = await connect()
            out = []
            for data in frames:
                await client.send(data)
                out.append(await client.receive_raw())
            return out

    def collect() -> list[bytes]:
        result: list[bytes] = []

        async def main() -> None:
            result.extend(await answers())

        run(main())
        return result

    off = collect()
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.enable(tracer_provider=provider)
    try:
        on = collect()
    finally:
        otel.disable()
    assert on == off
    assert len(runner_spans(exporter)) == len(frames)


class _Broken(_runtime.Tracing):
    """A tracing integration failing at every step."""

    def __init__(self, where: str) -> None:
        self.where = where

    def start(self, job_id: str, request_id: str, facts: _runtime.TraceFacts) -> _runtime.JobSpan:
        if self.where == "start":
            raise RuntimeError("start failed")
        where = self.where

        class Span(_runtime.JobSpan):
            def context(self) -> Any:
                if where == "context":
                    raise RuntimeError("context failed")
                import contextvars

                return contextvars.copy_context()

            def end(self, ending: _runtime.Ending) -> None:
                raise RuntimeError("end failed")

        return Span()


@pytest.mark.parametrize("where", ["start", "context", "end"])
def test_a_failing_tracing_integration_never_fails_a_job(where: str, capfd: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            for index in range(5):
                outcome = await client.call(request_frame("echo", f"r{index}"))
                assert (outcome.status, outcome.result) == (OutcomeStatus.SUCCESS, "ok")
            await client.send(request_frame("sleep", "r-cancel"))
            await asyncio.sleep(0.02)
            await client.send(cancel_frame("r-cancel"))
            assert (await client.receive()).status == OutcomeStatus.ERROR

    _runtime.set_tracing(_Broken(where))
    try:
        run(main())
    finally:
        _runtime.set_tracing(None)
    logged = capfd.readouterr().err.count("tracing failed")
    assert 1 <= logged <= 3, "logged, a few times at most"


def test_disable_stops_the_spans(exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            await client.call(request_frame("echo", "r1"))
            await settle(exporter)
            assert otel.is_enabled()
            otel.disable()
            assert not otel.is_enabled()
            await client.call(request_frame("echo", "r2"))
            await asyncio.sleep(0.02)

    run(main())
    assert len(runner_spans(exporter)) == 1


def test_service_name_as_upstream_writes_it() -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.enable(tracer_provider=provider, service_name="billing")

    async def main() -> None:
        async with running(registry()) as connect:
            await (await connect()).call(request_frame("echo"))
            await settle(exporter)

    try:
        run(main())
    finally:
        otel.disable()
    assert dict(only_span(exporter).attributes or {})["service.name"] == "billing"


def test_off_imports_nothing_of_opentelemetry() -> None:
    """Without `enable`, serving a request imports no OpenTelemetry module (run in a fresh
    interpreter: this one has the SDK loaded)."""
    code = f"""
import asyncio, sys
sys.path.insert(0, {str(PACKAGE_DIR)!r})
import rrq_runner.v{IR['meta']['version']} as P
from rrq_runner import _runtime
frame = {request_frame("echo")!r}

async def main():
    registry = P.Registry()
    registry.register("echo", lambda r: "ok")
    runner = P.Runner(registry)
    host, port = await runner.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(frame)
    body = await P.read_frame(reader)
    assert getattr(P.decode_message(body), {CONTENT!r}).result == "ok"
    writer.close()
    await runner.shutdown()

asyncio.run(main())
assert _runtime._tracing is None
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry") or m == "rrq_runner.otel")
assert not loaded, loaded
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_inputs_reach_the_handler_under_tracing(exporter: InMemorySpanExporter) -> None:
    reg = Registry()
    reg.register("seconds", lambda r: getattr(r, INPUT_MAP).get("seconds"))

    async def main() -> None:
        async with running(reg) as connect:
            outcome = await (await connect()).call(request_frame("seconds", inputs=options(seconds=4)))
            assert outcome.result == 4

    run(main())
