{{ c.header -}}
"""OpenTelemetry tracing for the runner: one span per job, parented by the trace the producer
started (the orchestrator carries its W3C trace context in the request), with the handler running
inside it. Needs ``opentelemetry-api``: ``pip install "{{ c.distribution }}[otel]"`` (and an SDK
with an exporter, e.g. ``opentelemetry-sdk``).

Turn it on once, in the handlers module::

    from {{ c.package }} import otel
    otel.enable()

Off by default: until `enable` is called the runtime imports nothing of OpenTelemetry and does
no tracing work. Once on, every request that reaches a handler check gets a span named
``{{ c.trace_span_name }}`` (kind CONSUMER): its parent is extracted from the request's trace context
with the global propagator (a missing or malformed one gives a root span, never a failed job);
the handler runs with the span current (its own spans are children, its logs carry the trace);
the span ends right after the answer is written, with the outcome (success, retry, timeout,
error, cancelled: cancels, deadlines and shutdowns included). The attribute names are upstream
RRQ's, the same in every {{ c.distribution }} package (the constants below).
"""

from __future__ import annotations

import contextvars
import time

# The ignores let mypy --strict check the package where the extra is not installed.
try:
    from opentelemetry import context as otel_context  # type: ignore[import-not-found, unused-ignore]
    from opentelemetry import propagate, trace  # type: ignore[import-not-found, unused-ignore]
    from opentelemetry.trace import SpanKind, Status, StatusCode  # type: ignore[import-not-found, unused-ignore]
    from opentelemetry.util.types import AttributeValue  # type: ignore[import-not-found, unused-ignore]
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        '{{ c.package }}.otel needs opentelemetry-api: pip install "{{ c.distribution }}[otel]"'
    ) from exc

from . import _runtime
from ._json import format_timestamp
from ._runtime import OUTCOME_CANCELLED, OUTCOME_ERROR, OUTCOME_RETRY, OUTCOME_TIMEOUT, Ending, JobSpan, TraceFacts

__all__ = ["disable", "enable", "is_enabled"]
{% for n in c.trace_constants %}
{{ n.name }} = {{ n.value }}
{{ n.doc }}
{%- endfor %}

# The span's attributes.
{%- for n in c.trace_attributes %}
{{ n.name }} = {{ n.value }}
{{ n.doc }}
{%- endfor %}

_ROOT = otel_context.Context()
"""The context a job's parent is extracted into: without a trace context the span is a root."""

_FAILED = frozenset((OUTCOME_ERROR, OUTCOME_TIMEOUT))
"""Outcomes that set the span's status to error."""
_REASONED = frozenset((OUTCOME_RETRY, OUTCOME_CANCELLED))
"""Outcomes whose message is also written as `REASON` (as upstream writes it)."""


def enable(*, tracer_provider: trace.TracerProvider | None = None, service_name: str | None = None) -> None:
    """Traces every job from now on, with a tracer of `tracer_provider` (default: the global
    one, also when it is set later). `service_name` adds a ``service.name`` attribute to each
    span, as upstream RRQ's ``enable(service_name=...)`` does (the service's name belongs in the
    SDK's resource: leave it out when the resource has it)."""
    tracer = trace.get_tracer(TRACER_NAME, "{{ c.package_version }}", tracer_provider)
    _runtime.set_tracing(_Tracing(tracer, service_name))


def disable() -> None:
    """Stops tracing the jobs that arrive from now on (if this module traces them)."""
    if is_enabled():
        _runtime.set_tracing(None)


def is_enabled() -> bool:
    """Whether jobs are traced by this module."""
    return isinstance(_runtime._tracing, _Tracing)


def _parent(carrier: dict[str, str] | None) -> otel_context.Context:
    """The job's parent context: the trace context extracted with the global propagator, or a
    root (none, or one that fails to extract)."""
    if not carrier:
        return _ROOT
    try:
        return propagate.extract(carrier, context=_ROOT)
    except Exception:  # noqa: BLE001 - a malformed trace context never fails a job
        return _ROOT


