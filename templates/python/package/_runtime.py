{{ c.header -}}
"""The runner runtime, shared by every protocol version: a handler registry and an asyncio server
speaking the framed protocol.

A `Registry` belongs to one protocol version (each version module has its own ``Registry``,
bound to that version's `Binding`: how to read its frames and write its outcomes); a `Runner`
serves the registry's version. Per request, in this order: an unsupported protocol version is answered with an error; an
unknown function name with an error; a deadline already past with a timeout (the handler is not
called); otherwise the handler runs, cancelled when its deadline passes (timeout), when a cancel
frame names it (on any connection) or when the runner shuts down (both answered as cancelled).

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
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar, cast

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
        "answered", "connection", "deadline_pending", "due", "job_key", "request", "request_key", "runner", "started", "task",
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
        # The task running the request (cancelled to stop the handler); whether its deadline is
        # in the runner's deadline heap.
        self.task: asyncio.Task[None] | None = None
        self.started = False
        self.deadline_pending = False

    def answer(self, frame: bytes | None) -> None:
        """Sends the answer (a whole frame) unless one was sent already."""
        if self.answered:
            return
        self.answered = True
        if self.deadline_pending:
            self.deadline_pending = False
            self.runner._deadlines_pending -= 1
        self.runner._untrack(self)
        if frame is not None:
            self.connection.send_frame(frame)

    def cancel(self, situation: str) -> None:
        """Answers at once with the runner's answer for `situation` and cancels the handler."""
        if self.answered:
            return
        self.answer(self.fail(situation))
        self.stop()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """The job's task (an untraced job's is made on the loop directly, without this call)."""
        return self.connection.loop.create_task(coro)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            if not self.started:
                # A task cancelled before its first step never runs `_run` (which forgets it).
                self.connection.tasks.discard(self.task)

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

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """The job's task, running in the span's context."""
        loop = self.connection.loop
        try:
            context = self.span.context()
        except Exception as exc:  # noqa: BLE001 - tracing never fails a job
            _tracing_failed(exc)
            return loop.create_task(coro)
        return context.run(loop.create_task, coro)

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


class _Connection:
    """One client connection: ordered reads, whole-frame writes, backpressure."""

    def __init__(self, writer: asyncio.StreamWriter, high_water: int) -> None:
        self.writer = writer
        self.in_flight: set[_InFlight] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.loop = asyncio.get_running_loop()
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        writer.transport.set_write_buffer_limits(high=high_water)

    def send_frame(self, frame: bytes | None) -> None:
        if frame is None:
            return
        if not self.closed and not self.writer.is_closing():
            self.writer.write(frame)


