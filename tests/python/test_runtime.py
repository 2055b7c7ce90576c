"""The runner runtime over a real loopback socket: every behaviour of RUNTIME.md.

Requests are built from an accepted request of the golden corpus; status and error-type values
come from the package (`OutcomeStatus`, `ErrorType`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import (
    CONTEXT_FIELD,
    CONTEXT_JOB_ID,
    CORPUS,
    DEADLINE,
    FUNCTION,
    INPUT_MAP,
    IR,
    JOB_ID,
    REQUEST_ID,
    VERSION_FIELD,
    frame_of,
    inputs_of,
    options,
)
from rrq_proto import (
    Cancel,
    CancelRequest,
    ErrorType,
    ExecutionOutcome,
    ExecutionRequest,
    FrameError,
    OutcomeStatus,
    Registry,
    Request,
    Response,
    RetryError,
    Runner,
    decode_frame,
    decode_message,
    encode_frame,
    read_frame,
)
from rrq_proto import _glue
from rrq_runner import _json

_CONTENT_KEY, _ID_KEYS = _glue.BINDING.content_key, _glue.BINDING.id_keys

TEMPLATE: ExecutionRequest = next(
    m.payload for m in (decode_frame(frame_of(c)) for c in CORPUS if c["verdict"] == "accept") if isinstance(m, Request)
)


def request(function: str, request_id: str = "req-1", job_id: str = "job-1", **changes: Any) -> ExecutionRequest:
    """The template request for `function` with these ids; `deadline`, `version` and input
    fields (see `options`) may be changed."""
    context = dataclasses.replace(
        getattr(TEMPLATE, CONTEXT_FIELD), **{CONTEXT_JOB_ID: job_id, DEADLINE: changes.pop("deadline", None)}
    )
    if "version" in changes:
        changes[VERSION_FIELD] = changes.pop("version")
    fields = {FUNCTION: function, REQUEST_ID: request_id, JOB_ID: job_id, CONTEXT_FIELD: context}
    return dataclasses.replace(TEMPLATE, **fields, **changes)


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: Any) -> None:
        self.writer.write(encode_frame(message))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, timeout: float = 5) -> ExecutionOutcome:
        body = await asyncio.wait_for(read_frame(self.reader), timeout)
        assert body is not None, "connection closed"
        message = decode_message(body)
        assert isinstance(message, Response)
        return message.payload

    async def closed(self, timeout: float = 5) -> bool:
        return await asyncio.wait_for(self.reader.read(1), timeout) == b""

    async def call(self, req: ExecutionRequest) -> ExecutionOutcome:
        await self.send(Request(req))
        return await self.receive()

    def close(self) -> None:
        self.writer.close()


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
            client.close()
        await runner.shutdown()


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


def registry() -> Registry:
    reg = Registry()
    reg.register("echo", inputs_of)

    @reg.register("aecho")
    async def aecho(r: ExecutionRequest) -> object:
        await asyncio.sleep(0)
        return getattr(r, INPUT_MAP)

    @reg.register("sleep")
    async def sleep(r: ExecutionRequest) -> object:
        await asyncio.sleep(float(getattr(r, INPUT_MAP).get("seconds", 30)))
        return "slept"

    @reg.register("boom")
    def boom(r: ExecutionRequest) -> object:
        raise KeyError("no such thing")

    @reg.register("retry")
    async def retry(r: ExecutionRequest) -> object:
        raise RetryError("later", retry_after_seconds=2.5)

    reg.register("outcome", lambda r: ExecutionOutcome(status=OutcomeStatus.SUCCESS, result=[1, 2]))
    reg.register("not_json", lambda r: {1, 2})
    reg.register("nothing", lambda r: None)
    reg.register("nested", lambda r: nested(int(getattr(r, INPUT_MAP)["levels"])))
    return reg


def nested(levels: int) -> Any:
    """Lists `levels` deep: ``[[...]]``."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def ir_message(name: str, **values: str) -> str:
    """The runner message `name` of the IR (`meta.error_messages`) with its placeholders filled."""
    template: str = next(m["template"] for m in IR["meta"]["error_messages"] if m["name"] == name)
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def canonical_time(instant: datetime) -> str:
    return _json.format_timestamp(instant)[1:-1]


