"""The runner's event-loop mechanics over a real loopback socket: async handlers as tasks (eager on
Python 3.12+; what a handler sees: its own context, its task from the first line, cancellation
before the task's first step), pipelined frames of one write, and large frames decoded off the
loop while the other connections are served, in order and exactly once on their own."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from conftest import INPUT_MAP, options
from rrq_proto import (
    Cancel,
    CancelRequest,
    OutcomeStatus,
    Registry,
    Request,
    Runner,
    decode_message,
    encode_frame,
)
from rrq_runner import _runtime
from test_runtime import Client, request, run, running, sleeps_until_cancelled

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("test_runtime_loop_var", default="unset")


def registry() -> Registry:
    reg = Registry()

    @reg.register("echo")
    async def echo(r: Any) -> object:
        return getattr(r, INPUT_MAP)

    @reg.register("set_var")
    async def set_var(r: Any) -> object:
        # Eager: runs inside the connection's read; the value must not leak to the next request.
        before = VAR.get()
        VAR.set(getattr(r, INPUT_MAP)["value"])
        return before

    @reg.register("suspend")
    async def suspend(r: Any) -> object:
        VAR.set("before the suspension")
        first = asyncio.current_task()
        await asyncio.sleep(0)
        task = asyncio.current_task()
        return {"var": VAR.get(), "one_task": first is task, "task": isinstance(task, asyncio.Task)}

    @reg.register("timeout_first")
    async def timeout_first(r: Any) -> object:
        # A task from the first line: asyncio.timeout / TaskGroup need one.
        async with asyncio.timeout(5):
            await asyncio.sleep(0)
        async with asyncio.TaskGroup() as group:
            child = group.create_task(asyncio.sleep(0, "child"))
        return child.result()

    @reg.register("reset_later")
    async def reset_later(r: Any) -> object:
        # A token made before the suspension is reset after it (as a span entered around an
        # await is): both steps must run in the same context.
        token = VAR.set("inside")
        await asyncio.sleep(0)
        VAR.reset(token)
        return VAR.get()

    @reg.register("raise_eagerly")
    async def raise_eagerly(r: Any) -> object:
        raise LookupError("before any await")

    @reg.register("raise_later")
    async def raise_later(r: Any) -> object:
        await asyncio.sleep(0)
        raise LookupError("after an await")

    @reg.register("count")
    async def count(r: Any) -> object:
        return len(getattr(r, INPUT_MAP)["values"])

    @reg.register("values")
    async def values(r: Any) -> object:
        return getattr(r, INPUT_MAP)["values"]

    @reg.register("wait")
    async def wait(r: Any) -> object:
        await asyncio.sleep(30)
        return "slept"

    return reg


def test_a_handlers_context_variables_do_not_leak_into_the_next_request() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            first = await client.call(request("set_var", "r1", **options(value="one")))
            second = await client.call(request("set_var", "r2", **options(value="two")))
            assert (first.result, second.result) == ("unset", "unset")

    run(main())


def _answer(req: Any) -> Any:
    """The runner's answer to one request on a connection of its own."""
    answers: list[Any] = []

    async def main() -> None:
        async with running(registry()) as connect:
            answers.append(await (await connect()).call(req))

    run(main())
    return answers[0]


def test_a_handler_that_suspends_keeps_its_context_and_gets_a_task() -> None:
    outcome = _answer(request("suspend"))
    assert outcome.status == OutcomeStatus.SUCCESS
    # Its task from the first line on (eager or not), the same one after the suspension.
    assert outcome.result == {"var": "before the suspension", "one_task": True, "task": True}


def test_a_handler_can_use_asyncio_timeout_and_task_groups_from_its_first_line() -> None:
    outcome = _answer(request("timeout_first"))
    assert (outcome.status, outcome.result) == (OutcomeStatus.SUCCESS, "child"), outcome.error


def test_a_context_variable_set_before_the_suspension_is_reset_after_it() -> None:
    outcome = _answer(request("reset_later"))
    assert (outcome.status, outcome.result) == (OutcomeStatus.SUCCESS, "unset"), outcome.error


def test_errors_before_and_after_the_first_suspension_are_answered() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            for function, message in (("raise_eagerly", "before any await"), ("raise_later", "after an await")):
                outcome = await client.call(request(function, f"r-{function}"))
                assert outcome.status == OutcomeStatus.ERROR
                assert outcome.error is not None and outcome.error.message == message
                assert outcome.error.type == "LookupError"

    run(main())


