"""Python codec micro-benchmarks of ./bench.sh: decode (frame bytes -> validated typed message)
and encode (typed message -> frame bytes) of the typical request and response fixtures.

Times are the thread's CPU time (time.thread_time_ns), not wall time: steadier on a shared
machine. Every case runs in this one process, interleaved: in each round every case times one batch
(the case order rotated each round), and the reported figure is the median over rounds of the
per-round ratio to the floor (json.loads / a pre-built json.JSONEncoder) plus the median ns/op.

The generated package is imported twice, once with RRQ_RUNNER_ACCELERATE=0 (stdlib mode) and
once with =1 (orjson), so that both modes are measured side by side.

    python codec_bench.py FIXTURES_DIR PACKAGE_DIR --rounds 60 --json out.json [--profile DIR]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import msgspec
import pydantic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# ---------------------------------------------------------------------------------------------
# Peers: the protocol written by hand for pydantic v2 (strict) and msgspec, as a user would.

U32 = Annotated[int, Field(ge=0, le=4294967295)]
Status = Literal["success", "retry", "timeout", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


class PdContext(_Strict):
    job_id: str
    attempt: U32
    enqueue_time: datetime
    queue_name: str
    deadline: datetime | None = None
    trace_context: dict[str, str] | None = None
    worker_id: str | None = None


class PdRequest(_Strict):
    protocol_version: str = "1"
    request_id: str
    job_id: str
    function_name: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    context: PdContext


class PdError(_Strict):
    model_config = ConfigDict(strict=True, populate_by_name=True)
    message: str
    type: str | None = None
    code: str | None = None
    details: Any = None


class PdOutcome(_Strict):
    job_id: str | None = None
    request_id: str | None = None
    status: Status
    result: Any = None
    error: PdError | None = None
    retry_after_seconds: float | None = None


class PdCancel(_Strict):
    protocol_version: str = "1"
    job_id: str
    request_id: str | None = None
    hard_kill: bool = False


class PdRequestMsg(_Strict):
    type: Literal["request"]
    payload: PdRequest


class PdResponseMsg(_Strict):
    type: Literal["response"]
    payload: PdOutcome


class PdCancelMsg(_Strict):
    type: Literal["cancel"]
    payload: PdCancel


PD_MESSAGE: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[PdRequestMsg, PdResponseMsg, PdCancelMsg], Field(discriminator="type")]
)

MU32 = Annotated[int, msgspec.Meta(ge=0, le=4294967295)]


class MsContext(msgspec.Struct, kw_only=True, omit_defaults=True):
    job_id: str
    attempt: MU32
    enqueue_time: datetime
    queue_name: str
    deadline: datetime | None = None
    trace_context: dict[str, str] | None = None
    worker_id: str | None = None


class MsRequest(msgspec.Struct, kw_only=True):
    protocol_version: str = "1"
    request_id: str
    job_id: str
    function_name: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    context: MsContext


class MsError(msgspec.Struct, kw_only=True, omit_defaults=True):
    message: str
    type: str | None = None
    code: str | None = None
    details: Any = None


class MsOutcome(msgspec.Struct, kw_only=True, omit_defaults=True):
    job_id: str | None = None
    request_id: str | None = None
    status: Status
    result: Any = None
    error: MsError | None = None
    retry_after_seconds: float | None = None


class MsCancel(msgspec.Struct, kw_only=True):
    protocol_version: str = "1"
    job_id: str
    request_id: str | None = None
    hard_kill: bool = False


class MsRequestMsg(msgspec.Struct, tag="request", tag_field="type"):
    payload: MsRequest


class MsResponseMsg(msgspec.Struct, tag="response", tag_field="type"):
    payload: MsOutcome


class MsCancelMsg(msgspec.Struct, tag="cancel", tag_field="type"):
    payload: MsCancel


MS_DECODER = msgspec.json.Decoder(Union[MsRequestMsg, MsResponseMsg, MsCancelMsg])
MS_ENCODER = msgspec.json.Encoder()


# ---------------------------------------------------------------------------------------------
# The generated package, in both modes


def import_both(package_dir: str) -> tuple[Any, Any]:
    sys.path.insert(0, package_dir)
    os.environ["RRQ_RUNNER_ACCELERATE"] = "0"
    stdlib = importlib.import_module("rrq_runner")
    for name in [n for n in sys.modules if n == "rrq_runner" or n.startswith("rrq_runner.")]:
        del sys.modules[name]
    os.environ["RRQ_RUNNER_ACCELERATE"] = "1"
    fast = importlib.import_module("rrq_runner")
    assert stdlib is not fast
    assert not stdlib.ACCELERATED, "stdlib copy is accelerated"
    assert fast.ACCELERATED, "accelerated copy is not (is orjson installed?)"
    return stdlib, fast


def frame_of(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def cases_for(frame: bytes, std: Any, fast: Any) -> dict[str, dict[str, Callable[[], object]]]:
    body = frame[4:]
    loads = json.loads
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    plain = loads(body)
    pd_msg = PD_MESSAGE.validate_json(body)
    ms_msg = MS_DECODER.decode(body)
    std_msg = std.decode_frame(frame)
    fast_msg = fast.decode_frame(frame)
    # Ours must write the canonical bytes (the fixture comes from the Rust reference).
    assert std.encode_frame(std_msg) == frame, "stdlib encode is not canonical"
    assert fast.encode_frame(fast_msg) == frame, "accelerated encode is not canonical"
    pd_validate = PD_MESSAGE.validate_json
    pd_dump = PD_MESSAGE.dump_json
    ms_decode = MS_DECODER.decode
    ms_encode = MS_ENCODER.encode
    enc = encoder.encode
    return {
        "decode": {
            "floor": lambda: loads(frame[4:]),
            "pydantic": lambda: pd_validate(frame[4:]),
            "msgspec": lambda: ms_decode(frame[4:]),
            "ours-stdlib": lambda: std.decode_frame(frame),
            "ours-accel": lambda: fast.decode_frame(frame),
        },
        "encode": {
            "floor": lambda: frame_of(enc(plain).encode()),
            "pydantic": lambda: frame_of(pd_dump(pd_msg, exclude_none=True)),
            "msgspec": lambda: frame_of(ms_encode(ms_msg)),
            "ours-stdlib": lambda: std.encode_frame(std_msg),
            "ours-accel": lambda: fast.encode_frame(fast_msg),
        },
    }


def calibrate(fn: Callable[[], object], batch_s: float) -> int:
    n = 16
    while True:
        t0 = time.thread_time()
        for _ in repeat(None, n):
            fn()
        dt = time.thread_time() - t0
        if dt > batch_s / 4:
            return max(16, int(n * batch_s / dt))
        n *= 4


def run(cases: dict[str, Callable[[], object]], rounds: int, batch_s: float) -> dict[str, Any]:
    names = list(cases)
    sizes = {name: calibrate(fn, batch_s) for name, fn in cases.items()}
    per_op: dict[str, list[float]] = {n: [] for n in names}
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                fn, n = cases[name], sizes[name]
                t0 = time.thread_time_ns()
                for _ in repeat(None, n):
                    fn()
                per_op[name].append((time.thread_time_ns() - t0) / n)
            gc.collect()
    finally:
        gc.enable()
    out: dict[str, Any] = {}
    for name in names:
        ratios = [a / b for a, b in zip(per_op[name], per_op["floor"])]
        out[name] = {
            "ns_per_op": statistics.median(per_op[name]),
            "ratio": statistics.median(ratios),
            "ratio_q1": statistics.quantiles(ratios, n=4)[0] if len(ratios) > 1 else ratios[0],
            "ratio_q3": statistics.quantiles(ratios, n=4)[2] if len(ratios) > 1 else ratios[0],
            "ops_per_batch": sizes[name],
        }
    return out


def profile(label: str, fn: Callable[[], object], seconds: float, out_dir: Path) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    end = time.perf_counter() + seconds
    profiler.start()
    while time.perf_counter() < end:
        for _ in repeat(None, 200):
            fn()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    (out_dir / f"profile-py-{label}.txt").write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fixtures")
    ap.add_argument("package")
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--batch-ms", type=float, default=5.0)
    ap.add_argument("--json", required=True)
    ap.add_argument("--profile", help="write pyinstrument profiles of ours into this folder")
    args = ap.parse_args()
    std, fast = import_both(args.package)
    results: dict[str, Any] = {}
    for message in ("request", "response"):
        frame = (Path(args.fixtures) / f"{message}.frame").read_bytes()
        for op, cases in cases_for(frame, std, fast).items():
            key = f"{op}/{message}"
            results[key] = {"bytes": len(frame), "cases": run(cases, args.rounds, args.batch_ms / 1000)}
            row = results[key]["cases"]
            print(
                f"  python {key:17} "
                + "  ".join(f"{n} {c['ratio']:.2f}x ({c['ns_per_op'] / 1000:.1f}us)" for n, c in row.items()),
                file=sys.stderr,
            )
            if args.profile:
                out = Path(args.profile)
                out.mkdir(parents=True, exist_ok=True)
                profile(f"{op}-{message}-stdlib", cases["ours-stdlib"], 2.0, out)
                profile(f"{op}-{message}-accel", cases["ours-accel"], 2.0, out)
    doc = {
        "python": platform.python_version(),
        "versions": {
            "pydantic": pydantic.VERSION,
            "msgspec": msgspec.__version__,
            "orjson": importlib.import_module("orjson").__version__,
        },
        "rounds": args.rounds,
        "batch_ms": args.batch_ms,
        "results": results,
    }
    Path(args.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
