"""The example handlers with OpenTelemetry on (`rrq_runner.otel`), for the `otel_trace` scenario.

Started as ``examples/python/run.sh --protocol N --handlers otel_handlers:registry_vN`` with this
folder on PYTHONPATH (the last ``--handlers`` wins) and ``RRQ_TEST_OTEL_DIR`` naming a folder:
each runner process appends every finished span to ``DIR/spans-PID.jsonl``, one JSON object a
line, as it ends (a synchronous processor: nothing is lost when RRQ kills the runner). One more
handler, ``trace_seen``, returns what the runner received and saw: the trace context of the
request (read through the package's own binding, by role) and the trace id current in the
handler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handlers import registry_v1, registry_v2  # examples/python (run.sh puts it on PYTHONPATH)
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from rrq_runner import otel


class JsonLinesExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            parent = span.parent
            lines.append(json.dumps({
                "name": span.name,
                "kind": span.kind.name,
                "trace_id": format(span.context.trace_id, "032x"),
                "span_id": format(span.context.span_id, "016x"),
                "parent_id": None if parent is None else format(parent.span_id, "016x"),
                "status": span.status.status_code.name,
                "attributes": dict(span.attributes or {}),
            }))
        with open(self.path, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(Path(os.environ["RRQ_TEST_OTEL_DIR"]) / f"spans-{os.getpid()}.jsonl")))
trace.set_tracer_provider(provider)
otel.enable()


def trace_seen(registry: Any) -> Any:
    def handler(request: Any) -> dict[str, Any]:
        current = trace.get_current_span().get_span_context()
        return {
            "carrier": registry.binding.trace(request).carrier,
            "current_trace_id": format(current.trace_id, "032x") if current.is_valid else None,
        }

    return handler


for _registry in (registry_v1, registry_v2):
    _registry.register("trace_seen", trace_seen(_registry))