class _Tracing(_runtime.Tracing):
    def __init__(self, tracer: trace.Tracer, service_name: str | None) -> None:
        self._tracer = tracer
        self._common: dict[str, AttributeValue] = {
            MESSAGING_SYSTEM: MESSAGING_SYSTEM_REDIS,
            MESSAGING_DESTINATION_KIND: DESTINATION_KIND_QUEUE,
            MESSAGING_OPERATION: MESSAGING_OPERATION_PROCESS,
            SPAN_KIND: SPAN_KIND_CONSUMER,
        }
        if service_name:
            self._common[SERVICE_NAME] = service_name

    def start(self, job_id: str, request_id: str, facts: TraceFacts) -> JobSpan:
        now = time.time()
        started = time.monotonic()
        parent = _parent(facts.carrier)
        span = self._tracer.start_span(SPAN_NAME, context=parent, kind=SpanKind.CONSUMER)
        budget = None if facts.due is None else facts.due.timestamp() - now
        if span.is_recording():  # not for a span sampled out, nor without an SDK
            span.set_attributes(self._attributes(job_id, facts, now, budget))
        return _JobSpan(span, parent, started, budget)

    def _attributes(self, job_id: str, facts: TraceFacts, now: float, budget: float | None) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {}
        if facts.correlation:
            # Under their own keys, as upstream writes them; the runner's attributes win.
            attributes.update((key, value) for key, value in facts.correlation.items() if key and value)
        attributes.update(self._common)
        attributes[JOB_ID] = job_id
        attributes[FUNCTION] = facts.function
        if facts.queue is not None:
            attributes[QUEUE] = attributes[MESSAGING_DESTINATION_NAME] = facts.queue
        if facts.attempt is not None:
            attributes[ATTEMPT] = facts.attempt
        if facts.worker:
            attributes[WORKER_ID] = facts.worker
        if facts.due is not None and budget is not None:
            attributes[DEADLINE] = format_timestamp(facts.due)[1:-1]
            attributes[DEADLINE_REMAINING_MS] = max(budget * 1000.0, 0.0)
        if facts.enqueued is not None:
            attributes[QUEUE_WAIT_MS] = max((now - facts.enqueued.timestamp()) * 1000.0, 0.0)
        return attributes


class _JobSpan(_runtime.JobSpan):
    __slots__ = ("_budget", "_parent", "_span", "_started")

    def __init__(self, span: trace.Span, parent: otel_context.Context, started: float, budget: float | None) -> None:
        self._span = span
        self._parent = parent
        self._started = started
        self._budget = budget

    def context(self) -> contextvars.Context:
        # A copy of the current context with the span current, for the job's task: the handler
        # (and a sync handler's thread, which copies the task's context) sees it.
        context = contextvars.copy_context()
        context.run(otel_context.attach, trace.set_span_in_context(self._span, self._parent))
        return context

    def end(self, ending: Ending) -> None:
        span = self._span
        if not span.is_recording():
            span.end()
            return
        outcome = ending.outcome
        attributes: dict[str, AttributeValue] = {
            OUTCOME: outcome,
            DURATION_MS: (time.monotonic() - self._started) * 1000.0,
        }
        if ending.message is not None:
            attributes[ERROR_MESSAGE] = ending.message
            if outcome in _REASONED:
                attributes[REASON] = ending.message
        if ending.error_type is not None:
            attributes[ERROR_TYPE] = ending.error_type
        if ending.retry_after is not None:
            attributes[RETRY_DELAY_MS] = ending.retry_after * 1000.0
        if outcome == OUTCOME_TIMEOUT and self._budget is not None:
            attributes[TIMEOUT_SECONDS] = self._budget
        span.set_attributes(attributes)
        if ending.exception is not None:
            span.record_exception(ending.exception)
        if outcome in _FAILED:
            span.set_status(Status(StatusCode.ERROR, ending.message))
        span.end()
