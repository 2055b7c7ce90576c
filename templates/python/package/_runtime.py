{{ c.header -}}
"""The runner runtime, shared by every protocol version: a handler registry and an asyncio server
speaking the framed protocol.

A `Registry` belongs to one protocol version (each version module has its own ``Registry``,
bound to that version's `Binding`: how to read its frames and write its outcomes); a `Runner`
serves the registry's version. Per request, in this order: an unsupported protocol version is answered with an error; an
unknown function name with an error; a deadline already past with a timeout (the handler is not
called); otherwise the handler runs, cancelled when its deadline passes (timeout), when a cancel
frame names it (on any connection) or when the runner shuts down (both answered as cancelled).

The server is an `asyncio.Protocol` per connection: every complete frame of a read is handled at
once, in order, and the answers made meanwhile are written together; an async handler's first
step runs right away (one that returns without suspending costs no task and no timer); a frame
body above `OFF_LOOP_BODY` is decoded in a thread, and its answer encoded there, so that the other
connections are served meanwhile (the frames after it on its own connection wait for it).

Tracing is a hook (`set_tracing`, used by ``{{ c.package }}.otel``): off by default, when it costs
one ``is None`` test per request and imports nothing; on, each request gets a `JobSpan` when it
arrives, its task runs in the span's context, and the span ends with the job's `Ending` right
after the answer is written (a span never delays, changes or prevents an answer).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import inspect
import ipaddress
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, ClassVar, Generic, NamedTuple, NoReturn, TypeVar, cast

from ._frames import FRAME_HEADER_LEN, FrameError
from ._json import format_timestamp, lenient_strings
from ._lifecycle import watch_parent

__all__ = [
    "DEFAULT_HIGH_WATER",
    "DEFAULT_MAX_IN_FLIGHT",
    "KIND_CANCEL",
    "KIND_REQUEST",
    "KIND_RESPONSE",
    "OUTCOME_CANCELLED",
    "OUTCOME_ERROR",
    "OUTCOME_RETRY",
    "OUTCOME_SUCCESS",
    "OUTCOME_TIMEOUT",
    "Binding",
    "Ending",
    "JobSpan",
    "Registry",
    "RetryError",
    "Runner",
    "TraceFacts",
    "Tracing",
    "parse_address",
    "serve",
    "set_tracing",
]

R = TypeVar("R")
"""A protocol version's request type."""

KIND_REQUEST = 0
KIND_CANCEL = 1
KIND_RESPONSE = 2
"""What `Binding.read` found in a frame."""

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests a connection may have in flight before further ones are answered as busy."""

DEFAULT_HIGH_WATER = 1 << 20
"""Unsent output (bytes) above which a connection's frames are no longer read until it drains."""

F = TypeVar("F", bound=Callable[..., Any])

# The event loop runs a timer up to this much early (asyncio's own `_clock_resolution`).
_CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution
{% for o in c.trace_outcomes %}
{{ o.name }} = {{ o.value }}
{{ o.doc }}
{%- endfor %}


class TraceFacts(NamedTuple):
    """What a tracing integration learns of a request (`Binding.trace`); None where the request's
    protocol version has no such field or the request leaves it empty."""

    function: str
    queue: str | None
    attempt: int | None
    worker: str | None
    enqueued: datetime | None
    due: datetime | None
    """The deadline."""
    carrier: dict[str, str] | None
    """The trace-context propagation fields (W3C ``traceparent``, ``tracestate``, ...)."""
    correlation: dict[str, str] | None
    """The correlation fields the producer attached."""


class Ending(NamedTuple):
    """How a job ended, as its answer says: the outcome (``OUTCOME_*``), the answer's error
    message and type, what the handler raised (errors), the retry delay asked for (retries)."""

    outcome: str
    message: str | None = None
    error_type: str | None = None
    exception: BaseException | None = None
    retry_after: float | None = None


class JobSpan:
    """A tracing integration's view of one job, from `Tracing.start`."""

    def context(self) -> contextvars.Context:
        """The context the job's task runs in (the handler's: its own spans are children of
        this one). The runtime calls it once, on the event loop."""
        raise NotImplementedError

    def end(self, ending: Ending) -> None:
        """Ends the span; called once, on the event loop, right after the job's answer was
        written (also when no answer could be written)."""
        raise NotImplementedError


class Tracing:
    """A tracing integration (``{{ c.package }}.otel``): made current with `set_tracing`."""

    def start(self, job_id: str, request_id: str, facts: TraceFacts) -> JobSpan:
        """Starts the span of a job when its request arrives (before any check of it)."""
        raise NotImplementedError


_tracing: Tracing | None = None
"""The process's tracing integration (`set_tracing`); None: off."""
_tracing_errors = 0
"""How often it failed (the first few failures are logged)."""


def set_tracing(tracing: Tracing | None) -> None:
    """Makes `tracing` the process's tracing integration for the requests that arrive from now
    on (None turns tracing off). ``{{ c.package }}.otel.enable()`` calls it."""
    global _tracing, _tracing_errors
    _tracing = tracing
    _tracing_errors = 0


