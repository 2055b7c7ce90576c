"""Where the generated Python codec spends its time on requests like an orchestrator's (the
samples of codec_bench.py, protocol 1): each stage of decode_frame / encode_frame timed on its own
(thread CPU time, interleaved rounds, medians), in both modes, next to the floor. Evidence for the
gaps in docs/BENCHMARKS.md; run by `./bench.sh --profile`.

    python decompose.py FIXTURES_DIR PACKAGE_DIR [--rounds 40]
"""

import importlib
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path

sys.path.insert(0, sys.argv[2])
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["RRQ_RUNNER_ACCELERATE"] = "1"
import codec_bench  # noqa: E402
import orjson  # noqa: E402

P = importlib.import_module("rrq_runner.v1")
_codec = importlib.import_module("rrq_runner.v1._codec")
_fast = importlib.import_module("rrq_runner.v1._fast")
_json = importlib.import_module("rrq_runner._json")
assert _fast.decode is not None, "needs msgspec (the fast extra)"

rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 40
frames = codec_bench.sample_frames(P, "1", 17)["request"]
bodies = [f[4:] for f in frames]
texts = [b.decode() for b in bodies]
values = [json.loads(b) for b in bodies]
shadows = [_fast._decode_body(b) for b in bodies]
stamps = [(v["payload"]["context"]["enqueue_time"], v["payload"]["context"]["deadline"]) for v in values]
msgs = [P.decode_frame(f) for f in frames]
fromiso = datetime.fromisoformat
new_dt, dt_state, utc, Ts = datetime.__new__, datetime.__reduce__, timezone.utc, _json.Timestamp
bases = [(fromiso(a), fromiso(b)) for a, b in stamps]

encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
enc_any = _json.encode_any
fmt_ts = _json.format_timestamp
parse_ts = _json.parse_timestamp
gate_table = _json._GATE_TABLE


def each(fn, items):
    return lambda: [fn(x) for x in items]


stages = {
    "floor: json.loads(body)": each(json.loads, bodies),
    "  (the harness's own cost in every stage below: one call of a function doing nothing)": each(lambda b: None, bodies),
    "decode_frame, accelerated (msgspec)": each(P.decode_frame, frames),
    "  header check inline and body copy (as decode_frame does it)": each(lambda f: 0 < len(f) - 4 <= P.MAX_FRAME_LEN and int.from_bytes(f[:4], "big") == len(f) - 4 and f[4:], frames),
    "  nesting bound: count of [ and {": each(lambda b: b.count(b"[") + b.count(b"{"), bodies),
    "  msgspec typed decode to the shadow structs": each(_fast._decode_body, bodies),
    "  checks of the decoded values (any-JSON walk, number fields)": each(_fast._check, shadows),
    "  conversion to the models (with the timestamps)": each(_fast._convert, shadows),
    "    of which 2x parse_timestamp": each(lambda s: (parse_ts(s[0]), parse_ts(s[1])), stamps),
    "      of which 2x datetime.fromisoformat (C: the digits, date and time of day)": each(lambda s: (fromiso(s[0]), fromiso(s[1])), stamps),
    "      of which 2x Timestamp from the datetime's state (__reduce__ + datetime.__new__)": each(lambda b: (new_dt(Ts, dt_state(b[0])[1][0], utc), new_dt(Ts, dt_state(b[1])[1][0], utc)), bases),
    "  (pre-check msgspec_may_differ(body), only when the checks flag)": each(_json.msgspec_may_differ, bodies),
    "    of which translate + count + long digits": each(lambda b: (lambda d: (d.count(b"["), _json._LONG_DIGITS in d))(b.translate(gate_table)), bodies),
    "    of which the -0 token search": each(_json._minus_zero, bodies),
    "decode, stdlib mode: _loads_stdlib + typed decode": each(lambda b: _codec._decode_RunnerMessage(_json._loads_stdlib(b)), bodies),
    "  _loads_stdlib (C scanner with the number hooks, depth count, surrogate check)": each(_json._loads_stdlib, bodies),
    "    of which the hooked C scanner, called directly": each(lambda t: _json._scan_hooked(t, 0), texts),
    "    (the same through JSONDecoder.decode: two whitespace regexes more; not used)": each(_json._decode_hooked, texts),
    "  C scanner without hooks (not used)": each(_json._decode_plain, texts),
    "  typed decode _decode_RunnerMessage(value)": each(_codec._decode_RunnerMessage, values),
    "  orjson.loads(body) (not used for requests)": each(orjson.loads, bodies),
    "floor: JSONEncoder.encode(dict) + utf-8": each(lambda v: encoder(v).encode(), values),
    "encode_frame (accelerated)": each(P.encode_frame, msgs),
    "  any-JSON fields (orjson after the value check)": each(lambda m: (enc_any(m.payload.args), enc_any(m.payload.kwargs)), msgs),
    "    of which the value check (_orjson_values)": each(lambda m: (_json._orjson_values((m.payload.args,)), _json._orjson_values((m.payload.kwargs,))), msgs),
    "    of which orjson.dumps (sorted keys)": each(lambda m: (_json._orjson_write(m.payload.args), _json._orjson_write(m.payload.kwargs)), msgs),
    "  the context struct (f-string, 2 timestamps, trace map)": each(lambda m: _codec._encode_ExecutionContext(m.payload.context), msgs),
    "  2x format_timestamp": each(lambda m: (fmt_ts(m.payload.context.enqueue_time), fmt_ts(m.payload.context.deadline)), msgs),
}


def run(fn, n):
    t0 = time.thread_time_ns()
    for _ in repeat(None, n):
        fn()
    return (time.thread_time_ns() - t0) / n / len(bodies)


res = {k: [] for k in stages}
for r in range(rounds):
    for k, f in stages.items():
        res[k].append(run(f, 60))
floor_d = statistics.median(res["floor: json.loads(body)"])
floor_e = statistics.median(res["floor: JSONEncoder.encode(dict) + utf-8"])
print(f"decomposition over {len(bodies)} request samples (mean {statistics.mean(map(len, frames)):.0f} B), "
      f"thread CPU time per message, median of {rounds} rounds")
for k, v in res.items():
    floor = floor_e if ("encode" in k.lower() or "format" in k) else floor_d
    m = statistics.median(v)
    print(f"{m / 1000:8.2f} us  {m / floor:5.2f}x floor  {k}")
