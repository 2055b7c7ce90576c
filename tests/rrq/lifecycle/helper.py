"""Processes for test_lifecycle.py: a parent that starts a child, and a Python child that watches it.

    helper.py parent [--from-thread] -- CHILD_ARGV...
        Starts CHILD_ARGV, prints the child's PID on stdout, then sleeps until killed. With
        --from-thread a thread starts the child and ends 1 s later, which makes Linux send the
        child its parent-death signal although this process lives on.

    helper.py child MODULE_DIR EVENTS_FILE [--no-death-signal] [--close] [--block]
                    [--parent-pid PID]
        Imports _lifecycle from MODULE_DIR, watches its parent and appends one JSON line per
        event to EVENTS_FILE: "ready" (with the death signal the kernel has for it), "signal"
        (a death signal arrived), "parent_died" (the callback ran; the child then exits 0).
        --close closes the watch right after "ready"; --block blocks the event loop for good
        after "ready", so only the watch's forced exit can end it.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any


def parent(argv: list[str]) -> int:
    from_thread = argv[:1] == ["--from-thread"]
    if from_thread:
        argv = argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if from_thread:

        def start() -> None:
            print(subprocess.Popen(argv).pid, flush=True)
            time.sleep(1.0)  # time for the child to set its death signal; then this thread ends

        threading.Thread(target=start).start()
    else:
        print(subprocess.Popen(argv).pid, flush=True)
    while True:
        time.sleep(60)


def pdeathsig() -> int | None:
    """The parent-death signal the kernel has for this process (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    value = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(2, ctypes.byref(value), 0, 0, 0) != 0:  # PR_GET_PDEATHSIG
        return None
    return value.value


def child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("module_dir")
    parser.add_argument("events")
    parser.add_argument("--no-death-signal", action="store_true")
    parser.add_argument("--close", action="store_true")
    parser.add_argument("--block", action="store_true")
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args(argv)
    sys.path.insert(0, args.module_dir)
    import _lifecycle  # type: ignore[import-not-found]

    events = open(args.events, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open until exit)

    def event(name: str, **fields: Any) -> None:
        events.write(json.dumps({"event": name, "t": time.monotonic(), **fields}) + "\n")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done = asyncio.Event()

    def on_parent_death() -> None:
        event("parent_died", ppid=os.getppid())
        done.set()

    watch = _lifecycle.watch_parent(
        loop, on_parent_death, parent_pid=args.parent_pid, use_death_signal=not args.no_death_signal
    )
    if args.close:
        watch.close()
    event("ready", pid=os.getpid(), parent=watch.parent_pid, death_signal=watch.death_signal, pdeathsig=pdeathsig())

    async def main() -> None:
        if args.block:
            time.sleep(30)  # noqa: ASYNC251 (blocks the loop on purpose: the callback never runs)
        seen = 0
        while not done.is_set():
            if watch.death_signals_received != seen:
                seen = watch.death_signals_received
                event("signal", count=seen, ppid=os.getppid())
            try:
                await asyncio.wait_for(done.wait(), 0.05)
            except asyncio.TimeoutError:
                pass
        watch.close()

    loop.run_until_complete(main())
    return 0


if __name__ == "__main__":
    role, rest = sys.argv[1], sys.argv[2:]
    sys.exit(parent(rest) if role == "parent" else child(rest))
