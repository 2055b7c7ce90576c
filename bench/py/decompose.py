"""Where the generated Python codec spends its time on the typical request: each stage of
decode_frame / encode_frame timed on its own (thread CPU time, interleaved rounds, medians),
next to the floor. Evidence for the gaps in docs/BENCHMARKS.md; run by `./bench.sh --profile`.

    python decompose.py FIXTURES_DIR PACKAGE_DIR [--rounds 40]
"""

import os
import statistics
import sys
import time
from itertools import repeat
from pathlib import Path

sys.path.insert(0, sys.argv[2])
os.environ["RRQ_RUNNER_ACCELERATE"] = "0"
import json  # noqa: E402

import orjson  # noqa: E402
import rrq_runner  # noqa: E402
from rrq_runner import _codec, _json  # noqa: E402

rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 40
frame = (Path(sys.argv[1]) / "request.frame").read_bytes()
body = frame[4:]
text = body.decode()
value = json.loads(body)
msg = rrq_runner.decode_frame(frame)
req = msg.payload
ctx = req.context
encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
enc_ts = _json.format_timestamp
enc_any = _json.encode_any

stages = {
    "floor: json.loads(body)": lambda: json.loads(body),
    "decode_frame (stdlib mode)": lambda: rrq_runner.decode_frame(frame),
    "  body.decode('utf-8')": lambda: body.decode("utf-8"),
    "  _risky_numbers(body)": lambda: _json._risky_numbers(body),
    "  -> verdict for this body": (lambda: None),
    "  hooked C-scanner parse (taken when risky)": lambda: _json._decode_hooked(text),
    "  plain C-scanner parse": lambda: _json._decode_plain(text),
    "  orjson.loads(body) (accelerated, when not risky)": lambda: orjson.loads(body),
    "  typed decode _decode_RunnerMessage(value)": lambda: _codec._decode_RunnerMessage(value),
    "    of which 2x parse_timestamp": lambda: (
        _json.parse_timestamp(value["payload"]["context"]["enqueue_time"]),
        _json.parse_timestamp(value["payload"]["context"]["deadline"]),
    ),
    "floor: JSONEncoder.encode(dict) + utf-8": lambda: encoder(value).encode(),
    "encode_frame (stdlib mode)": lambda: rrq_runner.encode_frame(msg),
    "  encode_any(args) + encode_any(kwargs)": lambda: (enc_any(req.args), enc_any(req.kwargs)),
    "  2x format_timestamp": lambda: (enc_ts(ctx.enqueue_time), enc_ts(ctx.deadline)),
    "  orjson.dumps(args), (kwargs) sorted (not used)": lambda: (
        orjson.dumps(req.args), orjson.dumps(req.kwargs, option=orjson.OPT_SORT_KEYS)),
}


def run(fn, n):
    t0 = time.thread_time_ns()
    for _ in repeat(None, n):
        fn()
    return (time.thread_time_ns() - t0) / n


res = {k: [] for k in stages}
for r in range(rounds):
    for k, f in stages.items():
        res[k].append(run(f, 500))
floor_d = statistics.median(res["floor: json.loads(body)"])
floor_e = statistics.median(res["floor: JSONEncoder.encode(dict) + utf-8"])
print(f"decomposition of the typical request ({len(frame)} B), thread CPU time, median of {rounds} rounds")
print(f"_risky_numbers(body) = {_json._risky_numbers(body)} ('-0' in body: {b'-0' in body}: "
      "timestamps like 2025-03-14 contain '-0'; hex ids contain digit+'e')")
for k, v in res.items():
    if "verdict" in k:
        continue
    floor = floor_e if ("encode" in k.lower() or "format" in k or "dumps" in k) else floor_d
    m = statistics.median(v)
    print(f"{m / 1000:8.2f} us  {m / floor:5.2f}x floor  {k}")