class Runner:
    """Serves a `Registry` over loopback TCP, as the RRQ orchestrator expects.

    ``max_in_flight`` bounds the requests in flight per connection (beyond it requests are
    answered at once as busy); ``high_water`` is the unsent output per connection above which
    its frames are no longer read until the peer catches up (responses are never dropped).
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

    # -- serving ------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Binds `host:port` (loopback only) and starts accepting; returns the bound address."""
        await _check_loopback(host)
        self._server = await asyncio.start_server(self._serve_connection, host, port)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def shutdown(self) -> None:
        """Stops accepting, cancels every request in flight (each answered as cancelled),
        flushes the answers and closes every connection."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            for job in list(connection.in_flight):
                job.cancel({{ r.msg_shutting_down.name }})
        await _settle([task for connection in self._connections for task in connection.tasks])
        for connection in list(self._connections):
            try:
                await asyncio.wait_for(connection.writer.drain(), timeout=5)
            except (ConnectionError, asyncio.TimeoutError, RuntimeError):
                pass
            connection.closed = True
            connection.writer.close()
        if self._server is not None:
            await self._server.wait_closed()

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

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer, self.high_water)
        self._connections.add(connection)
        transport = writer.transport
        max_frame_len = self.binding.max_frame_len
        try:
            while not self._stopping:
                try:
                    header = await reader.readexactly(FRAME_HEADER_LEN)
                except asyncio.IncompleteReadError:
                    break
                length = int.from_bytes(header, "big")
                if length == 0 or length > max_frame_len:
                    _log(f"closing the connection from {connection.peer}: frame length {length} is not in 1..={max_frame_len}")
                    break
                try:
                    body = await reader.readexactly(length)
                except asyncio.IncompleteReadError:
                    break
                if self._stopping:
                    break
                self._dispatch(connection, body)
                # Backpressure: stop reading while the peer is not taking our output (above the
                # high-water mark) or the connection is going away.
                if transport.get_write_buffer_size() > self.high_water or transport.is_closing():
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # The event loop is closing (after a shutdown): end quietly. (Python 3.11's
            # start_server logs a traceback for a connection task that ends cancelled.)
            pass
        finally:
            if not self._stopping:
                connection.closed = True
                for job in list(connection.in_flight):
                    # Nobody is left to read the answer: it is dropped.
                    job.cancel({{ r.msg_cancelled.name }})
                await _settle(list(connection.tasks))
                writer.close()
                self._connections.discard(connection)

    # -- frames -------------------------------------------------------------------------------

    def _dispatch(self, connection: _Connection, body: bytes) -> None:
        binding = self.binding
        try:
            kind, request, job_id, request_id = binding.read(body)
        except FrameError as exc:
            self._answer_undecodable(connection, body, exc)
            return
        if kind == KIND_REQUEST:
            assert job_id is not None and request_id is not None
            if len(connection.in_flight) >= self.max_in_flight:
                connection.send_frame(_failure(binding, job_id, request_id, {{ r.msg_busy.name }}, limit=self.max_in_flight))
                return
            tracing = _tracing
            if tracing is None:
                job = _InFlight(request, job_id, request_id, connection, self)
                self._track(job)
                job.task = task = connection.loop.create_task(self._run(job))
            else:
                job = _traced(tracing, request, job_id, request_id, connection, self)
                self._track(job)
                job.task = task = job.spawn(self._run(job))
            connection.tasks.add(task)
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

    def _answer_undecodable(self, connection: _Connection, body: bytes, error: FrameError) -> None:
        # The answering rule (the same in every runner): the ids are read by the lenient
        # reading (`lenient_strings`); each one that is a string of Unicode scalar values is
        # echoed; with neither, nothing is answered.
        binding = self.binding
        found = lenient_strings(body, binding.content_key, binding.id_keys) or {}
        job_id, request_id = (found.get(key) for key in binding.id_keys)
        if job_id is None and request_id is None:
            _log(f"ignoring an undecodable frame from {connection.peer} (no readable ids): {error}")
            return
        connection.send_frame(_failure(binding, job_id, request_id, {{ r.msg_invalid_frame.name }}, error=str(error)))

    # -- requests -----------------------------------------------------------------------------

    def _track(self, job: _InFlight) -> None:
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

    async def _run(self, job: _InFlight) -> None:
        # One task per request: the checks, then the handler awaited here (an async one) or in
        # a thread (a sync one). A cancel, the deadline or the shutdown answers at once and
        # cancels this task; whatever the handler does afterwards is not sent.
        # (The task leaves the connection's set here, not from a done callback: one event loop
        # iteration less per request.)
        job.started = True
        try:
            try:
                frame = await self._execute(job)
            except asyncio.CancelledError:
                frame = job.fail({{ r.msg_cancelled.name }})
            except Exception as exc:  # noqa: BLE001 - _execute reports every failure itself
                frame = job.error(f"internal runner error: {exc}", type(exc).__name__)
            job.answer(frame)
        finally:
            job.connection.tasks.discard(job.task)

    # -- deadlines: one heap and one timer for the runner (a timer per request costs more) -----

    def _add_deadline(self, job: _InFlight, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        at = loop.time() + timeout
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
            self._schedule_deadlines(loop, at)

    def _schedule_deadlines(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = loop.call_at(at, self._expire_deadlines, loop)

    def _expire_deadlines(self, loop: asyncio.AbstractEventLoop) -> None:
        self._deadline_timer = None
        heap = self._deadlines
        now = loop.time() + _CLOCK_RESOLUTION
        while heap and (heap[0][2].answered or heap[0][0] <= now):
            job = heapq.heappop(heap)[2]
            if not job.answered:
                job.expire()
        if heap:
            self._schedule_deadlines(loop, heap[0][0])

    def _is_async(self, handler: Handler) -> bool:
        try:
            return self._async_handlers[handler]
        except KeyError:
            is_async = self._async_handlers[handler] = _is_async(handler)
            return is_async
        except TypeError:  # an unhashable callable
            return _is_async(handler)

    async def _execute(self, job: _InFlight) -> bytes | None:
        binding = self.binding
        request = job.request
        connection = job.connection
        protocol_version, function_name, deadline = binding.facts(request)
        if protocol_version != binding.version:
            return job.fail(
                {{ r.msg_unsupported_protocol_version.name }}, received=protocol_version, supported=binding.version
            )
        handler = self.registry.get(function_name)
        if handler is None:
            return job.fail({{ r.msg_handler_not_found.name }}, function=function_name)
        if deadline is not None:
            timeout = deadline.timestamp() - time.time()
            if timeout <= 0:
                return job.fail({{ r.msg_deadline_passed.name }}, when=_instant(deadline))
            job.due = deadline
            self._add_deadline(job, connection.loop, timeout)
        value: object = None
        error: BaseException | None = None
        try:
            if self._is_async(handler):
                value = await cast(Awaitable[object], handler(request))
            else:
                value = await _start(handler, request)
        except asyncio.CancelledError:
            if job.answered:
                raise
            error = asyncio.CancelledError()
        except Exception as exc:  # noqa: BLE001 - reported as the request's outcome
            error = exc
        if job.answered:
            return None
        return job.result(value, error)


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
