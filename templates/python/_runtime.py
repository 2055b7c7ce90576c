{{ c.header -}}
"""The runner runtime: a handler registry and an asyncio server speaking the framed protocol.

Per request, in this order: an unsupported protocol version is answered with an error; an
unknown function name with an error; a deadline already past with a timeout (the handler is not
called); otherwise the handler runs, cancelled when its deadline passes (timeout), when a cancel
frame names it (on any connection) or when the runner shuts down (both answered as cancelled).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import heapq
import inspect
import ipaddress
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from ._codec import FRAME_HEADER_LEN, FrameError, decode_message, encode_frame
from ._json import format_timestamp, lenient_strings
from ._messages import error_message
from ._models import (
{%- for name in c.runtime_imports %}
    {{ name }},
{%- endfor %}
)

__all__ = [
    "DEFAULT_HIGH_WATER",
    "DEFAULT_MAX_IN_FLIGHT",
    "Handler",
    "Registry",
    "RetryError",
    "Runner",
    "parse_address",
    "serve",
]

Handler = Callable[[{{ c.r.request }}], Awaitable[object] | object]
"""A handler: called with the decoded request, sync or async. Its return value is the result
(any JSON value); returning a `{{ c.r.outcome }}` sends that outcome as is; raising `RetryError`
asks for a retry; raising anything else reports an error named after the exception class."""

DEFAULT_MAX_IN_FLIGHT = 1024
"""Requests a connection may have in flight before further ones are answered as busy."""

DEFAULT_HIGH_WATER = 1 << 20
"""Unsent output (bytes) above which a connection's frames are no longer read until it drains."""

F = TypeVar("F", bound=Callable[..., Any])

# The event loop runs a timer up to this much early (asyncio's own `_clock_resolution`).
_CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution

_CONTENT_KEY = {{ c.r.content_key }}
_ID_KEYS = ({{ c.r.job_id_key }}, {{ c.r.request_id_key }})
"""Where the answer to an undecodable frame finds the ids it echoes: ``_ID_KEYS`` (job, request)
in the member ``_CONTENT_KEY`` of the body (see `Runner._answer_undecodable`)."""


