{{ c.header -}}
"""The runner runtime's binding to protocol {{ c.version_text }}: how its frames are read and its
outcomes written, from the schema's runner roles (``x-rrq-role``), and this version's
`Registry`."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime

from {{ c.up }} import _runtime
from {{ c.up }}_frames import FrameError
from {{ c.up }}_json import MAX_NESTING_DEPTH, _too_deep
from {{ c.up }}_runtime import (
    KIND_CANCEL,
    KIND_REQUEST,
    KIND_RESPONSE,
    OUTCOME_ERROR,
    OUTCOME_RETRY,
    OUTCOME_SUCCESS,
    OUTCOME_TIMEOUT,
    Binding,
    Ending,
    TraceFacts,
)
from ._codec import decode_message, encode_frame
from ._messages import ERROR_MESSAGES, error_message
from ._models import (
{%- for name in c.glue_imports %}
    {{ name }},
{%- endfor %}
)

__all__ = ["BINDING", "Handler", "Registry"]

Handler = Callable[[{{ r.request }}], Awaitable[object] | object]
"""A handler: called with the decoded request, sync or async. Its return value is the result
(any JSON value); returning a `{{ r.outcome }}` sends that outcome as is; raising `RetryError`
asks for a retry; raising anything else reports an error named after the exception class."""

_STATUS: dict[str, {{ r.status }}] = {
{%- for (name, status) in c.situation_status %}
    {{ name }}: {{ r.status }}.{{ status }},
{%- endfor %}
}
"""The status of the runner's own answer in each situation (``x-rrq.error_messages``)."""

_OUTCOME: dict[{{ r.status }}, str] = {
    {{ r.status }}.{{ r.st_success }}: OUTCOME_SUCCESS,
    {{ r.status }}.{{ r.st_retry }}: OUTCOME_RETRY,
    {{ r.status }}.{{ r.st_timeout }}: OUTCOME_TIMEOUT,
    {{ r.status }}.{{ r.st_error }}: OUTCOME_ERROR,
}
"""The tracing outcome of each status."""


def _frame(outcome: {{ r.outcome }}) -> bytes:
    frame = encode_frame({{ r.response_variant }}(outcome))
    # An answer no decoder accepts is not sent (a handler's result nested past the limit, such as
    # the echo of a request nested at it): the runtime answers an error instead.
    if frame.count(b"[") + frame.count(b"{") > MAX_NESTING_DEPTH and _too_deep(frame[4:]):
        raise FrameError(
            "value", "$", f"expected JSON nested at most {MAX_NESTING_DEPTH} levels deep, got deeper nesting"
        )
    return frame


def _failed(job_id: str | None, request_id: str | None, status: {{ r.status }}, message: str, error_type: str | None) -> bytes:
    return _frame({{ r.outcome }}(
        {{ r.out_job_id }}=job_id,
        {{ r.out_request_id }}=request_id,
        {{ r.out_status }}=status,
        {{ r.out_error }}={{ r.error }}({{ r.err_message }}=message, {{ r.err_type }}=error_type),
    ))


class _Binding(Binding[{{ r.request }}]):
    version = {{ c.protocol_version_lit }}
    max_frame_len = {{ c.max_frame_len }}
    content_key = {{ r.content_key }}
    id_keys = ({{ r.job_id_key }}, {{ r.request_id_key }})
    response_tag = {{ r.response_tag }}

    def read(self, body: bytes) -> tuple[int, {{ r.request }} | None, str | None, str | None]:
        message = decode_message(body)
        if type(message) is {{ r.request_variant }}:
            request = message.{{ r.content }}
            return KIND_REQUEST, request, request.{{ r.req_job_id }}, request.{{ r.req_request_id }}
        if type(message) is {{ r.cancel_variant }}:
            cancel = message.{{ r.content }}
            return KIND_CANCEL, None, cancel.{{ r.cancel_job_id }}, cancel.{{ r.cancel_request_id }}
        assert type(message) is {{ r.response_variant }}
        outcome = message.{{ r.content }}
        return KIND_RESPONSE, None, outcome.{{ r.out_job_id }}, outcome.{{ r.out_request_id }}

    def facts(self, request: {{ r.request }}) -> tuple[str, str, datetime | None]:
        return request.{{ r.req_protocol_version }}, request.{{ r.req_function_name }}, request.{{ r.req_context }}.{{ r.ctx_deadline }}

    def trace(self, request: {{ r.request }}) -> TraceFacts:
        context = request.{{ r.req_context }}
        return TraceFacts(
            request.{{ r.req_function_name }},
            {{ r.trace_queue }},
            {{ r.trace_attempt }},
            {{ r.trace_worker }},
            {{ r.trace_enqueued }},
            context.{{ r.ctx_deadline }},
            {{ r.trace_carrier }},
            {{ r.trace_correlation }},
        )

    def explain(self, situation: str, **values: object) -> Ending:
        return Ending(_OUTCOME[_STATUS[situation]], error_message(situation, **values), ERROR_MESSAGES[situation][1])

    def returned(self, value: object) -> Ending:
        if not isinstance(value, {{ r.outcome }}):
            return Ending(OUTCOME_SUCCESS)
        error = value.{{ r.out_error }}
        if error is None:
            return Ending(_OUTCOME[value.{{ r.out_status }}], retry_after=value.{{ r.out_retry_after }})
        return Ending(
            _OUTCOME[value.{{ r.out_status }}], error.{{ r.err_message }}, error.{{ r.err_type }}, retry_after=value.{{ r.out_retry_after }}
        )

    def fail(self, job_id: str | None, request_id: str | None, situation: str, **values: object) -> bytes:
        return _failed(
            job_id, request_id, _STATUS[situation], error_message(situation, **values), ERROR_MESSAGES[situation][1]
        )

    def error(self, job_id: str, request_id: str, message: str, error_type: str | None) -> bytes:
        return _failed(job_id, request_id, {{ r.status }}.{{ r.st_error }}, message, error_type)

    def retry(self, job_id: str, request_id: str, message: str, retry_after_seconds: float | None) -> bytes:
        outcome = {{ r.outcome }}(
            {{ r.out_job_id }}=job_id,
            {{ r.out_request_id }}=request_id,
            {{ r.out_status }}={{ r.status }}.{{ r.st_retry }},
            {{ r.out_error }}={{ r.error }}({{ r.err_message }}=message),
            {{ r.out_retry_after }}=retry_after_seconds,
        )
        return _frame(outcome)

    def success(self, job_id: str, request_id: str, value: object) -> bytes:
        if isinstance(value, {{ r.outcome }}):
            outcome = dataclasses.replace(value)
            if outcome.{{ r.out_job_id }} is None:
                outcome.{{ r.out_job_id }} = job_id
            if outcome.{{ r.out_request_id }} is None:
                outcome.{{ r.out_request_id }} = request_id
            return _frame(outcome)
        return _frame({{ r.outcome }}(
            {{ r.out_job_id }}=job_id,
            {{ r.out_request_id }}=request_id,
            {{ r.out_status }}={{ r.status }}.{{ r.st_success }},
            {{ r.out_result }}=value,  # type: ignore[arg-type]
        ))


BINDING: Binding[{{ r.request }}] = _Binding()
"""Protocol {{ c.version_text }} as the runtime sees it."""


class Registry(_runtime.Registry[{{ r.request }}]):
    """Handlers by function name for protocol {{ c.version_text }}: a `Runner` (or
    ``python -m {{ c.package }}``) serves them speaking this version.

    ``registry.register("name", handler)``, or as a decorator: ``@registry.register("name")``.
    """

    binding = BINDING
