"""Wall time of `rrq-codegen generate` (into a temp folder) and `check` (against it), medians.

    python codegen_time.py RRQ_CODEGEN_BINARY RUNS OUT_JSON
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    binary, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    gen: list[float] = []
    chk: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        timed([binary, "generate", "--out", tmp])  # warm the page cache
        for _ in range(runs):
            gen.append(timed([binary, "generate", "--out", tmp]))
            chk.append(timed([binary, "check", "--out", tmp]))
    doc = {"runs": runs, "generate_ms": statistics.median(gen), "check_ms": statistics.median(chk),
           "generate_all_ms": gen, "check_all_ms": chk}
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"  codegen: generate {doc['generate_ms']:.1f} ms, check {doc['check_ms']:.1f} ms (median of {runs})", file=sys.stderr)


if __name__ == "__main__":
    main()
