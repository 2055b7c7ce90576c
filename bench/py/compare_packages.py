"""Before/after of the generated Python package on the codec samples (protocol 1), in one process:
another checkout's generated/python (e.g. the commit before a change) against this one, both
modes each, interleaved rounds, ratios to json.loads / the pre-built JSONEncoder as codec_bench.py
reports them. Not part of ./bench.sh.

    git worktree add /tmp/before COMMIT
    python compare_packages.py /tmp/before/generated/python generated/python [--rounds 40]
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import codec_bench  # noqa: E402


def load(package_dir: str, mode: str) -> Any:
    for name in [n for n in sys.modules if n == "rrq_runner" or n.startswith("rrq_runner.")]:
        del sys.modules[name]
    os.environ["RRQ_RUNNER_ACCELERATE"] = mode
    sys.path.insert(0, package_dir)
    try:
        return importlib.import_module("rrq_runner.v1")
    finally:
        sys.path.remove(package_dir)


def main() -> None:
    before, after = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 40
    modules = {f"{label}-{name}": load(path, mode) for label, path in (("before", before), ("after", after))
               for name, mode in (("stdlib", "0"), ("accel", "1"))}
    frames = codec_bench.sample_frames(modules["after-stdlib"], "1", 17)
    for kind in ("request", "response"):
        group = frames[kind]
        msgs = {k: [m.decode_frame(f) for f in group] for k, m in modules.items()}
        for k, m in modules.items():
            assert [m.encode_frame(x) for x in msgs[k]] == group, k
        loads = json.loads
        enc = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        plain = [loads(f[4:]) for f in group]
        decode = {"floor": lambda: [loads(f[4:]) for f in group]}
        encode = {"floor": lambda: [codec_bench.frame_of(enc(p).encode()) for p in plain]}
        for k, m in modules.items():
            decode[k] = (lambda m: lambda: [m.decode_frame(f) for f in group])(m)
            encode[k] = (lambda m, xs: lambda: [m.encode_frame(x) for x in xs])(m, msgs[k])
        for op, cases in (("decode", decode), ("encode", encode)):
            row = codec_bench.run(cases, rounds, 0.005)
            print(f"{op}/{kind}: " + "  ".join(f"{n} {c['ratio']:.2f}x" for n, c in row.items()))


if __name__ == "__main__":
    main()