def assert_error(outcome: ExecutionOutcome, error_type: str, ids: tuple[str | None, str | None] = ("job-1", "req-1")) -> None:
    assert outcome.status == OutcomeStatus.ERROR, outcome
    assert outcome.error is not None and outcome.error.type == error_type, outcome
    assert (outcome.job_id, outcome.request_id) == ids


def test_success_sync_and_async() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            req = request("echo", **options(k={"b": 1, "a": None}, n=[1, "two"]))
            outcome = await client.call(req)
            assert outcome.status == OutcomeStatus.SUCCESS
            assert outcome.result == inputs_of(req)
            assert outcome.result[INPUT_MAP] == {"k": {"b": 1, "a": None}, "n": [1, "two"]}
            assert (outcome.job_id, outcome.request_id) == ("job-1", "req-1")
            outcome = await client.call(request("aecho", **options(x=3)))
            assert (outcome.status, outcome.result) == (OutcomeStatus.SUCCESS, {"x": 3})
    run(main())


def test_raise_retry_outcome_and_unencodable_result() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request("boom"))
            assert_error(outcome, "KeyError")
            assert outcome.error is not None and "no such thing" in outcome.error.message
            outcome = await client.call(request("retry"))
            assert outcome.status == OutcomeStatus.RETRY and outcome.retry_after_seconds == 2.5
            assert outcome.error is not None and outcome.error.message == "later"
            outcome = await client.call(request("outcome", request_id="req-9"))
            assert (outcome.status, outcome.result, outcome.request_id, outcome.job_id) == (
                OutcomeStatus.SUCCESS, [1, 2], "req-9", "job-1")
            outcome = await client.call(request("not_json"))
            assert outcome.status == OutcomeStatus.ERROR and outcome.error is not None
            assert "cannot be sent" in outcome.error.message
    run(main())


def test_an_answer_nested_past_the_limit_is_an_error() -> None:
    # The envelope and the payload are two levels: a result of MAX_NESTING_DEPTH - 2 levels is
    # the deepest answer a decoder accepts; one more and the runner answers an error instead of
    # writing a frame nobody can read.
    import rrq_proto

    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            deepest = rrq_proto.MAX_NESTING_DEPTH - 2
            outcome = await client.call(request("nested", **options(levels=deepest)))
            assert outcome.status == OutcomeStatus.SUCCESS and outcome.result == nested(deepest)
            outcome = await client.call(request("nested", **options(levels=deepest + 1)))
            assert_error(outcome, "FrameError")
            assert outcome.error is not None and "cannot be sent" in outcome.error.message
            assert "nested at most" in outcome.error.message
    run(main())


def test_none_is_a_success_without_result() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            await client.send(Request(request("nothing")))
            length = int.from_bytes(await client.reader.readexactly(4), "big")
            body = await client.reader.readexactly(length)
            outcome = decode_message(body)
            assert isinstance(outcome, Response) and outcome.payload.status == OutcomeStatus.SUCCESS
            assert outcome.payload.result is None
            # As the reference encodes it: the result is omitted, never written as `null`.
            payload = next(v for v in json.loads(body).values() if isinstance(v, dict))
            assert None not in payload.values(), payload
    run(main())


def test_handler_not_found_and_protocol_version() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            outcome = await client.call(request("missing"))
            assert_error(outcome, ErrorType.HANDLER_NOT_FOUND)
            assert outcome.error is not None and outcome.error.message == ir_message("handler_not_found", function="missing")
            other = IR["meta"]["version"] + "-other"
            outcome = await client.call(request("echo", version=other))
            assert_error(outcome, ErrorType.UNSUPPORTED_PROTOCOL_VERSION)
            assert outcome.error is not None and outcome.error.message == ir_message(
                "unsupported_protocol_version", received=other, supported=IR["meta"]["version"])
    run(main())