class RetryError(Exception):
    """Raise from a handler to ask for the job to run again, optionally after a delay."""

    def __init__(self, message: str = "retry requested", retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class Registry:
    """Handlers by function name.

    ``registry.register("name", handler)``, or as a decorator: ``@registry.register("name")``.
    """

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


def _outcome(request: {{ c.r.request }}, status: {{ c.r.status }}, message: str, error_type: str | None) -> {{ c.r.outcome }}:
    return {{ c.r.outcome }}(
        {{ c.r.out_job_id }}=request.{{ c.r.req_job_id }},
        {{ c.r.out_request_id }}=request.{{ c.r.req_request_id }},
        {{ c.r.out_status }}=status,
        {{ c.r.out_error }}={{ c.r.error }}({{ c.r.err_message }}=message, {{ c.r.err_type }}=error_type),
    )


class _InFlight:
    """One request being executed: answered exactly once, by whichever comes first (the
    handler's end, its deadline, a cancel, the shutdown)."""

    __slots__ = ("answered", "connection", "deadline_pending", "request", "runner", "started", "task")

    def __init__(self, request: {{ c.r.request }}, connection: _Connection, runner: Runner) -> None:
        self.request = request
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

    def cancel(self, error_type: str, message: str) -> None:
        """Answers at once with an error of `error_type` and cancels the handler."""
        if self.answered:
            return
        self.answer(_frame(_outcome(self.request, {{ c.r.status }}.{{ c.r.st_error }}, message, error_type), self.connection))
        self.stop()

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
        deadline = self.request.{{ c.r.req_context }}.{{ c.r.ctx_deadline }}
        assert deadline is not None
        self.answer(_frame(_timeout(self.request, deadline, {{ c.r.msg_deadline_exceeded.name }}, ErrorType.{{ c.r.msg_deadline_exceeded.error_type }}), self.connection))
        self.stop()


def _frame(outcome: {{ c.r.outcome }}, connection: _Connection) -> bytes | None:
    try:
        return encode_frame({{ c.r.response_variant }}(outcome))
    except FrameError as exc:
        _log(f"could not encode a response for {connection.peer}: {exc}")
        return None


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

    def send(self, outcome: {{ c.r.outcome }}) -> None:
        if self.closed or self.writer.is_closing():
            return
        frame = _frame(outcome, self)
        if frame is not None:
            self.writer.write(frame)

    def send_frame(self, frame: bytes) -> None:
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
        registry: Registry,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        high_water: int = DEFAULT_HIGH_WATER,
    ) -> None:
        self.registry = registry
        self.max_in_flight = max_in_flight
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
                job.cancel(ErrorType.{{ c.r.msg_shutting_down.error_type }}, error_message({{ c.r.msg_shutting_down.name }}))
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

    async def serve_forever(self, host: str, port: int, *, install_signal_handlers: bool = True) -> None:
        """Serves until SIGTERM or SIGINT (or until cancelled), then shuts down cleanly."""
        bound_host, bound_port = await self.start(host, port)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        print(f"rrq-runner listening on {shown}:{bound_port}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await self.shutdown()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer, self.high_water)
        self._connections.add(connection)
        transport = writer.transport
        try:
            while not self._stopping:
                try:
                    header = await reader.readexactly(FRAME_HEADER_LEN)
                except asyncio.IncompleteReadError:
                    break
                length = int.from_bytes(header, "big")
                if length == 0 or length > MAX_FRAME_LEN:
                    _log(f"closing the connection from {connection.peer}: frame length {length} is not in 1..={MAX_FRAME_LEN}")
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
                    job.cancel(ErrorType.{{ c.r.msg_cancelled.error_type }}, error_message({{ c.r.msg_cancelled.name }}))
                await _settle(list(connection.tasks))
                writer.close()
                self._connections.discard(connection)

    # -- frames -------------------------------------------------------------------------------

    def _dispatch(self, connection: _Connection, body: bytes) -> None:
        try:
            message = decode_message(body)
        except FrameError as exc:
            self._answer_undecodable(connection, body, exc)
            return
        if isinstance(message, {{ c.r.request_variant }}):
            request = message.{{ c.r.content }}
            if len(connection.in_flight) >= self.max_in_flight:
                connection.send(_outcome(
                    request,
                    {{ c.r.status }}.{{ c.r.st_error }},
                    error_message({{ c.r.msg_busy.name }}, limit=self.max_in_flight),
                    ErrorType.{{ c.r.msg_busy.error_type }},
                ))
                return
            job = _InFlight(request, connection, self)
            self._track(job)
            job.task = task = connection.loop.create_task(self._run(job))
            connection.tasks.add(task)
        elif isinstance(message, {{ c.r.cancel_variant }}):
            cancel = message.{{ c.r.content }}
            if cancel.{{ c.r.cancel_request_id }} is not None:
                targets = self._by_request.get(cancel.{{ c.r.cancel_request_id }}, set())
            else:
                targets = self._by_job.get(cancel.{{ c.r.cancel_job_id }}, set())
            # A hard kill is handled like a cancel: the handler's task is cancelled at once.
            for job in list(targets):
                job.cancel(ErrorType.{{ c.r.msg_cancelled.error_type }}, error_message({{ c.r.msg_cancelled.name }}))
        else:
            outcome = message.{{ c.r.content }}
            connection.send({{ c.r.outcome }}(
                {{ c.r.out_job_id }}=outcome.{{ c.r.out_job_id }},
                {{ c.r.out_request_id }}=outcome.{{ c.r.out_request_id }},
                {{ c.r.out_status }}={{ c.r.status }}.{{ c.r.st_error }},
                {{ c.r.out_error }}={{ c.r.error }}(
                    {{ c.r.err_message }}=error_message({{ c.r.msg_unexpected_message.name }}, type={{ c.r.response_tag }}),
                    {{ c.r.err_type }}=ErrorType.{{ c.r.msg_unexpected_message.error_type }},
                ),
            ))

    def _answer_undecodable(self, connection: _Connection, body: bytes, error: FrameError) -> None:
        # The answering rule (the same in every runner): the ids are read by the lenient
        # reading (`lenient_strings`); each one that is a string of Unicode scalar values is
        # echoed; with neither, nothing is answered.
        found = lenient_strings(body, _CONTENT_KEY, _ID_KEYS) or {}
        job_id, request_id = (found.get(key) for key in _ID_KEYS)
        if job_id is None and request_id is None:
            _log(f"ignoring an undecodable frame from {connection.peer} (no readable ids): {error}")
            return
        connection.send({{ c.r.outcome }}(
            {{ c.r.out_job_id }}=job_id,
            {{ c.r.out_request_id }}=request_id,
            {{ c.r.out_status }}={{ c.r.status }}.{{ c.r.st_error }},
            {{ c.r.out_error }}={{ c.r.error }}(
                {{ c.r.err_message }}=error_message({{ c.r.msg_invalid_frame.name }}, error=str(error)),
                {{ c.r.err_type }}=ErrorType.{{ c.r.msg_invalid_frame.error_type }},
            ),
        ))

    # -- requests -----------------------------------------------------------------------------

    def _track(self, job: _InFlight) -> None:
        job.connection.in_flight.add(job)
        self._by_request.setdefault(job.request.{{ c.r.req_request_id }}, set()).add(job)
        self._by_job.setdefault(job.request.{{ c.r.req_job_id }}, set()).add(job)

    def _untrack(self, job: _InFlight) -> None:
        job.connection.in_flight.discard(job)
        for index, key in ((self._by_request, job.request.{{ c.r.req_request_id }}), (self._by_job, job.request.{{ c.r.req_job_id }})):
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
                frame = _frame(_outcome(job.request, {{ c.r.status }}.{{ c.r.st_error }}, error_message({{ c.r.msg_cancelled.name }}), ErrorType.{{ c.r.msg_cancelled.error_type }}), job.connection)
            except Exception as exc:  # noqa: BLE001 - _execute reports every failure itself
                frame = _frame(_outcome(job.request, {{ c.r.status }}.{{ c.r.st_error }}, f"internal runner error: {exc}", type(exc).__name__), job.connection)
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
        request = job.request
        connection = job.connection
        if request.{{ c.r.req_protocol_version }} != PROTOCOL_VERSION:
            return _frame(_outcome(
                request,
                {{ c.r.status }}.{{ c.r.st_error }},
                error_message(
                    {{ c.r.msg_unsupported_protocol_version.name }},
                    received=request.{{ c.r.req_protocol_version }},
                    supported=PROTOCOL_VERSION,
                ),
                ErrorType.{{ c.r.msg_unsupported_protocol_version.error_type }},
            ), connection)
        handler = self.registry.get(request.{{ c.r.req_function_name }})
        if handler is None:
            return _frame(_outcome(
                request,
                {{ c.r.status }}.{{ c.r.st_error }},
                error_message({{ c.r.msg_handler_not_found.name }}, function_name=request.{{ c.r.req_function_name }}),
                ErrorType.{{ c.r.msg_handler_not_found.error_type }},
            ), connection)
        deadline = request.{{ c.r.req_context }}.{{ c.r.ctx_deadline }}
        if deadline is not None:
            timeout = deadline.timestamp() - time.time()
            if timeout <= 0:
                return _frame(_timeout(request, deadline, {{ c.r.msg_deadline_passed.name }}, ErrorType.{{ c.r.msg_deadline_passed.error_type }}), connection)
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
        return _result(request, value, error, connection)


async def _settle(tasks: list[asyncio.Task[None]]) -> None:
    """Waits for request tasks to end (they were cancelled and answered already), at most a few
    seconds: a handler that ignores its cancellation does not hold up the connection."""
    if tasks:
        await asyncio.wait(tasks, timeout=5)


def _timeout(request: {{ c.r.request }}, deadline: datetime, message: str, error_type: str) -> {{ c.r.outcome }}:
    return _outcome(
        request,
        {{ c.r.status }}.{{ c.r.st_timeout }},
        error_message(message, deadline=format_timestamp(deadline)[1:-1]),
        error_type,
    )


def _start(handler: Handler, request: {{ c.r.request }}) -> asyncio.Future[object]:
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


def _result(request: {{ c.r.request }}, value: object, error: BaseException | None, connection: _Connection) -> bytes | None:
    """The answer frame for what the handler returned (`value`) or raised (`error`)."""
    if isinstance(error, RetryError):
        outcome = _outcome(request, {{ c.r.status }}.{{ c.r.st_retry }}, error.message, None)
        outcome.{{ c.r.out_retry_after }} = error.retry_after_seconds
    elif isinstance(error, asyncio.CancelledError):
        outcome = _outcome(request, {{ c.r.status }}.{{ c.r.st_error }}, error_message({{ c.r.msg_cancelled.name }}), ErrorType.{{ c.r.msg_cancelled.error_type }})
    elif error is not None:
        message = str(error) or type(error).__name__
        outcome = _outcome(request, {{ c.r.status }}.{{ c.r.st_error }}, message, type(error).__name__)
    elif isinstance(value, {{ c.r.outcome }}):
        outcome = dataclasses.replace(value)
        if outcome.{{ c.r.out_job_id }} is None:
            outcome.{{ c.r.out_job_id }} = request.{{ c.r.req_job_id }}
        if outcome.{{ c.r.out_request_id }} is None:
            outcome.{{ c.r.out_request_id }} = request.{{ c.r.req_request_id }}
    else:
        outcome = {{ c.r.outcome }}(
            {{ c.r.out_job_id }}=request.{{ c.r.req_job_id }},
            {{ c.r.out_request_id }}=request.{{ c.r.req_request_id }},
            {{ c.r.out_status }}={{ c.r.status }}.{{ c.r.st_success }},
            {{ c.r.out_result }}=value,  # type: ignore[arg-type]
        )
    try:
        return encode_frame({{ c.r.response_variant }}(outcome))
    except FrameError as exc:
        return _frame(_outcome(request, {{ c.r.status }}.{{ c.r.st_error }}, f"the handler's answer cannot be sent: {exc}", type(exc).__name__), connection)


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


def serve(registry: Registry, address: str, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
    """Runs a `Runner` for `registry` on ``HOST:PORT`` until SIGTERM or SIGINT."""
    host, port = parse_address(address)
    runner = Runner(registry, max_in_flight=max_in_flight)
    asyncio.run(runner.serve_forever(host, port))