class Binding(Generic[R]):
    """What the runtime knows of one protocol version: each version's ``_glue`` module renders
    one from its schema's runner roles. The runtime never reads a field of a message itself.

    Every method that returns a frame raises `FrameError` when the outcome cannot be encoded.
    """

    version: ClassVar[str]
    """The protocol version the runner answers requests of."""
    content_key: ClassVar[str]
    id_keys: ClassVar[tuple[str, str]]
    """Where the answer to an undecodable frame finds the ids it echoes: ``id_keys`` (job,
    request) in the member ``content_key`` of the body (see `Runner._answer_undecodable`)."""
    max_frame_len: ClassVar[int]
    """The largest frame body the version accepts (longer frames close the connection)."""
    response_tag: ClassVar[str]
    """The tag of a response frame (the ``{type}`` of the unexpected-message text)."""

    def read(self, body: bytes) -> tuple[int, R | None, str | None, str | None]:
        """Decodes a frame body: ``(KIND_*, the request or None, job id, request id)``."""
        raise NotImplementedError

    def facts(self, request: R) -> tuple[str, str, datetime | None]:
        """The request's protocol version, function name and deadline."""
        raise NotImplementedError

    def trace(self, request: R) -> TraceFacts:
        """What a tracing integration reads of the request."""
        raise NotImplementedError

    def explain(self, situation: str, **values: object) -> Ending:
        """The `Ending` of the runner's own answer for `situation` (as `fail` writes it)."""
        raise NotImplementedError

    def returned(self, value: object) -> Ending:
        """The `Ending` of what a handler returned (as `success` writes it)."""
        raise NotImplementedError

    def fail(self, job_id: str | None, request_id: str | None, situation: str, **values: object) -> bytes:
        """The frame of the runner's own answer for `situation` (a name of
        ``x-rrq.error_messages``, with its placeholders' values)."""
        raise NotImplementedError

    def error(self, job_id: str, request_id: str, message: str, error_type: str | None) -> bytes:
        """The frame of an ``error`` outcome (a handler raised, or its answer cannot be sent)."""
        raise NotImplementedError

    def retry(self, job_id: str, request_id: str, message: str, retry_after_seconds: float | None) -> bytes:
        """The frame of a ``retry`` outcome."""
        raise NotImplementedError

    def success(self, job_id: str, request_id: str, value: object) -> bytes:
        """The frame for what a handler returned: its outcome (ids filled in when absent) or
        a ``success`` with `value` as the result."""
        raise NotImplementedError


Handler = Callable[[Any], Awaitable[object] | object]
"""A handler of any version (each version module types its own ``Handler``)."""