def test_a_cancel_in_the_same_write_reaches_the_handler_before_its_task_ran() -> None:
    # The request and its cancel arrive in one read: the handler suspended in its first step and
    # its task has not run yet when the cancel is handled. The cancellation must still reach the
    # handler (its cleanup runs) and the answer must be the cancel's, once.
    cleaned = asyncio.Event()
    reg = registry()

    reg.register("wait", sleeps_until_cancelled(cleaned))

    async def main() -> None:
        async with running(reg) as connect:
            client = await connect()
            req = request("wait", "r-wait", "job-wait")
            cancel = Cancel(CancelRequest(**_cancel_fields(req)))
            await client.send_raw(encode_frame(Request(req)) + encode_frame(cancel))
            outcome = await client.receive()
            assert (outcome.request_id, outcome.status) == ("r-wait", OutcomeStatus.ERROR)
            await asyncio.wait_for(cleaned.wait(), 5)
            echo = await client.call(request("echo", "r-after", **options(n=1)))
            assert echo.request_id == "r-after", "nothing else was answered in between"

    run(main())


def _cancel_fields(req: Any) -> dict[str, Any]:
    """The fields of a cancel naming `req`, from the cancel type's own fields."""
    names = {f.name for f in dataclasses.fields(CancelRequest)}
    return {name: getattr(req, name) for name in names if hasattr(req, name)}


def test_pipelined_requests_of_one_write_are_all_answered_once() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            frames = b"".join(encode_frame(Request(request("echo", f"r{i}", **options(i=i)))) for i in range(300))
            await client.send_raw(frames)
            seen = [(await client.receive()).request_id for _ in range(300)]
            assert sorted(seen) == sorted(f"r{i}" for i in range(300))
            assert len(set(seen)) == 300

    run(main())


def _big_request(request_id: str, values: int) -> bytes:
    """A `count` request frame whose input holds `values` zeros (a body of ~2 bytes per value)."""
    return _request_with_values("count", request_id, values)


def _request_with_values(function: str, request_id: str, values: int) -> bytes:
    """A request frame for `function` whose input holds `values` zeros."""
    marker = "__values__"
    frame = encode_frame(Request(request(function, request_id, **options(values=marker))))
    text = frame[4:].decode()
    body = text.replace(json.dumps(marker), "[" + ",".join(["0"] * values) + "]", 1).encode()
    return len(body).to_bytes(4, "big") + body


@asynccontextmanager
async def serving(reg: Registry) -> AsyncIterator[tuple[Runner, Callable[[], Awaitable[Client]]]]:
    runner = Runner(reg)
    host, port = await runner.start("127.0.0.1", 0)
    clients: list[Client] = []

    async def connect() -> Client:
        client = Client(*await asyncio.open_connection(host, port))
        clients.append(client)
        return client

    try:
        yield runner, connect
    finally:
        for client in clients:
            client.close()
        await runner.shutdown()


def _hold_decoding(runner: Runner, entered: threading.Event, release: threading.Event) -> None:
    """Makes the runner's decoding thread signal `entered` and wait for `release` (at most 10 s)
    before each frame it reads."""
    original = runner._read_off_loop

    def held(body: bytes) -> Any:
        entered.set()
        release.wait(10)
        return original(body)

    runner._read_off_loop = held  # type: ignore[method-assign]


def test_a_large_frame_is_decoded_off_the_loop_and_its_connection_keeps_its_order() -> None:
    # The decoding thread is held until the test lets it go: meanwhile another connection must be
    # answered (the loop is free). The large request is followed, in the same write, by a cancel
    # of it: handled in order, the cancel finds the request (answered cancelled, once); handled
    # before it, it would find nothing and the request would sleep on unanswered.
    assert 2 * 100_000 > _runtime.OFF_LOOP_BODY
    release = threading.Event()
    entered = threading.Event()

    async def main() -> None:
        async with serving(registry()) as (runner, connect):
            _hold_decoding(runner, entered, release)
            big, other = await connect(), await connect()
            req = _request_with_values("wait", "r-big", 100_000)
            cancel = encode_frame(Cancel(CancelRequest(**_cancel_fields(decode_message(req[4:]).payload))))
            await big.send_raw(req + cancel)
            assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
            for i in range(5):
                outcome = await other.call(request("echo", f"other-{i}", **options(i=i)))
                assert outcome.request_id == f"other-{i}"
            release.set()
            outcome = await big.receive()
            assert (outcome.request_id, outcome.status) == ("r-big", OutcomeStatus.ERROR)
            assert outcome.error is not None and outcome.error.type == "cancelled"
            echo = await big.call(request("echo", "r-after", **options(n=1)))
            assert echo.request_id == "r-after", "the cancelled request was answered once"

    try:
        run(main())
    finally:
        release.set()