def test_deadline_past_and_during() -> None:
    called = threading.Event()
    reg = registry()
    reg.register("flag", lambda r: called.set())

    async def main() -> None:
        async with running(reg) as connect:
            client = await connect()
            past = datetime.now(timezone.utc) - timedelta(seconds=1)
            outcome = await client.call(request("flag", deadline=past))
            assert outcome.status == OutcomeStatus.TIMEOUT and not called.is_set()
            assert outcome.error is not None and outcome.error.type == ErrorType.TIMEOUT
            assert outcome.error.message == ir_message("deadline_passed", when=canonical_time(past))
            soon = datetime.now(timezone.utc) + timedelta(milliseconds=300)
            started = time.monotonic()
            outcome = await client.call(request("sleep", deadline=soon))
            assert outcome.status == OutcomeStatus.TIMEOUT and time.monotonic() - started < 5
            assert outcome.error is not None and outcome.error.type == ErrorType.TIMEOUT
            assert outcome.error.message == ir_message("deadline_exceeded", when=canonical_time(soon))
    run(main())


def test_deadlines_in_any_order_each_enforced_once() -> None:
    # The runner keeps one timer for all deadlines: requests whose deadlines come in any order,
    # many of them answered before their (far) deadline, must each get exactly one answer, and
    # the near deadlines must still time out after the far ones were dropped from the heap.
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            now = datetime.now(timezone.utc)
            far = now + timedelta(hours=1)
            for i in range(150):
                await client.send(Request(request("aecho", request_id=f"far{i}", deadline=far)))
            order = [0.6, 0.2, 0.4]
            for i, seconds in enumerate(order):
                await client.send(Request(request("sleep", request_id=f"near{i}", deadline=now + timedelta(seconds=seconds))))
            await client.send(Request(request("sleep", request_id="quick", deadline=far, **options(seconds=0.05))))
            answers = [await client.receive() for _ in range(150 + len(order) + 1)]
            ids = [a.request_id for a in answers]
            assert sorted(ids) == sorted([f"far{i}" for i in range(150)] + [f"near{i}" for i in range(3)] + ["quick"])
            by_id = {a.request_id: a for a in answers}
            assert all(by_id[f"far{i}"].status == OutcomeStatus.SUCCESS for i in range(150))
            assert by_id["quick"].status == OutcomeStatus.SUCCESS
            timeouts = [a.request_id for a in answers if a.status == OutcomeStatus.TIMEOUT]
            assert timeouts == ["near1", "near2", "near0"]
            # Nothing more arrives: every request was answered once.
            assert (await client.call(request("echo", request_id="last"))).request_id == "last"
    run(main())


def test_cancel_answers_at_once_even_if_the_handler_ignores_it() -> None:
    release = asyncio.Event()
    reg = registry()

    @reg.register("stubborn")
    async def stubborn(r: ExecutionRequest) -> object:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await release.wait()
        return "late"

    async def main() -> None:
        async with running(reg) as connect:
            client, canceller = await connect(), await connect()
            await client.send(Request(request("stubborn", request_id="s")))
            await asyncio.sleep(0.1)
            await canceller.send(Cancel(CancelRequest(job_id="job-1", request_id="s")))
            assert_error(await client.receive(), ErrorType.CANCELLED, ("job-1", "s"))
            release.set()
            # The handler's late result is not sent: the next answer is the next request's.
            assert (await client.call(request("echo", request_id="next"))).request_id == "next"
    run(main())


def test_cancel_by_request_id_and_job_id_from_another_connection() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            worker, canceller = await connect(), await connect()
            await worker.send(Request(request("sleep", request_id="a", job_id="j")))
            await worker.send(Request(request("sleep", request_id="b", job_id="j")))
            await worker.send(Request(request("sleep", request_id="c", job_id="k", **options(seconds=0.5))))
            await asyncio.sleep(0.1)
            await canceller.send(Cancel(CancelRequest(job_id="j", request_id="a")))
            first = await worker.receive()
            assert_error(first, ErrorType.CANCELLED, ("j", "a"))
            assert first.error is not None and first.error.message == ir_message("cancelled")
            await canceller.send(Cancel(CancelRequest(job_id="nobody")))  # ignored
            await canceller.send(Cancel(CancelRequest(job_id="j", hard_kill=True)))
            second = await worker.receive()
            assert_error(second, ErrorType.CANCELLED, ("j", "b"))
            third = await worker.receive()
            assert (third.status, third.request_id) == (OutcomeStatus.SUCCESS, "c")
    run(main())