class RetryError(Exception):
    """Raise from a handler to ask for the job to run again, optionally after a delay."""

    def __init__(self, message: str = "retry requested", {{ r.out_retry_after }}: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.{{ r.out_retry_after }} = {{ r.out_retry_after }}
        """How long to wait before the next attempt, in seconds (None: the orchestrator's
        default)."""


class Registry(Generic[R]):
    """Handlers by function name, for one protocol version: use the version module's
    ``Registry`` (``{{ c.package }}.Registry`` is the latest version's).

    ``registry.register("name", handler)``, or as a decorator: ``@registry.register("name")``.
    """

    binding: ClassVar[Binding[Any]]
    """The protocol version this registry's handlers speak."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: F | None = None) -> Any:
        """Registers `handler` under `name` (replacing any earlier one); without a handler,
        returns a decorator that registers the function it decorates."""
        if handler is None:
            def decorator(fn: F) -> F:
                self._handlers[name] = fn
                return fn

            return decorator
        self._handlers[name] = handler
        return handler

    def get(self, name: str) -> Handler | None:
        """The handler registered under `name`, if any."""
        return self._handlers.get(name)

    @property
    def version(self) -> str:
        """The protocol version this registry serves."""
        return self.binding.version

    def names(self) -> list[str]:
        """Registered function names, sorted."""
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)


def _log(message: str) -> None:
    print(f"rrq-runner: {message}", file=sys.stderr, flush=True)


def _is_async(fn: object) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    return callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)


def _failure(binding: Binding[Any], job_id: str | None, request_id: str | None, situation: str, **values: object) -> bytes | None:
    """The runner's own answer for `situation`, or None (logged) if it cannot be encoded."""
    try:
        return binding.fail(job_id, request_id, situation, **values)
    except FrameError as exc:
        _log(f"could not encode the {situation} answer to request {request_id!r}: {exc}")
        return None


class _InFlight:
    """One request being executed: answered exactly once, by whichever comes first (the
    handler's end, its deadline, a cancel, the shutdown)."""

    __slots__ = (
        "answered", "connection", "deadline_pending", "due", "future", "job_key", "large", "request", "request_key",
        "runner", "task", "tracked",
    )

    def __init__(
        self, request: object, job_id: str, request_id: str, connection: _Connection, runner: Runner
    ) -> None:
        self.request = request
        self.job_key = job_id
        self.request_key = request_id
        self.due: datetime | None = None
        self.connection = connection
        self.runner = runner
        self.answered = False
        # What runs a handler that did not finish at once: the task of an async one (cancelled
        # to stop it), the future of a sync one's thread; whether the job is in the runner's
        # indexes (only a job that outlives its first step is) and its deadline in the heap.
        self.task: asyncio.Task[None] | None = None
        self.future: asyncio.Future[object] | None = None
        self.tracked = False
        self.deadline_pending = False
        # Whether the request came in a frame decoded off the loop (its answer is encoded there too).
        self.large = False

    def context(self) -> contextvars.Context:
        """The context the handler runs in: a copy of the current one (a handler's context
        variables never leak into another's)."""
        return contextvars.copy_context()

    def answer(self, frame: bytes | None) -> None:
        """Sends the answer (a whole frame) unless one was sent already."""
        if self.answered:
            return
        self.answered = True
        if self.tracked:
            if self.deadline_pending:
                self.deadline_pending = False
                self.runner._deadlines_pending -= 1
            self.runner._untrack(self)
        if frame is not None:
            self.connection.send_frame(frame)

    def settle(self, value: object, error: BaseException | None) -> None:
        """Answers with what the handler returned (`value`) or raised (`error`), unless the job
        was answered already (a cancel, its deadline, the shutdown)."""
        if self.answered:
            return
        if error is None and self.large:
            self.runner._encode_off_loop(self, value)
            return
        try:
            frame = self.result(value, error)
        except Exception as exc:  # noqa: BLE001 - an answer is always sent
            frame = self.error(f"internal runner error: {exc}", type(exc).__name__)
        self.answer(frame)

    def encoded(self, value: object, done: asyncio.Future[bytes]) -> None:
        """Answers with the success frame encoded off the loop for `value` (unless the job was
        answered meanwhile: a cancel, the shutdown)."""
        if self.answered or done.cancelled():
            return
        try:
            frame: bytes | None = done.result()
        except FrameError as exc:
            frame = self.error(f"the handler's answer cannot be sent: {exc}", type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - an answer is always sent
            frame = self.error(f"internal runner error: {exc}", type(exc).__name__)
        else:
            self.returned(value)
        self.answer(frame)

    def returned(self, value: object) -> None:
        """Notes that the handler returned `value` (a traced job notes its ending)."""

    def cancel(self, situation: str) -> None:
        """Answers at once with the runner's answer for `situation` and cancels the handler."""
        if self.answered:
            return
        self.answer(self.fail(situation))
        self.stop()

    def stop(self) -> None:
        if self.task is not None:
            # Also before the task's first step: the cancellation is thrown into the handler.
            self.task.cancel()
        elif self.future is not None:
            self.future.cancel()

    def expire(self) -> None:
        """The deadline passed while the handler ran: answers timeout and cancels it."""
        if self.answered:
            return
        assert self.due is not None
        when = _instant(self.due)
        self.answer(self.fail({{ r.msg_deadline_exceeded.name }}, when=when))
        self.stop()

    # -- the answer's frame (a traced job also notes its ending here) --------------------------

    def fail(self, situation: str, **values: object) -> bytes | None:
        """The runner's own answer for `situation`, or None (logged) if it cannot be encoded."""
        return _failure(self.runner.binding, self.job_key, self.request_key, situation, **values)

    def error(self, message: str, error_type: str | None) -> bytes | None:
        """An ``error`` answer, or None (logged) if it cannot be encoded."""
        try:
            return self.runner.binding.error(self.job_key, self.request_key, message, error_type)
        except FrameError as exc:
            _log(f"could not encode the error answer to request {self.request_key!r}: {exc}")
            return None

    def result(self, value: object, error: BaseException | None) -> bytes | None:
        """The answer for what the handler returned (`value`) or raised (`error`)."""
        binding = self.runner.binding
        try:
            if isinstance(error, RetryError):
                return binding.retry(self.job_key, self.request_key, error.message, error.{{ r.out_retry_after }})
            if isinstance(error, asyncio.CancelledError):
                return self.fail({{ r.msg_cancelled.name }})
            if error is not None:
                return binding.error(self.job_key, self.request_key, _error_text(error), type(error).__name__)
            return binding.success(self.job_key, self.request_key, value)
        except FrameError as exc:
            return self.error(f"the handler's answer cannot be sent: {exc}", type(exc).__name__)


class _Resumed(Coroutine[Any, Any, None]):
    """An async handler's coroutine as its job's task runs it: it forwards what the task sends
    or throws (a cancellation reaches the handler, also before its first step) and answers the
    job from how the handler ends. On Python 3.11 the runner may run the first step itself,
    as the task (`first_step`); the task's own first step then only takes over from there."""

    __slots__ = ("_coro", "_first", "_job")

    def __init__(self, job: _InFlight, coro: Coroutine[Any, Any, object]) -> None:
        self._job = job
        self._coro = coro
        self._first: object = _NOTHING

    def first_step(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[None], context: contextvars.Context) -> bool:
        """Runs the handler's first step now, with `task` as the current task (as an eager
        task's is); returns whether the handler ended in it (the job is then answered)."""
        asyncio.tasks._enter_task(loop, task)
        try:
            self._first = context.run(self._coro.send, None)
            return False
        except BaseException as exc:  # noqa: BLE001 - the handler's end, however it ends
            self._first = _ENDED
            self._settle(exc)
            return True
        finally:
            asyncio.tasks._leave_task(loop, task)

    def send(self, value: object) -> object:
        first = self._first
        if first is not _NOTHING:
            # The task's first step, after the runner ran the handler's: hand the task what
            # the handler waits for (or end, if it ended).
            self._first = _NOTHING
            if first is _ENDED:
                raise StopIteration
            return first
        try:
            return self._coro.send(value)
        except BaseException as exc:  # noqa: BLE001 - the handler's end, however it ends
            self._end(exc)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> object:
        if self._first is _ENDED:
            raise StopIteration
        self._first = _NOTHING
        try:
            if val is None and tb is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, val, tb)  # pragma: no cover - the task throws one value
        except BaseException as exc:  # noqa: BLE001 - the handler's end, however it ends
            self._end(exc)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Any:  # pragma: no cover - only a task drives it
        raise TypeError("a job's coroutine is driven by its task only")

    def _end(self, exc: BaseException) -> NoReturn:
        """Answers the job from how the handler ended, then ends the task (raising)."""
        self._settle(exc)
        raise StopIteration

    def _settle(self, exc: BaseException) -> None:
        job = self._job
        if job.task is not None:
            job.connection.tasks.discard(job.task)
        if isinstance(exc, StopIteration):
            job.settle(exc.value, None)
        elif isinstance(exc, (Exception, asyncio.CancelledError)):
            job.settle(None, exc)
        else:
            raise exc  # KeyboardInterrupt, SystemExit: not a job's outcome


_NOTHING: Any = object()
_ENDED: Any = object()

_EAGER_START = sys.version_info >= (3, 12)
"""Python 3.12+: a handler's task starts eagerly (``eager_start``): its first step runs at once,
as the current task. On 3.11 the runner runs that first step itself, as the task (the task's
own first step, one loop iteration later, only takes over): a handler that returns without
suspending is answered at once and never tracked, with no deadline timer, on either."""


def _error_text(error: BaseException) -> str:
    """The message of the error answer to a handler that raised `error`."""
    return str(error) or type(error).__name__


class _TracedInFlight(_InFlight):
    """A request being executed while tracing is on: it notes how the job ends where its answer
    is made, and ends its span once the answer is written. Every call into the tracing
    integration is guarded: a failing integration never changes an answer."""

    __slots__ = ("ending", "span")

    def __init__(
        self, request: object, job_id: str, request_id: str, connection: _Connection, runner: Runner, span: JobSpan
    ) -> None:
        super().__init__(request, job_id, request_id, connection, runner)
        self.span = span
        self.ending = Ending(OUTCOME_ERROR)

    def context(self) -> contextvars.Context:
        """The span's context (the handler's own spans are its children)."""
        try:
            return self.span.context()
        except Exception as exc:  # noqa: BLE001 - tracing never fails a job
            _tracing_failed(exc)
            return contextvars.copy_context()

    def answer(self, frame: bytes | None) -> None:
        if self.answered:
            return
        super().answer(frame)
        try:
            self.span.end(self.ending)
        except Exception as exc:  # noqa: BLE001 - tracing never fails a job
            _tracing_failed(exc)

    def fail(self, situation: str, **values: object) -> bytes | None:
        if not self.answered:
            ending = self.runner.binding.explain(situation, **values)
            self.ending = ending._replace(outcome=OUTCOME_CANCELLED) if situation in _CANCELLED_SITUATIONS else ending
        return super().fail(situation, **values)

    def error(self, message: str, error_type: str | None) -> bytes | None:
        if not self.answered:
            self.ending = Ending(OUTCOME_ERROR, message, error_type)
        return super().error(message, error_type)

    def returned(self, value: object) -> None:
        self.ending = self.runner.binding.returned(value)

    def result(self, value: object, error: BaseException | None) -> bytes | None:
        if not self.answered:
            if isinstance(error, RetryError):
                self.ending = Ending(OUTCOME_RETRY, error.message, retry_after=error.{{ r.out_retry_after }})
            elif error is not None and not isinstance(error, asyncio.CancelledError):
                self.ending = Ending(OUTCOME_ERROR, _error_text(error), type(error).__name__, error)
            elif error is None:
                self.ending = self.runner.binding.returned(value)
        # A cancel, or an answer that cannot be sent, notes its own ending (`fail`, `error`).
        return super().result(value, error)


_CANCELLED_SITUATIONS = frozenset(({{ r.msg_cancelled.name }}, {{ r.msg_shutting_down.name }}))
"""The runner's answers that end a job as cancelled (a cancel, a closed connection, the shutdown)."""


def _traced(
    tracing: Tracing, request: object, job_id: str, request_id: str, connection: _Connection, runner: Runner
) -> _InFlight:
    """A traced job, or an untraced one if the tracing integration fails to start its span."""
    try:
        span = tracing.start(job_id, request_id, runner.binding.trace(request))
    except Exception as exc:  # noqa: BLE001 - tracing never fails a job
        _tracing_failed(exc)
        return _InFlight(request, job_id, request_id, connection, runner)
    return _TracedInFlight(request, job_id, request_id, connection, runner, span)


def _tracing_failed(error: Exception) -> None:
    """Logs the first few failures of the tracing integration (the jobs go on unaffected)."""
    global _tracing_errors
    _tracing_errors += 1
    if _tracing_errors <= 3:
        _log(f"tracing failed (the job goes on): {type(error).__name__}: {error}")


def _instant(deadline: datetime) -> str:
    """A deadline as the runner's messages write it (the canonical timestamp text)."""
    return format_timestamp(deadline)[1:-1]


OFF_LOOP_BODY = 64 * 1024
"""Frame bodies longer than this (bytes) are decoded in the runner's decoding thread, not on the
event loop: the loop goes on serving the other connections meanwhile. A successful answer to such
a request is encoded there too."""


class _Connection(asyncio.Protocol):
    """One client connection: its frames are read as they arrive (every complete frame of a
    read at once, in order), its answers written in batches (those made during one read, or
    during one loop iteration, in one write), with backpressure (no reading while the peer does
    not take the output, nor while a large frame of it is being decoded)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.loop = runner._loop
        self.transport: asyncio.Transport | None = None
        self.in_flight: set[_InFlight] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.peer = "?"
        # The bytes of a frame not complete yet (a list: a large frame arrives in many reads)
        # and how many are needed before it is worth looking again.
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._want = 0
        # Answers not written yet, and whether they will be (at the end of the read being
        # processed, or from the flush scheduled on the loop).
        self._out: list[bytes] = []
        self._batching = False
        self._flush_scheduled = False
        # Why reading is paused: the peer does not take the output; a frame is being decoded
        # off the loop (the frames after it wait, in `_pending`).
        self._writing_paused = False
        self._decoding = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        if self.runner._stopping:
            self.closed = True
            transport.close()
            return
        transport.set_write_buffer_limits(high=self.runner.high_water)
        self.runner._connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self._pending or self._decoding:
            self._pending.append(data)
            self._pending_len += len(data)
            if self._decoding or self._pending_len < self._want:
                return
            data = b"".join(self._pending)
            self._pending = []
            self._pending_len = 0
        self._process(data)

    def eof_received(self) -> bool:
        # The peer stopped sending (or closed): nobody is left to read the answers of the jobs
        # still in flight. The answers made already are written before the connection closes.
        self._flush()
        self._gone()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone()

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self.transport is not None and not self.closed and not self._decoding:
            self.transport.resume_reading()

    # -- frames -------------------------------------------------------------------------------

    def _process(self, buffer: bytes) -> None:
        """Handles every complete frame of `buffer`, in order; keeps the rest for later."""
        runner = self.runner
        max_frame_len = runner.binding.max_frame_len
        at = 0
        end = len(buffer)
        self._batching = True
        try:
            while end - at >= FRAME_HEADER_LEN:
                length = int.from_bytes(buffer[at:at + FRAME_HEADER_LEN], "big")
                if length == 0 or length > max_frame_len:
                    _log(f"closing the connection from {self.peer}: frame length {length} is not in 1..={max_frame_len}")
                    self._close()
                    return
                start = at + FRAME_HEADER_LEN
                if end - start < length:
                    break
                at = start + length
                body = buffer[start:at]
                # (During the shutdown a request is answered at once as shutting down: no frame
                # goes to the decoding thread then, which the shutdown waits for no longer.)
                if length > OFF_LOOP_BODY and not runner._stopping:
                    self._decode_off_loop(body)
                    break
                runner._dispatch(self, body)
                if self.closed:
                    return
        finally:
            self._batching = False
            self._flush()
        if at < end:
            rest = buffer[at:] if at else buffer
            self._pending = [rest]
            self._pending_len = end - at
            self._want = (
                FRAME_HEADER_LEN + int.from_bytes(rest[:FRAME_HEADER_LEN], "big")
                if end - at >= FRAME_HEADER_LEN else FRAME_HEADER_LEN
            )

    def _decode_off_loop(self, body: bytes) -> None:
        """Decodes `body` in the runner's decoding thread; the connection's later frames wait."""
        self._decoding = True
        assert self.transport is not None
        self.transport.pause_reading()
        runner = self.runner
        future = runner._decoder().submit(runner._read_off_loop, body)
        runner._decodes.add(future)
        future.add_done_callback(self._decoded)

    def _decoded(self, future: asyncio.Future[_Read]) -> None:
        self._decoding = False
        self.runner._decodes.discard(future)
        if self.closed or future.cancelled():
            return
        try:
            read = future.result()
        except Exception as exc:  # noqa: BLE001 - the decoders raise FrameError only
            _log(f"ignoring a frame from {self.peer} that could not be decoded: {type(exc).__name__}: {exc}")
        else:
            self._batching = True
            try:
                self.runner._handle(self, read)
            finally:
                self._batching = False
        pending = self._pending
        if pending and not self.closed:
            self._pending = []
            self._pending_len = 0
            self._process(pending[0] if len(pending) == 1 else b"".join(pending))
        else:
            self._flush()
        if not self.closed and not self._decoding and not self._writing_paused and self.transport is not None:
            self.transport.resume_reading()

    # -- answers ------------------------------------------------------------------------------

    def send_frame(self, frame: bytes | None) -> None:
        """Queues an answer: written with the others of the same read or loop iteration."""
        if frame is None or self.closed:
            return
        self._out.append(frame)
        if not self._batching and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._out
        if not out:
            return
        self._out = []
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def drain(self) -> None:
        """Writes the queued answers now."""
        self._flush()

    # -- the end ------------------------------------------------------------------------------

    def _close(self) -> None:
        """Closes the connection (after writing the answers made so far)."""
        self._flush()
        self._gone()
        if self.transport is not None:
            self.transport.close()

    def _gone(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._pending = []
        self._out = []
        for job in list(self.in_flight):
            # Nobody is left to read the answer: it is dropped.
            job.cancel({{ r.msg_cancelled.name }})
        if not self.runner._stopping:
            self.runner._connections.discard(self)


class _Read(NamedTuple):
    """A frame read off the loop: what `Binding.read` found, or the error and the ids the
    answering rule reads."""

    found: tuple[int, Any, str | None, str | None] | None
    error: FrameError | None
    ids: dict[str, str] | None


class Runner:
    """Serves a `Registry` over loopback TCP, as the RRQ orchestrator expects.

    ``max_in_flight`` bounds the requests in flight per connection (beyond it requests are
    answered at once as busy); ``high_water`` is the unsent output per connection above which
    its frames are no longer read until the peer catches up (responses are never dropped).

    An async handler runs as a task of its own, in a copy of the context (cancelled on cancel,
    deadline and shutdown). Its first step runs when the request is read, as that task (as an
    eager task's does), so a handler that returns without suspending is answered at once, with
    no tracking and no timer. A sync handler runs in a thread of its own.
    """

    def __init__(
        self,
        registry: Registry[Any],
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        high_water: int = DEFAULT_HIGH_WATER,
        verbose: bool = False,
    ) -> None:
        binding = getattr(registry, "binding", None)
        if not isinstance(binding, Binding):
            raise TypeError("a Runner serves a protocol version's Registry (e.g. {{ c.package }}.Registry), not a bare runtime Registry")
        self.registry = registry
        self.binding: Binding[Any] = binding
        self.max_in_flight = max_in_flight
        self.verbose = verbose
        self.high_water = high_water
        self._by_request: dict[str, set[_InFlight]] = {}
        self._by_job: dict[str, set[_InFlight]] = {}
        self._connections: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._stopping = False
        self._async_handlers: dict[Handler, bool] = {}
        self._deadlines: list[tuple[float, int, _InFlight]] = []
        self._deadlines_pending = 0
        self._deadline_seq = 0
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._decoding_thread: _Worker | None = None
        self._decodes: set[asyncio.Future[_Read]] = set()
        self._loop: asyncio.AbstractEventLoop = cast(asyncio.AbstractEventLoop, None)

    # -- serving ------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Binds `host:port` (loopback only) and starts accepting; returns the bound address."""
        await _check_loopback(host)
        self._loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def shutdown(self) -> None:
        """Stops accepting, cancels every request in flight (each answered as cancelled),
        flushes the answers and closes every connection."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        if self._decodes:
            # Frames being decoded off the loop were read: they are answered (shutting down).
            await asyncio.wait(list(self._decodes), timeout=5)
        for connection in list(self._connections):
            for job in list(connection.in_flight):
                job.cancel({{ r.msg_shutting_down.name }})
        await _settle([task for connection in self._connections for task in connection.tasks])
        for connection in list(self._connections):
            connection.drain()
        await _drained(list(self._connections), 5)
        for connection in list(self._connections):
            connection.closed = True
            if connection.transport is not None:
                connection.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
        if self._decoding_thread is not None:
            self._decoding_thread.close()
            self._decoding_thread = None

    async def serve_forever(
        self, host: str, port: int, *, install_signal_handlers: bool = True, parent_pid: int | None = None
    ) -> None:
        """Serves until SIGTERM or SIGINT, until the parent process dies (within a second: a
        killed orchestrator leaves no runner behind holding its port; see ``_lifecycle``), or
        until cancelled; then shuts down cleanly. With ``install_signal_handlers=False`` (an
        embedded runner) neither signals nor the parent are watched. `parent_pid` is the parent
        to watch (default: the parent now)."""
        bound_host, bound_port = await self.start(host, port)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        if self.verbose:
            print(f"rrq-runner listening on {shown}:{bound_port}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        watch = None
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            watch = watch_parent(loop, stop.set, parent_pid=parent_pid)
        try:
            await stop.wait()
        finally:
            if watch is not None:
                watch.close()
            await self.shutdown()

    # -- frames -------------------------------------------------------------------------------

    def _decoder(self) -> _Worker:
        """The decoding thread (one: one large frame is decoded at a time, which bounds the
        memory large frames take)."""
        if self._decoding_thread is None:
            self._decoding_thread = _Worker(self._loop)
        return self._decoding_thread

    def _read_off_loop(self, body: bytes) -> _Read:
        """Reads a frame in the decoding thread (its undecodable answer's ids too)."""
        binding = self.binding
        try:
            return _Read(binding.read(body), None, None)
        except FrameError as exc:
            return _Read(None, exc, lenient_strings(body, binding.content_key, binding.id_keys) or {})

    def _handle(self, connection: _Connection, read: _Read) -> None:
        if read.found is not None:
            self._route(connection, *read.found, large=True)
        else:
            assert read.error is not None
            self._answer_ids(connection, read.ids or {}, read.error)

    def _dispatch(self, connection: _Connection, body: bytes) -> None:
        try:
            kind, request, job_id, request_id = self.binding.read(body)
        except FrameError as exc:
            binding = self.binding
            self._answer_ids(connection, lenient_strings(body, binding.content_key, binding.id_keys) or {}, exc)
            return
        self._route(connection, kind, request, job_id, request_id)

    def _route(
        self, connection: _Connection, kind: int, request: Any, job_id: str | None, request_id: str | None, *, large: bool = False
    ) -> None:
        binding = self.binding
        if kind == KIND_REQUEST:
            assert job_id is not None and request_id is not None
            tracing = _tracing
            if self._stopping:
                # (A frame decoded off the loop while the runner shuts down.)
                self._refuse(connection, tracing, request, job_id, request_id, {{ r.msg_shutting_down.name }})
                return
            if len(connection.in_flight) >= self.max_in_flight:
                self._refuse(connection, tracing, request, job_id, request_id, {{ r.msg_busy.name }}, limit=self.max_in_flight)
                return
            if tracing is None:
                job = _InFlight(request, job_id, request_id, connection, self)
            else:
                job = _traced(tracing, request, job_id, request_id, connection, self)
            job.large = large
            self._run(job)
        elif kind == KIND_CANCEL:
            if request_id is not None:
                targets = self._by_request.get(request_id, set())
            else:
                targets = self._by_job.get(job_id or "", set())
            # A hard kill is handled like a cancel: the handler's task is cancelled at once.
            for job in list(targets):
                job.cancel({{ r.msg_cancelled.name }})
        else:
            connection.send_frame(
                _failure(binding, job_id, request_id, {{ r.msg_unexpected_message.name }}, type=binding.response_tag)
            )

    def _refuse(
        self, connection: _Connection, tracing: Tracing | None, request: Any, job_id: str, request_id: str,
        situation: str, **values: object,
    ) -> None:
        """Answers a request that is not run (beyond the in-flight limit, or read during the
        shutdown); traced, its span ends as that error."""
        if tracing is None:
            connection.send_frame(_failure(self.binding, job_id, request_id, situation, **values))
            return
        job = _traced(tracing, request, job_id, request_id, connection, self)
        job.answer(job.fail(situation, **values))

    def _encode_off_loop(self, job: _InFlight, value: object) -> None:
        """Encodes the success answer of a large frame's job in the decoding thread; the job
        stays in flight (cancellable, answered by the shutdown) until its answer is written."""
        if not job.tracked:
            self._track(job)
        future = self._decoder().submit(self.binding.success, job.job_key, job.request_key, value)
        future.add_done_callback(lambda done: job.encoded(value, done))

    def _answer_ids(self, connection: _Connection, found: dict[str, str], error: FrameError) -> None:
        # The answering rule (the same in every runner): the ids are read by the lenient
        # reading (`lenient_strings`); each one that is a string of Unicode scalar values is
        # echoed; with neither, nothing is answered.
        binding = self.binding
        job_id, request_id = (found.get(key) for key in binding.id_keys)
        if job_id is None and request_id is None:
            _log(f"ignoring an undecodable frame from {connection.peer} (no readable ids): {error}")
            return
        connection.send_frame(_failure(binding, job_id, request_id, {{ r.msg_invalid_frame.name }}, error=str(error)))

    # -- requests -----------------------------------------------------------------------------

    def _track(self, job: _InFlight) -> None:
        job.tracked = True
        job.connection.in_flight.add(job)
        self._by_request.setdefault(job.request_key, set()).add(job)
        self._by_job.setdefault(job.job_key, set()).add(job)

    def _untrack(self, job: _InFlight) -> None:
        job.connection.in_flight.discard(job)
        for index, key in ((self._by_request, job.request_key), (self._by_job, job.job_key)):
            jobs = index.get(key)
            if jobs is not None:
                jobs.discard(job)
                if not jobs:
                    del index[key]

    def _run(self, job: _InFlight) -> None:
        # The checks, then the handler. No frame is read while this runs: a job that ends
        # within it needs no tracking (nothing can cancel it) and no deadline timer.
        binding = self.binding
        request = job.request
        protocol_version, function_name, deadline = binding.facts(request)
        if protocol_version != binding.version:
            job.answer(job.fail(
                {{ r.msg_unsupported_protocol_version.name }}, received=protocol_version, supported=binding.version
            ))
            return
        handler = self.registry.get(function_name)
        if handler is None:
            job.answer(job.fail({{ r.msg_handler_not_found.name }}, function=function_name))
            return
        at: float | None = None
        if deadline is not None:
            timeout = deadline.timestamp() - time.time()
            if timeout <= 0:
                job.answer(job.fail({{ r.msg_deadline_passed.name }}, when=_instant(deadline)))
                return
            job.due = deadline
            at = self._loop.time() + timeout
        if self._is_async(handler):
            self._run_async(job, handler, at)
            return
        # A sync handler runs in a thread: the job is in flight until its future resolves.
        self._track(job)
        if at is not None:
            self._add_deadline(job, at)
        try:
            job.future = future = job.context().run(_start, handler, request)
        except Exception as exc:  # noqa: BLE001 - e.g. no thread can be started
            job.settle(None, exc)
            return
        future.add_done_callback(lambda done: _settle_future(job, done))

    def _run_async(self, job: _InFlight, handler: Handler, at: float | None) -> None:
        """Runs an async handler as a task of its own, in the job's context (`_Resumed`
        answers the job when it ends). Its first step runs at once, as the task (see
        `_EAGER_START`): one that ends in it is answered at once and never tracked."""
        context = job.context()
        try:
            coro = cast(Coroutine[Any, Any, object], context.run(handler, job.request))
        except Exception as exc:  # noqa: BLE001 - the request's outcome
            job.settle(None, exc)
            return
        loop = self._loop
        if _EAGER_START:
            task: asyncio.Task[None] = asyncio.Task(_Resumed(job, coro), loop=loop, context=context, eager_start=True)  # type: ignore[call-arg, unused-ignore]
            if task.done():
                return
        elif sys.version_info >= (3, 11):
            resumed = _Resumed(job, coro)
            task = loop.create_task(resumed, context=context)  # type: ignore[call-arg, unused-ignore]
            # (Frames read while another task runs, e.g. when its answer resumed reading, are
            # left to the task's own first step: only one task can be current.)
            if asyncio.current_task(loop) is None and resumed.first_step(loop, task, context):
                return
        else:  # pragma: no cover - Python 3.10: tasks take no context (they copy the current one)
            task = context.run(loop.create_task, _Resumed(job, coro))
        self._track(job)
        if at is not None:
            self._add_deadline(job, at)
        job.task = task
        job.connection.tasks.add(task)

    # -- deadlines: one heap and one timer for the runner (a timer per request costs more) -----

    def _add_deadline(self, job: _InFlight, at: float) -> None:
        heap = self._deadlines
        if len(heap) > 2 * self._deadlines_pending + 64:
            # Drop the entries of answered requests (kept until now: lazy deletion).
            heap[:] = [entry for entry in heap if not entry[2].answered]
            heapq.heapify(heap)
        self._deadline_seq += 1
        heapq.heappush(heap, (at, self._deadline_seq, job))
        job.deadline_pending = True
        self._deadlines_pending += 1
        if self._deadline_timer is None or at < self._deadline_timer.when():
            self._schedule_deadlines(at)

    def _schedule_deadlines(self, at: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = self._loop.call_at(at, self._expire_deadlines)

    def _expire_deadlines(self) -> None:
        self._deadline_timer = None
        heap = self._deadlines
        now = self._loop.time() + _CLOCK_RESOLUTION
        while heap and (heap[0][2].answered or heap[0][0] <= now):
            job = heapq.heappop(heap)[2]
            if not job.answered:
                job.expire()
        if heap:
            self._schedule_deadlines(heap[0][0])

    def _is_async(self, handler: Handler) -> bool:
        try:
            return self._async_handlers[handler]
        except KeyError:
            is_async = self._async_handlers[handler] = _is_async(handler)
            return is_async
        except TypeError:  # an unhashable callable
            return _is_async(handler)


T = TypeVar("T")


class _Worker:
    """One daemon thread running functions for the event loop, one at a time, in order (a daemon:
    a decode still running never holds up the process's exit after a shutdown)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        threading.Thread(target=self._work, name="rrq-runner-decode", daemon=True).start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Runs ``fn(*args)`` in the thread; the future (of the loop) resolves with its result."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((future, fn, args))
        return future

    def close(self) -> None:
        """Ends the thread after the function running now (the queued ones are not run)."""
        self._closed = True
        self._queue.put(None)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._closed:
                return
            future, fn, args = item
            try:
                outcome: tuple[bool, Any] = (True, fn(*args))
            except Exception as exc:  # noqa: BLE001 - handed to the loop
                outcome = (False, exc)
            del item, fn, args
            try:
                self._loop.call_soon_threadsafe(_resolve, future, *outcome)
            except RuntimeError:  # the loop is closed
                return
            del future, outcome


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _settle_future(job: _InFlight, future: asyncio.Future[object]) -> None:
    """Answers a sync handler's job when its thread's future resolves."""
    if future.cancelled():
        job.settle(None, asyncio.CancelledError())
        return
    error = future.exception()
    if error is None:
        job.settle(future.result(), None)
    elif isinstance(error, (Exception, asyncio.CancelledError)):
        job.settle(None, error)
    else:
        job.settle(None, Exception(_error_text(error)))


async def _drained(connections: list[_Connection], timeout: float) -> None:
    """Waits (at most `timeout` seconds) until the connections' written output is sent."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(
            c.transport is None or c.transport.is_closing() or c.transport.get_write_buffer_size() == 0
            for c in connections
        ):
            return
        await asyncio.sleep(0.01)


async def _settle(tasks: list[asyncio.Task[None]]) -> None:
    """Waits for request tasks to end (they were cancelled and answered already), at most a few
    seconds: a handler that ignores its cancellation does not hold up the connection."""
    if tasks:
        await asyncio.wait(tasks, timeout=5)


def _start(handler: Handler, request: object) -> asyncio.Future[object]:
    """Runs a sync handler in a daemon thread (so that it never blocks the event loop, and a
    stuck one never blocks shutdown); the future resolves with its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[object] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok and inspect.isawaitable(value):
            inner = asyncio.ensure_future(value)
            inner.add_done_callback(lambda f: _chain(f, future))
            future.add_done_callback(lambda f: inner.cancel() if f.cancelled() else None)
        elif ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def target() -> None:
        try:
            value = context.run(handler, request)
        except BaseException as exc:  # noqa: BLE001 - reported as the request's outcome
            loop.call_soon_threadsafe(settle, False, exc)
        else:
            loop.call_soon_threadsafe(settle, True, value)

    threading.Thread(target=target, name="rrq-runner-handler", daemon=True).start()
    return future


def _chain(source: asyncio.Future[object], target: asyncio.Future[object]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(source.result())


async def _check_loopback(host: str) -> None:
    """Refuses any address that is not loopback: a runner must not be reachable from outside."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ValueError(f"cannot resolve {host!r}: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses or not all(address.is_loopback for address in addresses):
        raise ValueError(
            f"refusing to listen on {host!r}: a runner binds only to a loopback address (127.0.0.1, ::1, localhost)"
        )


def parse_address(text: str) -> tuple[str, int]:
    """Splits ``HOST:PORT`` (``[::1]:PORT`` for IPv6); raises `ValueError`."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def serve(
    registry: Registry[Any],
    address: str,
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    verbose: bool = False,
    parent_pid: int | None = None,
) -> None:
    """Runs a `Runner` for `registry` on ``HOST:PORT`` until SIGTERM or SIGINT (or until its
    parent process dies: see `Runner.serve_forever`)."""
    host, port = parse_address(address)
    runner = Runner(registry, max_in_flight=max_in_flight, verbose=verbose)
    asyncio.run(runner.serve_forever(host, port, parent_pid=parent_pid))
