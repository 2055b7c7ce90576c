"""Flat view of a pyinstrument JSON profile (`-r json`): the top functions by self time and by
total (inclusive) time, as shares of the CPU-busy samples (the event loop's idle wait in
select/epoll is reported apart).

    python flat_profile.py PROFILE.json [--top 30]
"""

import json
import sys
from collections import defaultdict

IDLE = ("selectors.py", "epoll.poll")


def main() -> None:
    doc = json.load(open(sys.argv[1]))
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 30
    selfs: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)

    def name(frame: dict) -> str:
        path = frame.get("file_path_short") or frame.get("file_path") or ""
        return f"{frame['function']}  {path}:{frame.get('line_no', '')}"

    def walk(frame: dict, on_stack: frozenset) -> None:
        n = name(frame)
        children = frame.get("children", [])
        self_time = frame["time"] - sum(c["time"] for c in children)
        if frame["function"] in ("[self]", "[await]") or frame.get("identifier", "").startswith("[self]"):
            self_time = frame["time"]
        selfs[n] += self_time
        if n not in on_stack:
            total[n] += frame["time"]
        for c in children:
            walk(c, on_stack | {n})

    root = doc["root_frame"]
    walk(root, frozenset())
    idle = sum(t for n, t in selfs.items() if any(i in n for i in IDLE))
    busy = sum(selfs.values()) - idle
    print(f"{sys.argv[1]}: {root['time']:.2f} s recorded, {idle:.2f} s idle in the selector, {busy:.2f} s busy")
    print(f"\ntop {top} by self time (share of busy time):")
    for n, t in sorted(((n, t) for n, t in selfs.items() if not any(i in n for i in IDLE)), key=lambda x: -x[1])[:top]:
        print(f"{100 * t / busy:6.1f}%  {n}")
    print(f"\ntop {top} by total (inclusive) time, rrq_runner functions below the event loop"
          " (share of busy time; awaits excluded):")
    skip = ("<module>", "main ", "serve ")
    for n, t in sorted(((n, t) for n, t in total.items() if "rrq_runner" in n and not n.startswith(skip)),
                       key=lambda x: -x[1])[:top]:
        print(f"{100 * t / busy:6.1f}%  {n}")


if __name__ == "__main__":
    main()