def test_many_in_flight_and_busy_limit() -> None:
    async def main() -> None:
        async with running(registry(), max_in_flight=2) as connect:
            client = await connect()
            for i in range(2):
                await client.send(Request(request("sleep", request_id=f"s{i}", **options(seconds=0.3))))
            await client.send(Request(request("echo", request_id="over")))
            busy = await client.receive()
            assert_error(busy, ErrorType.BUSY, ("job-1", "over"))
            assert busy.error is not None and busy.error.message == ir_message("busy", limit="2")
            done = {(await client.receive()).request_id for _ in range(2)}
            assert done == {"s0", "s1"}
            assert (await client.call(request("echo"))).status == OutcomeStatus.SUCCESS
    run(main())


@pytest.mark.parametrize("header", [0, "max+1"])
def test_bad_length_closes_only_that_connection(header: Any) -> None:
    import rrq_proto

    length = 0 if header == 0 else rrq_proto.MAX_FRAME_LEN + 1

    async def main() -> None:
        async with running(registry()) as connect:
            bad, good = await connect(), await connect()
            await good.send(Request(request("sleep", **options(seconds=0.2))))
            await bad.send_raw(length.to_bytes(4, "big") + b"{}")
            assert await bad.closed()
            assert (await good.receive()).status == OutcomeStatus.SUCCESS
    run(main())


def test_truncated_frame_and_readiness_probe() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            probe = await connect()
            probe.close()
            truncated = await connect()
            await truncated.send_raw((100).to_bytes(4, "big") + b"{")
            truncated.writer.write_eof()
            assert await truncated.closed()
            client = await connect()
            assert (await client.call(request("echo"))).status == OutcomeStatus.SUCCESS
    run(main())


def _refuse_constant(text: str) -> object:
    raise ValueError(text)


