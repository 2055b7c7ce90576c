"""Replays differential-fuzzing inputs through the generated Python package.

Reads `rrq-differential` lines (`frame<TAB>accept<TAB>canonical` or `frame<TAB>reject<TAB>kind`,
base64 frames) on stdin, decodes every frame with `rrq_runner`, and compares the verdict, the
error kind and, for accepts, the canonical bytes with the Rust reference's. Prints a summary and
the first disagreements; exits 1 if there is any.
"""

from __future__ import annotations

import base64
import sys

import rrq_runner


def main() -> int:
    total, disagreements = 0, []
    for line in sys.stdin:
        frame_b64, verdict, detail = line.rstrip("\n").split("\t")
        frame = base64.b64decode(frame_b64)
        total += 1
        try:
            canonical = rrq_runner.encode_frame(rrq_runner.decode_frame(frame))
            ours = ("accept", base64.b64encode(canonical).decode())
        except rrq_runner.FrameError as error:
            ours = ("reject", error.kind)
        if ours != (verdict, detail):
            disagreements.append((frame, (verdict, detail), ours))
    mode = "accelerated" if getattr(rrq_runner, "ACCELERATED", False) else "stdlib"
    print(f"python ({mode}): {total} inputs, {total - len(disagreements)} agree with Rust, "
          f"{len(disagreements)} disagree")
    for frame, rust, ours in disagreements[:10]:
        print(f"  frame {frame[:300]!r}\n    rust   {rust[0]} {rust[1][:120]}\n    python {ours[0]} {ours[1][:120]}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