def test_a_shutdown_answers_the_large_frame_being_decoded_and_the_frame_read_behind_it() -> None:
    # A large request is held in the decoding thread with another request read behind it on
    # its connection; the runner shuts down meanwhile: both were read, both are answered as
    # shutting down, once, in order (neither handler runs).
    release = threading.Event()
    entered = threading.Event()

    async def main() -> None:
        async with serving(registry()) as (runner, connect):
            _hold_decoding(runner, entered, release)
            big = await connect()
            behind = encode_frame(Request(request("echo", "r-behind", **options(n=1))))
            await big.send_raw(_request_with_values("values", "r-big", 100_000) + behind)
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, entered.wait, 10)
            stopped = asyncio.ensure_future(runner.shutdown())
            await asyncio.sleep(0.05)
            release.set()
            answers = [await big.receive(), await big.receive()]
            await stopped
            assert [a.request_id for a in answers] == ["r-big", "r-behind"]
            for outcome in answers:
                assert outcome.status == OutcomeStatus.ERROR
                assert outcome.error is not None and outcome.error.type == "cancelled", outcome.error

    try:
        run(main())
    finally:
        release.set()


def test_a_large_frames_answer_is_encoded_off_the_loop() -> None:
    # The encoding of the large request's answer (its values echoed) is held until the test lets
    # it go: meanwhile another connection is answered; then the answer arrives, once, whole.
    release = threading.Event()
    entered = threading.Event()

    async def main() -> None:
        async with serving(registry()) as (runner, connect):
            runner.binding = _HeldSuccess(runner.binding, "r-big", entered, release)  # type: ignore[assignment]
            big, other = await connect(), await connect()
            await big.send_raw(_request_with_values("values", "r-big", 100_000))
            assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
            for i in range(5):
                outcome = await other.call(request("echo", f"other-{i}", **options(i=i)))
                assert outcome.request_id == f"other-{i}"
            release.set()
            outcome = await big.receive()
            assert (outcome.request_id, outcome.status) == ("r-big", OutcomeStatus.SUCCESS)
            assert outcome.result == [0] * 100_000
            echo = await big.call(request("echo", "r-after", **options(n=1)))
            assert echo.request_id == "r-after", "the large request was answered once"

    try:
        run(main())
    finally:
        release.set()


class _HeldSuccess:
    """A binding whose success answers to `request_id` wait for `release`."""

    def __init__(self, binding: Any, request_id: str, entered: threading.Event, release: threading.Event) -> None:
        self._binding, self._request_id, self._entered, self._release = binding, request_id, entered, release

    def __getattr__(self, name: str) -> Any:
        return getattr(self._binding, name)

    def success(self, job_id: str, request_id: str, value: object) -> bytes:
        if request_id == self._request_id:
            assert threading.current_thread() is not threading.main_thread(), "encoded on the loop's thread"
            self._entered.set()
            self._release.wait(10)
        return self._binding.success(job_id, request_id, value)  # type: ignore[no-any-return]


def test_large_frames_are_answered_exactly_once_while_others_are_served() -> None:
    # Real decoding, no hook: large frames (valid ones, and one whose last value is invalid,
    # answered with the frame's ids) from two connections while a third does serial echoes.
    async def main() -> None:
        async with running(registry()) as connect:
            a, b, echoes = await connect(), await connect(), await connect()
            head, _, tail = _big_request("r-bad", 300_000)[4:].rpartition(b"0]")
            bad_body = head + b"1e999]" + tail  # a number no decoder reads as finite: invalid
            bad = len(bad_body).to_bytes(4, "big") + bad_body
            await a.send_raw(_big_request("r-a1", 300_000) + bad)
            await b.send_raw(_big_request("r-b1", 200_000))
            served = 0
            while served < 20:
                outcome = await echoes.call(request("echo", f"e{served}", **options(i=served)))
                assert outcome.request_id == f"e{served}"
                served += 1
            answers = {}
            for client, count in ((a, 2), (b, 1)):
                for _ in range(count):
                    outcome = await client.receive(timeout=30)
                    assert outcome.request_id not in answers
                    answers[outcome.request_id] = outcome
            assert answers["r-a1"].result == 300_000 and answers["r-b1"].result == 200_000
            assert answers["r-bad"].status == OutcomeStatus.ERROR
            for client in (a, b):
                with_timeout = asyncio.wait_for(client.reader.read(1), 0.3)
                try:
                    extra = await with_timeout
                except asyncio.TimeoutError:  # noqa: UP041 - Python 3.10's is not the builtin
                    extra = b""
                assert extra == b"", "no answer twice"

    run(main())


def test_a_connection_that_closes_while_its_large_frame_decodes_is_dropped_quietly() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            gone = await connect()
            await gone.send_raw(_big_request("r-gone", 300_000))
            gone.close()
            other = await connect()
            outcome = await other.call(request("echo", "r-alive", **options(n=1)))
            assert outcome.request_id == "r-alive"
            await asyncio.sleep(0.5)
            outcome = await other.call(request("echo", "r-still", **options(n=1)))
            assert outcome.request_id == "r-still"

    run(main())