def lenient_oracle(body: bytes) -> dict[str, str] | None:
    """The answering rule's lenient reading, by the standard library's parser (exact for
    bodies nested less deep than its recursion limit): valid UTF-8, RFC 8259 syntax (its
    constants refused), any number, lone surrogate escapes allowed; the ids that are strings
    of Unicode scalar values."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        return None
    content = value.get(_CONTENT_KEY) if isinstance(value, dict) else None
    if not isinstance(content, dict):
        return {}
    found = {}
    for key in _ID_KEYS:
        item = content.get(key)
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                continue
            found[key] = item
    return found


def test_undecodable_frames_answered_by_the_answering_rule() -> None:
    """Every rejected corpus frame of sound length: answered `invalid_frame` with exactly the ids
    the answering rule reads (the FrameError message), or not at all; each is followed by a
    request whose answer must come next, so that an answer owed to nobody would show."""
    ok = frame_of(next(c for c in CORPUS if c["verdict"] == "accept"))
    invalid = [c for c in CORPUS if c["verdict"] == "reject" and c["error"]["kind"] != "length"]
    answered = silent = 0

    async def main() -> None:
        nonlocal answered, silent
        async with running(registry()) as connect:
            client = await connect()
            for i, case in enumerate(invalid):
                frame = frame_of(case)
                await client.send_raw(frame)
                probe = request("echo", request_id=f"probe-{i}", job_id=f"probe-{i}")
                await client.send(Request(probe))
                expected = lenient_oracle(frame[4:]) or {}
                outcome = await client.receive()
                if not expected:
                    silent += 1
                    assert outcome.request_id == probe.request_id, (case["name"], outcome)
                    continue
                answered += 1
                assert (outcome.job_id, outcome.request_id) == tuple(expected.get(k) for k in _ID_KEYS), case["name"]
                assert outcome.status == OutcomeStatus.ERROR
                assert outcome.error is not None and outcome.error.type == ErrorType.INVALID_FRAME, case["name"]
                with pytest.raises(FrameError) as info:
                    decode_frame(frame)
                assert outcome.error.message == ir_message("invalid_frame", error=str(info.value))
                if "path" in case["error"]:
                    assert str(info.value).startswith(case["error"]["path"] + ": ")
                assert (await client.receive()).request_id == probe.request_id, case["name"]
            # Still working after every bad frame.
            assert (await client.call(request("echo"))).status == OutcomeStatus.SUCCESS
            await client.send_raw(ok)
    run(main())
    assert answered > 50 and silent > 10, (answered, silent)


def _mutations(bodies: list[bytes], count: int) -> list[bytes]:
    """Seeded random edits of `bodies` with the tokens the lenient reading decides on."""
    pieces = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"d800", b"dc00", b"1e400", b"-0",
              b"01", b"NaN", b"-Infinity", b" ", b"\n", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xff", b"true",
              b"nul", b"\x01", b"1.", b".5", b"e5", b"\t"]
    for key in (_CONTENT_KEY, *_ID_KEYS):
        pieces.append(json.dumps(key).encode())
    rng = random.Random(8259)
    out = []
    for _ in range(count):
        body = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(body))
            if rng.random() < 0.5:
                body[at:at] = rng.choice(pieces)
            else:
                body[at:at + rng.randint(1, 3)] = rng.choice(pieces) if rng.random() < 0.5 else b""
        out.append(bytes(body))
    return out


def test_lenient_reading_agrees_with_the_standard_library() -> None:
    """`lenient_strings` (both its paths: the standard library's parser for shallow bodies and
    the iterative scanner) against the oracle, on every corpus frame and 20 000 edits of them."""
    bodies = [frame_of(c)[4:] for c in CORPUS if c.get("error", {}).get("kind") != "length"]
    for body in bodies + _mutations(bodies, 20_000):
        want = lenient_oracle(body)
        assert _json.lenient_strings(body, _CONTENT_KEY, _ID_KEYS) == want, body
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert _json._lenient_scan(text, _CONTENT_KEY, _ID_KEYS) == want, body


def test_lenient_reading_has_no_depth_limit() -> None:
    accepted = next(frame_of(c)[4:] for c in CORPUS if c["verdict"] == "accept" and lenient_oracle(frame_of(c)[4:]))
    want = lenient_oracle(accepted)
    assert want
    assert accepted.startswith(b"{")
    for depth in (1_000, 100_000, 4_000_000):
        # A member nested `depth` deep before the body's own members.
        nested = b"[" * depth + b"]" * depth
        body = b'{"deep":' + nested + b"," + accepted[1:]
        assert _json.lenient_strings(body, _CONTENT_KEY, _ID_KEYS) == want, depth
        assert _json.lenient_strings(body[:-1], _CONTENT_KEY, _ID_KEYS) is None, depth
        unbalanced = b'{"deep":' + nested[1:] + b"," + accepted[1:]
        assert _json.lenient_strings(unbalanced, _CONTENT_KEY, _ID_KEYS) is None, depth


def test_response_frame_is_unexpected() -> None:
    async def main() -> None:
        async with running(registry()) as connect:
            client = await connect()
            await client.send(Response(ExecutionOutcome(job_id="jx", request_id="rx", status=OutcomeStatus.SUCCESS)))
            outcome = await client.receive()
            assert_error(outcome, ErrorType.UNEXPECTED_MESSAGE, ("jx", "rx"))
            root = next(t for t in IR["types"] if t["name"] == IR["root"])
            response_tag = next(v["tag_value"] for v in root["variants"] if v["ty"] == ExecutionOutcome.__name__)
            assert outcome.error is not None and outcome.error.message == ir_message("unexpected_message", type=response_tag)
            assert (await client.call(request("echo"))).status == OutcomeStatus.SUCCESS
    run(main())


def sleeps_until_cancelled(cancelled: asyncio.Event) -> Callable[[Any], Awaitable[object]]:
    """A handler that sleeps for 30 s and sets `cancelled` when it is cancelled instead."""

    async def handler(r: Any) -> object:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "slept"

    return handler


def test_peer_closing_cancels_its_requests() -> None:
    cancelled = asyncio.Event()
    reg = registry()

    reg.register("watch", sleeps_until_cancelled(cancelled))

    async def main() -> None:
        async with running(reg) as connect:
            client = await connect()
            await client.send(Request(request("watch")))
            await asyncio.sleep(0.1)
            client.close()
            await asyncio.wait_for(cancelled.wait(), 5)
    run(main())


def test_non_loopback_bind_is_refused() -> None:
    async def main() -> None:
        for host in ["0.0.0.0", "192.0.2.1", "::"]:
            with pytest.raises(ValueError, match="loopback"):
                await Runner(Registry()).start(host, 0)
    run(main())
