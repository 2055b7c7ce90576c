"""Replays differential-fuzzing inputs through the generated Python package.

Reads `rrq-differential` lines on stdin (base64 frames; `frame<TAB>accept<TAB>canonical<TAB>-` or
`frame<TAB>reject<TAB>kind<TAB>path`), decodes every frame with `rrq_runner` (the `--protocol` version's module), and compares the
verdict, the error kind and path and, for accepts, the canonical bytes with the Rust reference's.
With `--messages FILE`, also writes one line per input (`accept`, or `kind<TAB>path<TAB>message`
of the FrameError) for `run.sh` to compare with the TypeScript package's, byte for byte.
Prints a summary and the first disagreements; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", help="write each input's FrameError (or `accept`) to this file")
    parser.add_argument("--protocol", help="the protocol version module (default: the package's latest)")
    args = parser.parse_args()
    rrq_runner = importlib.import_module(f"rrq_runner.v{args.protocol}" if args.protocol else "rrq_runner")
    total, disagreements, lines = 0, [], []
    for line in sys.stdin:
        frame_b64, verdict, detail, path = line.rstrip("\n").split("\t")
        frame = base64.b64decode(frame_b64)
        total += 1
        try:
            canonical = rrq_runner.encode_frame(rrq_runner.decode_frame(frame))
            ours = ("accept", base64.b64encode(canonical).decode(), "-")
            lines.append("accept")
        except rrq_runner.FrameError as error:
            ours = ("reject", error.kind, error.path if error.kind in ("type", "missing", "value") else "-")
            lines.append(f"{error.kind}\t{error.path}\t{error}")
        if ours != (verdict, detail, path):
            disagreements.append((frame, (verdict, detail, path), ours))
    if args.messages:
        with open(args.messages, "w", encoding="utf-8", newline="\n") as out:
            out.write("\n".join(lines) + "\n")
    mode = "accelerated" if getattr(rrq_runner, "ACCELERATED", False) else "stdlib"
    print(f"python ({mode}): {total} inputs, {total - len(disagreements)} agree with Rust (verdict, kind, path, "
          f"canonical bytes), {len(disagreements)} disagree")
    for frame, rust, ours in disagreements[:10]:
        print(f"  frame {frame[:300]!r}\n    rust   {' '.join(x[:120] for x in rust)}\n    python {' '.join(x[:120] for x in ours)}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
